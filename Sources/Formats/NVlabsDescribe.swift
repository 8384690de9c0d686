import Foundation

/// " (StyleGAN2-ADA)" / " (StyleGAN3-T)" / " (TF StyleGAN2)": the generator families in an NVlabs pickle, for the
/// format line.
func nvlabsFamilies(_ file: LoadedFile) -> String {
    let families = file.nvlabsNetworks.filter { $0.module.className == "Generator" }.map(\.module.generatorFamily)
        + file.tfNetworks.filter { $0.network.isGenerator }.map(\.network.family)
    var seen: [String] = []
    for f in families where !seen.contains(f) { seen.append(f) }
    return seen.isEmpty ? "" : " (" + seen.joined(separator: ", ") + ")"
}

/// One line per network of an NVlabs pickle: generators with their resolution, z/w dims and the
/// hyper-parameters they were built with; the embedded source's size (kept, never run).
func nvlabsArchitectures(_ file: LoadedFile) -> [String] {
    let networks = file.nvlabsNetworks
    guard !networks.isEmpty else { return [] }
    var out: [String] = []
    for (key, m) in networks {
        guard m.className == "Generator" else {
            out.append("NVlabs \(m.className) ('\(key)'): \(m.stateDict().count) tensors")
            continue
        }
        let kw = m.initKwargs
        func int(_ name: String) -> Int? { m.attribute(name)?.int ?? kw?[name]?.int }
        var parts: [String] = []
        if let r = int("img_resolution") { parts.append("\(r)x\(r) px") }
        if let z = int("z_dim") { parts.append("z_dim \(z)") }
        if let w = int("w_dim") { parts.append("w_dim \(w)") }
        if let n = int("num_ws") { parts.append("\(n) ws") }
        if let c = int("c_dim"), c > 0 { parts.append("conditional (c_dim \(c))") }
        if let layers = m.child("mapping").map({ $0.children.filter { $0.name.hasPrefix("fc") }.count }) {
            parts.append("mapping \(layers) layers")
        }
        // stylegan2-ada nests the synthesis options in synthesis_kwargs; stylegan3 passes them flat.
        let shown: Set<String> = ["z_dim", "w_dim", "c_dim", "img_resolution", "img_channels"]
        var options: [(key: PyValue, value: PyValue)] = []
        if case .dict(let items)? = kw { options += items.filter { !shown.contains($0.key.string ?? "") } }
        if case .dict(let items)? = kw?["synthesis_kwargs"] { options += items }
        do {
            for item in options {
                guard let k = item.key.string else { continue }
                let v: String
                switch item.value {
                case .int(let i): v = String(i)
                case .float(let d): v = String(d)
                case .string(let s): v = s
                case .bool(let b): v = b ? "True" : "False"
                case .none: v = "None"
                default: continue
                }
                parts.append("\(k) \(v)")
            }
        }
        if let arch = m.child("synthesis")?.child("b4")?.attribute("architecture")?.string { parts.append("architecture \(arch)") }
        out.append("NVlabs \(m.generatorFamily) generator ('\(key)'): " + parts.joined(separator: ", "))
    }
    return out
}

/// What can be done with an NVlabs pickle, and the size of the code it embeds (kept, never run).
func nvlabsNotes(_ file: LoadedFile) -> [String] {
    let networks = file.nvlabsNetworks
    guard !networks.isEmpty else { return [] }
    var out: [String] = []
    let source = networks.reduce(0) { $0 + totalSource($1.module) }
    out.append("embedded class source: \(source) bytes in total (kept as text, never executed)")
    if let g = networks.first(where: { $0.key == "G_ema" })?.module, g.generatorFamily == "StyleGAN2-ADA" {
        out.append("usable as a generator: G_ema (default) or G with --network G; `nada-edit models convert` writes a rosinality checkpoint")
    } else if networks.contains(where: { $0.module.generatorFamily.hasPrefix("StyleGAN3") }) {
        out.append("StyleGAN3 generators run in generate, train and video --seed; edit, watch and invert refuse them (no encoder inverts into their W), and only StyleGAN2-ADA pickles convert")
    }
    return out
}

private func totalSource(_ m: NVlabsModule) -> Int {
    m.sourceLength + m.children.reduce(0) { $0 + totalSource($1.module) }
}

/// One line per network of a TensorFlow pickle: its build function, components, variable count and the static
/// keyword arguments it was built with. (The generator's shapes are described by the model's own conversion,
/// `Models.ModelArchitecture`.)
func tfArchitectures(_ file: LoadedFile) -> [String] {
    file.tfNetworks.map { key, n in
        var s = "TF network '\(key)'"
        if let f = n.buildFunctionName { s += " (\(f))" }
        s += ": \(n.variables.count) variables"
        let components = n.components.map { "\($0.key) \($0.network.name)" + ($0.network.buildFunctionName.map { " (\($0))" } ?? "") }
        if !components.isEmpty { s += ", components " + components.joined(separator: ", ") }
        if case .dict(let items)? = n.staticKwargs {
            let shown = items.compactMap { item -> String? in
                guard let k = item.key.string else { return nil }
                switch item.value {
                case .int(let i): return "\(k) \(i)"
                case .float(let d): return "\(k) \(d)"
                case .string(let v): return "\(k) \(v)"
                case .bool(let b): return "\(k) \(b ? "True" : "False")"
                default: return nil
                }
            }
            if !shown.isEmpty { s += "; " + shown.joined(separator: ", ") }
        }
        return s
    }
}

/// What can be done with a TensorFlow pickle, and the size of the code it embeds (kept, never run).
func tfNotes(_ file: LoadedFile) -> [String] {
    let networks = file.tfNetworks
    guard !networks.isEmpty else { return [] }
    func total(_ n: TFNetwork) -> Int { n.sourceLength + n.components.reduce(0) { $0 + total($1.network) } }
    var out = ["embedded build source: \(networks.reduce(0) { $0 + total($1.network) }) bytes in total (kept as text, never executed)"]
    if networks.contains(where: { $0.key == "Gs" && $0.network.family == "TF StyleGAN2" }) {
        out.append("usable as a generator: Gs (default) or G with --network G; `nada-edit models convert` writes a rosinality checkpoint")
    }
    return out
}
