import CZlib
import Foundation
@testable import Formats

/// Builds zip archives in memory with full control over the central directory, so tests can make
/// archives a writer never would: several directory entries sharing one local record, entries nested
/// inside another entry's data, sizes that claim more than the data holds.
struct ZipBuilder {
    struct Record {
        var name: String
        var method: UInt16
        var crc: UInt32
        var compressedSize: Int
        var uncompressedSize: Int
        var localOffset: Int
    }

    private(set) var body = Data()
    private(set) var directory: [Record] = []

    /// Appends a local header and its data; returns the record to list in the central directory
    /// (not listed yet: call `list`).
    @discardableResult
    mutating func addLocal(_ name: String, payload: Data, deflate: Bool = false) -> Record {
        let stored = deflate ? Self.rawDeflate(payload) : payload
        let r = Record(name: name, method: deflate ? 8 : 0, crc: Zlib.crc32(payload), compressedSize: stored.count,
                       uncompressedSize: payload.count, localOffset: body.count)
        var h = Data()
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { h.append(contentsOf: $0) } }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { h.append(contentsOf: $0) } }
        let nameBytes = Array(name.utf8)
        u32(0x0403_4B50); u16(20); u16(0); u16(Int(r.method)); u16(0); u16(0x21)
        u32(r.crc); u32(UInt32(r.compressedSize)); u32(UInt32(r.uncompressedSize))
        u16(nameBytes.count); u16(0)
        h.append(contentsOf: nameBytes)
        body.append(h)
        body.append(stored)
        return r
    }

    /// Adds a local record and lists it.
    mutating func add(_ name: String, payload: Data, deflate: Bool = false) {
        list(addLocal(name, payload: payload, deflate: deflate))
    }

    mutating func list(_ r: Record) { directory.append(r) }

    /// The archive: body, central directory, classic end record (sizes here stay below 4 GiB).
    func archive() -> Data {
        var out = body
        var h = Data()
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { h.append(contentsOf: $0) } }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { h.append(contentsOf: $0) } }
        for r in directory {
            let nameBytes = Array(r.name.utf8)
            u32(0x0201_4B50); u16(20); u16(20); u16(0); u16(Int(r.method)); u16(0); u16(0x21)
            u32(r.crc); u32(UInt32(r.compressedSize)); u32(UInt32(r.uncompressedSize))
            u16(nameBytes.count); u16(0); u16(0); u16(0); u16(0); u32(0)
            u32(UInt32(r.localOffset))
            h.append(contentsOf: nameBytes)
        }
        let cdOffset = out.count, cdSize = h.count
        u32(0x0605_4B50); u16(0); u16(0); u16(directory.count); u16(directory.count)
        u32(UInt32(cdSize)); u32(UInt32(cdOffset)); u16(0)
        out.append(h)
        return out
    }

    /// A raw deflate stream (no zlib header), as zip entries hold them.
    static func rawDeflate(_ input: Data) -> Data {
        var stream = z_stream()
        precondition(deflateInit2_(&stream, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                                   Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 64)
        var src = [UInt8](input)
        let produced: Int = src.withUnsafeMutableBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                stream.next_in = s.baseAddress
                stream.avail_in = uInt(s.count)
                stream.next_out = o.baseAddress
                stream.avail_out = uInt(o.count)
                precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
                return o.count - Int(stream.avail_out)
            }
        }
        return Data(out[0..<produced])
    }

    /// A `.npy` file holding `array` (for .npz members).
    static func npy(_ array: ArrayData) -> Data { try! Npy.encode(array) }
}
