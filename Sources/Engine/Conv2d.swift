/// PyTorch `F.conv2d` on NCHW by im2col + OpenBLAS GEMM, one band of output rows at a time.
///
/// Per sample n and group g: out[n, g] [Og, Ho·Wo] = W_g [Og, Cg·kh·kw] · cols(x[n, g]).
/// Backward reuses the same unfolding: dW_g += dOut · colsᵀ, dCols = W_gᵀ · dOut folded back by col2im.
/// 1×1 stride-1 unpadded convolutions skip the unfolding (x itself is the column matrix).
/// 3×3 stride-1 convolutions with enough tiles and channels go to `WinogradConv2d` instead
/// (`ConvPlan.usesWinograd`).

extension Tensor {
    /// PyTorch `F.conv2d`: x [N, C, H, W], weight [O, C/groups, kh, kw], bias [O]. `plan` picks the kernels.
    public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, groups: Int = 1,
                       plan: ConvPlan = .machine) -> Tensor {
        let x = self
        let outShape = checkedShape {
            try ConvShapes.conv2d(input: x.shape, weight: weight.shape, bias: bias?.shape, stride: stride, padding: padding, groups: groups)
        }
        let N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
        let O = weight.shape[0], kh = weight.shape[2], kw = weight.shape[3]
        let Cg = C / groups, Og = O / groups
        let geo = ConvGeometry(channels: Cg, height: H, width: W, kh: kh, kw: kw, stride: stride, padding: padding)
        let Ho = geo.outH, Wo = geo.outW, HWo = Ho * Wo, HW = H * W, K = geo.patch
        precondition(outShape == [N, O, Ho, Wo], "internal: conv2d geometry")
        let band = plan.im2colRowsPerBand(geo)

        let out = Tensor.empty([N, O, Ho, Wo])
        let px = x.pointer, pw = weight.pointer, po = out.pointer
        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        if plan.usesWinograd(input: x.shape, weight: weight.shape, stride: stride, padding: padding, groups: groups) {
            let winograd = WinogradConv2d(batch: N, channels: C, height: H, width: W, outChannels: O, groups: groups, padding: padding,
                                          plan: plan)
            winograd.forward(x: px, weight: pw, bias: bias?.pointer, out: po)
            return out.recorded(inputs) { gOut in
                // Not zeroed: the Winograd pass overwrites it (or zeroes it first where its path adds).
                let gx = x.needsGrad ? Tensor.empty(x.shape) : nil
                let gw = weight.needsGrad ? Tensor.empty(weight.shape) : nil
                winograd.backward(x: px, weight: pw, gy: gOut.pointer, into: .init(x: gx?.pointer, weight: gw?.pointer, xZeroed: false))
                var grads: [Tensor?] = [gx, gw]
                if let bias { grads.append(bias.needsGrad ? channelSums(gOut, batch: N, channels: O, spatial: HWo) : nil) }
                return grads
            }
        }
        let cols = geo.isPointwise ? nil : TensorStorage(uninitializedCount: K * band * Wo)
        for n in 0..<N {
            for g in 0..<groups {
                let image = px + (n * C + g * Cg) * HW
                let wg = pw + g * Og * K
                let dst = po + (n * O + g * Og) * HWo
                for r0 in Swift.stride(from: 0, to: Ho, by: band) {
                    let rows = r0..<min(Ho, r0 + band)
                    let cols = cols.map { c -> UnsafePointer<Float> in im2col(image, geo, rows: rows, into: c.pointer); return UnsafePointer(c.pointer) } ?? UnsafePointer(image)
                    sgemm(m: Og, n: rows.count * Wo, k: K, a: wg, b: cols, c: dst + r0 * Wo, ldc: HWo)
                }
            }
        }
        if let bias { addChannelBiasInPlace(po, bias.pointer, batch: N, channels: O, spatial: HWo) }
        return out.recorded(inputs) { gOut in
            let pg = gOut.pointer
            var gx: Tensor?, gw: Tensor?
            if x.needsGrad { gx = geo.isPointwise ? Tensor.empty(x.shape) : Tensor.zeros(x.shape) }
            if weight.needsGrad { gw = Tensor.zeros(weight.shape) }
            let colsX = (gw != nil && !geo.isPointwise) ? TensorStorage(uninitializedCount: K * band * Wo) : nil
            let colsG = (gx != nil && !geo.isPointwise) ? TensorStorage(uninitializedCount: K * band * Wo) : nil
            for n in 0..<N {
                for g in 0..<groups {
                    let image = px + (n * C + g * Cg) * HW
                    let wg = pw + g * Og * K
                    let gsrc = pg + (n * O + g * Og) * HWo
                    for r0 in Swift.stride(from: 0, to: Ho, by: band) {
                        let rows = r0..<min(Ho, r0 + band)
                        let len = rows.count * Wo
                        if let gw {
                            let cols = colsX.map { c -> UnsafePointer<Float> in im2col(image, geo, rows: rows, into: c.pointer); return UnsafePointer(c.pointer) } ?? UnsafePointer(image)
                            sgemm(transB: true, m: Og, n: K, k: len, a: gsrc + r0 * Wo, lda: HWo, b: cols, ldb: geo.isPointwise ? HW : len,
                                  beta: 1, c: gw.pointer + g * Og * K)
                        }
                        if let gx {
                            let gimage = gx.pointer + (n * C + g * Cg) * HW
                            if let colsG {
                                sgemm(transA: true, m: K, n: len, k: Og, a: wg, lda: K, b: gsrc + r0 * Wo, ldb: HWo, c: colsG.pointer)
                                col2im(colsG.pointer, geo, rows: rows, into: gimage)
                            } else {
                                sgemm(transA: true, m: K, n: len, k: Og, a: wg, lda: K, b: gsrc, ldb: HWo, c: gimage, ldc: HW)
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
