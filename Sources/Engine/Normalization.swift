import Foundation
import CKernels

/// Softmax, LayerNorm and vector normalisation over the last axis.

extension Tensor {
    /// Softmax over the last axis.
    public func softmax() -> Tensor {
        let x = self
        let n = shape.last ?? 1, rows = count / max(n, 1)
        let out = Tensor.empty(shape)
        let px = x.pointer, po = out.pointer
        parallelFor(rows, minChunk: max(1, 4096 / max(n, 1))) { r in
            for row in r {
                let src = px + row * n, dst = po + row * n
                dst.update(from: src, count: n)
                softmaxInPlace(dst, count: n)
            }
        }
        let y = out.detached() // not `out` itself: no retain cycle through the node
        return out.recorded([x]) { g in
            let r = Tensor.empty(x.shape)
            let py = y.pointer, pg = g.pointer, pr = r.pointer
            parallelFor(rows, minChunk: max(1, 4096 / max(n, 1))) { range in
                for row in range {
                    let y = py + row * n, gy = pg + row * n, dst = pr + row * n
                    var dot: Float = 0
                    for j in 0..<n { dot += y[j] * gy[j] }
                    for j in 0..<n { dst[j] = y[j] * (gy[j] - dot) }
                }
            }
            return [r]
        }
    }

    /// LayerNorm over the last axis with affine `weight` and `bias` (PyTorch's eps default 1e-5).
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
        let x = self
        let n = shape.last ?? 1, rows = count / max(n, 1)
        if let weight { precondition(weight.shape == [n], "layerNorm: weight \(weight.shape) for last axis \(n)") }
        if let bias { precondition(bias.shape == [n], "layerNorm: bias \(bias.shape) for last axis \(n)") }
        let xhat = Tensor.empty(shape)
        let inv = Tensor.empty([rows])
        let px = x.pointer, ph = xhat.pointer, pi = inv.pointer
        parallelFor(rows, minChunk: max(1, 4096 / max(n, 1))) { r in
            for row in r {
                let src = px + row * n, dst = ph + row * n
                var mean = 0.0
                for j in 0..<n { mean += Double(src[j]) }
                mean /= Double(n)
                var variance = 0.0
                for j in 0..<n { let d = Double(src[j]) - mean; variance += d * d }
                variance /= Double(n)
                let s = Float(1 / (variance + Double(eps)).squareRoot())
                pi[row] = s
                let mf = Float(mean)
                for j in 0..<n { dst[j] = (src[j] - mf) * s }
            }
        }
        let savedXhat = xhat.detached()
        let normalized = xhat.recorded([x]) { g in
            // d xhat: (g - mean(g) - xhat·mean(g·xhat)) · inv
            let r = Tensor.empty(x.shape)
            let pg = g.pointer, pr = r.pointer, ph = savedXhat.pointer, pi = inv.pointer
            parallelFor(rows, minChunk: max(1, 4096 / max(n, 1))) { range in
                for row in range {
                    let gy = pg + row * n, h = ph + row * n, dst = pr + row * n
                    var mg: Float = 0, mgh: Float = 0
                    for j in 0..<n { mg += gy[j]; mgh += gy[j] * h[j] }
                    mg /= Float(n); mgh /= Float(n)
                    let s = pi[row]
                    for j in 0..<n { dst[j] = (gy[j] - mg - h[j] * mgh) * s }
                }
            }
            return [r]
        }
        var y = normalized
        if let weight { y = y * weight }
        if let bias { y = y + bias }
        return y
    }

    /// Euclidean norm over the last axis, kept as a size-1 axis.
    public func norm(keepDims: Bool = true) -> Tensor {
        square().sum(axis: -1, keepDims: keepDims).sqrt()
    }

    /// Rows scaled to unit length over the last axis (as `x / x.norm(dim=-1, keepdim=True)`).
    public func normalized() -> Tensor { self / norm() }

    /// Cosine similarity over the last axis (PyTorch's `F.cosine_similarity`, eps 1e-8 on each norm).
    public func cosineSimilarity(_ other: Tensor, eps: Float = 1e-8) -> Tensor {
        let dot = (self * other).sum(axis: -1)
        let na = square().sum(axis: -1).sqrt().clamped(eps, .greatestFiniteMagnitude)
        let nb = other.square().sum(axis: -1).sqrt().clamped(eps, .greatestFiniteMagnitude)
        return dot / (na * nb)
    }
}

/// Softmax of `count` values in place: the maximum subtracted, exp in the C kernels' vector code
/// (`nada_exp`; libm's expf per element was most of a softmax), then normalised. Entries of -inf
/// (masked) come out exactly 0.
@inline(__always)
public func softmaxInPlace(_ r: UnsafeMutablePointer<Float>, count: Int) {
    var m = -Float.infinity
    for j in 0..<count { m = max(m, r[j]) }
    for j in 0..<count { r[j] -= m }
    nada_exp(r, r, count, ConvPlan.machine.avx2Flag)
    var s: Float = 0
    for j in 0..<count { s += r[j] }
    let inv = 1 / s
    for j in 0..<count { r[j] *= inv }
}
