/// The transforms of Winograd's minimal filtering algorithm F(4×4, 3×3) (Lavin & Gray 2016, points
/// 0, ±1, ±2, ∞), and their adjoints for backward.
///
/// A 4×4 output tile of a 3×3 correlation is Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A for the 6×6 input window d:
/// 36 multiplies instead of 144. Over channels the ⊙ becomes 36 independent GEMMs
/// M[ξ] = U[ξ]·V[ξ] with U = G g Gᵀ [36, out, in] and V = Bᵀ d B [36, in, tiles].
/// Backward is the exact adjoint of the same algorithm: dM = A dY Aᵀ, dV[ξ] = U[ξ]ᵀ dM[ξ],
/// dd = B dV Bᵀ, dU[ξ] = Σ_tiles dM[ξ] V[ξ]ᵀ, dg = Gᵀ dU G.
///
/// Every 2-D transform here is a 1-D transform of the columns followed by one of the rows; the 1-D
/// transforms are written out so the compiler keeps all values in registers.
enum WinogradF43 {
    /// Output tile side, input window side, and the number of transform points (window²).
    static let tile = 4, window = 6, points = 36

    // MARK: 1-D transforms

    /// Bᵀ·d: 6 → 6.
    @inline(__always)
    static func inputRow(_ d0: Float, _ d1: Float, _ d2: Float, _ d3: Float, _ d4: Float, _ d5: Float)
        -> (Float, Float, Float, Float, Float, Float) {
        let a = d4 - 4 * d2, b = d3 - 4 * d1           // shared by rows 1 and 2
        let c = d4 - d2, e = 2 * (d3 - d1)              // shared by rows 3 and 4
        return (4 * d0 - 5 * d2 + d4, a + b, a - b, c + e, c - e, 4 * d1 - 5 * d3 + d5)
    }

    /// B·v: 6 → 6 (adjoint of `inputRow`).
    @inline(__always)
    static func inputRowAdjoint(_ v0: Float, _ v1: Float, _ v2: Float, _ v3: Float, _ v4: Float, _ v5: Float)
        -> (Float, Float, Float, Float, Float, Float) {
        let s12 = v1 + v2, d12 = v2 - v1, s34 = v3 + v4, d34 = v3 - v4
        return (4 * v0,
                4 * d12 - 2 * d34 + 4 * v5,
                -5 * v0 - 4 * s12 - s34,
                -d12 + 2 * d34 - 5 * v5,
                v0 + s12 + s34,
                v5)
    }

    /// Aᵀ·m: 6 → 4.
    @inline(__always)
    static func outputRow(_ m0: Float, _ m1: Float, _ m2: Float, _ m3: Float, _ m4: Float, _ m5: Float)
        -> (Float, Float, Float, Float) {
        let s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4
        return (m0 + s12 + s34, d12 + 2 * d34, s12 + 4 * s34, d12 + 8 * d34 + m5)
    }

    /// A·y: 4 → 6 (adjoint of `outputRow`).
    @inline(__always)
    static func outputRowAdjoint(_ y0: Float, _ y1: Float, _ y2: Float, _ y3: Float)
        -> (Float, Float, Float, Float, Float, Float) {
        let even = y0 + y2, odd = y1 + y3, even4 = y0 + 4 * y2, odd8 = 2 * y1 + 8 * y3
        return (y0, even + odd, even - odd, even4 + odd8, even4 - odd8, y3)
    }

    // MARK: 2-D tile transforms

    /// V = Bᵀ d B for the 6×6 window at `d` (rows `rowStride` apart); writes the 36 values to `v[ξ·stride]`.
    @inline(__always)
    static func transformInput(_ d: UnsafePointer<Float>, rowStride rs: Int, into v: UnsafeMutablePointer<Float>, stride: Int) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 36) { buffer in
            let tmp = buffer.baseAddress!
            // Columns: tmp[i][j] = (Bᵀ d[:, j])_i.
            for j in 0..<6 {
                let t = inputRow(d[j], d[rs + j], d[2 * rs + j], d[3 * rs + j], d[4 * rs + j], d[5 * rs + j])
                tmp[j] = t.0; tmp[6 + j] = t.1; tmp[12 + j] = t.2; tmp[18 + j] = t.3; tmp[24 + j] = t.4; tmp[30 + j] = t.5
            }
            // Rows: V[i][j] = (Bᵀ tmp[i, :])_j.
            for i in 0..<6 {
                let r = tmp + 6 * i
                let t = inputRow(r[0], r[1], r[2], r[3], r[4], r[5])
                let o = v + 6 * i * stride
                o[0] = t.0; o[stride] = t.1; o[2 * stride] = t.2; o[3 * stride] = t.3; o[4 * stride] = t.4; o[5 * stride] = t.5
            }
        }
    }

    /// dd = B dV Bᵀ: reads dV from `v[ξ·stride]`, writes the 6×6 window gradient to `d` (row-major).
    @inline(__always)
    static func transformInputAdjoint(_ v: UnsafePointer<Float>, stride: Int, into d: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 36) { buffer in
            let tmp = buffer.baseAddress!
            for i in 0..<6 {
                let r = v + 6 * i * stride
                let t = inputRowAdjoint(r[0], r[stride], r[2 * stride], r[3 * stride], r[4 * stride], r[5 * stride])
                let o = tmp + 6 * i
                o[0] = t.0; o[1] = t.1; o[2] = t.2; o[3] = t.3; o[4] = t.4; o[5] = t.5
            }
            for j in 0..<6 {
                let t = inputRowAdjoint(tmp[j], tmp[6 + j], tmp[12 + j], tmp[18 + j], tmp[24 + j], tmp[30 + j])
                d[j] = t.0; d[6 + j] = t.1; d[12 + j] = t.2; d[18 + j] = t.3; d[24 + j] = t.4; d[30 + j] = t.5
            }
        }
    }

    /// Y = Aᵀ M A: reads M from `m[ξ·stride]`, writes the 4×4 tile to `y` (row-major).
    @inline(__always)
    static func transformOutput(_ m: UnsafePointer<Float>, stride: Int, into y: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 24) { buffer in
            let tmp = buffer.baseAddress!
            // Rows first: tmp[i][b] = (Aᵀ M[i, :])_b, 6×4.
            for i in 0..<6 {
                let r = m + 6 * i * stride
                let t = outputRow(r[0], r[stride], r[2 * stride], r[3 * stride], r[4 * stride], r[5 * stride])
                let o = tmp + 4 * i
                o[0] = t.0; o[1] = t.1; o[2] = t.2; o[3] = t.3
            }
            for b in 0..<4 {
                let t = outputRow(tmp[b], tmp[4 + b], tmp[8 + b], tmp[12 + b], tmp[16 + b], tmp[20 + b])
                y[b] = t.0; y[4 + b] = t.1; y[8 + b] = t.2; y[12 + b] = t.3
            }
        }
    }

    /// dM = A dY Aᵀ for the 4×4 tile gradient at `y` (rows `rowStride` apart); writes the 36 values to `m[ξ·stride]`.
    @inline(__always)
    static func transformOutputAdjoint(_ y: UnsafePointer<Float>, rowStride rs: Int, into m: UnsafeMutablePointer<Float>, stride: Int) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 24) { buffer in
            let tmp = buffer.baseAddress!
            // Columns: tmp[i][b] = (A dY[:, b])_i, 6×4.
            for b in 0..<4 {
                let t = outputRowAdjoint(y[b], y[rs + b], y[2 * rs + b], y[3 * rs + b])
                tmp[b] = t.0; tmp[4 + b] = t.1; tmp[8 + b] = t.2; tmp[12 + b] = t.3; tmp[16 + b] = t.4; tmp[20 + b] = t.5
            }
            for i in 0..<6 {
                let r = tmp + 4 * i
                let t = outputRowAdjoint(r[0], r[1], r[2], r[3])
                let o = m + 6 * i * stride
                o[0] = t.0; o[stride] = t.1; o[2 * stride] = t.2; o[3 * stride] = t.3; o[4 * stride] = t.4; o[5 * stride] = t.5
            }
        }
    }

    // MARK: Filters (in double precision: they are few, and U's rounding adds to every output)

    /// U[ξ][o][i] = (G g Gᵀ)_ξ for weight [out, in, 3, 3]; `u` holds 36·out·in floats.
    static func transformWeights(_ w: UnsafePointer<Float>, out: Int, in cin: Int, into u: UnsafeMutablePointer<Float>) {
        let plane = out * cin
        parallelFor(plane, minChunk: 256) { range in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: 18) { buffer in // 6×3: G g
                let tmp = buffer.baseAddress!
                for k in range {
                    let g = w + 9 * k
                    for c in 0..<3 {
                        let col = filterColumn(Double(g[c]), Double(g[3 + c]), Double(g[6 + c]))
                        tmp[c] = col.0; tmp[3 + c] = col.1; tmp[6 + c] = col.2
                        tmp[9 + c] = col.3; tmp[12 + c] = col.4; tmp[15 + c] = col.5
                    }
                    for i in 0..<6 {
                        let r = filterColumn(tmp[3 * i], tmp[3 * i + 1], tmp[3 * i + 2])
                        let o = u + 6 * i * plane + k
                        o[0] = Float(r.0); o[plane] = Float(r.1); o[2 * plane] = Float(r.2)
                        o[3 * plane] = Float(r.3); o[4 * plane] = Float(r.4); o[5 * plane] = Float(r.5)
                    }
                }
            }
        }
    }

    /// dg = Gᵀ dU G: reads dU [36][out][in], adds (or writes) [out, in, 3, 3] into `gw`.
    static func transformWeightGradient(_ du: UnsafePointer<Float>, out: Int, in cin: Int,
                                        into gw: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let plane = out * cin
        parallelFor(plane, minChunk: 256) { range in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: 18) { buffer in // 6×3: dU G
                let tmp = buffer.baseAddress!
                for k in range {
                    for i in 0..<6 {
                        let r = du + 6 * i * plane + k
                        let t = filterColumnAdjoint(Double(r[0]), Double(r[plane]), Double(r[2 * plane]),
                                                    Double(r[3 * plane]), Double(r[4 * plane]), Double(r[5 * plane]))
                        tmp[3 * i] = t.0; tmp[3 * i + 1] = t.1; tmp[3 * i + 2] = t.2
                    }
                    let g = gw + 9 * k
                    for c in 0..<3 {
                        let t = filterColumnAdjoint(tmp[c], tmp[3 + c], tmp[6 + c], tmp[9 + c], tmp[12 + c], tmp[15 + c])
                        if accumulate {
                            g[c] += Float(t.0); g[3 + c] += Float(t.1); g[6 + c] += Float(t.2)
                        } else {
                            g[c] = Float(t.0); g[3 + c] = Float(t.1); g[6 + c] = Float(t.2)
                        }
                    }
                }
            }
        }
    }

    /// G·g: 3 → 6.
    @inline(__always)
    static func filterColumn(_ g0: Double, _ g1: Double, _ g2: Double) -> (Double, Double, Double, Double, Double, Double) {
        let even = g0 + g2
        return (g0 / 4, -(even + g1) / 6, -(even - g1) / 6,
                g0 / 24 + g1 / 12 + g2 / 6, g0 / 24 - g1 / 12 + g2 / 6, g2)
    }

    /// Gᵀ·u: 6 → 3 (adjoint of `filterColumn`).
    @inline(__always)
    static func filterColumnAdjoint(_ u0: Double, _ u1: Double, _ u2: Double, _ u3: Double, _ u4: Double, _ u5: Double)
        -> (Double, Double, Double) {
        (u0 / 4 - (u1 + u2) / 6 + (u3 + u4) / 24,
         (u2 - u1) / 6 + (u3 - u4) / 12,
         -(u1 + u2) / 6 + (u3 + u4) / 6 + u5)
    }
}
