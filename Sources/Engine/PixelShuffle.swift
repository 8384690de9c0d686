/// PyTorch's `pixel_shuffle`: [N, C·r², H, W] → [N, C, H·r, W·r] with
/// out[n, c, r·y + i, r·x + j] = in[n, c·r² + i·r + j, y, x]. Its backward is the inverse permutation.
/// Used to interleave the output phases of a polyphase upsampling conv.

extension Tensor {
    public func pixelShuffle(_ r: Int) -> Tensor {
        let x = self
        precondition(x.rank == 4 && r >= 1 && x.shape[1] % (r * r) == 0,
                     "pixelShuffle: input must be [N, C·\(r * r), H, W], got \(x.shape)")
        let (N, C, H, W) = (x.shape[0], x.shape[1] / (r * r), x.shape[2], x.shape[3])
        let out = Tensor.empty([N, C, H * r, W * r])
        pixelShuffleRaw(x.pointer, into: out.pointer, planes: N * C, r: r, height: H, width: W, inverse: false)
        return out.recorded([x]) { g in
            let gx = Tensor.empty(x.shape)
            pixelShuffleRaw(g.pointer, into: gx.pointer, planes: N * C, r: r, height: H, width: W, inverse: true)
            return [gx]
        }
    }
}

/// Moves every value between the r² phase planes [r², H, W] of each plane group and the interleaved
/// plane [H·r, W·r] (`inverse` goes from interleaved to phases).
private func pixelShuffleRaw(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>,
                             planes: Int, r: Int, height H: Int, width W: Int, inverse: Bool) {
    let group = r * r * H * W
    parallelFor(planes * H, minChunk: max(1, 16384 / max(1, r * r * W))) { range in
        for row in range {
            let p = row / H, y = row - p * H
            let phases = (inverse ? dst : UnsafeMutablePointer(mutating: src)) + p * group
            let wide = (inverse ? UnsafeMutablePointer(mutating: src) : dst) + p * group
            for i in 0..<r {
                let line = wide + (y * r + i) * W * r
                for j in 0..<r {
                    let plane = phases + ((i * r + j) * H + y) * W
                    if inverse {
                        for x in 0..<W { plane[x] = line[x * r + j] }
                    } else {
                        for x in 0..<W { line[x * r + j] = plane[x] }
                    }
                }
            }
        }
    }
}
