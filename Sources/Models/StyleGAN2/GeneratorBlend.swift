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

extension StyleGAN2Generator {
    /// Overwrites this generator's parameters in place with `base + Σ wᵢ·(domainᵢ − base)` (the parameters of
    /// `base.blended(domains)`), allocating nothing: `video` renders thousands of frames through one generator
    /// made this way, so memory stays flat. Buffers are left as they are (a `base.copy()` keeps the base's).
    public func setBlend(base: StyleGAN2Generator, _ domains: [(generator: StyleGAN2Generator, weight: Float)]) throws {
        for g in [base] + domains.map(\.generator) where g.config != config {
            throw ModelLoadError("cannot blend \(g.source) into \(source): the architectures differ (\(g.config.size) px vs \(config.size) px or other widths)")
        }
        for (g, w) in domains where !w.isFinite { throw ModelLoadError("blend weight for \(g.source) is not a finite number") }
        // A waypoint that is one whole domain gets that domain's parameters exactly (no rounding through base).
        let whole = domains.filter { $0.weight != 0 }
        let source = whole.count == 1 && whole[0].weight == 1 ? whole[0].generator : base
        for name in parameterNames {
            let pb = base.parameters[name]!.pointer, po = parameters[name]!.pointer
            let count = parameters[name]!.count
            po.update(from: source.parameters[name]!.pointer, count: count)
            if source !== base { continue }
            for (g, w) in domains where w != 0 {
                let pd = g.parameters[name]!.pointer
                for i in 0..<count { po[i] += w * (pd[i] - pb[i]) }
            }
        }
    }
}
