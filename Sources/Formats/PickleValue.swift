import Foundation

/// The unpickler's working values. Lists, dicts and objects are reference boxes because pickles
/// memoize a container first and fill it afterwards (EMPTY_DICT, BINPUT, ..., SETITEMS); a later
/// BINGET must see the filled container. `toPyValue` turns the result into the public value tree.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer that does not fit in 64 bits (kept approximately; never used for sizes).
    case bigInt(Double)
    case float(Double)
    case string(String)
    case bytes(Data)
    case tuple([PickleValue])
    case list(ListBox)
    case dict(DictBox)
    /// An allow-listed global, inert: `module.name`.
    case global(String)
    case storage(StorageRef)
    case tensor(ArrayData)
    case object(ObjectBox)
}

final class ListBox {
    var items: [PickleValue]
    init(_ items: [PickleValue] = []) { self.items = items }
}

/// Insertion-ordered dict; string and int keys are indexed so SETITEMS stays linear on big state dicts.
final class DictBox {
    var items: [(key: PickleValue, value: PickleValue)] = []
    private var stringIndex: [String: Int] = [:]
    private var intIndex: [Int: Int] = [:]

    func set(_ key: PickleValue, _ value: PickleValue) {
        switch key {
        case .string(let s):
            if let i = stringIndex[s] { items[i].value = value; return }
            stringIndex[s] = items.count
        case .int(let k):
            if let i = intIndex[k] { items[i].value = value; return }
            intIndex[k] = items.count
        default: break
        }
        items.append((key, value))
    }
}

/// An instance of an allow-listed class (argparse.Namespace, TorchScript modules): type and BUILD state.
final class ObjectBox {
    let type: String
    var state: PickleValue = .none
    init(type: String) { self.type = type }
}

/// A storage resolved from a persistent id: its dtype and raw little-endian bytes (exactly numel elements).
struct StorageRef {
    let key: String
    let dtype: DType
    let bytes: Data
    var numel: Int { bytes.count / dtype.byteSize }
}

extension PickleValue {
    var typeName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let g): return "global \(g)"
        case .storage: return "storage"
        case .tensor: return "tensor"
        case .object(let o): return "object \(o.type)"
        }
    }

    /// Items of a tuple or list.
    var sequence: [PickleValue]? {
        switch self {
        case .tuple(let xs): return xs
        case .list(let b): return b.items
        default: return nil
        }
    }
}

/// Converts the working tree to `PyValue`, guarding against cycles (a list containing itself),
/// excessive depth and exponential blow-up through shared references.
struct PyValueConverter {
    let context: String
    var budget = 50_000_000
    let maxDepth = 500

    mutating func convert(_ v: PickleValue, depth: Int = 0) throws -> PyValue {
        guard depth < maxDepth else { throw FormatError("\(context): object nesting deeper than \(maxDepth) levels (or a reference cycle)") }
        budget -= 1
        guard budget > 0 else { throw FormatError("\(context): object tree too large after expanding shared references") }
        switch v {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .bigInt(let d): return .float(d)
        case .float(let d): return .float(d)
        case .string(let s): return .string(s)
        case .bytes(let d): return .bytes(d)
        case .tuple(let xs): return .tuple(try xs.map { try convert($0, depth: depth + 1) })
        case .list(let b): return .list(try b.items.map { try convert($0, depth: depth + 1) })
        case .dict(let b):
            return .dict(try b.items.map { (key: try convert($0.key, depth: depth + 1), value: try convert($0.value, depth: depth + 1)) })
        case .global(let g): return .object(type: g, state: .none)
        case .storage(let s):
            return .tensor(try ArrayData(dtype: s.dtype, shape: [s.numel], bytes: s.bytes))
        case .tensor(let t): return .tensor(t)
        case .object(let o): return .object(type: o.type, state: try convert(o.state, depth: depth + 1))
        }
    }
}
