import Foundation

/// PyTorch's `F.interpolate(mode='bilinear'|'bicubic', align_corners=False, antialias=False|True)`.
///
/// Both modes are separable: the width is resampled first, then the height, each as a 1-D filter with a
/// fixed number of (index, weight) taps per output position. The tap weights are computed with the same
/// float32 / float64 mix as PyTorch's CPU kernels (UpSampleKernel.cpp), because on large downscales the
/// float32 coordinate rounding alone moves outputs by ~1e-4 (see the CLIP reference pack README §8).
/// The backward pass is the transpose of each 1-D filter.

public enum ResizeMode: Sendable { case bilinear, bicubic }

/// Taps of a 1-D resampling: output `o` is `sum_k weight[o*width+k] * x[index[o*width+k]]`.
struct ResampleTaps {
    let inSize: Int
    let outSize: Int
    let width: Int
    var index: [Int]
    var weight: [Float]

    /// Cubic convolution kernel pieces (Keys), as PyTorch's `cubic_convolution1/2`, in float32.
    @inline(__always) static func cubic1(_ x: Float, _ a: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
    @inline(__always) static func cubic2(_ x: Float, _ a: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }

    /// Non-antialiased taps (`upsample_bilinear2d` / `upsample_bicubic2d`, align_corners=False).
    /// Source coordinate `scale·(o+0.5) − 0.5` in float32; bilinear clamps it at 0, bicubic does not and
    /// instead clamps its four taps to the border. Bicubic uses A = −0.75.
    static func plain(inSize: Int, outSize: Int, mode: ResizeMode) -> ResampleTaps {
        let width = mode == .bicubic ? 4 : 2
        var t = ResampleTaps(inSize: inSize, outSize: outSize, width: width,
                             index: [Int](repeating: 0, count: outSize * width),
                             weight: [Float](repeating: 0, count: outSize * width))
        let scale = Float(inSize) / Float(outSize)
        for o in 0..<outSize {
            let base = o * width
            if mode == .bilinear && inSize == outSize {
                // PyTorch's linear helper short-circuits equal sizes to the identity.
                t.index[base] = o; t.index[base + 1] = o; t.weight[base] = 1; t.weight[base + 1] = 0
                continue
            }
            var real = scale * (Float(o) + 0.5) - 0.5
            if mode == .bilinear && real < 0 { real = 0 }
            let i0 = min(Int(Foundation.floor(real)), inSize - 1)
            let lambda = min(max(real - Float(i0), 0), 1)
            switch mode {
            case .bilinear:
                t.index[base] = i0
                t.index[base + 1] = i0 + (i0 < inSize - 1 ? 1 : 0)
                t.weight[base] = 1 - lambda
                t.weight[base + 1] = lambda
            case .bicubic:
                let a: Float = -0.75
                let w = [cubic2(lambda + 1, a), cubic1(lambda, a), cubic1(1 - lambda, a), cubic2(1 - lambda + 1, a)]
                for k in 0..<4 {
                    t.index[base + k] = max(min(i0 + k - 1, inSize - 1), 0)
                    t.weight[base + k] = w[k]
                }
            }
        }
        return t
    }

    /// Antialiased taps (PyTorch's `_compute_indices_min_size_weights_aa`, PIL's algorithm): when
    /// downscaling the kernel support is stretched by the scale, taps outside the image are dropped
    /// (not clamped) and the weights of each output are normalised to sum 1. Bicubic uses A = −0.5 here.
    /// The mixed float/double arithmetic mirrors the C++ expression types exactly.
    static func antialiased(inSize: Int, outSize: Int, mode: ResizeMode) -> ResampleTaps {
        let interp = mode == .bicubic ? 4 : 2
        let scale = Float(inSize) / Float(outSize)
        let support = scale >= 1 ? Float(Double(interp) * 0.5 * Double(scale)) : Float(Double(interp) * 0.5)
        let width = Int(support.rounded(.up)) * 2 + 1
        let invscale: Float = scale >= 1 ? Float(1.0 / Double(scale)) : 1
        var t = ResampleTaps(inSize: inSize, outSize: outSize, width: width,
                             index: [Int](repeating: 0, count: outSize * width),
                             weight: [Float](repeating: 0, count: outSize * width))
        func filter(_ v: Float) -> Float {
            let x = Swift.abs(v)
            switch mode {
            case .bilinear: return x < 1 ? 1 - x : 0
            case .bicubic: return x < 1 ? cubic1(x, -0.5) : (x < 2 ? cubic2(x, -0.5) : 0)
            }
        }
        for o in 0..<outSize {
            let base = o * width
            let center = Float(Double(scale) * (Double(o) + 0.5))
            let xmin = max(Int(Double(center) - Double(support) + 0.5), 0)
            let xsize = min(max(min(Int(Double(center) + Double(support) + 0.5), inSize) - xmin, 0), width)
            var total: Float = 0
            for j in 0..<xsize {
                let w = filter(Float((Double(Float(j + xmin) - center) + 0.5) * Double(invscale)))
                t.weight[base + j] = w
                total += w
            }
            if total != 0 { for j in 0..<xsize { t.weight[base + j] /= total } }
            // Unused taps keep weight 0 and point at a valid pixel.
            for j in 0..<width { t.index[base + j] = min(xmin + j, inSize - 1) }
        }
        return t
    }
}

/// Resamples the last axis: x [rows, inSize] -> [rows, outSize].
func resampleLastAxis(_ x: Tensor, _ taps: ResampleTaps) -> Tensor {
    let rows = x.count / taps.inSize
    var outShape = x.shape; outShape[outShape.count - 1] = taps.outSize
    let out = Tensor.empty(outShape)
    let px = x.pointer, po = out.pointer
    let nIn = taps.inSize, nOut = taps.outSize, width = taps.width
    taps.index.withUnsafeBufferPointer { idx in taps.weight.withUnsafeBufferPointer { wt in
        parallelFor(rows, minChunk: max(1, 16384 / max(1, nOut * width))) { r in
            for row in r {
                let src = px + row * nIn, dst = po + row * nOut
                for o in 0..<nOut {
                    let b = o * width
                    var acc = src[idx[b]] * wt[b]
                    for k in 1..<width { acc += src[idx[b + k]] * wt[b + k] }
                    dst[o] = acc
                }
            }
        }
    } }
    return out
}

/// Transpose of `resampleLastAxis`: g [rows, outSize] -> [rows, inSize].
func resampleLastAxisTransposed(_ g: Tensor, _ taps: ResampleTaps, inputShape: [Int]) -> Tensor {
    let rows = g.count / taps.outSize
    let gx = Tensor.zeros(inputShape)
    let pg = g.pointer, pgx = gx.pointer
    let nIn = taps.inSize, nOut = taps.outSize, width = taps.width
    taps.index.withUnsafeBufferPointer { idx in taps.weight.withUnsafeBufferPointer { wt in
        parallelFor(rows, minChunk: max(1, 16384 / max(1, nOut * width))) { r in
            for row in r {
                let src = pg + row * nOut, dst = pgx + row * nIn
                for o in 0..<nOut {
                    let b = o * width, v = src[o]
                    for k in 0..<width { dst[idx[b + k]] += v * wt[b + k] }
                }
            }
        }
    } }
    return gx
}

/// Resamples the second-to-last axis: x [planes, inSize, cols] -> [planes, outSize, cols].
func resampleRowAxis(_ x: Tensor, _ taps: ResampleTaps) -> Tensor {
    let cols = x.shape[x.rank - 1]
    let planes = x.count / max(1, taps.inSize * cols)
    var outShape = x.shape; outShape[outShape.count - 2] = taps.outSize
    let out = Tensor.empty(outShape)
    let px = x.pointer, po = out.pointer
    let nIn = taps.inSize, nOut = taps.outSize, width = taps.width
    taps.index.withUnsafeBufferPointer { idx in taps.weight.withUnsafeBufferPointer { wt in
        // One job per output row of every plane, so a single image still uses all threads.
        parallelFor(planes * nOut, minChunk: max(1, 16384 / max(1, cols * width))) { r in
            for job in r {
                let p = job / nOut, o = job % nOut
                let src = px + p * nIn * cols, dst = po + (p * nOut + o) * cols
                let b = o * width
                let row0 = src + idx[b] * cols, w0 = wt[b]
                for c in 0..<cols { dst[c] = row0[c] * w0 }
                for k in 1..<width {
                    let row = src + idx[b + k] * cols, w = wt[b + k]
                    for c in 0..<cols { dst[c] += row[c] * w }
                }
            }
        }
    } }
    return out
}

/// Transpose of `resampleRowAxis`.
func resampleRowAxisTransposed(_ g: Tensor, _ taps: ResampleTaps, inputShape: [Int]) -> Tensor {
    let cols = g.shape[g.rank - 1]
    let planes = g.count / max(1, taps.outSize * cols)
    let gx = Tensor.zeros(inputShape)
    let pg = g.pointer, pgx = gx.pointer
    let nIn = taps.inSize, nOut = taps.outSize, width = taps.width
    taps.index.withUnsafeBufferPointer { idx in taps.weight.withUnsafeBufferPointer { wt in
        parallelFor(planes, minChunk: 1) { r in
            for p in r {
                let src = pg + p * nOut * cols, dst = pgx + p * nIn * cols
                for o in 0..<nOut {
                    let grow = src + o * cols
                    for k in 0..<width {
                        let row = dst + idx[o * width + k] * cols, w = wt[o * width + k]
                        for c in 0..<cols { row[c] += grow[c] * w }
                    }
                }
            }
        }
    } }
    return gx
}

extension Tensor {
    /// PyTorch `F.interpolate(x, size=(height, width), mode=bilinear|bicubic, align_corners=False,
    /// antialias=...)` on a tensor whose last two axes are H, W (NCHW), differentiable w.r.t. x.
    public func resized(height: Int, width: Int, mode: ResizeMode, antialias: Bool) -> Tensor {
        precondition(rank >= 2, "resized: input must have H and W as its last two axes, got shape \(shape)")
        precondition(height > 0 && width > 0, "resized: output size \(height)x\(width) must be positive")
        let h = shape[rank - 2], w = shape[rank - 1]
        precondition(h > 0 && w > 0, "resized: input of shape \(shape) has an empty spatial axis")
        if antialias {
            // PyTorch's separable AA kernel copies the input when no axis changes and skips unchanged axes.
            if h == height && w == width { return self.resampledAxis(rowAxis: false, nil) }
            var y = self
            if w != width { y = y.resampledAxis(rowAxis: false, .antialiased(inSize: w, outSize: width, mode: mode)) }
            if h != height { y = y.resampledAxis(rowAxis: true, .antialiased(inSize: h, outSize: height, mode: mode)) }
            return y
        }
        // The plain kernel always evaluates both axes (an unchanged axis is an exact identity).
        return self.resampledAxis(rowAxis: false, .plain(inSize: w, outSize: width, mode: mode))
            .resampledAxis(rowAxis: true, .plain(inSize: h, outSize: height, mode: mode))
    }

    /// One recorded 1-D resampling of the last axis (`rowAxis` false) or second-to-last axis;
    /// `nil` taps = a recorded copy.
    func resampledAxis(rowAxis: Bool, _ taps: ResampleTaps?) -> Tensor {
        let x = self
        guard let taps else { return x.copy().recorded([x]) { g in [g] } }
        let out = rowAxis ? resampleRowAxis(x, taps) : resampleLastAxis(x, taps)
        return out.recorded([x]) { g in
            [rowAxis ? resampleRowAxisTransposed(g, taps, inputShape: x.shape)
                     : resampleLastAxisTransposed(g, taps, inputShape: x.shape)]
        }
    }
}
