import Foundation
import XCTest
@testable import Formats

final class WriterTests: XCTestCase {
    private func tempDir() throws -> String {
        let dir = NSTemporaryDirectory() + "writers-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// A generator checkpoint written by us re-loads bit-exactly, with its metadata, and is laid out
    /// like torch.save's (stored, 64-byte aligned records).
    func testGeneratorCheckpointRoundTrip() throws {
        let source = try loadFile(try Fixtures.reference("stylegan2/generator.pt"))
        let gEma = try source.stateDict("g_ema")
        let dir = try tempDir()
        let path = dir + "/adapted.pt"
        let extra: [(String, PyValue)] = [
            ("latent_avg", .tensor(ArrayData(shape: [4], floats: [0.5, -1, 2, 1e-8]))),
            ("nada", .dict([(.string("source_class"), .string("photo")), (.string("target_class"), .string("sketch \u{270e}")),
                            (.string("iterations"), .int(301)), (.string("lr"), .float(0.002)), (.string("seed"), .int(-(1 << 40))),
                            (.string("layers"), .list([.int(0), .int(65535), .int(70000)])), (.string("auto"), .bool(true)),
                            (.string("note"), .none), (.string("shape"), .tuple([.int(1), .int(2), .int(3), .int(4)])),
                            (.string("blob"), .bytes(Data([0, 1, 255])))])),
        ]
        try writeGeneratorCheckpoint(gEma: gEma, extra: extra, to: path)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["adapted.pt"], "no temporary file left")
        // For tools/check_torch_checkpoint.py: NADA_KEEP_WRITTEN=<dir> keeps a copy to load with PyTorch.
        if let keep = ProcessInfo.processInfo.environment["NADA_KEEP_WRITTEN"] {
            try? FileManager.default.removeItem(atPath: keep + "/adapted.pt")
            try FileManager.default.copyItem(atPath: path, toPath: keep + "/adapted.pt")
        }

        let back = try loadFile(path)
        XCTAssertEqual(back.format, .torchZip)
        XCTAssertEqual(back.topLevelKeys, ["g_ema", "latent_avg", "nada"])
        let g = try back.stateDict("g_ema")
        XCTAssertEqual(g.map(\.name), gEma.map(\.name))
        XCTAssertEqual(g.map(\.array.shape), gEma.map(\.array.shape))
        XCTAssertEqual(g.map(\.array.bytes), gEma.map(\.array.bytes), "bit-exact")
        assertMatchesDigests(g, try Fixtures.expectedDigests("stylegan2/generator.pt:g_ema"))
        XCTAssertEqual(back.root["latent_avg"]?.tensor?.floats(), [0.5, -1, 2, 1e-8])
        let n = try XCTUnwrap(back.root["nada"])
        XCTAssertEqual(n["target_class"]?.string, "sketch \u{270e}")
        XCTAssertEqual(n["iterations"]?.int, 301)
        XCTAssertEqual(n["lr"]?.double, 0.002)
        XCTAssertEqual(n["seed"]?.int, -(1 << 40))
        guard case .list(let layers)? = n["layers"], case .tuple(let shape)? = n["shape"], case .bytes(let blob)? = n["blob"] else { return XCTFail() }
        XCTAssertEqual(layers.compactMap(\.int), [0, 65535, 70000])
        XCTAssertEqual(shape.compactMap(\.int), [1, 2, 3, 4])
        XCTAssertEqual(Array(blob), [0, 1, 255])
        XCTAssertEqual(n["auto"]?.bool, true)

        let zip = try ZipArchive(path: path, data: try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertTrue(zip.entries.allSatisfy { $0.method == 0 })
        XCTAssertEqual(zip.entries.first?.name, "adapted/data.pkl")
        for e in zip.entries where e.name.contains("/data/") {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let start = e.localHeaderOffset + 30 + Int(data[e.localHeaderOffset + 26]) + Int(data[e.localHeaderOffset + 28]) + Int(data[e.localHeaderOffset + 29]) << 8
            XCTAssertEqual(start % 64, 0, e.name)
        }
    }

    func testWriterRefusesWhatWeightsOnlyWouldRefuse() throws {
        let dir = try tempDir()
        XCTAssertThrowsError(try writeTorchCheckpoint(.object(type: "argparse.Namespace", state: .dict([])), to: dir + "/x.pt")) {
            XCTAssertTrue("\($0)".contains("argparse.Namespace"))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    func testSafetensorsRoundTrip() throws {
        let dir = try tempDir()
        let half = try ArrayData(dtype: .float16, shape: [2], bytes: [Float16(1.5), Float16(-0.25)].withUnsafeBufferPointer { Data(buffer: $0) })
        let tensors: [(name: String, array: ArrayData)] = [
            ("a \"quoted\" name", ArrayData(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])),
            ("h", half),
            ("scalar", ArrayData(shape: [], floats: [4.5])),
        ]
        try writeSafetensors(tensors, metadata: ["format": "pt", "by": "nada-edit"], to: dir + "/m.safetensors")
        let back = try loadFile(dir + "/m.safetensors")
        XCTAssertEqual(back.format, .safetensors)
        XCTAssertEqual(back.metadata, ["format": "pt", "by": "nada-edit"])
        XCTAssertEqual(back.tensors.map(\.name), tensors.map(\.name))
        XCTAssertEqual(back.tensors.map(\.array.bytes), tensors.map(\.array.bytes))
        XCTAssertEqual(back.tensors.map(\.array.dtype), [.float32, .float16, .float32])
        XCTAssertThrowsError(try writeSafetensors([("x", half), ("x", half)], to: dir + "/dup.safetensors"))
    }
}
