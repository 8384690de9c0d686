import Foundation

/// A human-readable summary of a loaded file: format, metadata, an architecture guess from the key
/// names, and every tensor's name, dtype and shape (for `nada-edit models inspect`).
public func describe(_ file: LoadedFile, maxTensors: Int = Int.max) -> String {
    var lines: [String] = []
    lines.append("file: \(file.path)")
    lines.append("format: \(file.format.rawValue)" + nvlabsFamilies(file))
    if case .dict(let items) = file.root, file.format == .torchZip || file.format == .torchLegacy || file.format == .nvlabsPickle {
        let parts = items.map { item -> String in
            let key = item.key.string ?? (item.key.int.map(String.init) ?? "?")
            return "\(key) (\(summary(item.value)))"
        }
        lines.append("top-level: " + parts.joined(separator: ", "))
    }
    for (k, v) in file.metadata.sorted(by: { $0.key < $1.key }) { lines.append("metadata \(k): \(v)") }
    for guess in guessArchitectures(file) { lines.append("architecture: \(guess)") }
    lines += nvlabsNotes(file)
    let tensors = file.tensors
    // Saturating: views of one storage may repeat its elements many times over in a hostile file.
    let params = tensors.reduce(0) { let (s, o) = $0.addingReportingOverflow($1.array.count); return o ? Int.max : s }
    let dtypes = Set(tensors.map(\.array.dtype.rawValue)).sorted().joined(separator: ", ")
    lines.append("tensors: \(tensors.count), \(formatCount(params)) values, dtypes: \(dtypes.isEmpty ? "-" : dtypes)")
    let width = min(tensors.map(\.name.count).max() ?? 0, 72)
    for t in tensors.prefix(maxTensors) {
        let name = t.name.isEmpty ? "(root)" : t.name
        lines.append("  " + name.padding(toLength: max(width, name.count), withPad: " ", startingAt: 0)
                     + "  " + t.array.dtype.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0) + " " + shapeText(t.array.shape))
    }
    if tensors.count > maxTensors { lines.append("  ... \(tensors.count - maxTensors) more") }
    return lines.joined(separator: "\n")
}

private func shapeText(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }

/// Dimension `k` of a shape, or 0 when the shape has fewer dimensions (hostile files may use any shape
/// under a well-known name; a description must not trap on it).
private func dim(_ shape: [Int]?, _ k: Int) -> Int {
    guard let shape, k < shape.count else { return 0 }
    return shape[k]
}

private func formatCount(_ n: Int) -> String {
    if n >= 1_000_000 { return String(format: "%.2fM", Double(n) / 1e6) }
    if n >= 10_000 { return String(format: "%.1fk", Double(n) / 1e3) }
    return String(n)
}

private func summary(_ v: PyValue) -> String {
    switch v {
    case .tensor(let t): return "tensor \(t.dtype.rawValue) \(shapeText(t.shape))"
    case .dict(let items):
        let n = v.flattenedTensors().count
        return n > 0 ? "\(n) tensors" : "dict of \(items.count)"
    case .object(let type, _): return type
    case .list(let xs): return "list of \(xs.count)"
    case .tuple(let xs): return "tuple of \(xs.count)"
    case .string(let s): return "'\(s.prefix(40))'"
    case .int(let i): return String(i)
    case .float(let d): return String(d)
    case .bool(let b): return b ? "True" : "False"
    case .none: return "None"
    case .bytes(let d): return "\(d.count) bytes"
    }
}

/// Architecture guesses from tensor names and shapes (several when a file holds several models).
func guessArchitectures(_ file: LoadedFile) -> [String] {
    let tensors = file.tensors
    var shapes: [String: [Int]] = [:]
    for t in tensors { shapes[t.name] = t.array.shape }
    var out: [String] = nvlabsArchitectures(file)

    // rosinality StyleGAN2 generators (g_ema, g, or a bare state dict), possibly under a prefix.
    for name in tensors.map(\.name) where name.hasSuffix("input.input") && (name == "input.input" || name.hasSuffix(".input.input")) {
        let p = String(name.dropLast("input.input".count))
        guard shapes[p + "conv1.conv.weight"] != nil else { continue }
        let rgbs = Set(tensors.compactMap { t -> String? in
            guard t.name.hasPrefix(p + "to_rgbs.") else { return nil }
            return t.name.dropFirst((p + "to_rgbs.").count).split(separator: ".").first.map(String.init)
        }).count
        let mlp = Set(tensors.compactMap { t -> String? in
            guard t.name.hasPrefix(p + "style."), t.name.hasSuffix(".weight") else { return nil }
            return t.name
        }).count
        let styleDim = shapes[p + "style.1.weight"]?.last ?? shapes[p + "conv1.conv.modulation.weight"]?.last ?? 0
        let size = 1 << (rgbs + 2)
        let label = p.isEmpty ? "" : " ('\(p.dropLast())')"
        out.append("StyleGAN2 generator (rosinality layout)\(label): \(size)x\(size) px, style_dim \(styleDim), n_mlp \(mlp), \(2 * rgbs + 2) W+ latents, \(dim(shapes[name], 1)) channels at 4x4")
    }
    for name in tensors.map(\.name) where name.hasSuffix("final_linear.0.weight") {
        out.append("StyleGAN2 discriminator (rosinality layout) ('\(name.dropLast("final_linear.0.weight".count + 1))')")
    }

    // pSp / e4e / ReStyle encoder checkpoints: encoder.* + decoder.* with opts.
    if shapes.keys.contains(where: { $0.hasPrefix("state_dict.encoder.") }) || shapes.keys.contains(where: { $0.hasPrefix("encoder.input_layer.") }) {
        let opts = file.root["opts"]
        let type = opts?["encoder_type"]?.string ?? "?"
        let family: String
        switch type {
        case "Encoder4Editing": family = "e4e (Encoder4Editing)"
        case "GradualStyleEncoder": family = "pSp (GradualStyleEncoder)"
        case "ProgressiveBackboneEncoder": family = "ReStyle e4e (ProgressiveBackboneEncoder)"
        case "BackboneEncoder", "ResNetBackboneEncoder", "ResNetProgressiveBackboneEncoder": family = "ReStyle (\(type))"
        default: family = "pSp-family encoder (encoder_type \(type))"
        }
        let prefix = shapes.keys.contains { $0.hasPrefix("state_dict.") } ? "state_dict." : ""
        let styles = Set(shapes.keys.compactMap { k -> String? in
            guard k.hasPrefix(prefix + "encoder.styles.") else { return nil }
            return k.dropFirst((prefix + "encoder.styles.").count).split(separator: ".").first.map(String.init)
        }).count
        let inputChannels = dim(shapes[prefix + "encoder.input_layer.0.weight"], 1)
        let size = opts?["output_size"]?.int ?? opts?["stylegan_size"]?.int
        var s = "\(family): \(styles) style outputs, \(inputChannels)-channel input"
        if let size { s += ", decoder \(size)x\(size) px" }
        if file.root["latent_avg"]?.tensor != nil { s += ", has latent_avg" }
        out.append(s)
    }

    // OpenAI CLIP (state dict or TorchScript) and Hugging Face CLIPModel.
    if let conv = shapes["visual.conv1.weight"], let tokens = shapes["token_embedding.weight"] {
        if shapes["visual.proj"] != nil, let pos = shapes["visual.positional_embedding"] {
            let patch = conv.last ?? 0, width = conv.first ?? 0
            let layers = shapes.keys.filter { $0.hasPrefix("visual.transformer.resblocks.") && $0.hasSuffix(".attn.in_proj_weight") }.count
            let grid = Int(Double(max(dim(pos, 0) - 1, 0)).squareRoot().rounded())
            let name = width == 768 && layers == 12 ? "ViT-B/\(patch)" : width == 1024 && layers == 24 ? "ViT-L/\(patch)" : "ViT"
            let (input, o) = patch.multipliedReportingOverflow(by: grid)
            out.append("OpenAI CLIP \(name): width \(width), \(layers) layers, patch \(patch), \(o ? "?" : String(input)) px input, embed dim \(shapes["text_projection"]?.last ?? 0), vocab \(dim(tokens, 0))")
        } else {
            out.append("OpenAI CLIP ModifiedResNet (RN50 family), vocab \(dim(tokens, 0))")
        }
    }
    if let patch = shapes["vision_model.embeddings.patch_embedding.weight"], shapes["text_model.embeddings.token_embedding.weight"] != nil {
        let layers = shapes.keys.filter { $0.hasPrefix("vision_model.encoder.layers.") && $0.hasSuffix(".self_attn.q_proj.weight") }.count
        out.append("Hugging Face CLIPModel: vision width \(dim(patch, 0)), \(layers) layers, patch \(patch.last ?? 0)")
    }

    // Latent codes.
    if file.format == .npy || file.format == .npz, tensors.count == 1 || file.format == .npy, let t = tensors.first {
        let s = t.array.shape
        if s.count >= 2, s.last == 512, s.count == 3 || s.count == 2 && s[0] > 1 {
            out.append(s.count == 3 ? "latent codes: \(s[0]) W+ codes with \(s[1]) styles of 512" : "latent codes: \(s[0]) W vectors of 512 (or one W+ with \(s[0]) styles)")
        }
    }
    if out.isEmpty && file.format != .nvlabsPickle { out.append("not recognised (no StyleGAN2, pSp/e4e/ReStyle or CLIP key pattern)") }
    return out
}
