import Foundation
import Imaging

/// Writes seed images for fuzz-image and fuzz-provenance into the folder given: small JPEGs and PNGs as
/// nada-edit writes them (with and without provenance: XMP, EXIF, PNG text chunks), so that the fuzzers start
/// from inputs that reach the metadata readers rather than having to discover the segment layouts.
/// Usage: NADA_FUZZ_SEEDS=OUTPUT-FOLDER fuzz-seeds
///
/// Built with the fuzz targets, so libFuzzer owns `main` (a second one does not link): the work happens in
/// libFuzzer's initialisation hook, which then exits before any fuzzing.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    guard let folder = ProcessInfo.processInfo.environment["NADA_FUZZ_SEEDS"], !folder.isEmpty else {
        FileHandle.standardError.write(Data("usage: NADA_FUZZ_SEEDS=OUTPUT-FOLDER fuzz-seeds\n".utf8))
        exit(2)
    }
    do {
        try FuzzSeeds.write(to: folder)
    } catch {
        FileHandle.standardError.write(Data("fuzz-seeds: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt { 0 }

enum FuzzSeeds {
    static func write(to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var pixels = [UInt8]()
        for y in 0..<12 { for x in 0..<16 { pixels += [UInt8(x * 16), UInt8(y * 20), 90] } }
        let image = try RGBImage(width: 16, height: 12, pixels: pixels)
        let provenance = Provenance(toolVersion: "0.1.0", createdUTC: 1_795_000_000, inputFileName: "photo.jpg",
                                    inputSHA256: String(repeating: "ab", count: 32),
                                    modelSHA256: ["generator": String(repeating: "01", count: 32)],
                                    domain: "sketch", domainPrompts: ["source": "photo", "target": "pencil <sketch> & \"ink\""],
                                    strength: 0.75, encoder: "e4e", dateTimeOriginal: "2019:07:14 10:11:12",
                                    extra: ["seed": "7", "note": "line one\nline two"])
        let outputs: [(String, OutputFormat, Provenance?)] = [
            ("plain.jpg", .jpeg(quality: 80), nil), ("provenance.jpg", .jpeg(quality: 80), provenance),
            ("plain.png", .png, nil), ("provenance.png", .png, provenance),
        ]
        for (name, format, p) in outputs {
            let bytes = try encodeImage(image, format: format, provenance: p)
            try Data(bytes).write(to: URL(fileURLWithPath: "\(folder)/\(name)"))
        }
        print("fuzz-seeds: wrote \(outputs.count) seeds to \(folder)")
    }
}
