/// The sizes of a CLIP ViT model. Nothing but tensor shapes is stored in OpenAI's files, so every
/// number here is re-derived from the state dict exactly as `clip/model.py`'s `build_model` does;
/// heads are never stored and are always width / 64.
public struct CLIPConfig: Equatable, Sendable, CustomStringConvertible {
    public var embedDim: Int
    public var imageResolution: Int
    public var visionLayers: Int
    public var visionWidth: Int
    public var visionPatchSize: Int
    public var contextLength: Int
    public var vocabSize: Int
    public var textWidth: Int
    public var textLayers: Int

    public init(embedDim: Int, imageResolution: Int, visionLayers: Int, visionWidth: Int, visionPatchSize: Int,
                contextLength: Int = 77, vocabSize: Int = 49408, textWidth: Int, textLayers: Int) {
        self.embedDim = embedDim
        self.imageResolution = imageResolution
        self.visionLayers = visionLayers
        self.visionWidth = visionWidth
        self.visionPatchSize = visionPatchSize
        self.contextLength = contextLength
        self.vocabSize = vocabSize
        self.textWidth = textWidth
        self.textLayers = textLayers
    }

    public var visionHeads: Int { visionWidth / 64 }
    public var textHeads: Int { textWidth / 64 }
    /// Patches per side.
    public var grid: Int { imageResolution / visionPatchSize }
    /// Vision tokens: class token + grid².
    public var visionTokens: Int { grid * grid + 1 }

    public static let vitB32 = CLIPConfig(embedDim: 512, imageResolution: 224, visionLayers: 12, visionWidth: 768,
                                          visionPatchSize: 32, textWidth: 512, textLayers: 12)
    public static let vitB16 = CLIPConfig(embedDim: 512, imageResolution: 224, visionLayers: 12, visionWidth: 768,
                                          visionPatchSize: 16, textWidth: 512, textLayers: 12)
    public static let vitL14 = CLIPConfig(embedDim: 768, imageResolution: 224, visionLayers: 24, visionWidth: 1024,
                                          visionPatchSize: 14, textWidth: 768, textLayers: 12)

    public var description: String {
        "CLIP ViT (resolution \(imageResolution), patch \(visionPatchSize), vision \(visionLayers)x\(visionWidth)/\(visionHeads) heads, "
            + "text \(textLayers)x\(textWidth)/\(textHeads) heads, context \(contextLength), vocab \(vocabSize), embed \(embedDim))"
    }

    /// `build_model`'s rules applied to OpenAI-named shapes (`shapes[name]`).
    public init(inferringFrom shapes: [String: [Int]], source: String) throws {
        func shape(_ name: String, rank: Int) throws -> [Int] {
            guard let s = shapes[name] else { throw ModelLoadError("\(source): not a CLIP checkpoint: missing tensor '\(name)'") }
            guard s.count == rank else { throw ModelLoadError("\(source): tensor '\(name)' has shape \(s), expected rank \(rank)") }
            return s
        }
        guard shapes["visual.proj"] != nil else {
            if shapes.keys.contains(where: { $0.hasPrefix("visual.layer1.") }) {
                throw ModelLoadError("\(source): ResNet CLIP models (RN50, RN101, ...) are not supported; use a ViT model (ViT-B/32, ViT-B/16, ViT-L/14)")
            }
            throw ModelLoadError("\(source): not a CLIP ViT checkpoint: missing tensor 'visual.proj'")
        }
        let conv1 = try shape("visual.conv1.weight", rank: 4)
        let visionPos = try shape("visual.positional_embedding", rank: 2)
        let textProjection = try shape("text_projection", rank: 2)
        let textPos = try shape("positional_embedding", rank: 2)
        let tokenEmbedding = try shape("token_embedding.weight", rank: 2)
        let lnFinal = try shape("ln_final.weight", rank: 1)

        let visionLayers = shapes.keys.filter { $0.hasPrefix("visual.") && $0.hasSuffix(".attn.in_proj_weight") }.count
        // Names and shapes come from the file, and this target is built without bounds or overflow checks:
        // index only what was checked, multiply only what cannot overflow.
        let textLayerIDs = Set(shapes.keys.compactMap { key -> Substring? in
            let parts = key.split(separator: ".")
            return parts.count > 2 && key.hasPrefix("transformer.resblocks.") ? parts[2] : nil
        })
        let patch = conv1[3]
        let tokens = visionPos[0] - 1
        var grid = Int((Double(max(min(tokens, 1 << 40), 0))).squareRoot().rounded())
        if grid * grid != tokens { grid = -1 }
        guard grid > 0, patch > 0, patch <= 1 << 20, grid <= 1 << 20, conv1[2] == patch, conv1[1] == 3 else {
            throw ModelLoadError("\(source): visual.conv1.weight \(conv1) and visual.positional_embedding \(visionPos) do not describe a square patch grid")
        }
        self.init(embedDim: textProjection[1], imageResolution: patch * grid, visionLayers: visionLayers,
                  visionWidth: conv1[0], visionPatchSize: patch, contextLength: textPos[0], vocabSize: tokenEmbedding[0],
                  textWidth: lnFinal[0], textLayers: textLayerIDs.count)
        for (what, width) in [("vision", visionWidth), ("text", textWidth)] where width % 64 != 0 || width == 0 {
            throw ModelLoadError("\(source): \(what) width \(width) is not a positive multiple of 64 (CLIP uses width/64 heads)")
        }
        guard visionLayers > 0, textLayers > 0 else {
            throw ModelLoadError("\(source): found \(visionLayers) vision and \(textLayers) text residual blocks; CLIP needs at least one of each")
        }
    }
}
