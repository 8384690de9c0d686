import Foundation

/// Reads the central directory of a zip archive (the container of torch.save, TorchScript and .npz).
/// Sizes and offsets always come from the central directory: torch writes zeros in the local headers
/// and puts the real values in data descriptors. ZIP64 records are honoured.
///
/// Zip bombs are refused before anything is inflated: every entry must own its bytes (no two local
/// headers or data ranges overlap, so the compressed sizes add up to at most the file), and the
/// compressed entries together may inflate to at most `LoadLimits.inflatedBudget`. Each loader reads an
/// entry once, so that bounds the memory inflation can take.
struct ZipArchive {
    struct Entry {
        let name: String
        let method: UInt16
        let crc32: UInt32
        let compressedSize: Int
        let uncompressedSize: Int
        let localHeaderOffset: Int
        /// Where the (compressed) data starts: after the local header, its name and extra field.
        let dataOffset: Int
    }

    let path: String
    let data: Data
    /// Entries in central-directory order.
    let entries: [Entry]
    private let index: [String: Int]

    static func looksLikeZip(_ data: Data) -> Bool {
        data.count >= 4 && data.prefix(4).elementsEqual([0x50, 0x4B, 0x03, 0x04])
    }

    init(path: String, data: Data, limits: LoadLimits = .standard) throws {
        self.path = path
        self.data = data
        var r = ByteReader(data, context: "\(path): zip")
        let n = data.count
        guard n >= 22 else { throw r.fail("file too short (\(n) bytes) for a zip archive") }

        // The end-of-central-directory record sits within the last 22 + 65535 bytes (comment).
        var eocd = -1
        var i = n - 22
        let lowest = max(0, n - 22 - 65535)
        while i >= lowest {
            let s = data.startIndex + i
            if data[s] == 0x50 && data[s + 1] == 0x4B && data[s + 2] == 0x05 && data[s + 3] == 0x06 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw r.fail("no end-of-central-directory record (truncated or not a zip)") }
        try r.seek(eocd + 10)
        var total = Int(try r.u16())
        var cdSize = Int(try r.u32())
        var cdOffset = Int(try r.u32())
        if total == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            // ZIP64: the locator is the 20 bytes before the classic record.
            guard eocd >= 20 else { throw r.fail("ZIP64 locator missing") }
            try r.seek(eocd - 20)
            guard try r.u32() == 0x0706_4B50 else { throw r.fail("ZIP64 locator missing before end record") }
            _ = try r.u32()
            let recordOffset = try r.u64()
            guard recordOffset < UInt64(n) else { throw r.fail("ZIP64 end record offset \(recordOffset) beyond file end \(n)") }
            try r.seek(Int(recordOffset))
            guard try r.u32() == 0x0606_4B50 else { throw r.fail("bad ZIP64 end record signature at offset \(recordOffset)") }
            try r.skip(8 + 2 + 2 + 4 + 4 + 8)
            let t = try r.u64(), sz = try r.u64(), off = try r.u64()
            guard t <= UInt64(n), sz <= UInt64(n), off <= UInt64(n) else {
                throw r.fail("ZIP64 end record has impossible values (entries \(t), size \(sz), offset \(off)) for a \(n)-byte file")
            }
            total = Int(t); cdSize = Int(sz); cdOffset = Int(off)
        }
        guard cdOffset <= n, cdSize <= n - cdOffset else {
            throw r.fail("central directory (offset \(cdOffset), size \(cdSize)) lies outside the \(n)-byte file")
        }
        guard total <= cdSize / 46 + 1 else { throw r.fail("central directory claims \(total) entries in \(cdSize) bytes") }

        var entries: [Entry] = []
        entries.reserveCapacity(total)
        var index: [String: Int] = [:]
        try r.seek(cdOffset)
        for k in 0..<total {
            guard try r.u32() == 0x0201_4B50 else { throw r.fail("bad central directory header signature for entry #\(k)") }
            try r.skip(6)
            let method = try r.u16()
            try r.skip(4)
            let crc = try r.u32()
            var compressed = UInt64(try r.u32())
            var uncompressed = UInt64(try r.u32())
            let nameLen = Int(try r.u16()), extraLen = Int(try r.u16()), commentLen = Int(try r.u16())
            try r.skip(8)
            var local = UInt64(try r.u32())
            let nameData = try r.bytes(nameLen)
            guard let name = String(data: nameData, encoding: .utf8) else { throw r.fail("entry #\(k) has a name that is not UTF-8") }
            var extra = ByteReader(try r.bytes(extraLen), context: "\(path): zip entry '\(name)' extra field")
            while extra.remaining >= 4 {
                let id = try extra.u16(), len = Int(try extra.u16())
                var field = ByteReader(try extra.bytes(len), context: extra.context)
                if id == 0x0001 {
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try field.u64() }
                    if compressed == 0xFFFF_FFFF { compressed = try field.u64() }
                    if local == 0xFFFF_FFFF { local = try field.u64() }
                }
            }
            try r.skip(commentLen)
            guard compressed <= UInt64(n), local < UInt64(n), uncompressed <= UInt64(Int.max / 2) else {
                throw FormatError("\(path): zip entry '\(name)': impossible size/offset (compressed \(compressed), uncompressed \(uncompressed), offset \(local)) for a \(n)-byte file")
            }
            guard index[name] == nil else { throw FormatError("\(path): zip entry '\(name)' appears twice") }
            index[name] = entries.count
            let dataOffset = try Self.dataOffset(data, path: path, name: name, localHeader: Int(local))
            guard Int(compressed) <= n - dataOffset else {
                throw FormatError("\(path): zip entry '\(name)': data (\(compressed) bytes at offset \(dataOffset)) runs past the end of the \(n)-byte file")
            }
            entries.append(Entry(name: name, method: method, crc32: crc, compressedSize: Int(compressed),
                                 uncompressedSize: Int(uncompressed), localHeaderOffset: Int(local), dataOffset: dataOffset))
        }
        try Self.checkNoOverlap(entries, path: path)
        try Self.checkInflatedTotal(entries, path: path, fileSize: n, limits: limits)
        self.entries = entries
        self.index = index
    }

    /// Offset of an entry's data: its local header is 30 bytes plus its own name and extra lengths.
    private static func dataOffset(_ data: Data, path: String, name: String, localHeader: Int) throws -> Int {
        var r = ByteReader(data, context: "\(path): zip entry '\(name)'")
        try r.seek(localHeader)
        guard try r.u32() == 0x0403_4B50 else { throw r.fail("bad local header signature at offset \(localHeader)") }
        try r.skip(22)
        let nameLen = Int(try r.u16()), extraLen = Int(try r.u16())
        try r.skip(nameLen + extraLen)
        return r.position
    }

    /// Each entry's local header and data must be its own: archives whose central directory points
    /// several entries at the same bytes expand a small file into any amount of data.
    private static func checkNoOverlap(_ entries: [Entry], path: String) throws {
        let spans = entries.map { (name: $0.name, range: $0.localHeaderOffset..<($0.dataOffset + $0.compressedSize)) }
            .sorted { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
        for (a, b) in zip(spans, spans.dropFirst()) where b.range.lowerBound < a.range.upperBound {
            throw FormatError("\(path): zip entries '\(a.name)' (bytes \(a.range.lowerBound)..<\(a.range.upperBound)) and '\(b.name)' (bytes \(b.range.lowerBound)..<\(b.range.upperBound)) share data: the archive is damaged or a zip bomb")
        }
    }

    /// Stored entries are slices of the file; compressed ones are inflated into memory, at most
    /// `limits.inflatedBudget(fileSize:)` bytes in all.
    private static func checkInflatedTotal(_ entries: [Entry], path: String, fileSize: Int, limits: LoadLimits) throws {
        var total = 0
        for e in entries where e.method != 0 {
            // Sizes are at most Int.max / 2 each (checked above); stop adding once past any budget.
            total += e.uncompressedSize
            if total > Int.max / 2 { break }
        }
        let budget = limits.inflatedBudget(fileSize: fileSize)
        guard total <= budget else {
            let factorBudget = fileSize.multipliedReportingOverflow(by: limits.maxInflationFactor)
            let reason = !factorBudget.overflow && factorBudget.partialValue <= limits.maxInflatedBytes
                ? "\(limits.maxInflationFactor) × the \(byteCount(fileSize)) file"
                : "the \(byteCount(limits.maxInflatedBytes)) cap"
            throw FormatError("\(path): zip entries would inflate to \(byteCount(total)) in total, more than the limit of \(byteCount(budget)) (\(reason)): a zip bomb or a damaged central directory; if the file is genuine, raise the inflation limit (LoadLimits)")
        }
    }

    func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The entry's uncompressed bytes, CRC-checked. Stored entries are zero-copy slices of the file.
    func read(_ e: Entry) throws -> Data {
        let r = ByteReader(data, context: "\(path): zip entry '\(e.name)'")
        let start = e.dataOffset
        guard e.compressedSize <= data.count - start else {
            throw r.fail("data (\(e.compressedSize) bytes at offset \(start)) runs past the end of the \(data.count)-byte file")
        }
        let out: Data
        switch e.method {
        case 0:
            guard e.compressedSize == e.uncompressedSize else {
                throw r.fail("stored entry with compressed size \(e.compressedSize) != size \(e.uncompressedSize)")
            }
            out = rebasedSlice(data, start..<(start + e.compressedSize))
        case 8:
            // Deflate cannot expand more than ~1032:1; a larger claim is a zip bomb or damage.
            guard e.uncompressedSize <= e.compressedSize * 1032 + 1024 else {
                throw r.fail("claims \(e.uncompressedSize) bytes from \(e.compressedSize) compressed bytes (impossible ratio)")
            }
            do {
                out = try Zlib.inflate(rebasedSlice(data, start..<(start + e.compressedSize)), raw: true, limit: e.uncompressedSize)
            } catch {
                throw r.fail("\(error)")
            }
            guard out.count == e.uncompressedSize else {
                throw r.fail("inflated to \(out.count) bytes, central directory says \(e.uncompressedSize)")
            }
        default:
            throw r.fail("unsupported compression method \(e.method)")
        }
        let crc = Zlib.crc32(out)
        guard crc == e.crc32 else {
            throw r.fail(String(format: "CRC mismatch (stored %08x, computed %08x): the data is damaged", e.crc32, crc))
        }
        return out
    }

    func read(_ name: String) throws -> Data {
        guard let e = entry(name) else { throw FormatError("\(path): zip has no entry '\(name)'") }
        return try read(e)
    }
}
