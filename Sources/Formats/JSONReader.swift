import Foundation

/// A small strict JSON parser for safetensors headers. Unlike JSONSerialization it keeps key order,
/// keeps integers exact (offsets beyond 2^53) and bounds nesting depth.
struct JSONReader {
    private let bytes: [UInt8]
    private var i = 0
    private let context: String
    private var depth = 0

    static func parse(_ data: Data, context: String) throws -> PyValue {
        var p = JSONReader(bytes: Array(data), context: context)
        let v = try p.value()
        p.space()
        // safetensors pads the header with trailing spaces; anything else after the value is an error.
        guard p.i == p.bytes.count else { throw p.fail("unexpected text after the JSON value") }
        return v
    }

    private init(bytes: [UInt8], context: String) {
        self.bytes = bytes
        self.context = context
    }

    private func fail(_ m: String) -> FormatError { FormatError("\(context): JSON header: \(m) at byte \(i)") }

    private mutating func space() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private mutating func expect(_ c: UInt8) throws {
        space()
        guard i < bytes.count, bytes[i] == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
        i += 1
    }

    private mutating func value() throws -> PyValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 64 else { throw fail("nesting deeper than 64 levels") }
        space()
        guard i < bytes.count else { throw fail("unexpected end") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var items: [(key: PyValue, value: PyValue)] = []
            var seen = Set<String>()
            space()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .dict(items) }
            while true {
                space()
                let k = try string()
                try expect(UInt8(ascii: ":"))
                let v = try value()
                guard seen.insert(k).inserted else { throw fail("duplicate key '\(k)'") }
                items.append((.string(k), v))
                space()
                guard i < bytes.count else { throw fail("unterminated object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .dict(items) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            i += 1
            var xs: [PyValue] = []
            space()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .list(xs) }
            while true {
                xs.append(try value())
                space()
                guard i < bytes.count else { throw fail("unterminated array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .list(xs) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .none
        default:
            return try number()
        }
    }

    private mutating func literal(_ word: String) throws {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { throw fail("bad literal") }
        i += w.count
    }

    private mutating func number() throws -> PyValue {
        let start = i
        while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
        guard i > start, i - start < 64 else { throw fail("bad number") }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if let v = Int(text) { return .int(v) }
        if let d = Double(text) { return .float(d) }
        throw fail("bad number '\(text)'")
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16) else {
            throw fail("bad \\u escape")
        }
        i += 4
        return v
    }

    private mutating func string() throws -> String {
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string") }
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw fail("unterminated string") }
            let c = bytes[i]
            i += 1
            if c == UInt8(ascii: "\"") { break }
            if c < 0x20 { throw fail("control character in string") }
            if c != UInt8(ascii: "\\") { out.append(c); continue }
            guard i < bytes.count else { throw fail("unterminated escape") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var v = try hex4()
                if (0xD800..<0xDC00).contains(v) {
                    guard i + 2 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else { throw fail("unpaired surrogate") }
                    i += 2
                    let lo = try hex4()
                    guard (0xDC00..<0xE000).contains(lo) else { throw fail("bad surrogate pair") }
                    v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                }
                guard let u = Unicode.Scalar(v) else { throw fail("bad code point") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default: throw fail("bad escape")
            }
        }
        guard let s = String(bytes: out, encoding: .utf8) else { throw fail("string is not UTF-8") }
        return s
    }
}
