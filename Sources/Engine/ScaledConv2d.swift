/// A shared-weight 3×3 convolution with per-sample scales on its input and output channels:
/// out[n, o] = outScale[n, o] · Σ_c conv(x[n, c] · inScale[n, c], weight[o, c]).
///
/// This is StyleGAN2's modulated, demodulated convolution in its "activation" form (inScale = style,
/// outScale = demodulation). Fused into the Winograd conv, the scales cost one multiply per transformed
/// value, all samples share one set of transformed filters, and backward keeps only x: the out-scale
/// gradient comes from the per-sample filter gradient (see `WinogradConv2d.backward`) instead of a
/// saved pre-scale output, except when the weight needs no gradient (then the output is kept; see
/// `recordedScaledConv`). Shapes too small for Winograd fall back to the same three ops unfused.

extension Tensor {
    /// x [N, C, H, W], weight [O, C, 3, 3], inScale [N, C], outScale [N, O] or nil; stride 1, `padding`.
    /// `plan` picks the kernels.
    public func scaledConv2d(weight: Tensor, inScale: Tensor, outScale: Tensor?, padding: Int, plan: ConvPlan = .machine) -> Tensor {
        let x = self
        let outShape = checkedShape {
            try ConvShapes.conv2d(input: x.shape, weight: weight.shape, bias: nil, stride: 1, padding: padding, groups: 1)
        }
        checkedShape { try ConvShapes.channelScale(input: x.shape, scale: inScale.shape) }
        if let outScale { checkedShape { try ConvShapes.channelScale(input: outShape, scale: outScale.shape) } }
        guard plan.usesWinograd(input: x.shape, weight: weight.shape, stride: 1, padding: padding, groups: 1) else {
            let y = x.scaledPerChannel(inScale).conv2d(weight: weight, padding: padding, plan: plan)
            return outScale.map { y.scaledPerChannel($0) } ?? y
        }
        let winograd = WinogradConv2d(batch: x.shape[0], channels: x.shape[1], height: x.shape[2], width: x.shape[3],
                                      outChannels: weight.shape[0], groups: 1, padding: padding, plan: plan)
        let out = Tensor.empty(outShape)
        winograd.forward(x: x.pointer, weight: weight.pointer, bias: nil, inScale: inScale.pointer, outScale: outScale?.pointer, out: out.pointer)
        // The Winograd pass overwrites (or zeroes) x's gradient itself: no zeroed allocation needed.
        return out.recordedScaledConv(x: x, weight: weight, inScale: inScale, outScale: outScale, zeroInputGradient: false) { gOut, grads in
            winograd.backward(x: x.pointer, weight: weight.pointer, gy: gOut.pointer, inScale: inScale.pointer,
                          outScale: outScale?.pointer, into: grads)
        }
    }
}

extension Tensor {
    /// Records the backward of a fused scaled conv whose output is `self`: allocates the gradients the
    /// inputs need and lets `backward(gOut, grads)` fill them ([x, weight, inScale(, outScale)]).
    /// x's gradient is allocated zeroed unless `zeroInputGradient` is false (then `grads.xZeroed` is
    /// false: a backward that honours it overwrites the buffer).
    func recordedScaledConv(x: Tensor, weight: Tensor, inScale: Tensor, outScale: Tensor?, zeroInputGradient: Bool = true,
                            _ backward: @escaping (Tensor, WinogradGradients) -> Void) -> Tensor {
        var inputs = [x, weight, inScale]
        if let outScale { inputs.append(outScale) }
        // With the weight frozen and the out-scales not (adaptive layer selection's W+ pass: the styles, hence the
        // demodulation, need gradients), the filter-gradient pass would run only for the out-scale gradient. Keeping
        // this output instead makes that one dot per channel, gd[n, o] = Σ_p dY·out / outScale[n, o], and skips the
        // pass. Measured at 1024, k = 14, 2 threads (`nada-bench train --selection adaptive --auto-layer-k 14`, A/B in one
        // window): selection 18.5 / 19.5 s -> 14.6 / 15.6 s per iteration. The outputs live until backward, in that
        // pass only; the run's peak stayed within its run-to-run spread (4.8-5.9 GB against 5.0-5.2 GB before; the
        // training step sets it). The storage is kept, not the tensor: no cycle through the node.
        let keptOutput = Self.keepsOutputForScaleGradient(weight: weight, outScale: outScale) ? storage : nil
        return recorded(inputs) { gOut in
            let gx = x.needsGrad ? (zeroInputGradient ? Tensor.zeros(x.shape) : Tensor.empty(x.shape)) : nil
            let gw = weight.needsGrad ? Tensor.empty(weight.shape) : nil
            let gs = inScale.needsGrad ? Tensor.empty(inScale.shape) : nil
            let gd = (outScale?.needsGrad ?? false) ? Tensor.empty(outScale!.shape) : nil
            backward(gOut, WinogradGradients(x: gx?.pointer, weight: gw?.pointer, inScale: gs?.pointer,
                                             outScale: keptOutput == nil ? gd?.pointer : nil, xZeroed: zeroInputGradient))
            if let keptOutput, let gd, let outScale {
                outScaleGradient(gOut: gOut.pointer, output: keptOutput.pointer, outScale: outScale.pointer, rows: outScale.count,
                                 rowLength: gOut.count / max(1, outScale.count), into: gd.pointer)
            }
            var grads: [Tensor?] = [gx, gw, gs]
            if outScale != nil { grads.append(gd) }
            return grads
        }
    }

    /// Whether `recordedScaledConv` takes the out-scale gradient from the kept output: the weight needs no
    /// gradient, the out-scales do, and none of them is 0 (the division must give back the pre-scale result).
    static func keepsOutputForScaleGradient(weight: Tensor, outScale: Tensor?) -> Bool {
        guard let outScale, outScale.needsGrad, !weight.needsGrad else { return false }
        let d = outScale.pointer
        for i in 0..<outScale.count where d[i] == 0 || !d[i].isFinite { return false }
        return true
    }
}

/// gd[r] = Σ_p gOut[r, p]·output[r, p] / outScale[r] for rows r = (n, o) of `rowLength` pixels, summed in double:
/// the out-scale gradient Σ_p dY·y_pre of an output y = outScale·y_pre.
func outScaleGradient(gOut: UnsafePointer<Float>, output: UnsafePointer<Float>, outScale: UnsafePointer<Float>,
                      rows: Int, rowLength: Int, into gd: UnsafeMutablePointer<Float>) {
    parallelFor(rows, minChunk: max(1, 65536 / max(1, rowLength))) { range in
        for r in range {
            gd[r] = Float(dotInDouble(gOut + r * rowLength, output + r * rowLength, rowLength) / Double(outScale[r]))
        }
    }
}
