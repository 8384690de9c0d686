import Foundation

/// Writes the protocol-2 pickle of a checkpoint the way torch.save does, restricted to what
/// `torch.load(weights_only=True)` accepts: dict, OrderedDict, list, tuple, str, int, float, bool,
/// None, bytes and tensors (each tensor gets its own storage record).
struct PickleWriter {
    private(set) var out: [UInt8] = [0x80, 0x02]
    /// Storages to write as `data/<key>`, in key order.
    private(set) var storages: [ArrayData] = []
    private var depth = 0

    static let storageNames: [DType: String] = [
        .float32: "FloatStorage", .float16: "HalfStorage", .bfloat16: "BFloat16Storage", .float64: "DoubleStorage",
        .int64: "LongStorage", .int32: "IntStorage", .int16: "ShortStorage", .int8: "CharStorage", .uint8: "ByteStorage", .bool: "BoolStorage",
    ]

    mutating func finish() -> [UInt8] { out.append(0x2E); return out }

    private mutating func global(_ module: String, _ name: String) {
        out.append(0x63)
        out += Array("\(module)\n\(name)\n".utf8)
    }

    private mutating func string(_ s: String) {
        let u = Array(s.utf8)
        out.append(0x58)
        withUnsafeBytes(of: UInt32(u.count).littleEndian) { out += $0 }
        out += u
    }

    private mutating func int(_ v: Int) {
        if v >= 0 && v < 256 { out += [0x4B, UInt8(v)] }
        else if v >= 0 && v < 65536 { out += [0x4D, UInt8(v & 0xFF), UInt8(v >> 8)] }
        else if v >= Int(Int32.min) && v <= Int(Int32.max) { out.append(0x4A); withUnsafeBytes(of: Int32(v).littleEndian) { out += $0 } }
        else {
            // LONG1: minimal two's complement, little-endian.
            var bytes: [UInt8] = []
            withUnsafeBytes(of: Int64(v).littleEndian) { bytes = Array($0) }
            while bytes.count > 1 {
                let last = bytes[bytes.count - 1], prev = bytes[bytes.count - 2]
                if (last == 0 && prev & 0x80 == 0) || (last == 0xFF && prev & 0x80 != 0) { bytes.removeLast() } else { break }
            }
            out += [0x8A, UInt8(bytes.count)] + bytes
        }
    }

    private mutating func tuple(_ build: (inout PickleWriter) throws -> Void, count: Int) rethrows {
        if count == 0 { out.append(0x29); return }
        if count > 3 { out.append(0x28) }
        try build(&self)
        out.append(count == 1 ? 0x85 : count == 2 ? 0x86 : count == 3 ? 0x87 : 0x74)
    }

    private mutating func ints(_ xs: [Int]) {
        tuple({ w in for x in xs { w.int(x) } }, count: xs.count)
    }

    private mutating func dictItems(_ items: [(key: PyValue, value: PyValue)], context: String) throws {
        // SETITEMS in batches of 1000, like Python's pickler.
        var i = 0
        while i < items.count {
            out.append(0x28)
            for item in items[i..<min(i + 1000, items.count)] {
                switch item.key {
                case .string, .int, .bool, .none, .float, .tuple: try value(item.key, context: context)
                default: throw FormatError("\(context): dict key of unsupported type")
                }
                try value(item.value, context: context + "." + (item.key.string ?? "?"))
            }
            out.append(0x75)
            i += 1000
        }
    }

    mutating func value(_ v: PyValue, context: String) throws {
        depth += 1
        defer { depth -= 1 }
        guard depth < 200 else { throw FormatError("\(context): nesting too deep to write") }
        switch v {
        case .none: out.append(0x4E)
        case .bool(let b): out.append(b ? 0x88 : 0x89)
        case .int(let i): int(i)
        case .float(let d):
            out.append(0x47)
            withUnsafeBytes(of: d.bitPattern.bigEndian) { out += $0 }
        case .string(let s): string(s)
        case .bytes(let d):
            // Protocol 2 spells bytes as _codecs.encode(latin-1 text, 'latin1').
            global("_codecs", "encode")
            string(String(d.map { Character(Unicode.Scalar($0)) }))
            string("latin1")
            out += [0x86, 0x52]
        case .list(let xs):
            out.append(0x5D)
            if !xs.isEmpty {
                out.append(0x28)
                for (i, x) in xs.enumerated() { try value(x, context: "\(context)[\(i)]") }
                out.append(0x65)
            }
        case .tuple(let xs):
            try tuple({ w in for (i, x) in xs.enumerated() { try w.value(x, context: "\(context)[\(i)]") } }, count: xs.count)
        case .dict(let items):
            out.append(0x7D)
            try dictItems(items, context: context)
        case .object(let type, let state):
            guard type == "collections.OrderedDict", case .dict(let items) = state else {
                throw FormatError("\(context): objects of type '\(type)' cannot be written (torch.load(weights_only=True) would refuse them)")
            }
            global("collections", "OrderedDict")
            out += [0x29, 0x52]
            try dictItems(items, context: context)
        case .tensor(let t):
            guard let storage = Self.storageNames[t.dtype] else { throw FormatError("\(context): no storage type for \(t.dtype)") }
            let key = String(storages.count)
            storages.append(t)
            global("torch._utils", "_rebuild_tensor_v2")
            out.append(0x28)
            // persistent id ('storage', torch.<T>Storage, key, 'cpu', numel)
            out.append(0x28)
            string("storage"); global("torch", storage); string(key); string("cpu"); int(t.count)
            out += [0x74, 0x51]
            int(0)
            ints(t.shape)
            var strides = [Int](repeating: 1, count: t.shape.count)
            for k in stride(from: t.shape.count - 2, through: 0, by: -1) { strides[k] = strides[k + 1] * t.shape[k + 1] }
            ints(strides)
            out.append(0x89)
            global("collections", "OrderedDict")
            out += [0x29, 0x52]
            out += [0x74, 0x52]
        }
    }
}

extension PyValue {
    /// An OrderedDict with string keys (what `state_dict()` returns), for `writeTorchCheckpoint`.
    public static func orderedDict(_ items: [(String, PyValue)]) -> PyValue {
        .object(type: "collections.OrderedDict", state: .dict(items.map { (key: .string($0.0), value: $0.1) }))
    }

    /// An OrderedDict of tensors.
    public static func stateDict(_ tensors: [(name: String, array: ArrayData)]) -> PyValue {
        orderedDict(tensors.map { ($0.name, .tensor($0.array)) })
    }
}
