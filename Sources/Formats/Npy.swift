import Foundation

/// NumPy `.npy` (format versions 1, 2 and 3).
enum Npy {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    static func looksLikeNpy(_ data: Data) -> Bool { data.count >= 6 && data.prefix(6).elementsEqual(magic) }

    static func read(_ data: Data, context: String) throws -> ArrayData {
        var r = ByteReader(data, context: context)
        guard looksLikeNpy(data) else { throw r.fail("not a .npy file (missing \\x93NUMPY magic)") }
        try r.skip(6)
        let major = try r.u8()
        _ = try r.u8()
        let headerLength: Int
        switch major {
        case 1: headerLength = Int(try r.u16())
        case 2, 3: headerLength = Int(try r.u32())
        default: throw r.fail("unsupported .npy format version \(major)")
        }
        let headerData = try r.bytes(headerLength)
        guard let header = String(data: headerData, encoding: major == 3 ? .utf8 : .ascii) else {
            throw r.fail("header is not \(major == 3 ? "UTF-8" : "ASCII") text")
        }
        var parser = PyLiteralParser(text: header, context: "\(context): header")
        guard case .dict(let items) = try parser.parse() else { throw r.fail("header is not a dict: \(header.prefix(80))") }
        func field(_ k: String) -> PyValue? { items.first { $0.key.string == k }?.value }
        guard let descr = field("descr")?.string else { throw r.fail("header has no 'descr' string") }
        guard let fortran = field("fortran_order")?.bool else { throw r.fail("header has no 'fortran_order' bool") }
        guard case .tuple(let dims)? = field("shape") else { throw r.fail("header has no 'shape' tuple") }
        let shape = try dims.map { d -> Int in
            guard let i = d.int, case .int = d else { throw r.fail("shape \(header) holds a non-integer") }
            return i
        }
        let (dtype, bigEndian) = try parseDescr(descr, context: context)
        let count = try checkedCount(shape, r.fail)
        let (size, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, size <= r.remaining else {
            throw r.fail("\(dtype.rawValue) \(shape) needs \(overflow ? "too many" : String(size)) bytes, the file has \(r.remaining) after the header")
        }
        var bytes = rebasedSlice(data, r.position..<(r.position + size))
        if bigEndian && dtype.byteSize > 1 { bytes = byteSwapped(bytes, width: dtype.byteSize) }
        if fortran && shape.count > 1 && count > 0 {
            // Fortran order: element (i0..in) sits at Σ i_k·Π_{j<k} shape_j.
            var strides = [Int](repeating: 1, count: shape.count)
            for k in 1..<shape.count { strides[k] = strides[k - 1] * shape[k - 1] }
            var budget = Int.max
            do {
                return try materializeView(storage: StorageRef(key: "npy", dtype: dtype, bytes: bytes), offset: 0, size: shape,
                                           stride: strides, copyBudget: &budget)
            } catch let e as FormatError {
                throw r.fail(e.description)
            }
        }
        return try ArrayData(dtype: dtype, shape: shape, bytes: bytes)
    }

    static func parseDescr(_ descr: String, context: String) throws -> (DType, Bool) {
        guard descr.count >= 2 else { throw FormatError("\(context): bad dtype descr '\(descr)'") }
        let order = descr.first!
        let code = String(descr.dropFirst())
        let table: [String: DType] = ["f2": .float16, "f4": .float32, "f8": .float64, "i8": .int64, "i4": .int32, "i2": .int16,
                                      "i1": .int8, "u1": .uint8, "b1": .bool]
        guard "<>|=".contains(order), let dtype = table[code] else {
            throw FormatError("\(context): unsupported dtype '\(descr)' (object arrays are refused; supported: f2 f4 f8 i8 i4 i2 i1 u1 b1)")
        }
        return (dtype, order == ">")
    }

    static func descr(_ dtype: DType) throws -> String {
        switch dtype {
        case .float16: return "<f2"
        case .float32: return "<f4"
        case .float64: return "<f8"
        case .int64: return "<i8"
        case .int32: return "<i4"
        case .int16: return "<i2"
        case .int8: return "|i1"
        case .uint8: return "|u1"
        case .bool: return "|b1"
        case .bfloat16: throw FormatError(".npy has no bfloat16 type; convert to float32 first")
        }
    }

    static func encode(_ array: ArrayData) throws -> Data {
        let dims = array.shape.map(String.init)
        let shape = dims.count == 1 ? "(\(dims[0]),)" : "(\(dims.joined(separator: ", ")))"
        var header = "{'descr': '\(try descr(array.dtype))', 'fortran_order': False, 'shape': \(shape), }"
        // Pad with spaces and a final newline so the preamble is a multiple of 64 bytes.
        var version: UInt8 = 1
        var preamble = 10
        if header.utf8.count + 1 + preamble > 65535 { version = 2; preamble = 12 }
        let total = (preamble + header.utf8.count + 1 + 63) / 64 * 64
        header += String(repeating: " ", count: total - preamble - header.utf8.count - 1) + "\n"
        var out = Data(magic)
        out.append(contentsOf: [version, 0])
        let n = header.utf8.count
        if version == 1 {
            out.append(contentsOf: [UInt8(n & 0xFF), UInt8(n >> 8)])
        } else {
            withUnsafeBytes(of: UInt32(n).littleEndian) { out.append(contentsOf: $0) }
        }
        out.append(contentsOf: Array(header.utf8))
        out.append(array.bytes)
        return out
    }
}

func byteSwapped(_ data: Data, width: Int) -> Data {
    var out = Data(data)
    out.withUnsafeMutableBytes { (p: UnsafeMutableRawBufferPointer) in
        var i = 0
        while i + width <= p.count {
            var a = i, b = i + width - 1
            while a < b { p.swapAt(a, b); a += 1; b -= 1 }
            i += width
        }
    }
    return out
}

/// Parses the small Python literals found in .npy headers: dicts, tuples, lists, strings, ints, bools, None.
struct PyLiteralParser {
    let scalars: [Unicode.Scalar]
    var i = 0
    let context: String
    var depth = 0

    init(text: String, context: String) {
        scalars = Array(text.unicodeScalars)
        self.context = context
    }

    func fail(_ m: String) -> FormatError { FormatError("\(context): \(m) at character \(i)") }

    mutating func skipSpace() { while i < scalars.count, scalars[i] == " " || scalars[i] == "\n" || scalars[i] == "\t" || scalars[i] == "\r" { i += 1 } }

    mutating func parse() throws -> PyValue {
        let v = try value()
        skipSpace()
        guard i == scalars.count else { throw fail("unexpected trailing text") }
        return v
    }

    mutating func value() throws -> PyValue {
        depth += 1
        defer { depth -= 1 }
        guard depth < 32 else { throw fail("literal nested too deeply") }
        skipSpace()
        guard i < scalars.count else { throw fail("unexpected end of text") }
        let c = scalars[i]
        switch c {
        case "{":
            i += 1
            var items: [(key: PyValue, value: PyValue)] = []
            while true {
                skipSpace()
                guard i < scalars.count else { throw fail("unterminated dict") }
                if scalars[i] == "}" { i += 1; return .dict(items) }
                let k = try value()
                skipSpace()
                guard i < scalars.count, scalars[i] == ":" else { throw fail("expected ':'") }
                i += 1
                let v = try value()
                items.append((k, v))
                skipSpace()
                if i < scalars.count, scalars[i] == "," { i += 1 }
            }
        case "(", "[":
            let close: Unicode.Scalar = c == "(" ? ")" : "]"
            i += 1
            var xs: [PyValue] = []
            while true {
                skipSpace()
                guard i < scalars.count else { throw fail("unterminated sequence") }
                if scalars[i] == close { i += 1; return c == "(" ? .tuple(xs) : .list(xs) }
                xs.append(try value())
                skipSpace()
                if i < scalars.count, scalars[i] == "," { i += 1 }
            }
        case "'", "\"":
            i += 1
            var s = ""
            while i < scalars.count, scalars[i] != c {
                if scalars[i] == "\\" { i += 1; guard i < scalars.count else { break } }
                s.unicodeScalars.append(scalars[i])
                i += 1
            }
            guard i < scalars.count else { throw fail("unterminated string") }
            i += 1
            return .string(s)
        default:
            var word = ""
            while i < scalars.count, !",:)]} \n".unicodeScalars.contains(scalars[i]) {
                word.unicodeScalars.append(scalars[i])
                i += 1
            }
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            default:
                let w = word.hasSuffix("L") ? String(word.dropLast()) : word
                if let v = Int(w) { return .int(v) }
                if let d = Double(w) { return .float(d) }
                throw fail("unexpected '\(word.prefix(20))'")
            }
        }
    }
}
