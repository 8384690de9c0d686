/// Embeds provenance into encoded JPEG/PNG bytes and reads it back from our outputs.

import DurableIO

let pngXMPKeyword = "XML:com.adobe.xmp"

/// `bytes` (a JPEG or PNG we just encoded) with EXIF + XMP (JPEG) or XMP iTXt + tEXt + eXIf (PNG).
func embedProvenance(_ p: Provenance, in bytes: [UInt8], format: ImageFormat) throws -> [UInt8] {
    let header = try readImageHeader(bytes)
    let exif = try EXIFWriter.block(for: p, width: header.width, height: header.height, jpeg: format == .jpeg)
    let xmp = Array(XMPPacket.make(p).utf8)
    switch format {
    case .jpeg:
        return try JPEGSegments.inserting([JPEGSegments.app1(exif), JPEGSegments.app1(JPEGSegments.xmpHeader + xmp)],
                                          into: bytes)
    case .png:
        var texts: [(String, String)] = [
            ("Software", p.software),
            ("Description", p.description ?? p.summary),
            ("Creation Time", p.createdISO8601),
            ("Comment", p.summary),
        ]
        if let sha = p.inputSHA256 { texts.append(("Source", "sha256:\(sha)")) }
        var chunks = [PNGChunks.internationalText(pngXMPKeyword, String(decoding: xmp, as: UTF8.self))]
        for (k, v) in texts {
            // tEXt is Latin-1; keep it to ASCII and put anything else in iTXt (UTF-8).
            chunks.append(v.unicodeScalars.allSatisfy { $0.isASCII } ? PNGChunks.text(k, v) : PNGChunks.internationalText(k, v))
        }
        chunks.append(PNGChunks.make("eXIf", Array(exif.dropFirst(JPEGSegments.exifHeader.count))))
        return try PNGChunks.inserting(chunks, into: bytes,
                                       replacingKeywords: Set(texts.map { $0.0 } + [pngXMPKeyword]))
    }
}

/// What an output file records about how it was made.
public struct ProvenanceRecord: Sendable {
    public var file: String
    public var format: ImageFormat
    /// Our fields, from the XMP packet; nil when the file has no nada-edit XMP.
    public var provenance: Provenance?
    /// The raw XMP packet, if any (ours or another tool's).
    public var xmp: String?
    public var exif: EXIFInfo?
    /// PNG text chunks (keyword, text), XMP excluded.
    public var pngText: [(String, String)]

    /// Human-readable report, one "Field: value" per line.
    public var lines: [String] {
        var out = ["File: \(file)", "Format: \(format == .jpeg ? "JPEG" : "PNG")"]
        if let p = provenance {
            out.append("Digital source type: \(p.digitalSourceType)")
            out.append("Software: \(p.software)")
            out.append("Created (UTC): \(p.createdISO8601)")
            if let v = p.inputFileName { out.append("Input file: \(v)") }
            if let v = p.inputSHA256 { out.append("Input SHA-256: \(v)") }
            if let v = p.domain { out.append("Domain: \(v)") }
            for (k, v) in p.domainPrompts.sorted(by: { $0.key < $1.key }) { out.append("Prompt (\(k)): \(v)") }
            if let v = p.strength { out.append("Strength: \(v)") }
            if let v = p.encoder { out.append("Encoder: \(v)") }
            for (k, v) in p.modelSHA256.sorted(by: { $0.key < $1.key }) { out.append("Model SHA-256 (\(k)): \(v)") }
            if let v = p.dateTimeOriginal { out.append("Original date/time: \(v)") }
            if let v = p.description { out.append("Description: \(v)") }
            for (k, v) in p.extra.sorted(by: { $0.key < $1.key }) { out.append("\(k): \(v)") }
        } else {
            out.append("No nada-edit provenance (no XMP packet from nada-edit)")
            if let xmp, let t = XMPPacket.attribute(xmp, "Iptc4xmpExt:DigitalSourceType") {
                out.append("Digital source type: \(t)")
            }
        }
        if let e = exif {
            if let v = e.software { out.append("EXIF Software: \(v)") }
            if let v = e.imageDescription { out.append("EXIF ImageDescription: \(v)") }
            if let v = e.dateTimeOriginal { out.append("EXIF DateTimeOriginal: \(v)") }
            if let v = e.userComment { out.append("EXIF UserComment: \(v)") }
        }
        for (k, v) in pngText { out.append("PNG \(k): \(v)") }
        return out
    }
}

/// Reads the provenance an output records (XMP, EXIF and PNG text).
public func readProvenance(path: String) throws -> ProvenanceRecord {
    try readProvenance(bytes: FileIO.read(path), name: path)
}

public func readProvenance(bytes: [UInt8], name: String = "<memory>") throws -> ProvenanceRecord {
    let format = try detectFormat(bytes, name: name)
    var xmp: String?
    var text: [(String, String)] = []
    switch format {
    case .jpeg:
        if let payload = JPEGSegments.app1Payloads(bytes, header: JPEGSegments.xmpHeader).first {
            xmp = String(decoding: payload, as: UTF8.self)
        }
    case .png:
        for (k, v) in PNGChunks.texts(bytes) {
            if k == pngXMPKeyword { xmp = xmp ?? v } else { text.append((k, v)) }
        }
    }
    return ProvenanceRecord(file: name, format: format, provenance: xmp.flatMap(XMPPacket.parse), xmp: xmp,
                            exif: EXIFInfo.read(from: bytes, format: format), pngText: text)
}

/// What provenance records about an input photo: the SHA-256 of its bytes and its EXIF
/// DateTimeOriginal (copied into the output). Reads the file once.
public func readInputDetails(path: String) throws -> (sha256: String, dateTimeOriginal: String?) {
    let bytes = try FileIO.read(path)
    let format = try detectFormat(bytes, name: path)
    return (SHA256.hexDigest(bytes), EXIFInfo.read(from: bytes, format: format)?.dateTimeOriginal)
}
