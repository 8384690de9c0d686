import CKernels

/// The fused polyphase Winograd kernel (CKernels `nada_poly_conv_tiles`) for the stride-2, 3×3
/// transposed conv of `WinogradTransposedConv2d` with few channels: per run of 16 input tiles the input
/// transform, the 81 point-wise products and the output transform all happen in L1/L2, in AVX2+FMA
/// where the CPU has it, instead of streaming V/M blocks through OpenBLAS GEMMs.
///
/// Threads take fixed units of tiles; the 8×8 output tiles partition the 2H+1 output, so every output
/// pixel is written by one tile and nothing depends on the thread count.
struct FusedPolyphaseConvTranspose2d {
    /// Tiles per thread work unit (a multiple of the kernel's 16-tile runs).
    static let unitTiles = 64

    let batch: Int, channels: Int, height: Int, width: Int, outChannels: Int
    /// Names the kernel copy (`ConvPlan.isa`); whether this kernel runs at all is `ConvPlan.usesFusedPolyphase`.
    var plan = ConvPlan.machine
    var tilesPerImage: Int { (height / 4 + 1) * (width / 4 + 1) }

    /// y[n] = outScale[n] ⊙ convTranspose(x[n] ⊙ inScale[n], W) for every sample; `u` from `filters`.
    func run(x: UnsafePointer<Float>, u: UnsafePointer<Float>, inScale: UnsafePointer<Float>?, outScale: UnsafePointer<Float>?,
             y: UnsafeMutablePointer<Float>) {
        let C = channels, O = outChannels, tiles = tilesPerImage
        let unitsPerImage = (tiles + Self.unitTiles - 1) / Self.unitTiles, units = batch * unitsPerImage
        let inPlane = C * height * width, outPlane = O * (2 * height + 1) * (2 * width + 1)
        let scratchCount = nada_poly_scratch_floats(Int32(C), Int32(O))
        parallelFor(units) { range in
            let scratch = TensorStorage(uninitializedCount: scratchCount)
            for unit in range {
                let n = unit / unitsPerImage, t0 = (unit - n * unitsPerImage) * Self.unitTiles
                var conv = nada_poly_conv(channels: Int32(C), height: Int32(height), width: Int32(width), out_channels: Int32(O),
                                          in_scale: inScale.map { $0 + n * C }, out_scale: outScale.map { $0 + n * O }, avx2: plan.avx2Flag)
                nada_poly_conv_tiles(&conv, x + n * inPlane, u, y + n * outPlane, t0, min(tiles, t0 + Self.unitTiles), scratch.pointer)
            }
        }
    }

    /// dX[n] += inScale[n] ⊙ conv_stride2(outScale[n] ⊙ dY[n], W) (gx may be nil); with `scaleGradient`,
    /// gScale[n, c] = Σ_pixels x[n, c]·conv_stride2(outScale[n] ⊙ dY[n], W)[c] (written, not added).
    /// `u` from `filters(adjoint: true)`. Per-unit dots are summed in unit order: no thread-count dependence.
    func inputGradients(gy: UnsafePointer<Float>, u: UnsafePointer<Float>, x: UnsafePointer<Float>,
                        inScale: UnsafePointer<Float>?, outScale: UnsafePointer<Float>?,
                        gx: UnsafeMutablePointer<Float>?, scaleGradient gScale: UnsafeMutablePointer<Float>?) {
        let C = channels, O = outChannels, tiles = ((height + 3) / 4) * ((width + 3) / 4)
        let unitsPerImage = (tiles + Self.unitTiles - 1) / Self.unitTiles, units = batch * unitsPerImage
        let inPlane = C * height * width, outPlane = O * (2 * height + 1) * (2 * width + 1)
        let scratchCount = nada_poly_scratch_floats(Int32(C), Int32(O))
        let partials = gScale != nil ? UnsafeMutablePointer<Double>.allocate(capacity: units * C) : nil
        defer { partials?.deallocate() }
        parallelFor(units) { range in
            let scratch = TensorStorage(uninitializedCount: scratchCount)
            for unit in range {
                let n = unit / unitsPerImage, t0 = (unit - n * unitsPerImage) * Self.unitTiles
                var conv = nada_poly_conv(channels: Int32(C), height: Int32(height), width: Int32(width), out_channels: Int32(O),
                                          in_scale: inScale.map { $0 + n * C }, out_scale: outScale.map { $0 + n * O }, avx2: plan.avx2Flag)
                nada_poly_input_gradient_tiles(&conv, gy + n * outPlane, u, x + n * inPlane, gx.map { $0 + n * inPlane },
                                               t0, min(tiles, t0 + Self.unitTiles), scratch.pointer, partials.map { $0 + unit * C })
            }
        }
        if let gScale, let partials {
            FusedWinogradConv2d.sumUnitPartials(partials, batch: batch, unitsPerImage: unitsPerImage, rowLength: C, into: gScale)
        }
    }

    /// Work units per sample for `sampleFilterGradient`: each sums its tiles into its own partial dU
    /// (36·C·op floats) and the partials are added in unit order, so the split depends on the shape
    /// only (as `FusedWinogradConv2d.filterGradientUnits`: up to 16, fewer where one sample's partials
    /// would pass 4 M floats).
    var filterGradientUnits: Int {
        FusedWinogradConv2d.filterGradientUnits(tiles: tilesPerImage, partialFloats: 36 * channels * paddedOutChannels)
    }

    /// Output channels rounded up to the kernel's 8 lanes (the partials' row length).
    var paddedOutChannels: Int { (outChannels + 7) / 8 * 8 }

    /// Floats of the partial-sum buffer `sampleFilterGradient` needs.
    var filterGradientPartialFloats: Int { filterGradientUnits * 36 * channels * paddedOutChannels }

    /// dU_n[ξ][o][c] = Σ over class ξ's points and the tiles of dM[p][o][t]·V[p][c][t] for sample n (V: the
    /// transformed windows of x[n] ⊙ inScale[n], dM: the adjoint output transform of the unscaled dY[n]),
    /// the layout `addSampleFilterGradients` and `WinogradPolyphase.transformWeightGradient` take.
    /// `partials` holds `filterGradientPartialFloats`; `dun` [36][O][C] is overwritten.
    func sampleFilterGradient(n: Int, x: UnsafePointer<Float>, gy: UnsafePointer<Float>, inScale: UnsafePointer<Float>?,
                              partials: UnsafeMutablePointer<Float>, into dun: UnsafeMutablePointer<Float>) {
        let C = channels, O = outChannels, tiles = tilesPerImage
        let scratchCount = nada_poly_filter_gradient_scratch_floats(Int32(C), Int32(O))
        var conv = nada_poly_conv(channels: Int32(C), height: Int32(height), width: Int32(width), out_channels: Int32(O),
                                  in_scale: inScale.map { $0 + n * C }, out_scale: nil, avx2: plan.avx2Flag)
        let xn = x + n * C * height * width, gyn = gy + n * O * (2 * height + 1) * (2 * width + 1)
        FusedWinogradConv2d.runFilterGradientUnits(tiles: tiles, units: filterGradientUnits, channels: C, outChannels: O,
                                                   scratchFloats: scratchCount, partials: partials, into: dun) { t0, t1, scratch, du in
            nada_poly_filter_gradient_tiles(&conv, xn, gyn, t0, t1, scratch, du)
        }
    }

    /// Transformed filters of `weight` [O, C, 3, 3]: [36][C][O] for `run`, or with `adjoint` [36][O][C]
    /// for `inputGradients`.
    static func filters(_ weight: UnsafePointer<Float>, out: Int, in cin: Int, adjoint: Bool = false) -> TensorStorage {
        let u = TensorStorage(uninitializedCount: 36 * out * cin)
        nada_poly_transform_filters(weight, Int32(out), Int32(cin), adjoint ? 1 : 0, u.pointer)
        return u
    }
}
