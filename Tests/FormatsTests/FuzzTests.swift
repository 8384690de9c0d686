import Foundation
import XCTest
@testable import Formats

/// Deterministic fuzzing of every reader with mutated copies of real files: bit flips, byte
/// overwrites, truncations and splices. Each case must either throw a FormatError that names the
/// file, or load; a loaded file must be fully readable. A crash or hang fails the whole suite.
final class FuzzTests: XCTestCase {
    struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    }

    static let seeds = ["views.pt", "numpy_values.pt", "views_legacy.pt", "tiny_jit.pt", "small.safetensors", "c_f32.npy", "fortran_f64.npy",
                        "stored.npz", "deflated.npz", "generator.pt", "generator_legacy.pt"]

    /// NADA_FUZZ_CASES overrides the per-seed count for long local runs.
    static let casesPerSeed: Int = {
        if let s = ProcessInfo.processInfo.environment["NADA_FUZZ_CASES"], let n = Int(s) { return n }
        #if DEBUG
        return 60
        #else
        return 400
        #endif
    }()

    /// Where mutations reach the parsers instead of only the CRC check: a zip entry's payload range
    /// and where its CRC sits in the central directory (patched after the mutation).
    struct ZipTarget { let range: Range<Int>; let crcOffset: Int }

    static func zipTargets(_ data: Data) -> [ZipTarget] {
        guard let zip = try? ZipArchive(path: "seed", data: data) else { return [] }
        var out: [ZipTarget] = []
        for e in zip.entries where e.method == 0 && (e.name.hasSuffix(".pkl") || e.name.hasSuffix(".npy")) {
            let lh = e.localHeaderOffset
            let start = lh + 30 + Int(data[lh + 26]) + Int(data[lh + 27]) << 8 + Int(data[lh + 28]) + Int(data[lh + 29]) << 8
            // Find the central-directory record of this entry by name.
            let name = Data(e.name.utf8)
            var p = 0
            while let r = data.range(of: Data([0x50, 0x4B, 0x01, 0x02]), in: p..<data.count) {
                let at = r.lowerBound
                if at + 46 + name.count <= data.count, data[(at + 46)..<(at + 46 + name.count)] == name {
                    out.append(ZipTarget(range: start..<(start + e.compressedSize), crcOffset: at + 16))
                    break
                }
                p = r.upperBound
            }
        }
        return out
    }

    static func mutate(_ seed: Data, other: Data, rng: inout SplitMix64, targets: [ZipTarget]) -> Data {
        var d = seed
        let kind = rng.below(6)
        switch kind {
        case 0: // truncate
            return d.prefix(rng.below(d.count))
        case 1: // splice another file's tail onto a prefix
            return d.prefix(rng.below(d.count)) + other.suffix(rng.below(other.count))
        case 2, 3: // mutate inside a zip entry (pickle / npy) and fix its CRC so the parser sees it
            guard let t = targets.isEmpty ? nil : targets[rng.below(targets.count)], !t.range.isEmpty else { fallthrough }
            for _ in 0..<(1 + rng.below(4)) {
                let at = t.range.lowerBound + rng.below(t.range.count)
                if kind == 2 { d[at] ^= UInt8(1 << rng.below(8)) } else { d[at] = [0x00, 0xFF, 0x7F, 0x80, 0x4A, 0x28, 0x52, 0x62][rng.below(8)] }
            }
            let crc = Zlib.crc32(d[t.range])
            withUnsafeBytes(of: crc.littleEndian) { d.replaceSubrange(t.crcOffset..<(t.crcOffset + 4), with: $0) }
            return d
        case 4: // flips near the start (headers, legacy pickles, JSON/npy headers)
            for _ in 0..<(1 + rng.below(3)) {
                let at = rng.below(min(d.count, 4096))
                d[at] ^= UInt8(1 << rng.below(8))
            }
            return d
        default: // flips anywhere, including the zip central directory at the end
            for _ in 0..<(1 + rng.below(8)) {
                let at = rng.next() & 1 == 0 ? rng.below(d.count) : max(0, d.count - 1 - rng.below(min(d.count, 2048)))
                d[at] ^= UInt8(1 << rng.below(8))
            }
            return d
        }
    }

    func testMutatedFilesFailCleanlyOrLoad() throws {
        let seeds = try Self.seeds.map { try Data(contentsOf: URL(fileURLWithPath: Fixtures.path($0))) }
        var rng = SplitMix64(state: 0x5EED_F00D)
        var loaded = 0, failed = 0, slowest = 0.0
        let started = Date()
        for (i, seed) in seeds.enumerated() {
            let targets = Self.zipTargets(seed)
            for c in 0..<Self.casesPerSeed {
                let other = seeds[rng.below(seeds.count)]
                let input = Self.mutate(seed, other: other, rng: &rng, targets: targets)
                let name = "fuzz-\(Self.seeds[i])-\(c)"
                let t0 = Date()
                do {
                    let file = try loadFile(data: input, path: name)
                    // Everything reachable must be readable.
                    var sum: Float = 0
                    for t in file.tensors { t.array.floats().forEach { sum += $0.isFinite ? 0 : 1 } }
                    _ = describe(file)
                    loaded += 1
                } catch let e as FormatError {
                    XCTAssertTrue(e.description.hasPrefix(name), "error does not name the file: \(e.description)")
                    failed += 1
                } catch {
                    XCTFail("\(name): unexpected error type \(type(of: error)): \(error)")
                }
                let dt = Date().timeIntervalSince(t0)
                slowest = max(slowest, dt)
            }
        }
        print("fuzz: \(loaded + failed) cases, \(loaded) loaded, \(failed) clean errors, slowest \(String(format: "%.3f", slowest)) s, total \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
        XCTAssertGreaterThan(failed, 0)
        XCTAssertGreaterThan(loaded, 0)
    }

    /// The structures of issue 22 with random sizes: nested `_rebuild_from_type_v2` calls, zips whose
    /// directory lists shared or overlapping data, and deflated zips around the inflated-size budget.
    /// Each case has a known verdict: it must load with the right values, or fail with a FormatError
    /// that names the file and says why. A crash fails the suite.
    func testHostileStructuresLoadOrFailAsExpected() throws {
        var rng = SplitMix64(state: 0x1551_E022)
        let zipSeeds = try ["views.pt", "tiny_jit.pt", "generator.pt", "stored.npz", "deflated.npz"].map {
            ($0, try Data(contentsOf: URL(fileURLWithPath: Fixtures.path($0))))
        }
        let four = [Float(1), 2, 3, 4].withUnsafeBufferPointer { Data(buffer: $0) }
        var verdicts: [String: Int] = [:]
        func expectError(_ name: String, _ input: Data, limits: LoadLimits = .standard, _ parts: [String]) {
            do {
                _ = try loadFile(data: input, path: name, limits: limits)
                XCTFail("\(name): loaded, expected an error containing \(parts)")
            } catch let e as FormatError {
                XCTAssertTrue(e.description.hasPrefix(name + ": "), "error does not name the file: \(e.description)")
                for p in parts { XCTAssertTrue(e.description.contains(p), "\(name): '\(e.description)' lacks '\(p)'") }
            } catch {
                XCTFail("\(name): unexpected error type \(type(of: error)): \(error)")
            }
        }
        for c in 0..<Self.casesPerSeed {
            let name = "hostile-\(c)"
            switch c % 3 {
            case 0: // nested calls: up to maxCallDepth load, deeper ones are refused
                let depth = rng.below(2) == 0 ? rng.below(40) : rng.below(5000)
                var zip = ZipBuilder()
                zip.add("chain/data.pkl", payload: PickleBytes.rebuildChain(depth: depth, numel: 4).data, deflate: rng.below(2) == 0)
                zip.add("chain/data/0", payload: four)
                if depth < Unpickler.maxCallDepth {
                    XCTAssertEqual(try loadFile(data: zip.archive(), path: name).tensors.first?.array.floats(), [1, 2, 3, 4], name)
                    verdicts["nested calls loaded", default: 0] += 1
                } else {
                    expectError(name, zip.archive(), ["chain/data.pkl", "nesting deeper than \(Unpickler.maxCallDepth) levels"])
                    verdicts["nested calls refused", default: 0] += 1
                }
            case 1: // a real archive rebuilt, with extra directory entries onto existing data
                let (seedName, seed) = zipSeeds[rng.below(zipSeeds.count)]
                let original = try ZipArchive(path: seedName, data: seed)
                var zip = ZipBuilder()
                var records: [ZipBuilder.Record] = []
                for e in original.entries {
                    records.append(zip.addLocal(e.name, payload: try original.read(e), deflate: rng.below(2) == 0))
                }
                let extras = rng.below(4)
                let originals = records
                var onlyCopies = true
                for k in 0..<extras {
                    var r = originals[rng.below(originals.count)]
                    r.name = seedName.hasSuffix(".npz") ? "dup\(k)_" + r.name : r.name + ".dup\(k)"
                    if rng.below(2) == 1 {
                        onlyCopies = false
                        // Somewhere inside that record's header or data.
                        r.localOffset += 1 + rng.below(30 + r.name.utf8.count + r.compressedSize - 1)
                    }
                    records.insert(r, at: rng.below(records.count + 1))
                }
                for r in records { zip.list(r) }
                if extras == 0 {
                    let rebuilt = try loadFile(data: zip.archive(), path: name)
                    let expected = try loadFile(data: seed, path: seedName)
                    XCTAssertEqual(rebuilt.tensors.map(\.name), expected.tensors.map(\.name), name)
                    XCTAssertEqual(rebuilt.tensors.map(\.array.bytes), expected.tensors.map(\.array.bytes), name)
                    verdicts["rebuilt archives loaded", default: 0] += 1
                } else {
                    // An offset inside a record lands on a bad local header signature (found first, when
                    // the headers are read) or shares data; exact copies always share.
                    expectError(name, zip.archive(), onlyCopies ? ["share data"] : [])
                    verdicts["shared or overlapping data refused", default: 0] += 1
                }
            default: // deflated zero arrays around the budget, under random limits
                var zip = ZipBuilder()
                var inflated = 0
                for k in 0..<(1 + rng.below(6)) {
                    let n = 1 + rng.below(1 << (8 + rng.below(11)))
                    let npy = ZipBuilder.npy(ArrayData(shape: [n], floats: [Float](repeating: 0, count: n)))
                    zip.add("z\(k).npy", payload: npy, deflate: true)
                    inflated += npy.count
                }
                let archive = zip.archive()
                let limits = rng.below(2) == 0 ? LoadLimits.standard
                    : LoadLimits(maxInflatedBytes: 1 << (10 + rng.below(12)), maxInflationFactor: 1 + rng.below(400))
                if inflated <= limits.inflatedBudget(fileSize: archive.count) {
                    let file = try loadFile(data: archive, path: name, limits: limits)
                    XCTAssertTrue(file.tensors.allSatisfy { $0.array.floats().allSatisfy { $0 == 0 } }, name)
                    verdicts["within the inflation budget loaded", default: 0] += 1
                } else {
                    expectError(name, archive, limits: limits, ["would inflate to \(byteCount(inflated)) in total"])
                    verdicts["over the inflation budget refused", default: 0] += 1
                }
            }
        }
        print("hostile structures: \(verdicts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        // Every verdict occurs, so each limit is exercised from both sides.
        XCTAssertEqual(verdicts.count, 6, "\(verdicts)")
    }
}
