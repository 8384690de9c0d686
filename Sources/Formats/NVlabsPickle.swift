import Foundation

/// NVlabs network pickles (stylegan2-ada-pytorch, stylegan3 `network-snapshot-*.pkl`), read as data.
///
/// `pickle.load` on such a file runs code: `torch_utils.persistence` pickles every network as
/// `_reconstruct_persistent_obj(meta)`, where `meta` carries the class's whole source (`module_src`) which
/// the loader `exec`s. Here the same call only records `meta`: the source stays an opaque string that is
/// never looked at, and the module's `__dict__` (`state`) gives tensors and hyper-parameters. Tensors are
/// pickled as `_rebuild_tensor_v2` over `torch.storage._load_from_bytes(b)`, where `b` is a whole
/// `torch.save` file (legacy stream or zip) of one storage; it is read by the ordinary checkpoint readers.
/// Every other global is refused by name, as in any checkpoint. The same reader takes NVlabs' TensorFlow
/// pickles (`TFNetworkPickle`), which are bare pickles too; a file holding either kind of network, never both.
enum NVlabsPickle {
    static let persistentCall = "torch_utils.persistence._reconstruct_persistent_obj"
    static let loadFromBytes = "torch.storage._load_from_bytes"
    /// `dnnlib.EasyDict` (a dict subclass) holds `training_set_kwargs` and similar option records.
    static let dictClasses: Set<String> = ["dnnlib.EasyDict", "dnnlib.util.EasyDict"]
    static let globals: Set<String> = dictClasses.union([persistentCall, loadFromBytes])
    /// The `type` of a persistent-object record in the unpickled tree (before `LoadedFile.root` is built).
    static let recordType = "torch_utils.persistence.record"

    /// What the unpickler does with the NVlabs globals (each a fixed, data-only meaning).
    struct Hooks {
        let limits: LoadLimits

        func call(_ g: String, _ a: [PickleValue]) throws -> PickleValue {
            switch g {
            case NVlabsPickle.persistentCall:
                guard a.count == 1, case .dict = a[0] else {
                    throw FormatError("\(g) takes one meta dict, got \(a.count) argument(s)\(a.first.map { " (a \($0.typeName))" } ?? "")")
                }
                let o = ObjectBox(type: NVlabsPickle.recordType)
                o.state = a[0]
                return .object(o)
            case NVlabsPickle.loadFromBytes:
                guard a.count == 1, case .bytes(let b) = a[0] else { throw FormatError("\(g) takes one bytes object") }
                return .storage(try nestedStorage(b))
            default: // EasyDict(...) called like dict(...)
                let d = DictBox()
                if let first = a.first {
                    guard case .dict(let src) = first else { throw FormatError("\(g) of a \(first.typeName)") }
                    for item in src.items { d.set(item.key, item.value) }
                }
                return .dict(d)
            }
        }

        /// One storage saved by `torch.save(storage)`: a legacy stream or a zip, nothing else (in
        /// particular not another bare pickle).
        func nestedStorage(_ b: Data) throws -> StorageRef {
            let what = "nested torch.save storage"
            guard TorchLegacyReader.looksLikeLegacy(b) || ZipArchive.looksLikeZip(b) else {
                throw FormatError("\(what) is neither a torch.save stream nor a zip (first bytes \(b.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")))")
            }
            let file = try loadFile(data: b, path: what, limits: limits)
            guard file.format == .torchLegacy || file.format == .torchZip, case .tensor(let t) = file.root, t.shape.count == 1 else {
                throw FormatError("\(what) does not hold a single storage")
            }
            return StorageRef(key: what, dtype: t.dtype, bytes: t.bytes)
        }
    }

    static func looksLikePickle(_ data: Data) -> Bool { data.first == 0x80 && data.count >= 2 }

    static func load(path: String, data: Data, limits: LoadLimits) throws -> LoadedFile {
        let noStorage: Unpickler.StorageLoader = { key, _, _ in
            throw FormatError("\(path): a bare pickle refers to the external storage '\(key)'")
        }
        var u = Unpickler(data: data, context: path, copyBudget: 2 * data.count + (64 << 20), loadStorage: noStorage)
        u.nvlabs = Hooks(limits: limits)
        let raw = try u.loadValue()
        var found = Found()
        let root = try convert(raw, path: path, depth: 0, found: &found)
        if found.tfNetworks > 0 {
            guard found.records == 0 else {
                throw FormatError("\(path): mixes TensorFlow networks (\(TFNetworkPickle.networkClass)) with PyTorch persistent objects; no NVlabs release writes such a file")
            }
            return LoadedFile(path: path, format: .tfNetworkPickle, root: TFNetworkPickle.namedRoot(root))
        }
        guard found.records > 0, case .dict = root else {
            throw FormatError("\(path): a bare Python pickle without NVlabs networks (not a PyTorch checkpoint, nor a stylegan2-ada/stylegan3 or TensorFlow stylegan2 network pickle)")
        }
        return LoadedFile(path: path, format: .nvlabsPickle, root: root)
    }

    /// How many networks `convert` met: PyTorch persistent-object records and TensorFlow `Network` objects.
    struct Found {
        var records = 0
        var tfNetworks = 0
    }

    /// Replaces every persistent-object record by `.object(type: "NVlabs <class_name>", state:)` whose state
    /// dict holds, in `state_dict()` order, the parameters, the buffers and the submodules by name, then the
    /// plain attributes (hyper-parameters), `init_args`/`init_kwargs` and the opaque `module_src` under
    /// reserved keys. Hooks, `training` and other torch.nn bookkeeping are dropped.
    /// TensorFlow `Network` objects become `TFNetworkPickle.record`s, their components first.
    static func convert(_ v: PyValue, path: String, depth: Int, found: inout Found) throws -> PyValue {
        // The unpickled tree is at most 500 levels deep (PyValueConverter); so is this recursion.
        switch v {
        case .object(let type, let meta) where type == recordType:
            found.records += 1
            return try module(meta, path: path, depth: depth, found: &found)
        case .object(let type, let state) where type == TFNetworkPickle.networkClass:
            found.tfNetworks += 1
            return try TFNetworkPickle.record(try convert(state, path: path, depth: depth + 1, found: &found), path: path)
        case .dict(let items):
            return .dict(try items.map { ($0.key, try convert($0.value, path: path, depth: depth + 1, found: &found)) })
        case .list(let xs): return .list(try xs.map { try convert($0, path: path, depth: depth + 1, found: &found) })
        case .tuple(let xs): return .tuple(try xs.map { try convert($0, path: path, depth: depth + 1, found: &found) })
        case .object(let type, let state): return .object(type: type, state: try convert(state, path: path, depth: depth + 1, found: &found))
        default: return v
        }
    }

    static let sourceKey = "__module_src__"
    static let versionKey = "__version__"
    static let initArgsKey = "__init_args__"
    static let initKwargsKey = "__init_kwargs__"
    /// torch.nn.Module bookkeeping in `__dict__` that is not part of the network.
    static let moduleInternals: Set<String> = ["training", "_non_persistent_buffers_set", "_is_full_backward_hook"]

    static func module(_ meta: PyValue, path: String, depth: Int, found: inout Found) throws -> PyValue {
        guard case .dict = meta else { throw FormatError("\(path): a persistent object's meta is not a dict") }
        guard meta["type"]?.string == "class" else {
            throw FormatError("\(path): persistent object of type '\(meta["type"]?.string ?? "?")'; only persistent classes (type 'class') are networks")
        }
        guard let className = meta["class_name"]?.string, !className.isEmpty else {
            throw FormatError("\(path): a persistent object has no class_name")
        }
        guard let state = meta["state"], case .dict(let stateItems) = state else {
            throw FormatError("\(path): persistent object '\(className)' has no state dict")
        }
        var tensors: [(key: PyValue, value: PyValue)] = []
        var children: [(key: PyValue, value: PyValue)] = []
        var attributes: [(key: PyValue, value: PyValue)] = []
        for field in ["_parameters", "_buffers"] {
            guard let entries = state[field] else { continue }
            guard case .dict(let items) = entries else { throw FormatError("\(path): \(className).\(field) is not a dict") }
            for item in items {
                guard let name = item.key.string else { throw FormatError("\(path): \(className).\(field) has a non-string key") }
                switch item.value {
                case .tensor: tensors.append((.string(name), item.value))
                case .none: continue // registered as None (e.g. a layer without bias)
                default: throw FormatError("\(path): \(className).\(field)['\(name)'] is a \(kind(item.value)), expected a tensor")
                }
            }
        }
        if let modules = state["_modules"] {
            guard case .dict(let items) = modules else { throw FormatError("\(path): \(className)._modules is not a dict") }
            for item in items {
                guard let name = item.key.string else { throw FormatError("\(path): \(className)._modules has a non-string key") }
                if case .none = item.value { continue }
                guard case .object(let t, _) = item.value, t == recordType else {
                    throw FormatError("\(path): submodule '\(name)' of \(className) is a \(kind(item.value)), not an NVlabs persistent network")
                }
                found.records += 1
                guard case .object(_, let childMeta) = item.value else { continue }
                children.append((.string(name), try module(childMeta, path: path, depth: depth + 1, found: &found)))
            }
        }
        for item in stateItems {
            guard let name = item.key.string else { continue }
            if name.hasPrefix("_") || moduleInternals.contains(name) { continue }
            attributes.append((.string(name), try convert(item.value, path: path, depth: depth + 1, found: &found)))
        }
        var extra: [(key: PyValue, value: PyValue)] = []
        if let args = state["_init_args"] { extra.append((.string(initArgsKey), args)) }
        if let kwargs = state["_init_kwargs"] { extra.append((.string(initKwargsKey), kwargs)) }
        if let v = meta["version"] { extra.append((.string(versionKey), v)) }
        // Kept only so `inspect` can say how long it is; never parsed, compiled or run.
        if let src = meta["module_src"] { extra.append((.string(sourceKey), src)) }
        return .object(type: "NVlabs " + className, state: .dict(tensors + children + attributes + extra))
    }

    private static func kind(_ v: PyValue) -> String {
        switch v {
        case .object(let t, _): return t
        case .dict: return "dict"
        case .list: return "list"
        case .tuple: return "tuple"
        case .none: return "None"
        default: return "plain value"
        }
    }
}

/// A network from an NVlabs pickle (`LoadedFile.root["G_ema"]`, …): its class, hyper-parameters, tensors
/// and submodules. Pure data; the class's source code is never interpreted.
public struct NVlabsModule: @unchecked Sendable {
    public let className: String
    /// Everything under the module: tensors, submodules (as `.object`), attributes and the reserved keys.
    let state: PyValue

    /// `value` must be a network as `loadFile` returns it from an NVlabs pickle.
    public init?(_ value: PyValue) {
        guard case .object(let type, let state) = value, type.hasPrefix("NVlabs ") else { return nil }
        className = String(type.dropFirst("NVlabs ".count))
        self.state = state
    }

    private var items: [(key: PyValue, value: PyValue)] {
        if case .dict(let items) = state { return items }
        return []
    }

    /// Parameters and buffers of this module itself, in registration order.
    public var ownTensors: [(name: String, array: ArrayData)] {
        items.compactMap { item in
            guard let k = item.key.string, case .tensor(let t) = item.value else { return nil }
            return (k, t)
        }
    }

    public func tensor(_ name: String) -> ArrayData? { ownTensors.first { $0.name == name }?.array }

    public var children: [(name: String, module: NVlabsModule)] {
        items.compactMap { item in
            guard let k = item.key.string, let m = NVlabsModule(item.value) else { return nil }
            return (k, m)
        }
    }

    public func child(_ name: String) -> NVlabsModule? { children.first { $0.name == name }?.module }

    /// A plain attribute of the module (`z_dim`, `conv_clamp`, `architecture`, …).
    public func attribute(_ name: String) -> PyValue? {
        guard !name.hasPrefix("__") else { return nil }
        return items.first { $0.key.string == name }?.value
    }

    /// The keyword arguments the network was constructed with (`z_dim`, `mapping_kwargs`, `synthesis_kwargs`, …).
    public var initKwargs: PyValue? { state[NVlabsPickle.initKwargsKey] }
    public var version: Int? { state[NVlabsPickle.versionKey]?.int }
    /// The embedded class source exactly as stored: opaque text, never parsed, compiled or run.
    public var moduleSource: String? { state[NVlabsPickle.sourceKey]?.string }
    /// Length of the embedded class source in bytes.
    public var sourceLength: Int { moduleSource?.utf8.count ?? 0 }

    /// `state_dict()` names and tensors (`synthesis.b4.conv1.weight`, …).
    public func stateDict(prefix: String = "") -> [(name: String, array: ArrayData)] {
        var out = ownTensors.map { (prefix + $0.name, $0.array) }
        for c in children { out += c.module.stateDict(prefix: prefix + c.name + ".") }
        return out
    }

    /// The family of a generator: StyleGAN3 when its synthesis starts from a `SynthesisInput` (R when
    /// its layers other than the ToRGB use 1×1 convs, stylegan3-r's `conv_kernel=1`), else StyleGAN2-ADA.
    public var generatorFamily: String {
        guard let synthesis = child("synthesis") else { return "unknown" }
        if synthesis.child("input")?.className == "SynthesisInput" {
            let kernels = synthesis.children.filter { $0.module.attribute("is_torgb")?.bool != true }
                .compactMap { $0.module.attribute("conv_kernel")?.int }
            return kernels.contains(1) ? "StyleGAN3-R" : "StyleGAN3-T"
        }
        return synthesis.child("b4") != nil ? "StyleGAN2-ADA" : "unknown"
    }
}

extension LoadedFile {
    /// The networks of an NVlabs pickle by top-level key (`G`, `D`, `G_ema`), in file order.
    public var nvlabsNetworks: [(key: String, module: NVlabsModule)] {
        guard format == .nvlabsPickle, case .dict(let items) = root else { return [] }
        return items.compactMap { item in
            guard let k = item.key.string, let m = NVlabsModule(item.value) else { return nil }
            return (k, m)
        }
    }
}
