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
}
