import Engine

/// The z → w mapping: PixelNorm, then `nMLP` EqualLinear layers (lr_mul 0.01, fused lrelu).
/// State-dict indices start at `style.1` because index 0 is the parameter-free PixelNorm.
struct MappingNetwork {
    let layers: [EqualLinear]

    init(config: StyleGAN2Config) {
        layers = (0..<config.nMLP).map {
            EqualLinear(name: "style.\($0 + 1)", inFeatures: config.styleDim, lrMul: config.lrMLP, activation: true)
        }
    }

    func callAsFunction(_ z: Tensor, _ t: StyleGAN2Tensors) -> Tensor {
        var x = pixelNorm(z)
        for layer in layers { x = layer(x, t) }
        return x
    }
}

/// x · rsqrt(mean(x², axis 1) + 1e-8): normalises every z to unit RMS.
func pixelNorm(_ x: Tensor) -> Tensor {
    x * (x.square().mean(axis: 1, keepDims: true) + 1e-8).rsqrt()
}
