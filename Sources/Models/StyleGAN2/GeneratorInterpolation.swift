import Engine

extension StyleGAN2Generator {
    /// Weight interpolation toward `other` (same architecture): every parameter P = P_self·(1−α) + P_other·α;
    /// buffers (noise, kernels) come from `self`, as in StyleGAN-NADA's video interpolation. α = 0 is this
    /// generator, α = 1 is `other`'s parameters. Used for `--strength` (base → adapted domain).
    public func interpolated(toward other: StyleGAN2Generator, alpha: Float) throws -> StyleGAN2Generator {
        guard other.config == config else {
            throw ModelLoadError("cannot interpolate \(source) with \(other.source): the architectures differ (\(config.size) px vs \(other.config.size) px or other widths)")
        }
        let result = copy()
        for name in parameterNames {
            let a = parameters[name]!, b = other.parameters[name]!
            let out = Tensor.zeros(a.shape)
            let pa = a.pointer, pb = b.pointer, po = out.pointer
            for i in 0..<a.count { po[i] = pa[i] * (1 - alpha) + pb[i] * alpha }
            try result.setParameter(name, out)
        }
        return result
    }
}
