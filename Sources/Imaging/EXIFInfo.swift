import CEXIF

/// The EXIF fields nada-edit reads from photos and from its own outputs, parsed with libexif.
public struct EXIFInfo: Equatable, Sendable {
    /// 1...8 as in the EXIF spec (1 = upright); 1 when absent or out of range.
    public var orientation: Int = 1
    public var dateTimeOriginal: String?
    public var dateTime: String?
    public var software: String?
    public var imageDescription: String?
    public var userComment: String?

    /// EXIF from a JPEG's APP1 "Exif" segment or a PNG's eXIf chunk; nil when there is none or
    /// libexif cannot parse it.
    public static func read(from bytes: [UInt8], format: ImageFormat) -> EXIFInfo? {
        let block: [UInt8]
        switch format {
        case .jpeg:
            guard let payload = JPEGSegments.app1Payloads(bytes, header: JPEGSegments.exifHeader).first else { return nil }
            block = JPEGSegments.exifHeader + payload
        case .png:
            guard let chunk = PNGChunks.parse(bytes).first(where: { $0.type == "eXIf" }) else { return nil }
            var payload = Array(bytes[chunk.data])
            if payload.starts(with: JPEGSegments.exifHeader) { payload.removeFirst(6) }
            block = JPEGSegments.exifHeader + payload
        }
        return parse(exifBlock: block)
    }

    /// Parses "Exif\0\0" + TIFF data.
    static func parse(exifBlock: [UInt8]) -> EXIFInfo? {
        guard exifBlock.count > 14,
              let data = exifBlock.withUnsafeBufferPointer({ exif_data_new_from_data($0.baseAddress, UInt32($0.count)) })
        else { return nil }
        defer { exif_data_unref(data) }
        let order = exif_data_get_byte_order(data)
        var info = EXIFInfo()
        let ifd0 = data.pointee.ifd.0
        let exifIFD = data.pointee.ifd.2  // EXIF_IFD_EXIF
        if let e = entry(ifd0, EXIF_TAG_ORIENTATION), e.pointee.format == EXIF_FORMAT_SHORT, e.pointee.size >= 2 {
            let v = Int(exif_get_short(e.pointee.data, order))
            info.orientation = (1...8).contains(v) ? v : 1
        }
        info.software = ascii(entry(ifd0, EXIF_TAG_SOFTWARE))
        info.imageDescription = ascii(entry(ifd0, EXIF_TAG_IMAGE_DESCRIPTION))
        info.dateTime = ascii(entry(ifd0, EXIF_TAG_DATE_TIME))
        info.dateTimeOriginal = ascii(entry(exifIFD, EXIF_TAG_DATE_TIME_ORIGINAL))
        info.userComment = userComment(entry(exifIFD, EXIF_TAG_USER_COMMENT), order: order)
        return info
    }

    private static func entry(_ content: UnsafeMutablePointer<ExifContent>?, _ tag: ExifTag) -> UnsafeMutablePointer<ExifEntry>? {
        guard let content else { return nil }
        guard let e = exif_content_get_entry(content, tag), e.pointee.data != nil else { return nil }
        return e
    }

    private static func ascii(_ e: UnsafeMutablePointer<ExifEntry>?) -> String? {
        guard let e, e.pointee.format == EXIF_FORMAT_ASCII else { return nil }
        let raw = UnsafeBufferPointer(start: e.pointee.data, count: Int(e.pointee.size))
        let text = String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        return text.isEmpty ? nil : text
    }

    /// UserComment: 8-byte character-code prefix, then the text.
    private static func userComment(_ e: UnsafeMutablePointer<ExifEntry>?, order: ExifByteOrder) -> String? {
        guard let e, e.pointee.size >= 8 else { return nil }
        let raw = Array(UnsafeBufferPointer(start: e.pointee.data, count: Int(e.pointee.size)))
        let prefix = raw[0..<8]
        let body = raw[8...]
        if prefix.starts(with: Array("UNICODE".utf8)) {
            var units: [UInt16] = []
            var i = body.startIndex
            while i + 1 < body.endIndex {
                let a = UInt16(body[i]), b = UInt16(body[i + 1])
                units.append(order == EXIF_BYTE_ORDER_MOTOROLA ? (a << 8 | b) : (b << 8 | a))
                i += 2
            }
            return String(decoding: units, as: UTF16.self).trimmingTrailingNULs()
        }
        // ASCII, undefined (all zero) or JIS prefixes: read the bytes as UTF-8 (Exif 3.0 practice).
        let text = String(decoding: body.prefix(while: { $0 != 0 }), as: UTF8.self)
        return text.isEmpty ? nil : text
    }
}

extension String {
    func trimmingTrailingNULs() -> String {
        var s = self
        while s.last == "\0" { s.removeLast() }
        return s
    }
}

/// Applies EXIF orientation 1...8 (the transform Pillow's ImageOps.exif_transpose applies), so the
/// result is upright: 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise,
/// 7 transverse, 8 rotate 90 counter-clockwise.
public func applyOrientation(_ image: RGBImage, _ orientation: Int) -> RGBImage {
    let d = DecodedPixels(width: image.width, height: image.height, channels: 3, kind: .rgb, format: .png,
                          pixels: image.pixels)
    return applyOrientation(d, orientation).rgb()
}

func applyOrientation(_ image: DecodedPixels, _ orientation: Int) -> DecodedPixels {
    guard (2...8).contains(orientation) else { return image }
    let w = image.width, h = image.height, c = image.channels
    let swaps = orientation >= 5
    let ow = swaps ? h : w, oh = swaps ? w : h
    var out = [UInt8](repeating: 0, count: image.pixels.count)
    image.pixels.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            for y in 0..<oh {
                for x in 0..<ow {
                    // Source pixel (sx, sy) that lands on output (x, y).
                    let sx: Int, sy: Int
                    switch orientation {
                    case 2: sx = w - 1 - x; sy = y
                    case 3: sx = w - 1 - x; sy = h - 1 - y
                    case 4: sx = x; sy = h - 1 - y
                    case 5: sx = y; sy = x
                    case 6: sx = y; sy = h - 1 - x
                    case 7: sx = w - 1 - y; sy = h - 1 - x
                    default: sx = w - 1 - y; sy = x  // 8
                    }
                    let s = (sy * w + sx) * c, o = (y * ow + x) * c
                    for k in 0..<c { dst[o + k] = src[s + k] }
                }
            }
        }
    }
    var result = image
    result.width = ow
    result.height = oh
    result.pixels = out
    return result
}
