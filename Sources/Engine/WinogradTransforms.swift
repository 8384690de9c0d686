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

    /// Eight tiles are transformed at once, one per SIMD lane.
    typealias Lanes = SIMD8<Float>
    static let laneCount = 8

    // MARK: 1-D transforms

    /// Bᵀ·d: 6 → 6.
    @inline(__always)
    static func inputRow(_ d0: Lanes, _ d1: Lanes, _ d2: Lanes, _ d3: Lanes, _ d4: Lanes, _ d5: Lanes)
        -> (Lanes, Lanes, Lanes, Lanes, Lanes, Lanes) {
        let a = d4 - 4 * d2, b = d3 - 4 * d1           // shared by rows 1 and 2
        let c = d4 - d2, e = 2 * (d3 - d1)              // shared by rows 3 and 4
        return (4 * d0 - 5 * d2 + d4, a + b, a - b, c + e, c - e, 4 * d1 - 5 * d3 + d5)
    }

    /// B·v: 6 → 6 (adjoint of `inputRow`).
    @inline(__always)
    static func inputRowAdjoint(_ v0: Lanes, _ v1: Lanes, _ v2: Lanes, _ v3: Lanes, _ v4: Lanes, _ v5: Lanes)
        -> (Lanes, Lanes, Lanes, Lanes, Lanes, Lanes) {
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
    static func outputRow(_ m0: Lanes, _ m1: Lanes, _ m2: Lanes, _ m3: Lanes, _ m4: Lanes, _ m5: Lanes)
        -> (Lanes, Lanes, Lanes, Lanes) {
        let s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4
        return (m0 + s12 + s34, d12 + 2 * d34, s12 + 4 * s34, d12 + 8 * d34 + m5)
    }

    /// A·y: 4 → 6 (adjoint of `outputRow`).
    @inline(__always)
    static func outputRowAdjoint(_ y0: Lanes, _ y1: Lanes, _ y2: Lanes, _ y3: Lanes)
        -> (Lanes, Lanes, Lanes, Lanes, Lanes, Lanes) {
        let even = y0 + y2, odd = y1 + y3, even4 = y0 + 4 * y2, odd8 = 2 * y1 + 8 * y3
        return (y0, even + odd, even - odd, even4 + odd8, even4 - odd8, y3)
    }

    // MARK: 2-D tile transforms, in place on buffers of lane vectors (row-major positions)

    /// V = Bᵀ d B: `d` holds the 36 window values (position 6r+s) and receives V (position ξ = 6i+j).
    @inline(__always)
    static func transformInput(_ d: UnsafeMutablePointer<Lanes>) {
        for j in 0..<6 { // columns
            let t = inputRow(d[j], d[6 + j], d[12 + j], d[18 + j], d[24 + j], d[30 + j])
            d[j] = t.0; d[6 + j] = t.1; d[12 + j] = t.2; d[18 + j] = t.3; d[24 + j] = t.4; d[30 + j] = t.5
        }
        for i in 0..<6 { // rows
            let r = d + 6 * i
            let t = inputRow(r[0], r[1], r[2], r[3], r[4], r[5])
            r[0] = t.0; r[1] = t.1; r[2] = t.2; r[3] = t.3; r[4] = t.4; r[5] = t.5
        }
    }

    /// dd = B dV Bᵀ: `v` holds dV (position ξ) and receives the window gradient (position 6r+s).
    @inline(__always)
    static func transformInputAdjoint(_ v: UnsafeMutablePointer<Lanes>) {
        for i in 0..<6 {
            let r = v + 6 * i
            let t = inputRowAdjoint(r[0], r[1], r[2], r[3], r[4], r[5])
            r[0] = t.0; r[1] = t.1; r[2] = t.2; r[3] = t.3; r[4] = t.4; r[5] = t.5
        }
        for j in 0..<6 {
            let t = inputRowAdjoint(v[j], v[6 + j], v[12 + j], v[18 + j], v[24 + j], v[30 + j])
            v[j] = t.0; v[6 + j] = t.1; v[12 + j] = t.2; v[18 + j] = t.3; v[24 + j] = t.4; v[30 + j] = t.5
        }
    }

    /// Y = Aᵀ M A: reads M (36, position ξ; overwritten as scratch), writes the 4×4 tile to `y` (position 4r+s).
    @inline(__always)
    static func transformOutput(_ m: UnsafeMutablePointer<Lanes>, into y: UnsafeMutablePointer<Lanes>) {
        for i in 0..<6 { // rows: m[6i + 0..<4] = Aᵀ M[i, :]
            let r = m + 6 * i
            let t = outputRow(r[0], r[1], r[2], r[3], r[4], r[5])
            r[0] = t.0; r[1] = t.1; r[2] = t.2; r[3] = t.3
        }
        for b in 0..<4 {
            let t = outputRow(m[b], m[6 + b], m[12 + b], m[18 + b], m[24 + b], m[30 + b])
            y[b] = t.0; y[4 + b] = t.1; y[8 + b] = t.2; y[12 + b] = t.3
        }
    }

    /// dM = A dY Aᵀ: reads the 4×4 tile gradient `y` (position 4r+s), writes 36 values to `m` (position ξ).
    @inline(__always)
    static func transformOutputAdjoint(_ y: UnsafePointer<Lanes>, into m: UnsafeMutablePointer<Lanes>) {
        for b in 0..<4 { // columns: m[6i + b] = (A dY[:, b])_i
            let t = outputRowAdjoint(y[b], y[4 + b], y[8 + b], y[12 + b])
            m[b] = t.0; m[6 + b] = t.1; m[12 + b] = t.2; m[18 + b] = t.3; m[24 + b] = t.4; m[30 + b] = t.5
        }
        for i in 0..<6 {
            let r = m + 6 * i
            let t = outputRowAdjoint(r[0], r[1], r[2], r[3])
            r[0] = t.0; r[1] = t.1; r[2] = t.2; r[3] = t.3; r[4] = t.4; r[5] = t.5
        }
    }

    // MARK: Filters

    /// U[ξ][o][i] = (G g Gᵀ)_ξ for weight [out, in, 3, 3]; `u` holds 36·out·in floats.
    /// Eight filters at a time in SIMD lanes, so each of the 36 outputs is one vector store; the
    /// double-precision scalar path takes the remainder (both round U once to float).
    static func transformWeights(_ w: UnsafePointer<Float>, out: Int, in cin: Int, into u: UnsafeMutablePointer<Float>) {
        let plane = out * cin
        parallelFor(plane, minChunk: 1024) { range in
            var k = range.lowerBound
            while k + 8 <= range.upperBound {
                // Taps of filters k..<k+8, one lane each.
                withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 9) { t in
                    for j in 0..<9 {
                        var v = SIMD8<Float>()
                        for l in 0..<8 { v[l] = w[9 * (k + l) + j] }
                        t[j] = v
                    }
                    let c0 = filterColumn8(t[0], t[3], t[6]), c1 = filterColumn8(t[1], t[4], t[7]), c2 = filterColumn8(t[2], t[5], t[8])
                    func store(_ i: Int, _ r: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)) {
                        let o = UnsafeMutableRawPointer(u + 6 * i * plane + k), step = plane * 4
                        o.storeBytes(of: r.0, as: SIMD8<Float>.self)
                        o.storeBytes(of: r.1, toByteOffset: step, as: SIMD8<Float>.self)
                        o.storeBytes(of: r.2, toByteOffset: 2 * step, as: SIMD8<Float>.self)
                        o.storeBytes(of: r.3, toByteOffset: 3 * step, as: SIMD8<Float>.self)
                        o.storeBytes(of: r.4, toByteOffset: 4 * step, as: SIMD8<Float>.self)
                        o.storeBytes(of: r.5, toByteOffset: 5 * step, as: SIMD8<Float>.self)
                    }
                    store(0, filterColumn8(c0.0, c1.0, c2.0))
                    store(1, filterColumn8(c0.1, c1.1, c2.1))
                    store(2, filterColumn8(c0.2, c1.2, c2.2))
                    store(3, filterColumn8(c0.3, c1.3, c2.3))
                    store(4, filterColumn8(c0.4, c1.4, c2.4))
                    store(5, filterColumn8(c0.5, c1.5, c2.5))
                }
                k += 8
            }
            for k in k..<range.upperBound {
                let g = w + 9 * k
                let c0 = filterColumn(Double(g[0]), Double(g[3]), Double(g[6]))
                let c1 = filterColumn(Double(g[1]), Double(g[4]), Double(g[7]))
                let c2 = filterColumn(Double(g[2]), Double(g[5]), Double(g[8]))
                func store(_ i: Int, _ r: (Double, Double, Double, Double, Double, Double)) {
                    let o = u + 6 * i * plane + k
                    o[0] = Float(r.0); o[plane] = Float(r.1); o[2 * plane] = Float(r.2)
                    o[3 * plane] = Float(r.3); o[4 * plane] = Float(r.4); o[5 * plane] = Float(r.5)
                }
                store(0, filterColumn(c0.0, c1.0, c2.0))
                store(1, filterColumn(c0.1, c1.1, c2.1))
                store(2, filterColumn(c0.2, c1.2, c2.2))
                store(3, filterColumn(c0.3, c1.3, c2.3))
                store(4, filterColumn(c0.4, c1.4, c2.4))
                store(5, filterColumn(c0.5, c1.5, c2.5))
            }
        }
    }

    /// `filterColumn` on eight filters at once.
    @inline(__always)
    static func filterColumn8(_ g0: SIMD8<Float>, _ g1: SIMD8<Float>, _ g2: SIMD8<Float>)
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let even = g0 + g2, a = g0 * Float(twentyFourth) + g2 * Float(sixth), b = g1 * Float(twelfth)
        return (g0 * 0.25, -(even + g1) * Float(sixth), -(even - g1) * Float(sixth), a + b, a - b, g2)
    }

    /// dg = Gᵀ dU G: reads dU [36][out][in], adds (or writes) [out, in, 3, 3] into `gw`.
    static func transformWeightGradient(_ du: UnsafePointer<Float>, out: Int, in cin: Int,
                                        into gw: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let plane = out * cin
        parallelFor(plane, minChunk: 1024) { range in
            for k in range {
                // Rows: (dU row i)·G, 3 values each.
                func row(_ i: Int) -> (Double, Double, Double) {
                    let r = du + 6 * i * plane + k
                    return filterColumnAdjoint(Double(r[0]), Double(r[plane]), Double(r[2 * plane]),
                                               Double(r[3 * plane]), Double(r[4 * plane]), Double(r[5 * plane]))
                }
                let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3), r4 = row(4), r5 = row(5)
                // Columns: Gᵀ·(column c).
                let a = filterColumnAdjoint(r0.0, r1.0, r2.0, r3.0, r4.0, r5.0)
                let b = filterColumnAdjoint(r0.1, r1.1, r2.1, r3.1, r4.1, r5.1)
                let c = filterColumnAdjoint(r0.2, r1.2, r2.2, r3.2, r4.2, r5.2)
                let g = gw + 9 * k
                let values = (a.0, b.0, c.0, a.1, b.1, c.1, a.2, b.2, c.2)
                withUnsafeBytes(of: values) { raw in
                    let v = raw.bindMemory(to: Double.self)
                    if accumulate { for j in 0..<9 { g[j] += Float(v[j]) } } else { for j in 0..<9 { g[j] = Float(v[j]) } }
                }
            }
        }
    }

    static let sixth = 1.0 / 6, twelfth = 1.0 / 12, twentyFourth = 1.0 / 24

    /// G·g: 3 → 6.
    @inline(__always)
    static func filterColumn(_ g0: Double, _ g1: Double, _ g2: Double) -> (Double, Double, Double, Double, Double, Double) {
        let even = g0 + g2, a = g0 * twentyFourth + g2 * sixth, b = g1 * twelfth
        return (g0 * 0.25, -(even + g1) * sixth, -(even - g1) * sixth, a + b, a - b, g2)
    }

    /// Gᵀ·u: 6 → 3 (adjoint of `filterColumn`).
    @inline(__always)
    static func filterColumnAdjoint(_ u0: Double, _ u1: Double, _ u2: Double, _ u3: Double, _ u4: Double, _ u5: Double)
        -> (Double, Double, Double) {
        let s12 = (u1 + u2) * sixth, s34 = u3 + u4
        return (u0 * 0.25 - s12 + s34 * twentyFourth,
                (u2 - u1) * sixth + (u3 - u4) * twelfth,
                -s12 + s34 * sixth + u5)
    }
}

/// Loads `lanes` consecutive floats (the rest zero) as one lane vector.
@inline(__always)
func loadLanes(_ p: UnsafePointer<Float>, _ lanes: Int) -> SIMD8<Float> {
    if lanes == 8 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
    var v = SIMD8<Float>()
    for l in 0..<lanes { v[l] = p[l] }
    return v
}

/// Stores the first `lanes` lanes of `v` to consecutive floats.
@inline(__always)
func storeLanes(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ lanes: Int) {
    if lanes == 8 { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self); return }
    for l in 0..<lanes { p[l] = v[l] }
}

/// Runs `body(i, lanes, buffer, floats)` for tiles i..<i+lanes (lanes = 8 except for the last group)
/// of a block of `count` tiles, with a scratch buffer of `vectors` lane vectors and its float view
/// [vectors][8] for per-lane gathers and scatters.
@inline(__always)
func forEachLaneGroup(count: Int, vectors: Int,
                      _ body: (Int, Int, UnsafeMutablePointer<SIMD8<Float>>, UnsafeMutablePointer<Float>) -> Void) {
    withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: vectors) { buffer in
        let d = buffer.baseAddress!
        let floats = UnsafeMutableRawPointer(d).assumingMemoryBound(to: Float.self)
        var i = 0
        while i < count {
            body(i, min(8, count - i), d, floats)
            i += 8
        }
    }
}

/// Eight tiles side by side in one row of an image: d[r·cols + s] gets, in lane l, the value
/// src[r·rowStride + s + l·laneStride]. Reading each vector straight from the image avoids writing
/// lanes one float at a time and reloading them as vectors.
@inline(__always)
func gatherTiles(_ src: UnsafePointer<Float>, rows: Int, cols: Int, rowStride: Int, laneStride ls: Int,
                 into d: UnsafeMutablePointer<SIMD8<Float>>) {
    for r in 0..<rows {
        for s in 0..<cols {
            let p = src + r * rowStride + s
            d[r * cols + s] = SIMD8(p[0], p[ls], p[2 * ls], p[3 * ls], p[4 * ls], p[5 * ls], p[6 * ls], p[7 * ls])
        }
    }
}

/// The inverse of `gatherTiles` for non-overlapping tiles: lane l of d[r·cols + s] goes to
/// dst[r·rowStride + s + l·laneStride].
@inline(__always)
func scatterTiles(_ d: UnsafePointer<SIMD8<Float>>, rows: Int, cols: Int, rowStride: Int, laneStride ls: Int,
                  into dst: UnsafeMutablePointer<Float>) {
    for r in 0..<rows {
        for s in 0..<cols {
            let v = d[r * cols + s], p = dst + r * rowStride + s
            p[0] = v[0]; p[ls] = v[1]; p[2 * ls] = v[2]; p[3 * ls] = v[3]
            p[4 * ls] = v[4]; p[5 * ls] = v[5]; p[6 * ls] = v[6]; p[7 * ls] = v[7]
        }
    }
}
