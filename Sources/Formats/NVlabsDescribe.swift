import Foundation

/// " (StyleGAN2-ADA)" / " (StyleGAN3-T)": the generator families in an NVlabs pickle, for the format line.
func nvlabsFamilies(_ file: LoadedFile) -> String {
    let families = file.nvlabsNetworks.filter { $0.module.className == "Generator" }.map(\.module.generatorFamily)
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
