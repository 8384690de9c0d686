#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Imaging

/// Issue 22 (lying and damaged files, huge inputs) and issue 18 (decoding big JPEGs scaled).
final class DecodeLimitsTests: XCTestCase {
    func pattern(_ w: Int, _ h: Int) throws -> RGBImage {
        var p = [UInt8]()
        p.reserveCapacity(w * h * 3)
        for y in 0..<h { for x in 0..<w { p += [UInt8((x * 7 + y) & 255), UInt8((y * 5) & 255), UInt8((x ^ y) & 255)] } }
        return try RGBImage(width: w, height: h, pixels: p)
    }

    /// Offset of the SOF0 segment's height field in a baseline JPEG written by our encoder.
    func sofSizeOffset(_ jpeg: [UInt8]) throws -> Int {
        for i in 2..<(jpeg.count - 9) where jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0 { return i + 5 }
        throw XCTSkip("no SOF0 marker in the encoder's output")
    }

    func patchedSize(_ jpeg: [UInt8], width: Int, height: Int) throws -> [UInt8] {
        var out = jpeg
        let at = try sofSizeOffset(jpeg)
        out[at] = UInt8(height >> 8); out[at + 1] = UInt8(height & 255)
        out[at + 2] = UInt8(width >> 8); out[at + 3] = UInt8(width & 255)
        return out
    }

    /// A 64×64 JPEG whose header claims 10000×10000 (exactly the default pixel limit): libjpeg runs out
    /// of scan data after the first rows and only warns ("premature end of data segment"), so it used to
    /// "decode" into 300 MB of grey. Now it fails with libjpeg's text, naming the file.
    func testJPEGWhoseHeaderLiesAboutItsSizeFails() throws {
        let real = try encodeImage(try pattern(64, 64), format: .jpeg(quality: 90))
        let lying = try patchedSize(real, width: 10_000, height: 10_000)
        XCTAssertEqual(try readImageHeader(lying).width, 10_000)
        XCTAssertThrowsError(try decodeImage(lying, name: "liar.jpg")) { e in
            guard case .corrupt(let file, let detail)? = e as? ImagingError else { return XCTFail("\(e)") }
            XCTAssertEqual(file, "liar.jpg")
            XCTAssertTrue(detail.contains("Corrupt JPEG data: premature end of data segment"), detail)
        }
        // The lenient mode is libjpeg's own behaviour (grey fill), shown on a smaller lie so the test stays light.
        let smallLie = try patchedSize(real, width: 640, height: 640)
        XCTAssertThrowsError(try decodeImage(smallLie, name: "liar.jpg"))
        let filled = try decodeImage(smallLie, options: DecodeOptions(allowCorruptJPEGData: true))
        XCTAssertEqual([filled.width, filled.height], [640, 640])
        XCTAssertEqual(filled[600, 600].r, 128, "libjpeg fills missing blocks with mid-grey")
    }

    /// A file cut inside the scan fails as truncated with libjpeg's message; a cut "repaired" with an EOI
    /// marker (corrupt segment) fails as corrupt.
    func testTruncatedAndCutJPEGFail() throws {
        let jpeg = try encodeImage(try pattern(96, 80), format: .jpeg(quality: 90))
        let cut = Array(jpeg.prefix(jpeg.count * 2 / 3))
        XCTAssertThrowsError(try decodeImage(cut, name: "cut.jpg")) { e in
            guard case .truncated("cut.jpg", let detail)? = e as? ImagingError else { return XCTFail("\(e)") }
            XCTAssertTrue(detail.contains("Premature end of JPEG file"), detail)
        }
        XCTAssertThrowsError(try decodeImage(cut + [0xFF, 0xD9], name: "cut-eoi.jpg")) { e in
            guard case .corrupt("cut-eoi.jpg", let detail)? = e as? ImagingError else { return XCTFail("\(e)") }
            XCTAssertTrue(detail.contains("premature end of data segment"), detail)
        }
        XCTAssertNoThrow(try decodeImage(jpeg), "the intact file still decodes")
    }

    /// libpng already refuses damaged pixel data: a PNG cut inside IDAT, and an IDAT with a wrong CRC.
    func testTruncatedPNGAndBadIDATCRCFail() throws {
        var r = TestRandom(seed: 7)
        let png = try encodeImage(try RGBImage(width: 64, height: 64, pixels: r.bytes(64 * 64 * 3)), format: .png)
        let chunks = PNGChunks.parse(png)
        let idatIndex = try XCTUnwrap(png.indices.dropLast(4).first { Array(png[$0..<$0 + 4]) == Array("IDAT".utf8) })
        let idatLength = Int(png[idatIndex - 4]) << 24 | Int(png[idatIndex - 3]) << 16 | Int(png[idatIndex - 2]) << 8 | Int(png[idatIndex - 1])
        XCTAssertGreaterThan(idatLength, 1000, "random pixels do not compress: \(chunks.count) chunks")
        let midIDAT = Array(png.prefix(idatIndex + 4 + idatLength / 2))
        XCTAssertThrowsError(try decodeImage(midIDAT, name: "cut.png")) { e in
            guard case .truncated("cut.png", _)? = e as? ImagingError else { return XCTFail("\(e)") }
        }
        var badCRC = png
        badCRC[idatIndex + 4 + idatLength] ^= 0x01   // first byte of IDAT's CRC
        XCTAssertThrowsError(try decodeImage(badCRC, name: "crc.png")) { e in
            guard case .corrupt("crc.png", let detail)? = e as? ImagingError else { return XCTFail("\(e)") }
            XCTAssertTrue(detail.contains("CRC"), detail)
        }
        XCTAssertNoThrow(try decodeImage(png))
    }

    /// The byte cap: a sparse file just over 512 MiB (no disk space used) is refused from its fstat size,
    /// before any reading, with the file, its size and the cap in the message.
    func testInputByteCapRefusesHugeFilesBeforeReading() throws {
        let dir = try TestSupport.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/huge.jpg"
        let tiny = try encodeImage(try pattern(64, 64), format: .jpeg(quality: 90))
        try FileIO.writeAtomically(tiny, to: path)
        let size = Int64(FileIO.defaultMaxInputBytes) + 1
        XCTAssertEqual(truncate(path, off_t(size)), 0, "ftruncate to a sparse \(size)-byte file")
        let started = Date()
        let attempts: [() throws -> Void] = [{ _ = try FileIO.read(path) }, { _ = try loadImage(path: path) }]
        for attempt in attempts {
            XCTAssertThrowsError(try attempt()) { e in
                XCTAssertEqual(e as? ImagingError, .fileTooLarge(file: path, size: size, limit: FileIO.defaultMaxInputBytes))
                let text = "\(e)"
                for part in [path, "\(size) bytes", "\(FileIO.defaultMaxInputBytes) bytes", "512 MiB"] {
                    XCTAssertTrue(text.contains(part), "\(part) missing from: \(text)")
                }
            }
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 2, "refused without reading 512 MiB")
        // A cap of 0 turns the check off; a small explicit cap applies to small files.
        XCTAssertEqual(truncate(path, off_t(tiny.count)), 0)
        XCTAssertEqual(try FileIO.read(path, maxBytes: 0), tiny)
        XCTAssertThrowsError(try FileIO.read(path, maxBytes: 100)) { e in
            XCTAssertEqual(e as? ImagingError, .fileTooLarge(file: path, size: Int64(tiny.count), limit: 100))
        }
    }

    /// Files fstat cannot size (character devices, pipes) are capped while reading.
    func testInputByteCapAppliesWhileReadingUnsizedFiles() throws {
        XCTAssertThrowsError(try FileIO.read("/dev/zero", maxBytes: 1 << 20)) { e in
            guard case .fileTooLarge("/dev/zero", let size, 1 << 20)? = e as? ImagingError else { return XCTFail("\(e)") }
            XCTAssertGreaterThan(size, 1 << 20)
        }
    }

    /// The pixel limit error says which flag raises it.
    func testPixelLimitErrorNamesTheFlag() throws {
        let jpeg = try encodeImage(try pattern(64, 64), format: .jpeg(quality: 90))
        XCTAssertThrowsError(try decodeImage(jpeg, name: "p.jpg", options: DecodeOptions(maxPixels: 4000))) { e in
            XCTAssertEqual(e as? ImagingError, .tooManyPixels(file: "p.jpg", width: 64, height: 64, limit: 4000))
            XCTAssertTrue("\(e)".contains("--max-pixels 4096"), "\(e)")
        }
    }

    /// Chooses the largest DCT reduction that keeps the shorter side >= minimumSide (libjpeg rounds up).
    func testScaleChoice() throws {
        let jpeg = try encodeImage(try pattern(200, 120), format: .jpeg(quality: 90))
        for (minimum, denom, w, h) in [(0, 1, 200, 120), (15, 8, 25, 15), (16, 4, 50, 30), (30, 4, 50, 30),
                                       (31, 2, 100, 60), (60, 2, 100, 60), (61, 1, 200, 120), (500, 1, 200, 120)] {
            let (image, info) = try decodeImageWithInfo(jpeg, options: DecodeOptions(minimumSide: minimum))
            XCTAssertEqual(info.scaleDenominator, denom, "minimumSide \(minimum)")
            XCTAssertEqual([image.width, image.height], [w, h], "minimumSide \(minimum)")
            XCTAssertEqual([info.storedWidth, info.storedHeight], [200, 120])
        }
        // PNG is never scaled.
        let png = try encodeImage(try pattern(200, 120), format: .png)
        let (image, info) = try decodeImageWithInfo(png, options: DecodeOptions(minimumSide: 15))
        XCTAssertEqual([image.width, image.height, info.scaleDenominator], [200, 120, 1])
    }

    /// Peak resident memory since the last reset (VmHWM), in bytes; nil where /proc does not offer it.
    func resetPeakMemory() -> Bool {
        guard let f = fopen("/proc/self/clear_refs", "w") else { return false }
        defer { fclose(f) }
        return fputs("5", f) >= 0
    }

    func statusKB(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }

    /// A 48-megapixel JPEG decoded for a 256-pixel use comes out at 1/8 size through libjpeg's DCT scaling,
    /// looks like the full decode shrunk, and the decode's peak memory stays far below the 144 MB a full
    /// decode needs.
    func testLargeJPEGDecodesScaledWithBoundedMemory() throws {
        let w = 8000, h = 6000
        var jpeg: [UInt8] = []
        do {
            // Rows from a few templates (fast to build in debug builds); content varies in both directions.
            var rows: [[UInt8]] = []
            for k in 0..<8 {
                var row = [UInt8](repeating: 0, count: w * 3)
                for x in 0..<w { row[3 * x] = UInt8(x * 255 / w); row[3 * x + 1] = UInt8(k * 32); row[3 * x + 2] = UInt8((x / 500) * 16) }
                rows.append(row)
            }
            var pixels = [UInt8]()
            pixels.reserveCapacity(w * h * 3)
            for y in 0..<h { pixels += rows[(y / 750) % 8] }
            jpeg = try encodeImage(try RGBImage(width: w, height: h, pixels: pixels), format: .jpeg(quality: 90))
        }
        let canMeasure = resetPeakMemory()
        let before = statusKB("VmRSS")
        let (image, info) = try decodeImageWithInfo(jpeg, name: "big.jpg", options: DecodeOptions(minimumSide: 256))
        let peak = statusKB("VmHWM")
        XCTAssertEqual(info.scaleDenominator, 8, "the scaled path")
        XCTAssertEqual([image.width, image.height], [1000, 750])
        XCTAssertEqual([info.storedWidth, info.storedHeight], [w, h])
        // Content check against the source: column x of the scaled image covers source columns 8x...8x+7.
        for (x, y) in [(10, 40), (510, 100), (990, 700)] {
            let sx = 8 * x + 4, sy = 8 * y + 4
            let k = (sy / 750) % 8
            let expected = [sx * 255 / w, k * 32, (sx / 500) * 16]
            let got = image[x, y]
            for (a, b) in zip([Int(got.r), Int(got.g), Int(got.b)], expected) { XCTAssertLessThanOrEqual(abs(a - b), 6, "(\(x),\(y))") }
        }
        if canMeasure, let before, let peak {
            let grewMB = Double(peak - before) / 1024
            print("scaled decode of \(w)x\(h): peak RSS grew by \(grewMB) MB (a full decode needs \(w * h * 3 / 1_000_000) MB)")
            XCTAssertLessThan(grewMB, 40, "peak memory of the scaled decode")
        } else {
            print("peak memory not measured: /proc/self/clear_refs is not writable here")
        }
    }
}
