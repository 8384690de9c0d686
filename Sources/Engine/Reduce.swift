/// Sums and means over axes.

/// Sum over `axes` (kept as size-1 axes), not recorded. Accumulates in Double so long sums stay exact
/// to float32 precision whatever the thread count.
func reduceSum(_ x: Tensor, axes: [Int]) -> Tensor {
    var outShape = x.shape
    for a in axes { outShape[a] = 1 }
    let out = Tensor.empty(outShape)
    let n = out.count
    let reduced = axes.sorted()
    let reducedShape = reduced.map { x.shape[$0] }
    let inStrides = contiguousStrides(x.shape)
    let reducedStrides = reduced.map { inStrides[$0] }
    let reducedCount = elementCount(reducedShape)
    let outStrides = contiguousStrides(outShape)
    let keptAxes = (0..<x.rank).filter { !reduced.contains($0) }
    let px = x.pointer, po = out.pointer
    parallelFor(n, minChunk: max(1, 4096 / max(reducedCount, 1))) { r in
        for o in r {
            var base = 0
            for a in keptAxes {
                let c = (o / outStrides[a]) % outShape[a]
                base += c * inStrides[a]
            }
            var acc = 0.0
            if reduced.count == 1 {
                let s = reducedStrides[0]
                for k in 0..<reducedCount { acc += Double(px[base + k * s]) }
            } else {
                for k in 0..<reducedCount {
                    var off = base, kk = k
                    for j in stride(from: reduced.count - 1, through: 0, by: -1) {
                        off += (kk % reducedShape[j]) * reducedStrides[j]; kk /= reducedShape[j]
                    }
                    acc += Double(px[off])
                }
            }
            po[o] = Float(acc)
        }
    }
    return out
}

/// Broadcasts `g` (with size-1 axes where reduced) back to `shape`, not recorded.
func expandRaw(_ g: Tensor, to shape: [Int]) -> Tensor {
    mapBinary(g, Tensor.zeros(shape), op: "expand") { a, _ in a }
}

extension Tensor {
    /// Sum over `axes`; removes them unless `keepDims`.
    public func sum(axes: [Int], keepDims: Bool = false) -> Tensor {
        let ax = Array(Set(axes.map { normalizedAxis($0, rank: rank, op: "sum") })).sorted()
        let x = self
        let kept = reduceSum(x, axes: ax)
        let out = keepDims ? kept : kept.reshapedRaw(kept.shape.enumerated().filter { !ax.contains($0.offset) }.map { $0.element })
        return out.recorded([x]) { g in [expandRaw(g.reshapedRaw(kept.shape), to: x.shape)] }
    }

    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Sum of all elements, as a 0-d tensor.
    public func sum() -> Tensor { sum(axes: Array(0..<rank)) }

    public func mean(axes: [Int], keepDims: Bool = false) -> Tensor {
        let ax = axes.map { normalizedAxis($0, rank: rank, op: "mean") }
        let n = ax.reduce(1) { $0 * shape[$1] }
        return sum(axes: ax, keepDims: keepDims) * (1 / Float(n))
    }

    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }
    public func mean() -> Tensor { mean(axes: Array(0..<rank)) }
}

extension Tensor {
    /// Σ x² over the last axis: [..., K] → [...] (e.g. the per-(out, in) weight norms of StyleGAN2's
    /// demodulation). One pass forward and one backward (2·x·g), where square-then-sum makes two each
    /// and keeps the squares.
    public func sumOfSquaresLastAxis() -> Tensor {
        precondition(rank >= 1, "sumOfSquaresLastAxis: needs at least one axis")
        let x = self, K = shape[rank - 1], rows = count / max(1, K)
        let out = Tensor.empty(Array(shape.dropLast()))
        let px = x.pointer, po = out.pointer
        parallelFor(rows, minChunk: max(1, 16384 / max(1, K))) { r in
            for row in r { po[row] = Float(dotInDouble(px + row * K, px + row * K, K)) }
        }
        return out.recorded([x]) { g in
            let gx = Tensor.empty(x.shape)
            let pg = g.pointer, pgx = gx.pointer
            parallelFor(rows, minChunk: max(1, 16384 / max(1, K))) { r in
                for row in r {
                    let f = 2 * pg[row], src = px + row * K, dst = pgx + row * K
                    for k in 0..<K { dst[k] = f * src[k] }
                }
            }
            return [gx]
        }
    }
}
