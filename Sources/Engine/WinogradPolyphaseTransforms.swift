/// Transforms for a stride-2, 3×3 transposed convolution (StyleGAN2's upsampling conv) computed as four
/// phases, the even ones by Winograd's F(4, 2).
///
/// In one dimension, out[2i + k] += in[i]·w[k] splits into an even phase, out[2y] = in[y−1]·w2 + in[y]·w0
/// (a 2-tap correlation), and an odd phase, out[2y+1] = in[y]·w1. For the 5 inputs d = in[y0−1 ... y0+3]
/// of a tile, the even outputs y0...y0+3 come from F(4, 2) (points 0, ±1, 2, ∞: 5 products instead of 8)
/// and the odd ones from d1...d4 directly, so one dimension maps 5 inputs to 9 "points" and 9 products
/// to 8 outputs. In two dimensions a 4×4 input tile (5×5 window) becomes 81 products for an 8×8 output
/// tile, against 144 multiply-adds done directly.
///
/// Along each dimension the 4 odd points share the kernel value w1, so the 81 points fall into 6×6 = 36
/// classes that share one transformed filter matrix: the even×even points (25 classes of one), the
/// even×odd and odd×even ones (10 classes of four) and the odd×odd ones (one class of 16).
///
/// F(4, 2) for the correlation y_j = d_j·g0 + d_{j+1}·g1 (g0 = w2, g1 = w0), with fractions moved into G:
///   Bᵀ = [2 −1 −2 1 0; 0 2 1 −1 0; 0 −2 3 −1 0; 0 −1 0 1 0; 0 2 −1 −2 1]
///   G  = [½ 0; ½ ½; ⅙ −⅙; ⅙ ⅓; 0 1]
///   Aᵀ = [1 1 1 1 0; 0 1 −1 2 0; 0 1 1 4 0; 0 1 −1 8 1]
enum WinogradPolyphase {
    typealias Lanes = SIMD8<Float>
    /// Input tile side, input window side, output tile side, points per side, points, classes.
    static let tile = 4, window = 5, outTile = 8, side = 9, points = 81, classes = 36

    // MARK: 1-D transforms

    /// 5 window values → 9 points (written `s` apart): F(4, 2)'s Bᵀ·d, then d1...d4 for the odd phase.
    @inline(__always)
    static func inputRow(_ d0: Lanes, _ d1: Lanes, _ d2: Lanes, _ d3: Lanes, _ d4: Lanes, into o: UnsafeMutablePointer<Lanes>, _ s: Int) {
        o[0] = 2 * d0 - d1 - 2 * d2 + d3; o[s] = 2 * d1 + d2 - d3; o[2 * s] = 3 * d2 - 2 * d1 - d3
        o[3 * s] = d3 - d1; o[4 * s] = 2 * d1 - d2 - 2 * d3 + d4
        o[5 * s] = d1; o[6 * s] = d2; o[7 * s] = d3; o[8 * s] = d4
    }

    /// 9 points → 5 window values (adjoint of `inputRow`).
    @inline(__always)
    static func inputRowAdjoint(_ v: UnsafePointer<Lanes>, _ s: Int) -> (Lanes, Lanes, Lanes, Lanes, Lanes) {
        let v0 = v[0], v1 = v[s], v2 = v[2 * s], v3 = v[3 * s], v4 = v[4 * s]
        return (2 * v0,
                2 * v1 - v0 - 2 * v2 - v3 + 2 * v4 + v[5 * s],
                v1 + 3 * v2 - 2 * v0 - v4 + v[6 * s],
                v0 - v1 - v2 + v3 - 2 * v4 + v[7 * s],
                v4 + v[8 * s])
    }

    /// 9 products → 8 outputs in output order (even, odd, even, ...).
    @inline(__always)
    static func outputRow(_ p: UnsafePointer<Lanes>, _ s: Int) -> (Lanes, Lanes, Lanes, Lanes, Lanes, Lanes, Lanes, Lanes) {
        let p1 = p[s], p2 = p[2 * s], p3 = p[3 * s], sum = p1 + p2, diff = p1 - p2
        return (p[0] + sum + p3, p[5 * s], diff + 2 * p3, p[6 * s], sum + 4 * p3, p[7 * s], diff + 8 * p3 + p[4 * s], p[8 * s])
    }

    /// 8 output gradients (read `s` apart) → 9 points (written `ps` apart); adjoint of `outputRow`.
    @inline(__always)
    static func outputRowAdjoint(_ y: UnsafePointer<Lanes>, _ s: Int, into p: UnsafeMutablePointer<Lanes>, _ ps: Int) {
        let y0 = y[0], y2 = y[2 * s], y4 = y[4 * s], y6 = y[6 * s]
        let even = y0 + y4, odd = y2 + y6
        p[0] = y0; p[ps] = even + odd; p[2 * ps] = even - odd; p[3 * ps] = y0 + 2 * y2 + 4 * y4 + 8 * y6; p[4 * ps] = y6
        p[5 * ps] = y[s]; p[6 * ps] = y[3 * s]; p[7 * ps] = y[5 * s]; p[8 * ps] = y[7 * s]
    }

    // MARK: 2-D tile transforms on buffers of lane vectors

    /// 5×5 window `d` (position 5r+s) → 81 points written to `v` (position 9a+b).
    @inline(__always)
    static func transformInput(_ d: UnsafePointer<Lanes>, into v: UnsafeMutablePointer<Lanes>) {
        // Columns first into v's first 45 vectors as [9][5], then rows from there into [9][9].
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 45) { t in
            let tp = t.baseAddress!
            for s in 0..<5 { inputRow(d[s], d[5 + s], d[10 + s], d[15 + s], d[20 + s], into: tp + s, 5) }
            for a in 0..<9 {
                let r = 5 * a
                inputRow(tp[r], tp[r + 1], tp[r + 2], tp[r + 3], tp[r + 4], into: v + 9 * a, 1)
            }
        }
    }

    /// 81 point gradients (position 9a+b) → the 5×5 window gradient written to `d` (position 5r+s).
    @inline(__always)
    static func transformInputAdjoint(_ v: UnsafePointer<Lanes>, into d: UnsafeMutablePointer<Lanes>) {
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 45) { t in
            for a in 0..<9 { // rows: [9][9] → [9][5]
                let r = inputRowAdjoint(v + 9 * a, 1)
                t[5 * a] = r.0; t[5 * a + 1] = r.1; t[5 * a + 2] = r.2; t[5 * a + 3] = r.3; t[5 * a + 4] = r.4
            }
            for s in 0..<5 { // columns: [9][5] → [5][5]
                let c = inputRowAdjoint(UnsafePointer(t.baseAddress! + s), 5)
                d[s] = c.0; d[5 + s] = c.1; d[10 + s] = c.2; d[15 + s] = c.3; d[20 + s] = c.4
            }
        }
    }

    /// 81 products (position 9a+b) → the 8×8 output tile written to `y` (position 8r+s).
    @inline(__always)
    static func transformOutput(_ p: UnsafePointer<Lanes>, into y: UnsafeMutablePointer<Lanes>) {
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 72) { t in
            for a in 0..<9 { // rows: [9][9] → [9][8]
                let r = outputRow(p + 9 * a, 1)
                let o = t.baseAddress! + 8 * a
                o[0] = r.0; o[1] = r.1; o[2] = r.2; o[3] = r.3; o[4] = r.4; o[5] = r.5; o[6] = r.6; o[7] = r.7
            }
            for s in 0..<8 { // columns: [9][8] → [8][8]
                let c = outputRow(UnsafePointer(t.baseAddress! + s), 8)
                y[s] = c.0; y[8 + s] = c.1; y[16 + s] = c.2; y[24 + s] = c.3
                y[32 + s] = c.4; y[40 + s] = c.5; y[48 + s] = c.6; y[56 + s] = c.7
            }
        }
    }

    /// 8×8 output gradient (position 8r+s) → 81 point gradients written to `p` (position 9a+b).
    @inline(__always)
    static func transformOutputAdjoint(_ y: UnsafePointer<Lanes>, into p: UnsafeMutablePointer<Lanes>) {
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 72) { t in
            let tp = t.baseAddress!
            for s in 0..<8 { outputRowAdjoint(y + s, 8, into: tp + s, 8) }                 // columns: [8][8] → [9][8]
            for a in 0..<9 { outputRowAdjoint(UnsafePointer(tp + 8 * a), 1, into: p + 9 * a, 1) } // rows: → [9][9]
        }
    }

    // MARK: Points and classes

    /// The filter class of point (a, b) and its index among the class's points.
    @inline(__always)
    static func pointClass(_ a: Int, _ b: Int) -> (xi: Int, index: Int) {
        let alpha = min(a, 5), beta = min(b, 5)
        return (6 * alpha + beta, (a >= 5 ? a - 5 : 0) * (beta == 5 ? 4 : 1) + (b >= 5 ? b - 5 : 0))
    }

    /// Points per class: 1, 4 or 16.
    static func multiplicity(_ xi: Int) -> Int { (xi / 6 == 5 ? 4 : 1) * (xi % 6 == 5 ? 4 : 1) }

    /// Points before class ξ when the classes are laid out in order.
    static let classStart: [Int] = {
        var start = [Int](), total = 0
        for xi in 0..<36 { start.append(total); total += multiplicity(xi) }
        return start
    }()

    /// 1-D filter classes from taps (w0, w1, w2): G·(w2, w0) for the even points, w1 for the odd ones.
    @inline(__always)
    static func filterColumn(_ w0: Double, _ w1: Double, _ w2: Double) -> (Double, Double, Double, Double, Double, Double) {
        (w2 * 0.5, (w2 + w0) * 0.5, (w2 - w0) / 6, w2 / 6 + w0 / 3, w0, w1)
    }

    /// Adjoint of `filterColumn`: class gradients → tap gradients (dw0, dw1, dw2).
    @inline(__always)
    static func filterColumnAdjoint(_ c: (Double, Double, Double, Double, Double, Double)) -> (Double, Double, Double) {
        (c.1 * 0.5 - c.2 / 6 + c.3 / 3 + c.4, c.5, c.0 * 0.5 + c.1 * 0.5 + c.2 / 6 + c.3 / 6)
    }

    /// `filterColumn` on eight filters at once.
    @inline(__always)
    static func filterColumn8(_ w0: Lanes, _ w1: Lanes, _ w2: Lanes) -> (Lanes, Lanes, Lanes, Lanes, Lanes, Lanes) {
        (w2 * 0.5, (w2 + w0) * 0.5, (w2 - w0) * Float(1.0 / 6), w2 * Float(1.0 / 6) + w0 * Float(1.0 / 3), w0, w1)
    }

    /// U[ξ][o][i] for weight [out, in, 3, 3] (conv layout: w[o][i][ky][kx] multiplies in[i] into
    /// out[o] at offset (ky, kx)); `u` holds 36·out·in floats. Eight filters per step in SIMD lanes
    /// (one vector store per class), a scalar double-precision path for the remainder.
    static func transformWeights(_ w: UnsafePointer<Float>, out: Int, in cin: Int, into u: UnsafeMutablePointer<Float>) {
        let plane = out * cin
        parallelFor(plane, minChunk: 1024) { range in
            var k = range.lowerBound
            withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 9) { t in
                while k + 8 <= range.upperBound {
                    for j in 0..<9 {
                        var v = Lanes()
                        for l in 0..<8 { v[l] = w[9 * (k + l) + j] }
                        t[j] = v
                    }
                    let c0 = filterColumn8(t[0], t[3], t[6]), c1 = filterColumn8(t[1], t[4], t[7]), c2 = filterColumn8(t[2], t[5], t[8])
                    func store(_ alpha: Int, _ a: Lanes, _ b: Lanes, _ c: Lanes) {
                        let r = filterColumn8(a, b, c)
                        let o = u + 6 * alpha * plane + k
                        storeLanes(r.0, o, 8); storeLanes(r.1, o + plane, 8); storeLanes(r.2, o + 2 * plane, 8)
                        storeLanes(r.3, o + 3 * plane, 8); storeLanes(r.4, o + 4 * plane, 8); storeLanes(r.5, o + 5 * plane, 8)
                    }
                    store(0, c0.0, c1.0, c2.0); store(1, c0.1, c1.1, c2.1); store(2, c0.2, c1.2, c2.2)
                    store(3, c0.3, c1.3, c2.3); store(4, c0.4, c1.4, c2.4); store(5, c0.5, c1.5, c2.5)
                    k += 8
                }
            }
            for k in k..<range.upperBound {
                let g = w + 9 * k
                func col(_ x: Int) -> (Double, Double, Double, Double, Double, Double) {
                    filterColumn(Double(g[x]), Double(g[3 + x]), Double(g[6 + x]))
                }
                let c0 = col(0), c1 = col(1), c2 = col(2)
                func store(_ alpha: Int, _ a: Double, _ b: Double, _ c: Double) {
                    let r = filterColumn(a, b, c)
                    let o = u + 6 * alpha * plane + k
                    o[0] = Float(r.0); o[plane] = Float(r.1); o[2 * plane] = Float(r.2)
                    o[3 * plane] = Float(r.3); o[4 * plane] = Float(r.4); o[5 * plane] = Float(r.5)
                }
                store(0, c0.0, c1.0, c2.0); store(1, c0.1, c1.1, c2.1); store(2, c0.2, c1.2, c2.2)
                store(3, c0.3, c1.3, c2.3); store(4, c0.4, c1.4, c2.4); store(5, c0.5, c1.5, c2.5)
            }
        }
    }

    /// dw = Gcᵀ dU Gc: reads dU [36][out][in], writes [out, in, 3, 3] into `gw`.
    static func transformWeightGradient(_ du: UnsafePointer<Float>, out: Int, in cin: Int, into gw: UnsafeMutablePointer<Float>) {
        let plane = out * cin
        parallelFor(plane, minChunk: 1024) { range in
            for k in range {
                func row(_ alpha: Int) -> (Double, Double, Double) {
                    let r = du + 6 * alpha * plane + k
                    return filterColumnAdjoint((Double(r[0]), Double(r[plane]), Double(r[2 * plane]),
                                                Double(r[3 * plane]), Double(r[4 * plane]), Double(r[5 * plane])))
                }
                let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3), r4 = row(4), r5 = row(5)
                let g = gw + 9 * k
                let x0 = filterColumnAdjoint((r0.0, r1.0, r2.0, r3.0, r4.0, r5.0))
                let x1 = filterColumnAdjoint((r0.1, r1.1, r2.1, r3.1, r4.1, r5.1))
                let x2 = filterColumnAdjoint((r0.2, r1.2, r2.2, r3.2, r4.2, r5.2))
                g[0] = Float(x0.0); g[3] = Float(x0.1); g[6] = Float(x0.2)
                g[1] = Float(x1.0); g[4] = Float(x1.1); g[7] = Float(x1.2)
                g[2] = Float(x2.0); g[5] = Float(x2.1); g[8] = Float(x2.2)
            }
        }
    }
}
