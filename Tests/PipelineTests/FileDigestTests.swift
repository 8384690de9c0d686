import XCTest
@testable import Pipeline

/// FileDigest wraps Imaging's SHA256 (tested there in depth); these check the wrapping: vectors, multi-region
/// Data, files, and a clear error naming a missing file.
final class FileDigestTests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(FileDigest.sha256Hex(of: Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(FileDigest.sha256Hex(of: Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(FileDigest.sha256Hex(of: Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testFilesAndDataAgree() throws {
        let data = testBytes(1 << 20 | 17, seed: 3)   // spans two 1 MB reads
        let dir = try makeTemporaryDirectory("sha")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try data.write(to: URL(fileURLWithPath: dir + "/f"))
        XCTAssertEqual(try FileDigest.sha256Hex(ofFileAt: dir + "/f"), FileDigest.sha256Hex(of: data))
        // DispatchData with several regions hashes like the contiguous bytes.
        let half = data.count / 2
        var regions = DispatchData.empty
        data.prefix(half).withUnsafeBytes { regions.append($0) }
        data.suffix(from: half).withUnsafeBytes { regions.append($0) }
        XCTAssertEqual(FileDigest.sha256Hex(of: regions), FileDigest.sha256Hex(of: data))
        XCTAssertThrowsError(try FileDigest.sha256Hex(ofFileAt: dir + "/missing")) { XCTAssertTrue("\($0)".contains(dir + "/missing"), "\($0)") }
    }
}
