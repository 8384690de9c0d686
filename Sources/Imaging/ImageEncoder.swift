import CImageCodecs

/// JPEG (with quality) or PNG output.
public enum OutputFormat: Equatable, Sendable {
    case jpeg(quality: Int)
    case png

    public static let defaultJPEGQuality = 95

    public var imageFormat: ImageFormat {
        if case .png = self { return .png }
        return .jpeg
    }

    /// From a path's extension (.jpg/.jpeg -> JPEG at the default quality, .png -> PNG).
    public static func fromExtension(_ path: String, jpegQuality: Int = defaultJPEGQuality) -> OutputFormat? {
        switch ImageFormat.fromExtension(path) {
        case .jpeg: return .jpeg(quality: jpegQuality)
        case .png: return .png
        case nil: return nil
        }
    }
}

/// Encodes an image, embedding provenance (EXIF + XMP for JPEG; XMP iTXt, text chunks and eXIf
/// for PNG) when given.
public func encodeImage(_ image: RGBImage, format: OutputFormat, provenance: Provenance? = nil) throws -> [UInt8] {
    var bytes: [UInt8]
    switch format {
    case .jpeg(let quality):
        guard (1...100).contains(quality) else { throw ImagingError.invalidArgument("JPEG quality \(quality) is not in 1...100") }
        bytes = try encodeRaw(image.pixels, image.width, image.height, 3, jpegQuality: quality)
    case .png:
        bytes = try encodeRaw(image.pixels, image.width, image.height, 3, jpegQuality: nil)
    }
    if let provenance {
        bytes = try embedProvenance(provenance, in: bytes, format: format.imageFormat)
    }
    return bytes
}

/// Encodes and writes through a temporary file in the same folder, then renames into place.
/// Refuses to replace an existing file unless `overwrite`. The format defaults to the extension's.
public func writeImage(_ image: RGBImage, to path: String, format: OutputFormat? = nil,
                       provenance: Provenance? = nil, overwrite: Bool = false) throws {
    guard let format = format ?? OutputFormat.fromExtension(path) else {
        throw ImagingError.invalidArgument("\(path): cannot tell the output format from the extension (use .jpg or .png)")
    }
    if !overwrite, FileIO.exists(path) { throw ImagingError.outputExists(file: path) }
    let bytes = try encodeImage(image, format: format, provenance: provenance)
    try FileIO.writeAtomically(bytes, to: path, overwrite: overwrite)
}

/// libjpeg/libpng encode of packed 8-bit pixels (JPEG: 1, 3 or 4 = Adobe CMYK channels;
/// PNG: 1...4 channels).
func encodeRaw(_ pixels: [UInt8], _ width: Int, _ height: Int, _ channels: Int, jpegQuality: Int?) throws -> [UInt8] {
    guard width > 0, height > 0, pixels.count == width * height * channels else {
        throw ImagingError.invalidArgument("pixel buffer does not match \(width)x\(height)x\(channels)")
    }
    var out: UnsafeMutablePointer<UInt8>? = nil
    var size = 0
    var message = [CChar](repeating: 0, count: Int(NADA_MESSAGE_LEN))
    let status = pixels.withUnsafeBufferPointer { buf in
        message.withUnsafeMutableBufferPointer { msg in
            if let q = jpegQuality {
                return nada_jpeg_encode(buf.baseAddress, Int32(width), Int32(height), Int32(channels), Int32(q),
                                        &out, &size, msg.baseAddress)
            }
            return nada_png_encode(buf.baseAddress, Int32(width), Int32(height), Int32(channels), &out, &size,
                                   msg.baseAddress)
        }
    }
    defer { nada_free(out) }
    guard status == NADA_OK, let out else {
        throw ImagingError.invalidArgument("encoding failed: \(String(cString: message))")
    }
    return Array(UnsafeBufferPointer(start: out, count: size))
}
