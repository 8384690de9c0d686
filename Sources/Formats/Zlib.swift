import CZlib
import Foundation

/// zlib's inflate for gzip files (the CLIP vocabulary) and raw deflate streams (compressed zip entries).
public enum Zlib {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Decompresses a gzip (`windowBits` 31) or raw deflate (-15) stream. `limit` bounds the output so
    /// a hostile stream cannot exhaust memory.
    public static func inflate(_ input: Data, raw: Bool = false, limit: Int = 1 << 31) throws -> Data {
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
            stream.next_in = UnsafeMutablePointer(mutating: src.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(src.count)
            while true {
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
                if stream.avail_in == 0 && produced == 0 { throw Failure(description: "zlib: truncated stream") }
            }
        }
    }

    /// CRC-32 as zip files use it.
    public static func crc32(_ data: Data, initial: UInt32 = 0) -> UInt32 {
        data.withUnsafeBytes { UInt32(CZlib.crc32(uLong(initial), $0.bindMemory(to: Bytef.self).baseAddress, uInt($0.count))) }
    }
}
