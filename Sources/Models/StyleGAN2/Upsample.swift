import Engine

/// rosinality `make_kernel`: outer product of a 1-D FIR with itself, normalised to sum 1, times `gain`.
func makeKernel(_ k: [Float], gain: Float = 1) -> Tensor {
    let n = k.count
    var values = [Float](repeating: 0, count: n * n)
    var total: Float = 0
    for i in 0..<n { for j in 0..<n { values[i * n + j] = k[i] * k[j]; total += k[i] * k[j] } }
    return Tensor(shape: [n, n], values: values.map { $0 / total * gain })
}

/// The FIR used everywhere in the generator.
let blurTaps: [Float] = [1, 3, 3, 1]

/// FIR filter after the stride-2 transposed conv of an upsampling ModulatedConv2d.
/// Kernel `make_kernel([1,3,3,1])·4` (the up-factor² gain), pad (1, 1): 2H+1 → 2H.
/// The stored `*.conv.blur.kernel` buffer is used when the file has it.
struct Blur {
    let kernelName: String
    let pad: (Int, Int)
    let defaultKernel: Tensor

    init(kernelName: String, pad: (Int, Int), upsampleFactor: Int) {
        self.kernelName = kernelName
        self.pad = pad
        defaultKernel = makeKernel(blurTaps, gain: upsampleFactor > 1 ? Float(upsampleFactor * upsampleFactor) : 1)
    }

    /// The FIR this blur applies: the stored buffer, else `make_kernel([1,3,3,1])·4`.
    func kernel(_ t: StyleGAN2Tensors) -> Tensor { t.buffer(kernelName) ?? defaultKernel }

    func callAsFunction(_ x: Tensor, _ t: StyleGAN2Tensors) -> Tensor {
        x.upfirdn2d(kernel: kernel(t), up: 1, down: 1, pad: (x0: pad.0, x1: pad.1, y0: pad.0, y1: pad.1))
    }
}

/// 2× FIR upsampling of the RGB skip (rosinality `Upsample`): zero-insert, pad (2, 1), filter with
/// `make_kernel([1,3,3,1])·4`. H → 2H.
struct Upsample {
    let kernelName: String
    let factor = 2
    let defaultKernel: Tensor

    init(kernelName: String) {
        self.kernelName = kernelName
        defaultKernel = makeKernel(blurTaps, gain: Float(factor * factor))
    }

    /// pad0 = ⌊(p+1)/2⌋ + factor − 1, pad1 = ⌊p/2⌋ with p = taps − factor.
    var pad: (Int, Int) {
        let p = blurTaps.count - factor
        return ((p + 1) / 2 + factor - 1, p / 2)
    }

    func callAsFunction(_ x: Tensor, _ t: StyleGAN2Tensors) -> Tensor {
        let k = t.buffer(kernelName) ?? defaultKernel
        let (p0, p1) = pad
        return x.upfirdn2d(kernel: k, up: factor, down: 1, pad: (x0: p0, x1: p1, y0: p0, y1: p1))
    }
}
