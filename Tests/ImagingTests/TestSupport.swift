import XCTest
@testable import Imaging

/// Paths and small helpers shared by the Imaging tests.
enum TestSupport {
    /// Package root, found from this file's path (Tests/ImagingTests/TestSupport.swift).
    static let packageRoot: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    static let fixtures = packageRoot + "/fixtures/images"

    /// A fresh temporary folder for one test.
    static func tempDir() throws -> String {
        let path = NSTemporaryDirectory() + "/imaging-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
