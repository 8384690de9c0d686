import Foundation
import XCTest
@testable import Formats

final class NpyTests: XCTestCase {
    let arange = (0..<24).map(Float.init)

    func testVersionsDtypesAndOrders() throws {
        for name in ["c_f32.npy", "v2.npy", "v3.npy", "big_endian.npy", "fortran_f64.npy"] {
            let a = try readNpy(Fixtures.path(name))
            XCTAssertEqual(a.shape, [2, 3, 4], name)
            XCTAssertEqual(a.floats(), arange, name)
        }
        XCTAssertEqual(try readNpy(Fixtures.path("fortran_f64.npy")).dtype, .float64)
        let h = try readNpy(Fixtures.path("f16.npy"))
        XCTAssertEqual(h.dtype, .float16)
        XCTAssertEqual(h.floats(), arange.map { $0 / 8 })
        XCTAssertEqual(try readNpy(Fixtures.path("i64.npy")).int64s(), [-3, -2, -1, 0, 1, 2])
        let s = try readNpy(Fixtures.path("scalar.npy"))
        XCTAssertEqual(s.shape, [])
        XCTAssertEqual(s.floats(), [2.5])
        XCTAssertEqual(try loadFile(Fixtures.path("c_f32.npy")).format, .npy)
    }

    func testWriteReadRoundTrip() throws {
        let dir = NSTemporaryDirectory() + "npy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = ArrayData(shape: [1, 18, 5], floats: (0..<90).map { Float($0) * 0.37 - 3 })
        try writeNpy(a, to: dir + "/w.npy")
        let b = try readNpy(dir + "/w.npy")
        XCTAssertEqual(b.shape, a.shape)
        XCTAssertEqual(b.bytes, a.bytes)
        let raw = try Data(contentsOf: URL(fileURLWithPath: dir + "/w.npy"))
        XCTAssertEqual((raw.count - a.bytes.count) % 64, 0, "preamble padded to a multiple of 64")
        XCTAssertEqual(String(decoding: raw[10..<73], as: UTF8.self), "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 18, 5), }")
        let i = try ArrayData(dtype: .int64, shape: [3], bytes: [Int64(-1), 0, 7].withUnsafeBufferPointer { Data(buffer: $0) })
        try writeNpy(i, to: dir + "/i.npy")
        XCTAssertEqual(try readNpy(dir + "/i.npy").int64s(), [-1, 0, 7])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["i.npy", "w.npy"], "no temporary files left")
    }

    /// Every .npy of the reference packs reads and agrees with the manifest's dtype and shape.
    func testEveryReferenceNpyReads() throws {
        guard let root = Fixtures.sharedReference else { throw XCTSkip("../shared/reference not present") }
        var checked = 0
        for pack in ["stylegan2", "encoders", "clip", "nada_train"] {
            // The manifests contain bare NaN/Infinity (Python's json), which JSONSerialization rejects.
            let text = try String(contentsOfFile: "\(root)/\(pack)/manifest.json", encoding: .utf8)
                .replacingOccurrences(of: "-Infinity", with: "null").replacingOccurrences(of: "Infinity", with: "null")
                .replacingOccurrences(of: "NaN", with: "null")
            let manifest = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
            let files = manifest["files"] as? [[String: Any]] ?? []
            var shapes: [String: [Int]] = [:]
            for f in files { if let n = f["file"] as? String, let s = f["shape"] as? [Int] { shapes[n] = s } }
            let e = FileManager.default.enumerator(atPath: "\(root)/\(pack)")!
            for case let rel as String in e where rel.hasSuffix(".npy") {
                let a = try readNpy("\(root)/\(pack)/\(rel)")
                XCTAssertEqual(a.bytes.count, a.count * a.dtype.byteSize)
                if let s = shapes["\(pack)/\(rel)"] { XCTAssertEqual(a.shape, s, rel) }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 50)
    }
}
