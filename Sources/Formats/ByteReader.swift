import DurableIO
import Foundation

/// Bounds-checked little-endian reads from a byte buffer. Every read checks the remaining length first,
/// so hostile length fields turn into errors instead of traps. `context` prefixes every message
/// ("file: entry").
struct ByteReader {
    let data: Data
    let context: String
    /// Offset relative to `data.startIndex`.
    private(set) var position: Int = 0

    init(_ data: Data, context: String) {
        self.data = data
        self.context = context
    }

    var count: Int { data.count }
    var remaining: Int { data.count - position }
    var atEnd: Bool { position >= data.count }

    func fail(_ message: String) -> FormatError { FormatError("\(context): \(message)") }

    mutating func seek(_ offset: Int) throws {
        guard offset >= 0, offset <= data.count else { throw fail("offset \(offset) is outside the \(data.count)-byte data") }
        position = offset
    }

    mutating func skip(_ n: Int) throws {
        guard n >= 0, n <= remaining else { throw fail("truncated: need \(n) bytes at offset \(position), \(remaining) left") }
        position += n
    }

    mutating func u8() throws -> UInt8 {
        guard remaining >= 1 else { throw fail("truncated at offset \(position)") }
        let v = data[data.startIndex + position]
        position += 1
        return v
    }

    mutating func fixed<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw fail("truncated: need \(size) bytes at offset \(position), \(remaining) left") }
        var v: T = 0
        let start = data.startIndex + position
        withUnsafeMutableBytes(of: &v) { dst in
            data.copyBytes(to: dst.bindMemory(to: UInt8.self), from: start..<(start + size))
        }
        position += size
        return T(littleEndian: v)
    }

    mutating func u16() throws -> UInt16 { try fixed(UInt16.self) }
    mutating func u32() throws -> UInt32 { try fixed(UInt32.self) }
    mutating func u64() throws -> UInt64 { try fixed(UInt64.self) }
    mutating func i32() throws -> Int32 { try fixed(Int32.self) }
    mutating func i64() throws -> Int64 { try fixed(Int64.self) }

    /// `n` bytes as a slice (no copy). `n` is checked against what is left before anything is done.
    mutating func bytes(_ n: Int) throws -> Data {
        guard n >= 0, n <= remaining else {
            throw fail("truncated: a length field says \(n) bytes at offset \(position), only \(remaining) left")
        }
        let start = data.startIndex + position
        position += n
        return data[start..<(start + n)]
    }

    /// Bytes up to (not including) the next `\n`, which is consumed.
    mutating func line(maxLength: Int = 1 << 16) throws -> Data {
        let start = data.startIndex + position
        let limit = min(data.count - position, maxLength)
        var i = 0
        while i < limit {
            if data[start + i] == 0x0A {
                position += i + 1
                return data[start..<(start + i)]
            }
            i += 1
        }
        throw fail("unterminated text line at offset \(position)")
    }
}

/// A standalone copy of `data[range]` whose indices start at 0. Large ranges of large buffers share the
/// parent's memory (the parent is kept alive by the deallocator), so memory-mapped storages are not copied.
func rebasedSlice(_ data: Data, _ range: Range<Int>) -> Data {
    let lower = data.startIndex + range.lowerBound
    let upper = data.startIndex + range.upperBound
    // Small buffers may live inline in the Data value, where no stable pointer exists: copy them.
    if range.count < 4096 || data.count < 4096 { return Data(data[lower..<upper]) }
    let parent = data
    return parent.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Data in
        let base = UnsafeMutableRawPointer(mutating: raw.baseAddress!) + range.lowerBound
        return Data(bytesNoCopy: base, count: range.count, deallocator: .custom { _, _ in _ = parent })
    }
}

/// Reads a whole file, memory-mapped (no copy into the heap).
func mapFile(_ path: String) throws -> Data {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
        throw FormatError("\(path): no such file")
    }
    guard !isDir.boolValue else { throw FormatError("\(path): is a directory, expected a file") }
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
        throw FormatError("\(path): cannot read (\(error.localizedDescription))")
    }
}

/// Writes `data` to `path` durably through a temporary file (see `AtomicFile`), replacing an existing file.
func atomicWrite(_ data: Data, to path: String) throws {
    try atomicWrite(to: path) { writer in try data.withUnsafeBytes { try writer.write($0) } }
}

func atomicWrite(to path: String, _ body: (FileWriter) throws -> Void) throws {
    try AtomicFile.write(to: path, replacing: true, body)
}
