/// 3×3 stride-1 `conv2d` by Winograd F(4×4, 3×3): a quarter of the multiplies of im2col + GEMM.
///
/// The output is cut into 4×4 tiles; each reads a 6×6 input window. Per weight-sharing "job" (all samples
/// when groups = 1, so their tiles share each GEMM; one sample and group otherwise) the filters are
/// transformed once, then tiles are processed in blocks small enough to stay in cache:
///   1. input transform V[ξ][c][t] = (Bᵀ d B)_ξ        — parallel over channels,
///   2. 36 GEMMs M[ξ] = U[ξ]·V[ξ]                      — parallel over ξ, one OpenBLAS call each,
///   3. output transform Y = Aᵀ M A (+ bias)            — parallel over output channels.
/// The backward passes are the exact adjoints (see `WinogradF43`), blocked the same way. No step
/// depends on the thread count, so results are identical for any number of threads.
///
/// Rounding differs from direct convolution by a few units in the 6th digit (the transforms scale
/// values by up to ~100 before cancelling): measured against PyTorch in `ConvFixtureTests`.
struct WinogradConv2d {
    let batch: Int, channels: Int, height: Int, width: Int, outChannels: Int, groups: Int, padding: Int
    var groupChannels: Int { channels / groups }
    var groupOutChannels: Int { outChannels / groups }
    var outHeight: Int { height + 2 * padding - 2 }
    var outWidth: Int { width + 2 * padding - 2 }
    var tilesHigh: Int { (outHeight + 3) / 4 }
    var tilesWide: Int { (outWidth + 3) / 4 }
    var tilesPerImage: Int { tilesHigh * tilesWide }
    /// Thresholds and kernel copy (`ConvPlan`): fused kernel or GEMMs, block size. Whether Winograd
    /// runs at all is `ConvPlan.usesWinograd`.
    var plan = ConvPlan.machine

    /// Transformed tiles per block (`ConvPlan.winogradTilesPerBlock`).
    var tilesPerBlock: Int {
        plan.winogradTilesPerBlock(points: WinogradF43.points, channels: groupChannels, outChannels: groupOutChannels)
    }

    // MARK: Tile addressing

    /// One block of tiles of one sample and group; the per-sample scales of the modulated form.
    struct Block {
        let n: Int, g: Int, t0: Int, count: Int
        let inScale: UnsafePointer<Float>?, outScale: UnsafePointer<Float>?
    }

    /// Top-left output pixel of tile `t` of an image.
    @inline(__always)
    func tileOrigin(_ t: Int) -> (y: Int, x: Int) {
        let ty = t / tilesWide
        return (4 * ty, 4 * (t - ty * tilesWide))
    }

    /// Calls `body` for every block, groups outer (their transformed filters are made once per group),
    /// then samples, then tiles. `groupDone(g)` runs after the last block of group g.
    func forEachBlock(inScale: UnsafePointer<Float>?, outScale: UnsafePointer<Float>?,
                      groupStart: (Int) -> Void, sampleDone: (Int, Int) -> Void, groupDone: (Int) -> Void,
                      _ body: (Block) -> Void) {
        let block = min(tilesPerImage, tilesPerBlock)
        for g in 0..<groups {
            groupStart(g)
            for n in 0..<batch {
                for t0 in stride(from: 0, to: tilesPerImage, by: block) {
                    body(Block(n: n, g: g, t0: t0, count: min(block, tilesPerImage - t0),
                               inScale: inScale.map { $0 + n * channels + g * groupChannels },
                               outScale: outScale.map { $0 + n * outChannels + g * groupOutChannels }))
                }
                sampleDone(n, g)
            }
            groupDone(g)
        }
    }

    @inline(__always)
    func inputOffset(_ b: Block, channel c: Int) -> Int {
        ((b.n * channels + b.g * groupChannels + c) * height) * width
    }

    @inline(__always)
    func outputOffset(_ b: Block, channel o: Int) -> Int {
        ((b.n * outChannels + b.g * groupOutChannels + o) * outHeight) * outWidth
    }

    // MARK: Block steps (eight tiles at a time, one per SIMD lane; `lanes` < 8 only for a block's last group)

    typealias Lanes = WinogradF43.Lanes

    /// V[ξ][c][t - t0] = (Bᵀ d B)_ξ · inScale[c] for the block's tiles.
    func transformInputs(_ x: UnsafePointer<Float>, _ b: Block, into v: UnsafeMutablePointer<Float>) {
        let cg = groupChannels, count = b.count, stride = cg * count, H = height, W = width, p = padding
        parallelFor(cg, minChunk: max(1, 256 / count)) { range in
            for c in range {
                let plane = x + inputOffset(b, channel: c), scale = b.inScale?[c] ?? 1
                forEachLaneGroup(count: count, vectors: 52) { i, lanes, d, floats in
                    let first = tileOrigin(b.t0 + i), last = tileOrigin(b.t0 + i + lanes - 1)
                    if lanes == 8, first.y == last.y, first.y - p >= 0, first.y - p + 6 <= H, first.x - p >= 0, last.x - p + 6 <= W {
                        gatherTiles(plane + (first.y - p) * W + first.x - p, rows: 6, cols: 6, rowStride: W, laneStride: 4, into: d)
                    } else {
                    for l in 0..<lanes {
                        let (oy, ox) = tileOrigin(b.t0 + i + l)
                        let iy = oy - p, ix = ox - p
                        if iy >= 0, ix >= 0, iy + 6 <= H, ix + 6 <= W {
                            let src = plane + iy * W + ix
                            for r in 0..<6 { for s in 0..<6 { floats[(6 * r + s) * 8 + l] = src[r * W + s] } }
                        } else {
                            for r in 0..<6 {
                                let y = iy + r
                                for s in 0..<6 {
                                    let xx = ix + s
                                    floats[(6 * r + s) * 8 + l] = (y >= 0 && y < H && xx >= 0 && xx < W) ? plane[y * W + xx] : 0
                                }
                            }
                        }
                    }
                    }
                    WinogradF43.transformInput(d)
                    let dst = v + c * count + i
                    for xi in 0..<36 { storeLanes(d[xi] * scale, dst + xi * stride, lanes) }
                }
            }
        }
    }

    /// dM[ξ][o][t - t0] = (A dY Aᵀ)_ξ for the block's tiles (dY is zero outside the output).
    func transformOutputGradients(_ gy: UnsafePointer<Float>, _ b: Block, into m: UnsafeMutablePointer<Float>) {
        let og = groupOutChannels, count = b.count, stride = og * count, Ho = outHeight, Wo = outWidth
        parallelFor(og, minChunk: max(1, 256 / count)) { range in
            for o in range {
                let plane = gy + outputOffset(b, channel: o)
                forEachLaneGroup(count: count, vectors: 52) { i, lanes, d, floats in
                    let tile = floats + 36 * 8 // the 16 vectors after the 36
                    let first = tileOrigin(b.t0 + i), last = tileOrigin(b.t0 + i + lanes - 1)
                    if lanes == 8, first.y == last.y, first.y + 4 <= Ho, last.x + 4 <= Wo {
                        gatherTiles(plane + first.y * Wo + first.x, rows: 4, cols: 4, rowStride: Wo, laneStride: 4, into: d + 36)
                    } else {
                    for l in 0..<lanes {
                        let (oy, ox) = tileOrigin(b.t0 + i + l)
                        if oy + 4 <= Ho, ox + 4 <= Wo {
                            let src = plane + oy * Wo + ox
                            for r in 0..<4 { for s in 0..<4 { tile[(4 * r + s) * 8 + l] = src[r * Wo + s] } }
                        } else {
                            for r in 0..<4 {
                                for s in 0..<4 {
                                    tile[(4 * r + s) * 8 + l] = (oy + r < Ho && ox + s < Wo) ? plane[(oy + r) * Wo + ox + s] : 0
                                }
                            }
                        }
                    }
                    }
                    WinogradF43.transformOutputAdjoint(UnsafePointer(d + 36), into: d)
                    let dst = m + o * count + i
                    for xi in 0..<36 { storeLanes(d[xi], dst + xi * stride, lanes) }
                }
            }
        }
    }

    /// Y = outScale[o] · Aᵀ M A (+ bias) written into the valid part of each output tile.
    func transformOutputs(_ m: UnsafePointer<Float>, bias: UnsafePointer<Float>?, _ b: Block, into y: UnsafeMutablePointer<Float>) {
        let og = groupOutChannels, count = b.count, stride = og * count, Ho = outHeight, Wo = outWidth
        parallelFor(og, minChunk: max(1, 256 / count)) { range in
            for o in range {
                let shift = bias.map { $0[b.g * og + o] } ?? 0, scale = b.outScale?[o] ?? 1
                let plane = y + outputOffset(b, channel: o)
                forEachLaneGroup(count: count, vectors: 52) { i, lanes, d, floats in
                    let src = m + o * count + i
                    for xi in 0..<36 { d[xi] = loadLanes(src + xi * stride, lanes) }
                    WinogradF43.transformOutput(d, into: d + 36)
                    for k in 36..<52 { d[k] = d[k] * scale + shift }
                    let tile = floats + 36 * 8
                    let first = tileOrigin(b.t0 + i), last = tileOrigin(b.t0 + i + lanes - 1)
                    if lanes == 8, first.y == last.y, first.y + 4 <= Ho, last.x + 4 <= Wo {
                        scatterTiles(UnsafePointer(d + 36), rows: 4, cols: 4, rowStride: Wo, laneStride: 4, into: plane + first.y * Wo + first.x)
                        return
                    }
                    for l in 0..<lanes {
                        let (oy, ox) = tileOrigin(b.t0 + i + l)
                        let rows = min(4, Ho - oy), cols = min(4, Wo - ox)
                        for r in 0..<rows {
                            let dst = plane + (oy + r) * Wo + ox
                            for s in 0..<cols { dst[s] = tile[(4 * r + s) * 8 + l] }
                        }
                    }
                }
            }
        }
    }

    /// For every tile, dd = B dV Bᵀ is the gradient w.r.t. its (scaled) input window: adds inScale·dd into
    /// `gx` and Σ x·dd into `gScale[c]`. One thread per channel range, tiles in order: overlapping windows
    /// are summed in a fixed order.
    func scatterInputGradients(_ v: UnsafePointer<Float>, _ b: Block, x: UnsafePointer<Float>,
                               into gx: UnsafeMutablePointer<Float>?, scaleGradient gScale: UnsafeMutablePointer<Float>?) {
        let cg = groupChannels, count = b.count, stride = cg * count, H = height, W = width, p = padding
        parallelFor(cg, minChunk: max(1, 256 / count)) { range in
            for c in range {
                let offset = inputOffset(b, channel: c), scale = b.inScale?[c] ?? 1
                var dot = 0.0
                forEachLaneGroup(count: count, vectors: 52) { i, lanes, d, floats in
                    let src = v + c * count + i
                    for xi in 0..<36 { d[xi] = loadLanes(src + xi * stride, lanes) }
                    WinogradF43.transformInputAdjoint(d)
                    for l in 0..<lanes {
                        let (oy, ox) = tileOrigin(b.t0 + i + l)
                        let iy = oy - p, ix = ox - p
                        let s0 = max(0, -ix), s1 = min(6, W - ix)
                        for r in max(0, -iy)..<min(6, H - iy) {
                            let row = (iy + r) * W + ix
                            if let gx {
                                let dst = gx + offset + row
                                for s in s0..<s1 { dst[s] += scale * floats[(6 * r + s) * 8 + l] }
                            }
                            if gScale != nil {
                                let xs = x + offset + row
                                var part: Float = 0
                                for s in s0..<s1 { part += xs[s] * floats[(6 * r + s) * 8 + l] }
                                dot += Double(part)
                            }
                        }
                    }
                }
                if let gScale { gScale[c] += Float(dot) }
            }
        }
    }

    /// The 36 products of one block, one OpenBLAS call per transform point, spread over the threads.
    func pointwiseProducts(_ body: (Int) -> Void) {
        parallelFor(WinogradF43.points) { range in for xi in range { body(xi) } }
    }

    // MARK: Fused kernel (few channels, groups = 1)

    /// Whether the forward runs in the fused C kernel (`FusedWinogradConv2d`).
    var usesFusedKernel: Bool { plan.usesFusedWinograd(channels: channels, outChannels: outChannels, groups: groups) }

    /// Whether the backward's input and in-scale gradients do: their conv has padding 2 - p.
    var usesFusedInputGradient: Bool { usesFusedKernel && padding <= 2 }

    var fused: FusedWinogradConv2d {
        FusedWinogradConv2d(batch: batch, channels: channels, height: height, width: width, outChannels: outChannels, padding: padding,
                            plan: plan)
    }

    /// dX = inScale ⊙ conv(outScale ⊙ dY, W') with W'[c][o] = W[o][c] rotated 180°, padding 2 - p: a 3×3
    /// stride-1 conv again, mapping [N, O, Ho, Wo] back to [N, C, H, W]. Adds into `gx` (or writes it,
    /// `accumulate` false: the adjoint conv's tiles cover every input pixel once); writes
    /// gScale[n, c] = Σ_pixels x[n, c]·conv(outScale ⊙ dY, W')[n, c].
    func fusedInputGradients(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, gy: UnsafePointer<Float>,
                             inScale: UnsafePointer<Float>?, outScale: UnsafePointer<Float>?,
                             into gx: UnsafeMutablePointer<Float>?, accumulate: Bool,
                             scaleGradient gScale: UnsafeMutablePointer<Float>?) {
        let u = FusedWinogradConv2d.filters(weight, out: outChannels, in: channels, flipped: true)
        let adjoint = FusedWinogradConv2d(batch: batch, channels: outChannels, height: outHeight, width: outWidth,
                                          outChannels: channels, padding: 2 - padding, plan: plan)
        precondition(adjoint.outHeight == height && adjoint.outWidth == width, "internal: fused Winograd adjoint geometry")
        adjoint.run(x: gy, u: u.pointer, inScale: outScale, outScale: inScale, bias: nil, y: gx, accumulate: accumulate,
                    dotWith: gScale != nil ? x : nil, dots: gScale)
    }

    /// The weight and out-scale gradients in the fused kernel: per sample dU_n
    /// (`FusedWinogradConv2d.sampleFilterGradient`), folded into the sums by `addSampleFilterGradients`,
    /// then dW = Gᵀ (Σ_n outScale[n]·dU_n) G.
    func fusedFilterGradients(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, gy: UnsafePointer<Float>,
                              inScale: UnsafePointer<Float>?, outScale: UnsafePointer<Float>?, into grads: WinogradGradients) {
        let plane = WinogradF43.points * outChannels * channels, f = fused
        let u = TensorStorage(uninitializedCount: grads.outScale != nil ? plane : 0)
        if grads.outScale != nil { WinogradF43.transformWeights(weight, out: outChannels, in: channels, into: u.pointer) }
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
        if let gw = grads.weight {
            WinogradF43.transformWeightGradient(du.pointer, out: outChannels, in: channels, into: gw, accumulate: false)
        }
    }

    // MARK: Passes

    /// out[n, o] = outScale[n, o] · conv2d(x[n] · inScale[n], weight)[o] (+ bias[o]), scales [N, C] and
    /// [N, O] optional (groups = 1 with scales: the activation form of a modulated conv).
    /// `out` [N, O, Ho, Wo] is fully overwritten.
    func forward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                 inScale: UnsafePointer<Float>? = nil, outScale: UnsafePointer<Float>? = nil, out: UnsafeMutablePointer<Float>) {
        if usesFusedKernel {
            let u = FusedWinogradConv2d.filters(weight, out: outChannels, in: channels, flipped: false)
            fused.run(x: x, u: u.pointer, inScale: inScale, outScale: outScale, bias: bias, y: out, accumulate: false)
            return
        }
        let cg = groupChannels, og = groupOutChannels, P = WinogradF43.points, block = min(tilesPerImage, tilesPerBlock)
        let u = TensorStorage(uninitializedCount: P * og * cg)
        let v = TensorStorage(uninitializedCount: P * cg * block)
        let m = TensorStorage(uninitializedCount: P * og * block)
        forEachBlock(inScale: inScale, outScale: outScale, groupStart: { g in
            WinogradF43.transformWeights(weight + g * og * cg * 9, out: og, in: cg, into: u.pointer)
        }, sampleDone: { _, _ in }, groupDone: { _ in }) { b in
            transformInputs(x, b, into: v.pointer)
            pointwiseProducts { xi in
                sgemmSerial(m: og, n: b.count, k: cg, a: u.pointer + xi * og * cg, b: v.pointer + xi * cg * b.count,
                            c: m.pointer + xi * og * b.count)
            }
            transformOutputs(m.pointer, bias: bias, b, into: out)
        }
    }

    /// Backward of `forward` for the output gradient `gy`.
    ///
    /// Per sample, dU_n = Σ_tiles dM V_nᵀ with the unscaled dM = A dY Aᵀ gives both the weight gradient
    /// (Σ_n outScale[n, o]·dU_n through Gᵀ·G) and the out-scale gradient Σ_pixels y_pre·dY =
    /// Σ_{ξ,i} U ⊙ dU_n (the adjoint identity, so no pre-scale output needs to be kept).
    /// The input side (x, in-scale) and the filter side (weight, out-scale) each run fused or on the
    /// GEMMs as `WinogradRoute` says; the GEMM sides share one pass over the blocks.
    func backward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, gy: UnsafePointer<Float>,
                  inScale: UnsafePointer<Float>? = nil, outScale: UnsafePointer<Float>? = nil, into grads: WinogradGradients) {
        precondition(grads.outScale == nil || outScale != nil, "internal: out-scale gradient without out-scales")
        let route = WinogradRoute(grads, fusedInput: usesFusedInputGradient, fusedFilter: usesFusedKernel)
        if route.input == .fused {
            fusedInputGradients(x: x, weight: weight, gy: gy, inScale: inScale, outScale: outScale,
                                into: grads.x, accumulate: grads.xZeroed, scaleGradient: grads.inScale)
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
                              input: Bool, filter: Bool) {
        let cg = groupChannels, og = groupOutChannels, P = WinogradF43.points, block = min(tilesPerImage, tilesPerBlock)
        let plane = P * og * cg
        if input, let gx = grads.x, !grads.xZeroed {
            gx.initialize(repeating: 0, count: batch * channels * height * width) // the GEMM path adds into it
        }
        if input, let gs = grads.inScale { gs.initialize(repeating: 0, count: batch * channels) }
        let u = TensorStorage(uninitializedCount: input || (filter && grads.outScale != nil) ? plane : 0)
        let du = TensorStorage(uninitializedCount: filter && grads.weight != nil ? plane : 0) // Σ_n (scaled) dU_n
        let dun = TensorStorage(uninitializedCount: filter && outScale != nil ? plane : 0)    // one sample's dU_n
        let v = TensorStorage(uninitializedCount: P * cg * block)
        let m = TensorStorage(uninitializedCount: P * og * block)
        forEachBlock(inScale: inScale, outScale: outScale, groupStart: { g in
            if u.count > 0 { WinogradF43.transformWeights(weight + g * og * cg * 9, out: og, in: cg, into: u.pointer) }
        }, sampleDone: { n, g in
            guard dun.count > 0, let outScale else { return }
            addSampleFilterGradients(u: u.pointer, dun: dun.pointer, out: og, in: cg, outScale: outScale + n * outChannels + g * og,
                                     outScaleGradient: grads.outScale.map { $0 + n * outChannels + g * og },
                                     weightGradientSum: grads.weight != nil ? du.pointer : nil, first: n == 0)
        }, groupDone: { g in
            if filter, let gw = grads.weight {
                WinogradF43.transformWeightGradient(du.pointer, out: og, in: cg, into: gw + g * og * cg * 9, accumulate: false)
            }
        }) { b in
            transformOutputGradients(gy, b, into: m.pointer)
            if filter {
                // dU (+)= dM·Vᵀ per ξ: into this sample's dU_n when there are output scales, else straight
                // into the sum over samples.
                let (target, first) = dun.count > 0 ? (dun.pointer, b.t0 == 0) : (du.pointer, b.t0 == 0 && b.n == 0)
                transformInputs(x, b, into: v.pointer)
                pointwiseProducts { xi in
                    sgemmSerial(transB: true, m: og, n: cg, k: b.count, a: m.pointer + xi * og * b.count,
                                b: v.pointer + xi * cg * b.count, beta: first ? 0 : 1, c: target + xi * og * cg)
                }
            }
            if input {
                if let d = b.outScale {
                    let count = b.count
                    parallelFor(og, minChunk: max(1, 256 / count)) { range in
                        for o in range {
                            for xi in 0..<P {
                                let row = m.pointer + (xi * og + o) * count
                                for i in 0..<count { row[i] *= d[o] }
                            }
                        }
                    }
                }
                // dV[ξ] = U[ξ]ᵀ·dM[ξ] (reusing V's buffer), then back to the input windows.
                pointwiseProducts { xi in
                    sgemmSerial(transA: true, m: cg, n: b.count, k: og, a: u.pointer + xi * og * cg,
                                b: m.pointer + xi * og * b.count, c: v.pointer + xi * cg * b.count)
                }
                scatterInputGradients(v.pointer, b, x: x, into: grads.x,
                                      scaleGradient: grads.inScale.map { $0 + b.n * channels + b.g * cg })
            }
        }
    }
}

/// Where the two sides of a Winograd backward run: the input side (x and in-scale gradients) and the
/// filter side (weight and out-scale gradients), each not at all (no gradient wanted), in the fused C
/// kernel, or on the GEMM path. Decided once per backward from the plan's choices and the gradients wanted
/// (shared by `WinogradConv2d` and `WinogradTransposedConv2d`).
struct WinogradRoute {
    enum Side: Equatable { case none, fused, gemm }
    let input: Side, filter: Side

    init(_ grads: WinogradGradients, fusedInput: Bool, fusedFilter: Bool) {
        let wantsInput = grads.x != nil || grads.inScale != nil
        let wantsFilter = grads.weight != nil || grads.outScale != nil
        input = !wantsInput ? .none : (fusedInput ? .fused : .gemm)
        filter = !wantsFilter ? .none : (fusedFilter ? .fused : .gemm)
    }
}

/// Gradients wanted from a Winograd backward pass, each optional: input, weight (overwritten), and the
/// per-sample in/out scales (overwritten). The input gradient is added into `x` when `xZeroed` (the
/// caller zeroed it, or wants the sum), else overwritten: the fused input-gradient kernel writes every
/// pixel once, so callers that allocate it for this pass alone can skip the zeroing pass.
struct WinogradGradients {
    var x: UnsafeMutablePointer<Float>? = nil
    var weight: UnsafeMutablePointer<Float>? = nil
    var inScale: UnsafeMutablePointer<Float>? = nil
    var outScale: UnsafeMutablePointer<Float>? = nil
    /// Whether `x` holds zeros (or values to add to) on entry; false: its contents are ignored.
    var xZeroed = true
}

/// One sample's share of the filter gradients in a Winograd backward. `dun` holds the sample's
/// unscaled dU_n [36][out][in]; adds Σ_o d[o]·dU_n[·][o][·] (d = 1 when `outScale` is nil) into the
/// weight-gradient sum `du` (overwriting it when `first`) and writes the out-scale gradient gd[o] = Σ_{ξ,i} U ⊙ dU_n, which by
/// the adjoint identity equals Σ_pixels y_pre·dY.
func addSampleFilterGradients(u: UnsafePointer<Float>, dun: UnsafePointer<Float>, out og: Int, in cg: Int,
                              outScale d: UnsafePointer<Float>?, outScaleGradient gd: UnsafeMutablePointer<Float>?,
                              weightGradientSum du: UnsafeMutablePointer<Float>?, first: Bool) {
    if let gd {
        parallelFor(og, minChunk: 16) { range in
            for o in range {
                var total = 0.0
                for xi in 0..<36 {
                    let a = u + (xi * og + o) * cg, b = dun + (xi * og + o) * cg
                    var part: Float = 0
                    for i in 0..<cg { part += a[i] * b[i] }
                    total += Double(part)
                }
                gd[o] = Float(total)
            }
        }
    }
    if let du {
        parallelFor(36 * og, minChunk: 16) { range in
            for row in range {
                let scale = d?[row % og] ?? 1, src = dun + row * cg, dst = du + row * cg
                if first { for i in 0..<cg { dst[i] = scale * src[i] } } else { for i in 0..<cg { dst[i] += scale * src[i] } }
            }
        }
    }
}
