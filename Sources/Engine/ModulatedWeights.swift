/// Per-sample weights of a modulated convolution (StyleGAN2's fused modulation/demodulation):
///   out[b, i, j, k] = gain · w[i, j, k] · rows[b, i] · columns[b, j].
///
/// Built from broadcasting ops this costs a full-size product per factor forward, and backward a
/// product and a strided reduction per factor, each over B·I·J·K values. Here forward is one pass, and
/// backward one pass over the output gradient: with t[b, i, j] = Σ_k g[b, i, j, k]·w[i, j, k],
///   d/dw[i, j, k]  = gain · Σ_b g[b, i, j, k]·rows[b, i]·columns[b, j]
///   d/drows[b, i]  = gain · Σ_j t[b, i, j]·columns[b, j]
///   d/dcols[b, j]  = gain · Σ_i t[b, i, j]·rows[b, i].
/// The column gradient sums over i across threads: it is accumulated per fixed block of i (the block
/// size depends only on I) and the blocks are added in order, so results do not depend on the thread count.

extension Tensor {
    /// Per-sample modulated weights [B, I, J, K] from self = w [I, J, K] (or, with `transposed`, w [J, I, K]
    /// read as its (1, 0, 2) permutation, e.g. a conv weight [out, in, k²] laid out for a transposed conv).
    /// `rows` [B, I] and `columns` [B, J] are optional (a missing one counts as all ones); with neither,
    /// B = 1 and the result is gain·w in the requested layout.
    /// Every input may receive a gradient.
    public func modulatedWeights(rows: Tensor?, columns: Tensor?, gain: Float = 1, transposed: Bool = false) -> Tensor {
        let w = self
        let (B, I, J, K) = checkedShape { try modulatedWeightsShape(w.shape, rows: rows?.shape, columns: columns?.shape, transposed: transposed) }
        let out = Tensor.empty([B, I, J, K])
        let pw = w.pointer, po = out.pointer, pr = rows?.pointer, pc = columns?.pointer
        // Offset of w's row (i, j) of K taps.
        let rowStrideI = transposed ? K : J * K, rowStrideJ = transposed ? I * K : K
        parallelFor(B * I, minChunk: max(1, 32768 / max(1, J * K))) { range in
            for bi in range {
                let b = bi / I, i = bi % I
                let r = gain * (pr?[bi] ?? 1)
                for j in 0..<J {
                    let f = r * (pc?[b * J + j] ?? 1)
                    let src = pw + i * rowStrideI + j * rowStrideJ, dst = po + (bi * J + j) * K
                    for k in 0..<K { dst[k] = src[k] * f }
                }
            }
        }
        var inputs = [w]
        if let rows { inputs.append(rows) }
        if let columns { inputs.append(columns) }
        return out.recorded(inputs) { g in
            let wantW = w.needsGrad, wantRows = rows?.needsGrad ?? false, wantColumns = columns?.needsGrad ?? false
            let gw: Tensor? = wantW ? Tensor.empty(w.shape) : nil
            let gRows: Tensor? = wantRows ? Tensor.empty([B, I]) : nil
            let blockSize = max(1, (I + 63) / 64), blocks = (I + blockSize - 1) / blockSize
            // Per-block partial column gradients, in Double.
            let partial = UnsafeMutablePointer<Double>.allocate(capacity: max(1, wantColumns ? blocks * B * J : 1))
            defer { partial.deallocate() }
            if wantColumns { partial.initialize(repeating: 0, count: blocks * B * J) }
            let pg = g.pointer, pgw = gw?.pointer, pgr = gRows?.pointer
            parallelFor(blocks) { blockRange in
                for block in blockRange {
                    let colAcc = partial + block * B * J
                    for i in (block * blockSize)..<min(I, (block + 1) * blockSize) {
                        for b in 0..<B {
                            let rb = pr?[b * I + i] ?? 1
                            var rowAcc = 0.0
                            for j in 0..<J {
                                let cb = pc?[b * J + j] ?? 1
                                let src = pw + i * rowStrideI + j * rowStrideJ, gp = pg + ((b * I + i) * J + j) * K
                                if wantRows || wantColumns {
                                    var t: Float = 0
                                    for k in 0..<K { t += gp[k] * src[k] }
                                    rowAcc += Double(t) * Double(cb)
                                    if wantColumns { colAcc[b * J + j] += Double(t) * Double(rb) }
                                }
                                if let pgw {
                                    let f = gain * rb * cb, dst = pgw + i * rowStrideI + j * rowStrideJ
                                    if b == 0 { for k in 0..<K { dst[k] = gp[k] * f } } else { for k in 0..<K { dst[k] += gp[k] * f } }
                                }
                            }
                            if let pgr { pgr[b * I + i] = gain * Float(rowAcc) }
                        }
                    }
                }
            }
            var grads: [Tensor?] = [gw]
            if rows != nil { grads.append(gRows) }
            if columns != nil {
                var gCols: Tensor?
                if wantColumns {
                    let r = Tensor.empty([B, J])
                    for e in 0..<(B * J) {
                        var t = 0.0
                        for block in 0..<blocks { t += partial[block * B * J + e] }
                        r.pointer[e] = gain * Float(t)
                    }
                    gCols = r
                }
                grads.append(gCols)
            }
            return grads
        }
    }
}

/// (B, I, J, K) of a `modulatedWeights` call, or a ShapeError naming the mismatch.
func modulatedWeightsShape(_ w: [Int], rows: [Int]?, columns: [Int]?, transposed: Bool) throws -> (Int, Int, Int, Int) {
    guard w.count == 3 else { throw ShapeError("modulatedWeights: weight must be [I, J, K], got \(w)") }
    let I = transposed ? w[1] : w[0], J = transposed ? w[0] : w[1], K = w[2]
    let B = rows?.first ?? columns?.first ?? 1
    if let rows, rows != [B, I] { throw ShapeError("modulatedWeights: rows \(rows) for weight \(w)\(transposed ? " (transposed)" : ""), expected [\(B), \(I)]") }
    if let columns, columns != [B, J] {
        throw ShapeError("modulatedWeights: columns \(columns) for weight \(w)\(transposed ? " (transposed)" : ""), expected [\(B), \(J)]")
    }
    return (B, I, J, K)
}
