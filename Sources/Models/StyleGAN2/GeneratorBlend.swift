import Engine

extension StyleGAN2Generator {
    /// A blend of domains adapted from this (base) generator: every parameter P = P_base + Σ wᵢ·(Pᵢ − P_base);
    /// buffers (noise maps, kernels) stay the base's, as `interpolated(toward:alpha:)` keeps them. With one
    /// domain this is the same as `interpolated(toward:alpha:)`.
    public func blended(_ domains: [(generator: StyleGAN2Generator, weight: Float)]) throws -> StyleGAN2Generator {
        for (g, w) in domains {
            guard g.config == config else {
                throw ModelLoadError("cannot blend \(g.source) with \(source): the architectures differ (\(g.config.size) px vs \(config.size) px or other widths)")
            }
            guard w.isFinite else { throw ModelLoadError("blend weight for \(g.source) is not a finite number") }
        }
        let result = copy()
        for name in parameterNames {
            let base = parameters[name]!
            let out = base.copy()
            let po = out.pointer, pb = base.pointer
            for (g, w) in domains {
                let pd = g.parameters[name]!.pointer
                for i in 0..<base.count { po[i] += w * (pd[i] - pb[i]) }
            }
            try result.setParameter(name, out)
        }
        return result
    }
}
