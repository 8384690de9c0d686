import Engine

/// Latent handling and synthesis (spec §1.6–1.7).
extension StyleGAN2Generator {
    /// z [N, style_dim] → w [N, style_dim] through PixelNorm and the mapping MLP.
    public func mapping(_ z: Tensor) throws -> Tensor {
        guard z.rank == 2, z.shape[1] == config.styleDim else {
            throw ShapeError("StyleGAN2 mapping: z codes must be [N, \(config.styleDim)], got \(z.shape)")
        }
        return mapping(z, tensors)
    }

    /// rosinality `mean_latent(n)`: the mean of `count` mapped N(0, 1) codes drawn from
    /// `SeededRandom(seed:)`, as [1, style_dim]. Not recorded.
    public func meanLatent(count: Int = 4096, seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        let z = Tensor.randn([count, config.styleDim], using: &rng)
        return Autograd.noGrad { mapping(z, tensors).mean(axis: 0, keepDims: true) }
    }

    /// The generator's forward (rosinality `forward_with_w`).
    /// - `styles`: one tensor — Z or W [B, style_dim], or W+ [B, n_latent, style_dim] — or two W/Z
    ///   tensors for style mixing (rows 0..<injectIndex from the first, the rest from the second).
    /// - `inputIsLatent`: false maps every style through the mapping network first (Z input).
    /// - `truncation` < 1 pulls every style towards `truncationLatent` ([1, style_dim] or [style_dim]).
    /// - `injectIndex`: required for mixing (rosinality draws it at random in 1 ... n_latent−1).
    /// Returns the image [B, 3, size, size].
    public func forward(_ styles: [Tensor], inputIsLatent: Bool, truncation: Float = 1, truncationLatent: Tensor? = nil,
                        injectIndex: Int? = nil, noise: StyleGAN2Noise = .stored) throws -> Tensor {
        let d = config.styleDim, n = config.nLatent
        guard !styles.isEmpty else { throw ShapeError("StyleGAN2 forward: no style codes given") }
        var ws = styles
        if !inputIsLatent {
            ws = try styles.map { z in
                guard z.rank == 2 else { throw ShapeError("StyleGAN2 forward: z codes must be [B, \(d)], got \(z.shape)") }
                return try mapping(z)
            }
        }
        for w in ws {
            let ok = (w.rank == 2 && w.shape[1] == d) || (w.rank == 3 && w.shape[1] == n && w.shape[2] == d)
            guard ok else {
                throw ShapeError("StyleGAN2 forward: latent codes must be W [B, \(d)] or W+ [B, \(n), \(d)] for this generator "
                    + "(size \(config.size)), got \(w.shape)")
            }
        }
        if truncation < 1 {
            guard let tl = truncationLatent else { throw ShapeError("StyleGAN2 forward: truncation \(truncation) needs a truncation latent") }
            guard tl.count == d else { throw ShapeError("StyleGAN2 forward: truncation latent must have \(d) values, got \(tl.shape)") }
            let t = tl.reshaped([1, d])
            // [1, d] broadcasts against W [B, d] and W+ [B, n_latent, d] alike.
            ws = ws.map { w in t + truncation * (w - t) }
        }
        let batch = ws[0].shape[0]
        guard ws.allSatisfy({ $0.shape[0] == batch }) else {
            throw ShapeError("StyleGAN2 forward: style codes disagree on the batch size: \(ws.map { $0.shape })")
        }
        var perLayer: [Tensor]
        if ws.count == 1 {
            let w = ws[0]
            perLayer = w.rank == 2 ? Array(repeating: w, count: n)
                                   : (0..<n).map { w.slice(axis: 1, $0..<($0 + 1)).reshaped([batch, d]) }
        } else {
            guard ws.count == 2 else { throw ShapeError("StyleGAN2 forward: style mixing takes two codes, got \(ws.count)") }
            guard ws.allSatisfy({ $0.rank == 2 }) else { throw ShapeError("StyleGAN2 forward: style mixing needs two W/Z codes [B, \(d)]") }
            guard let k = injectIndex else { throw ShapeError("StyleGAN2 forward: style mixing needs an inject index in 1...\(n - 1)") }
            guard k >= 0 && k <= n else { throw ShapeError("StyleGAN2 forward: inject index \(k) outside 0...\(n)") }
            perLayer = (0..<n).map { $0 < k ? ws[0] : ws[1] }
        }
        let maps = try noiseMaps(noise, batch: batch)
        return synthesis(perLayer, noise: maps)
    }

    /// W+ codes [B, n_latent, style_dim] → image.
    public func forward(wPlus: Tensor, noise: StyleGAN2Noise = .stored) throws -> Tensor {
        guard wPlus.rank == 3 else {
            throw ShapeError("StyleGAN2 forward: W+ codes must be [B, \(config.nLatent), \(config.styleDim)], got \(wPlus.shape)")
        }
        return try forward([wPlus], inputIsLatent: true, noise: noise)
    }

    /// The noise map for every layer, checked against the layer's resolution.
    public func noiseMaps(_ noise: StyleGAN2Noise, batch: Int) throws -> [Tensor] {
        let count = config.numLayers
        switch noise {
        case .stored:
            return try (0..<count).map { i in
                guard let t = buffers["noises.noise_\(i)"] else {
                    throw ModelLoadError("\(source): stored noise requested but 'noises.noise_\(i)' is not in the checkpoint; use random noise")
                }
                return t
            }
        case .random(let seed):
            var rng = SeededRandom(seed: seed)
            return (0..<count).map { i in
                let r = config.noiseResolution(i)
                return Tensor.randn([batch, 1, r, r], using: &rng)
            }
        case .explicit(let maps):
            guard maps.count == count else { throw ShapeError("StyleGAN2: \(maps.count) noise maps given, the generator has \(count) layers") }
            for (i, m) in maps.enumerated() {
                let r = config.noiseResolution(i)
                guard m.shape == [1, 1, r, r] || m.shape == [batch, 1, r, r] else {
                    throw ShapeError("StyleGAN2: noise map \(i) must be [1, 1, \(r), \(r)] or [\(batch), 1, \(r), \(r)], got \(m.shape)")
                }
            }
            return maps
        }
    }

    /// Synthesis from one w [B, style_dim] per layer (n_latent of them) and one noise map per conv.
    /// w[1] drives both to_rgb1 and convs[0]; to_rgbs[k] shares w[2k+3] with convs[2k+2].
    func synthesis(_ w: [Tensor], noise: [Tensor]) -> Tensor {
        let t = tensors
        let form = modulationForm, plan = convPlan
        let clamp = convClamp
        let batch = w[0].shape[0]
        let constant = t.parameter("input.input")
        var out = constant.expanded(to: [batch] + Array(constant.shape.dropFirst()))
        out = conv1(out, w[0], noise: noise[0], t, form: form, plan: plan, clamp: clamp)
        var skip = toRGB1(out, w[1], skip: nil, t, clamp: clamp)
        var i = 1
        for k in 0..<toRGBs.count {
            out = convs[2 * k](out, w[i], noise: noise[2 * k + 1], t, form: form, plan: plan, clamp: clamp)
            out = convs[2 * k + 1](out, w[i + 1], noise: noise[2 * k + 2], t, form: form, plan: plan, clamp: clamp)
            skip = toRGBs[k](out, w[i + 2], skip: skip, t, clamp: clamp)
            i += 2
        }
        return skip
    }
}
