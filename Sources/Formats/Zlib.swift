import CZlib
import Foundation

/// zlib's inflate for gzip files (the CLIP vocabulary) and raw deflate streams (compressed zip entries).
public enum Zlib {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// zlib counts bytes in `uInt` (32 bits): longer buffers are handed over in pieces of at most this
    /// many bytes. A parameter only so tests can exercise the piecing with small inputs.
    static let maxPiece = Int(UInt32.max)

    /// Decompresses a gzip (`windowBits` 31) or raw deflate (-15) stream. `limit` bounds the output so
    /// a hostile stream cannot exhaust memory.
    public static func inflate(_ input: Data, raw: Bool = false, limit: Int = 1 << 31) throws -> Data {
        try inflate(input, raw: raw, limit: limit, piece: maxPiece)
    }

    /// `piece`: the most input bytes given to zlib per call (see `maxPiece`).
    static func inflate(_ input: Data, raw: Bool, limit: Int, piece: Int) throws -> Data {
        precondition(piece > 0 && piece <= maxPiece, "zlib input piece must be 1...\(maxPiece) bytes")
        var stream = z_stream()
        let bits: Int32 = raw ? -15 : 31
        guard inflateInit2_(&stream, bits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(description: "zlib: could not initialise inflate")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        let chunk = 1 << 16
        var buffer = [UInt8](repeating: 0, count: chunk)
        return try input.withUnsafeBytes { (src: UnsafeRawBufferPointer) -> Data in
            let base = src.bindMemory(to: Bytef.self).baseAddress
            var fed = 0  // input bytes handed to zlib so far
            while true {
                if stream.avail_in == 0, fed < src.count, let base {
                    let n = min(piece, src.count - fed)
                    stream.next_in = UnsafeMutablePointer(mutating: base + fed)
                    stream.avail_in = uInt(n)
                    fed += n
                }
                let status: Int32 = buffer.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(chunk)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk - Int(stream.avail_out)
                output.append(contentsOf: buffer[0..<produced])
                if output.count > limit { throw Failure(description: "zlib: output exceeds \(limit) bytes") }
                if status == Z_STREAM_END { return output }
                if status != Z_OK {
                    let reason = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                    throw Failure(description: "zlib: corrupt or truncated stream (\(reason))")
                }
                if stream.avail_in == 0 && fed == src.count && produced == 0 { throw Failure(description: "zlib: truncated stream") }
            }
        }
    }

    /// CRC-32 as zip files use it.
    public static func crc32(_ data: Data, initial: UInt32 = 0) -> UInt32 {
        crc32(data, initial: initial, piece: maxPiece)
    }

    static func crc32(_ data: Data, initial: UInt32, piece: Int) -> UInt32 {
        precondition(piece > 0 && piece <= maxPiece, "zlib input piece must be 1...\(maxPiece) bytes")
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> UInt32 in
            let bytes = raw.bindMemory(to: Bytef.self)
            guard let base = bytes.baseAddress else { return initial }
            var crc = uLong(initial)
            var at = 0
            while at < bytes.count {
                let n = min(piece, bytes.count - at)
                crc = CZlib.crc32(crc, base + at, uInt(n))
                at += n
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }
}
