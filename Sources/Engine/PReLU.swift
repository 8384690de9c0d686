/// PReLU (PyTorch `nn.PReLU`): `y = x > 0 ? x : slope * x`, with one slope per channel (axis 1) or a
/// single slope shared by all elements. Differentiable w.r.t. x and the slopes.

extension Tensor {
    /// PReLU with one slope per channel (axis 1) or a single shared slope. weight [C] or [1].
    public func prelu(_ weight: Tensor) -> Tensor {
        let x = self
        let shared = weight.count == 1
        let c = shared ? 1 : weight.count
        if !shared {
            precondition(weight.rank == 1 && rank >= 2 && shape[1] == c,
                         "prelu: weight of shape \(weight.shape) needs input [N, \(c), ...], got \(shape)")
        }
        let n = shared ? 1 : shape[0]
        let inner = count / max(1, n * c)
        let out = Tensor.empty(shape)
        let px = x.pointer, po = out.pointer, pw = weight.pointer
        parallelFor(n * c, minChunk: max(1, 16384 / max(1, inner))) { r in
            for plane in r {
                let a = pw[plane % c], src = px + plane * inner, dst = po + plane * inner
                for i in 0..<inner { let v = src[i]; dst[i] = v > 0 ? v : a * v }
            }
        }
        return out.recorded([x, weight]) { g in
            let pg = g.pointer
            let gx = Tensor.empty(x.shape)
            let pgx = gx.pointer
            parallelFor(n * c, minChunk: max(1, 16384 / max(1, inner))) { r in
                for plane in r {
                    let a = pw[plane % c], src = px + plane * inner, gp = pg + plane * inner, dst = pgx + plane * inner
                    for i in 0..<inner { dst[i] = src[i] > 0 ? gp[i] : a * gp[i] }
                }
            }
            // d slope: sum of g * x over the negative inputs of its channel (Double accumulation).
            var gw = [Double](repeating: 0, count: c)
            for plane in 0..<(n * c) {
                let src = px + plane * inner, gp = pg + plane * inner
                var s = 0.0
                for i in 0..<inner where src[i] <= 0 { s += Double(gp[i] * src[i]) }
                gw[plane % c] += s
            }
            return [gx, Tensor(shape: weight.shape, values: gw.map { Float($0) })]
        }
    }
}
