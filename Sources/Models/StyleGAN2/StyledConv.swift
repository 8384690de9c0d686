import Engine

/// ModulatedConv2d → NoiseInjection → FusedLeakyReLU (spec §1.4):
/// y = √2·lrelu_0.2(modconv(x, w) + noise_weight·n + activate.bias). The bias comes after the noise.
struct StyledConv {
    let name: String
    let conv: ModulatedConv2d
    let noise: NoiseInjection

    init(name: String, inChannels: Int, outChannels: Int, styleDim: Int, upsample: Bool) {
        self.name = name
        conv = ModulatedConv2d(name: name + ".conv", inChannels: inChannels, outChannels: outChannels,
                               kernelSize: 3, styleDim: styleDim, demodulate: true, upsample: upsample)
        noise = NoiseInjection(name: name + ".noise")
    }

    func callAsFunction(_ x: Tensor, _ w: Tensor, noise n: Tensor, _ t: StyleGAN2Tensors,
                        form: ModulationForm = .automatic, plan: ConvPlan = .machine, clamp: Float? = nil) -> Tensor {
        let bias = t.parameter(name + ".activate.bias")
        // Noise, bias and activation in one fused pass that keeps only its output for backward.
        let out = conv.convolve(x, w, t, form: form, plan: plan, bias: nil).out
        let y = noise.addingNoiseBiasAndActivation(out, noise: n, bias: bias, t)
        // NVlabs conv_clamp comes after the activation gain (bias_act's order).
        return clamp.map { y.clamped(-$0, $0) } ?? y
    }
}
