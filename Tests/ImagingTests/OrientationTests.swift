import XCTest
@testable import Imaging

final class OrientationTests: XCTestCase {
    /// "Exif\0\0" + a little-endian TIFF with one IFD0 entry: Orientation = value. Hand-built so the
    /// test does not depend on our EXIF writer.
    func exifBlock(orientation: UInt16) -> [UInt8] {
        var b = JPEGSegments.exifHeader
        b += [0x49, 0x49, 0x2A, 0x00, 8, 0, 0, 0]  // II*, IFD0 at offset 8
        b += [1, 0]  // one entry
        b += [0x12, 0x01, 3, 0, 1, 0, 0, 0, UInt8(orientation), 0, 0, 0]  // tag 0x0112, SHORT, count 1
        b += [0, 0, 0, 0]  // no next IFD
        return b
    }

    // Independent definitions of the elementary transforms.
    func flipH(_ i: RGBImage) -> RGBImage { map(i, i.width, i.height) { x, y in (i.width - 1 - x, y) } }
    func rotCW(_ i: RGBImage) -> RGBImage { map(i, i.height, i.width) { x, y in (y, i.height - 1 - x) } }
    func map(_ i: RGBImage, _ w: Int, _ h: Int, _ src: (Int, Int) -> (Int, Int)) -> RGBImage {
        var p = [UInt8]()
        for y in 0..<h { for x in 0..<w { let (sx, sy) = src(x, y); let v = i[sx, sy]; p += [v.r, v.g, v.b] } }
        return try! RGBImage(width: w, height: h, pixels: p)
    }

    func expected(_ i: RGBImage, _ o: Int) -> RGBImage {
        switch o {
        case 2: return flipH(i)
        case 3: return rotCW(rotCW(i))
        case 4: return flipH(rotCW(rotCW(i)))  // vertical flip
        case 5: return flipH(rotCW(i))  // transpose
        case 6: return rotCW(i)
        case 7: return flipH(rotCW(rotCW(rotCW(i))))  // transverse
        case 8: return rotCW(rotCW(rotCW(i)))
        default: return i
        }
    }

    func testAllEightOrientationsInPNG() throws {
        var r = TestRandom(seed: 9)
        let img = try RGBImage(width: 3, height: 2, pixels: r.bytes(18))
        let png = try encodeImage(img, format: .png)
        for o in 1...8 {
            let tagged = try PNGChunks.inserting([PNGChunks.make("eXIf", Array(exifBlock(orientation: UInt16(o)).dropFirst(6)))],
                                                 into: png, replacingKeywords: [])
            XCTAssertEqual(EXIFInfo.read(from: tagged, format: .png)?.orientation, o)
            let out = try decodeImage(tagged)
            XCTAssertEqual(out, expected(img, o), "orientation \(o)")
            XCTAssertEqual(try decodeImage(tagged, options: DecodeOptions(applyEXIFOrientation: false)), img)
        }
        // Orientation 6 spelled out: a 2x1 image [A B] becomes 1x2 [A; B] after rotating clockwise.
        let ab = try RGBImage(width: 2, height: 1, pixels: [1, 1, 1, 2, 2, 2])
        XCTAssertEqual(applyOrientation(ab, 6), try RGBImage(width: 1, height: 2, pixels: [1, 1, 1, 2, 2, 2]))
        XCTAssertEqual(applyOrientation(ab, 8), try RGBImage(width: 1, height: 2, pixels: [2, 2, 2, 1, 1, 1]))
    }

    func testOrientationInJPEG() throws {
        // Four flat 16x16 quadrants survive JPEG; rotate clockwise and check each quadrant's colour.
        let colours: [[UInt8]] = [[250, 0, 0], [0, 250, 0], [0, 0, 250], [250, 250, 250]]
        var p = [UInt8]()
        for y in 0..<32 { for x in 0..<48 { p += colours[(y / 16) * 2 + min(1, x / 24)] } }
        let img = try RGBImage(width: 48, height: 32, pixels: p)
        let jpeg = try JPEGSegments.inserting([JPEGSegments.app1(exifBlock(orientation: 6))],
                                              into: encodeImage(img, format: .jpeg(quality: 95)))
        let out = try decodeImage(jpeg)
        XCTAssertEqual(out.width, 32)
        XCTAssertEqual(out.height, 48)
        let want = expected(img, 6)
        // Chroma subsampling blurs the quadrant edges; compare quadrant centres (a wrong rotation
        // puts a different colour there, off by ~250).
        for (x, y) in [(8, 12), (24, 12), (8, 36), (24, 36)] {
            let a = out[x, y], b = want[x, y]
            XCTAssertLessThan(abs(Int(a.r) - Int(b.r)) + abs(Int(a.g) - Int(b.g)) + abs(Int(a.b) - Int(b.b)), 30, "\((x, y))")
        }
        XCTAssertNotEqual(want, expected(img, 8))
    }
}
