import Engine

/// How a ModulatedConv2d applies its per-sample style. Both give the reference result within float
/// rounding (tested against the reference pack in both forms).
public enum ModulationForm: Sendable {
    /// x·s → conv with the shared weight → ·demod (rosinality `fused=False`).
    /// Keeps two more full-size activations per conv for backward (x·s and the pre-demodulation output)
    /// and makes two more passes over them; the engine's conv runs one GEMM per sample either way, so
    /// sharing the weight buys no larger GEMMs. Measured at 1024, batch 2, forward+backward: 7.5 GB peak.
    case activations
    /// Per-sample weights scale·W·s·d and one conv with groups = B (rosinality's default `fused=True`);
    /// the plain conv also adds the activation bias itself. Measured at 1024, batch 2,
    /// forward+backward: 5.6 GB peak.
    case grouped
    /// The default. 3×3 convs use the engine's fused ops (`scaledConv2d`, `scaledConvTranspose2d`: the
    /// activation form inside the Winograd transforms, keeping only x for backward; the unfused
    /// activation form on maps too small for Winograd). Other kernel sizes take whichever form touches
    /// fewer values: grouped where the activations outweigh the per-sample weights, activations otherwise.
    /// Measured at 1024, batch 2, forward+backward on a loaded 2-core machine: 5.99 GB peak (the
    /// high-resolution layers are the grouped ones, so the 0.36 GB over `.grouped` is run-to-run spread).
    case automatic
}

/// Modulated (and optionally demodulated) convolution of StyleGAN2 (spec §1.3).
///
/// Parameters: `<name>.weight` [1, out, in, k, k], `<name>.modulation.{weight,bias}`; the upsampling
/// variant also reads the `<name>.blur.kernel` buffer. With demodulation, every output channel of the
/// effective per-sample weight has unit norm:
/// d[b,o] = rsqrt(Σ_{i,ky,kx} (scale·W[o,i,ky,kx]·s[b,i])² + 1e-8) = rsqrt(Σ_i s[b,i]²·Q[o,i] + 1e-8)
/// with Q[o,i] = scale²·Σ_k W[o,i,k]², which costs a small matmul instead of a per-sample weight.
struct ModulatedConv2d {
    let name: String
    let inChannels: Int
    let outChannels: Int
    let kernelSize: Int
    let demodulate: Bool
    let upsample: Bool
    let modulation: EqualLinear
    let blur: Blur?

    init(name: String, inChannels: Int, outChannels: Int, kernelSize: Int, styleDim: Int,
         demodulate: Bool = true, upsample: Bool = false) {
        self.name = name
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.demodulate = demodulate
        self.upsample = upsample
        // bias_init = 1 is already in stored checkpoints; nothing is added at load time.
        modulation = EqualLinear(name: name + ".modulation", inFeatures: styleDim, lrMul: 1, activation: false)
        if upsample {
            // p = (taps − factor) − (k − 1); pad0 = ⌊(p+1)/2⌋ + factor − 1, pad1 = ⌊p/2⌋ + 1.
            let factor = 2
            let p = (blurTaps.count - factor) - (kernelSize - 1)
            blur = Blur(kernelName: name + ".blur.kernel", pad: ((p + 1) / 2 + factor - 1, p / 2 + 1), upsampleFactor: factor)
        } else {
            blur = nil
        }
    }

    /// 1/√(in·k²): the equalized-lr scale of the conv weight.
    var scale: Float { 1 / Float(inChannels * kernelSize * kernelSize).squareRoot() }

    /// The shared weight scale·W as [out, in, k, k], or with `transposed` as [in, out, k, k] (the
    /// conv_transpose2d layout), each in one pass from the stored weight.
    func scaledWeight(_ t: StyleGAN2Tensors, transposed: Bool = false) -> Tensor {
        let k = kernelSize
        let w = rawWeight(t).modulatedWeights(rows: nil, columns: nil, gain: scale, transposed: transposed)
        return transposed ? w.reshaped([inChannels, outChannels, k, k]) : w.reshaped([outChannels, inChannels, k, k])
    }

    /// Style s = modulation(w): [B, in].
    func style(_ w: Tensor, _ t: StyleGAN2Tensors) -> Tensor { modulation(w, t) }

    /// The stored weight as [out, in, k²] (unscaled).
    func rawWeight(_ t: StyleGAN2Tensors) -> Tensor {
        t.parameter(name + ".weight").reshaped([outChannels, inChannels, kernelSize * kernelSize])
    }

    /// Demodulation coefficients [B, out] from the style and the stored (unscaled) weight [out, in, k²]:
    /// Q = scale²·Σ_k W² is taken from W directly, so no scaled copy of the weight is made.
    func demodulation(style s: Tensor, rawWeight: Tensor) -> Tensor {
        let q = rawWeight.sumOfSquaresLastAxis() * (scale * scale) // [out, in]
        // linear computes s²·qᵀ with a transposed GEMM: no transposed copy of q.
        return (s.square().linear(weight: q) + 1e-8).rsqrt()
    }

    func callAsFunction(_ x: Tensor, _ w: Tensor, _ t: StyleGAN2Tensors, form: ModulationForm = .automatic,
                        plan: ConvPlan = .machine) -> Tensor {
        convolve(x, w, t, form: form, plan: plan, bias: nil).out
    }

    /// The modulated conv, plus `bias` [out] per channel when the conv itself can add it (the grouped,
    /// non-upsampling conv: no extra full-size tensor is kept for backward). `biasAdded` says whether it did.
    /// `plan` picks the engine's kernels (and whether upsampling runs as phase filters).
    func convolve(_ x: Tensor, _ w: Tensor, _ t: StyleGAN2Tensors, form: ModulationForm, plan: ConvPlan = .machine,
                  bias: Tensor?) -> (out: Tensor, biasAdded: Bool) {
        if form == .automatic && kernelSize == 3 { return (forwardFused(x, w, t, plan: plan), false) }
        switch form == .automatic ? resolvedForm(inputHeight: x.shape[2], inputWidth: x.shape[3]) : form {
        case .activations: return (forwardModulatingActivations(x, w, t, plan: plan), false)
        case .grouped, .automatic: return forwardGrouped(x, w, t, plan: plan, bias: upsample ? nil : bias)
        }
    }

    /// `.automatic`: the activation form makes extra passes over x·s (in·H·W) and the output before
    /// demodulation (out·H'·W'); the grouped form over the per-sample weights (out·in·k²).
    func resolvedForm(inputHeight h: Int, inputWidth w: Int) -> ModulationForm {
        let outPixels = upsample ? 4 * h * w : h * w
        let activationValues = inChannels * h * w + outChannels * outPixels
        return activationValues >= outChannels * inChannels * kernelSize * kernelSize ? .grouped : .activations
    }

    /// The activation form as one engine op (`scaledConv2d`, or `scaledConvTranspose2d` + blur when
    /// upsampling): style and demodulation are applied inside the Winograd transforms, all samples share
    /// the transformed weight, and only x is kept for backward.
    /// Upsampling convs run as phase filters where `plan.usesPhaseFilters` (off by default; see
    /// `ConvPlan.phaseFilterMaxChannels`).
    private func forwardFused(_ x: Tensor, _ w: Tensor, _ t: StyleGAN2Tensors, plan: ConvPlan) -> Tensor {
        let s = style(w, t)
        let weight = scaledWeight(t)
        let d = demodulate ? demodulation(style: s, rawWeight: rawWeight(t)) : nil
        if upsample {
            let k = blur!.kernel(t)
            if k.shape == [4, 4], blur!.pad == (1, 1), plan.usesPhaseFilters(inChannels: inChannels) {
                // The transposed conv and the blur as one stride-1 conv with a filter per output phase.
                let batch = x.shape[0]
                let phases = weight.transposedConvBlurPhases(blur: k)
                let d4 = d.map { $0.reshaped([batch, outChannels, 1]).expanded(to: [batch, outChannels, 4]).reshaped([batch, 4 * outChannels]) }
                return x.scaledConv2d(weight: phases, inScale: s, outScale: d4, padding: 1, plan: plan).pixelShuffle(2)
            }
            // Stride-2 transposed conv to 2H+1, then the blur brings it to 2H.
            return blur!(x.scaledConvTranspose2d(weight: weight, inScale: s, outScale: d, plan: plan), t)
        }
        return x.scaledConv2d(weight: weight, inScale: s, outScale: d, padding: kernelSize / 2, plan: plan)
    }

    private func forwardModulatingActivations(_ x: Tensor, _ w: Tensor, _ t: StyleGAN2Tensors, plan: ConvPlan) -> Tensor {
        let s = style(w, t)
        // conv_transpose2d takes [in, out, k, k]: the scaled weight is built in that layout.
        let weight = scaledWeight(t, transposed: upsample)
        let xs = x.scaledPerChannel(s)
        var out: Tensor
        if upsample {
            // Stride 2 gives 2H+1, the blur brings it to 2H.
            out = xs.convTranspose2d(weight: weight, stride: 2, padding: 0, plan: plan)
            out = blur!(out, t)
        } else {
            out = xs.conv2d(weight: weight, padding: kernelSize / 2, plan: plan)
        }
        if demodulate { out = out.scaledPerChannel(demodulation(style: s, rawWeight: rawWeight(t))) }
        return out
    }

    /// rosinality's fused path: per-sample weights scale·W·s·d, then one conv with groups = B.
    /// The weights come from one fused op (`modulatedWeights`) straight from the stored W, in the layout
    /// the conv wants, and d comes from the cheap matmul form.
    private func forwardGrouped(_ x: Tensor, _ w: Tensor, _ t: StyleGAN2Tensors, plan: ConvPlan, bias: Tensor?) -> (out: Tensor, biasAdded: Bool) {
        let batch = x.shape[0], h = x.shape[2], wd = x.shape[3]
        let k = kernelSize, cin = inChannels, cout = outChannels
        let s = style(w, t)
        let raw = rawWeight(t) // [out, in, k²]
        let d = demodulate ? demodulation(style: s, rawWeight: raw) : nil // [B, out]
        let xg = x.reshaped([1, batch * cin, h, wd])
        if upsample {
            // conv_transpose2d layout per sample: [in, out, k, k]: W read transposed, rows scaled by s, columns by d.
            let wb = raw.modulatedWeights(rows: s, columns: d, gain: scale, transposed: true) // [B, in, out, k²]
            var out = xg.convTranspose2d(weight: wb.reshaped([batch * cin, cout, k, k]), stride: 2, padding: 0, groups: batch, plan: plan)
            out = out.reshaped([batch, cout, out.shape[2], out.shape[3]])
            return (blur!(out, t), false)
        }
        // conv2d layout per sample: [out, in, k, k]: rows scaled by d, columns by s.
        let wb = raw.modulatedWeights(rows: d, columns: s, gain: scale) // [B, out, in, k²]
        // The grouped conv has B·out output channels: the bias is repeated per sample.
        let groupBias = bias.map { $0.reshaped([1, cout]).expanded(to: [batch, cout]).reshaped([batch * cout]) }
        let out = xg.conv2d(weight: wb.reshaped([batch * cout, cin, k, k]), bias: groupBias, padding: k / 2, groups: batch, plan: plan)
        return (out.reshaped([batch, cout, h, wd]), bias != nil)
    }
}
