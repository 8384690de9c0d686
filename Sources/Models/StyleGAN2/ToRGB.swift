import Engine

/// 1×1 modulated conv to RGB without demodulation, plus bias, plus the upsampled skip (spec §1.4).
///
/// With k = 1 the per-sample weight is only [B, 3, in], so it is built explicitly and applied as one
/// batched matmul over the pixels; modulating the activations would write a full-size copy of x.
struct ToRGB {
    let name: String
    let inChannels: Int
    let modulation: EqualLinear
    let upsample: Upsample?

    init(name: String, inChannels: Int, styleDim: Int, upsample: Bool) {
        self.name = name
        self.inChannels = inChannels
        modulation = EqualLinear(name: name + ".conv.modulation", inFeatures: styleDim, lrMul: 1, activation: false)
        self.upsample = upsample ? Upsample(kernelName: name + ".upsample.kernel") : nil
    }

    var scale: Float { 1 / Float(inChannels).squareRoot() }

    func callAsFunction(_ x: Tensor, _ w: Tensor, skip: Tensor?, _ t: StyleGAN2Tensors, clamp: Float? = nil) -> Tensor {
        let batch = x.shape[0], h = x.shape[2], wd = x.shape[3]
        let s = modulation(w, t) // [B, in]
        let weight = t.parameter(name + ".conv.weight").reshaped([1, 3, inChannels]) * scale
        let perSample = weight * s.reshaped([batch, 1, inChannels]) // [B, 3, in]
        var out = perSample.matmul(x.reshaped([batch, inChannels, h * wd])).reshaped([batch, 3, h, wd])
        // The stored bias is [1, 3, 1, 1]; as a channel bias its gradient is a per-channel sum.
        out = out.addingChannelBias(t.parameter(name + ".bias").reshaped([3]))
        // NVlabs conv_clamp: the ToRGB output is clamped before the upsampled skip is added.
        if let clamp { out = out.clamped(-clamp, clamp) }
        if let skip {
            precondition(upsample != nil, "ToRGB '\(name)' has no upsampler for its skip input")
            out = out + upsample!(skip, t)
        }
        return out
    }
}
