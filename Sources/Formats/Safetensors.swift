import Foundation

/// Hugging Face safetensors: u64 header length, a JSON header (name -> dtype, shape, data_offsets;
/// optional `__metadata__` string map), then the tensor bytes, which must tile the buffer exactly.
enum Safetensors {
    static let maxHeader = 100_000_000
    static let dtypes: [String: DType] = ["F32": .float32, "F16": .float16, "BF16": .bfloat16, "F64": .float64, "I64": .int64,
                                          "I32": .int32, "I16": .int16, "I8": .int8, "U8": .uint8, "BOOL": .bool]
    static func code(_ d: DType) -> String { dtypes.first { $0.value == d }!.key }

    /// 8-byte little-endian length, then a JSON object.
    static func looksLikeSafetensors(_ data: Data) -> Bool {
        guard data.count >= 10 else { return false }
        var r = ByteReader(data, context: "")
        guard let n = try? r.u64(), n >= 2, n <= UInt64(min(maxHeader, data.count - 8)) else { return false }
        return data[data.startIndex + 8] == UInt8(ascii: "{")
    }

    static func load(path: String, data: Data) throws -> LoadedFile {
        var r = ByteReader(data, context: "\(path): safetensors")
        let n64 = try r.u64()
        guard n64 <= UInt64(maxHeader), n64 <= UInt64(r.remaining) else {
            throw r.fail("header length \(n64) exceeds the file (\(data.count) bytes) or the \(maxHeader)-byte limit")
        }
        let headerBytes = try r.bytes(Int(n64))
        let bufferStart = r.position
        let bufferSize = data.count - bufferStart
        guard case .dict(let header) = try JSONReader.parse(headerBytes, context: "\(path): safetensors") else {
            throw r.fail("header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var entries: [(name: String, dtype: DType, shape: [Int], begin: Int, end: Int)] = []
        for (key, value) in header {
            let name = key.string ?? ""
            if name == "__metadata__" {
                guard case .dict(let m) = value else { throw r.fail("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v.string else { throw r.fail("__metadata__ value for '\(k.string ?? "")' is not a string") }
                    metadata[k.string ?? ""] = s
                }
                continue
            }
            func bad(_ m: String) -> FormatError { FormatError("\(path): safetensors tensor '\(name)': \(m)") }
            guard case .dict = value else { throw bad("entry is not an object") }
            guard let code = value["dtype"]?.string else { throw bad("missing dtype") }
            guard let dtype = dtypes[code] else { throw bad("unsupported dtype \(code)") }
            guard case .list(let shapeItems)? = value["shape"], case .list(let offs)? = value["data_offsets"], offs.count == 2 else {
                throw bad("missing shape or data_offsets [begin, end]")
            }
            let shape = try shapeItems.map { v -> Int in
                guard case .int(let i) = v, i >= 0 else { throw bad("shape holds a non-integer or negative value") }
                return i
            }
            guard case .int(let begin) = offs[0], case .int(let end) = offs[1], begin >= 0, begin <= end, end <= bufferSize else {
                throw bad("data_offsets outside the \(bufferSize)-byte buffer")
            }
            let count = try checkedCount(shape, bad)
            let (size, o) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !o, size == end - begin else { throw bad("\(code) \(shape) needs \(o ? "too many" : String(size)) bytes, offsets give \(end - begin)") }
            entries.append((name, dtype, shape, begin, end))
        }
        // Entries must tile the buffer: no holes, no overlaps.
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var cursor = 0
        for e in entries {
            guard e.begin == cursor else {
                throw FormatError("\(path): safetensors tensor '\(e.name)' starts at \(e.begin), expected \(cursor) (overlap or hole)")
            }
            cursor = e.end
        }
        guard cursor == bufferSize else { throw r.fail("tensors cover \(cursor) of \(bufferSize) buffer bytes") }
        let items = try entries.map { e in
            (key: PyValue.string(e.name),
             value: PyValue.tensor(try ArrayData(dtype: e.dtype, shape: e.shape, bytes: rebasedSlice(data, (bufferStart + e.begin)..<(bufferStart + e.end)))))
        }
        return LoadedFile(path: path, format: .safetensors, root: .dict(items), metadata: metadata)
    }
}
