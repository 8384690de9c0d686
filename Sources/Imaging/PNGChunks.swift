import CZlib

/// Walks and edits PNG chunks (length, type, data, CRC). Used for tEXt/iTXt/eXIf metadata.
enum PNGChunks {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    struct Chunk {
        var type: String
        var data: Range<Int>
        var whole: Range<Int>
    }

    /// Chunks in file order; stops quietly at the first malformed one.
    static func parse(_ bytes: [UInt8]) -> [Chunk] {
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else { return [] }
        var chunks: [Chunk] = []
        var i = 8
        while i + 12 <= bytes.count {
            let length = Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            guard length <= bytes.count - i - 12 else { break }
            let typeBytes = bytes[(i + 4)..<(i + 8)]
            guard typeBytes.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) }) else { break }
            let type = String(decoding: typeBytes, as: UTF8.self)
            chunks.append(Chunk(type: type, data: (i + 8)..<(i + 8 + length), whole: i..<(i + 12 + length)))
            i += 12 + length
            if type == "IEND" { break }
        }
        return chunks
    }

    /// A complete chunk with its CRC.
    static func make(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        precondition(typeBytes.count == 4, "PNG chunk types are 4 letters")
        let n = UInt32(data.count)
        var out: [UInt8] = [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
        out += typeBytes
        out += data
        let body = typeBytes + data
        let crc = body.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
        out += [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
        return out
    }

    /// tEXt: Latin-1 keyword and text (we only write ASCII here; other text goes to iTXt).
    static func text(_ keyword: String, _ value: String) -> [UInt8] {
        make("tEXt", Array(keyword.utf8) + [0] + Array(value.utf8))
    }

    /// iTXt, uncompressed, no language tag: UTF-8 text.
    static func internationalText(_ keyword: String, _ value: String) -> [UInt8] {
        make("iTXt", Array(keyword.utf8) + [0, 0, 0, 0, 0] + Array(value.utf8))
    }

    /// Text chunks as (keyword, text): tEXt read as Latin-1, uncompressed iTXt as UTF-8, and
    /// compressed iTXt/zTXt inflated.
    static func texts(_ bytes: [UInt8]) -> [(String, String)] {
        var out: [(String, String)] = []
        for chunk in parse(bytes) {
            let d = Array(bytes[chunk.data])
            guard let nul = d.firstIndex(of: 0) else { continue }
            let keyword = String(decoding: d[0..<nul], as: UTF8.self)
            switch chunk.type {
            case "tEXt":
                out.append((keyword, String(d[(nul + 1)...].map { Character(Unicode.Scalar($0)) })))
            case "zTXt":
                guard nul + 2 <= d.count, let text = inflate(Array(d[(nul + 2)...])) else { continue }
                out.append((keyword, String(text.map { Character(Unicode.Scalar($0)) })))
            case "iTXt":
                guard nul + 3 <= d.count else { continue }
                let compressed = d[nul + 1] != 0
                var j = nul + 3
                guard let langEnd = d[j...].firstIndex(of: 0) else { continue }
                j = langEnd + 1
                guard j <= d.count, let transEnd = d[j...].firstIndex(of: 0) else { continue }
                let body = Array(d[(transEnd + 1)...])
                if compressed {
                    guard let text = inflate(body) else { continue }
                    out.append((keyword, String(decoding: text, as: UTF8.self)))
                } else {
                    out.append((keyword, String(decoding: body, as: UTF8.self)))
                }
            default: continue
            }
        }
        return out
    }

    /// `bytes` with `newChunks` after IHDR and without existing chunks of the given text keywords
    /// or eXIf (ours replace them).
    static func inserting(_ newChunks: [[UInt8]], into bytes: [UInt8], replacingKeywords: Set<String>) throws -> [UInt8] {
        let chunks = parse(bytes)
        guard let ihdr = chunks.first, ihdr.type == "IHDR" else {
            throw ImagingError.invalidArgument("not a PNG stream")
        }
        var out = Array(bytes[0..<ihdr.whole.upperBound])
        for c in newChunks { out += c }
        var i = ihdr.whole.upperBound
        for chunk in chunks.dropFirst() {
            var replace = chunk.type == "eXIf"
            if ["tEXt", "iTXt", "zTXt"].contains(chunk.type) {
                let d = bytes[chunk.data]
                if let nul = d.firstIndex(of: 0) {
                    replace = replacingKeywords.contains(String(decoding: d[d.startIndex..<nul], as: UTF8.self))
                }
            }
            if replace {
                out += bytes[i..<chunk.whole.lowerBound]
                i = chunk.whole.upperBound
            }
        }
        out += bytes[i...]
        return out
    }

    /// zlib inflate with a 16 MB cap (text chunks are small; a bomb is refused).
    static func inflate(_ data: [UInt8]) -> [UInt8]? {
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var input = data
        return input.withUnsafeMutableBufferPointer { inBuf -> [UInt8]? in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = uInt(inBuf.count)
            while true {
                let status = buffer.withUnsafeMutableBufferPointer { outBuf -> Int32 in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(outBuf.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                let produced = buffer.count - Int(stream.avail_out)
                out += buffer[0..<produced]
                if out.count > 16 << 20 { return nil }
                if status == Z_STREAM_END { return out }
                if status != Z_OK || (produced == 0 && stream.avail_in == 0) { return nil }
            }
        }
    }
}
