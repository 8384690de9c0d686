import Formats

/// What models a loaded file holds, in words, for `nada-edit models inspect`. Each guess asks the model's own
/// shape inference (`StyleGAN2Config.infer`, `CLIPConfig(inferringFrom:)`, `EncoderCheckpoint.detectKind`), so
/// `inspect` says what the loaders would build, or why they would refuse: there is no second copy of the layouts.
///
/// The shapes come from untrusted files and this target is built without bounds checks, so every inference it
/// calls checks ranks before indexing (`ModelArchitectureTests.testHostileShapesUnderKnownNames`).
public enum ModelArchitecture {
    public static func describe(_ file: LoadedFile) -> [String] {
        let tensors = file.tensors
        var shapes: [String: [Int]] = [:]
        for t in tensors { shapes[t.name] = t.array.shape }
        var out = styleGAN2Generators(shapes, source: file.path) + tfGenerators(file)
        for name in tensors.map(\.name) where name.hasSuffix("final_linear.0.weight") {
            out.append("StyleGAN2 discriminator (rosinality layout) ('\(name.dropLast("final_linear.0.weight".count + 1))')")
        }
        if let encoder = encoder(file, shapes: shapes) { out.append(encoder) }
        if let clip = clip(file) { out.append(clip) }
        if let codes = latentCodes(file) { out.append(codes) }
        return out
    }

    /// rosinality generators (`g_ema`, `g`, a bare state dict, an encoder's `decoder`): one per prefix that has
    /// both `input.input` and `conv1.conv.weight`.
    static func styleGAN2Generators(_ shapes: [String: [Int]], source: String) -> [String] {
        var out: [String] = []
        for name in shapes.keys.sorted() where name == "input.input" || name.hasSuffix(".input.input") {
            let prefix = String(name.dropLast("input.input".count))
            guard shapes[prefix + "conv1.conv.weight"] != nil else { continue }
            let scoped = Dictionary(uniqueKeysWithValues: shapes.compactMap { key, shape in
                key.hasPrefix(prefix) ? (String(key.dropFirst(prefix.count)), shape) : nil
            })
            let label = "StyleGAN2 generator (rosinality layout)" + (prefix.isEmpty ? "" : " ('\(prefix.dropLast())')")
            do {
                let c = try StyleGAN2Config.infer(fromShapes: scoped, source: source)
                out.append("\(label): \(c.size)x\(c.size) px, style_dim \(c.styleDim), n_mlp \(c.nMLP), \(c.nLatent) W+ latents, "
                           + "\(c.channels[0]) channels at 4x4")
            } catch {
                out.append("\(label), not loadable: \(error)")
            }
        }
        return out
    }

    /// Generators of an NVlabs TensorFlow pickle, as `TFConversion` would build them.
    static func tfGenerators(_ file: LoadedFile) -> [String] {
        file.tfNetworks.filter { $0.network.isGenerator }.map { key, n in
            let label = "\(n.family) generator ('\(key)')"
            do {
                let converted = try TFConversion(generator: n, source: file.path)
                var shapes: [String: [Int]] = [:]
                for e in converted.stateDict { shapes[e.name] = e.array.shape }
                let c = try StyleGAN2Config.infer(fromShapes: shapes, source: file.path, lrMLP: converted.lrMLP)
                return "\(label): \(c.size)x\(c.size) px, z_dim \(c.styleDim), w_dim \(c.styleDim), n_mlp \(c.nMLP), "
                    + "\(c.nLatent) W+ latents, channels \(c.channels.map(String.init).joined(separator: "/")), mapping lr \(c.lrMLP)"
                    + (converted.latentAverage != nil ? ", dlatent_avg" : "")
            } catch {
                return "\(label), not loadable: \(error)"
            }
        }
    }

    /// pSp / e4e / ReStyle checkpoints: `encoder.*` (under `state_dict` as the official coaches save them).
    static func encoder(_ file: LoadedFile, shapes: [String: [Int]]) -> String? {
        let underStateDict = shapes.keys.contains { $0.hasPrefix("state_dict.encoder.") }
        guard underStateDict || shapes.keys.contains(where: { $0.hasPrefix("encoder.input_layer.") }) else { return nil }
        let pairs = underStateDict ? ((try? file.stateDict("state_dict")) ?? []) : file.tensors
        let weights = Weights(pairs, source: file.path).scoped("encoder")
        let opts = file.root["opts"]
        let kind: EncoderKind
        do { kind = try EncoderCheckpoint.detectKind(weights, opts: opts, path: file.path) } catch {
            return "pSp-family encoder, not loadable: \(error)"
        }
        let styles = Set(weights.names.compactMap { name -> Substring? in
            guard name.hasPrefix("styles.") else { return nil }
            return name.dropFirst("styles.".count).split(separator: ".").first
        }).count
        var s = "\(kind.paperName): \(styles) style outputs"
        if let input = try? weights.shape("input_layer.0.weight"), input.count == 4 { s += ", \(input[1])-channel input" }
        if let size = opts?["output_size"]?.int ?? opts?["stylegan_size"]?.int { s += ", decoder \(size)x\(size) px" }
        if file.root["latent_avg"]?.tensor != nil { s += ", has latent_avg" }
        return s
    }

    /// OpenAI CLIP (state dict or TorchScript) and Hugging Face `CLIPModel`, named as `CLIPModel(checkpoint:)` names them.
    static func clip(_ file: LoadedFile) -> String? {
        let names = Set(file.tensors.map(\.name))
        let huggingFace = names.contains("vision_model.embeddings.patch_embedding.weight")
        let openAI = names.contains { $0.hasSuffix("visual.conv1.weight") || $0.hasSuffix("visual.layer1.0.conv1.weight") }
        guard huggingFace || openAI else {
            return nil
        }
        let family = huggingFace ? "Hugging Face CLIPModel" : "OpenAI CLIP"
        do {
            var shapes: [String: [Int]] = [:]
            for (name, array) in try CLIPModel.openAINamedTensors(file) { shapes[name] = array.shape }
            let c = try CLIPConfig(inferringFrom: shapes, source: file.path)
            let known = c.visionWidth == 768 && c.visionLayers == 12 ? "ViT-B/\(c.visionPatchSize)"
                : c.visionWidth == 1024 && c.visionLayers == 24 ? "ViT-L/\(c.visionPatchSize)" : "ViT"
            return "\(family) \(known): \(c)"
        } catch {
            return "\(family), not loadable: \(error)"
        }
    }

    /// `.npy` / single-array `.npz` files shaped like W or W+ codes (`invert`'s output).
    static func latentCodes(_ file: LoadedFile) -> String? {
        guard file.format == .npy || file.format == .npz, file.tensors.count == 1, let s = file.tensors.first?.array.shape,
              s.count == 3 || (s.count == 2 && s[0] > 1), s.last! >= 8, s.count == 2 || (2...64).contains(s[1]) else { return nil }
        return s.count == 3 ? "latent codes: \(s[0]) W+ codes with \(s[1]) styles of \(s[2])"
            : "latent codes: \(s[0]) W vectors of \(s[1]) (or one W+ with \(s[0]) styles)"
    }
}

extension EncoderKind {
    /// The name the papers and `inspect` use, with the official class name.
    public var paperName: String {
        switch self {
        case .pSp: return "pSp (GradualStyleEncoder)"
        case .e4e: return "e4e (Encoder4Editing)"
        case .restyleE4E: return "ReStyle e4e (ProgressiveBackboneEncoder)"
        case .restylePSP: return "ReStyle pSp (BackboneEncoder)"
        }
    }
}
