import DurableIO
import Foundation

/// Writes a zip archive entry by entry through a `FileWriter` (write errors are thrown, naming the file): stored (uncompressed) entries whose data
/// start at multiples of 64 bytes (as torch.save does, so readers can map tensors in place), with
/// ZIP64 fields when offsets or sizes need them.
struct ZipWriter {
    private let writer: FileWriter
    private var offset = 0
    private var central = Data()
    private var count = 0
    static let alignment = 64

    init(writer: FileWriter) { self.writer = writer }

    private mutating func write(_ d: Data) throws {
        try d.withUnsafeBytes { try writer.write($0) }
        offset += d.count
    }

    mutating func add(_ name: String, _ data: Data) throws {
        let nameBytes = Array(name.utf8)
        let crc = Zlib.crc32(data)
        let size = data.count
        let local = offset
        let big = size >= 0xFFFF_FFFF || local >= 0xFFFF_FFFF
        var h = Data()
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { h.append(contentsOf: $0) } }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { h.append(contentsOf: $0) } }
        func u64(_ v: Int) { withUnsafeBytes(of: UInt64(v).littleEndian) { h.append(contentsOf: $0) } }

        // Local header; the "FB" extra field pads the payload to the alignment.
        let zip64Local = big ? 20 : 0
        let fixed = 30 + nameBytes.count + zip64Local + 4
        let pad = (Self.alignment - (local + fixed) % Self.alignment) % Self.alignment
        u32(0x0403_4B50); u16(big ? 45 : 20); u16(0x0800); u16(0); u16(0); u16(0x21)
        u32(crc); u32(big ? 0xFFFF_FFFF : UInt32(size)); u32(big ? 0xFFFF_FFFF : UInt32(size))
        u16(nameBytes.count); u16(zip64Local + 4 + pad)
        h.append(contentsOf: nameBytes)
        if big { u16(0x0001); u16(16); u64(size); u64(size) }
        u16(0x4246); u16(pad)
        h.append(Data(repeating: UInt8(ascii: "Z"), count: pad))
        try write(h)
        try write(data)

        // Central directory record.
        h = Data()
        u32(0x0201_4B50); u16(big ? 45 : 20); u16(big ? 45 : 20); u16(0x0800); u16(0); u16(0); u16(0x21)
        u32(crc); u32(big ? 0xFFFF_FFFF : UInt32(size)); u32(big ? 0xFFFF_FFFF : UInt32(size))
        u16(nameBytes.count); u16(big ? 28 : 0); u16(0); u16(0); u16(0); u32(0)
        u32(big ? 0xFFFF_FFFF : UInt32(local))
        h.append(contentsOf: nameBytes)
        if big { u16(0x0001); u16(24); u64(size); u64(size); u64(local) }
        central.append(h)
        count += 1
    }

    /// Central directory, ZIP64 end record and locator (always, as torch writes them), classic end record.
    mutating func finish() throws {
        let cdOffset = offset, cdSize = central.count
        try write(central)
        var h = Data()
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { h.append(contentsOf: $0) } }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { h.append(contentsOf: $0) } }
        func u64(_ v: Int) { withUnsafeBytes(of: UInt64(v).littleEndian) { h.append(contentsOf: $0) } }
        let zip64End = offset
        u32(0x0606_4B50); u64(44); u16(45); u16(45); u32(0); u32(0); u64(count); u64(count); u64(cdSize); u64(cdOffset)
        u32(0x0706_4B50); u32(0); u64(zip64End); u32(1)
        let small = count < 0xFFFF && cdSize < 0xFFFF_FFFF && cdOffset < 0xFFFF_FFFF
        u32(0x0605_4B50); u16(0); u16(0)
        u16(small ? count : 0xFFFF); u16(small ? count : 0xFFFF)
        u32(small ? UInt32(cdSize) : 0xFFFF_FFFF); u32(small ? UInt32(cdOffset) : 0xFFFF_FFFF); u16(0)
        try write(h)
    }
}
