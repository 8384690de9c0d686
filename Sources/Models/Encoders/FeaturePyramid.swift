import Engine

/// pSp's `_upsample_add`: bilinear resize of `x` to `y`'s size with align_corners=True, plus `y`.
/// Encoders run forward only, so this is computed directly and not recorded.
func upsampleAdd(_ x: Tensor, _ y: Tensor) -> Tensor {
    let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    let oh = y.shape[2], ow = y.shape[3]
    precondition(y.shape[0] == n && y.shape[1] == c, "upsampleAdd: \(x.shape) vs \(y.shape)")
    let out = y.detached().copy()
    // Scales and source coordinates in float32, as PyTorch's CPU kernel computes them.
    let sy: Float = oh > 1 ? Float(h - 1) / Float(oh - 1) : 0
    let sx: Float = ow > 1 ? Float(w - 1) / Float(ow - 1) : 0
    let px = x.pointer, po = out.pointer
    parallelFor(n * c) { r in
        for plane in r {
            let src = px + plane * h * w, dst = po + plane * oh * ow
            for i in 0..<oh {
                let fy = Float(i) * sy
                let y0 = min(Int(fy), h - 1), y1 = min(y0 + 1, h - 1)
                let ly = fy - Float(y0)
                for j in 0..<ow {
                    let fx = Float(j) * sx
                    let x0 = min(Int(fx), w - 1), x1 = min(x0 + 1, w - 1)
                    let lx = fx - Float(x0)
                    let top = src[y0 * w + x0] * (1 - lx) + src[y0 * w + x1] * lx
                    let bottom = src[y1 * w + x0] * (1 - lx) + src[y1 * w + x1] * lx
                    dst[i * ow + j] += top * (1 - ly) + bottom * ly
                }
            }
        }
    }
    return out
}
