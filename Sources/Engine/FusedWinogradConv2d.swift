import CKernels

/// The fused Winograd F(4×4, 3×3) kernel (CKernels `nada_wino_conv_tiles`) for groups = 1 convs with few
/// channels: per run of 16 tiles the input transform, the 36 point-wise products and the output
/// transform all happen in L1/L2, in AVX2+FMA where the CPU has it. The GEMM path
/// (`WinogradConv2d`) streams big V/M blocks through memory and is bound by the transforms there.
///
/// Threads take fixed units of tiles; every output pixel belongs to one tile, and the optional
/// per-channel dots are summed per unit and then over units in order, so nothing depends on the
/// thread count.
struct FusedWinogradConv2d {
    /// Tiles per thread work unit (a multiple of the kernel's 16-tile runs).
    static let unitTiles = 64

    let batch: Int, channels: Int, height: Int, width: Int, outChannels: Int, padding: Int
    /// Names the kernel copy (`ConvPlan.isa`); whether this kernel runs at all is `ConvPlan.usesFusedWinograd`.
    var plan = ConvPlan.machine
    var outHeight: Int { height + 2 * padding - 2 }
    var outWidth: Int { width + 2 * padding - 2 }
    var tilesPerImage: Int { ((outHeight + 3) / 4) * ((outWidth + 3) / 4) }

    /// y[n] (+)= outScale[n] ⊙ conv(x[n] ⊙ inScale[n], U) + bias for every sample; `u` from
    /// `nada_wino_transform_filters`. With `dotWith`, also dots[n, o] = Σ_pixels dotWith[n, o]·(the
    /// result before outScale and bias), written (not added). `y` may be nil when only the dots are wanted.
    func run(x: UnsafePointer<Float>, u: UnsafePointer<Float>, inScale: UnsafePointer<Float>?, outScale: UnsafePointer<Float>?,
             bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>?, accumulate: Bool,
             dotWith: UnsafePointer<Float>? = nil, dots: UnsafeMutablePointer<Float>? = nil) {
        let C = channels, O = outChannels, tiles = tilesPerImage
        let unitsPerImage = (tiles + Self.unitTiles - 1) / Self.unitTiles, units = batch * unitsPerImage
        let inPlane = C * height * width, outPlane = O * outHeight * outWidth
        let scratchCount = nada_wino_scratch_floats(Int32(C), Int32(O))
        precondition(dots == nil || dotWith != nil, "internal: fused Winograd dots without a second tensor")
        // Per-unit partial dots [units][O], summed in unit order below.
        let partials = dots != nil ? UnsafeMutablePointer<Double>.allocate(capacity: units * O) : nil
        defer { partials?.deallocate() }
        parallelFor(units) { range in
            let scratch = TensorStorage(uninitializedCount: scratchCount)
            for unit in range {
                let n = unit / unitsPerImage, t0 = (unit - n * unitsPerImage) * Self.unitTiles
                var conv = nada_wino_conv(
                    channels: Int32(C), height: Int32(height), width: Int32(width),
                    out_channels: Int32(O), out_height: Int32(outHeight), out_width: Int32(outWidth),
                    padding: Int32(padding), accumulate: accumulate ? 1 : 0,
                    in_scale: inScale.map { $0 + n * C }, out_scale: outScale.map { $0 + n * O },
                    bias: bias, dot_with: dotWith.map { $0 + n * outPlane }, avx2: plan.avx2Flag)
                nada_wino_conv_tiles(&conv, x + n * inPlane, u, y.map { $0 + n * outPlane }, t0, min(tiles, t0 + Self.unitTiles),
                                     scratch.pointer, partials.map { $0 + unit * O })
            }
        }
        if let dots, let partials {
            Self.sumUnitPartials(partials, batch: batch, unitsPerImage: unitsPerImage, rowLength: O, into: dots)
        }
    }

    /// Work units per sample for `sampleFilterGradient`: each sums its tiles into its own partial dU
    /// (36·C·O floats), and the partials are added in unit order, so the split depends on the shape
    /// only. Up to 16 (enough to balance the threads at batch 1), fewer where the partials of one
    /// sample would pass 4 M floats (16 MB: 128→128 gets 7).
    ///
    /// Measured on 2 threads of a loaded machine (AVX2, batch 1, weight + out-scale gradients, fused vs
    /// GEMM Winograd): 32→32 1024² 304 vs 546 ms, 64→64 512² 253 vs 490, 128→128 256² 277 vs 293,
    /// 128→128 512² a tie (1.1–1.2 s): at 128 channels a unit's 2.4 MB partial no longer stays in L2.
    var filterGradientUnits: Int { Self.filterGradientUnits(tiles: tilesPerImage, partialFloats: 36 * channels * paddedOutChannels) }

    /// The unit count rule above, shared with `FusedPolyphaseConvTranspose2d`.
    static func filterGradientUnits(tiles: Int, partialFloats partial: Int) -> Int {
        let runs = (tiles + 15) / 16
        return max(1, min(runs, min(16, max(4, (1 << 22) / partial))))
    }

    /// result[n, r] = Σ over sample n's units, in unit order, of partials[unit][r]: the fixed-order sum that
    /// keeps the per-unit partial dots independent of the thread count.
    static func sumUnitPartials(_ partials: UnsafePointer<Double>, batch: Int, unitsPerImage: Int, rowLength: Int,
                                into result: UnsafeMutablePointer<Float>) {
        parallelFor(batch * rowLength, minChunk: 64) { range in
            for row in range {
                let n = row / rowLength, r = row - n * rowLength
                var total = 0.0
                for unit in n * unitsPerImage..<(n + 1) * unitsPerImage { total += partials[unit * rowLength + r] }
                result[row] = Float(total)
            }
        }
    }

    /// The unit scheduling of both fused kernels' filter gradients (this one's and
    /// `FusedPolyphaseConvTranspose2d`'s): `units` work units over the 16-tile runs of one sample (whole
    /// runs per unit, split as evenly as the run count allows), each of which `kernel(t0, t1, scratch, du)`
    /// sums into its own partial dU [36][C][op] (op = O rounded up to 8 lanes); then the partials' rows
    /// (ξ, c) summed in unit order and written transposed into dU_n [36][O][C]. The split depends on the
    /// shape only, so nothing depends on the thread count.
    static func runFilterGradientUnits(tiles: Int, units: Int, channels C: Int, outChannels O: Int, scratchFloats: Int,
                                       partials: UnsafeMutablePointer<Float>, into dun: UnsafeMutablePointer<Float>,
                                       _ kernel: (Int, Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        let op = (O + 7) / 8 * 8, runs = (tiles + 15) / 16, partial = 36 * C * op
        parallelFor(units) { range in
            let scratch = TensorStorage(uninitializedCount: scratchFloats)
            for unit in range {
                let t0 = 16 * (unit * runs / units), t1 = min(tiles, 16 * ((unit + 1) * runs / units))
                kernel(t0, t1, scratch.pointer, partials + unit * partial)
            }
        }
        // Rows (ξ, c) of the partials summed in unit order, written transposed into dU_n[ξ][·][c].
        parallelFor(36 * C, minChunk: 16) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: op) { buffer in
                let row = buffer.baseAddress!
                for r in range {
                    let xi = r / C, c = r - xi * C
                    row.update(from: partials + r * op, count: op)
                    for unit in 1..<units {
                        let src = partials + unit * partial + r * op
                        for o in 0..<op { row[o] += src[o] }
                    }
                    let dst = dun + xi * O * C + c
                    for o in 0..<O { dst[o * C] = row[o] }
                }
            }
        }
    }

    /// Output channels rounded up to the kernel's 8 lanes (the partials' row length).
    var paddedOutChannels: Int { (outChannels + 7) / 8 * 8 }

    /// Floats of the partial-sum buffer `sampleFilterGradient` needs.
    var filterGradientPartialFloats: Int { filterGradientUnits * 36 * channels * paddedOutChannels }

    /// dU_n[ξ][o][c] = Σ_tiles dM[ξ][o][t]·V[ξ][c][t] for sample n, with V the transformed windows of
    /// x[n] ⊙ inScale[n] and dM = A dY Aᵀ of the unscaled output gradient: the sample's filter gradient
    /// in the transformed domain (`addSampleFilterGradients` and `WinogradF43.transformWeightGradient`
    /// take it from there). `partials` holds `filterGradientPartialFloats`; `dun` [36][O][C] is overwritten.
    func sampleFilterGradient(n: Int, x: UnsafePointer<Float>, gy: UnsafePointer<Float>, inScale: UnsafePointer<Float>?,
                              partials: UnsafeMutablePointer<Float>, into dun: UnsafeMutablePointer<Float>) {
        let C = channels, O = outChannels, tiles = tilesPerImage
        let scratchCount = nada_wino_filter_gradient_scratch_floats(Int32(C), Int32(O))
        var conv = nada_wino_conv(
            channels: Int32(C), height: Int32(height), width: Int32(width),
            out_channels: Int32(O), out_height: Int32(outHeight), out_width: Int32(outWidth),
            padding: Int32(padding), accumulate: 0, in_scale: inScale.map { $0 + n * C }, out_scale: nil,
            bias: nil, dot_with: nil, avx2: plan.avx2Flag)
        let xn = x + n * C * height * width, gyn = gy + n * O * outHeight * outWidth
        Self.runFilterGradientUnits(tiles: tiles, units: filterGradientUnits, channels: C, outChannels: O,
                                    scratchFloats: scratchCount, partials: partials, into: dun) { t0, t1, scratch, du in
            nada_wino_filter_gradient_tiles(&conv, xn, gyn, t0, t1, scratch, du)
        }
    }

    /// Transformed filters [36][in][out] of `weight` [O, C, 3, 3] (`flipped`: those of the
    /// input-gradient conv, [36][O][C]).
    static func filters(_ weight: UnsafePointer<Float>, out: Int, in cin: Int, flipped: Bool) -> TensorStorage {
        let u = TensorStorage(uninitializedCount: 36 * out * cin)
        nada_wino_transform_filters(weight, Int32(out), Int32(cin), flipped ? 1 : 0, u.pointer)
        return u
    }
}
