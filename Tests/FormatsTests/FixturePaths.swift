import Foundation
import XCTest
@testable import Formats

/// Locations of test inputs: committed fixtures, and the shared reference packs when present.
enum Fixtures {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `shared/reference` beside the repository (main checkout: ../shared; worktrees: ../../shared).
    static let sharedReference: String? = ["/../shared/reference", "/../../shared/reference"]
        .map { packageRoot + $0 }.first { FileManager.default.fileExists(atPath: $0) }

    static func path(_ name: String) -> String { packageRoot + "/fixtures/formats/" + name }

    /// A reference-pack file (`stylegan2/generator.pt`): the committed copy if there is one, else the
    /// shared pack next to the repository; skips the test when neither exists.
    static func reference(_ relative: String) throws -> String {
        let local = path(URL(fileURLWithPath: relative).lastPathComponent)
        if FileManager.default.fileExists(atPath: local) { return local }
        if let root = sharedReference, FileManager.default.fileExists(atPath: root + "/" + relative) { return root + "/" + relative }
        throw XCTSkip("reference file \(relative) not found (neither in fixtures/formats nor in ../shared/reference)")
    }

    /// Expected per-tensor digests written by tools/make_format_fixtures.py with PyTorch.
    static func expectedDigests(_ key: String) throws -> [[String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path("reference_tensors.json")))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        guard let list = json[key] as? [[String: Any]] else { throw FormatError("no digests for \(key)") }
        return list
    }

    static func expectedObject(_ key: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path("reference_tensors.json")))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return json[key] as! [String: Any]
    }
}

/// FNV-1a 64 of an array's bytes, as the fixture script computes it.
func fnv1a64(_ a: ArrayData) -> String {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    a.bytes.withUnsafeBytes { (p: UnsafeRawBufferPointer) in
        for b in p { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    }
    return String(format: "%016llx", h)
}

/// Asserts that `tensors` equal the digests (names, order, dtypes, shapes, bytes) bit for bit.
func assertMatchesDigests(_ tensors: [(name: String, array: ArrayData)], _ expected: [[String: Any]],
                          file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(tensors.map(\.name), expected.map { $0["name"] as! String }, "names/order", file: file, line: line)
    for (t, e) in zip(tensors, expected) {
        XCTAssertEqual(t.array.dtype.rawValue, e["dtype"] as? String, "\(t.name) dtype", file: file, line: line)
        XCTAssertEqual(t.array.shape, e["shape"] as? [Int], "\(t.name) shape", file: file, line: line)
        XCTAssertEqual(fnv1a64(t.array), e["fnv1a64"] as? String, "\(t.name) bytes", file: file, line: line)
    }
}
