import Foundation
import XCTest
@testable import Formats

/// Builds pickle byte streams opcode by opcode for hostile-input tests.
struct PickleBytes {
    var bytes: [UInt8] = [0x80, 0x02]
    mutating func op(_ b: UInt8...) { bytes.append(contentsOf: b) }
    mutating func global(_ module: String, _ name: String) { bytes.append(0x63); bytes += Array("\(module)\n\(name)\n".utf8) }
    mutating func string(_ s: String) {
        let u = Array(s.utf8)
        bytes.append(0x58)
        withUnsafeBytes(of: UInt32(u.count).littleEndian) { bytes += $0 }
        bytes += u
    }
    mutating func int(_ v: Int32) { bytes.append(0x4A); withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func stop() { bytes.append(0x2E) }
    var data: Data { Data(bytes) }

    /// The persistent id of float storage `key` with `numel` elements, as torch.save writes it.
    mutating func floatStorage(_ key: String, numel: Int32) {
        op(0x28); string("storage"); global("torch", "FloatStorage"); string(key); string("cpu"); int(numel); op(0x74, 0x51)
    }

    /// `_rebuild_from_type_v2` wrapped `depth` times around `_rebuild_tensor_v2(storage '0', 0, (n,), (1,))`:
    /// torch writes one wrapper (tensor subclasses); a hostile file nests them. Memoized globals keep
    /// each level at 7 bytes, as in the 15 KB crash file of issue 22.
    static func rebuildChain(depth: Int, numel: Int32) -> PickleBytes {
        var p = PickleBytes()
        p.global("torch._tensor", "_rebuild_from_type_v2"); p.op(0x71, 0) // BINPUT 0
        p.op(0x30) // POP
        p.global("torch", "Tensor"); p.op(0x71, 1, 0x30)
        p.global("collections", "OrderedDict"); p.op(0x71, 2, 0x30)
        // The outermost call is the REDUCE at the end: f (args) where args = (inner f, type, inner args, state).
        if depth > 0 { p.op(0x68, 0) } else { p.global("torch._utils", "_rebuild_tensor_v2") }
        for level in 0..<depth {
            p.op(0x28) // MARK: (func, type, args, state)
            if level == depth - 1 { p.global("torch._utils", "_rebuild_tensor_v2") } else { p.op(0x68, 0) }
            p.op(0x68, 1)
        }
        // The innermost args: (storage, offset, size, stride, requires_grad, hooks).
        p.op(0x28); p.floatStorage("0", numel: numel); p.int(0); p.int(numel); p.op(0x85); p.int(1); p.op(0x85)
        p.op(0x89); p.op(0x68, 2, 0x29, 0x52); p.op(0x74)
        for _ in 0..<depth { p.op(0x7D, 0x74) } // state {}, TUPLE
        p.op(0x52) // REDUCE
        p.stop()
        return p
    }
}

final class HostileInputTests: XCTestCase {
    private func unpickle(_ p: PickleBytes, storage: StorageRef? = nil) throws -> PyValue {
        var u = Unpickler(data: p.data, context: "evil.pt: archive/data.pkl", copyBudget: 1 << 20) { key, dtype, numel in
            guard let s = storage else { throw FormatError("no storage \(key)") }
            return s
        }
        return try u.loadValue()
    }

    private func assertThrows(_ expression: @autoclosure () throws -> Any, contains parts: [String],
                              file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try expression()
            XCTFail("expected an error containing \(parts)", file: file, line: line)
        } catch {
            let message = "\(error)"
            // The message is part of the test output so the wording can be reviewed.
            print("error message: \(message)")
            for p in parts { XCTAssertTrue(message.contains(p), "'\(message)' lacks '\(p)'", file: file, line: line) }
        }
    }

    func testDisallowedGlobalsAreNamed() {
        var p = PickleBytes()
        p.global("os", "system"); p.string("echo pwned"); p.op(0x85, 0x52); p.stop()
        assertThrows(try unpickle(p), contains: ["evil.pt: archive/data.pkl", "global 'os.system' is not allowed"])
        var q = PickleBytes()
        q.global("__builtin__", "eval"); q.string("1+1"); q.op(0x85, 0x52); q.stop()
        assertThrows(try unpickle(q), contains: ["'__builtin__.eval' is not allowed"])
        // STACK_GLOBAL spelling of the same attack.
        var r = PickleBytes()
        r.string("subprocess"); r.string("Popen"); r.op(0x93); r.stop()
        assertThrows(try unpickle(r), contains: ["'subprocess.Popen' is not allowed"])
        // An allowed name used in a way that would need calling arbitrary code.
        var s = PickleBytes()
        s.global("argparse", "Namespace"); s.op(0x29, 0x52); s.stop()
        assertThrows(try unpickle(s), contains: ["'argparse.Namespace' cannot be called"])
    }

    func testDeepNestingIsAnErrorNotACrash() {
        var p = PickleBytes()
        p.op(0x4E)
        for _ in 0..<100_000 { p.op(0x85) } // TUPLE1: (((None,),),) ...
        p.stop()
        assertThrows(try unpickle(p), contains: ["nesting deeper than"])
        var l = PickleBytes()
        for _ in 0..<100_000 { l.op(0x28) } // MARK ... LIST builds nested lists
        l.op(0x4E)
        for _ in 0..<100_000 { l.op(0x6C) }
        l.stop()
        assertThrows(try unpickle(l), contains: ["nesting deeper than"])
    }

    func testSharedReferenceBlowUpIsBounded() {
        // t = (t, t) forty times: 2^40 nodes if expanded naively.
        var p = PickleBytes()
        p.op(0x4E)
        for _ in 0..<40 { p.op(0x32, 0x86) } // DUP, TUPLE2
        p.stop()
        assertThrows(try unpickle(p), contains: ["too large after expanding shared references"])
    }

    func testSelfReferenceIsAnError() {
        var p = PickleBytes()
        p.op(0x5D, 0x71, 0x00, 0x68, 0x00, 0x61) // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND
        p.stop()
        assertThrows(try unpickle(p), contains: ["reference cycle"])
    }

    func testLengthsBeyondTheInput() {
        var p = PickleBytes()
        p.op(0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x41) // BINUNICODE claiming 2 GB
        assertThrows(try unpickle(p), contains: ["BINUNICODE length 2147483647 exceeds"])
        var q = PickleBytes()
        q.op(0x8E); q.bytes += [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] // BINBYTES8 2^64-1
        assertThrows(try unpickle(q), contains: ["BINBYTES8 length"])
        var r = PickleBytes()
        r.op(0x68, 0x07) // BINGET of a memo slot never stored
        assertThrows(try unpickle(r), contains: ["memo key 7 was never stored"])
        var s = PickleBytes()
        s.op(0x61) // APPEND on an empty stack
        assertThrows(try unpickle(s), contains: ["stack underflow"])
        var t = PickleBytes()
        t.op(0xFF)
        assertThrows(try unpickle(t), contains: ["unknown opcode 0xff"])
    }

    private func tensorPickle(offset: Int32, size: [Int32], stride: [Int32], numel: Int32) -> PickleBytes {
        var p = PickleBytes()
        p.global("torch._utils", "_rebuild_tensor_v2")
        p.op(0x28) // MARK
        p.op(0x28); p.string("storage"); p.global("torch", "FloatStorage"); p.string("0"); p.string("cpu"); p.int(numel); p.op(0x74, 0x51)
        p.int(offset)
        p.op(0x28); for s in size { p.int(s) }; p.op(0x74)
        p.op(0x28); for s in stride { p.int(s) }; p.op(0x74)
        p.op(0x89) // requires_grad False
        p.global("collections", "OrderedDict"); p.op(0x29, 0x52)
        p.op(0x74, 0x52)
        p.stop()
        return p
    }

    func testViewsOutsideTheirStorage() throws {
        let storage = StorageRef(key: "0", dtype: .float32, bytes: (0..<12).map(Float.init).withUnsafeBufferPointer { Data(buffer: $0) })
        // A valid strided view first, to show the pickle builder is right.
        let ok = try unpickle(tensorPickle(offset: 1, size: [2, 2], stride: [4, 2], numel: 12), storage: storage)
        XCTAssertEqual(ok.tensor?.floats(), [1, 3, 5, 7])
        assertThrows(try unpickle(tensorPickle(offset: 5, size: [2, 4], stride: [4, 1], numel: 12), storage: storage),
                     contains: ["storage '0'", "reaches element 12 of a 12-element storage"])
        assertThrows(try unpickle(tensorPickle(offset: -1, size: [2], stride: [1], numel: 12), storage: storage),
                     contains: ["negative storage offset"])
        assertThrows(try unpickle(tensorPickle(offset: 0, size: [1 << 20, 1 << 20], stride: [0, 0], numel: 12), storage: storage),
                     contains: ["beyond the copy budget"])
        assertThrows(try unpickle(tensorPickle(offset: 0, size: [2, -3], stride: [1, 1], numel: 12), storage: storage),
                     contains: ["negative dimension"])
    }

    private func temp(_ name: String, _ data: Data) throws -> String {
        let path = NSTemporaryDirectory() + "hostile-\(UUID().uuidString)-" + name
        try data.write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testDamagedContainersNameFileAndEntry() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("views.pt")))
        let truncated = try temp("truncated.pt", good.prefix(good.count / 2))
        assertThrows(try loadFile(truncated), contains: [truncated, "no end-of-central-directory record"])

        // Flip one byte inside the first storage record: the CRC check names the entry.
        let zip = try ZipArchive(path: "x", data: good)
        let entry = try XCTUnwrap(zip.entries.first { $0.name.hasSuffix("/data/0") })
        var damaged = good
        let start = entry.localHeaderOffset + 30 + Int(good[entry.localHeaderOffset + 26]) + Int(good[entry.localHeaderOffset + 28]) + Int(good[entry.localHeaderOffset + 29]) * 256
        damaged[start] ^= 0x40
        let path = try temp("crc.pt", damaged)
        assertThrows(try loadFile(path), contains: [path, "views/data/0", "CRC mismatch"])

        let st = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("small.safetensors")))
        var text = String(decoding: st, as: UTF8.self)
        text = text.replacingOccurrences(of: "\"data_offsets\":[3,27]", with: "\"data_offsets\":[2,26]")
        let overlap = try temp("overlap.safetensors", Data(text.utf8))
        assertThrows(try loadFile(overlap), contains: [overlap, "safetensors tensor 'w'", "overlap or hole"])

        var npy = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("c_f32.npy")))
        let at = try XCTUnwrap(npy.range(of: Data("'<f4'".utf8)))
        npy.replaceSubrange(at, with: Array("'|O' ".utf8))
        let obj = try temp("object.npy", npy)
        assertThrows(try loadFile(obj), contains: [obj, "unsupported dtype '|O'"])

        let pickle = try temp("bare.pkl", Data([0x80, 0x04, 0x4E, 0x2E]))
        assertThrows(try loadFile(pickle), contains: [pickle, "bare Python pickle"])
        assertThrows(try loadFile("/nonexistent/dir/model.pt"), contains: ["/nonexistent/dir/model.pt", "no such file"])
    }

    // MARK: issue 22: recursion, zip bombs, shape overflow

    private static let fourFloats = StorageRef(key: "0", dtype: .float32, bytes: [Float(1), 2, 3, 4].withUnsafeBufferPointer { Data(buffer: $0) })

    func testRebuildFromTypeChainsAreBounded() throws {
        // The real form (one wrapper) and a generous nest load; the limit is on call depth, not on size.
        for depth in [0, 1, 20, Unpickler.maxCallDepth - 1] {
            let v = try unpickle(PickleBytes.rebuildChain(depth: depth, numel: 4), storage: Self.fourFloats)
            XCTAssertEqual(v.tensor?.floats(), [1, 2, 3, 4], "depth \(depth)")
        }
        // Issue 22: a 15 KB file nested ~2000 calls deep and crashed with SIGSEGV. 100 000 levels overflow
        // any stack if the calls recurse unchecked.
        for depth in [Unpickler.maxCallDepth, 2000, 100_000] {
            let p = PickleBytes.rebuildChain(depth: depth, numel: 4)
            if depth == 2000 { print("rebuild chain of 2000: \(p.bytes.count) bytes") }
            assertThrows(try unpickle(p, storage: Self.fourFloats),
                         contains: ["evil.pt: archive/data.pkl", "nesting deeper than \(Unpickler.maxCallDepth) levels"])
        }
        // The same through the file loader: the message names the file.
        var zip = ZipBuilder()
        zip.add("evil/data.pkl", payload: PickleBytes.rebuildChain(depth: 5000, numel: 4).data)
        zip.add("evil/data/0", payload: Self.fourFloats.bytes)
        let path = try temp("chain.pt", zip.archive())
        assertThrows(try loadFile(path), contains: [path, "evil/data.pkl", "nesting deeper than"])
    }

    func testDroppedDeepChainsAreTornDownWithoutRecursion() throws {
        // 200 000 nested tuples that the pickle itself throws away: freeing them recursively would
        // overflow the stack. POP, POP_MARK, a failing REDUCE and an overwritten dict value all drop one.
        let depth = 200_000
        func chain(_ p: inout PickleBytes) { p.op(0x4E); for _ in 0..<depth { p.op(0x85) } }
        var pop = PickleBytes()
        chain(&pop); pop.op(0x30, 0x4E); pop.stop()
        guard case .none = try unpickle(pop) else { return XCTFail("POP: expected None") }
        var popMark = PickleBytes()
        popMark.op(0x28); chain(&popMark); popMark.op(0x31, 0x4A, 7, 0, 0, 0); popMark.stop()
        XCTAssertEqual(try unpickle(popMark).int, 7)
        var reduce = PickleBytes()
        reduce.op(0x4E); chain(&reduce); reduce.op(0x52); reduce.stop()
        assertThrows(try unpickle(reduce), contains: ["evil.pt: archive/data.pkl", "REDUCE on a None, which is not callable"])
        var overwrite = PickleBytes()
        overwrite.op(0x7D); overwrite.string("k"); chain(&overwrite); overwrite.op(0x73); overwrite.string("k"); overwrite.op(0x4E, 0x73); overwrite.stop()
        guard case .dict(let items) = try unpickle(overwrite), items.count == 1, case .none = items[0].value else {
            return XCTFail("SETITEM overwrite: expected {'k': None}")
        }
    }

    /// An .npz of `count` deflated float32 zero arrays of `floats` elements.
    private func zeroNpz(count: Int, floats: Int) -> Data {
        var zip = ZipBuilder()
        let npy = ZipBuilder.npy(ArrayData(shape: [floats], floats: [Float](repeating: 0, count: floats)))
        for i in 0..<count { zip.add("z\(i).npy", payload: npy, deflate: true) }
        return zip.archive()
    }

    func testSharedDataZipBombIsRefused() throws {
        // One deflated 1 MB array, listed 200 times under different names: 200 MB from a ~1 KB file.
        var zip = ZipBuilder()
        let record = zip.addLocal("a.npy", payload: ZipBuilder.npy(ArrayData(shape: [1 << 18], floats: [Float](repeating: 0, count: 1 << 18))),
                                  deflate: true)
        for i in 0..<200 { var r = record; r.name = "copy\(i).npy"; zip.list(r) }
        let bomb = try temp("shared.npz", zip.archive())
        assertThrows(try loadFile(bomb), contains: [bomb, "'copy", "share data", "zip bomb"])

        // Two names for one record: both are named.
        var pair = ZipBuilder()
        let x = pair.addLocal("x.npy", payload: ZipBuilder.npy(ArrayData(shape: [2], floats: [1, 2])))
        pair.list(x)
        var y = x; y.name = "y.npy"; pair.list(y)
        let twice = try temp("twice.npz", pair.archive())
        assertThrows(try loadFile(twice), contains: [twice, "'x.npy'", "'y.npy'", "share data"])
    }

    func testOverlappingEntriesAreRefused() throws {
        // "inner.npy" hides inside the data of "outer.npy" (the overlapping-file zip bomb construction).
        var inner = ZipBuilder()
        let innerRecord = inner.addLocal("inner.npy", payload: ZipBuilder.npy(ArrayData(shape: [3], floats: [1, 2, 3])))
        var zip = ZipBuilder()
        let outer = zip.addLocal("outer.npy", payload: inner.body)
        zip.list(outer)
        var hidden = innerRecord
        hidden.localOffset = outer.localOffset + 30 + "outer.npy".utf8.count
        zip.list(hidden)
        let path = try temp("overlap.npz", zip.archive())
        assertThrows(try loadFile(path), contains: [path, "'outer.npy' (bytes 0..<", "'inner.npy' (bytes 39..<", "share data"])
        // Adjacent records are fine: the same two arrays side by side load.
        var ok = ZipBuilder()
        ok.add("a.npy", payload: ZipBuilder.npy(ArrayData(shape: [3], floats: [1, 2, 3])))
        ok.add("b.npy", payload: ZipBuilder.npy(ArrayData(shape: [1], floats: [4])), deflate: true)
        let file = try loadFile(data: ok.archive(), path: "ok.npz")
        XCTAssertEqual(file.tensors.map(\.name), ["a", "b"])
        XCTAssertEqual(file.tensors.flatMap { $0.array.floats() }, [1, 2, 3, 4])
    }

    func testTotalInflatedSizeIsBounded() throws {
        // 80 arrays of 512 KiB zeros, each within deflate's ratio, none overlapping: 42 MB from ~50 KB.
        let many = zeroNpz(count: 80, floats: 1 << 17)
        let total = 80 * ZipBuilder.npy(ArrayData(shape: [1 << 17], floats: [Float](repeating: 0, count: 1 << 17))).count
        let path = try temp("total.npz", many)
        print("total.npz: \(many.count) bytes inflating to \(total)")
        assertThrows(try loadFile(path), contains: [path, "inflate to \(byteCount(total)) in total", "256 × the", "raise the inflation limit"])
        // The limit is configurable: a caller who trusts the file raises the factor; a cap still applies.
        let loaded = try loadFile(path, limits: LoadLimits(maxInflationFactor: 2000))
        XCTAssertEqual(loaded.tensors.count, 80)
        XCTAssertTrue(loaded.tensors.allSatisfy { $0.array.count == 1 << 17 && $0.array.floats().allSatisfy { $0 == 0 } })
        assertThrows(try loadFile(path, limits: LoadLimits(maxInflatedBytes: 10 << 20, maxInflationFactor: 2000)),
                     contains: [path, "the 10.5 MB cap"])
        // A real deflated fixture stays far inside the defaults, and fails under a tiny cap.
        XCTAssertEqual(try loadFile(Fixtures.path("deflated.npz")).format, .npz)
        assertThrows(try loadFile(Fixtures.path("deflated.npz"), limits: LoadLimits(maxInflatedBytes: 100)),
                     contains: ["deflated.npz", "more than the limit of 100 bytes (the 100 bytes cap)"])
        // The budget itself: min(cap, factor × size), without overflow.
        XCTAssertEqual(LoadLimits.standard.inflatedBudget(fileSize: 1000), 256_000)
        XCTAssertEqual(LoadLimits.standard.inflatedBudget(fileSize: 1 << 40), 16 << 30)
        XCTAssertEqual(LoadLimits(maxInflatedBytes: .max, maxInflationFactor: .max).inflatedBudget(fileSize: 1 << 40), .max)
    }

    func testShapeOverflowNamesTheFile() throws {
        func npy(shape: String) -> Data {
            var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
            header += String(repeating: " ", count: 63 - (10 + header.utf8.count) % 64) + "\n"
            var d = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
            d.append(Data(header.utf8))
            return d
        }
        let huge = "(4294967296, 4294967296, 4294967296)"
        let path = try temp("overflow.npy", npy(shape: huge))
        assertThrows(try readNpy(path), contains: [path, "shape [4294967296, 4294967296, 4294967296] overflows"])
        assertThrows(try loadFile(path), contains: [path, "overflows"])

        var zip = ZipBuilder()
        zip.add("latents.npy", payload: npy(shape: huge))
        let npz = try temp("overflow.npz", zip.archive())
        assertThrows(try loadFile(npz), contains: ["\(npz): latents.npy: shape", "overflows"])

        let json = #"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0]}}"#
        var st = Data()
        withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { st.append(contentsOf: $0) }
        st.append(Data(json.utf8))
        let sp = try temp("overflow.safetensors", st)
        assertThrows(try loadFile(sp), contains: ["\(sp): safetensors tensor 'w': shape", "overflows"])

        // A pickled numpy array with an overflowing shape (numpy.core.multiarray._reconstruct + BUILD).
        var p = PickleBytes()
        p.global("numpy.core.multiarray", "_reconstruct"); p.global("numpy", "ndarray"); p.op(0x4B, 0, 0x85); p.bytes += [0x43, 1, 0x62]; p.op(0x87, 0x52)
        p.op(0x28); p.int(1); p.op(0x28); for _ in 0..<3 { p.op(0x8A, 5, 0, 0, 0, 0, 1) }; p.op(0x74)
        p.global("numpy", "dtype"); p.string("f4"); p.op(0x89, 0x88, 0x87, 0x52)
        p.op(0x28); p.int(3); p.string("<"); p.op(0x4E, 0x4E, 0x4E); p.int(-1); p.int(-1); p.int(0); p.op(0x74, 0x62)
        p.op(0x89); p.bytes += [0x43, 0]; p.op(0x74, 0x62); p.stop()
        assertThrows(try unpickle(p), contains: ["evil.pt: archive/data.pkl", "numpy array: shape", "overflows"])
    }
}
