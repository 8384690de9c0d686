/// Reshape, permute, concatenate, slice, gather: data movement with exact backward passes.

extension Tensor {
    /// Same storage, new shape, not recorded.
    func reshapedRaw(_ newShape: [Int]) -> Tensor {
        precondition(elementCount(newShape) == count, "reshape: \(shape) has \(count) elements, \(newShape) needs \(elementCount(newShape))")
        return Tensor(storage: storage, shape: newShape)
    }

    /// A view with a new shape; one dimension may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "reshape: cannot infer -1 in \(newShape) for \(count) elements")
            s[i] = count / known
        }
        let x = self
        return reshapedRaw(s).recorded([x]) { g in [g.reshapedRaw(x.shape)] }
    }

    /// Axes reordered so that output axis i is input axis `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "permute: \(order) is not a permutation of \(rank) axes")
        let x = self
        let out = permuteRaw(x, order)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return out.recorded([x]) { g in [permuteRaw(g, inverse)] }
    }

    /// Swaps the last two axes.
    public func transposedLast() -> Tensor {
        var order = Array(0..<rank); order.swapAt(rank - 1, rank - 2)
        return permuted(order)
    }

    /// Elements `range` of `axis`.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = normalizedAxis(axis, rank: rank, op: "slice")
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[a], "slice: range \(range) outside 0..<\(shape[a]) on axis \(a) of \(shape)")
        let x = self
        let out = sliceRaw(x, axis: a, range)
        return out.recorded([x]) { g in
            let gx = Tensor.zeros(x.shape)
            copyBlock(from: g, to: gx, axis: a, offset: range.lowerBound)
            return [gx]
        }
    }

    /// Rows `indices` of `axis` (repeats allowed; their gradients add up).
    public func gather(axis: Int, _ indices: [Int]) -> Tensor {
        let a = normalizedAxis(axis, rank: rank, op: "gather")
        for i in indices { precondition(i >= 0 && i < shape[a], "gather: index \(i) outside 0..<\(shape[a]) on axis \(a)") }
        let x = self
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        var outShape = shape; outShape[a] = indices.count
        let out = Tensor.empty(outShape)
        let px = x.pointer, po = out.pointer, d = shape[a], m = indices.count
        for o in 0..<outer { for (j, i) in indices.enumerated() {
            (po + (o * m + j) * inner).update(from: px + (o * d + i) * inner, count: inner)
        } }
        return out.recorded([x]) { g in
            let gx = Tensor.zeros(x.shape)
            let pg = g.pointer, pgx = gx.pointer
            for o in 0..<outer { for (j, i) in indices.enumerated() {
                let dst = pgx + (o * d + i) * inner, src = pg + (o * m + j) * inner
                for k in 0..<inner { dst[k] += src[k] }
            } }
            return [gx]
        }
    }

    /// Broadcasts to `shape` (materialised).
    public func expanded(to target: [Int]) -> Tensor {
        let x = self
        return expandRaw(x, to: target).recorded([x]) { g in [sumToShape(g, x.shape)] }
    }

    /// Concatenation along `axis`.
    public static func concat(_ parts: [Tensor], axis: Int) -> Tensor {
        precondition(!parts.isEmpty, "concat: no tensors")
        let rank = parts[0].rank
        let a = normalizedAxis(axis, rank: rank, op: "concat")
        for p in parts {
            precondition(p.rank == rank && (0..<rank).allSatisfy { $0 == a || p.shape[$0] == parts[0].shape[$0] },
                         "concat: shapes \(parts.map { $0.shape }) differ outside axis \(a)")
        }
        var outShape = parts[0].shape
        outShape[a] = parts.reduce(0) { $0 + $1.shape[a] }
        let out = Tensor.empty(outShape)
        var offset = 0
        var offsets: [Int] = []
        for p in parts { offsets.append(offset); copyBlock(from: p, to: out, axis: a, offset: offset); offset += p.shape[a] }
        return out.recorded(parts) { g in
            zip(parts, offsets).map { p, off in p.needsGrad ? sliceRaw(g, axis: a, off..<(off + p.shape[a])) : nil }
        }
    }

    public static func stack(_ parts: [Tensor], axis: Int = 0) -> Tensor {
        concat(parts.map { p in
            var s = p.shape; s.insert(1, at: axis < 0 ? axis + p.rank + 1 : axis); return p.reshaped(s)
        }, axis: axis)
    }
}

/// Copies `src` into `dst` at `offset` along `axis` (other axes equal).
func copyBlock(from src: Tensor, to dst: Tensor, axis: Int, offset: Int) {
    let outer = src.shape[..<axis].reduce(1, *), inner = src.shape[(axis + 1)...].reduce(1, *)
    let ns = src.shape[axis] * inner, nd = dst.shape[axis] * inner
    let ps = src.pointer, pd = dst.pointer
    for o in 0..<outer { (pd + o * nd + offset * inner).update(from: ps + o * ns, count: ns) }
}

func sliceRaw(_ x: Tensor, axis: Int, _ range: Range<Int>) -> Tensor {
    var outShape = x.shape; outShape[axis] = range.count
    let out = Tensor.empty(outShape)
    let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *)
    let nx = x.shape[axis] * inner, no = range.count * inner
    let px = x.pointer, po = out.pointer
    for o in 0..<outer { (po + o * no).update(from: px + o * nx + range.lowerBound * inner, count: no) }
    return out
}

func permuteRaw(_ x: Tensor, _ order: [Int]) -> Tensor {
    let out = Tensor.empty(order.map { x.shape[$0] })
    if order == Array(0..<x.rank) { out.pointer.update(from: x.pointer, count: x.count); return out }
    // Trailing axes that stay in place move as one contiguous block (e.g. the k×k taps when a conv
    // weight [O, C, k, k] becomes [C, O, k, k]): merge them into one inner axis.
    var rank = x.rank, inShape = x.shape, order = order
    while rank >= 3 && order[rank - 1] == rank - 1 && order[rank - 2] == rank - 2 {
        inShape[rank - 2] *= inShape[rank - 1]
        inShape.removeLast(); order.removeLast(); rank -= 1
    }
    let outShape = order.map { inShape[$0] }
    let inStrides = contiguousStrides(inShape)
    let srcStrides = order.map { inStrides[$0] } // stride in x for each output axis
    let inner = outShape[rank - 1], innerStride = srcStrides[rank - 1]
    let rows = x.count / max(inner, 1)
    let px = x.pointer, po = out.pointer
    parallelFor(rows, minChunk: max(1, 8192 / max(inner, 1))) { r in
        for row in r {
            var rem = row, off = 0
            for axis in stride(from: rank - 2, through: 0, by: -1) {
                off += (rem % outShape[axis]) * srcStrides[axis]; rem /= outShape[axis]
            }
            let dst = po + row * inner
            for j in 0..<inner { dst[j] = px[off + j * innerStride] }
        }
    }
    return out
}
