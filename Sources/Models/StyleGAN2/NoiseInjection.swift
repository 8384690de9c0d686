import Engine

/// Per-pixel noise scaled by one learned strength: y = x + weight·n, n [1 or B, 1, H, W] broadcast over
/// channels (rosinality `NoiseInjection`; `weight` is zero-initialised in fresh models).
struct NoiseInjection {
    let name: String

    func callAsFunction(_ x: Tensor, noise: Tensor, _ t: StyleGAN2Tensors) -> Tensor {
        x + t.parameter(name + ".weight") * noise
    }
}
