import Foundation
import XCTest
@testable import Formats

/// NVlabs TensorFlow network pickles (`(G, D, Gs)` of `dnnlib.tflib.network.Network`) read as data: the pack in
/// fixtures/tf_stylegan2 (made by tools/make_tf_stylegan2_pack.py), hand-built hostile pickles and mutated copies.
final class TFNetworkPickleTests: XCTestCase {
    static let pack = Fixtures.packageRoot + "/fixtures/tf_stylegan2/stylegan2-tiny-config-f.pkl"
    /// What the pack's `build_module_src` would create if anything executed it (the script's MARKER).
    static let marker = "/tmp/nada-edit-tf-stylegan2-pickle-code-ran"

    private func assertThrows(_ expression: @autoclosure () throws -> Any, contains parts: [String],
                              file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try expression()
            XCTFail("expected an error containing \(parts)", file: file, line: line)
        } catch {
            let message = "\(error)"
            for p in parts { XCTAssertTrue(message.contains(p), "'\(message)' lacks '\(p)'", file: file, line: line) }
        }
    }

    func testReadsThePackAsData() throws {
        try? FileManager.default.removeItem(atPath: Self.marker)
        let file = try loadFile(Self.pack)
        XCTAssertEqual(file.format, .tfNetworkPickle)
        XCTAssertEqual(file.topLevelKeys, ["G", "D", "Gs"], "the tuple (G, D, Gs), keyed by the networks' own names")
        XCTAssertEqual(file.tfNetworks.map(\.key), ["G", "D", "Gs"])
        XCTAssertTrue(file.nvlabsNetworks.isEmpty)
        let gs = try XCTUnwrap(file.tfNetworks.first { $0.key == "Gs" }?.network)
        XCTAssertEqual(gs.version, 4)
        XCTAssertEqual(gs.buildFunctionName, "G_main")
        XCTAssertEqual(gs.family, "TF StyleGAN2")
        XCTAssertTrue(gs.isGenerator)
        XCTAssertEqual(gs.components.map(\.key), ["synthesis", "mapping"])
        XCTAssertEqual(gs.component("synthesis")?.name, "G_synthesis")
        XCTAssertEqual(gs.component("synthesis")?.buildFunctionName, "G_synthesis_stylegan2")
        XCTAssertEqual(gs.staticKwarg("resolution")?.int, 32)
        XCTAssertEqual(gs.component("mapping")?.staticKwarg("dlatent_broadcast")?.int, 8)
        XCTAssertEqual(gs.ownVariables.map(\.name), ["lod", "dlatent_avg"])
        // 0-d variables are numpy scalars in the file (what tf.Session.run returns): read as 0-d arrays.
        XCTAssertEqual(gs.variable("lod")?.shape, [])
        XCTAssertEqual(gs.variable("lod")?.floats(), [0])
        let vars = Dictionary(uniqueKeysWithValues: gs.variables.map { ($0.name, $0.array) })
        XCTAssertEqual(vars["G_mapping/Dense0/weight"]?.shape, [16, 16])
        XCTAssertEqual(vars["G_synthesis/4x4/Const/const"]?.shape, [1, 8, 4, 4])
        XCTAssertEqual(vars["G_synthesis/32x32/Conv0_up/weight"]?.shape, [3, 3, 8, 4])
        XCTAssertEqual(vars["G_synthesis/8x8/Conv1/noise_strength"]?.shape, [])
        XCTAssertEqual(vars["G_synthesis/noise6"]?.shape, [1, 1, 32, 32])
        // Creation order as TensorFlow lists them: the noise inputs first.
        XCTAssertEqual(gs.component("synthesis")?.ownVariables.first?.name, "noise0")
        XCTAssertEqual(file.tfNetworks.first { $0.key == "D" }?.network.buildFunctionName, "D_stylegan2")
        XCTAssertFalse(file.tfNetworks.first { $0.key == "D" }!.network.isGenerator)
        // The build source is kept verbatim, never run.
        XCTAssertTrue(gs.moduleSource?.contains("os.system('touch \(Self.marker)')") == true, gs.moduleSource ?? "nil")
        XCTAssertEqual(file.tensors.first { $0.name == "Gs.synthesis.4x4/Const/const" }?.array.shape, [1, 8, 4, 4])
        let text = describe(file)
        XCTAssertTrue(text.contains("format: NVlabs TensorFlow network pickle (TF StyleGAN2)"), text)
        XCTAssertTrue(text.contains("TF network 'Gs' (G_main)"), text)
        XCTAssertTrue(text.contains("never executed"), text)
        for t in file.tensors { _ = t.array.floats() }
        XCTAssertFalse(FileManager.default.fileExists(atPath: Self.marker), "code from the pickle ran")
    }

    /// A pickle that reaches for any other global is refused with the global's name; `Network` is a class to
    /// instantiate as a record, never a function to call.
    func testOtherGlobalsAreRefusedByName() throws {
        for (module, name) in [("os", "system"), ("dnnlib.tflib.network", "Other"), ("dnnlib.tflib.tfutil", "run"),
                               ("dnnlib.util", "get_obj_by_name"), ("builtins", "exec")] {
            var p = PickleBytes()
            p.global("dnnlib.tflib.network", "Network"); p.op(0x29, 0x81) // Network()
            p.op(0x7D); p.string("name"); p.global(module, name); p.string("touch /tmp/x"); p.op(0x85, 0x52, 0x73) // BUILD state
            p.op(0x62); p.stop()
            assertThrows(try loadFile(data: p.data, path: "evil.pkl"), contains: ["evil.pkl", "global '\(module).\(name)' is not allowed"])
        }
        var p = PickleBytes()
        p.global("dnnlib.tflib.network", "Network"); p.string("x"); p.op(0x85, 0x52); p.stop()
        assertThrows(try loadFile(data: p.data, path: "call.pkl"), contains: ["call.pkl", "'dnnlib.tflib.network.Network' cannot be called"])
    }

    /// `Network` is allowed only in bare pickles: a torch.save checkpoint may not instantiate it.
    func testNetworkClassIsNotDataInsideTorchCheckpoints() throws {
        var p = PickleBytes()
        p.global("dnnlib.tflib.network", "Network"); p.op(0x29, 0x81); p.stop()
        var u = Unpickler(data: p.data, context: "evil.pt: archive/data.pkl", copyBudget: 0) { key, _, _ in throw FormatError("no storage \(key)") }
        assertThrows(try u.loadValue(), contains: ["'dnnlib.tflib.network.Network' is not allowed"])
    }

    func testMalformedNetworksAreRefused() throws {
        func network(_ state: (inout PickleBytes) -> Void) -> Data {
            var p = PickleBytes()
            p.global("dnnlib.tflib.network", "Network"); p.op(0x29, 0x81)
            state(&p)
            p.stop()
            return p.data
        }
        assertThrows(try loadFile(data: network { _ in }, path: "nobuild.pkl"), contains: ["nobuild.pkl", "has no state dict"])
        assertThrows(try loadFile(data: network { $0.op(0x7D, 0x62) }, path: "noname.pkl"), contains: ["noname.pkl", "has no name"])
        let badVersion = network { p in p.op(0x7D); p.string("name"); p.string("Gs"); p.op(0x73); p.string("version"); p.int(9); p.op(0x73, 0x62) }
        assertThrows(try loadFile(data: badVersion, path: "v9.pkl"), contains: ["v9.pkl", "pickle version 9"])
        let badVariable = network { p in
            p.op(0x7D); p.string("name"); p.string("Gs"); p.op(0x73); p.string("version"); p.int(4); p.op(0x73)
            p.string("variables"); p.op(0x5D); p.string("w"); p.string("not an array"); p.op(0x86, 0x61, 0x73, 0x62)
        }
        assertThrows(try loadFile(data: badVariable, path: "var.pkl"), contains: ["var.pkl", "variable 'w' is not a numpy array"])
    }

    /// Mutated copies of the pack (FuzzTests' mutations): each loads or fails with a FormatError naming the file.
    func testMutatedTFPicklesFailCleanlyOrLoad() throws {
        let seed = try Data(contentsOf: URL(fileURLWithPath: Self.pack))
        var rng = FuzzTests.SplitMix64(state: 0x7F_5EED)
        var loaded = 0, failed = 0
        for c in 0..<max(FuzzTests.casesPerSeed / 4, 10) {
            let input = FuzzTests.mutate(seed, other: seed, rng: &rng, targets: [])
            let name = "fuzz-tf-\(c)"
            do {
                let file = try loadFile(data: input, path: name)
                for t in file.tensors { _ = t.array.floats() }
                for n in file.tfNetworks { _ = n.network.variables; _ = n.network.family }
                _ = describe(file)
                loaded += 1
            } catch let e as FormatError {
                XCTAssertTrue(e.description.hasPrefix(name), "error does not name the file: \(e.description)")
                failed += 1
            }
        }
        print("tf pickle fuzz: \(loaded) loaded, \(failed) clean errors")
        XCTAssertGreaterThan(failed, 0)
    }
}
