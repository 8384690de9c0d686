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
                XCTAssertLessThan(dt, 5, "\(name) took \(dt) s")
            }
        }
        print("fuzz: \(loaded + failed) cases, \(loaded) loaded, \(failed) clean errors, slowest \(String(format: "%.3f", slowest)) s, total \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
        XCTAssertGreaterThan(failed, 0)
        XCTAssertGreaterThan(loaded, 0)
    }
}
