import CImageCodecs
import Foundation

/// Options for reading photos.
public struct DecodeOptions: Sendable {
    /// Largest width*height accepted, checked from the header before any pixel is decoded
    /// (decompression bombs: a few KB of PNG can claim gigapixels). <= 0 disables the check.
    public var maxPixels: Int
    /// Rotate/flip by the EXIF Orientation tag, so the pixels come out the way viewers show them.
    public var applyEXIFOrientation: Bool
    /// JPEG only: the shorter side the caller needs. > 0 lets libjpeg decode at 1/2, 1/4 or 1/8 size
    /// (DCT scaling, as Pillow's `draft`), taking the largest reduction that keeps the shorter side
    /// at least this long; a 100-megapixel photo then never exists at full size in memory. 0 decodes
    /// at full size. PNG has no such scaling and is always decoded at full size.
    public var minimumSide: Int
    /// JPEG only: accept data libjpeg reports as corrupt (premature end of data, bad Huffman codes,
    /// ...) and keep its grey fill, as libjpeg does on its own. Off by default: such a file fails
    /// with libjpeg's message instead of being "decoded" into mostly grey pixels.
    public var allowCorruptJPEGData: Bool

    public static let defaultMaxPixels = 100_000_000

    public init(maxPixels: Int = DecodeOptions.defaultMaxPixels, applyEXIFOrientation: Bool = true,
                minimumSide: Int = 0, allowCorruptJPEGData: Bool = false) {
        self.maxPixels = maxPixels
        self.applyEXIFOrientation = applyEXIFOrientation
        self.minimumSide = minimumSide
        self.allowCorruptJPEGData = allowCorruptJPEGData
    }
}

/// How a photo was decoded, for callers that record or check it.
public struct DecodeInfo: Equatable, Sendable {
    public var format: ImageFormat
    /// The size the file's header states (before EXIF orientation).
    public var storedWidth: Int
    public var storedHeight: Int
    /// 1 = decoded at full size; 2, 4 or 8 = decoded at 1/n by libjpeg's DCT scaling.
    public var scaleDenominator: Int
}

/// What the file held before conversion to 8-bit RGB(A); Pillow resizes some of these differently.
enum SourceKind: Int32 {
    case rgb = 0, gray = 1, palette = 2, grayAlpha = 3, rgba = 4, cmyk = 5, sixteenBit = 6
}

/// Decoded pixels before alpha is dropped: 3 (RGB) or 4 (RGBA, straight alpha) channels.
struct DecodedPixels {
    var width: Int
    var height: Int
    var channels: Int
    var kind: SourceKind
    var format: ImageFormat
    var pixels: [UInt8]
    var info = DecodeInfo(format: .png, storedWidth: 0, storedHeight: 0, scaleDenominator: 1)

    /// Drops alpha without compositing, as Pillow's convert('RGB') does.
    func rgb() -> RGBImage {
        if channels == 3 { return RGBImage(uncheckedWidth: width, height: height, pixels: pixels) }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            out[3 * i] = pixels[4 * i]
            out[3 * i + 1] = pixels[4 * i + 1]
            out[3 * i + 2] = pixels[4 * i + 2]
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: out)
    }
}

/// Reads a JPEG or PNG photo from a file into 8-bit RGB (alpha dropped, grey/palette/16-bit
/// converted, CMYK JPEG converted), with the EXIF orientation applied unless disabled.
public func loadImage(path: String, options: DecodeOptions = DecodeOptions()) throws -> RGBImage {
    try decodeImage(FileIO.read(path), name: path, options: options)
}

/// As `loadImage(path:)` for bytes in memory; `name` is used in error messages.
public func decodeImage(_ bytes: [UInt8], name: String = "<memory>",
                        options: DecodeOptions = DecodeOptions()) throws -> RGBImage {
    try decodePixels(bytes, name: name, options: options).rgb()
}

/// As `decodeImage`, also saying how the photo was decoded (stored size, DCT scale).
public func decodeImageWithInfo(_ bytes: [UInt8], name: String = "<memory>",
                                options: DecodeOptions = DecodeOptions()) throws -> (image: RGBImage, info: DecodeInfo) {
    let decoded = try decodePixels(bytes, name: name, options: options)
    return (decoded.rgb(), decoded.info)
}

/// Size and format from the header alone (cheap; for checks before a full decode).
public func readImageHeader(_ bytes: [UInt8], name: String = "<memory>") throws
    -> (format: ImageFormat, width: Int, height: Int)
{
    let format = try detectFormat(bytes, name: name)
    var message = [CChar](repeating: 0, count: Int(NADA_MESSAGE_LEN))
    var w: Int32 = 0, h: Int32 = 0, c: Int32 = 0
    let status = bytes.withUnsafeBufferPointer { buf in
        message.withUnsafeMutableBufferPointer { msg in
            format == .jpeg
                ? nada_jpeg_header(buf.baseAddress, buf.count, &w, &h, &c, msg.baseAddress)
                : nada_png_header(buf.baseAddress, buf.count, &w, &h, msg.baseAddress)
        }
    }
    try check(status, message: String(cString: message), format: format, name: name, width: 0, height: 0, limit: 0)
    return (format, Int(w), Int(h))
}

func detectFormat(_ bytes: [UInt8], name: String) throws -> ImageFormat {
    guard let format = ImageFormat.detect(bytes) else {
        if bytes.isEmpty { throw ImagingError.notAnImage(file: name, detail: "file is empty") }
        let head = bytes.prefix(4).map { String(format: "%02X", $0) }.joined(separator: " ")
        throw ImagingError.notAnImage(file: name, detail: "unrecognised leading bytes \(head)")
    }
    return format
}

func decodePixels(_ bytes: [UInt8], name: String, options: DecodeOptions) throws -> DecodedPixels {
    let format = try detectFormat(bytes, name: name)
    var result = nada_decoded()
    let limit = Int64(max(0, options.maxPixels))
    var jpegOptions = nada_jpeg_options(max_pixels: limit, min_side: Int32(clamping: max(0, options.minimumSide)),
                                        allow_corrupt_data: options.allowCorruptJPEGData ? 1 : 0)
    let status = bytes.withUnsafeBufferPointer { buf in
        format == .jpeg
            ? nada_jpeg_decode(buf.baseAddress, buf.count, &jpegOptions, &result)
            : nada_png_decode(buf.baseAddress, buf.count, limit, &result)
    }
    defer { nada_free(result.pixels) }
    let message = withUnsafeBytes(of: result.message) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
    let info = format == .jpeg
        ? DecodeInfo(format: format, storedWidth: Int(result.stored_width), storedHeight: Int(result.stored_height),
                     scaleDenominator: max(1, Int(result.scale_denom)))
        : DecodeInfo(format: format, storedWidth: Int(result.width), storedHeight: Int(result.height), scaleDenominator: 1)
    try check(status, message: message, format: format, name: name,
              width: info.storedWidth, height: info.storedHeight, limit: options.maxPixels)
    let w = Int(result.width), h = Int(result.height), c = Int(result.channels)
    guard let base = result.pixels, w > 0, h > 0, c == 3 || c == 4 else {
        throw ImagingError.corrupt(file: name, detail: "decoder returned no pixels")
    }
    var decoded = DecodedPixels(width: w, height: h, channels: c,
                                kind: SourceKind(rawValue: result.source_kind) ?? .rgb, format: format,
                                pixels: Array(UnsafeBufferPointer(start: base, count: w * h * c)), info: info)
    if options.applyEXIFOrientation {
        let orientation = EXIFInfo.read(from: bytes, format: format)?.orientation ?? 1
        decoded = applyOrientation(decoded, orientation)
    }
    return decoded
}

private func check(_ status: Int32, message: String, format: ImageFormat, name: String,
                   width: Int, height: Int, limit: Int) throws {
    let kind = format == .jpeg ? "JPEG" : "PNG"
    switch status {
    case NADA_OK: return
    case NADA_ERR_TRUNCATED: throw ImagingError.truncated(file: name, detail: "\(kind): \(message)")
    case NADA_ERR_TOO_LARGE: throw ImagingError.tooManyPixels(file: name, width: width, height: height, limit: limit)
    case NADA_ERR_UNSUPPORTED: throw ImagingError.unsupported(file: name, detail: "\(kind): \(message)")
    case NADA_ERR_NOMEM: throw ImagingError.io(file: name, detail: "out of memory while decoding \(kind)")
    default: throw ImagingError.corrupt(file: name, detail: "\(kind): \(message)")
    }
}
