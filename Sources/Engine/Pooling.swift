/// Pooling and subsampling on tensors whose last two axes are H, W (NCHW).

extension Tensor {
    /// PyTorch `F.adaptive_avg_pool2d`: output cell i of an axis averages input [start, end) with
    /// start = floor(i·In/Out), end = ceil((i+1)·In/Out) (bins may overlap or repeat). Summed in float32 and
    /// divided by the bin height then width, as PyTorch's CPU kernel does.
    public func adaptiveAvgPool2d(height: Int, width: Int) -> Tensor {
        precondition(rank >= 2, "adaptiveAvgPool2d: input must have H and W as its last two axes, got \(shape)")
        precondition(height > 0 && width > 0, "adaptiveAvgPool2d: output size \(height)x\(width) must be positive")
        let x = self
        let h = shape[rank - 2], w = shape[rank - 1]
        precondition(h > 0 && w > 0, "adaptiveAvgPool2d: input of shape \(shape) has an empty spatial axis")
        let planes = count / (h * w)
        func bins(_ inSize: Int, _ outSize: Int) -> [(Int, Int)] {
            (0..<outSize).map { i in (i * inSize / outSize, ((i + 1) * inSize + outSize - 1) / outSize) }
        }
        let rowsBins = bins(h, height), colsBins = bins(w, width)
        var outShape = shape; outShape[rank - 2] = height; outShape[rank - 1] = width
        let out = Tensor.empty(outShape)
        let px = x.pointer, po = out.pointer
        parallelFor(planes, minChunk: max(1, 8192 / (h * w))) { r in
            for p in r {
                let src = px + p * h * w, dst = po + p * height * width
                for (oy, (y0, y1)) in rowsBins.enumerated() {
                    for (ox, (x0, x1)) in colsBins.enumerated() {
                        var s: Float = 0
                        for y in y0..<y1 { for xx in x0..<x1 { s += src[y * w + xx] } }
                        dst[oy * width + ox] = s / Float(y1 - y0) / Float(x1 - x0)
                    }
                }
            }
        }
        return out.recorded([x]) { g in
            let gx = Tensor.zeros(x.shape)
            let pg = g.pointer, pgx = gx.pointer
            parallelFor(planes, minChunk: max(1, 8192 / (h * w))) { r in
                for p in r {
                    let src = pg + p * height * width, dst = pgx + p * h * w
                    for (oy, (y0, y1)) in rowsBins.enumerated() {
                        for (ox, (x0, x1)) in colsBins.enumerated() {
                            let v = src[oy * width + ox] / Float(y1 - y0) / Float(x1 - x0)
                            for y in y0..<y1 { for xx in x0..<x1 { dst[y * w + xx] += v } }
                        }
                    }
                }
            }
            return [gx]
        }
    }

    /// `x[..., ::stride, ::stride]`: keeps every `stride`-th row and column starting at 0, i.e. the
    /// IR-SE shortcut's `MaxPool2d(kernel_size=1, stride=s)`. Output size ceil(H/s) x ceil(W/s).
    public func subsampled(stride s: Int) -> Tensor {
        precondition(rank >= 2, "subsampled: input must have H and W as its last two axes, got \(shape)")
        precondition(s >= 1, "subsampled: stride \(s) must be at least 1")
        let x = self
        let h = shape[rank - 2], w = shape[rank - 1]
        let oh = (h + s - 1) / s, ow = (w + s - 1) / s
        let planes = h * w == 0 ? 0 : count / (h * w)
        var outShape = shape; outShape[rank - 2] = oh; outShape[rank - 1] = ow
        let out = Tensor.empty(outShape)
        let px = x.pointer, po = out.pointer
        parallelFor(planes, minChunk: max(1, 8192 / max(1, oh * ow))) { r in
            for p in r {
                let src = px + p * h * w, dst = po + p * oh * ow
                for y in 0..<oh { for xx in 0..<ow { dst[y * ow + xx] = src[y * s * w + xx * s] } }
            }
        }
        return out.recorded([x]) { g in
            let gx = Tensor.zeros(x.shape)
            let pg = g.pointer, pgx = gx.pointer
            parallelFor(planes, minChunk: max(1, 8192 / max(1, oh * ow))) { r in
                for p in r {
                    let src = pg + p * oh * ow, dst = pgx + p * h * w
                    for y in 0..<oh { for xx in 0..<ow { dst[y * s * w + xx * s] = src[y * ow + xx] } }
                }
            }
            return [gx]
        }
    }
}
