import Foundation
import Engine
import Formats

/// NVlabs StyleGAN3 generators (stylegan3-t and stylegan3-r, `training/networks_stylegan3.py`), built from a
/// network pickle read as data. Facts the forward rests on:
/// - Mapping: as StyleGAN2-ADA (PixelNorm, lrelu FullyConnectedLayers with lr multiplier `bias_gain`).
/// - SynthesisInput: `t = affine(ws[0])` normalised by |t[0:2]| gives a rotation (c, s) and a translation
///   (tx, ty); M = R·T_t·transform, frequencies f·M[0:2,0:2], phases p + f·M[0:2,2], amplitudes
///   clamp(1 − (|f'| − bandwidth)/(sampling_rate/2 − bandwidth), 0, 1); features sin(2π(f'·grid + p'))·amp
///   on the align_corners=False grid scaled by size/(2·sampling_rate), mixed by weight/√C.
/// - SynthesisLayer: modulated conv with pre-normalised weight (per output channel by its RMS) and styles
///   (by their RMS over the whole batch), demodulation with 1e-8, input gain magnitude_ema^−½, padding k−1;
///   ToRGB: styles·1/√(in·k²), no demodulation. Then filtered_lrelu's reference path: + bias, upfirdn
///   with up_filter (⊗ itself, gain up²) and `padding`, √2·lrelu_0.2 (ToRGB: identity), clamp ±conv_clamp,
///   upfirdn with down_filter (separable, or 2-D radial for stylegan3-r) and stride `down`.
/// - Synthesis: layer k takes ws[k+1]; the output is scaled by `output_scale`.
/// fp16 layers run in float32, as NVlabs' `force_fp32=True`. `update_emas` is a training-time option
/// and is not modelled (the stored magnitude_ema is used).
public final class StyleGAN3Generator {
    public let source: String
    public let family: String
    public let zDim: Int
    public let wDim: Int
    public let numWs: Int
    public let resolution: Int
    /// Trainable tensors under their NVlabs `state_dict()` names (`synthesis.L0_36_512.weight`, …).
    public private(set) var parameters: [String: Tensor] = [:]
    /// Those names in NVlabs' `named_parameters()` order (mapping, input, then each layer's weight, bias, affine).
    public let parameterNames: [String]
    /// `list(G.synthesis.children())` by name: "input", then the layers in `layer_names` order ("L0_36_512", …).
    public let synthesisChildren: [String]
    /// `mapping.w_avg` as [1, w_dim]: the truncation centre.
    public var latentAverage: Tensor?

    struct Input {
        let channels: Int
        let width: Int, height: Int
        let samplingRate: Float
        let bandwidth: Float
        let transform: [Float] // 3×3, row-major
        let freqs: [Float]     // [C, 2]
        let phases: [Float]    // [C]
    }

    struct Layer {
        let name: String
        let isToRGB: Bool
        let kernel: Int
        let up: Int, down: Int
        let padding: (x0: Int, x1: Int, y0: Int, y1: Int)
        let clamp: Float?
        let inputGain: Float
        let upKernel: Tensor
        let downKernel: Tensor
    }

    let mappingLayers: [EqualLinear]
    let input: Input
    let layers: [Layer]
    let outputScale: Float

    /// `network` (`G_ema` by default, or `G`) of an NVlabs StyleGAN3 pickle as loaded by `loadFile`.
    public init(nvlabs file: LoadedFile, network: String = "G_ema") throws {
        let path = file.path
        source = path
        let networks = file.nvlabsNetworks
        guard let g = networks.first(where: { $0.key == network })?.module else {
            throw ModelLoadError("\(path): no network '\(network)' in this NVlabs pickle (it holds: "
                + (networks.isEmpty ? "none" : networks.map { "\($0.key) (\($0.module.className))" }.joined(separator: ", ")) + ")")
        }
        func fail(_ m: String) -> ModelLoadError { ModelLoadError("\(path) [\(network)]: \(m)") }
        guard g.className == "Generator", g.generatorFamily.hasPrefix("StyleGAN3") else {
            throw fail("network is a '\(g.className)' (\(g.generatorFamily)), not a StyleGAN3 Generator")
        }
        family = g.generatorFamily
        if let c = g.attribute("c_dim")?.int, c != 0 { throw fail("conditional generator (c_dim \(c)); only unconditional generators are supported") }
        func int(_ m: NVlabsModule, _ name: String, _ where_: String) throws -> Int {
            guard let v = m.attribute(name)?.int else { throw fail("'\(where_)' has no integer '\(name)'") }
            return v
        }
        func number(_ m: NVlabsModule, _ name: String, _ where_: String) throws -> Float {
            guard let v = m.attribute(name)?.double else { throw fail("'\(where_)' has no number '\(name)'") }
            return Float(v)
        }
        zDim = try int(g, "z_dim", "G")
        wDim = try int(g, "w_dim", "G")
        numWs = try int(g, "num_ws", "G")
        resolution = try int(g, "img_resolution", "G")
        guard let mapping = g.child("mapping"), let synthesis = g.child("synthesis"), let inputModule = synthesis.child("input") else {
            throw fail("generator lacks mapping, synthesis or synthesis.input")
        }
        var params: [String: Tensor] = [:]
        var order: [String] = []
        func tensor(_ a: ArrayData) -> Tensor {
            let t = Tensor.zeros(a.shape)
            a.copyFloats(into: t.pointer)
            return t
        }
        func need(_ m: NVlabsModule, _ name: String, _ prefix: String, shape: [Int]? = nil) throws -> ArrayData {
            guard let a = m.tensor(name), a.dtype.isFloatingPoint else { throw fail("missing float tensor '\(prefix).\(name)'") }
            if let shape, a.shape != shape { throw fail("'\(prefix).\(name)' has shape \(a.shape), expected \(shape)") }
            return a
        }
        func param(_ m: NVlabsModule, _ name: String, _ prefix: String, shape: [Int]? = nil) throws {
            params["\(prefix).\(name)"] = tensor(try need(m, name, prefix, shape: shape))
            order.append("\(prefix).\(name)")
        }

        // Mapping.
        if mapping.child("embed") != nil { throw fail("mapping has a class embedding (conditional generator)") }
        var fcs: [EqualLinear] = []
        for (i, fc) in mapping.children.filter({ $0.name.hasPrefix("fc") }).enumerated() {
            let p = "mapping.fc\(i)"
            guard fc.name == "fc\(i)" else { throw fail("mapping layer '\(fc.name)' is out of order") }
            let inF = i == 0 ? zDim : wDim
            try param(fc.module, "weight", p, shape: [wDim, inF])
            try param(fc.module, "bias", p, shape: [wDim])
            fcs.append(EqualLinear(name: p, inFeatures: inF, lrMul: Float(fc.module.attribute("bias_gain")?.double ?? 0.01), activation: true))
        }
        mappingLayers = fcs
        if let avg = mapping.tensor("w_avg") {
            guard avg.count == wDim else { throw fail("mapping.w_avg has shape \(avg.shape), expected [\(wDim)]") }
            latentAverage = tensor(avg).reshaped([1, wDim])
        }

        // Fourier-feature input.
        let ip = "synthesis.input"
        let channels = try int(inputModule, "channels", ip)
        let size: [Int]
        if let s = inputModule.attribute("size")?.tensor, s.count == 2 {
            size = s.dtype.isFloatingPoint ? s.floats().map { Int($0) } : s.int64s().map { Int($0) }
        } else if let s = inputModule.attribute("size")?.int {
            size = [s, s]
        } else { throw fail("'\(ip)' has no size") }
        try param(inputModule, "weight", ip, shape: [channels, channels])
        guard let inAffine = inputModule.child("affine") else { throw fail("'\(ip)' has no affine layer") }
        try param(inAffine, "weight", ip + ".affine", shape: [4, wDim])
        try param(inAffine, "bias", ip + ".affine", shape: [4])
        input = Input(channels: channels, width: size[0], height: size[1],
                      samplingRate: try number(inputModule, "sampling_rate", ip), bandwidth: try number(inputModule, "bandwidth", ip),
                      transform: try need(inputModule, "transform", ip, shape: [3, 3]).floats(),
                      freqs: try need(inputModule, "freqs", ip, shape: [channels, 2]).floats(),
                      phases: try need(inputModule, "phases", ip, shape: [channels]).floats())

        // Layers, in `layer_names` order.
        let names: [String]
        if case .list(let xs)? = synthesis.attribute("layer_names") {
            names = xs.compactMap(\.string)
        } else {
            names = synthesis.children.map(\.name).filter { $0 != "input" }
        }
        guard names.count == numWs - 1 else { throw fail("synthesis has \(names.count) layers for \(numWs) ws (expected \(numWs - 1))") }
        var built: [Layer] = []
        for name in names {
            let p = "synthesis.\(name)"
            guard let m = synthesis.child(name) else { throw fail("synthesis has no layer '\(name)'") }
            let isToRGB = m.attribute("is_torgb")?.bool ?? false
            let k = try int(m, "conv_kernel", p)
            let cin = try int(m, "in_channels", p), cout = try int(m, "out_channels", p)
            try param(m, "weight", p, shape: [cout, cin, k, k])
            try param(m, "bias", p, shape: [cout])
            guard let affine = m.child("affine") else { throw fail("'\(p)' has no affine layer") }
            try param(affine, "weight", p + ".affine", shape: [cin, wDim])
            try param(affine, "bias", p + ".affine", shape: [cin])
            guard case .list(let pad)? = m.attribute("padding"), pad.count == 4, let pads = Optional(pad.compactMap(\.int)), pads.count == 4 else {
                throw fail("'\(p)' has no 4-element padding")
            }
            let up = try int(m, "up_factor", p), down = try int(m, "down_factor", p)
            let magnitude = try need(m, "magnitude_ema", p).floats().first ?? 1
            func fir(_ name: String, gain: Float) throws -> Tensor {
                guard let f = m.tensor(name) else { return Tensor(shape: [1, 1], repeating: gain) }
                let v = f.floats()
                if f.shape.count == 1 {
                    // NVlabs applies a 1-D filter along both axes; as one 2-D kernel that is f ⊗ f.
                    var k2: [Float] = []
                    for a in v { for b in v { k2.append(a * b * gain) } }
                    return Tensor(shape: [v.count, v.count], values: k2)
                }
                guard f.shape.count == 2 else { throw fail("'\(p).\(name)' has shape \(f.shape)") }
                return Tensor(shape: f.shape, values: v.map { $0 * gain })
            }
            built.append(Layer(name: p, isToRGB: isToRGB, kernel: k, up: up, down: down,
                               padding: (pads[0], pads[1], pads[2], pads[3]),
                               clamp: m.attribute("conv_clamp")?.double.map(Float.init),
                               inputGain: 1 / magnitude.squareRoot(),
                               upKernel: try fir("up_filter", gain: Float(up * up)), downKernel: try fir("down_filter", gain: 1)))
        }
        layers = built
        outputScale = Float(synthesis.attribute("output_scale")?.double ?? 1)
        parameters = params
        parameterNames = order
        synthesisChildren = ["input"] + names
    }

    var tensors: StyleGAN2Tensors { StyleGAN2Tensors(parameters: parameters, buffers: [:]) }

    /// A deep copy of the parameters (same `requiresGrad` flags, no gradients) and of `latentAverage`; the
    /// structure and the fixed filters are shared, as nothing writes them.
    public func copy() -> StyleGAN3Generator { StyleGAN3Generator(copying: self) }

    private init(copying g: StyleGAN3Generator) {
        source = g.source; family = g.family
        zDim = g.zDim; wDim = g.wDim; numWs = g.numWs; resolution = g.resolution
        parameters = g.parameters.mapValues { t in let c = t.copy(); c.requiresGrad = t.requiresGrad; return c }
        latentAverage = g.latentAverage?.copy()
        parameterNames = g.parameterNames; synthesisChildren = g.synthesisChildren
        mappingLayers = g.mappingLayers; input = g.input; layers = g.layers; outputScale = g.outputScale
    }

    /// True when `other` has this generator's family and every parameter with the same name and shape (what
    /// training twins and weight blends need).
    public func hasSameArchitecture(as other: StyleGAN3Generator) -> Bool {
        family == other.family && parameterNames == other.parameterNames
            && parameterNames.allSatisfy { parameters[$0]!.shape == other.parameters[$0]!.shape }
    }

    /// Sets this generator's parameters to `base + Σ wᵢ·(domainᵢ − base)` (StyleGAN2Generator.setBlend's rule: a
    /// waypoint that is one whole domain copies it exactly). Buffers (filters, magnitude EMAs, w_avg) are the
    /// base's, which training never changes.
    public func setBlend(base: StyleGAN3Generator, _ domains: [(generator: StyleGAN3Generator, weight: Float)]) throws {
        for g in [base] + domains.map(\.generator) where !hasSameArchitecture(as: g) {
            throw ModelLoadError("cannot blend \(g.source) into \(source): the architectures differ (\(g.family), \(g.resolution) px vs \(family), \(resolution) px or other widths)")
        }
        for (g, w) in domains where !w.isFinite { throw ModelLoadError("blend weight for \(g.source) is not a finite number") }
        let whole = domains.filter { $0.weight != 0 }
        let from = whole.count == 1 && whole[0].weight == 1 ? whole[0].generator : base
        for name in parameterNames {
            let pb = base.parameters[name]!.pointer, po = parameters[name]!.pointer
            let count = parameters[name]!.count
            po.update(from: from.parameters[name]!.pointer, count: count)
            if from !== base { continue }
            for (g, w) in domains where w != 0 {
                let pd = g.parameters[name]!.pointer
                for i in 0..<count { po[i] += w * (pd[i] - pb[i]) }
            }
        }
    }

    public var familyName: String { family }

    /// Sets `requiresGrad` on the parameters whose name satisfies `predicate` (all by default).
    public func setRequiresGrad(_ flag: Bool, where predicate: (String) -> Bool = { _ in true }) {
        for (name, t) in parameters where predicate(name) { t.requiresGrad = flag }
    }

    /// Overwrites parameter `name`'s values with `value`'s (same shape required); the tensor object stays, so
    /// its `requiresGrad` and anyone holding it see the new values.
    public func setParameter(_ name: String, _ value: Tensor) throws {
        guard let old = parameters[name] else { throw ModelLoadError("\(source): no parameter '\(name)' in this \(family) generator") }
        guard old.shape == value.shape else {
            throw ModelLoadError("\(source): parameter '\(name)' has shape \(old.shape), the new value has \(value.shape)")
        }
        old.withMutableValues { dst in for i in 0..<dst.count { dst[i] = value.pointer[i] } }
    }

    /// The mean of `count` mapped N(0, 1) codes from `SeededRandom(seed:)`, [1, w_dim] (for a G without
    /// `w_avg`; NVlabs' own truncation uses `w_avg`). Not recorded.
    public func meanLatent(count: Int = 4096, seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        let z = Tensor.randn([count, zDim], using: &rng)
        return Autograd.noGrad { mapped(z).mean(axis: 0, keepDims: true) }
    }

    /// W [B, w_dim] (broadcast to every row, as NVlabs' mapping does) or W+ [B, num_ws, w_dim] → image.
    /// StyleGAN3 has no noise inputs, so `noise` changes nothing.
    public func synthesize(_ w: Tensor, noise: StyleGAN2Noise = .stored) throws -> Tensor {
        if w.rank == 2 {
            guard w.shape[1] == wDim else { throw ShapeError("StyleGAN3: W codes must be [B, \(wDim)], got \(w.shape)") }
            return try synthesis(ws: w.reshaped([w.shape[0], 1, wDim]).expanded(to: [w.shape[0], numWs, wDim]))
        }
        return try synthesis(ws: w)
    }

    /// z [N, z_dim] → w [N, w_dim] (before truncation).
    public func mapping(_ z: Tensor) throws -> Tensor {
        guard z.rank == 2, z.shape[1] == zDim else { throw ShapeError("StyleGAN3 mapping: z must be [N, \(zDim)], got \(z.shape)") }
        return mapped(z)
    }

    func mapped(_ z: Tensor) -> Tensor {
        var x = pixelNorm(z)
        let t = tensors
        for layer in mappingLayers { x = layer(x, t) }
        return x
    }

    /// ws [B, num_ws, w_dim] → image [B, 3, resolution, resolution].
    public func synthesis(ws: Tensor) throws -> Tensor {
        guard ws.rank == 3, ws.shape[1] == numWs, ws.shape[2] == wDim else {
            throw ShapeError("StyleGAN3 synthesis: ws must be [B, \(numWs), \(wDim)], got \(ws.shape)")
        }
        let b = ws.shape[0]
        let w = (0..<numWs).map { ws.slice(axis: 1, $0..<($0 + 1)).reshaped([b, wDim]) }
        var x = fourierFeatures(w[0])
        for (k, layer) in layers.enumerated() { x = apply(layer, x, w[k + 1]) }
        return outputScale == 1 ? x : x * outputScale
    }

    func fourierFeatures(_ w: Tensor) -> Tensor {
        let t = tensors, inp = input, b = w.shape[0], c = inp.channels
        let affine = EqualLinear(name: "synthesis.input.affine", inFeatures: wDim, lrMul: 1, activation: false)
        let raw = affine(w, t) // [B, 4] = (r_c, r_s, t_x, t_y)
        func col(_ i: Int) -> Tensor { raw.slice(axis: 1, i..<(i + 1)) } // [B, 1]
        let norm = (col(0).square() + col(1).square()).sqrt()
        let cs = col(0) / norm, sn = col(1) / norm, tx = col(2) / norm, ty = col(3) / norm
        // A = rotation · translation (rows 0 and 1; row 2 is [0, 0, 1]), then M = A · transform.
        let a: [[Tensor]] = [[cs, -1 * sn, -1 * (cs * tx) + sn * ty], [sn, cs, -1 * (sn * tx) - cs * ty]]
        let tr = inp.transform
        func m(_ i: Int, _ j: Int) -> Tensor { a[i][0] * tr[j] + a[i][1] * tr[3 + j] + a[i][2] * tr[6 + j] } // [B, 1]
        let f0 = Tensor(shape: [1, c], values: (0..<c).map { inp.freqs[2 * $0] })
        let f1 = Tensor(shape: [1, c], values: (0..<c).map { inp.freqs[2 * $0 + 1] })
        let fx = f0 * m(0, 0) + f1 * m(1, 0) // [B, C]
        let fy = f0 * m(0, 1) + f1 * m(1, 1)
        let phase = Tensor(shape: [1, c], values: inp.phases) + f0 * m(0, 2) + f1 * m(1, 2)
        let amplitude = (1 - ((fx.square() + fy.square()).sqrt() - inp.bandwidth) / (inp.samplingRate / 2 - inp.bandwidth)).clamped(0, 1)
        // affine_grid(align_corners=False) of diag(size / (2·sampling_rate)): pixel centres in [−1, 1], scaled.
        let sx = 0.5 * Float(inp.width) / inp.samplingRate, sy = 0.5 * Float(inp.height) / inp.samplingRate
        let gx = Tensor(shape: [1, 1, 1, inp.width], values: (0..<inp.width).map { sx * (Float(2 * $0 + 1) / Float(inp.width) - 1) })
        let gy = Tensor(shape: [1, 1, inp.height, 1], values: (0..<inp.height).map { sy * (Float(2 * $0 + 1) / Float(inp.height) - 1) })
        let arg = fx.reshaped([b, c, 1, 1]) * gx + fy.reshaped([b, c, 1, 1]) * gy + phase.reshaped([b, c, 1, 1])
        let features = (arg * (2 * Float.pi)).sin() * amplitude.reshaped([b, c, 1, 1])
        let mix = t.parameter("synthesis.input.weight") * (1 / Float(c).squareRoot())
        return features.conv2d(weight: mix.reshaped([c, c, 1, 1]))
    }

    func apply(_ l: Layer, _ x: Tensor, _ w: Tensor) -> Tensor {
        let t = tensors
        let affine = EqualLinear(name: l.name + ".affine", inFeatures: wDim, lrMul: 1, activation: false)
        var s = affine(w, t) // [B, in]
        var weight = t.parameter(l.name + ".weight")
        var out: Tensor
        if l.isToRGB {
            s = s * (1 / Float(weight.shape[1] * l.kernel * l.kernel).squareRoot())
            out = x.scaledPerChannel(s).conv2d(weight: weight, padding: l.kernel - 1) * l.inputGain
        } else {
            // Pre-normalisation (weight per output channel, styles over the whole batch), then demodulation.
            weight = weight * weight.square().mean(axes: [1, 2, 3], keepDims: true).rsqrt()
            s = s * s.square().mean().rsqrt()
            let q = weight.square().sum(axes: [2, 3]) // [out, in]
            let d = (s.square().linear(weight: q) + 1e-8).rsqrt() // [B, out]
            out = x.scaledPerChannel(s).conv2d(weight: weight, padding: l.kernel - 1).scaledPerChannel(d * l.inputGain)
        }
        // filtered_lrelu, reference path.
        out = out.addingChannelBias(t.parameter(l.name + ".bias"))
        out = out.upfirdn2d(kernel: l.upKernel, up: l.up, down: 1, pad: l.padding)
        if !l.isToRGB {
            // √2·lrelu_0.2, as torch's leaky_relu then the gain. Its derivative at 0 is the slope's (as torch's):
            // the zero padding around the upsampled signal leaves exact zeros here, and with the derivative 1 there
            // grad_ws of the stylegan3-t pack was off by 3e-4 of its largest value.
            out = out.leakyReLU(slope: 0.2, gain: Float(2).squareRoot())
        }
        if let c = l.clamp { out = out.clamped(-c, c) }
        return out.upfirdn2d(kernel: l.downKernel, up: 1, down: l.down, pad: (0, 0, 0, 0))
    }
}
