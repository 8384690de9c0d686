/// Convolution-family ops on NCHW tensors.
/// SIGNATURES ONLY: the implementations are being written (issue 2); every model codes against these.

extension Tensor {
    /// PyTorch `F.conv2d`: x [N, C, H, W], weight [O, C/groups, kh, kw], bias [O].
    public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, groups: Int = 1) -> Tensor {
        fatalError("conv2d: not implemented yet")
    }

    /// PyTorch `F.conv_transpose2d`: x [N, C, H, W], weight [C, O/groups, kh, kw] (PyTorch's layout), bias [O].
    public func convTranspose2d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, groups: Int = 1) -> Tensor {
        fatalError("convTranspose2d: not implemented yet")
    }

    /// StyleGAN2's `upfirdn2d` (rosinality `upfirdn2d_native`): zero-insert upsample by `up`, pad
    /// (negative pads crop), convolve every channel with the 2-D FIR `kernel` [kh, kw] (true convolution:
    /// the kernel is flipped, as the native code does), then keep every `down`-th pixel.
    /// `pad` is (x0, x1, y0, y1). The kernel is a constant (no gradient); x gets one.
    public func upfirdn2d(kernel: Tensor, up: Int = 1, down: Int = 1, pad: (x0: Int, x1: Int, y0: Int, y1: Int)) -> Tensor {
        fatalError("upfirdn2d: not implemented yet")
    }

    /// x [N, C, ...] + bias [C] broadcast over the spatial axes.
    public func addingChannelBias(_ bias: Tensor) -> Tensor {
        fatalError("addingChannelBias: not implemented yet")
    }

    /// x [N, C, ...] · scale [N, C] (per sample and channel), e.g. StyleGAN2 style modulation.
    public func scaledPerChannel(_ scale: Tensor) -> Tensor {
        fatalError("scaledPerChannel: not implemented yet")
    }
}
