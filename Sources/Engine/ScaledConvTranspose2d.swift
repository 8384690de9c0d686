/// StyleGAN2's modulated upsampling convolution before its blur: a stride-2, 3×3, unpadded transposed
/// convolution with per-sample scales on the input and output channels,
/// out[n, o] = outScale[n, o] · Σ_c convTranspose(x[n, c] · inScale[n, c], weight[o, c]), size 2H+1.
///
/// The weight is in conv layout [O, C, 3, 3] (w[o][c] spreads input channel c into output channel o),
/// not PyTorch's transposed layout. Large enough maps run the polyphase Winograd scheme
/// (`WinogradTransposedConv2d`) with the scales fused; small ones fall back to the plain ops.

extension Tensor {
    /// x [N, C, H, W], weight [O, C, 3, 3], inScale [N, C], outScale [N, O] or nil → [N, O, 2H+1, 2W+1].
    /// `plan` picks the kernels.
    public func scaledConvTranspose2d(weight: Tensor, inScale: Tensor, outScale: Tensor?, plan: ConvPlan = .machine) -> Tensor {
        let x = self
        // The transposed conv's own shape check, on the PyTorch layout it would take.
        let outShape = checkedShape {
            try ConvShapes.convTranspose2d(input: x.shape, weight: [weight.shape[1], weight.shape[0]] + Array(weight.shape.dropFirst(2)),
                                           bias: nil, stride: 2, padding: 0, groups: 1)
        }
        precondition(weight.shape.count == 4 && weight.shape[2] == 3 && weight.shape[3] == 3,
                     "scaledConvTranspose2d: weight must be [O, C, 3, 3], got \(weight.shape)")
        checkedShape { try ConvShapes.channelScale(input: x.shape, scale: inScale.shape) }
        if let outScale { checkedShape { try ConvShapes.channelScale(input: outShape, scale: outScale.shape) } }
        guard plan.usesPolyphaseWinograd(input: x.shape, weight: weight.shape) else {
            let y = x.scaledPerChannel(inScale).convTranspose2d(weight: weight.permuted([1, 0, 2, 3]), stride: 2, plan: plan)
            return outScale.map { y.scaledPerChannel($0) } ?? y
        }
        let polyphase = WinogradTransposedConv2d(batch: x.shape[0], channels: x.shape[1], height: x.shape[2], width: x.shape[3],
                                                 outChannels: weight.shape[0], plan: plan)
        let out = Tensor.empty(outShape)
        polyphase.forward(x: x.pointer, weight: weight.pointer, inScale: inScale.pointer, outScale: outScale?.pointer, out: out.pointer)
        return out.recordedScaledConv(x: x, weight: weight, inScale: inScale, outScale: outScale) { gOut, grads in
            polyphase.backward(x: x.pointer, weight: weight.pointer, gy: gOut.pointer, inScale: inScale.pointer,
                          outScale: outScale?.pointer, into: grads)
        }
    }
}
