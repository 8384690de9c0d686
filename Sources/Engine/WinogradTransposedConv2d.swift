/// Stride-2, 3×3, unpadded transposed convolution (output 2H+1) by the polyphase Winograd scheme of
/// `WinogradPolyphase`: 81 products per 4×4 input tile instead of 144 multiply-adds, with optional
/// per-sample scales on the input and output channels (StyleGAN2's modulated upsampling conv).
///
/// Blocking, threading and the backward identities are those of `WinogradConv2d`; the differences are
/// the transforms and the GEMMs: the 81 points of a tile fall into 36 filter classes (1, 4 or 16 points
/// each), and all points of a class share one GEMM whose columns are the class's points × tiles.
/// Classes are spread over threads by their cost, each class on one thread: results do not depend on
/// the thread count.
struct WinogradTransposedConv2d {
    typealias P = WinogradPolyphase
    let batch: Int, channels: Int, height: Int, width: Int, outChannels: Int
    var outHeight: Int { 2 * height + 1 }
    var outWidth: Int { 2 * width + 1 }
    var tilesHigh: Int { height / 4 + 1 }
    var tilesWide: Int { width / 4 + 1 }
    var tilesPerImage: Int { tilesHigh * tilesWide }

    /// Thresholds and kernel copy (`ConvPlan`): fused kernel or GEMMs, block size. Whether the polyphase
    /// scheme runs at all is `ConvPlan.usesPolyphaseWinograd`.
    var plan = ConvPlan.machine

    /// Tiles per block (`ConvPlan.winogradTilesPerBlock`).
    var tilesPerBlock: Int { plan.winogradTilesPerBlock(points: P.points, channels: channels, outChannels: outChannels) }

    struct Block {
        let n: Int, t0: Int, count: Int
        let inScale: UnsafePointer<Float>?, outScale: UnsafePointer<Float>?
    }

    /// Where point p's column block for channel row `c` starts in a [classes][rows][points·tiles] buffer
    /// of a block with `count` tiles and `rows` channels: base[p] + c·rowLength[p].
    struct PointLayout {
        var base = [Int](repeating: 0, count: 81), rowLength = [Int](repeating: 0, count: 81)
        init(rows: Int, count: Int) {
            for a in 0..<9 {
                for b in 0..<9 {
                    let (xi, index) = P.pointClass(a, b)
                    base[9 * a + b] = P.classStart[xi] * rows * count + index * count
                    rowLength[9 * a + b] = P.multiplicity(xi) * count
                }
            }
        }
        /// Start of class ξ's [rows][multiplicity·count] matrix.
        static func classOffset(_ xi: Int, rows: Int, count: Int) -> Int { P.classStart[xi] * rows * count }
    }

    @inline(__always)
    func tileOrigin(_ t: Int) -> (y: Int, x: Int) {
        let ty = t / tilesWide
        return (4 * ty, 4 * (t - ty * tilesWide))
    }

    func forEachBlock(inScale: UnsafePointer<Float>?, outScale: UnsafePointer<Float>?, sampleDone: (Int) -> Void, _ body: (Block) -> Void) {
        let block = min(tilesPerImage, tilesPerBlock)
        for n in 0..<batch {
            for t0 in stride(from: 0, to: tilesPerImage, by: block) {
                body(Block(n: n, t0: t0, count: min(block, tilesPerImage - t0),
                           inScale: inScale.map { $0 + n * channels }, outScale: outScale.map { $0 + n * outChannels }))
            }
            sampleDone(n)
        }
    }

    /// Runs `body(ξ)` for the 36 classes, each on one thread, with threads balanced by class cost.
    func forEachClass(_ body: (Int) -> Void) {
        let workers = max(1, min(Threads.count, 36))
        var load = [Int](repeating: 0, count: workers), plan = [[Int]](repeating: [], count: workers)
        for xi in (0..<36).sorted(by: { P.multiplicity($0) > P.multiplicity($1) }) {
            let w = load.indices.min(by: { load[$0] < load[$1] })!
            plan[w].append(xi); load[w] += P.multiplicity(xi)
        }
        parallelFor(workers) { range in for w in range { for xi in plan[w] { body(xi) } } }
    }

    // MARK: Block steps

    /// V (point layout over input channels) = transformed 5×5 windows · inScale[c].
    func transformInputs(_ x: UnsafePointer<Float>, _ b: Block, layout: PointLayout, into v: UnsafeMutablePointer<Float>) {
        let cg = channels, count = b.count, H = height, W = width
        parallelFor(cg, minChunk: max(1, 256 / count)) { range in
            for c in range {
                let plane = x + (b.n * channels + c) * H * W, scale = b.inScale?[c] ?? 1
                forEachLaneGroup(count: count, vectors: 25 + 81) { i, lanes, d, floats in
                    let first = tileOrigin(b.t0 + i), last = tileOrigin(b.t0 + i + lanes - 1)
                    if lanes == 8, first.y == last.y, first.y >= 1, first.y + 4 <= H, first.x >= 1, last.x + 4 <= W {
                        gatherTiles(plane + (first.y - 1) * W + first.x - 1, rows: 5, cols: 5, rowStride: W, laneStride: 4, into: d)
                    } else {
                    for l in 0..<lanes {
                        let (y0, x0) = tileOrigin(b.t0 + i + l)
                        let iy = y0 - 1, ix = x0 - 1
                        if iy >= 0, ix >= 0, iy + 5 <= H, ix + 5 <= W {
                            let src = plane + iy * W + ix
                            for r in 0..<5 { for s in 0..<5 { floats[(5 * r + s) * 8 + l] = src[r * W + s] } }
                        } else {
                            for r in 0..<5 {
                                let yy = iy + r
                                for s in 0..<5 {
                                    let xx = ix + s
                                    floats[(5 * r + s) * 8 + l] = (yy >= 0 && yy < H && xx >= 0 && xx < W) ? plane[yy * W + xx] : 0
                                }
                            }
                        }
                    }
                    }
                    P.transformInput(UnsafePointer(d), into: d + 25)
                    for p in 0..<81 { storeLanes(d[25 + p] * scale, v + layout.base[p] + c * layout.rowLength[p] + i, lanes) }
                }
            }
        }
    }

    /// dM (point layout over output channels) from the 8×8 output-gradient tiles (zero outside the output).
    func transformOutputGradients(_ gy: UnsafePointer<Float>, _ b: Block, layout: PointLayout, into m: UnsafeMutablePointer<Float>) {
        let count = b.count, Ho = outHeight, Wo = outWidth
        parallelFor(outChannels, minChunk: max(1, 256 / count)) { range in
            for o in range {
                let plane = gy + (b.n * outChannels + o) * Ho * Wo
                forEachLaneGroup(count: count, vectors: 64 + 81) { i, lanes, d, floats in
                    let first = tileOrigin(b.t0 + i), last = tileOrigin(b.t0 + i + lanes - 1)
                    if lanes == 8, first.y == last.y, 2 * first.y + 8 <= Ho, 2 * last.x + 8 <= Wo {
                        gatherTiles(plane + 2 * first.y * Wo + 2 * first.x, rows: 8, cols: 8, rowStride: Wo, laneStride: 8, into: d)
                    } else {
                    for l in 0..<lanes {
                        let (y0, x0) = tileOrigin(b.t0 + i + l)
                        let oy = 2 * y0, ox = 2 * x0
                        if oy + 8 <= Ho, ox + 8 <= Wo {
                            let src = plane + oy * Wo + ox
                            for r in 0..<8 { for s in 0..<8 { floats[(8 * r + s) * 8 + l] = src[r * Wo + s] } }
                        } else {
                            for r in 0..<8 {
                                for s in 0..<8 {
                                    floats[(8 * r + s) * 8 + l] = (oy + r < Ho && ox + s < Wo) ? plane[(oy + r) * Wo + ox + s] : 0
                                }
                            }
                        }
                    }
                    }
                    P.transformOutputAdjoint(UnsafePointer(d), into: d + 64)
                    for p in 0..<81 { storeLanes(d[64 + p], m + layout.base[p] + o * layout.rowLength[p] + i, lanes) }
                }
            }
        }
    }

    /// out = outScale[o] · (8×8 output transform of M), valid part only.
    func transformOutputs(_ m: UnsafePointer<Float>, _ b: Block, layout: PointLayout, into y: UnsafeMutablePointer<Float>) {
        let count = b.count, Ho = outHeight, Wo = outWidth
        parallelFor(outChannels, minChunk: max(1, 256 / count)) { range in
            for o in range {
                let plane = y + (b.n * outChannels + o) * Ho * Wo, scale = b.outScale?[o] ?? 1
                forEachLaneGroup(count: count, vectors: 81 + 64) { i, lanes, d, floats in
                    for p in 0..<81 { d[p] = loadLanes(m + layout.base[p] + o * layout.rowLength[p] + i, lanes) }
                    P.transformOutput(UnsafePointer(d), into: d + 81)
                    if scale != 1 { for k in 81..<145 { d[k] *= scale } }
                    let tile = floats + 81 * 8
                    let first = tileOrigin(b.t0 + i), last = tileOrigin(b.t0 + i + lanes - 1)
                    if lanes == 8, first.y == last.y, 2 * first.y + 8 <= Ho, 2 * last.x + 8 <= Wo {
                        scatterTiles(UnsafePointer(d + 81), rows: 8, cols: 8, rowStride: Wo, laneStride: 8,
                                     into: plane + 2 * first.y * Wo + 2 * first.x)
                        return
                    }
                    for l in 0..<lanes {
                        let (y0, x0) = tileOrigin(b.t0 + i + l)
                        let oy = 2 * y0, ox = 2 * x0
                        for r in 0..<min(8, Ho - oy) {
                            let dst = plane + (oy + r) * Wo + ox
                            for s in 0..<min(8, Wo - ox) { dst[s] = tile[(8 * r + s) * 8 + l] }
                        }
                    }
                }
            }
        }
    }

    /// Adds inScale·(window gradient) into gx and Σ x·(window gradient) into gScale, tiles in order.
    func scatterInputGradients(_ v: UnsafePointer<Float>, _ b: Block, layout: PointLayout, x: UnsafePointer<Float>,
                               into gx: UnsafeMutablePointer<Float>?, scaleGradient gScale: UnsafeMutablePointer<Float>?) {
        let count = b.count, H = height, W = width
        parallelFor(channels, minChunk: max(1, 256 / count)) { range in
            for c in range {
                let offset = (b.n * channels + c) * H * W, scale = b.inScale?[c] ?? 1
                var dot = 0.0
                forEachLaneGroup(count: count, vectors: 81 + 25) { i, lanes, d, floats in
                    for p in 0..<81 { d[p] = loadLanes(v + layout.base[p] + c * layout.rowLength[p] + i, lanes) }
                    P.transformInputAdjoint(UnsafePointer(d), into: d + 81)
                    let window = floats + 81 * 8
                    for l in 0..<lanes {
                        let (y0, x0) = tileOrigin(b.t0 + i + l)
                        let iy = y0 - 1, ix = x0 - 1
                        let s0 = max(0, -ix), s1 = min(5, W - ix)
                        for r in max(0, -iy)..<min(5, H - iy) {
                            let row = offset + (iy + r) * W + ix
                            if let gx { for s in s0..<s1 { gx[row + s] += scale * window[(5 * r + s) * 8 + l] } }
                            if gScale != nil {
                                var part: Float = 0
                                for s in s0..<s1 { part += x[row + s] * window[(5 * r + s) * 8 + l] }
                                dot += Double(part)
                            }
                        }
                    }
                }
                if let gScale { gScale[c] += Float(dot) }
            }
        }
    }

    // MARK: Fused kernel (few channels)

    /// Whether the forward runs in the fused C kernel (`FusedPolyphaseConvTranspose2d`).
    var usesFusedKernel: Bool { plan.usesFusedPolyphase(channels: channels, outChannels: outChannels) }

    var fused: FusedPolyphaseConvTranspose2d {
        FusedPolyphaseConvTranspose2d(batch: batch, channels: channels, height: height, width: width, outChannels: outChannels, plan: plan)
    }

    // MARK: Passes

    /// out [N, O, 2H+1, 2W+1] = outScale · convTranspose(x · inScale, weight), weight [O, C, 3, 3].
    func forward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, inScale: UnsafePointer<Float>?,
                 outScale: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>) {
        if usesFusedKernel {
            let u = FusedPolyphaseConvTranspose2d.filters(weight, out: outChannels, in: channels)
            fused.run(x: x, u: u.pointer, inScale: inScale, outScale: outScale, y: out)
            return
        }
        let cg = channels, og = outChannels, block = min(tilesPerImage, tilesPerBlock)
        let u = TensorStorage(uninitializedCount: 36 * og * cg)
        let v = TensorStorage(uninitializedCount: P.points * cg * block)
        let m = TensorStorage(uninitializedCount: P.points * og * block)
        P.transformWeights(weight, out: og, in: cg, into: u.pointer)
        forEachBlock(inScale: inScale, outScale: outScale, sampleDone: { _ in }) { b in
            let inLayout = PointLayout(rows: cg, count: b.count), outLayout = PointLayout(rows: og, count: b.count)
            transformInputs(x, b, layout: inLayout, into: v.pointer)
            forEachClass { xi in
                let columns = P.multiplicity(xi) * b.count
                sgemmSerial(m: og, n: columns, k: cg, a: u.pointer + xi * og * cg,
                            b: v.pointer + PointLayout.classOffset(xi, rows: cg, count: b.count),
                            c: m.pointer + PointLayout.classOffset(xi, rows: og, count: b.count))
            }
            transformOutputs(m.pointer, b, layout: outLayout, into: out)
        }
    }

    /// Backward of `forward` (see `WinogradConv2d.backward` for the identities used); the input side uses
    /// the fused kernel whenever the forward does.
    func backward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, gy: UnsafePointer<Float>,
                  inScale: UnsafePointer<Float>?, outScale: UnsafePointer<Float>?, into grads: WinogradGradients) {
        precondition(grads.outScale == nil || outScale != nil, "internal: out-scale gradient without out-scales")
        let route = WinogradRoute(grads, fusedInput: usesFusedKernel, fusedFilter: usesFusedKernel)
        if route.input == .fused {
            let ua = FusedPolyphaseConvTranspose2d.filters(weight, out: outChannels, in: channels, adjoint: true)
            fused.inputGradients(gy: gy, u: ua.pointer, x: x, inScale: inScale, outScale: outScale,
                                 gx: grads.x, scaleGradient: grads.inScale)
        }
        if route.filter == .fused {
            fusedFilterGradients(x: x, weight: weight, gy: gy, inScale: inScale, outScale: outScale, into: grads)
        }
        if route.input == .gemm || route.filter == .gemm {
            gemmBackward(x: x, weight: weight, gy: gy, inScale: inScale, outScale: outScale, into: grads,
                         input: route.input == .gemm, filter: route.filter == .gemm)
        }
    }

    /// The GEMM path's share of `backward`: the input side when `input`, the filter side when `filter`.
    private func gemmBackward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, gy: UnsafePointer<Float>,
                              inScale: UnsafePointer<Float>?, outScale: UnsafePointer<Float>?, into grads: WinogradGradients,
                              input wantsInput: Bool, filter gemmProducts: Bool) {
        let cg = channels, og = outChannels, block = min(tilesPerImage, tilesPerBlock), plane = 36 * og * cg
        let u = TensorStorage(uninitializedCount: wantsInput || (gemmProducts && grads.outScale != nil) ? plane : 0)
        let du = TensorStorage(uninitializedCount: gemmProducts && grads.weight != nil ? plane : 0)
        let dun = TensorStorage(uninitializedCount: gemmProducts && outScale != nil ? plane : 0)
        let v = TensorStorage(uninitializedCount: P.points * cg * block)
        let m = TensorStorage(uninitializedCount: P.points * og * block)
        if u.count > 0 { P.transformWeights(weight, out: og, in: cg, into: u.pointer) }
        if wantsInput, let gs = grads.inScale { gs.initialize(repeating: 0, count: batch * channels) }
        forEachBlock(inScale: inScale, outScale: outScale, sampleDone: { n in
            guard dun.count > 0, let outScale else { return }
            addSampleFilterGradients(u: u.pointer, dun: dun.pointer, out: og, in: cg, outScale: outScale + n * outChannels,
                                     outScaleGradient: grads.outScale.map { $0 + n * outChannels },
                                     weightGradientSum: grads.weight != nil ? du.pointer : nil, first: n == 0)
        }) { b in
            let inLayout = PointLayout(rows: cg, count: b.count), outLayout = PointLayout(rows: og, count: b.count)
            transformOutputGradients(gy, b, layout: outLayout, into: m.pointer)
            if gemmProducts {
                let (target, first) = dun.count > 0 ? (dun.pointer, b.t0 == 0) : (du.pointer, b.t0 == 0 && b.n == 0)
                transformInputs(x, b, layout: inLayout, into: v.pointer)
                forEachClass { xi in
                    let columns = P.multiplicity(xi) * b.count
                    sgemmSerial(transB: true, m: og, n: cg, k: columns,
                                a: m.pointer + PointLayout.classOffset(xi, rows: og, count: b.count),
                                b: v.pointer + PointLayout.classOffset(xi, rows: cg, count: b.count),
                                beta: first ? 0 : 1, c: target + xi * og * cg)
                }
            }
            if wantsInput {
                if let d = b.outScale {
                    parallelFor(og, minChunk: 16) { range in
                        for o in range {
                            for p in 0..<81 {
                                let row = m.pointer + outLayout.base[p] + o * outLayout.rowLength[p]
                                for i in 0..<b.count { row[i] *= d[o] }
                            }
                        }
                    }
                }
                forEachClass { xi in
                    let columns = P.multiplicity(xi) * b.count
                    sgemmSerial(transA: true, m: cg, n: columns, k: og, a: u.pointer + xi * og * cg,
                                b: m.pointer + PointLayout.classOffset(xi, rows: og, count: b.count),
                                c: v.pointer + PointLayout.classOffset(xi, rows: cg, count: b.count))
                }
                scatterInputGradients(v.pointer, b, layout: inLayout, x: x, into: grads.x,
                                      scaleGradient: grads.inScale.map { $0 + b.n * channels })
            }
        }
        if gemmProducts, let gw = grads.weight { P.transformWeightGradient(du.pointer, out: og, in: cg, into: gw) }
    }

    /// Weight and out-scale gradients by the fused kernel (`FusedPolyphaseConvTranspose2d.sampleFilterGradient`),
    /// one sample at a time, then the GEMM path's per-sample steps.
    func fusedFilterGradients(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, gy: UnsafePointer<Float>,
                              inScale: UnsafePointer<Float>?, outScale: UnsafePointer<Float>?, into grads: WinogradGradients) {
        let plane = 36 * outChannels * channels, f = fused
        let u = TensorStorage(uninitializedCount: grads.outScale != nil ? plane : 0)
        if grads.outScale != nil { P.transformWeights(weight, out: outChannels, in: channels, into: u.pointer) }
        let du = TensorStorage(uninitializedCount: grads.weight != nil ? plane : 0)
        let dun = TensorStorage(uninitializedCount: plane)
        let partials = TensorStorage(uninitializedCount: f.filterGradientPartialFloats)
        for n in 0..<batch {
            f.sampleFilterGradient(n: n, x: x, gy: gy, inScale: inScale, partials: partials.pointer, into: dun.pointer)
            addSampleFilterGradients(u: u.pointer, dun: dun.pointer, out: outChannels, in: channels,
                                     outScale: outScale.map { $0 + n * outChannels },
                                     outScaleGradient: grads.outScale.map { $0 + n * outChannels },
                                     weightGradientSum: grads.weight != nil ? du.pointer : nil, first: n == 0)
        }
        if let gw = grads.weight { P.transformWeightGradient(du.pointer, out: outChannels, in: channels, into: gw) }
    }
}
