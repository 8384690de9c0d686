import Engine

/// Per-pixel noise scaled by one learned strength: y = x + weight·n, n [1 or B, 1, H, W] broadcast over
/// channels (rosinality `NoiseInjection`; `weight` is zero-initialised in fresh models).
///
/// The add runs on [B·C, H·W] + [1, H·W] (or [B, C, H·W] + [B, 1, H·W]) views so that the backward of
/// the broadcast is a single-axis sum rather than a multi-axis reduction.
struct NoiseInjection {
    let name: String

    func callAsFunction(_ x: Tensor, noise: Tensor, _ t: StyleGAN2Tensors) -> Tensor {
        let b = x.shape[0], c = x.shape[1], hw = x.shape[2] * x.shape[3]
        let strength = t.parameter(name + ".weight")
        let sum = noise.shape[0] == 1
            ? x.reshaped([b * c, hw]) + noise.reshaped([1, hw]) * strength
            : x.reshaped([b, c, hw]) + noise.reshaped([b, 1, hw]) * strength
        return sum.reshaped(x.shape)
    }
}
