/// Per-channel bias and per-(sample, channel) scaling on [N, C, ...] tensors.

extension Tensor {
    /// x [N, C, ...] + bias [C] broadcast over the spatial axes.
    public func addingChannelBias(_ bias: Tensor) -> Tensor {
        let x = self
        checkedShape { try ConvShapes.channelBias(input: x.shape, bias: bias.shape) }
        let N = x.shape[0], C = x.shape[1], S = x.count / max(1, N * C)
        let out = x.copy()
        addChannelBiasInPlace(out.pointer, bias.pointer, batch: N, channels: C, spatial: S)
        return out.recorded([x, bias]) { g in
            [x.needsGrad ? g : nil, bias.needsGrad ? channelSums(g, batch: N, channels: C, spatial: S) : nil]
        }
    }

    /// x [N, C, ...] · scale [N, C] (per sample and channel), e.g. StyleGAN2 style modulation.
    public func scaledPerChannel(_ scale: Tensor) -> Tensor {
        let x = self
        checkedShape { try ConvShapes.channelScale(input: x.shape, scale: scale.shape) }
        let N = x.shape[0], C = x.shape[1], S = x.count / max(1, N * C)
        let out = Tensor.empty(x.shape)
        scalePlanes(x.pointer, scale.pointer, into: out.pointer, planes: N * C, spatial: S)
        return out.recorded([x, scale]) { g in
            var gx: Tensor?, gs: Tensor?
            if x.needsGrad {
                let r = Tensor.empty(x.shape)
                scalePlanes(g.pointer, scale.pointer, into: r.pointer, planes: N * C, spatial: S)
                gx = r
            }
            if scale.needsGrad {
                // d/ds[n, c] = Σ_spatial g · x over that plane.
                let r = Tensor.empty(scale.shape)
                let pg = g.pointer, px = x.pointer, pr = r.pointer
                parallelFor(N * C, minChunk: max(1, 65536 / max(1, S))) { range in
                    for plane in range {
                        let a = pg + plane * S, b = px + plane * S
                        var total = 0.0
                        for i in 0..<S { total += Double(a[i] * b[i]) }
                        pr[plane] = Float(total)
                    }
                }
                gs = r
            }
            return [gx, gs]
        }
    }
}

/// out[plane, :] = src[plane, :] · scale[plane].
private func scalePlanes(_ src: UnsafePointer<Float>, _ scale: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                         planes: Int, spatial: Int) {
    parallelFor(planes, minChunk: max(1, 65536 / max(1, spatial))) { range in
        for plane in range {
            let s = scale[plane], a = src + plane * spatial, o = out + plane * spatial
            for i in 0..<spatial { o[i] = a[i] * s }
        }
    }
}
