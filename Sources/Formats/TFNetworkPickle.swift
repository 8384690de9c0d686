import Foundation

/// NVlabs TensorFlow network pickles (the stylegan2 releases: `stylegan2-car-config-f.pkl`, …), read as data.
///
/// Such a file is `pickle.dump((G, D, Gs))` of `dnnlib.tflib.network.Network` objects. Each is pickled as a plain
/// class instance: NEWOBJ of the class, then BUILD with the dict its `__getstate__` returns — `version`, `name`,
/// `static_kwargs`, `components` (nested Networks: `mapping`, `synthesis`), `build_module_src`, `build_func_name`
/// and `variables`, a list of `(local name, numpy value)` pairs (0-d variables come as numpy scalars). `pickle.load`
/// runs code: `Network.__setstate__` `exec`s `build_module_src` and builds a TensorFlow graph. Here `Network` is
/// only a record (`Unpickler.newObject` makes an empty object that BUILD fills), allowed in bare pickles only; the
/// source is kept as opaque text, never looked at; every other global is refused by name as in any checkpoint.
enum TFNetworkPickle {
    /// The one class a TensorFlow network pickle instantiates.
    static let networkClass = "dnnlib.tflib.network.Network"
    /// The `type` of a network in `LoadedFile.root` after `record`.
    static let recordType = "TF Network"

    static let nameKey = "__name__"
    static let versionKey = "__version__"
    static let staticKwargsKey = "__static_kwargs__"
    static let buildFunctionKey = "__build_func_name__"
    static let sourceKey = "__build_module_src__"

    /// A `Network` object's state (the `__getstate__` dict) as a record: its own variables by local name in file
    /// order, its components (already converted by the caller) by key, then the scalars under reserved keys.
    static func record(_ state: PyValue, path: String) throws -> PyValue {
        guard case .dict = state else { throw FormatError("\(path): a \(networkClass) object has no state dict (BUILD missing)") }
        guard let name = state["name"]?.string, !name.isEmpty else { throw FormatError("\(path): a \(networkClass) has no name") }
        let what = "TensorFlow network '\(name)'"
        guard let version = state["version"]?.int else { throw FormatError("\(path): \(what) has no version") }
        // dnnlib's own loader accepts these versions (`__setstate__` asserts them).
        guard [2, 3, 4].contains(version) else { throw FormatError("\(path): \(what) has pickle version \(version); dnnlib writes 2, 3 or 4") }
        var items: [(key: PyValue, value: PyValue)] = []
        var seen = Set<String>()
        if let variables = state["variables"] {
            guard case .list(let pairs) = variables else { throw FormatError("\(path): \(what): 'variables' is not a list") }
            for (i, pair) in pairs.enumerated() {
                guard case .tuple(let nv) = pair, nv.count == 2, let varName = nv[0].string else {
                    throw FormatError("\(path): \(what): variable \(i) is not a (name, value) pair")
                }
                guard !varName.isEmpty, !varName.hasPrefix("__"), seen.insert(varName).inserted else {
                    throw FormatError("\(path): \(what): variable name '\(varName)' is empty, reserved or repeated")
                }
                items.append((.string(varName), .tensor(try array(nv[1], what: "\(what): variable '\(varName)'", path: path))))
            }
        } else {
            throw FormatError("\(path): \(what) has no variables")
        }
        if let components = state["components"] {
            guard case .dict(let entries) = components else { throw FormatError("\(path): \(what): 'components' is not a dict") }
            for entry in entries {
                guard let key = entry.key.string, !key.hasPrefix("__"), !seen.contains(key) else {
                    throw FormatError("\(path): \(what): a component key is not a name, or clashes with a variable")
                }
                guard TFNetwork(entry.value) != nil else {
                    throw FormatError("\(path): \(what): component '\(key)' is not a \(networkClass)")
                }
                seen.insert(key)
                items.append((.string(key), entry.value))
            }
        }
        items.append((.string(nameKey), .string(name)))
        items.append((.string(versionKey), .int(version)))
        if let kwargs = state["static_kwargs"] { items.append((.string(staticKwargsKey), kwargs)) }
        if let f = state["build_func_name"]?.string { items.append((.string(buildFunctionKey), .string(f))) }
        // Kept only so `inspect` can say how long it is; never parsed, compiled or run.
        if let src = state["build_module_src"]?.string { items.append((.string(sourceKey), .string(src))) }
        return .object(type: recordType, state: .dict(items))
    }

    /// A variable's value: a numpy array (already a tensor) or, for 0-d variables, the numpy scalar TensorFlow's
    /// `session.run` returns (a float or int after unpickling), as a 0-d float32 array.
    private static func array(_ v: PyValue, what: String, path: String) throws -> ArrayData {
        switch v {
        case .tensor(let t): return t
        case .float(let d): return ArrayData(shape: [], floats: [Float(d)])
        case .int(let i): return ArrayData(shape: [], floats: [Float(i)])
        default: throw FormatError("\(path): \(what) is not a numpy array")
        }
    }

    /// The file's top level with the networks named: `(G, D, Gs)` becomes `{"G": G, "D": D, "Gs": Gs}` by each
    /// network's own `name` (what dnnlib and its users call them), so tensors are listed as `Gs.synthesis.4x4/…`.
    /// Any other top level is kept as it is.
    static func namedRoot(_ root: PyValue) -> PyValue {
        let items: [PyValue]
        switch root {
        case .tuple(let xs), .list(let xs): items = xs
        default: return root
        }
        let networks = items.compactMap(TFNetwork.init)
        guard !items.isEmpty, networks.count == items.count, Set(networks.map(\.name)).count == networks.count else { return root }
        return .dict(zip(networks, items).map { (key: PyValue.string($0.name), value: $1) })
    }
}

/// A TensorFlow network from an NVlabs pickle (`LoadedFile.tfNetworks`): its name, build function, static
/// keyword arguments, variables and components. Pure data; the embedded build source is never interpreted.
public struct TFNetwork: @unchecked Sendable {
    /// The network's own name (`G`, `D`, `Gs`; components `G_mapping`, `G_synthesis`).
    public let name: String
    let state: PyValue

    public init?(_ value: PyValue) {
        guard case .object(let type, let state) = value, type == TFNetworkPickle.recordType,
              let name = state[TFNetworkPickle.nameKey]?.string else { return nil }
        self.name = name
        self.state = state
    }

    private var items: [(key: PyValue, value: PyValue)] {
        if case .dict(let items) = state { return items }
        return []
    }

    /// dnnlib's pickle version of the network (2, 3 or 4).
    public var version: Int? { state[TFNetworkPickle.versionKey]?.int }
    /// The name of the function that builds the graph (`G_main`, `G_synthesis_stylegan2`, `D_stylegan2`, …).
    public var buildFunctionName: String? { state[TFNetworkPickle.buildFunctionKey]?.string }
    /// The keyword arguments the network was built with (`resolution`, `mapping_lrmul`, `architecture`, …).
    public var staticKwargs: PyValue? { state[TFNetworkPickle.staticKwargsKey] }
    public func staticKwarg(_ name: String) -> PyValue? { staticKwargs?[name] }
    /// The embedded module source exactly as stored: opaque text, never parsed, compiled or run.
    public var moduleSource: String? { state[TFNetworkPickle.sourceKey]?.string }
    public var sourceLength: Int { moduleSource?.utf8.count ?? 0 }

    /// The network's own variables by local name (`dlatent_avg`, `4x4/Conv/weight`, …), in file order.
    public var ownVariables: [(name: String, array: ArrayData)] {
        items.compactMap { item in
            guard let k = item.key.string, case .tensor(let t) = item.value else { return nil }
            return (k, t)
        }
    }

    public func variable(_ name: String) -> ArrayData? { ownVariables.first { $0.name == name }?.array }

    /// Sub-networks by key (`mapping`, `synthesis`), in file order.
    public var components: [(key: String, network: TFNetwork)] {
        items.compactMap { item in
            guard let k = item.key.string, let n = TFNetwork(item.value) else { return nil }
            return (k, n)
        }
    }

    public func component(_ key: String) -> TFNetwork? { components.first { $0.key == key }?.network }

    /// All variables as dnnlib's `Network.vars` names them: own variables, then each component's under
    /// `<component name>/` (`G_mapping/Dense0/weight`, `G_synthesis/4x4/Const/const`).
    public var variables: [(name: String, array: ArrayData)] {
        ownVariables + components.flatMap { c in c.network.variables.map { (name: c.network.name + "/" + $0.name, array: $0.array) } }
    }

    /// "TF StyleGAN2" for a generator whose synthesis network is built by `G_synthesis_stylegan2`, "TF StyleGAN"
    /// for the first StyleGAN's `G_synthesis`, "TF" for anything else (discriminators included).
    public var family: String {
        switch component("synthesis")?.buildFunctionName {
        case "G_synthesis_stylegan2": return "TF StyleGAN2"
        case "G_synthesis": return "TF StyleGAN"
        default: return "TF"
        }
    }

    /// Whether the network is a generator (it has `mapping` and `synthesis` components).
    public var isGenerator: Bool { component("mapping") != nil && component("synthesis") != nil }
}

extension LoadedFile {
    /// The networks of a TensorFlow network pickle by their own names (`G`, `D`, `Gs`), in file order.
    public var tfNetworks: [(key: String, network: TFNetwork)] {
        guard format == .tfNetworkPickle else { return [] }
        switch root {
        case .dict(let items):
            return items.compactMap { item in TFNetwork(item.value).map { (key: $0.name, network: $0) } }
        case .tuple(let xs), .list(let xs):
            return xs.compactMap(TFNetwork.init).map { (key: $0.name, network: $0) }
        default:
            return TFNetwork(root).map { [(key: $0.name, network: $0)] } ?? []
        }
    }
}
