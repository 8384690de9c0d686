import Foundation
import XCTest
@testable import Formats

/// zlib counts lengths in 32 bits; Zlib hands buffers over in pieces so entries beyond 4 GiB are read
/// whole (issue 22: a `uInt(count)` truncation made them fail with a false "CRC mismatch"). The piecing
/// is tested with small pieces instead of 4 GiB of data.
final class ZlibTests: XCTestCase {
    /// 300 KB that deflate neither trivially nor not at all: runs, text and noise.
    private static let payload: Data = {
        var rng: UInt64 = 0x1234_5678
        var d = Data()
        for i in 0..<300_000 {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            d.append(i % 3000 < 1000 ? 0 : i % 3000 < 2000 ? UInt8(ascii: "a") + UInt8(i % 26) : UInt8(truncatingIfNeeded: rng >> 56))
        }
        return d
    }()

    func testPiecesCoverTheWholeInput() throws {
        XCTAssertEqual(Zlib.maxPiece, Int(UInt32.max), "one piece must fit zlib's 32-bit avail_in")
        let compressed = ZipBuilder.rawDeflate(Self.payload)
        XCTAssertLessThan(compressed.count, Self.payload.count)
        for piece in [1, 7, 4096, compressed.count - 1, compressed.count, Zlib.maxPiece] {
            let out = try Zlib.inflate(compressed, raw: true, limit: Self.payload.count, piece: piece)
            XCTAssertEqual(out, Self.payload, "piece \(piece)")
        }
        // A stream cut short is still an error whatever the piece size, never a silent partial result.
        let cut = compressed.prefix(compressed.count / 2)
        for piece in [1, 13, Zlib.maxPiece] {
            XCTAssertThrowsError(try Zlib.inflate(cut, raw: true, limit: Self.payload.count, piece: piece)) { error in
                XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
            }
        }
        // The output limit still holds.
        XCTAssertThrowsError(try Zlib.inflate(compressed, raw: true, limit: 1000, piece: 7)) { error in
            XCTAssertTrue("\(error)".contains("exceeds 1000 bytes"), "\(error)")
        }
    }

    func testCRCOverPiecesEqualsCRCOfTheWhole() {
        // The check value of CRC-32 (ISO-HDLC, as zip uses it).
        XCTAssertEqual(Zlib.crc32(Data("123456789".utf8)), 0xCBF4_3926)
        let whole = Zlib.crc32(Self.payload)
        for piece in [1, 5, 65_536, Zlib.maxPiece] {
            XCTAssertEqual(Zlib.crc32(Self.payload, initial: 0, piece: piece), whole, "piece \(piece)")
        }
        XCTAssertEqual(Zlib.crc32(Data(), initial: 0x1234), 0x1234, "nothing to add keeps the running value")
        let half = Self.payload.count / 2
        XCTAssertEqual(Zlib.crc32(Self.payload.suffix(from: half), initial: Zlib.crc32(Self.payload.prefix(half))), whole)
    }
}
