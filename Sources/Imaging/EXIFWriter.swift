import CEXIF
#if canImport(Glibc)
import Glibc
#endif

/// Builds the EXIF block ("Exif\0\0" + TIFF) of an output with libexif: Software,
/// ImageDescription, DateTime (+ OffsetTime "+00:00"), Orientation 1 (pixels are upright),
/// DateTimeOriginal copied from the input, and UserComment.
enum EXIFWriter {
    /// `width`/`height` fill the tags the Exif spec requires (exiftool -validate is clean).
    static func block(for p: Provenance, width: Int, height: Int, jpeg: Bool) throws -> [UInt8] {
        guard let data = exif_data_new() else { throw ImagingError.invalidArgument("libexif: out of memory") }
        defer { exif_data_unref(data) }
        exif_data_set_byte_order(data, EXIF_BYTE_ORDER_INTEL)
        exif_data_set_data_type(data, EXIF_DATA_TYPE_COMPRESSED)
        let ifd0 = data.pointee.ifd.0!, exif = data.pointee.ifd.2!

        add(ifd0, EXIF_TAG_IMAGE_DESCRIPTION, ascii: p.description ?? p.summary)
        add(ifd0, EXIF_TAG_SOFTWARE, ascii: p.software)
        add(ifd0, EXIF_TAG_DATE_TIME, ascii: Provenance.exifDate(p.createdUTC))
        add(ifd0, EXIF_TAG_ORIENTATION, format: EXIF_FORMAT_SHORT, components: 1, bytes: [1, 0])  // Intel order
        add(ifd0, EXIF_TAG_X_RESOLUTION, format: EXIF_FORMAT_RATIONAL, components: 1, bytes: le32(72) + le32(1))
        add(ifd0, EXIF_TAG_Y_RESOLUTION, format: EXIF_FORMAT_RATIONAL, components: 1, bytes: le32(72) + le32(1))
        add(ifd0, EXIF_TAG_RESOLUTION_UNIT, format: EXIF_FORMAT_SHORT, components: 1, bytes: [2, 0])  // inches
        if jpeg { add(ifd0, EXIF_TAG_YCBCR_POSITIONING, format: EXIF_FORMAT_SHORT, components: 1, bytes: [1, 0]) }
        add(exif, EXIF_TAG_EXIF_VERSION, format: EXIF_FORMAT_UNDEFINED, components: 4, bytes: Array("0232".utf8))
        if jpeg { add(exif, EXIF_TAG_COMPONENTS_CONFIGURATION, format: EXIF_FORMAT_UNDEFINED, components: 4, bytes: [1, 2, 3, 0]) }
        add(exif, EXIF_TAG_FLASH_PIX_VERSION, format: EXIF_FORMAT_UNDEFINED, components: 4, bytes: Array("0100".utf8))
        add(exif, EXIF_TAG_COLOR_SPACE, format: EXIF_FORMAT_SHORT, components: 1, bytes: [1, 0])  // sRGB
        add(exif, EXIF_TAG_PIXEL_X_DIMENSION, format: EXIF_FORMAT_LONG, components: 1, bytes: le32(UInt32(clamping: width)))
        add(exif, EXIF_TAG_PIXEL_Y_DIMENSION, format: EXIF_FORMAT_LONG, components: 1, bytes: le32(UInt32(clamping: height)))
        add(exif, EXIF_TAG_OFFSET_TIME, ascii: "+00:00")
        if let original = p.dateTimeOriginal { add(exif, EXIF_TAG_DATE_TIME_ORIGINAL, ascii: original) }
        // UserComment: ASCII character code + text (the full record lives in the XMP packet).
        let comment = Array("ASCII".utf8) + [0, 0, 0] + Array(asciiOnly(p.summary).utf8)
        add(exif, EXIF_TAG_USER_COMMENT, format: EXIF_FORMAT_UNDEFINED, components: comment.count, bytes: comment)

        var out: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt32 = 0
        exif_data_save_data(data, &out, &size)
        guard let out, size > 0 else { throw ImagingError.invalidArgument("libexif could not serialise the EXIF block") }
        defer { free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(size)))
    }

    /// ASCII entries must be NUL-terminated 7-bit text: other characters become '?'.
    private static func add(_ ifd: UnsafeMutablePointer<ExifContent>, _ tag: ExifTag, ascii text: String) {
        let bytes = Array(asciiOnly(text).utf8) + [0]
        add(ifd, tag, format: EXIF_FORMAT_ASCII, components: bytes.count, bytes: bytes)
    }

    private static func add(_ ifd: UnsafeMutablePointer<ExifContent>, _ tag: ExifTag, format: ExifFormat,
                            components: Int, bytes: [UInt8]) {
        guard let mem = exif_mem_new_default() else { return }
        defer { exif_mem_unref(mem) }
        guard let entry = exif_entry_new_mem(mem) else { return }
        defer { exif_entry_unref(entry) }
        guard let buffer = exif_mem_alloc(mem, ExifLong(bytes.count)) else { return }
        buffer.copyMemory(from: bytes, byteCount: bytes.count)
        entry.pointee.data = buffer.assumingMemoryBound(to: UInt8.self)
        entry.pointee.size = UInt32(bytes.count)
        entry.pointee.tag = tag
        entry.pointee.components = UInt(components)
        entry.pointee.format = format
        exif_content_add_entry(ifd, entry)
    }

    private static func le32(_ v: UInt32) -> [UInt8] {
        [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
    }

    static func asciiOnly(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value >= 0x20 && $0.value < 0x7F ? $0 : "?" }))
    }
}
