import Engine

/// pSp's `GradualStyleBlock` (ReStyle's `map2style`): log2(spatial) stride-2 3×3 convs with bias, each
/// followed by LeakyReLU(0.01), down to 1×1, then an equalized linear layer (lr_mul 1, no activation).
struct GradualStyleBlock {
    let convs: [(weight: Tensor, bias: Tensor)]
    let linearWeight: Tensor, linearBias: Tensor

    init(_ w: Weights, _ prefix: String) throws {
        var convs: [(Tensor, Tensor)] = []
        var i = 0
        while w.has("\(prefix).convs.\(i).weight") {
            convs.append((try w.tensor("\(prefix).convs.\(i).weight"), try w.tensor("\(prefix).convs.\(i).bias")))
            i += 2 // Sequential indices alternate conv, LeakyReLU
        }
        guard !convs.isEmpty else { throw ModelLoadError("\(w.source): style block '\(prefix)' has no convs") }
        self.convs = convs
        linearWeight = try w.tensor("\(prefix).linear.weight")
        linearBias = try w.tensor("\(prefix).linear.bias")
    }

    /// Input side length this block reduces to 1×1.
    var spatial: Int { 1 << convs.count }
    var outChannels: Int { linearWeight.shape[0] }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for c in convs { h = h.conv2d(weight: c.weight, bias: c.bias, stride: 2, padding: 1).leakyReLU(slope: 0.01) }
        let flat = h.reshaped([-1, outChannels])
        // EqualLinear(lr_mul = 1): weight scaled by 1/√in at run time.
        let scale = 1 / Float(linearWeight.shape[1]).squareRoot()
        return flat.linear(weight: linearWeight * scale, bias: linearBias)
    }
}
