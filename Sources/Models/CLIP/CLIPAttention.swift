import Engine
import Foundation

extension Tensor {
    /// Multi-head scaled dot-product attention on a fused projection `self` = [N, T, 3D] whose last axis
    /// holds q, k, v blocks of D each (the layout of `nn.MultiheadAttention`'s `in_proj`), head h using
    /// columns [h·hd, (h+1)·hd) of each block. Returns the concatenated heads [N, T, D] (before `out_proj`).
    /// `causal` masks keys after the query (CLIP's text tower); the masked probabilities are exactly 0, so
    /// a causal sequence cut after any position gives the same outputs up to that position.
    ///
    /// When a gradient is needed the op is composed from recorded engine ops; otherwise a direct kernel
    /// reads q/k/v in place through GEMM leading dimensions (no reshapes, no mask tensor).
    public func multiHeadAttention(heads: Int, causal: Bool) -> Tensor {
        precondition(rank == 3 && shape[2] % 3 == 0, "multiHeadAttention: expected [N, T, 3D], got \(shape)")
        let d = shape[2] / 3
        precondition(heads > 0 && d % heads == 0, "multiHeadAttention: width \(d) is not divisible by \(heads) heads")
        if Autograd.isRecording && needsGrad { return recordedAttention(heads: heads, causal: causal) }
        return attentionKernel(heads: heads, causal: causal)
    }

    /// Differentiable version: [N,T,3,H,hd] -> [3,N,H,T,hd], softmax(q·kᵀ/√hd + mask)·v, heads joined back.
    func recordedAttention(heads: Int, causal: Bool) -> Tensor {
        let n = shape[0], t = shape[1], d = shape[2] / 3, hd = d / heads
        let split = reshaped([n, t, 3, heads, hd]).permuted([2, 0, 3, 1, 4]) // [3, N, H, T, hd]
        let q = split.slice(axis: 0, 0..<1).reshaped([n, heads, t, hd]) * (1 / Float(hd).squareRoot())
        let k = split.slice(axis: 0, 1..<2).reshaped([n, heads, t, hd])
        let v = split.slice(axis: 0, 2..<3).reshaped([n, heads, t, hd])
        var scores = q.matmul(k.transposedLast()) // [N, H, T, T]
        if causal { scores = scores + causalMask(t) }
        let o = scores.softmax().matmul(v) // [N, H, T, hd]
        return o.permuted([0, 2, 1, 3]).reshaped([n, t, d])
    }

    /// Forward-only kernel with the same math.
    func attentionKernel(heads: Int, causal: Bool) -> Tensor {
        let n = shape[0], t = shape[1], d = shape[2] / 3, hd = d / heads, ld = 3 * d
        let scale = 1 / Float(hd).squareRoot()
        let out = Tensor.zeros([n, t, d])
        let px = pointer, po = out.pointer
        // One score buffer per worker; (image, head) pairs are independent. Small pairs run on our threads
        // (OpenBLAS keeps GEMMs under 4·65536 multiply-adds single-threaded); large ones run one after
        // another and let OpenBLAS spread each GEMM.
        let pairs = n * heads
        let workers = t * t * hd < 4 * 65536 ? max(1, min(Threads.count, pairs)) : 1
        let scratch = Tensor.zeros([workers, t, t])
        let chunk = (pairs + workers - 1) / workers
        parallelFor(workers, minChunk: 1) { ws in
            for w in ws {
                let a = scratch.pointer + w * t * t
                for pair in (w * chunk)..<min(pairs, (w + 1) * chunk) {
                    let b = pair / heads, h = pair % heads
                    let q = px + b * t * ld + h * hd, k = q + d, v = q + 2 * d
                    sgemm(transB: true, m: t, n: t, k: hd, alpha: scale, a: q, lda: ld, b: k, ldb: ld, c: a, ldc: t)
                    softmaxRows(a, rows: t, cols: t, causal: causal)
                    sgemm(m: t, n: hd, k: t, a: a, lda: t, b: v, ldb: ld, c: po + b * t * d + h * hd, ldc: d)
                }
            }
        }
        return out
    }
}

/// The additive causal mask of `clip/model.py` (`build_attention_mask`): 0 on and below the diagonal,
/// -inf above it.
func causalMask(_ t: Int) -> Tensor {
    let m = Tensor.zeros([t, t])
    for i in 0..<t { for j in (i + 1)..<max(i + 1, t) { m.pointer[i * t + j] = -.infinity } }
    return m
}

/// In-place softmax of each row of a [rows, cols] block; with `causal`, row i keeps columns 0...i and the
/// rest become exactly 0 (what the -inf mask gives).
@inline(__always)
func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, causal: Bool) {
    for i in 0..<rows {
        let r = p + i * cols
        let live = causal ? min(i + 1, cols) : cols
        softmaxInPlace(r, count: live)
        for j in live..<cols { r[j] = 0 }
    }
}
