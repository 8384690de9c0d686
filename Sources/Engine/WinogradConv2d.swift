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
    /// Samples whose tiles share one set of transformed filters.
    var imagesPerJob: Int { groups == 1 ? batch : 1 }
    var jobs: Int { groups == 1 ? 1 : batch * groups }

    /// Transformed tiles per block: V and M of one block hold at most `blockBudget` floats.
    nonisolated(unsafe) static var blockBudget = 1 << 20

    var tilesPerBlock: Int {
        max(8, Self.blockBudget / (WinogradF43.points * (groupChannels + groupOutChannels)))
    }

    /// Whether Winograd pays for this conv: a 3×3 stride-1 kernel, enough tiles per job to amortise the
    /// 4× larger transformed filters, and enough channels for the GEMMs to dominate the transforms.
    static func applies(input: [Int], weight: [Int], stride: Int, padding: Int, groups: Int) -> Bool {
        guard weight.count == 4, weight[2] == 3, weight[3] == 3, stride == 1, input.count == 4 else { return false }
        let plan = WinogradConv2d(batch: input[0], channels: input[1], height: input[2], width: input[3],
                                  outChannels: weight[0], groups: groups, padding: padding)
        let tiles = plan.tilesPerImage * plan.imagesPerJob
        return plan.groupChannels >= 8 && plan.groupOutChannels >= 8 && tiles >= 16
    }

    // MARK: Tile addressing

    /// Where tile `t` of a job lies: its sample within the job and the top-left output pixel.
    @inline(__always)
    func tileOrigin(_ t: Int) -> (image: Int, y: Int, x: Int) {
        let image = t / tilesPerImage, r = t - image * tilesPerImage
        let ty = r / tilesWide
        return (image, 4 * ty, 4 * (r - ty * tilesWide))
    }

    /// Input plane of channel `c` (within the group) of sample `image` of `job`.
    @inline(__always)
    func inputPlane(_ base: UnsafePointer<Float>, job: Int, image: Int, channel c: Int) -> UnsafePointer<Float> {
        let (n, g) = groups == 1 ? (image, 0) : (job / groups, job % groups)
        return base + ((n * channels + g * groupChannels + c) * height) * width
    }

    @inline(__always)
    func outputPlane(_ base: UnsafeMutablePointer<Float>, job: Int, image: Int, channel o: Int) -> UnsafeMutablePointer<Float> {
        let (n, g) = groups == 1 ? (image, 0) : (job / groups, job % groups)
        return base + ((n * outChannels + g * groupOutChannels + o) * outHeight) * outWidth
    }

    // MARK: Block steps

    /// V[ξ][c][t - t0] for tiles t0..<t0+count of `job`.
    func transformInputs(_ x: UnsafePointer<Float>, job: Int, tiles t0: Int, count: Int, into v: UnsafeMutablePointer<Float>) {
        let cg = groupChannels, stride = cg * count, H = height, W = width, p = padding
        parallelFor(cg, minChunk: max(1, 256 / count)) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 36) { window in
                for c in range {
                    for i in 0..<count {
                        let (image, oy, ox) = tileOrigin(t0 + i)
                        let plane = inputPlane(x, job: job, image: image, channel: c)
                        let iy = oy - p, ix = ox - p
                        let dst = v + c * count + i
                        if iy >= 0, ix >= 0, iy + 6 <= H, ix + 6 <= W {
                            WinogradF43.transformInput(plane + iy * W + ix, rowStride: W, into: dst, stride: stride)
                        } else {
                            for r in 0..<6 {
                                let y = iy + r
                                for s in 0..<6 {
                                    let xx = ix + s
                                    window[6 * r + s] = (y >= 0 && y < H && xx >= 0 && xx < W) ? plane[y * W + xx] : 0
                                }
                            }
                            WinogradF43.transformInput(UnsafePointer(window.baseAddress!), rowStride: 6, into: dst, stride: stride)
                        }
                    }
                }
            }
        }
    }

    /// dM[ξ][o][t - t0] = (A dY Aᵀ)_ξ for tiles t0..<t0+count (dY is zero outside the output).
    func transformOutputGradients(_ gy: UnsafePointer<Float>, job: Int, tiles t0: Int, count: Int, into m: UnsafeMutablePointer<Float>) {
        let og = groupOutChannels, stride = og * count, Ho = outHeight, Wo = outWidth
        parallelFor(og, minChunk: max(1, 256 / count)) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { tile in
                for o in range {
                    for i in 0..<count {
                        let (image, oy, ox) = tileOrigin(t0 + i)
                        let plane = UnsafePointer(outputPlane(UnsafeMutablePointer(mutating: gy), job: job, image: image, channel: o))
                        let dst = m + o * count + i
                        if oy + 4 <= Ho, ox + 4 <= Wo {
                            WinogradF43.transformOutputAdjoint(plane + oy * Wo + ox, rowStride: Wo, into: dst, stride: stride)
                        } else {
                            for r in 0..<4 {
                                for s in 0..<4 {
                                    tile[4 * r + s] = (oy + r < Ho && ox + s < Wo) ? plane[(oy + r) * Wo + ox + s] : 0
                                }
                            }
                            WinogradF43.transformOutputAdjoint(UnsafePointer(tile.baseAddress!), rowStride: 4, into: dst, stride: stride)
                        }
                    }
                }
            }
        }
    }

    /// Y = Aᵀ M A (+ bias) written into the valid part of each output tile.
    func transformOutputs(_ m: UnsafePointer<Float>, bias: UnsafePointer<Float>?, job: Int, tiles t0: Int, count: Int,
                          into y: UnsafeMutablePointer<Float>) {
        let og = groupOutChannels, stride = og * count, Ho = outHeight, Wo = outWidth
        let biasOffset = groups == 1 ? 0 : (job % groups) * og
        parallelFor(og, minChunk: max(1, 256 / count)) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { tile in
                for o in range {
                    let b = bias.map { $0[biasOffset + o] } ?? 0
                    for i in 0..<count {
                        let (image, oy, ox) = tileOrigin(t0 + i)
                        let plane = outputPlane(y, job: job, image: image, channel: o)
                        WinogradF43.transformOutput(m + o * count + i, stride: stride, into: tile.baseAddress!)
                        let rows = min(4, Ho - oy), cols = min(4, Wo - ox)
                        for r in 0..<rows {
                            let dst = plane + (oy + r) * Wo + ox
                            for s in 0..<cols { dst[s] = tile[4 * r + s] + b }
                        }
                    }
                }
            }
        }
    }

    /// Adds dd = B dV Bᵀ of every tile into the valid part of its input window. One thread per channel
    /// range, tiles in order: overlapping windows are summed in a fixed order.
    func scatterInputGradients(_ v: UnsafePointer<Float>, job: Int, tiles t0: Int, count: Int, into gx: UnsafeMutablePointer<Float>) {
        let cg = groupChannels, stride = cg * count, H = height, W = width, p = padding
        parallelFor(cg, minChunk: max(1, 256 / count)) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 36) { window in
                for c in range {
                    for i in 0..<count {
                        let (image, oy, ox) = tileOrigin(t0 + i)
                        let plane = UnsafeMutablePointer(mutating: inputPlane(UnsafePointer(gx), job: job, image: image, channel: c))
                        WinogradF43.transformInputAdjoint(v + c * count + i, stride: stride, into: window.baseAddress!)
                        let iy = oy - p, ix = ox - p
                        for r in max(0, -iy)..<min(6, H - iy) {
                            let dst = plane + (iy + r) * W + ix
                            for s in max(0, -ix)..<min(6, W - ix) { dst[s] += window[6 * r + s] }
                        }
                    }
                }
            }
        }
    }

    /// The 36 products of one block, one OpenBLAS call per transform point, spread over the threads.
    func pointwiseProducts(_ body: (Int) -> Void) {
        parallelFor(WinogradF43.points) { range in for xi in range { body(xi) } }
    }

    // MARK: Passes

    /// out = conv2d(x, weight, padding) (+ bias). `out` is [N, O, Ho, Wo], fully overwritten.
    func forward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>) {
        let cg = groupChannels, og = groupOutChannels, P = WinogradF43.points
        let tiles = tilesPerImage * imagesPerJob, block = min(tiles, tilesPerBlock)
        let u = TensorStorage(uninitializedCount: P * og * cg)
        let v = TensorStorage(uninitializedCount: P * cg * block)
        let m = TensorStorage(uninitializedCount: P * og * block)
        for job in 0..<jobs {
            let g = groups == 1 ? 0 : job % groups
            WinogradF43.transformWeights(weight + g * og * cg * 9, out: og, in: cg, into: u.pointer)
            for t0 in stride(from: 0, to: tiles, by: block) {
                let count = min(block, tiles - t0)
                transformInputs(x, job: job, tiles: t0, count: count, into: v.pointer)
                pointwiseProducts { xi in
                    sgemmSerial(m: og, n: count, k: cg, a: u.pointer + xi * og * cg, b: v.pointer + xi * cg * count,
                                c: m.pointer + xi * og * count)
                }
                transformOutputs(m.pointer, bias: bias, job: job, tiles: t0, count: count, into: out)
            }
        }
    }

    /// Gradients of the conv w.r.t. its input (`gx`, zeroed by the caller, accumulated into) and/or its
    /// weight (`gw`, overwritten), given the output gradient `gy`.
    func backward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, gy: UnsafePointer<Float>,
                  gx: UnsafeMutablePointer<Float>?, gw: UnsafeMutablePointer<Float>?) {
        let cg = groupChannels, og = groupOutChannels, P = WinogradF43.points
        let tiles = tilesPerImage * imagesPerJob, block = min(tiles, tilesPerBlock)
        let u = gx != nil ? TensorStorage(uninitializedCount: P * og * cg) : nil
        let du = gw != nil ? TensorStorage(uninitializedCount: P * og * cg) : nil
        let v = TensorStorage(uninitializedCount: P * cg * block)
        let m = TensorStorage(uninitializedCount: P * og * block)
        for job in 0..<jobs {
            let g = groups == 1 ? 0 : job % groups
            if let u { WinogradF43.transformWeights(weight + g * og * cg * 9, out: og, in: cg, into: u.pointer) }
            for t0 in stride(from: 0, to: tiles, by: block) {
                let count = min(block, tiles - t0)
                transformOutputGradients(gy, job: job, tiles: t0, count: count, into: m.pointer)
                if let du {
                    // dU[ξ] (+)= dM[ξ]·V[ξ]ᵀ, summed over blocks in order.
                    transformInputs(x, job: job, tiles: t0, count: count, into: v.pointer)
                    pointwiseProducts { xi in
                        sgemmSerial(transB: true, m: og, n: cg, k: count, a: m.pointer + xi * og * count,
                                    b: v.pointer + xi * cg * count, beta: t0 == 0 ? 0 : 1, c: du.pointer + xi * og * cg)
                    }
                }
                if let u, let gx {
                    // dV[ξ] = U[ξ]ᵀ·dM[ξ] (reusing V's buffer), then scattered into the input windows.
                    pointwiseProducts { xi in
                        sgemmSerial(transA: true, m: cg, n: count, k: og, a: u.pointer + xi * og * cg,
                                    b: m.pointer + xi * og * count, c: v.pointer + xi * cg * count)
                    }
                    scatterInputGradients(v.pointer, job: job, tiles: t0, count: count, into: gx)
                }
            }
            if let du, let gw {
                // groups = 1: one job covers every sample; otherwise each (sample, group) job owns its
                // group's slice only for that sample, so the slices are summed over samples.
                let slice = gw + g * og * cg * 9
                WinogradF43.transformWeightGradient(du.pointer, out: og, in: cg, into: slice, accumulate: groups > 1 && job >= groups)
            }
        }
    }
}
