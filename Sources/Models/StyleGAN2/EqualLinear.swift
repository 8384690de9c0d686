import Foundation
import Engine

/// Equalized-learning-rate linear layer (rosinality `EqualLinear`).
///
/// The stored weight is scaled at run time by lr_mul/√in and the bias by lr_mul, so the optimiser sees
/// unit-variance parameters. With `activation`, the bias goes inside fused_leaky_relu:
/// √2·lrelu_0.2(x·W_effᵀ + b_eff) — the same value as adding it first.
struct EqualLinear {
    /// State-dict prefix, e.g. `style.1` or `convs.0.conv.modulation`.
    let name: String
    let inFeatures: Int
    let lrMul: Float
    let activation: Bool

    var weightScale: Float { lrMul / Float(inFeatures).squareRoot() }

    func callAsFunction(_ x: Tensor, _ t: StyleGAN2Tensors) -> Tensor {
        let w = t.parameter(name + ".weight") * weightScale
        let stored = t.parameter(name + ".bias")
        let b = lrMul == 1 ? stored : stored * lrMul
        // With the activation, the bias goes into the fused op (one pass, as the reference's fused_leaky_relu).
        return activation ? x.linear(weight: w).fusedLeakyReLU(bias: b) : x.linear(weight: w, bias: b)
    }
}
