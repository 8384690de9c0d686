import XCTest
@testable import Imaging

/// Tiny deterministic generator for test data (xorshift64*).
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 2685821657736338717
    }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next() >> 32) } }
}

final class DecodeTests: XCTestCase {
    func randomImage(_ w: Int, _ h: Int, seed: UInt64) throws -> RGBImage {
        var r = TestRandom(seed: seed)
        return try RGBImage(width: w, height: h, pixels: r.bytes(w * h * 3))
    }

    /// Smooth content survives JPEG nearly unchanged.
    func gradient(_ w: Int, _ h: Int) throws -> RGBImage {
        var p = [UInt8]()
        for y in 0..<h { for x in 0..<w { p += [UInt8(x * 255 / (w - 1)), UInt8(y * 255 / (h - 1)), 128] } }
        return try RGBImage(width: w, height: h, pixels: p)
    }

    func testFormatDetectionByMagicBytes() throws {
        XCTAssertEqual(ImageFormat.detect([0xFF, 0xD8, 0xFF, 0xE0]), .jpeg)
        XCTAssertEqual(ImageFormat.detect(PNGChunks.signature), .png)
        XCTAssertNil(ImageFormat.detect(Array("GIF89a".utf8)))
        // The extension does not matter: a PNG named .jpg decodes as PNG.
        let dir = try TestSupport.tempDir()
        let img = try randomImage(4, 3, seed: 1)
        try FileIO.writeAtomically(try encodeImage(img, format: .png), to: dir + "/misnamed.jpg")
        XCTAssertEqual(try loadImage(path: dir + "/misnamed.jpg"), img)
    }

    func testPNGRoundTripIsExact() throws {
        let img = try randomImage(7, 5, seed: 2)
        let bytes = try encodeImage(img, format: .png)
        XCTAssertEqual(try decodeImage(bytes), img)
        XCTAssertEqual(try readImageHeader(bytes).width, 7)
        XCTAssertEqual(try readImageHeader(bytes).height, 5)
    }

    func testJPEGRoundTripIsClose() throws {
        let img = try gradient(64, 48)
        let bytes = try encodeImage(img, format: .jpeg(quality: 95))
        let back = try decodeImage(bytes)
        XCTAssertEqual(back.width, 64)
        XCTAssertEqual(back.height, 48)
        let maxDiff = zip(back.pixels, img.pixels).map { abs(Int($0) - Int($1)) }.max()!
        XCTAssertLessThan(maxDiff, 12)
        // Lower quality gives a smaller file.
        XCTAssertLessThan(try encodeImage(img, format: .jpeg(quality: 20)).count, bytes.count)
        XCTAssertThrowsError(try encodeImage(img, format: .jpeg(quality: 0)))
    }

    func testGreyAndAlphaPNGBecomeRGB() throws {
        let grey: [UInt8] = [0, 50, 100, 200, 255, 7]
        let g = try decodeImage(try encodeRaw(grey, 3, 2, 1, jpegQuality: nil))
        XCTAssertEqual(g.pixels, grey.flatMap { [$0, $0, $0] })
        let ga: [UInt8] = [10, 0, 20, 128, 30, 255]
        let gaImg = try decodeImage(try encodeRaw(ga, 3, 1, 2, jpegQuality: nil))
        XCTAssertEqual(gaImg.pixels, [10, 10, 10, 20, 20, 20, 30, 30, 30])  // alpha dropped, no compositing
        let rgba: [UInt8] = [1, 2, 3, 0, 4, 5, 6, 255]
        XCTAssertEqual(try decodeImage(try encodeRaw(rgba, 2, 1, 4, jpegQuality: nil)).pixels, [1, 2, 3, 4, 5, 6])
    }

    func testPaletteSixteenBitTwoBitAndInterlacedPNGFixtures() throws {
        let f = TestSupport.fixtures
        // Palette with tRNS: colours looked up, transparency ignored, out-of-range index -> black.
        XCTAssertEqual(try loadImage(path: f + "/palette_3x2.png").pixels,
                       [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 0, 0, 255, 0, 0, 0])
        XCTAssertEqual(try loadImage(path: f + "/palette1bit_5x1.png").pixels,
                       [200, 150, 100, 1, 2, 3, 200, 150, 100, 200, 150, 100, 1, 2, 3])
        XCTAssertEqual(try loadImage(path: f + "/rgb16_2x1.png").pixels, [0x12, 0xAB, 0xFF, 0x00, 0x7F, 0x80])
        XCTAssertEqual(try loadImage(path: f + "/gray_alpha16_1x2.png").pixels, [0x40, 0x40, 0x40, 0xC0, 0xC0, 0xC0])
        XCTAssertEqual(try loadImage(path: f + "/gray2bit_4x1.png").pixels, [0, 0, 0, 85, 85, 85, 170, 170, 170, 255, 255, 255])
        let inter = try loadImage(path: f + "/interlaced_gray_3x3.png")
        XCTAssertEqual(inter.pixels, (0..<3).flatMap { y in (0..<3).flatMap { x in [UInt8](repeating: UInt8(10 * y + x), count: 3) } })
    }

    func testGreyscaleAndCMYKJPEG() throws {
        let grey = [UInt8](repeating: 90, count: 16 * 16)
        let g = try decodeImage(try encodeRaw(grey, 16, 16, 1, jpegQuality: 95))
        XCTAssertEqual(g.pixelCount, 256)
        for i in 0..<256 {
            XCTAssertEqual(g.pixels[3 * i], g.pixels[3 * i + 1])
            XCTAssertEqual(g.pixels[3 * i], g.pixels[3 * i + 2])
            XCTAssertLessThanOrEqual(abs(Int(g.pixels[3 * i]) - 90), 1)
        }
        // Adobe CMYK (stored inverted): stored (c,m,y,k) = (255, 128, 0, 200) -> R = c*k/255 ...
        var cmyk = [UInt8]()
        for _ in 0..<(16 * 16) { cmyk += [255, 128, 0, 200] }
        let c = try decodeImage(try encodeRaw(cmyk, 16, 16, 4, jpegQuality: 100))
        let expected = [255 * 200 / 255, 128 * 200 / 255, 0]
        for i in 0..<256 { for k in 0..<3 { XCTAssertLessThanOrEqual(abs(Int(c.pixels[3 * i + k]) - expected[k]), 3) } }
    }

    func testPixelLimitIsCheckedFromTheHeader() throws {
        let img = try randomImage(100, 100, seed: 3)
        for format in [OutputFormat.png, .jpeg(quality: 80)] {
            let bytes = try encodeImage(img, format: format)
            XCTAssertThrowsError(try decodeImage(bytes, name: "big.img", options: DecodeOptions(maxPixels: 9_999))) { e in
                XCTAssertEqual(e as? ImagingError, .tooManyPixels(file: "big.img", width: 100, height: 100, limit: 9_999))
                XCTAssertTrue("\(e)".contains("big.img"))
            }
            XCTAssertNoThrow(try decodeImage(bytes, options: DecodeOptions(maxPixels: 10_000)))
        }
        // A bomb: a valid header claiming 100000 x 100000 with no pixel data behind it.
        var ihdr = [UInt8]()
        for v in [UInt32(100_000), 100_000] { ihdr += [UInt8(v >> 24), UInt8((v >> 16) & 255), UInt8((v >> 8) & 255), UInt8(v & 255)] }
        ihdr += [8, 2, 0, 0, 0]
        let bomb = PNGChunks.signature + PNGChunks.make("IHDR", ihdr) + PNGChunks.make("IEND", [])
        XCTAssertThrowsError(try decodeImage(bomb, name: "bomb.png")) { e in
            guard case .tooManyPixels(_, 100_000, 100_000, _)? = e as? ImagingError else { return XCTFail("\(e)") }
        }
    }

    func testErrorsNameTheFileAndTheProblem() throws {
        let dir = try TestSupport.tempDir()
        let text = dir + "/notes.jpg"
        try FileIO.writeAtomically(Array("hello, not an image".utf8), to: text)
        XCTAssertThrowsError(try loadImage(path: text)) { e in
            guard case .notAnImage(let file, _)? = e as? ImagingError else { return XCTFail("\(e)") }
            XCTAssertEqual(file, text)
        }
        try FileIO.writeAtomically([], to: dir + "/empty.png")
        XCTAssertThrowsError(try loadImage(path: dir + "/empty.png")) { e in XCTAssertTrue("\(e)".contains("empty")) }
        XCTAssertThrowsError(try loadImage(path: dir + "/missing.png")) { e in
            XCTAssertTrue("\(e)".contains("missing.png"))
            XCTAssertTrue("\(e)".contains("No such file"))
        }
        let img = try gradient(40, 40)
        for format in [OutputFormat.png, .jpeg(quality: 90)] {
            let bytes = try encodeImage(img, format: format)
            let cut = dir + "/cut." + format.imageFormat.fileExtension
            try FileIO.writeAtomically(Array(bytes.prefix(bytes.count / 2)), to: cut, overwrite: true)
            XCTAssertThrowsError(try loadImage(path: cut)) { e in
                guard case .truncated(let file, _)? = e as? ImagingError else { return XCTFail("\(format): \(e)") }
                XCTAssertEqual(file, cut)
            }
        }
    }

    /// Hundreds of truncated and bit-flipped files: each must decode or throw, never crash.
    func testFuzzedInputsNeverCrash() throws {
        var r = TestRandom(seed: 42)
        let img = try gradient(24, 16)
        let exifJPEG = try encodeImage(img, format: .jpeg(quality: 85),
                                       provenance: Provenance(toolVersion: "test", dateTimeOriginal: "2020:01:02 03:04:05"))
        let sources = [try encodeImage(img, format: .png), try encodeImage(img, format: .jpeg(quality: 85)), exifJPEG,
                       try encodeImage(img, format: .png, provenance: Provenance(toolVersion: "test"))]
        var decoded = 0, failed = 0
        for trial in 0..<400 {
            var bytes = sources[trial % sources.count]
            switch r.int(3) {
            case 0: bytes = Array(bytes.prefix(r.int(bytes.count)))
            case 1: for _ in 0..<(1 + r.int(8)) { let i = r.int(bytes.count); bytes[i] ^= UInt8(1 << r.int(8)) }
            default:
                let i = r.int(bytes.count)
                for j in i..<min(bytes.count, i + 1 + r.int(16)) { bytes[j] = UInt8(truncatingIfNeeded: r.next()) }
            }
            do {
                let out = try decodeImage(bytes, name: "fuzz\(trial)", options: DecodeOptions(maxPixels: 4_000_000))
                XCTAssertEqual(out.pixels.count, out.width * out.height * 3)
                _ = try? readProvenance(bytes: bytes)
                decoded += 1
            } catch let e as ImagingError {
                XCTAssertTrue("\(e)".contains("fuzz\(trial)"), "\(e)")
                failed += 1
            }
        }
        XCTAssertGreaterThan(failed, 50)
        XCTAssertGreaterThan(decoded, 10)
    }

    func testWritesAreAtomicAndNeverOverwriteUnlessAsked() throws {
        let dir = try TestSupport.tempDir()
        let path = dir + "/out.png"
        let a = try randomImage(5, 5, seed: 4), b = try randomImage(5, 5, seed: 5)
        try writeImage(a, to: path)
        XCTAssertThrowsError(try writeImage(b, to: path)) { e in XCTAssertEqual(e as? ImagingError, .outputExists(file: path)) }
        XCTAssertEqual(try loadImage(path: path), a)
        try writeImage(b, to: path, overwrite: true)
        XCTAssertEqual(try loadImage(path: path), b)
        try writeImage(a, to: dir + "/out.jpg")
        XCTAssertEqual(try readImageHeader(FileIO.read(dir + "/out.jpg")).format, .jpeg)
        XCTAssertThrowsError(try writeImage(a, to: dir + "/out.gif"))
        // Only the finished files remain: no temporary names left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["out.jpg", "out.png"])
    }
}
