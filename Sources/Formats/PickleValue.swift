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
    /// Tuples are boxed too, so tearing a hostile tree down can visit each container once (see `dismantle`).
    case tup(TupleBox)
    case list(ListBox)
    case dict(DictBox)
    /// An allow-listed global, inert: `module.name`.
    case global(String)
    case storage(StorageRef)
    case tensor(ArrayData)
    case object(ObjectBox)
}

final class TupleBox {
    var items: [PickleValue]
    init(_ items: [PickleValue]) { self.items = items }
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

    func removeAll() {
        items = []
        stringIndex = [:]
        intIndex = [:]
    }

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
    static func tuple(_ items: [PickleValue]) -> PickleValue { .tup(TupleBox(items)) }

    var tupleItems: [PickleValue]? { if case .tup(let b) = self { return b.items } else { return nil } }

    var typeName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tup: return "tuple"
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
        case .tup(let b): return b.items
        case .list(let b): return b.items
        default: return nil
        }
    }
}

/// Converts the working tree to `PyValue`, guarding against cycles (a list containing itself),
/// excessive depth and exponential blow-up through shared references.
struct PyValueConverter {
    init(context: String, pickleBytes: Int) {
        self.context = context
        let (b, o) = pickleBytes.multipliedReportingOverflow(by: 16)
        budget = o ? Int.max : 250_000 + b
    }

    let context: String
    /// Nodes the output may have: real files expand shared references little, so the budget scales with
    /// the pickle's size; a small pickle that expands into millions of nodes is an attack.
    var budget: Int
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
        case .tup(let b): return .tuple(try b.items.map { try convert($0, depth: depth + 1) })
        case .list(let b): return .list(try b.items.map { try convert($0, depth: depth + 1) })
        case .dict(let b):
            return .dict(try b.items.map { (key: try convert($0.key, depth: depth + 1), value: try convert($0.value, depth: depth + 1)) })
        case .global(let g): return .object(type: g, state: .none)
        case .storage(let s):
            return .tensor(try ArrayData(dtype: s.dtype, shape: [s.numel], bytes: s.bytes))
        case .tensor(let t): return .tensor(t)
        case .object(let o):
            if o.type == "numpy.ndarray", case .tensor(let t) = o.state { return .tensor(t) }
            return .object(type: o.type, state: try convert(o.state, depth: depth + 1))
        }
    }
}

/// Releases a working tree without recursion. Swift frees nested values recursively, so a hostile
/// pickle nesting a million containers would overflow the stack when its tree is dropped. Here every
/// container is emptied once (boxes are shared, so this is linear) while the worklist keeps its
/// children alive, so no release ever cascades.
func dismantle(_ roots: [PickleValue]) {
    var work = roots
    while let v = work.popLast() {
        switch v {
        case .tup(let b): work.append(contentsOf: b.items); b.items = []
        case .list(let b): work.append(contentsOf: b.items); b.items = []
        case .dict(let b):
            for item in b.items { work.append(item.key); work.append(item.value) }
            b.removeAll()
        case .object(let o): work.append(o.state); o.state = .none
        default: break
        }
    }
}
