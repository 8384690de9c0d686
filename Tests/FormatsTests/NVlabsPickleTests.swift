import Foundation
import XCTest
@testable import Formats

/// NVlabs network pickles (stylegan2-ada-pytorch / stylegan3 snapshots) read as data: the real pack in
/// fixtures/nvlabs/ada, hostile variants of it, hand-built pickles and mutated copies.
final class NVlabsPickleTests: XCTestCase {
    static let adaPickle = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/nvlabs/ada/network-snapshot.pkl").path

    private func temp(_ name: String, _ data: Data) throws -> String {
        let path = NSTemporaryDirectory() + "nvlabs-\(UUID().uuidString)-" + name
        try data.write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    private func assertThrows(_ expression: @autoclosure () throws -> Any, contains parts: [String],
                              file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try expression()
            XCTFail("expected an error containing \(parts)", file: file, line: line)
        } catch {
            let message = "\(error)"
            print("error message: \(message)")
            for p in parts { XCTAssertTrue(message.contains(p), "'\(message)' lacks '\(p)'", file: file, line: line) }
        }
    }

    // MARK: the real pack

    func testReadsTheADASnapshotAsData() throws {
        let file = try loadFile(Self.adaPickle)
        XCTAssertEqual(file.format, .nvlabsPickle)
        XCTAssertEqual(file.topLevelKeys, ["training_set_kwargs", "G", "D", "G_ema", "augment_pipe"])
        XCTAssertEqual(file.nvlabsNetworks.map(\.key), ["G", "D", "G_ema"])
        XCTAssertEqual(file.root["training_set_kwargs"]?["resolution"]?.int, 64)
        let g = try XCTUnwrap(file.nvlabsNetworks.first { $0.key == "G_ema" }?.module)
        XCTAssertEqual(g.className, "Generator")
        XCTAssertEqual(g.version, 6)
        XCTAssertEqual(g.generatorFamily, "StyleGAN2-ADA")
        XCTAssertEqual(g.attribute("z_dim")?.int, 16)
        XCTAssertEqual(g.attribute("num_ws")?.int, 10)
        let kw = try XCTUnwrap(g.initKwargs)
        XCTAssertEqual(kw["img_resolution"]?.int, 64)
        XCTAssertEqual(kw["mapping_kwargs"]?["num_layers"]?.int, 2)
        XCTAssertEqual(kw["synthesis_kwargs"]?["channel_base"]?.int, 512)
        XCTAssertEqual(kw["synthesis_kwargs"]?["channel_max"]?.int, 32)
        XCTAssertEqual(kw["synthesis_kwargs"]?["conv_clamp"]?.int, 256)
        XCTAssertEqual(kw["synthesis_kwargs"]?["num_fp16_res"]?.int, 0)
        // The embedded source is kept verbatim (the pack's one-line stand-in), never interpreted.
        XCTAssertEqual(g.moduleSource, "# module source omitted from this test file (class Generator)\n")
        // state_dict() names and order as torch gives them: parameters, buffers, then submodules.
        let names = g.stateDict().map(\.name)
        XCTAssertEqual(Array(names.prefix(4)), ["synthesis.b4.const", "synthesis.b4.resample_filter",
                                                "synthesis.b4.conv1.weight", "synthesis.b4.conv1.noise_strength"])
        XCTAssertEqual(names.last, "mapping.fc1.bias")
        XCTAssertTrue(names.contains("mapping.w_avg"))
        let b4 = try XCTUnwrap(g.child("synthesis")?.child("b4"))
        XCTAssertEqual(b4.attribute("architecture")?.string, "skip")
        XCTAssertEqual(b4.child("conv1")?.attribute("conv_clamp")?.int, 256)
        // numpy float64 scalars are data (act_gain = √2).
        XCTAssertEqual(b4.child("conv1")?.attribute("act_gain")?.double ?? 0, 2.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(b4.tensor("const")?.shape, [32, 4, 4])
        // resample_filter is [1,3,3,1]ᵀ[1,3,3,1]/64: checks the nested torch.save storages decode to the right values.
        let f = try XCTUnwrap(b4.tensor("resample_filter")).floats()
        XCTAssertEqual(f[0], 1.0 / 64, accuracy: 1e-7)
        XCTAssertEqual(f[5], 9.0 / 64, accuracy: 1e-7)
        XCTAssertEqual(file.nvlabsNetworks.first { $0.key == "D" }?.module.className, "Discriminator")
        let text = describe(file)
        XCTAssertTrue(text.contains("format: NVlabs network pickle (StyleGAN2-ADA)"), text)
        XCTAssertTrue(text.contains("NVlabs StyleGAN2-ADA generator ('G_ema'): 64x64 px, z_dim 16, w_dim 16"), text)
        XCTAssertTrue(text.contains("conv_clamp 256"), text)
    }

    /// Tensor storages stay views of the mapped file: the networks the caller does not use (D, G) are
    /// never copied into memory.
    func testStoragesAreViewsOfTheFileNotCopies() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.adaPickle))
        let file = try loadFile(data: data, path: "snapshot.pkl")
        let d = try XCTUnwrap(file.nvlabsNetworks.first { $0.key == "D" }?.module)
        let big = try XCTUnwrap(d.stateDict().max { $0.array.bytes.count < $1.array.bytes.count }?.array)
        XCTAssertGreaterThanOrEqual(big.bytes.count, 4096)
        data.withUnsafeBytes { file in
            big.bytes.withUnsafeBytes { t in
                let start = UnsafeRawPointer(file.baseAddress!), p = UnsafeRawPointer(t.baseAddress!)
                XCTAssertTrue(p >= start && p + t.count <= start + file.count, "D's tensor was copied out of the file's bytes")
            }
        }
    }

    // MARK: hostile pickles

    /// The pack with G_ema's class source replaced (same length) by code that would create a marker
    /// file if anything executed it. It loads as data, converts, and the marker never appears.
    func testModuleSourceThatWouldRunCodeIsKeptAsText() throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: Self.adaPickle))
        let standIn = "# module source omitted from this test file (class Generator)\n"
        let marker = NSTemporaryDirectory() + "nvm-\(UInt32.random(in: 0...UInt32.max))"
        var hostile = "import os;os.system('touch \(marker)')#"
        XCTAssertLessThanOrEqual(hostile.utf8.count, standIn.utf8.count)
        hostile += String(repeating: "#", count: standIn.utf8.count - hostile.utf8.count)
        let needle = Data([0x8C, UInt8(standIn.utf8.count)] + Array(standIn.utf8))
        let range = try XCTUnwrap(data.range(of: needle), "stand-in source not found in the pack")
        data.replaceSubrange(range, with: [0x8C, UInt8(hostile.utf8.count)] + Array(hostile.utf8))
        let path = try temp("hostile.pkl", data)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: marker) }

        let file = try loadFile(path)
        let g = try XCTUnwrap(file.nvlabsNetworks.first { $0.key == "G" }?.module)
        XCTAssertEqual(g.moduleSource, hostile, "the source must be kept verbatim")
        _ = describe(file)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "code from the pickle ran")
    }

    /// A pickle whose networks reach for other globals: refused with the global's name and the file.
    func testUnknownGlobalsAreRefusedByName() throws {
        for (module, name) in [("os", "system"), ("torch_utils.persistence", "persistent_class"), ("builtins", "exec"),
                               ("training.networks", "Generator"), ("dnnlib.util", "call_func_by_name")] {
            var p = NVlabsPickleBuilder()
            p.network(stateExtra: { q in q.string("evil"); q.global(module, name); q.string("touch /tmp/x"); q.op(0x85, 0x52) })
            let path = try temp("unknown.pkl", p.finish())
            assertThrows(try loadFile(path), contains: [path, "global '\(module).\(name)' is not allowed"])
        }
    }

    /// The same globals are not allowed outside NVlabs pickles (a torch.save zip may not use them).
    func testNVlabsGlobalsAreOnlyDataInsideNVlabsPickles() throws {
        var p = PickleBytes()
        p.global("torch_utils.persistence", "_reconstruct_persistent_obj"); p.op(0x7D, 0x85, 0x52); p.stop()
        var u = Unpickler(data: p.data, context: "evil.pt: archive/data.pkl", copyBudget: 0) { key, _, _ in throw FormatError("no storage \(key)") }
        assertThrows(try u.loadValue(), contains: ["'torch_utils.persistence._reconstruct_persistent_obj' is not allowed"])
    }

    func testHandBuiltPickleLoads() throws {
        var p = NVlabsPickleBuilder()
        p.network(stateExtra: { q in q.string("z_dim"); q.int(16) })
        let file = try loadFile(data: p.finish(), path: "small.pkl")
        let g = try XCTUnwrap(file.nvlabsNetworks.first?.module)
        XCTAssertEqual(g.className, "Generator")
        XCTAssertEqual(g.attribute("z_dim")?.int, 16)
        XCTAssertEqual(g.tensor("w")?.floats(), [1, 2, 3, 4])
        XCTAssertEqual(g.initKwargs?["z_dim"]?.int, 16, "EasyDict is read as a dict")
        XCTAssertEqual(g.child("mapping")?.tensor("w")?.floats(), [1, 2, 3, 4])
        XCTAssertEqual(file.root["training_set_kwargs"]?["resolution"]?.int, 64)
    }

    func testNestedStorageMustBeATorchSaveStream() throws {
        var p = NVlabsPickleBuilder()
        p.storageBytes = PickleBytes.bareNone
        p.network(stateExtra: { _ in })
        let path = try temp("nested.pkl", p.finish())
        assertThrows(try loadFile(path), contains: [path, "nested torch.save storage is neither a torch.save stream nor a zip"])
    }

    func testPicklesWithoutNetworksAreRefused() throws {
        var p = PickleBytes()
        p.op(0x7D); p.string("a"); p.global("dnnlib", "EasyDict"); p.op(0x29, 0x81, 0x73); p.stop()
        let path = try temp("plain.pkl", p.data)
        assertThrows(try loadFile(path), contains: [path, "bare Python pickle without NVlabs networks"])
    }

    // MARK: fuzz

    /// Mutated copies of the hand-built pickle and of the real pack (FuzzTests' mutations): each loads or
    /// fails with a FormatError naming the file; a loaded file is fully readable and describable.
    func testMutatedNVlabsPicklesFailCleanlyOrLoad() throws {
        var small = NVlabsPickleBuilder()
        small.network(stateExtra: { q in q.string("z_dim"); q.int(16) })
        let seeds = [("small.pkl", small.finish(), FuzzTests.casesPerSeed),
                     ("ada.pkl", try Data(contentsOf: URL(fileURLWithPath: Self.adaPickle)), max(FuzzTests.casesPerSeed / 4, 10))]
        var rng = FuzzTests.SplitMix64(state: 0x0A11_AB5)
        var loaded = 0, failed = 0
        for (seedName, seed, cases) in seeds {
            for c in 0..<cases {
                let input = FuzzTests.mutate(seed, other: seeds[rng.below(seeds.count)].1, rng: &rng, targets: [])
                let name = "fuzz-\(seedName)-\(c)"
                do {
                    let file = try loadFile(data: input, path: name)
                    for t in file.tensors { _ = t.array.floats() }
                    for n in file.nvlabsNetworks { _ = n.module.stateDict(); _ = n.module.generatorFamily }
                    _ = describe(file)
                    loaded += 1
                } catch let e as FormatError {
                    XCTAssertTrue(e.description.hasPrefix(name), "error does not name the file: \(e.description)")
                    failed += 1
                } catch {
                    XCTFail("\(name): unexpected error type \(type(of: error)): \(error)")
                }
            }
        }
        print("nvlabs fuzz: \(loaded) loaded, \(failed) clean errors")
        XCTAssertGreaterThan(failed, 0)
        XCTAssertGreaterThan(loaded, 0)
    }
}

extension PickleBytes {
    static let bareNone = Data([0x80, 0x02, 0x4E, 0x2E])

    mutating func bytesValue(_ d: Data) {
        bytes.append(0x42)
        withUnsafeBytes(of: UInt32(d.count).littleEndian) { bytes += $0 }
        bytes += d
    }

    /// `torch.save(FloatStorage([values]))` in the legacy format: magic, protocol 1001, sys_info, the
    /// storage's persistent id, the key list, then the element count and the raw floats.
    static func legacyStorage(_ values: [Float]) -> Data {
        var out = Data(TorchLegacyReader.magic)
        var v = PickleBytes(); v.op(0x4D, 0xE9, 0x03); v.stop(); out += v.data // BININT2 1001
        var s = PickleBytes(); s.op(0x7D); s.string("little_endian"); s.op(0x88, 0x73); s.stop(); out += s.data
        var o = PickleBytes(); o.floatStorage("k", numel: Int32(values.count)); o.stop(); out += o.data
        var k = PickleBytes(); k.op(0x5D); k.string("k"); k.op(0x61); k.stop(); out += k.data
        withUnsafeBytes(of: Int64(values.count).littleEndian) { out += $0 }
        values.withUnsafeBufferPointer { out += Data(buffer: $0) }
        return out
    }
}

/// A small pickle laid out as the NVlabs training loop writes one: `{"training_set_kwargs": EasyDict,
/// "G_ema": _reconstruct_persistent_obj(meta)}`, the network holding a 4-element parameter over a nested
/// torch.save storage and a `mapping` submodule with the same.
struct NVlabsPickleBuilder {
    var p = PickleBytes()
    var storageBytes = PickleBytes.legacyStorage([1, 2, 3, 4])

    init() { p.op(0x7D) } // the top-level dict

    private mutating func orderedDict(_ items: (inout PickleBytes) -> Void) {
        p.global("collections", "OrderedDict"); p.op(0x29, 0x52) // OrderedDict()
        p.op(0x28); items(&p); p.op(0x75) // MARK ... SETITEMS
    }

    private mutating func tensor() {
        p.global("torch._utils", "_rebuild_parameter")
        p.op(0x28)
        p.global("torch._utils", "_rebuild_tensor_v2")
        p.op(0x28)
        p.global("torch.storage", "_load_from_bytes"); p.bytesValue(storageBytes); p.op(0x85, 0x52)
        p.int(0); p.int(4); p.op(0x85); p.int(1); p.op(0x85); p.op(0x89)
        p.global("collections", "OrderedDict"); p.op(0x29, 0x52)
        p.op(0x74, 0x52) // TUPLE, REDUCE: the tensor
        p.op(0x88); p.global("collections", "OrderedDict"); p.op(0x29, 0x52)
        p.op(0x74, 0x52) // TUPLE, REDUCE: the parameter
    }

    private mutating func record(className: String, stateExtra: (inout PickleBytes) -> Void, submodule: Bool) {
        p.global("torch_utils.persistence", "_reconstruct_persistent_obj")
        p.op(0x7D, 0x28)
        p.string("type"); p.string("class")
        p.string("version"); p.int(6)
        p.string("module_src"); p.string("class \(className): pass  # never run\n")
        p.string("class_name"); p.string(className)
        p.string("state"); p.op(0x7D, 0x28)
        p.string("training"); p.op(0x89)
        p.string("_parameters"); p.global("collections", "OrderedDict"); p.op(0x29, 0x52, 0x28)
        p.string("w"); tensor(); p.string("unused"); p.op(0x4E); p.op(0x75)
        p.string("_buffers"); orderedDict { _ in }
        p.string("_non_persistent_buffers_set"); p.op(0x8F)
        p.string("_modules"); p.global("collections", "OrderedDict"); p.op(0x29, 0x52, 0x28)
        if submodule { p.string("mapping"); record(className: "MappingNetwork", stateExtra: { _ in }, submodule: false) }
        p.op(0x75)
        p.string("_init_args"); p.op(0x29)
        p.string("_init_kwargs"); p.global("dnnlib", "EasyDict"); p.op(0x29, 0x81, 0x28); p.string("z_dim"); p.int(16); p.op(0x75)
        stateExtra(&p)
        p.op(0x75) // state SETITEMS
        p.op(0x75) // meta SETITEMS
        p.op(0x85, 0x52) // (meta,) REDUCE
    }

    mutating func network(stateExtra: (inout PickleBytes) -> Void) {
        p.string("training_set_kwargs"); p.global("dnnlib", "EasyDict"); p.op(0x29, 0x81, 0x28); p.string("resolution"); p.int(64); p.op(0x75, 0x73)
        p.string("G_ema"); record(className: "Generator", stateExtra: stateExtra, submodule: true); p.op(0x73)
    }

    mutating func finish() -> Data { p.stop(); return p.data }
}
