import ArgumentParser
import Foundation
import Imaging
@testable import NadaEditCLI
import XCTest

/// `--max-pixels` (issue 18): parsed and checked on the editor options and `invert`, and it reaches the decoder.
final class MaxPixelsOptionTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testEditorOptionsParseAndCheckTheLimit() throws {
        XCTAssertEqual(try EditorOptions.parse([]).maxPixels, DecodeOptions.defaultMaxPixels)
        XCTAssertEqual(try EditorOptions.parse(["--max-pixels", "250000000"]).maxPixels, 250_000_000)
        XCTAssertEqual(try EditorOptions.parse(["--max-pixels", "0"]).maxPixels, 0)
        XCTAssertThrowsError(try EditorOptions.parse(["--max-pixels", "-1"])) { e in
            XCTAssertTrue(EditorOptions.message(for: e).contains("--max-pixels"), EditorOptions.message(for: e))
        }
    }

    /// invert with the tiny fixture encoder: a 256×256 photo (65536 pixels) fails under --max-pixels 65535 and
    /// inverts under 65536.
    func testInvertAppliesTheLimit() throws {
        let dir = NSTemporaryDirectory() + "/max-pixels-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let encoder = Self.root.appendingPathComponent("fixtures/encoders/e4e.pt").path
        let photo = Self.root.appendingPathComponent("fixtures/encoders/input_face.png").path
        func invert(_ limit: Int, _ output: String) throws {
            var command = try Invert.parseAsRoot(["--encoder", encoder, "--align", "none", "--max-pixels", String(limit),
                                                  "--models", dir + "/store", photo, "--output", output])
            try command.run()
        }
        XCTAssertThrowsError(try invert(65_535, dir + "/refused.npy")) { e in XCTAssertEqual((e as? ExitCode)?.rawValue, 1) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/refused.npy"))
        try invert(65_536, dir + "/codes.npy")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/codes.npy"))
        XCTAssertThrowsError(try Invert.parseAsRoot(["--encoder", encoder, "--max-pixels", "-5", photo, "--output", dir + "/x.npy"]))
    }
}
