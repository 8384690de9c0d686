import Formats

/// The one table between Hugging Face `CLIPModel` names and OpenAI's `clip/model.py` names (ours).
///
/// OpenAI releases (TorchScript archives and plain state dicts) already use OpenAI names. HF files differ
/// in names, split the fused attention input projection into q/k/v, and store the two output projections
/// as bias-free Linear weights, i.e. transposed.
public enum CLIPWeightNames {
    public enum Transform: Sendable { case copy, transpose }

    /// OpenAI name, HF name, transform (top-level tensors).
    public static let topLevel: [(openAI: String, hf: String, transform: Transform)] = [
        ("token_embedding.weight", "text_model.embeddings.token_embedding.weight", .copy),
        ("positional_embedding", "text_model.embeddings.position_embedding.weight", .copy),
        ("ln_final.weight", "text_model.final_layer_norm.weight", .copy),
        ("ln_final.bias", "text_model.final_layer_norm.bias", .copy),
        ("text_projection", "text_projection.weight", .transpose),
        ("visual.class_embedding", "vision_model.embeddings.class_embedding", .copy),
        ("visual.conv1.weight", "vision_model.embeddings.patch_embedding.weight", .copy),
        ("visual.positional_embedding", "vision_model.embeddings.position_embedding.weight", .copy),
        ("visual.ln_pre.weight", "vision_model.pre_layrnorm.weight", .copy), // sic: HF spells it "layrnorm"
        ("visual.ln_pre.bias", "vision_model.pre_layrnorm.bias", .copy),
        ("visual.ln_post.weight", "vision_model.post_layernorm.weight", .copy),
        ("visual.ln_post.bias", "vision_model.post_layernorm.bias", .copy),
        ("visual.proj", "visual_projection.weight", .transpose),
        ("logit_scale", "logit_scale", .copy),
    ]

    /// Residual-block prefixes: OpenAI `<prefix><i>.` <-> HF `<prefix><i>.`.
    public static let blockPrefixes: [(openAI: String, hf: String)] = [
        ("transformer.resblocks.", "text_model.encoder.layers."),
        ("visual.transformer.resblocks.", "vision_model.encoder.layers."),
    ]

    /// Per-block suffixes. Several HF names = row blocks q, k, v concatenated in that order.
    public static let blockSuffixes: [(openAI: String, hf: [String])] = [
        ("attn.in_proj_weight", ["self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight"]),
        ("attn.in_proj_bias", ["self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias"]),
        ("attn.out_proj.weight", ["self_attn.out_proj.weight"]),
        ("attn.out_proj.bias", ["self_attn.out_proj.bias"]),
        ("ln_1.weight", ["layer_norm1.weight"]),
        ("ln_1.bias", ["layer_norm1.bias"]),
        ("mlp.c_fc.weight", ["mlp.fc1.weight"]),
        ("mlp.c_fc.bias", ["mlp.fc1.bias"]),
        ("mlp.c_proj.weight", ["mlp.fc2.weight"]),
        ("mlp.c_proj.bias", ["mlp.fc2.bias"]),
        ("ln_2.weight", ["layer_norm2.weight"]),
        ("ln_2.bias", ["layer_norm2.bias"]),
    ]

    /// True when the names are Hugging Face `CLIPModel` names.
    public static func isHuggingFace(_ names: [String]) -> Bool {
        names.contains { $0.hasPrefix("text_model.") || $0.hasPrefix("vision_model.") }
    }

    /// Tensors renamed to OpenAI names. OpenAI-named input passes through unchanged (TorchScript extras such
    /// as `input_resolution` are kept; the model ignores them). HF input is mapped through the table.
    public static func openAINamed(_ pairs: [(name: String, array: ArrayData)], source: String) throws -> [(name: String, array: ArrayData)] {
        let names = pairs.map { $0.name }
        guard isHuggingFace(names) else { return pairs }
        var byName: [String: ArrayData] = [:]
        for (n, a) in pairs { byName[n] = a }
        func get(_ hf: String) throws -> ArrayData {
            guard let a = byName[hf] else { throw ModelLoadError("\(source): Hugging Face CLIP file is missing tensor '\(hf)'") }
            return a
        }
        var out: [(name: String, array: ArrayData)] = []
        for (openAI, hf, transform) in topLevel {
            let a = try get(hf)
            out.append((openAI, transform == .copy ? a : try transposed2D(a, name: hf, source: source)))
        }
        for (openAIPrefix, hfPrefix) in blockPrefixes {
            // Layer indices present in the file (HF layers are numbered 0..<L).
            let ids = Set(names.filter { $0.hasPrefix(hfPrefix) }.compactMap { Int($0.dropFirst(hfPrefix.count).split(separator: ".")[0]) }).sorted()
            for i in ids {
                for (suffix, hfSuffixes) in blockSuffixes {
                    let parts = try hfSuffixes.map { try get("\(hfPrefix)\(i).\($0)") }
                    let name = "\(openAIPrefix)\(i).\(suffix)"
                    out.append((name, parts.count == 1 ? parts[0] : try concatenatedRows(parts, name: name, source: source)))
                }
            }
        }
        return out
    }

    static func transposed2D(_ a: ArrayData, name: String, source: String) throws -> ArrayData {
        guard a.shape.count == 2 else { throw ModelLoadError("\(source): tensor '\(name)' has shape \(a.shape), expected a matrix") }
        let r = a.shape[0], c = a.shape[1]
        let v = a.floats()
        var t = [Float](repeating: 0, count: v.count)
        for i in 0..<r { for j in 0..<c { t[j * r + i] = v[i * c + j] } }
        return ArrayData(shape: [c, r], floats: t)
    }

    static func concatenatedRows(_ parts: [ArrayData], name: String, source: String) throws -> ArrayData {
        let rest = Array(parts[0].shape.dropFirst())
        guard parts.allSatisfy({ Array($0.shape.dropFirst()) == rest && !$0.shape.isEmpty }) else {
            throw ModelLoadError("\(source): q/k/v tensors for '\(name)' have mismatched shapes \(parts.map { $0.shape })")
        }
        let rows = parts.reduce(0) { $0 + $1.shape[0] }
        return ArrayData(shape: [rows] + rest, floats: parts.flatMap { $0.floats() })
    }
}
