import Foundation
import Engine
import Formats

/// StyleGAN2-ADA generators (NVlabs stylegan2-ada-pytorch `training/networks.py`) as rosinality-layout
/// generators. The two compute the same function; the facts the mapping rests on:
/// - FullyConnectedLayer stores unscaled weights with runtime gains lr/√in (weight) and lr (bias), and
///   lrelu layers compute √2·lrelu(x·Wᵀ + b): rosinality's EqualLinear. The mapping's lr multiplier is the
///   layer's `bias_gain`; `normalize_2nd_moment` is PixelNorm; `w_avg.lerp(w, ψ)` is rosinality truncation.
/// - SynthesisLayer: modulated 3×3 conv of the unscaled weight by `affine(w)` (bias init 1), demodulated
///   (rosinality scales W by 1/√fan_in before demodulating, which cancels; only the 1e-8 under the root moves,
///   a relative 1e-8 effect), `+ noise_const·noise_strength`, `+ bias`, √2·lrelu, then clamp to ±conv_clamp.
///   Upsampling convs are a stride-2 transposed conv then the [1,3,3,1] filter with gain 4 and padding 1:
///   rosinality's transposed conv + blur.
/// - ToRGBLayer: 1×1 modulated conv without demodulation, style scaled by 1/√in, + bias, clamped; the skip
///   image is upsampled with the same filter (padding 2/1, gain 4) and added: rosinality's ToRGB.
/// - Block b4 holds `const`, conv1, torgb; every later block conv0 (up), conv1, torgb. Block k consumes
///   ws[2k−1 ..< 2k+2] with the torgb sharing the next block's first w: rosinality's latent indexing.
/// What rosinality cannot express is an option of `StyleGAN2Generator` (`convClamp`, the config's `lrMLP`).
/// fp16 blocks (`num_fp16_res`) run in float32 here, as NVlabs' own `force_fp32=True`.
public struct ADAConversion {
    /// The rosinality `g_ema` state dict, in rosinality order.
    public let stateDict: [(name: String, array: ArrayData)]
    /// `mapping.w_avg`, rosinality's `latent_avg` ([w_dim]).
    public let latentAverage: ArrayData?
    public let convClamp: Float?
    public let lrMLP: Float

    /// The two filters NVlabs registers as `resample_filter`: [1,3,3,1]ᵀ[1,3,3,1] / 64.
    static let resampleFilter: [Float] = {
        var f: [Float] = []
        for a in blurTaps { for b in blurTaps { f.append(a * b / 64) } }
        return f
    }()

    public init(generator g: NVlabsModule, source: String) throws {
        func fail(_ message: String) -> ModelLoadError { ModelLoadError("\(source): \(message)") }
        guard g.className == "Generator" else {
            throw fail("network is a '\(g.className)', not a StyleGAN2-ADA Generator")
        }
        guard g.generatorFamily == "StyleGAN2-ADA" else {
            throw fail("this is an NVlabs \(g.generatorFamily) generator; nada-edit's commands run StyleGAN2 generators, and only "
                + "StyleGAN2-ADA pickles convert to one (StyleGAN3's synthesis network is a different model; see the README)")
        }
        if let c = g.attribute("c_dim")?.int, c != 0 {
            throw fail("conditional generator (c_dim \(c)) needs a class label for every image; only unconditional generators are supported")
        }
        if let ch = g.attribute("img_channels")?.int, ch != 3 {
            throw fail("generator makes \(ch)-channel images; only RGB (3) is supported")
        }
        guard let mapping = g.child("mapping"), let synthesis = g.child("synthesis") else {
            throw fail("generator has no 'mapping' and 'synthesis' networks")
        }
        func need(_ m: NVlabsModule, _ name: String, _ path: String) throws -> ArrayData {
            guard let t = m.tensor(name) else { throw fail("missing tensor '\(path).\(name)'") }
            guard t.dtype.isFloatingPoint else { throw fail("tensor '\(path).\(name)' has dtype \(t.dtype.rawValue)") }
            return t
        }
        func reshaped(_ a: ArrayData, _ shape: [Int], _ path: String) throws -> ArrayData {
            guard a.count == shape.reduce(1, *) else { throw fail("tensor '\(path)' has shape \(a.shape), cannot be \(shape)") }
            return try ArrayData(dtype: a.dtype, shape: shape, bytes: a.bytes)
        }
        var out: [String: ArrayData] = [:]

        // Mapping: fc0 ... fc{n-1} → style.1 ... style.n.
        var lr: Float? = nil
        let fcs = mapping.children.filter { $0.name.hasPrefix("fc") }
        if mapping.child("embed") != nil { throw fail("mapping has a class embedding (conditional generator); not supported") }
        for (i, fc) in fcs.enumerated() {
            guard fc.name == "fc\(i)" else { throw fail("mapping layer '\(fc.name)' is out of order (expected fc\(i))") }
            let w = try need(fc.module, "weight", "mapping.\(fc.name)")
            guard w.shape.count == 2, w.shape[0] == w.shape[1] else {
                throw fail("mapping.\(fc.name).weight has shape \(w.shape); the StyleGAN2 layout needs z_dim = w_dim = the mapping width")
            }
            if let act = fc.module.attribute("activation")?.string, act != "lrelu" {
                throw fail("mapping.\(fc.name) uses activation '\(act)'; only lrelu is supported")
            }
            let gain = Float(fc.module.attribute("bias_gain")?.double ?? 0.01)
            if let lr, abs(lr - gain) > 1e-7 { throw fail("mapping layers use different lr multipliers (\(lr), \(gain))") }
            lr = gain
            out["style.\(i + 1).weight"] = w
            out["style.\(i + 1).bias"] = try need(fc.module, "bias", "mapping.\(fc.name)")
        }
        lrMLP = lr ?? 0.01
        latentAverage = mapping.tensor("w_avg")

        // Synthesis blocks b4, b8, ... in order.
        let blocks = synthesis.children
        guard let first = blocks.first, first.name == "b4" else { throw fail("synthesis has no block 'b4'") }
        var clamp: Float?? = .none // unset; .some(nil) = no clamp
        var noiseIndex = 0
        func checkFilter(_ m: NVlabsModule, _ path: String) throws {
            guard let f = m.tensor("resample_filter") else { return }
            let v = f.floats()
            guard f.shape == [4, 4], zip(v, Self.resampleFilter).allSatisfy({ abs($0 - $1) < 1e-6 }) else {
                throw fail("'\(path).resample_filter' is not the [1,3,3,1] filter; only that filter is supported")
            }
        }
        func layer(_ m: NVlabsModule, _ path: String, to name: String, up: Bool) throws {
            let w = try need(m, "weight", path)
            guard w.shape.count == 4, w.shape[2] == 3, w.shape[3] == 3 else { throw fail("'\(path).weight' has shape \(w.shape), expected [out, in, 3, 3]") }
            if let act = m.attribute("activation")?.string, act != "lrelu" { throw fail("'\(path)' uses activation '\(act)'; only lrelu is supported") }
            let u = m.attribute("up")?.int ?? (up ? 2 : 1)
            guard u == (up ? 2 : 1) else { throw fail("'\(path)' has up = \(u), expected \(up ? 2 : 1)") }
            try checkFilter(m, path)
            let layerClamp = m.attribute("conv_clamp")?.double.map(Float.init)
            if let c = clamp, c != layerClamp { throw fail("layers use different conv_clamp values (\(String(describing: c)), \(String(describing: layerClamp)))") }
            clamp = .some(layerClamp)
            out["\(name).conv.weight"] = try reshaped(w, [1] + w.shape, "\(path).weight")
            guard let affine = m.child("affine") else { throw fail("'\(path)' has no affine layer") }
            out["\(name).conv.modulation.weight"] = try need(affine, "weight", "\(path).affine")
            out["\(name).conv.modulation.bias"] = try need(affine, "bias", "\(path).affine")
            out["\(name).activate.bias"] = try need(m, "bias", path)
            let side = w.shape[0] > 0 ? (m.attribute("resolution")?.int ?? 0) : 0
            if let s = m.tensor("noise_strength") {
                out["\(name).noise.weight"] = try reshaped(s, [1], "\(path).noise_strength")
            } else {
                // use_noise=False: the layer adds no noise, i.e. strength 0.
                out["\(name).noise.weight"] = ArrayData(shape: [1], floats: [0])
            }
            if let n = m.tensor("noise_const") {
                out["noises.noise_\(noiseIndex)"] = try reshaped(n, [1, 1] + n.shape, "\(path).noise_const")
            } else if side > 0 {
                out["noises.noise_\(noiseIndex)"] = ArrayData(shape: [1, 1, side, side], floats: [Float](repeating: 0, count: side * side))
            }
            noiseIndex += 1
            if up { out["\(name).conv.blur.kernel"] = Self.kernel() }
        }
        func toRGB(_ m: NVlabsModule, _ path: String, to name: String, up: Bool) throws {
            let w = try need(m, "weight", path)
            guard w.shape.count == 4, w.shape[0] == 3, w.shape[2] == 1, w.shape[3] == 1 else {
                throw fail("'\(path).weight' has shape \(w.shape), expected [3, in, 1, 1]")
            }
            let layerClamp = m.attribute("conv_clamp")?.double.map(Float.init)
            if let c = clamp, c != layerClamp { throw fail("layers use different conv_clamp values (\(String(describing: c)), \(String(describing: layerClamp)))") }
            clamp = .some(layerClamp)
            out["\(name).conv.weight"] = try reshaped(w, [1] + w.shape, "\(path).weight")
            guard let affine = m.child("affine") else { throw fail("'\(path)' has no affine layer") }
            out["\(name).conv.modulation.weight"] = try need(affine, "weight", "\(path).affine")
            out["\(name).conv.modulation.bias"] = try need(affine, "bias", "\(path).affine")
            out["\(name).bias"] = try reshaped(try need(m, "bias", path), [1, 3, 1, 1], "\(path).bias")
            if up { out["\(name).upsample.kernel"] = Self.kernel() }
        }
        for (k, block) in blocks.enumerated() {
            let res = 4 << k
            let b = block.module, p = "synthesis.\(block.name)"
            guard block.name == "b\(res)" else { throw fail("synthesis block '\(block.name)' is out of order (expected b\(res))") }
            let arch = b.attribute("architecture")?.string ?? "skip"
            guard arch == "skip" else {
                throw fail("block \(block.name) uses the '\(arch)' architecture; only 'skip' (the StyleGAN2-ADA generator default) maps onto the StyleGAN2 layout")
            }
            try checkFilter(b, p)
            guard let torgb = b.child("torgb") else { throw fail("block \(block.name) has no torgb layer (architecture 'skip' needs one)") }
            if k == 0 {
                let c = try need(b, "const", p)
                guard c.shape.count == 3, c.shape[1] == 4, c.shape[2] == 4 else { throw fail("'\(p).const' has shape \(c.shape), expected [C, 4, 4]") }
                out["input.input"] = try reshaped(c, [1] + c.shape, "\(p).const")
                guard let conv1 = b.child("conv1") else { throw fail("block b4 has no conv1") }
                try layer(conv1, "\(p).conv1", to: "conv1", up: false)
                try toRGB(torgb, "\(p).torgb", to: "to_rgb1", up: false)
            } else {
                guard let conv0 = b.child("conv0"), let conv1 = b.child("conv1") else { throw fail("block \(block.name) lacks conv0/conv1") }
                try layer(conv0, "\(p).conv0", to: "convs.\(2 * (k - 1))", up: true)
                try layer(conv1, "\(p).conv1", to: "convs.\(2 * (k - 1) + 1)", up: false)
                try toRGB(torgb, "\(p).torgb", to: "to_rgbs.\(k - 1)", up: true)
            }
        }
        if let r = g.attribute("img_resolution")?.int, r != 4 << (blocks.count - 1) {
            throw fail("img_resolution \(r) but the synthesis network has blocks up to \(4 << (blocks.count - 1))")
        }
        convClamp = clamp ?? nil

        // rosinality order, from the layout of the architecture the shapes describe.
        let config = try StyleGAN2Config.infer(fromShapes: out.mapValues(\.shape), source: source, lrMLP: lrMLP)
        stateDict = config.layout().compactMap { e in out[e.name].map { (e.name, $0) } }
    }

    static func kernel() -> ArrayData {
        let k = makeKernel(blurTaps, gain: 4)
        return ArrayData(shape: k.shape, floats: k.array)
    }
}

extension StyleGAN2Generator {
    /// `network` (`G_ema` by default, or `G`) of an NVlabs StyleGAN2-ADA pickle as loaded by `loadFile`.
    public convenience init(nvlabs file: LoadedFile, network: String = "G_ema") throws {
        let path = file.path
        let networks = file.nvlabsNetworks
        guard let g = networks.first(where: { $0.key == network })?.module else {
            throw ModelLoadError("\(path): no network '\(network)' in this NVlabs pickle (it holds: "
                + (networks.isEmpty ? "none" : networks.map { "\($0.key) (\($0.module.className))" }.joined(separator: ", ")) + ")")
        }
        let converted = try ADAConversion(generator: g, source: "\(path) [\(network)]")
        try self.init(stateDict: converted.stateDict, source: path, lrMLP: converted.lrMLP)
        convClamp = converted.convClamp
        if let avg = converted.latentAverage {
            guard avg.count == config.styleDim else {
                throw ModelLoadError("\(path): '\(network).mapping.w_avg' has shape \(avg.shape), expected [\(config.styleDim)]")
            }
            let t = Tensor.zeros([1, config.styleDim])
            avg.copyFloats(into: t.pointer)
            latentAverage = t
        }
    }

    /// Settings rosinality checkpoints cannot hold, saved beside `g_ema` as `nvlabs_options` so a converted
    /// or fine-tuned NVlabs generator computes the same after reloading (rosinality's code ignores the key).
    public var nvlabsOptionsEntry: (String, PyValue)? {
        guard convClamp != nil || config.lrMLP != 0.01 else { return nil }
        var items: [(key: PyValue, value: PyValue)] = [(.string("lr_mlp"), .float(Double(config.lrMLP)))]
        if let c = convClamp { items.append((.string("conv_clamp"), .float(Double(c)))) }
        return ("nvlabs_options", .dict(items))
    }
}
