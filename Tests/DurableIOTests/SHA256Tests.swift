import XCTest
@testable import DurableIO

final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        // FIPS 180-4 examples and the empty string.
        XCTAssertEqual(SHA256.hexDigest([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hexDigest(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hexDigest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hexDigest([UInt8](repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testStreamingInPiecesMatchesOneShot() {
        var generator = SplitMix(seed: 11)
        let data = generator.bytes(1000)
        let whole = SHA256.hash(data)
        // Every split length around the 55/56/64-byte padding boundaries.
        for cut in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 999, 1000] {
            var h = SHA256()
            h.update(data[0..<cut])
            h.update(data[cut...])
            XCTAssertEqual(h.finalize(), whole, "split at \(cut)")
        }
        for n in 54...66 {
            var h = SHA256()
            for b in data.prefix(n) { h.update([b]) }
            XCTAssertEqual(h.finalize(), SHA256.hash(data.prefix(n)), "length \(n)")
        }
    }

    /// A 1 MB random file against the system's sha256sum.
    func testFileDigestMatchesSha256sum() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/sha256sum") else {
            throw XCTSkip("sha256sum not installed (coreutils); the known-vector tests still ran")
        }
        var generator = SplitMix(seed: 12)
        let folder = NSTemporaryDirectory() + "sha256-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/random.bin"
        try AtomicFile.write(generator.bytes(1 << 20) + [1, 2, 3], to: path, replacing: false)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        p.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(try SHA256.hexDigest(ofFile: path), String(out.prefix(64)))
        XCTAssertThrowsError(try SHA256.hexDigest(ofFile: path + ".missing"))
    }
}

/// Deterministic test bytes (SplitMix64).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
}
