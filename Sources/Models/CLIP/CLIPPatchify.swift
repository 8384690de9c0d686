import Engine

extension Tensor {
    /// Non-overlapping P×P patches of images [N, C, R, R] as rows [N, g², C·P·P] (g = R / P), patch index
    /// r·g + c row-major, each row in (channel, ky, kx) order: the im2col of a stride-P, kernel-P
    /// convolution without padding, so `conv1` becomes one GEMM against its weight viewed as [D, C·P·P].
    /// A pure reshuffle of pixels, so its backward pass (through `permuted`) is exact.
    public func patches(size p: Int) -> Tensor {
        precondition(rank == 4 && shape[2] == shape[3] && p > 0 && shape[2] % p == 0,
                     "patches: expected square images [N, C, R, R] with R a multiple of \(p), got \(shape)")
        let n = shape[0], c = shape[1], g = shape[2] / p
        return reshaped([n, c, g, p, g, p]).permuted([0, 2, 4, 1, 3, 5]).reshaped([n, g * g, c * p * p])
    }
}
