import Engine

/// Per-pixel noise scaled by one learned strength, y = x + weight·n (rosinality `NoiseInjection`;
/// `weight` is zero-initialised in fresh models), with n [1 or B, 1, H, W] broadcast over channels.
///
/// It always feeds StyledConv's FusedLeakyReLU, so the two run as one fused Engine op
/// (`Tensor.fusedLeakyReLU(bias:noise:noiseStrength:)`): one pass forward, and backward no
/// broadcast reductions and no full-size tensors besides the output.
struct NoiseInjection {
    let name: String

    /// √2·lrelu_0.2((x + weight·n) + bias).
    func addingNoiseBiasAndActivation(_ x: Tensor, noise: Tensor, bias: Tensor, _ t: StyleGAN2Tensors) -> Tensor {
        x.fusedLeakyReLU(bias: bias, noise: noise, noiseStrength: t.parameter(name + ".weight"))
    }
}
