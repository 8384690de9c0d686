/// Sums and means over axes.

/// Sum over `axes` (kept as size-1 axes), not recorded. Accumulates in Double so long sums stay exact
/// to float32 precision, in an order fixed by the shape alone (not by the thread count).
///
/// Adjacent axes that are all reduced or all kept are merged first, so most calls reduce a
/// [kept, reduced, kept] style layout without any per-element index arithmetic:
/// - innermost axis kept (e.g. [R, K] → [K], the backward of a row broadcast): every output row is a
///   sum of contiguous input rows, accumulated column-wise into a Double buffer;
/// - innermost axis reduced (e.g. [K, R] → [K], or [N, C, S] → [C]): every output is a sum of
///   contiguous runs.
func reduceSum(_ x: Tensor, axes: [Int]) -> Tensor {
    var outShape = x.shape
    for a in axes { outShape[a] = 1 }
    let out = Tensor.empty(outShape)
    // Merge runs of axes with the same status, dropping size-1 axes (they change no offsets).
    var dims: [Int] = [], reducedFlags: [Bool] = []
    for (a, d) in x.shape.enumerated() where d != 1 {
        let r = axes.contains(a)
        if let last = reducedFlags.last, last == r { dims[dims.count - 1] *= d } else { dims.append(d); reducedFlags.append(r) }
    }
    let px = x.pointer, po = out.pointer
    if !reducedFlags.contains(true) {
        po.update(from: px, count: x.count)
        return out
    }
    if x.count == 0 {
        po.update(repeating: 0, count: out.count)
        return out
    }
    let strides = contiguousStrides(dims)
    let innerReduced = reducedFlags.last!
    let inner = dims.last!
    // Outer axes (all but the innermost merged one), split by status.
    let outerKept = (0..<(dims.count - 1)).filter { !reducedFlags[$0] }
    let outerReduced = (0..<(dims.count - 1)).filter { reducedFlags[$0] }
    /// Offsets of every combination of `axesList` coordinates, in row-major order.
    func offsets(_ axesList: [Int]) -> [Int] {
        var result = [0]
        for a in axesList {
            var next: [Int] = []
            next.reserveCapacity(result.count * dims[a])
            for base in result { for c in 0..<dims[a] { next.append(base + c * strides[a]) } }
            result = next
        }
        return result
    }
    let rowBases = offsets(outerKept), runBases = offsets(outerReduced)
    rowBases.withUnsafeBufferPointer { rowBases in
        runBases.withUnsafeBufferPointer { runBases in
            if innerReduced {
                // Output o = Σ over runs of Σ px[rowBases[o] + run + 0..<inner].
                let outputs = rowBases.count
                parallelFor(outputs, minChunk: max(1, 16384 / max(1, inner * runBases.count))) { r in
                    for o in r {
                        var acc = 0.0
                        for run in runBases { acc += sumInDouble(px + rowBases[o] + run, inner) }
                        po[o] = Float(acc)
                    }
                }
            } else {
                // Output row o (inner contiguous values) = Σ over runs of the input rows at rowBases[o] + run.
                let tile = 1024, tilesPerRow = (inner + tile - 1) / tile
                let work = rowBases.count * tilesPerRow
                parallelFor(work, minChunk: max(1, 16384 / max(1, min(inner, tile) * runBases.count))) { r in
                    let acc = UnsafeMutablePointer<Double>.allocate(capacity: tile)
                    defer { acc.deallocate() }
                    for item in r {
                        let o = item / tilesPerRow, lo = (item % tilesPerRow) * tile, n = min(tile, inner - lo)
                        acc.update(repeating: 0, count: n)
                        for run in runBases {
                            let src = px + rowBases[o] + run + lo
                            for j in 0..<n { acc[j] += Double(src[j]) }
                        }
                        let dst = po + o * inner + lo
                        for j in 0..<n { dst[j] = Float(acc[j]) }
                    }
                }
            }
        }
    }
    return out
}

/// Broadcasts `g` (with size-1 axes where reduced) back to `shape`, not recorded.
/// Copies runs (or fills them, where the innermost axis is broadcast) without a zero tensor to broadcast against.
func expandRaw(_ g: Tensor, to shape: [Int]) -> Tensor {
    precondition(broadcastShapes(g.shape, shape) == shape, "expand: \(g.shape) does not broadcast to \(shape)")
    let out = Tensor.empty(shape)
    let pg = g.pointer, po = out.pointer
    if g.count == out.count { po.update(from: pg, count: out.count); return out }
    if out.count == 0 { return out }
    let sg = broadcastStrides(g.shape, to: shape)
    let rank = shape.count, inner = shape[rank - 1], innerStride = sg[rank - 1]
    let rows = out.count / inner
    parallelFor(rows, minChunk: max(1, 16384 / max(1, inner))) { r in
        for row in r {
            var rem = row, off = 0
            for axis in stride(from: rank - 2, through: 0, by: -1) {
                off += (rem % shape[axis]) * sg[axis]; rem /= shape[axis]
            }
            let dst = po + row * inner
            if innerStride == 0 { dst.update(repeating: pg[off], count: inner) } else { dst.update(from: pg + off, count: inner) }
        }
    }
    return out
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
