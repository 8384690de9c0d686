/// Matrix products. `matmul` multiplies the last two axes, with leading batch axes either matching or
/// absent on the right-hand side (a shared weight matrix).

extension Tensor {
    /// self [..., M, K] · other [K, N] or [..., K, N] (same leading axes).
    public func matmul(_ other: Tensor) -> Tensor {
        let a = self, b = other
        precondition(a.rank >= 2 && b.rank >= 2, "matmul: needs rank >= 2, got \(a.shape) and \(b.shape)")
        let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1]
        let k2 = b.shape[b.rank - 2], n = b.shape[b.rank - 1]
        precondition(k == k2, "matmul: inner dimensions differ: \(a.shape) · \(b.shape)")
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        let shared = batchB.isEmpty
        precondition(shared || batchA == batchB, "matmul: batch axes \(batchA) and \(batchB) differ")
        let batch = elementCount(batchA)
        let out = Tensor.empty(batchA + [m, n])
        if shared {
            // One GEMM with the batch folded into M.
            sgemm(m: batch * m, n: n, k: k, a: a.pointer, b: b.pointer, c: out.pointer)
        } else {
            for i in 0..<batch {
                sgemm(m: m, n: n, k: k, a: a.pointer + i * m * k, b: b.pointer + i * k * n, c: out.pointer + i * m * n)
            }
        }
        return out.recorded([a, b]) { g in
            var ga: Tensor?, gb: Tensor?
            if a.needsGrad {
                let r = Tensor.empty(a.shape)
                if shared {
                    sgemm(transB: true, m: batch * m, n: k, k: n, a: g.pointer, b: b.pointer, c: r.pointer)
                } else {
                    for i in 0..<batch {
                        sgemm(transB: true, m: m, n: k, k: n, a: g.pointer + i * m * n, b: b.pointer + i * k * n, c: r.pointer + i * m * k)
                    }
                }
                ga = r
            }
            if b.needsGrad {
                let r = Tensor.empty(b.shape)
                if shared {
                    sgemm(transA: true, m: k, n: n, k: batch * m, a: a.pointer, b: g.pointer, c: r.pointer)
                } else {
                    for i in 0..<batch {
                        sgemm(transA: true, m: k, n: n, k: m, a: a.pointer + i * m * k, b: g.pointer + i * m * n, c: r.pointer + i * k * n)
                    }
                }
                gb = r
            }
            return [ga, gb]
        }
    }

    /// x [..., in] · weightᵀ (weight [out, in]) + bias [out]: PyTorch's `F.linear`.
    public func linear(weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let x = self
        precondition(weight.rank == 2, "linear: weight must be [out, in], got \(weight.shape)")
        let inF = weight.shape[1], outF = weight.shape[0]
        precondition(x.shape.last == inF, "linear: input \(x.shape) has last axis \(x.shape.last ?? 0), weight expects \(inF)")
        if let bias { precondition(bias.shape == [outF], "linear: bias \(bias.shape) for \(outF) outputs") }
        let rows = x.count / max(inF, 1)
        let out = Tensor.empty(Array(x.shape.dropLast()) + [outF])
        if let bias {
            let po = out.pointer, pb = bias.pointer
            for r in 0..<rows { (po + r * outF).update(from: pb, count: outF) }
        }
        sgemm(transB: true, m: rows, n: outF, k: inF, a: x.pointer, b: weight.pointer, beta: bias == nil ? 0 : 1, c: out.pointer)
        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        return out.recorded(inputs) { g in
            var grads: [Tensor?] = [nil, nil]
            if x.needsGrad {
                let r = Tensor.empty(x.shape)
                sgemm(m: rows, n: inF, k: outF, a: g.pointer, b: weight.pointer, c: r.pointer)
                grads[0] = r
            }
            if weight.needsGrad {
                let r = Tensor.empty(weight.shape)
                sgemm(transA: true, m: outF, n: inF, k: rows, a: g.pointer, b: x.pointer, c: r.pointer)
                grads[1] = r
            }
            if let bias { grads.append(bias.needsGrad ? reduceSum(g.reshapedRaw([rows, outF]), axes: [0]).reshapedRaw([outF]) : nil) }
            return grads
        }
    }
}
