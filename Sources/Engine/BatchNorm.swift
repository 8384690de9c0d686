import Foundation

/// BatchNorm2d in inference mode, as PyTorch's CPU kernel computes it: per channel
/// `alpha = weight / sqrt(runningVar + eps)`, `beta = bias - runningMean * alpha`, `y = x * alpha + beta`.
/// The running statistics are constants; x, weight and bias get gradients.

extension Tensor {
    /// BatchNorm2d in inference mode with running statistics (PyTorch eps default 1e-5).
    /// x [N, C, ...]; weight, bias, runningMean, runningVar [C] (weight/bias nil = 1/0, `affine=False`).
    public func batchNorm2d(weight: Tensor?, bias: Tensor?, runningMean: Tensor, runningVar: Tensor, eps: Float = 1e-5) -> Tensor {
        precondition(rank >= 2, "batchNorm2d: input must be [N, C, ...], got shape \(shape)")
        let x = self
        let n = shape[0], c = shape[1], inner = count / max(1, n * c)
        for (name, t) in [("weight", weight), ("bias", bias), ("runningMean", runningMean), ("runningVar", runningVar)] {
            if let t { precondition(t.shape == [c], "batchNorm2d: \(name) has shape \(t.shape), expected [\(c)] for input \(shape)") }
        }
        var invstd = [Float](repeating: 0, count: c), alpha = invstd, beta = invstd
        for ch in 0..<c {
            invstd[ch] = 1 / Foundation.sqrt(runningVar.pointer[ch] + eps)
            alpha[ch] = invstd[ch] * (weight?.pointer[ch] ?? 1)
            beta[ch] = (bias?.pointer[ch] ?? 0) - runningMean.pointer[ch] * alpha[ch]
        }
        let out = Tensor.empty(shape)
        let px = x.pointer, po = out.pointer
        alpha.withUnsafeBufferPointer { al in beta.withUnsafeBufferPointer { be in
            parallelFor(n * c, minChunk: max(1, 16384 / max(1, inner))) { r in
                for plane in r {
                    let a = al[plane % c], b = be[plane % c]
                    let src = px + plane * inner, dst = po + plane * inner
                    for i in 0..<inner { dst[i] = src[i] * a + b }
                }
            }
        } }
        let inputs = [x] + [weight, bias].compactMap { $0 }
        let mean = runningMean.detached()
        return out.recorded(inputs) { g in
            let pg = g.pointer
            var grads: [Tensor?] = []
            let gx = Tensor.empty(x.shape)
            let pgx = gx.pointer
            alpha.withUnsafeBufferPointer { al in
                parallelFor(n * c, minChunk: max(1, 16384 / max(1, inner))) { r in
                    for plane in r {
                        let a = al[plane % c], src = pg + plane * inner, dst = pgx + plane * inner
                        for i in 0..<inner { dst[i] = src[i] * a }
                    }
                }
            }
            grads.append(gx)
            // Per-channel sums in Double: sum(g) for bias, sum(g * xhat) for weight.
            if weight != nil || bias != nil {
                var sumG = [Double](repeating: 0, count: c), sumGX = sumG
                for plane in 0..<(n * c) {
                    let ch = plane % c, m = mean.pointer[ch], s = invstd[ch]
                    let gp = pg + plane * inner, xp = x.pointer + plane * inner
                    var a = 0.0, b = 0.0
                    for i in 0..<inner { a += Double(gp[i]); b += Double(gp[i] * ((xp[i] - m) * s)) }
                    sumG[ch] += a; sumGX[ch] += b
                }
                if weight != nil { grads.append(Tensor(shape: [c], values: sumGX.map { Float($0) })) }
                if bias != nil { grads.append(Tensor(shape: [c], values: sumG.map { Float($0) })) }
            }
            return grads
        }
    }
}
