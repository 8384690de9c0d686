/// StyleGAN2's upsampling conv — a stride-2, unpadded 3×3 transposed conv (2H+1) followed by a 4×4 FIR
/// with pad (1, 1) (back to 2H) — is linear, so the two compose into one filter per output phase: output
/// pixel (2y + py, 2x + px) is a 3×3 correlation of the input around (y, x) with padding 1. The four phase
/// filters, stacked as 4·O output channels and interleaved by `pixelShuffle(2)`, turn the pair into a
/// plain stride-1 3×3 conv: no 2H+1 intermediate and no separate blur pass.
///
/// Along one axis (u = transposed conv output, k the FIR, which upfirdn2d flips):
///   out[2m + p] = Σ_t u[2m + p + t − 1]·k[3 − t],  u[Y] = Σ_i x[i]·w[Y − 2i],
/// so with i = m + b − 1 the phase-p filter is  K_p[b] = Σ_q w[q]·k[3 − t], t = q − p − 1 + 2b ∈ [0, 3].

extension Tensor {
    /// weight [O, C, 3, 3] (conv layout, as `scaledConvTranspose2d` takes it), blur [4, 4] →
    /// phase filters [4·O, C, 3, 3], row o·4 + py·2 + px (the `pixelShuffle(2)` order). Differentiable in
    /// the weight; the blur is a fixed buffer.
    public func transposedConvBlurPhases(blur: Tensor) -> Tensor {
        let w = self
        precondition(w.rank == 4 && w.shape[2] == 3 && w.shape[3] == 3, "transposedConvBlurPhases: weight must be [O, C, 3, 3], got \(w.shape)")
        precondition(blur.shape == [4, 4], "transposedConvBlurPhases: blur must be [4, 4], got \(blur.shape)")
        let O = w.shape[0], C = w.shape[1]
        let map = UpsamplingPhaseMap(blur: blur)
        let out = Tensor.empty([4 * O, C, 3, 3])
        let pw = w.pointer, po = out.pointer
        parallelFor(O, minChunk: 16) { range in
            for o in range {
                for c in 0..<C {
                    let src = pw + (o * C + c) * 9
                    for phase in 0..<4 {
                        let dst = po + ((o * 4 + phase) * C + c) * 9
                        for b in 0..<9 { dst[b] = map.apply(phase: phase, tap: b, to: src) }
                    }
                }
            }
        }
        return out.recorded([w]) { g in
            let gw = Tensor.empty(w.shape)
            let pg = g.pointer, pgw = gw.pointer
            parallelFor(O, minChunk: 16) { range in
                for o in range {
                    for c in 0..<C {
                        let dst = pgw + (o * C + c) * 9
                        for q in 0..<9 { dst[q] = 0 }
                        for phase in 0..<4 {
                            let src = pg + ((o * 4 + phase) * C + c) * 9
                            for b in 0..<9 { map.applyAdjoint(phase: phase, tap: b, gradient: src[b], into: dst) }
                        }
                    }
                }
            }
            return [gw]
        }
    }
}

/// The linear map w [3×3] → K_phase [3×3] for the four phases: coefficient[phase][b][q] (b, q = 3·row + col).
struct UpsamplingPhaseMap {
    private var coefficient = [Float](repeating: 0, count: 4 * 9 * 9)

    init(blur: Tensor) {
        let k = blur.pointer
        for py in 0..<2 { for px in 0..<2 { for by in 0..<3 { for bx in 0..<3 { for qy in 0..<3 { for qx in 0..<3 {
            let ty = qy - py - 1 + 2 * by, tx = qx - px - 1 + 2 * bx
            guard (0..<4).contains(ty), (0..<4).contains(tx) else { continue }
            coefficient[((py * 2 + px) * 9 + by * 3 + bx) * 9 + qy * 3 + qx] = k[(3 - ty) * 4 + 3 - tx]
        } } } } } }
    }

    @inline(__always)
    func apply(phase: Int, tap b: Int, to w: UnsafePointer<Float>) -> Float {
        var total: Float = 0
        for q in 0..<9 { total += coefficient[(phase * 9 + b) * 9 + q] * w[q] }
        return total
    }

    @inline(__always)
    func applyAdjoint(phase: Int, tap b: Int, gradient g: Float, into dw: UnsafeMutablePointer<Float>) {
        for q in 0..<9 { dw[q] += coefficient[(phase * 9 + b) * 9 + q] * g }
    }
}
