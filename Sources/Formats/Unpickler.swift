import Foundation

/// A pickle interpreter for data only. It never imports or calls anything: GLOBAL names are checked
/// against an allow-list and each allowed callable has a fixed, data-only meaning implemented here
/// (rebuild a tensor from a storage, make an OrderedDict, ...). Any other global is an error naming it.
/// Limits: stack size, memo size, container sizes are bounded by the input length; nested calls by
/// `maxCallDepth`; the output tree is bounded by `PyValueConverter`. Nothing recurses over the working
/// tree: values the VM drops are kept until the end and then torn down iteratively (`dismantle`).
struct Unpickler {
    /// Resolves a persistent id `('storage', type, key, location, numel[, view])` to storage bytes.
    typealias StorageLoader = (_ key: String, _ dtype: DType, _ numel: Int) throws -> StorageRef

    /// TorchScript archives pickle module objects as `__torch__.*` classes; plain checkpoints must not.
    var allowTorchScriptClasses = false
    /// NVlabs network pickles (`NVlabsPickle`): admits the globals in `NVlabsPickle.globals` as data
    /// (persistent-object records, nested storage bytes, EasyDict) and TensorFlow `Network` objects as records
    /// (`TFNetworkPickle`); set only by that reader, so a torch.save checkpoint can use none of them.
    var nvlabs: NVlabsPickle.Hooks? = nil
    /// Legacy checkpoints put the storage bytes after the pickle: a first pass with `dryRun` only
    /// collects the storages (via the loader) and the pickle's end; tensors become empty placeholders.
    var dryRun = false
    /// Bytes that non-contiguous views may still allocate (expanded views can be far larger than the file).
    var copyBudget: Int

    private var reader: ByteReader
    private let loadStorage: StorageLoader
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    /// Every value popped off the stack, kept alive until `load` ends. A dropped value may be the last
    /// reference to a hostile chain a million containers deep, and Swift releases nested values
    /// recursively (stack overflow); kept here, the chain is taken apart by `dismantle` instead.
    /// Costs one reference per pop, and pops are bounded by the pickle's length.
    private var dropped: [PickleValue] = []
    private var opStart = 0
    /// Depth of the `call` in progress (the `_rebuild_from_type_v2` wrappers call their inner function).
    private var callDepth = 0
    static let maxStack = 1 << 22
    static let maxMemo = 1 << 22
    /// torch pickles `_rebuild_from_type_v2(_rebuild_tensor_v2, type, args, state)`: two nested calls,
    /// since torch only wraps a plain tensor's reduction, never another wrapper. 32 is far above any real
    /// file and keeps a hostile chain (a 15 KB pickle nests ~2000 calls) from exhausting the stack.
    static let maxCallDepth = 32

    init(data: Data, context: String, copyBudget: Int, loadStorage: @escaping StorageLoader) {
        reader = ByteReader(data, context: context)
        self.loadStorage = loadStorage
        self.copyBudget = copyBudget
    }

    var context: String { reader.context }
    /// Offset just after the STOP opcode (legacy files hold several pickles back to back).
    var position: Int { reader.position }

    func fail(_ message: String) -> FormatError {
        FormatError("\(reader.context): at byte \(opStart): \(message)")
    }

    // MARK: stack helpers

    private mutating func push(_ v: PickleValue) throws {
        guard stack.count < Self.maxStack else { throw fail("pickle stack exceeds \(Self.maxStack) entries") }
        stack.append(v)
    }

    private mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast() else { throw fail("stack underflow") }
        dropped.append(v)
        if let m = marks.last, stack.count < m { throw fail("stack underflow across a MARK") }
        return v
    }

    private mutating func top() throws -> PickleValue {
        guard let v = stack.last else { throw fail("stack underflow") }
        return v
    }

    /// Everything above the most recent MARK, removing the mark.
    private mutating func popToMark() throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw fail("no MARK on the stack") }
        guard m <= stack.count else { throw fail("MARK above stack top") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        dropped.append(contentsOf: items)
        return items
    }

    private mutating func memoPut(_ key: Int) throws {
        guard memo.count < Self.maxMemo || memo[key] != nil else { throw fail("memo exceeds \(Self.maxMemo) entries") }
        // An overwritten memo value came from the stack, so `dropped` or the stack still holds it.
        memo[key] = try top()
    }

    private mutating func memoGet(_ key: Int) throws {
        guard let v = memo[key] else { throw fail("memo key \(key) was never stored") }
        try push(v)
    }

    private mutating func count(_ n: Int, what: String) throws -> Int {
        guard n >= 0, n <= reader.remaining else {
            throw fail("\(what) length \(n) exceeds the \(reader.remaining) bytes left")
        }
        return n
    }

    private mutating func utf8(_ d: Data) throws -> String {
        guard let s = String(data: d, encoding: .utf8) else { throw fail("string is not valid UTF-8") }
        return s
    }

    // MARK: the VM

    /// Runs until STOP, hands the result to `use`, then tears the working tree down without recursion
    /// (also when anything throws).
    mutating func load<T>(_ use: (PickleValue) throws -> T) throws -> T {
        defer {
            dismantle(stack + Array(memo.values) + dropped)
            stack = []
            memo = [:]
            marks = []
            dropped = []
        }
        return try use(try run())
    }

    /// Runs and converts the result to the public value tree.
    mutating func loadValue() throws -> PyValue {
        let context = self.context
        let reader = self.reader
        return try load { value in
            var converter = PyValueConverter(context: context, pickleBytes: reader.count)
            return try converter.convert(value)
        }
    }

    private mutating func run() throws -> PickleValue {
        while true {
            opStart = reader.position
            let op = try reader.u8()
            switch op {
            case 0x80: // PROTO
                let p = try reader.u8()
                guard p <= 5 else { throw fail("unsupported pickle protocol \(p)") }
            case 0x95: _ = try reader.u64() // FRAME: just a length hint
            case 0x2E: // STOP
                guard marks.isEmpty, stack.count == 1 else {
                    throw fail("STOP with \(stack.count) values and \(marks.count) marks on the stack")
                }
                return stack[0]
            case 0x28: // MARK
                guard marks.count < Self.maxStack else { throw fail("too many MARKs") }
                marks.append(stack.count)
            case 0x30: _ = try pop() // POP
            case 0x31: _ = try popToMark() // POP_MARK
            case 0x32: try push(try top()) // DUP

            case 0x4E: try push(.none)
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case 0x4B: try push(.int(Int(try reader.u8()))) // BININT1
            case 0x4D: try push(.int(Int(try reader.u16()))) // BININT2
            case 0x4A: try push(.int(Int(try reader.i32()))) // BININT
            case 0x8A: // LONG1
                let n = Int(try reader.u8())
                try push(try longValue(try reader.bytes(n)))
            case 0x8B: // LONG4
                let n = try count(Int(try reader.i32()), what: "LONG4")
                try push(try longValue(try reader.bytes(n)))
            case 0x49: // INT (text); "00"/"01" are protocol-0 booleans
                let s = try textLine()
                if s == "00" { try push(.bool(false)) } else if s == "01" { try push(.bool(true)) } else {
                    guard let v = Int(s) else { throw fail("bad INT literal '\(s.prefix(40))'") }
                    try push(.int(v))
                }
            case 0x4C: // LONG (text)
                var s = try textLine()
                if s.hasSuffix("L") { s.removeLast() }
                if let v = Int(s) { try push(.int(v)) } else if let d = Double(s) { try push(.bigInt(d)) } else {
                    throw fail("bad LONG literal '\(s.prefix(40))'")
                }
            case 0x47: // BINFLOAT: big-endian IEEE double
                let bits = try reader.u64()
                try push(.float(Double(bitPattern: UInt64(bigEndian: bits))))
            case 0x46: // FLOAT (text)
                let s = try textLine()
                guard let d = Double(s) else { throw fail("bad FLOAT literal '\(s.prefix(40))'") }
                try push(.float(d))

            case 0x58: // BINUNICODE
                let n = try count(Int(try reader.u32()), what: "BINUNICODE")
                try push(.string(try utf8(try reader.bytes(n))))
            case 0x8C: // SHORT_BINUNICODE
                let n = Int(try reader.u8())
                try push(.string(try utf8(try reader.bytes(n))))
            case 0x8D: // BINUNICODE8
                let n64 = try reader.u64()
                guard n64 <= UInt64(reader.remaining) else { throw fail("BINUNICODE8 length \(n64) exceeds the \(reader.remaining) bytes left") }
                try push(.string(try utf8(try reader.bytes(Int(n64)))))
            case 0x56: // UNICODE (text, raw-unicode-escape; plain text in practice)
                try push(.string(try textLine()))
            case 0x54: // BINSTRING (Python 2 str)
                let n = try count(Int(try reader.i32()), what: "BINSTRING")
                try push(.string(latin1(try reader.bytes(n))))
            case 0x55: // SHORT_BINSTRING
                let n = Int(try reader.u8())
                try push(.string(latin1(try reader.bytes(n))))
            case 0x42: // BINBYTES
                let n = try count(Int(try reader.u32()), what: "BINBYTES")
                try push(.bytes(try sharedBytes(n)))
            case 0x43: // SHORT_BINBYTES
                let n = Int(try reader.u8())
                try push(.bytes(Data(try reader.bytes(n))))
            case 0x8E, 0x96: // BINBYTES8, BYTEARRAY8
                let n64 = try reader.u64()
                guard n64 <= UInt64(reader.remaining) else { throw fail("BINBYTES8 length \(n64) exceeds the \(reader.remaining) bytes left") }
                try push(.bytes(try sharedBytes(Int(n64))))

            case 0x29: try push(.tuple([])) // EMPTY_TUPLE
            case 0x74: try push(.tuple(try popToMark())) // TUPLE
            case 0x85: let a = try pop(); try push(.tuple([a]))
            case 0x86: let b = try pop(), a = try pop(); try push(.tuple([a, b]))
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); try push(.tuple([a, b, c]))
            case 0x5D: try push(.list(ListBox())) // EMPTY_LIST
            case 0x6C: try push(.list(ListBox(try popToMark()))) // LIST
            case 0x61: // APPEND
                let v = try pop()
                guard case .list(let l) = try top() else { throw fail("APPEND to a \(try top().typeName), expected a list") }
                l.items.append(v)
            case 0x65: // APPENDS
                let vs = try popToMark()
                guard case .list(let l) = try top() else { throw fail("APPENDS to a \(try top().typeName), expected a list") }
                l.items.append(contentsOf: vs)
            case 0x8F: try push(.list(ListBox())) // EMPTY_SET (sets are kept as lists)
            case 0x90: // ADDITEMS
                let vs = try popToMark()
                guard case .list(let l) = try top() else { throw fail("ADDITEMS to a \(try top().typeName), expected a set") }
                l.items.append(contentsOf: vs)
            case 0x91: try push(.list(ListBox(try popToMark()))) // FROZENSET
            case 0x7D: try push(.dict(DictBox())) // EMPTY_DICT
            case 0x64: // DICT
                let vs = try popToMark()
                guard vs.count % 2 == 0 else { throw fail("DICT with an odd number of items") }
                let d = DictBox()
                for i in stride(from: 0, to: vs.count, by: 2) { d.set(try hashableKey(vs[i]), vs[i + 1]) }
                try push(.dict(d))
            case 0x73: // SETITEM
                let v = try pop(), k = try pop()
                guard case .dict(let d) = try top() else { throw fail("SETITEM on a \(try top().typeName), expected a dict") }
                d.set(try hashableKey(k), v)
            case 0x75: // SETITEMS
                let vs = try popToMark()
                guard vs.count % 2 == 0 else { throw fail("SETITEMS with an odd number of items") }
                guard case .dict(let d) = try top() else { throw fail("SETITEMS on a \(try top().typeName), expected a dict") }
                for i in stride(from: 0, to: vs.count, by: 2) { d.set(try hashableKey(vs[i]), vs[i + 1]) }

            case 0x70: // PUT (text)
                let s = try textLine()
                guard let k = Int(s) else { throw fail("bad PUT index '\(s.prefix(40))'") }
                try memoPut(k)
            case 0x71: try memoPut(Int(try reader.u8())) // BINPUT
            case 0x72: try memoPut(Int(try reader.u32())) // LONG_BINPUT
            case 0x94: try memoPut(memo.count) // MEMOIZE
            case 0x67: // GET (text)
                let s = try textLine()
                guard let k = Int(s) else { throw fail("bad GET index '\(s.prefix(40))'") }
                try memoGet(k)
            case 0x68: try memoGet(Int(try reader.u8())) // BINGET
            case 0x6A: try memoGet(Int(try reader.u32())) // LONG_BINGET

            case 0x63: // GLOBAL "module\nname\n"
                let module = try textLine(), name = try textLine()
                try push(try resolveGlobal(module, name))
            case 0x93: // STACK_GLOBAL
                let n = try pop(), m = try pop()
                guard case .string(let name) = n, case .string(let module) = m else {
                    throw fail("STACK_GLOBAL needs two strings, got \(m.typeName) and \(n.typeName)")
                }
                try push(try resolveGlobal(module, name))
            case 0x52: // REDUCE
                let args = try pop(), f = try pop()
                guard let a = args.tupleItems else { throw fail("REDUCE arguments are a \(args.typeName), expected a tuple") }
                try push(try call(f, a))
            case 0x81: // NEWOBJ
                let args = try pop(), cls = try pop()
                guard let a = args.tupleItems else { throw fail("NEWOBJ arguments are a \(args.typeName), expected a tuple") }
                try push(try newObject(cls, a))
            case 0x92: // NEWOBJ_EX
                _ = try pop()
                let args = try pop(), cls = try pop()
                guard let a = args.tupleItems else { throw fail("NEWOBJ_EX arguments are a \(args.typeName), expected a tuple") }
                try push(try newObject(cls, a))
            case 0x62: // BUILD
                let state = try pop()
                try build(try top(), state)
            case 0x51: // BINPERSID
                let pid = try pop()
                try push(try persistentLoad(pid))

            default:
                let names: [UInt8: String] = [0x69: "INST", 0x6F: "OBJ", 0x50: "PERSID", 0x82: "EXT1", 0x83: "EXT2",
                                              0x84: "EXT4", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER", 0x53: "STRING"]
                if let n = names[op] { throw fail("opcode \(n) is not supported in data-only loading") }
                throw fail(String(format: "unknown opcode 0x%02x (damaged or not a pickle)", op))
            }
        }
    }

    private mutating func textLine() throws -> String {
        let d = try reader.line(maxLength: 4096)
        guard let s = String(data: d, encoding: .utf8) else { throw fail("text operand is not UTF-8") }
        return s.hasSuffix("\r") ? String(s.dropLast()) : s
    }

    /// `n` bytes as a view of the input (no copy for large ones): NVlabs pickles hold every tensor's
    /// storage in BINBYTES, and copying them would read networks the caller never uses into memory.
    private mutating func sharedBytes(_ n: Int) throws -> Data {
        let slice = try reader.bytes(n)
        return rebasedSlice(slice, 0..<slice.count)
    }

    private func latin1(_ d: Data) -> String { String(d.map { Character(Unicode.Scalar($0)) }) }

    private func longValue(_ bytes: Data) throws -> PickleValue {
        if bytes.isEmpty { return .int(0) }
        let negative = bytes.last! & 0x80 != 0
        if bytes.count <= 8 {
            var v: UInt64 = negative ? ~0 : 0
            for (i, b) in bytes.enumerated() {
                v &= ~(UInt64(0xFF) << (8 * UInt64(i)))
                v |= UInt64(b) << (8 * UInt64(i))
            }
            return .int(Int(Int64(bitPattern: v)))
        }
        // Wider than 64 bits: keep an approximation; such values only appear as metadata.
        var d = 0.0
        for b in bytes.reversed() { d = d * 256 + Double(negative ? ~b : b) }
        return .bigInt(negative ? -(d + 1) : d)
    }

    private func hashableKey(_ k: PickleValue) throws -> PickleValue {
        switch k {
        case .list, .dict: throw fail("unhashable \(k.typeName) used as a dict key")
        default: return k
        }
    }

    // MARK: globals

    /// Inert markers (storage types, dtypes) and data-only callables; everything else is refused.
    static let allowedGlobals: Set<String> = {
        var s: Set<String> = [
            "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
            "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
            "torch._tensor._rebuild_from_type_v2", "torch._utils._rebuild_from_type_v2",
            "collections.OrderedDict", "collections.Counter", "collections.defaultdict",
            "argparse.Namespace", "torch.Size", "torch.device", "torch.serialization._get_layout",
            "torch.strided", "_codecs.encode", "builtins.set", "builtins.frozenset", "builtins.bytearray",
            "builtins.object", "builtins.dict", "builtins.list", "builtins.tuple", "copyreg._reconstructor",
            "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_tensorlist",
            "torch.jit._pickle.build_doublelist", "torch.jit._pickle.build_boollist",
            "torch.jit._pickle.restore_type_tag",
            "torch.nn.parameter.Parameter", "torch.Tensor",
        ]
        // NumPy values found in training checkpoints (losses, seeds, small arrays): decoded as data.
        for m in ["numpy.core.multiarray", "numpy._core.multiarray"] {
            s.insert(m + ".scalar"); s.insert(m + "._reconstruct")
        }
        s.insert("numpy.dtype"); s.insert("numpy.ndarray")
        for t in storageDTypes.keys { s.insert("torch.\(t)") }
        for t in torchDTypes.keys { s.insert("torch.\(t)") }
        return s
    }()

    static let storageDTypes: [String: DType] = [
        "FloatStorage": .float32, "HalfStorage": .float16, "BFloat16Storage": .bfloat16, "DoubleStorage": .float64,
        "LongStorage": .int64, "IntStorage": .int32, "ShortStorage": .int16, "CharStorage": .int8,
        "ByteStorage": .uint8, "BoolStorage": .bool,
    ]
    static let torchDTypes: [String: DType] = [
        "float32": .float32, "float": .float32, "float16": .float16, "half": .float16, "bfloat16": .bfloat16,
        "float64": .float64, "double": .float64, "int64": .int64, "long": .int64, "int32": .int32, "int": .int32,
        "int16": .int16, "short": .int16, "int8": .int8, "uint8": .uint8, "bool": .bool,
    ]

    private func resolveGlobal(_ module: String, _ name: String) throws -> PickleValue {
        // Python 2 spellings used by protocol-2 pickles.
        let m = module == "__builtin__" ? "builtins" : module == "copy_reg" ? "copyreg" : module
        let full = m + "." + name
        if Self.allowedGlobals.contains(full) { return .global(full) }
        if allowTorchScriptClasses && m.hasPrefix("__torch__") { return .global(full) }
        if nvlabs != nil && (NVlabsPickle.globals.contains(full) || full == TFNetworkPickle.networkClass) { return .global(full) }
        throw fail("global '\(module).\(name)' is not allowed (nada-edit loads data only and never runs code from a file)")
    }

    // MARK: calls (each allowed callable has a fixed data-only meaning)

    private mutating func call(_ f: PickleValue, _ a: [PickleValue]) throws -> PickleValue {
        guard case .global(let g) = f else { throw fail("REDUCE on a \(f.typeName), which is not callable") }
        guard callDepth < Self.maxCallDepth else {
            throw fail("calls nesting deeper than \(Self.maxCallDepth) levels at '\(g)' (torch nests two, _rebuild_from_type_v2 around a tensor rebuild): a damaged or hostile file")
        }
        callDepth += 1
        defer { callDepth -= 1 }
        func arg(_ i: Int) throws -> PickleValue {
            guard i < a.count else { throw fail("\(g) called with \(a.count) arguments, needs at least \(i + 1)") }
            return a[i]
        }
        switch g {
        case "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2":
            return .tensor(try rebuildTensor(g, storage: try arg(0), offset: try arg(1), size: try arg(2), stride: try arg(3), dtype: nil))
        case "torch._utils._rebuild_tensor_v3":
            // (storage, offset, size, stride, requires_grad, hooks, dtype, metadata)
            var dtype: DType? = nil
            if a.count > 6, case .global(let d) = a[6] { dtype = Self.torchDTypes[String(d.dropFirst("torch.".count))] }
            return .tensor(try rebuildTensor(g, storage: try arg(0), offset: try arg(1), size: try arg(2), stride: try arg(3), dtype: dtype))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            let t = try arg(0)
            guard case .tensor = t else { throw fail("\(g) on a \(t.typeName), expected a tensor") }
            return t
        case "torch._tensor._rebuild_from_type_v2", "torch._utils._rebuild_from_type_v2":
            // (func, new_type, args, state): the tensor is func(*args); subclass type and state are dropped.
            guard let inner = try arg(2).tupleItems else { throw fail("\(g): arguments are not a tuple") }
            return try call(try arg(0), inner)
        case "torch.nn.parameter.Parameter":
            let t = try arg(0)
            guard case .tensor = t else { throw fail("Parameter of a \(t.typeName), expected a tensor") }
            return t
        case "collections.OrderedDict", "collections.Counter", "builtins.dict":
            let d = DictBox()
            if let first = a.first {
                if case .dict(let src) = first {
                    for item in src.items { d.set(item.key, item.value) }
                } else if let pairs = first.sequence {
                    for p in pairs {
                        guard let kv = p.sequence, kv.count == 2 else { throw fail("\(g): item is not a (key, value) pair") }
                        d.set(try hashableKey(kv[0]), kv[1])
                    }
                } else if case .none = first {} else { throw fail("\(g) of a \(first.typeName)") }
            }
            return .dict(d)
        case "collections.defaultdict":
            return .dict(DictBox()) // the default factory is irrelevant for data
        case "builtins.set", "builtins.frozenset", "builtins.list":
            guard let first = a.first else { return .list(ListBox()) }
            guard let xs = first.sequence else { throw fail("\(g) of a \(first.typeName)") }
            return .list(ListBox(xs))
        case "builtins.tuple":
            guard let first = a.first else { return .tuple([]) }
            guard let xs = first.sequence else { throw fail("tuple of a \(first.typeName)") }
            return .tuple(xs)
        case "builtins.bytearray":
            guard let first = a.first else { return .bytes(Data()) }
            if case .bytes(let b) = first { return .bytes(b) }
            if case .string(let s) = first { return .bytes(Data(s.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })) }
            throw fail("bytearray of a \(first.typeName)")
        case "_codecs.encode":
            // bytes are pickled as encode(latin-1 text, 'latin1') by protocol 2.
            guard case .string(let s) = try arg(0) else { throw fail("_codecs.encode of a \(try arg(0).typeName)") }
            var out = Data()
            for u in s.unicodeScalars {
                guard u.value < 256 else { throw fail("_codecs.encode: character U+\(String(u.value, radix: 16)) is not latin-1") }
                out.append(UInt8(u.value))
            }
            return .bytes(out)
        case "torch.Size":
            guard let first = a.first else { return .tuple([]) }
            guard let xs = first.sequence else { throw fail("torch.Size of a \(first.typeName)") }
            return .tuple(xs)
        case "torch.device":
            let parts = a.compactMap { v -> String? in
                switch v { case .string(let s): return s; case .int(let i): return String(i); default: return nil }
            }
            return .string(parts.joined(separator: ":"))
        case "torch.serialization._get_layout":
            return .global("torch.strided")
        case "copyreg._reconstructor":
            // (cls, base, state): object.__new__(cls) with optional state; only allowed classes.
            let o = try newObject(try arg(0), [])
            if a.count > 2, case .none = a[2] {} else if a.count > 2 { try build(o, a[2]) }
            return o
        case "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_tensorlist",
             "torch.jit._pickle.build_doublelist", "torch.jit._pickle.build_boollist":
            guard let xs = try arg(0).sequence else { throw fail("\(g) of a \(try arg(0).typeName)") }
            return .list(ListBox(xs))
        case "torch.jit._pickle.restore_type_tag":
            return try arg(0)
        case "numpy.dtype":
            // numpy.dtype('f8', False, True); BUILD then sets the byte order.
            guard case .string(let code) = try arg(0) else { throw fail("numpy.dtype of a \(try arg(0).typeName)") }
            let o = ObjectBox(type: "numpy.dtype")
            o.state = .tuple([.string(code), .string("<")])
            return .object(o)
        case "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar":
            return try numpyScalar(try arg(0), try arg(1))
        case "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct":
            // _reconstruct(ndarray, (0,), b'b') makes an empty array; BUILD supplies shape, dtype and data.
            return .object(ObjectBox(type: "numpy.ndarray"))
        default:
            if g.hasPrefix("__torch__") { return try newObject(f, a) }
            if let hooks = nvlabs, NVlabsPickle.globals.contains(g) {
                do { return try hooks.call(g, a) } catch let e as FormatError { throw fail(e.description) }
            }
            throw fail("global '\(g)' cannot be called")
        }
    }

    private func newObject(_ cls: PickleValue, _ a: [PickleValue]) throws -> PickleValue {
        guard case .global(let g) = cls else { throw fail("NEWOBJ on a \(cls.typeName), which is not a class") }
        switch g {
        case "collections.OrderedDict", "collections.Counter", "collections.defaultdict", "builtins.dict":
            return .dict(DictBox())
        case "builtins.list", "builtins.set": return .list(ListBox())
        case "argparse.Namespace":
            return .object(ObjectBox(type: g))
        case "torch.nn.parameter.Parameter", "torch.Tensor":
            if let t = a.first, case .tensor = t { return t }
            throw fail("\(g) without tensor data")
        default:
            if g.hasPrefix("__torch__") { return .object(ObjectBox(type: g)) }
            if nvlabs != nil, NVlabsPickle.dictClasses.contains(g) { return .dict(DictBox()) }
            // A TensorFlow network: an empty record that BUILD fills with its `__getstate__` dict (never `__setstate__`).
            if nvlabs != nil, g == TFNetworkPickle.networkClass { return .object(ObjectBox(type: g)) }
            throw fail("class '\(g)' cannot be instantiated")
        }
    }

    private func build(_ target: PickleValue, _ state: PickleValue) throws {
        switch target {
        case .object(let o) where o.type == "numpy.dtype":
            // (version, byteorder, subarray, names, fields, elsize, alignment, flags)
            if let parts = state.tupleItems, parts.count > 1, case .string(let order) = parts[1],
               let current = o.state.tupleItems, current.count == 2 {
                o.state = .tuple([current[0], .string(order)])
            }
        case .object(let o) where o.type == "numpy.ndarray":
            o.state = .tensor(try numpyArray(state))
        case .object(let o):
            var s = state
            // (dict_state, slot_state) form
            if let parts = state.tupleItems, parts.count == 2 {
                if case .none = parts[0] { s = parts[1] } else { s = parts[0]; if case .dict(let slots) = parts[1], case .dict(let d) = s { for i in slots.items { d.set(i.key, i.value) } } }
            }
            if case .dict(let existing) = o.state, case .dict(let new) = s {
                for i in new.items { existing.set(i.key, i.value) }
            } else {
                o.state = s
            }
        case .dict, .tensor, .list:
            // OrderedDict's `_metadata` attribute, tensor python state, set state: not part of the data.
            break
        default:
            throw fail("BUILD on a \(target.typeName)")
        }
    }

    // MARK: numpy

    /// (DType, big-endian) of a numpy.dtype object.
    private func numpyDType(_ v: PickleValue) throws -> (DType, Bool) {
        guard case .object(let o) = v, o.type == "numpy.dtype", let parts = o.state.tupleItems, parts.count == 2,
              case .string(let code) = parts[0], case .string(let order) = parts[1] else {
            throw fail("expected a numpy.dtype, got a \(v.typeName)")
        }
        let table: [String: DType] = ["f2": .float16, "f4": .float32, "f8": .float64, "i8": .int64, "i4": .int32, "i2": .int16,
                                      "i1": .int8, "u1": .uint8, "b1": .bool]
        guard let d = table[code] else { throw fail("unsupported numpy dtype '\(code)'") }
        return (d, order == ">")
    }

    private func numpyBytes(_ v: PickleValue, _ what: String) throws -> Data {
        switch v {
        case .bytes(let d): return d
        case .string(let s):
            // Python 2 pickles carry raw bytes as latin-1 text.
            var out = Data()
            for u in s.unicodeScalars {
                guard u.value < 256 else { throw fail("\(what): non-latin-1 character in byte string") }
                out.append(UInt8(u.value))
            }
            return out
        default: throw fail("\(what): data is a \(v.typeName), expected bytes")
        }
    }

    private func numpyScalar(_ dtype: PickleValue, _ raw: PickleValue) throws -> PickleValue {
        let (d, big) = try numpyDType(dtype)
        var bytes = try numpyBytes(raw, "numpy scalar")
        guard bytes.count == d.byteSize else { throw fail("numpy \(d.rawValue) scalar with \(bytes.count) bytes") }
        if big { bytes = byteSwapped(bytes, width: d.byteSize) }
        let a = try ArrayData(dtype: d, shape: [], bytes: bytes)
        switch d {
        case .float16, .float32, .bfloat16: return .float(Double(a.floats()[0]))
        case .float64: return .float(bytes.withUnsafeBytes { $0.loadUnaligned(as: Double.self) })
        case .bool: return .bool(a.int64s()[0] != 0)
        default: return .int(Int(a.int64s()[0]))
        }
    }

    /// ndarray state: (version, shape, dtype, is_fortran, raw bytes).
    private func numpyArray(_ state: PickleValue) throws -> ArrayData {
        guard let parts = state.tupleItems, parts.count == 5 else { throw fail("numpy array state is not a 5-tuple") }
        let shape = try ints(parts[1], "numpy shape")
        let (d, big) = try numpyDType(parts[2])
        guard case .bool(let fortran) = parts[3] else { throw fail("numpy array order flag is a \(parts[3].typeName)") }
        var bytes = try numpyBytes(parts[4], "numpy array")
        let count = try checkedCount(shape) { fail("numpy array: \($0)") }
        let (size, o) = count.multipliedReportingOverflow(by: d.byteSize)
        guard !o, size == bytes.count else { throw fail("numpy \(d.rawValue) array \(shape) with \(bytes.count) bytes of data") }
        if big { bytes = byteSwapped(bytes, width: d.byteSize) }
        if fortran && shape.count > 1 && count > 0 {
            var strides = [Int](repeating: 1, count: shape.count)
            for k in 1..<shape.count { strides[k] = strides[k - 1] * shape[k - 1] }
            var budget = Int.max
            do {
                return try materializeView(storage: StorageRef(key: "numpy", dtype: d, bytes: bytes), offset: 0, size: shape, stride: strides, copyBudget: &budget)
            } catch let e as FormatError {
                throw fail("numpy array: \(e.description)")
            }
        }
        return try ArrayData(dtype: d, shape: shape, bytes: bytes)
    }

    // MARK: tensors

    private mutating func persistentLoad(_ pid: PickleValue) throws -> PickleValue {
        guard let t = pid.tupleItems, t.count >= 5, case .string("storage") = t[0] else {
            throw fail("persistent id is not a ('storage', type, key, location, numel) tuple")
        }
        guard case .global(let type) = t[1] else { throw fail("storage type is a \(t[1].typeName), expected a torch storage class") }
        guard let dtype = Self.storageDTypes[String(type.dropFirst("torch.".count))], type.hasPrefix("torch.") else {
            throw fail("unsupported storage type '\(type)'")
        }
        let key: String
        switch t[2] {
        case .string(let s): key = s
        case .int(let i): key = String(i)
        default: throw fail("storage key is a \(t[2].typeName)")
        }
        guard case .int(let numel) = t[4], numel >= 0 else { throw fail("storage '\(key)' has a bad element count") }
        let storage = try loadStorage(key, dtype, numel)
        // Legacy files may describe a view of a bigger storage: (view_key, offset, view_numel).
        if t.count >= 6, !dryRun, let view = t[5].tupleItems, view.count == 3 {
            guard case .int(let off) = view[1], case .int(let n) = view[2], off >= 0, n >= 0,
                  off <= storage.numel, n <= storage.numel - off else {
                throw fail("storage view of '\(key)' lies outside the \(storage.numel)-element storage")
            }
            let es = dtype.byteSize
            return .storage(StorageRef(key: key, dtype: dtype, bytes: rebasedSlice(storage.bytes, off * es..<(off + n) * es)))
        }
        return .storage(storage)
    }

    private func ints(_ v: PickleValue, _ what: String) throws -> [Int] {
        guard let xs = v.sequence else { throw fail("tensor \(what) is a \(v.typeName), expected a tuple") }
        return try xs.map {
            guard case .int(let i) = $0 else { throw fail("tensor \(what) holds a \($0.typeName)") }
            return i
        }
    }

    private mutating func rebuildTensor(_ g: String, storage sv: PickleValue, offset ov: PickleValue, size zv: PickleValue,
                                        stride sv2: PickleValue, dtype: DType?) throws -> ArrayData {
        guard case .storage(var storage) = sv else { throw fail("\(g): first argument is a \(sv.typeName), expected a storage") }
        guard case .int(let offset) = ov else { throw fail("\(g): storage offset is a \(ov.typeName)") }
        if let dtype, dtype != storage.dtype {
            guard storage.bytes.count % dtype.byteSize == 0 else { throw fail("\(g): storage of \(storage.bytes.count) bytes cannot hold \(dtype.rawValue)") }
            storage = StorageRef(key: storage.key, dtype: dtype, bytes: storage.bytes)
        }
        let size = try ints(zv, "size"), stride = try ints(sv2, "stride")
        if dryRun { return try ArrayData(dtype: storage.dtype, shape: [0], bytes: Data()) }
        do {
            return try materializeView(storage: storage, offset: offset, size: size, stride: stride, copyBudget: &copyBudget)
        } catch let e as FormatError {
            throw fail("storage '\(storage.key)': \(e.description)")
        }
    }
}

/// A C-ordered array for `storage[offset + Σ i_k·stride_k]`. Contiguous views share the storage bytes;
/// other views are gathered into a new buffer, charged against `copyBudget`.
func materializeView(storage: StorageRef, offset: Int, size: [Int], stride: [Int], copyBudget: inout Int) throws -> ArrayData {
    guard size.count == stride.count else { throw FormatError("size \(size) and stride \(stride) differ in length") }
    guard offset >= 0 else { throw FormatError("negative storage offset \(offset)") }
    let count = try checkedCount(size)
    let es = storage.dtype.byteSize
    if count == 0 { return try ArrayData(dtype: storage.dtype, shape: size, bytes: Data()) }
    var last = offset
    for (n, s) in zip(size, stride) {
        guard s >= 0 else { throw FormatError("negative stride in \(stride)") }
        let (m, o1) = (n - 1).multipliedReportingOverflow(by: s)
        let (sum, o2) = last.addingReportingOverflow(m)
        guard !o1, !o2 else { throw FormatError("view size \(size) stride \(stride) overflows") }
        last = sum
    }
    guard last < storage.numel else {
        throw FormatError("view (offset \(offset), size \(size), stride \(stride)) reaches element \(last) of a \(storage.numel)-element storage")
    }
    // Contiguous in C order (dimensions of extent 1 may carry any stride)?
    var expected = 1, contiguous = true
    for k in stride.indices.reversed() where size[k] != 1 {
        if stride[k] != expected { contiguous = false; break }
        expected *= size[k]
    }
    if contiguous {
        return try ArrayData(dtype: storage.dtype, shape: size, bytes: rebasedSlice(storage.bytes, offset * es..<(offset + count) * es))
    }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: es)
    guard !overflow, bytes <= copyBudget else {
        throw FormatError("strided view of \(size) needs \(overflow ? "more than Int.max" : String(bytes)) bytes, beyond the copy budget (hostile or expanded view)")
    }
    copyBudget -= bytes
    var out = Data(count: bytes)
    out.withUnsafeMutableBytes { (dst: UnsafeMutableRawBufferPointer) in
        storage.bytes.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
            gatherStrided(src: src.baseAddress!, dst: dst.baseAddress!, elementSize: es, offset: offset, size: size, stride: stride)
        }
    }
    return try ArrayData(dtype: storage.dtype, shape: size, bytes: out)
}

/// Copies a strided n-d view into C order. The caller has checked all indices are in range.
func gatherStrided(src: UnsafeRawPointer, dst: UnsafeMutableRawPointer, elementSize es: Int, offset: Int, size: [Int], stride: [Int]) {
    let nd = size.count
    if nd == 0 { memcpy(dst, src + offset * es, es); return }
    let inner = size[nd - 1], innerStride = stride[nd - 1]
    let outer = size.dropLast().reduce(1, *)
    var index = [Int](repeating: 0, count: max(nd - 1, 0))
    var base = offset
    var d = dst
    for _ in 0..<outer {
        if innerStride == 1 {
            memcpy(d, src + base * es, inner * es)
            d += inner * es
        } else {
            var s = base
            for _ in 0..<inner {
                memcpy(d, src + s * es, es)
                d += es
                s += innerStride
            }
        }
        // Advance the outer multi-index (odometer).
        var k = nd - 2
        while k >= 0 {
            index[k] += 1
            base += stride[k]
            if index[k] < size[k] { break }
            base -= stride[k] * size[k]
            index[k] = 0
            k -= 1
        }
    }
}
