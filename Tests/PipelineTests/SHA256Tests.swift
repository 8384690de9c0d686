import XCTest
@testable import Pipeline

final class SHA256Tests: XCTestCase {
    // FIPS 180-4 / NIST example vectors.
    func testKnownVectors() {
        XCTAssertEqual(FileDigest.sha256Hex(of: Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(FileDigest.sha256Hex(of: Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(FileDigest.sha256Hex(of: Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(FileDigest.sha256Hex(of: Data(repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testStreamingInOddChunksMatchesOneShot() throws {
        let data = testBytes(10_007, seed: 3)
        var hasher = StreamingSHA256()
        var offset = 0
        var size = 1
        while offset < data.count {
            let end = min(data.count, offset + size)
            hasher.update(data[offset..<end])
            offset = end
            size = size * 3 % 257 + 1
        }
        XCTAssertEqual(FileDigest.hex(hasher.finalize()), FileDigest.sha256Hex(of: data))

        let dir = try makeTemporaryDirectory("sha")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try data.write(to: URL(fileURLWithPath: dir + "/f"))
        XCTAssertEqual(try FileDigest.sha256Hex(ofFileAt: dir + "/f"), FileDigest.sha256Hex(of: data))
        XCTAssertThrowsError(try FileDigest.sha256Hex(ofFileAt: dir + "/missing"))
    }
}
