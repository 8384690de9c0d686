/// Convolution-family ops on NCHW tensors.
/// SIGNATURES ONLY: the implementations are being written (issue 2); every model codes against these.
/// conv2d, convTranspose2d, upfirdn2d, addingChannelBias and scaledPerChannel live in their own files
/// (Conv2d.swift, ConvTranspose2d.swift, UpFirDn2d.swift, ChannelOps.swift).

extension Tensor {
    /// BatchNorm2d in inference mode with running statistics (PyTorch eps default 1e-5).
    public func batchNorm2d(weight: Tensor?, bias: Tensor?, runningMean: Tensor, runningVar: Tensor, eps: Float = 1e-5) -> Tensor {
        fatalError("batchNorm2d: not implemented yet")
    }

    /// PReLU with one slope per channel (axis 1) or a single shared slope.
    public func prelu(_ weight: Tensor) -> Tensor {
        fatalError("prelu: not implemented yet")
    }

    /// PyTorch `F.adaptive_avg_pool2d`.
    public func adaptiveAvgPool2d(height: Int, width: Int) -> Tensor {
        fatalError("adaptiveAvgPool2d: not implemented yet")
    }
}

public enum ResizeMode: Sendable { case bilinear, bicubic }

extension Tensor {
    /// PyTorch `F.interpolate(mode=bilinear|bicubic, align_corners=False, antialias=...)` on NCHW,
    /// differentiable w.r.t. x.
    public func resized(height: Int, width: Int, mode: ResizeMode, antialias: Bool) -> Tensor {
        fatalError("resized: not implemented yet")
    }
}
