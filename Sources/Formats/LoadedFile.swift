import Foundation

/// The file formats nada-edit reads, detected from content, never from the file name.
public enum FileFormat: String, Sendable {
    case torchZip = "PyTorch zip checkpoint"
    case torchLegacy = "PyTorch legacy (pre-1.6) checkpoint"
    case torchScript = "TorchScript archive"
    case safetensors = "safetensors"
    case npy = "NumPy .npy"
    case npz = "NumPy .npz"
    case nvlabsPickle = "NVlabs network pickle"
    /// `(G, D, Gs)` of `dnnlib.tflib.network.Network` objects (NVlabs' TensorFlow stylegan2 releases).
    case tfNetworkPickle = "NVlabs TensorFlow network pickle"
}

/// Python values as a data-only unpickler reconstructs them. Dicts keep file order.
public indirect enum PyValue: @unchecked Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes(Data)
    case list([PyValue])
    case tuple([PyValue])
    case dict([(key: PyValue, value: PyValue)])
    case tensor(ArrayData)
    /// An allow-listed object such as `argparse.Namespace`: its qualified type name and state.
    case object(type: String, state: PyValue)

    /// Value for a string key in a dict (or a Namespace's attribute dict).
    public subscript(key: String) -> PyValue? {
        switch self {
        case .dict(let items):
            return items.first { if case .string(let k) = $0.key { return k == key } else { return false } }?.value
        case .object(_, let state): return state[key]
        default: return nil
        }
    }

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var int: Int? {
        switch self { case .int(let i): return i; case .bool(let b): return b ? 1 : 0; default: return nil }
    }
    public var double: Double? {
        switch self { case .float(let d): return d; case .int(let i): return Double(i); default: return nil }
    }
    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var tensor: ArrayData? { if case .tensor(let t) = self { return t } else { return nil } }

    /// Every tensor below this value with dotted names (`g_ema.convs.0.conv.weight`), in file order.
    public func flattenedTensors(prefix: String = "") -> [(name: String, array: ArrayData)] {
        switch self {
        case .tensor(let t): return [(prefix, t)]
        case .dict(let items):
            return items.flatMap { item -> [(name: String, array: ArrayData)] in
                let key: String
                switch item.key {
                case .string(let s): key = s
                case .int(let i): key = String(i)
                default: return []
                }
                return item.value.flattenedTensors(prefix: prefix.isEmpty ? key : prefix + "." + key)
            }
        case .list(let xs), .tuple(let xs):
            return xs.enumerated().flatMap { $0.element.flattenedTensors(prefix: prefix.isEmpty ? String($0.offset) : prefix + "." + String($0.offset)) }
        case .object(_, let state): return state.flattenedTensors(prefix: prefix)
        default: return []
        }
    }
}

/// What `loadFile` returns: the whole object tree plus the flat tensor list most callers want.
public struct LoadedFile: @unchecked Sendable {
    public let path: String
    public let format: FileFormat
    /// The unpickled object (zip/legacy), the module state (TorchScript: a dict name -> tensor),
    /// a dict of tensors (safetensors, npz) or the array itself (npy).
    public let root: PyValue
    /// Free-form metadata (safetensors `__metadata__`, TorchScript constants, …).
    public let metadata: [String: String]

    public init(path: String, format: FileFormat, root: PyValue, metadata: [String: String] = [:]) {
        self.path = path
        self.format = format
        self.root = root
        self.metadata = metadata
    }

    /// All tensors with dotted names, in file order.
    public var tensors: [(name: String, array: ArrayData)] { root.flattenedTensors() }

    /// Tensors under `key` of the root dict (e.g. `g_ema`, `state_dict`), names relative to it.
    public func stateDict(_ key: String) throws -> [(name: String, array: ArrayData)] {
        guard let sub = root[key] else {
            throw FormatError("\(path): no '\(key)' entry (top-level keys: \(topLevelKeys.joined(separator: ", ")))")
        }
        return sub.flattenedTensors()
    }

    public var topLevelKeys: [String] {
        if case .dict(let items) = root { return items.compactMap { $0.key.string } }
        return []
    }
}
