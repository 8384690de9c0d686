/// Walks and edits the marker segments before a JPEG's image data (APPn, COM, DQT, SOFn, ...).
/// Used to find the EXIF and XMP APP1 blocks and to insert ours; never touches the scan data.
enum JPEGSegments {
    struct Segment {
        var marker: UInt8
        /// Byte range of the payload (after the 2-byte length).
        var payload: Range<Int>
        /// Byte range of the whole segment, from its FF marker byte.
        var whole: Range<Int>
    }

    static let exifHeader: [UInt8] = Array("Exif".utf8) + [0, 0]
    static let xmpHeader: [UInt8] = Array("http://ns.adobe.com/xap/1.0/".utf8) + [0]

    /// Segments up to the first SOS (start of scan); stops quietly at anything malformed.
    static func parse(_ bytes: [UInt8]) -> [Segment] {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return [] }
        var segments: [Segment] = []
        var i = 2
        while i + 4 <= bytes.count {
            guard bytes[i] == 0xFF else { break }
            let marker = bytes[i + 1]
            if marker == 0xFF { i += 1; continue }  // fill byte
            if marker == 0xD9 || marker == 0xDA { break }  // EOI or start of scan
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { i += 2; continue }
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            guard length >= 2, i + 2 + length <= bytes.count else { break }
            segments.append(Segment(marker: marker, payload: (i + 4)..<(i + 2 + length), whole: i..<(i + 2 + length)))
            i += 2 + length
        }
        return segments
    }

    /// Payloads of APP1 segments starting with `header` (the header stripped).
    static func app1Payloads(_ bytes: [UInt8], header: [UInt8]) -> [ArraySlice<UInt8>] {
        parse(bytes).compactMap { seg in
            guard seg.marker == 0xE1, seg.payload.count >= header.count,
                  bytes[seg.payload.lowerBound..<(seg.payload.lowerBound + header.count)].elementsEqual(header)
            else { return nil }
            return bytes[(seg.payload.lowerBound + header.count)..<seg.payload.upperBound]
        }
    }

    /// An APP1 segment around `payload`; throws if it is over the 64 KB segment limit.
    static func app1(_ payload: [UInt8]) throws -> [UInt8] {
        let length = payload.count + 2
        guard length <= 0xFFFF else {
            throw ImagingError.invalidArgument("metadata block of \(payload.count) bytes exceeds JPEG's 65533-byte segment limit")
        }
        return [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload
    }

    /// `bytes` with `segments` inserted after SOI and any JFIF APP0, and with existing EXIF/XMP
    /// APP1 segments removed (ours replace them).
    static func inserting(_ newSegments: [[UInt8]], into bytes: [UInt8]) throws -> [UInt8] {
        let segments = parse(bytes)
        guard !segments.isEmpty || (bytes.count >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8) else {
            throw ImagingError.invalidArgument("not a JPEG stream")
        }
        var drop: [Range<Int>] = []
        var insertAt = 2
        for seg in segments {
            if seg.marker == 0xE0, seg.whole.lowerBound == insertAt { insertAt = seg.whole.upperBound }
            if seg.marker == 0xE1 {
                let p = bytes[seg.payload]
                if p.starts(with: exifHeader) || p.starts(with: xmpHeader) { drop.append(seg.whole) }
            }
        }
        var out = Array(bytes[0..<insertAt])
        for s in newSegments { out += s }
        var i = insertAt
        for r in drop where r.lowerBound >= insertAt {
            out += bytes[i..<r.lowerBound]
            i = r.upperBound
        }
        out += bytes[i...]
        return out
    }
}
