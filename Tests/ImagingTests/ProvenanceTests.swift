import XCTest
import DurableIO
@testable import Imaging

final class ProvenanceTests: XCTestCase {
    func sample(dateTimeOriginal: String? = "2019:07:14 10:11:12") -> Provenance {
        Provenance(toolVersion: "0.1.0", createdUTC: 1_795_000_000, inputFileName: "holiday photo.jpg",
                   inputSHA256: String(repeating: "ab", count: 32),
                   modelSHA256: ["generator": String(repeating: "01", count: 32), "encoder=e4e": String(repeating: "cd", count: 32)],
                   domain: "sketch", domainPrompts: ["source": "photo", "target": "croquis à l'encre <noir> & \"blanc\""],
                   strength: 0.75, encoder: "e4e", dateTimeOriginal: dateTimeOriginal,
                   extra: ["seed": "7", "alignment": "center", "note": "line one\nline two"])
    }

    func image() -> RGBImage {
        var p = [UInt8]()
        for y in 0..<24 { for x in 0..<32 { p += [UInt8(x * 8), UInt8(y * 10), 90] } }
        return try! RGBImage(width: 32, height: 24, pixels: p)
    }

    func testRoundTripThroughJPEGAndPNG() throws {
        let dir = try TestSupport.tempDir()
        for ext in ["jpg", "png"] {
            let path = "\(dir)/out.sketch.\(ext)"
            let p = sample()
            try writeImage(image(), to: path, provenance: p)
            let record = try readProvenance(path: path)
            XCTAssertEqual(record.provenance, p, ext)
            XCTAssertEqual(record.provenance?.digitalSourceType, Provenance.trainedAlgorithmicMedia)
            XCTAssertEqual(record.exif?.software, "nada-edit 0.1.0", ext)
            XCTAssertEqual(record.exif?.dateTimeOriginal, "2019:07:14 10:11:12", ext)
            XCTAssertEqual(record.exif?.dateTime, "2026:11:18 11:06:40", ext)  // 1795000000 in UTC
            XCTAssertEqual(record.exif?.orientation, 1)
            XCTAssertTrue(record.exif?.userComment?.contains("strength 0.75") ?? false, ext)
            XCTAssertTrue(record.exif?.imageDescription?.contains("domain sketch") ?? false, ext)
            XCTAssertTrue(record.lines.contains("Input SHA-256: \(String(repeating: "ab", count: 32))"))
            // The image itself still decodes.
            XCTAssertEqual(try loadImage(path: path).width, 32)
            if ext == "png" {
                let text = Dictionary(record.pngText, uniquingKeysWith: { a, _ in a })
                XCTAssertEqual(text["Software"], "nada-edit 0.1.0")
                XCTAssertEqual(text["Creation Time"], "2026-11-18T11:06:40Z")
                XCTAssertEqual(text["Source"], "sha256:" + String(repeating: "ab", count: 32))
                XCTAssertEqual(try loadImage(path: path), image())  // PNG pixels untouched
            }
        }
    }

    func testEmbeddingTwiceReplacesInsteadOfDuplicating() throws {
        for format in [OutputFormat.jpeg(quality: 90), .png] {
            let once = try encodeImage(image(), format: format, provenance: sample())
            var second = sample()
            second.domain = "pixar"
            let twice = try embedProvenance(second, in: once, format: format.imageFormat)
            XCTAssertEqual(try readProvenance(bytes: twice).provenance?.domain, "pixar")
            if format == .png {
                XCTAssertEqual(PNGChunks.texts(twice).filter { $0.0 == pngXMPKeyword }.count, 1)
                XCTAssertEqual(PNGChunks.parse(twice).filter { $0.type == "eXIf" }.count, 1)
            } else {
                XCTAssertEqual(JPEGSegments.app1Payloads(twice, header: JPEGSegments.xmpHeader).count, 1)
                XCTAssertEqual(JPEGSegments.app1Payloads(twice, header: JPEGSegments.exifHeader).count, 1)
            }
        }
    }

    func testInputDetailsAndFilesWithoutProvenance() throws {
        let dir = try TestSupport.tempDir()
        // An "input photo" with a camera DateTimeOriginal (written here with our own writer).
        var camera = Provenance(toolVersion: "cam", dateTimeOriginal: "2001:02:03 04:05:06")
        camera.toolName = "Camera"
        let input = dir + "/in.jpg"
        try writeImage(image(), to: input, provenance: camera)
        let details = try readInputDetails(path: input)
        XCTAssertEqual(details.dateTimeOriginal, "2001:02:03 04:05:06")
        XCTAssertEqual(details.sha256, try SHA256.hexDigest(ofFile: input))
        // A plain file records nothing, and says so.
        let plain = dir + "/plain.png"
        try writeImage(image(), to: plain)
        let record = try readProvenance(path: plain)
        XCTAssertNil(record.provenance)
        XCTAssertTrue(record.lines.contains { $0.contains("No nada-edit provenance") })
        XCTAssertThrowsError(try readProvenance(path: dir + "/nothing.png"))
    }

    /// Independent check with exiftool (Debian libimage-exiftool-perl).
    func testExiftoolReadsTheMetadata() throws {
        let exiftool = ["/usr/bin/exiftool", "/usr/local/bin/exiftool"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let exiftool else {
            throw XCTSkip("exiftool not installed (apt-get install libimage-exiftool-perl); provenance round trip still tested")
        }
        let dir = try TestSupport.tempDir()
        for ext in ["jpg", "png"] {
            let path = "\(dir)/e.\(ext)"
            try writeImage(image(), to: path, provenance: sample())
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exiftool)
            p.arguments = ["-j", "-G1", "-a", "-charset", "utf8", path]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let parsed = try JSONSerialization.jsonObject(with: data) as? [[String: Any]]
            let tags = try XCTUnwrap(parsed?.first)
            func string(_ key: String) -> String? { tags[key].map { "\($0)" } }
            func list(_ key: String) -> [String] { (tags[key] as? [Any])?.map { "\($0)" } ?? string(key).map { [$0] } ?? [] }
            XCTAssertNil(tags["ExifTool:Warning"], "\(ext): \(tags["ExifTool:Warning"] ?? "")")
            XCTAssertEqual(string("XMP-iptcExt:DigitalSourceType"), Provenance.trainedAlgorithmicMedia, ext)
            XCTAssertEqual(string("XMP-xmp:CreatorTool"), "nada-edit 0.1.0", ext)
            XCTAssertEqual(string("XMP-nada:InputSHA256"), String(repeating: "ab", count: 32), ext)
            XCTAssertEqual(string("XMP-nada:Strength"), "0.75", ext)
            XCTAssertEqual(string("XMP-nada:Encoder"), "e4e", ext)
            XCTAssertEqual(string("XMP-nada:Domain"), "sketch", ext)
            XCTAssertEqual(list("XMP-nada:DomainPrompts"), ["source=photo", "target=croquis à l'encre <noir> & \"blanc\""], ext)
            XCTAssertTrue(list("XMP-nada:ModelSHA256").contains("generator=" + String(repeating: "01", count: 32)), ext)
            XCTAssertEqual(string("IFD0:Software"), "nada-edit 0.1.0", ext)
            XCTAssertEqual(string("ExifIFD:DateTimeOriginal"), "2019:07:14 10:11:12", ext)
            XCTAssertTrue(string("ExifIFD:UserComment")?.contains("domain sketch") ?? false, ext)
            XCTAssertTrue(string("IFD0:ImageDescription")?.contains("encoder e4e") ?? false, ext)
            if ext == "png" {
                XCTAssertEqual(string("PNG:Software"), "nada-edit 0.1.0")
                XCTAssertTrue(string("PNG:Description")?.contains("domain sketch") ?? false)
            }
        }
    }
}
