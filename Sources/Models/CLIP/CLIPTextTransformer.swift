import Engine

/// The text tower of `clip/model.py` (`CLIP.encode_text`): token + positional embedding, causal residual
/// blocks, ln_final, the hidden state at the first maximal token id (the EOT, 49407) `@ text_projection`.
struct CLIPTextTransformer {
    let contextLength: Int, vocabSize: Int, width: Int
    let tokenEmbedding: Tensor // [V, W]
    let positionalEmbedding: Tensor // [context, W]
    let transformer: CLIPTransformer
    let lnFinal: CLIPLayerNorm
    let projection: Tensor // [W, E], used as is

    init(config c: CLIPConfig, _ parameter: CLIPParameterSource) throws {
        contextLength = c.contextLength
        vocabSize = c.vocabSize
        width = c.textWidth
        tokenEmbedding = try parameter("token_embedding.weight", [c.vocabSize, c.textWidth])
        positionalEmbedding = try parameter("positional_embedding", [c.contextLength, c.textWidth])
        transformer = try CLIPTransformer("transformer.", width: c.textWidth, layers: c.textLayers, parameter)
        lnFinal = try CLIPLayerNorm("ln_final", width: c.textWidth, parameter)
        projection = try parameter("text_projection", [c.textWidth, c.embedDim])
    }

    /// Encodes rows of validated token ids, each run for `length` positions (rows shorter than that are
    /// zero-padded, as `clip.tokenize` pads). `eot[i]` < `length` is row i's pooling position.
    /// Because of the causal mask, positions after `eot[i]` cannot change row i's result, which is why the
    /// caller may pass `length` = max(eot) + 1 instead of the full context.
    func encode(_ rows: [[Int32]], eot: [Int], length: Int, tap: CLIPTap?) -> Tensor {
        let n = rows.count, w = width
        let x = Tensor.zeros([n, length, w])
        let px = x.pointer, pe = tokenEmbedding.pointer, pp = positionalEmbedding.pointer
        for (i, row) in rows.enumerated() {
            for t in 0..<length {
                let id = t < row.count ? Int(row[t]) : 0
                let dst = px + (i * length + t) * w, e = pe + id * w, p = pp + t * w
                for j in 0..<w { dst[j] = e[j] + p[j] }
            }
        }
        tap?("text_x0", x)
        let h = transformer(x, causal: true, tap: tap, tapPrefix: "text_block")
        if let tap { tap("text_ln_final", lnFinal(h)) }
        // ln_final is per position, so apply it to the pooled rows only.
        let pooled = Tensor.zeros([n, w])
        let ph = h.pointer, pd = pooled.pointer
        for i in 0..<n { (pd + i * w).update(from: ph + (i * length + eot[i]) * w, count: w) }
        return lnFinal(pooled).matmul(projection)
    }
}
