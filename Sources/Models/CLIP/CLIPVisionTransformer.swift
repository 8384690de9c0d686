import Engine

/// `VisionTransformer` of `clip/model.py`: patch embedding (stride = kernel, no bias), class token,
/// positional embedding, ln_pre, residual blocks, ln_post on the class token, `@ proj`.
struct CLIPVisionTransformer {
    let patchSize: Int, resolution: Int, width: Int
    /// conv1.weight [D, 3, P, P] viewed as [D, 3·P·P] for the patch GEMM.
    let patchWeight: Tensor
    let classEmbedding: Tensor
    let positionalEmbedding: Tensor
    let lnPre: CLIPLayerNorm
    let transformer: CLIPTransformer
    let lnPost: CLIPLayerNorm
    /// [D, E], used as is (x @ proj).
    let proj: Tensor

    init(config c: CLIPConfig, _ parameter: CLIPParameterSource) throws {
        let d = c.visionWidth, p = c.visionPatchSize
        patchSize = p
        resolution = c.imageResolution
        width = d
        patchWeight = try parameter("visual.conv1.weight", [d, 3, p, p]).reshaped([d, 3 * p * p])
        classEmbedding = try parameter("visual.class_embedding", [d])
        positionalEmbedding = try parameter("visual.positional_embedding", [c.visionTokens, d])
        lnPre = try CLIPLayerNorm("visual.ln_pre", width: d, parameter)
        transformer = try CLIPTransformer("visual.transformer.", width: d, layers: c.visionLayers, parameter)
        lnPost = try CLIPLayerNorm("visual.ln_post", width: d, parameter)
        proj = try parameter("visual.proj", [d, c.embedDim])
    }

    /// pixels [N, 3, R, R] (normalized) -> [N, E].
    func callAsFunction(_ pixels: Tensor, tap: CLIPTap?) -> Tensor {
        let n = pixels.shape[0]
        let tokens = pixels.patches(size: patchSize).linear(weight: patchWeight) // [N, g², D]
        tap?("vision_conv1", tokens)
        let cls = classEmbedding.reshaped([1, 1, width]).expanded(to: [n, 1, width])
        var x = Tensor.concat([cls, tokens], axis: 1) + positionalEmbedding
        x = lnPre(x)
        tap?("vision_ln_pre", x)
        x = transformer(x, causal: false, tap: tap, tapPrefix: "vision_block")
        let pooled = lnPost(x.slice(axis: 1, 0..<1).reshaped([n, width]))
        tap?("vision_ln_post", pooled)
        return pooled.matmul(proj)
    }
}
