/// PyTorch `F.conv_transpose2d` on NCHW: the adjoint of `conv2d` with respect to its input.
///
/// The output [O, Ho, Wo] plays the role of conv2d's "image": a conv with the same kernel, stride and
/// padding over it visits exactly H×W positions, one per input pixel. So per sample n and group g,
/// cols [Og·kh·kw, H·W] = W_gᵀ · x[n, g] (W_g = weight[g·Cg ..< (g+1)·Cg] as [Cg, Og·kh·kw]) and col2im
/// scatters the columns into the output. Backward: dx = W_g · im2col(dOut), dW_g += x · im2col(dOut)ᵀ.

extension Tensor {
    /// PyTorch `F.conv_transpose2d`: x [N, C, H, W], weight [C, O/groups, kh, kw] (PyTorch's layout), bias [O].
    /// `plan` sets the im2col band size.
    public func convTranspose2d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, groups: Int = 1,
                                plan: ConvPlan = .machine) -> Tensor {
        let x = self
        let outShape = checkedShape {
            try ConvShapes.convTranspose2d(input: x.shape, weight: weight.shape, bias: bias?.shape, stride: stride, padding: padding, groups: groups)
        }
        let N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
        let Og = weight.shape[1], kh = weight.shape[2], kw = weight.shape[3]
        let Cg = C / groups, O = outShape[1], Ho = outShape[2], Wo = outShape[3]
        // Geometry of the equivalent conv2d over the output; it visits H×W positions.
        let geo = ConvGeometry(channels: Og, height: Ho, width: Wo, kh: kh, kw: kw, stride: stride, padding: padding)
        precondition(geo.outH == H && geo.outW == W, "internal: convTranspose2d geometry")
        let K = geo.patch, HW = H * W, HWo = Ho * Wo
        let band = plan.im2colRowsPerBand(geo)

        let out = geo.isPointwise ? Tensor.empty([N, O, Ho, Wo]) : Tensor.zeros([N, O, Ho, Wo])
        let px = x.pointer, pw = weight.pointer, po = out.pointer
        let cols = geo.isPointwise ? nil : TensorStorage(uninitializedCount: K * band * W)
        for n in 0..<N {
            for g in 0..<groups {
                let src = px + (n * C + g * Cg) * HW
                let wg = pw + g * Cg * K
                let image = po + (n * O + g * Og) * HWo
                for r0 in Swift.stride(from: 0, to: H, by: band) {
                    let rows = r0..<min(H, r0 + band)
                    let len = rows.count * W
                    if let cols {
                        sgemm(transA: true, m: K, n: len, k: Cg, a: wg, lda: K, b: src + r0 * W, ldb: HW, c: cols.pointer)
                        col2im(cols.pointer, geo, rows: rows, into: image)
                    } else {
                        sgemm(transA: true, m: K, n: len, k: Cg, a: wg, lda: K, b: src, ldb: HW, c: image, ldc: HWo)
                    }
                }
            }
        }
        if let bias { addChannelBiasInPlace(po, bias.pointer, batch: N, channels: O, spatial: HWo) }

        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        return out.recorded(inputs) { gOut in
            let pg = gOut.pointer
            let gx = x.needsGrad ? Tensor.empty(x.shape) : nil
            let gw = weight.needsGrad ? Tensor.zeros(weight.shape) : nil
            let cols = geo.isPointwise ? nil : TensorStorage(uninitializedCount: K * band * W)
            if gx != nil || gw != nil {
                for n in 0..<N {
                    for g in 0..<groups {
                        let src = px + (n * C + g * Cg) * HW
                        let wg = pw + g * Cg * K
                        let gimage = pg + (n * O + g * Og) * HWo
                        for r0 in Swift.stride(from: 0, to: H, by: band) {
                            let rows = r0..<min(H, r0 + band)
                            let len = rows.count * W
                            let c: UnsafePointer<Float>
                            if let cols { im2col(gimage, geo, rows: rows, into: cols.pointer); c = UnsafePointer(cols.pointer) } else { c = UnsafePointer(gimage) }
                            let ldc = geo.isPointwise ? HWo : len
                            if let gx {
                                sgemm(m: Cg, n: len, k: K, a: wg, b: c, ldb: ldc, c: gx.pointer + (n * C + g * Cg) * HW + r0 * W, ldc: HW)
                            }
                            if let gw {
                                sgemm(transB: true, m: Cg, n: K, k: len, a: src + r0 * W, lda: HW, b: c, ldb: ldc, beta: 1, c: gw.pointer + g * Cg * K)
                            }
                        }
                    }
                }
            }
            var grads: [Tensor?] = [gx, gw]
            if let bias { grads.append(bias.needsGrad ? channelSums(gOut, batch: N, channels: O, spatial: HWo) : nil) }
            return grads
        }
    }
}
