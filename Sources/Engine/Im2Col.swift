/// Patch unfolding shared by `conv2d` and `convTranspose2d`.
///
/// A convolution slides a kh×kw window with `stride`/`padding` over an "image" [channels, height, width]
/// and visits outH×outW positions. `im2col` lays the windows out as a column matrix
/// [channels·kh·kw, rows·outW] for a band of output rows, so the convolution becomes one GEMM;
/// `col2im` is its adjoint (scatter-add back into the image). Working on bands of output rows keeps the
/// column buffer bounded for 1024×1024 maps (`ConvPlan.im2colRowsPerBand`).

struct ConvGeometry {
    let channels: Int, height: Int, width: Int
    let kh: Int, kw: Int, stride: Int, padding: Int

    var outH: Int { floorDiv(height + 2 * padding - kh, stride) + 1 }
    var outW: Int { floorDiv(width + 2 * padding - kw, stride) + 1 }
    /// Rows of the column matrix: one per (channel, ky, kx).
    var patch: Int { channels * kh * kw }
    var imageCount: Int { channels * height * width }
    var outCount: Int { outH * outW }
    /// A 1×1, stride-1, unpadded window: the image already is the column matrix.
    var isPointwise: Bool { kh == 1 && kw == 1 && stride == 1 && padding == 0 }

    /// Output positions `o` in 0..<count whose input coordinate o·stride + offset lies in 0..<size.
    @inline(__always)
    func validRange(offset: Int, size: Int, count: Int) -> (Int, Int) {
        let lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride
        let hi = size - offset <= 0 ? 0 : (size - offset + stride - 1) / stride
        let l = min(lo, count), h = min(max(hi, l), count)
        return (l, h)
    }
}

@inline(__always) func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

/// Fills `cols` [patch, rows.count·outW] with the windows of `image` for output rows `rows`.
func im2col(_ image: UnsafePointer<Float>, _ g: ConvGeometry, rows: Range<Int>, into cols: UnsafeMutablePointer<Float>) {
    let outW = g.outW, rowLen = rows.count * outW
    let H = g.height, W = g.width, s = g.stride, p = g.padding
    parallelFor(g.patch, minChunk: max(1, 32768 / max(1, rowLen))) { range in
        for k in range {
            let kx = k % g.kw, ky = (k / g.kw) % g.kh, c = k / (g.kw * g.kh)
            let plane = image + c * H * W
            let (lo, hi) = g.validRange(offset: kx - p, size: W, count: outW)
            var dst = cols + k * rowLen
            for oy in rows {
                let iy = oy * s - p + ky
                if iy < 0 || iy >= H || lo >= hi {
                    dst.update(repeating: 0, count: outW)
                } else {
                    if lo > 0 { dst.update(repeating: 0, count: lo) }
                    let src = plane + iy * W + (lo * s - p + kx)
                    if s == 1 {
                        (dst + lo).update(from: src, count: hi - lo)
                    } else {
                        for j in 0..<(hi - lo) { dst[lo + j] = src[j * s] }
                    }
                    if hi < outW { (dst + hi).update(repeating: 0, count: outW - hi) }
                }
                dst += outW
            }
        }
    }
}

/// Adds the columns `cols` [patch, rows.count·outW] back into `image` (the adjoint of `im2col`).
/// One thread per image channel, each summing in a fixed order: results do not depend on threads.
func col2im(_ cols: UnsafePointer<Float>, _ g: ConvGeometry, rows: Range<Int>, into image: UnsafeMutablePointer<Float>) {
    let outW = g.outW, rowLen = rows.count * outW
    let H = g.height, W = g.width, s = g.stride, p = g.padding
    let perChannel = g.kh * g.kw * rowLen
    parallelFor(g.channels, minChunk: max(1, 32768 / max(1, perChannel))) { range in
        for c in range {
            let plane = image + c * H * W
            for ky in 0..<g.kh {
                for kx in 0..<g.kw {
                    let k = (c * g.kh + ky) * g.kw + kx
                    let (lo, hi) = g.validRange(offset: kx - p, size: W, count: outW)
                    if lo >= hi { continue }
                    var src = cols + k * rowLen
                    for oy in rows {
                        let iy = oy * s - p + ky
                        if iy >= 0 && iy < H {
                            let dst = plane + iy * W + (lo * s - p + kx)
                            if s == 1 {
                                for j in 0..<(hi - lo) { dst[j] += src[lo + j] }
                            } else {
                                for j in 0..<(hi - lo) { dst[j * s] += src[lo + j] }
                            }
                        }
                        src += outW
                    }
                }
            }
        }
    }
}

/// Per-channel sums of g [N, C, spatial] (bias gradients), in a fixed order per channel.
func channelSums(_ g: Tensor, batch: Int, channels: Int, spatial: Int) -> Tensor {
    let out = Tensor.empty([channels])
    let pg = g.pointer, po = out.pointer
    parallelFor(channels, minChunk: max(1, 65536 / max(1, batch * spatial))) { range in
        for c in range {
            var total = 0.0
            for n in 0..<batch {
                let p = pg + (n * channels + c) * spatial
                for i in 0..<spatial { total += Double(p[i]) }
            }
            po[c] = Float(total)
        }
    }
    return out
}

/// out[n, c, :] += bias[c] in place.
func addChannelBiasInPlace(_ out: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, batch: Int, channels: Int, spatial: Int) {
    parallelFor(batch * channels, minChunk: max(1, 65536 / max(1, spatial))) { range in
        for plane in range {
            let b = bias[plane % channels], p = out + plane * spatial
            for i in 0..<spatial { p[i] += b }
        }
    }
}
