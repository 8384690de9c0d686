import Foundation
import XCTest
@testable import Formats

final class TorchZipTests: XCTestCase {
    func testGeneratorCheckpointMatchesTorch() throws {
        let file = try loadFile(try Fixtures.reference("stylegan2/generator.pt"))
        XCTAssertEqual(file.format, .torchZip)
        XCTAssertEqual(file.topLevelKeys, ["g_ema"])
        let g = try file.stateDict("g_ema")
        XCTAssertEqual(g.count, 89)
        assertMatchesDigests(g, try Fixtures.expectedDigests("stylegan2/generator.pt:g_ema"))
    }

    func testE4ECheckpointWithOpts() throws {
        let file = try loadFile(try Fixtures.reference("encoders/e4e.pt"))
        XCTAssertEqual(file.format, .torchZip)
        XCTAssertEqual(Set(file.topLevelKeys), ["state_dict", "opts", "latent_avg"])
        assertMatchesDigests(try file.stateDict("state_dict"), try Fixtures.expectedDigests("encoders/e4e.pt:state_dict"))
        let avg = try XCTUnwrap(file.root["latent_avg"]?.tensor)
        assertMatchesDigests([("latent_avg", avg)], try Fixtures.expectedDigests("encoders/e4e.pt:latent_avg"))
        let opts = try XCTUnwrap(file.root["opts"])
        XCTAssertEqual(opts["encoder_type"]?.string, "Encoder4Editing")
        XCTAssertEqual(opts["stylegan_size"]?.int, 64)
        XCTAssertEqual(opts["learning_rate"]?.double, 0.0001)
        XCTAssertEqual(opts["start_from_latent_avg"]?.bool, true)
        if case .none? = opts["checkpoint_path"] {} else { XCTFail("checkpoint_path should be None") }
        guard case .list(let steps)? = opts["progressive_steps"] else { return XCTFail("progressive_steps not a list") }
        XCTAssertEqual(steps.compactMap(\.int), [0, 20000, 22000, 24000, 26000, 28000, 30000, 32000, 34000, 36000])
        // Every string/number opts entry torch sees is present with the same value.
        let expected = try Fixtures.expectedObject("encoders/e4e.pt:opts")
        XCTAssertEqual(Set(opts.dictKeys), Set(expected.keys))
        for (k, v) in expected {
            let ours = try XCTUnwrap(opts[k], k)
            if let s = v as? String { XCTAssertEqual(ours.string, s, k) }
            else if let n = v as? NSNumber, ours.bool == nil { XCTAssertEqual(ours.double, n.doubleValue, k) }
        }
    }

    func testCLIPStateDictMatchesTorch() throws {
        let file = try loadFile(try Fixtures.reference("clip/model_state.pt"))
        assertMatchesDigests(file.tensors, try Fixtures.expectedDigests("clip/model_state.pt"))
    }

    /// Views with offsets and strides, shared storages, every storage dtype, plain Python values.
    func testViewsAndValues() throws {
        let file = try loadFile(Fixtures.path("views.pt"))
        XCTAssertEqual(file.format, .torchZip)
        try checkViewsFixture(file)
    }
}

extension PyValue {
    var dictKeys: [String] {
        if case .dict(let items) = self { return items.compactMap { $0.key.string } }
        return []
    }
}

/// Shared with the legacy-format test: the same object saved both ways.
func checkViewsFixture(_ file: LoadedFile) throws {
    let r = file.root
    let base = (0..<24).map(Float.init)
    XCTAssertEqual(r["base"]?.tensor?.shape, [4, 6])
    XCTAssertEqual(r["base"]?.tensor?.floats(), base)
    // base.t(): element (i, j) = base[j][i]
    let t = try XCTUnwrap(r["view_T"]?.tensor)
    XCTAssertEqual(t.shape, [6, 4])
    XCTAssertEqual(t.floats(), (0..<6).flatMap { i in (0..<4).map { j in base[j * 6 + i] } })
    // base[1:, ::2]
    let s = try XCTUnwrap(r["view_slice"]?.tensor)
    XCTAssertEqual(s.shape, [3, 3])
    XCTAssertEqual(s.floats(), (1..<4).flatMap { i in stride(from: 0, to: 6, by: 2).map { j in base[i * 6 + j] } })
    XCTAssertEqual(r["view_row"]?.tensor?.floats(), Array(base[12..<18]))
    XCTAssertEqual(r["half"]?.tensor?.dtype, .float16)
    XCTAssertEqual(r["half"]?.tensor?.floats(), (0..<6).map { Float($0) / 4 })
    XCTAssertEqual(r["bf16"]?.tensor?.dtype, .bfloat16)
    XCTAssertEqual(r["bf16"]?.tensor?.floats(), [1.5, -2.25, 3])
    XCTAssertEqual(r["f64"]?.tensor?.dtype, .float64)
    XCTAssertEqual(r["f64"]?.tensor?.bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }, [1.0 / 3, 2.5])
    XCTAssertEqual(r["i64"]?.tensor?.int64s(), [-3, 1 << 40])
    XCTAssertEqual(r["scalar"]?.tensor?.shape, [])
    XCTAssertEqual(r["scalar"]?.tensor?.floats(), [7.5])
    XCTAssertEqual(r["flags"]?.tensor?.dtype, .bool)
    XCTAssertEqual(r["flags"]?.tensor?.int64s(), [1, 0, 1])
    XCTAssertEqual(r["param"]?.tensor?.floats(), [1, 2, 3, 4])
    let n = try XCTUnwrap(r["nested"])
    guard case .list(let l)? = n["list"] else { return XCTFail("list") }
    XCTAssertEqual(l.count, 5)
    XCTAssertEqual(l[0].int, 1); XCTAssertEqual(l[1].double, 2.5); XCTAssertEqual(l[2].string, "x")
    if case .none = l[3] {} else { XCTFail("None") }
    XCTAssertEqual(l[4].bool, true)
    guard case .tuple(let tup)? = n["tuple"], tup.count == 2, case .tuple(let inner) = tup[1] else { return XCTFail("tuple") }
    XCTAssertEqual(inner.compactMap(\.int), [2, 3])
    XCTAssertEqual(n["od"]?.flattenedTensors().map(\.name), ["b", "a"])
    guard case .dict(let ik)? = n["intkeys"] else { return XCTFail("intkeys") }
    XCTAssertEqual(ik.map { $0.key.int }, [0, 1])
    XCTAssertEqual(ik.map { $0.value.string }, ["zero", "one"])
    guard case .bytes(let b)? = n["bytes"] else { return XCTFail("bytes") }
    XCTAssertEqual(Array(b), [0, 255, 97, 98])
    XCTAssertEqual(n["big"]?.double, pow(2, 70))
    XCTAssertEqual(n["neg"]?.int, -5)
    XCTAssertEqual(n["neg_big"]?.int, -(1 << 40))
    XCTAssertEqual(n["unicode"]?.string, "h\u{e9}llo \u{2713}")
    guard case .object(let type, _)? = r["args"] else { return XCTFail("Namespace") }
    XCTAssertEqual(type, "argparse.Namespace")
    XCTAssertEqual(r["args"]?["lr"]?.double, 0.002)
    XCTAssertEqual(r["args"]?["size"]?.int, 256)
    XCTAssertEqual(r["args"]?["name"]?.string, "ffhq")
}

final class NumpyValuesTests: XCTestCase {
    /// numpy scalars and arrays pickled inside a checkpoint decode as plain values and tensors
    /// (torch.load(weights_only=True) refuses this file; we read it without running anything).
    func testNumpyScalarsAndArrays() throws {
        let file = try loadFile(Fixtures.path("numpy_values.pt"))
        let r = file.root
        XCTAssertEqual(r["best_val_loss"]?.double, 0.125)
        XCTAssertEqual(r["step"]?.int, -7)
        XCTAssertEqual(r["flag"]?.bool, true)
        XCTAssertEqual(r["arr"]?.tensor?.shape, [2, 3])
        XCTAssertEqual(r["arr"]?.tensor?.floats(), [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(r["farr"]?.tensor?.dtype, .float64)
        XCTAssertEqual(r["farr"]?.tensor?.floats(), [0, 1, 2, 3, 4, 5], "Fortran-ordered array comes out in C order")
        XCTAssertEqual(r["big"]?.tensor?.int64s(), [0, 1, 2], "big-endian array is byte-swapped")
    }
}
