import Foundation
import Engine
import Formats

/// NVlabs TensorFlow StyleGAN2 generators (`Gs` of `stylegan2-*-config-f.pkl`) as rosinality-layout generators,
/// mapped as rosinality's `convert_weight.py` (`fill_statedict`) maps them. The facts it rests on:
/// - Dense and conv weights are stored [in, out] and [kh, kw, in, out] with the runtime gains (he_std·lrmul) applied
///   in the graph, exactly rosinality's EqualLinear / modulated-conv scaling: weights are transposed, never scaled.
/// - The style of a modulated conv is `dense(w)·mod_weight + mod_bias + 1`: rosinality's modulation keeps the +1 in
///   its bias (bias_init 1), so `mod_bias + 1` is stored.
/// - `Conv0_up` runs `upsample_conv_2d`, which flips the kernel to use it as a transposed convolution; rosinality's
///   transposed conv does not flip, so the up-conv weights are flipped in both spatial axes.
/// - The mapping's lr multiplier (`mapping_lrmul`, 0.01 unless the network was built with another) divides the
///   stored weights and is applied at run time, as rosinality's `lr_mlp`; it is read from the static kwargs.
/// - `G_synthesis/noise{i}` are the stored noise maps, `dlatent_avg` rosinality's `latent_avg`.
/// Only the `skip` architecture with the [1,3,3,1] filter, lrelu, RGB output, normalised z and no labels converts
/// (the config-e/f generators); anything else is refused with the reason.
public struct TFConversion {
    /// The rosinality `g_ema` state dict, in rosinality order.
    public let stateDict: [(name: String, array: ArrayData)]
    /// `dlatent_avg`, rosinality's `latent_avg` ([w_dim]).
    public let latentAverage: ArrayData?
    public let lrMLP: Float

    public init(generator gs: TFNetwork, source: String) throws {
        func fail(_ message: String) -> ModelLoadError { ModelLoadError("\(source): \(message)") }
        guard let mapping = gs.component("mapping"), let synthesis = gs.component("synthesis") else {
            throw fail("TensorFlow network '\(gs.name)' has no 'mapping' and 'synthesis' components, so it is not a generator")
        }
        guard synthesis.buildFunctionName == "G_synthesis_stylegan2" else {
            throw fail("the synthesis network is built by '\(synthesis.buildFunctionName ?? "?")'; only StyleGAN2 generators "
                + "(G_synthesis_stylegan2, the stylegan2 releases) convert")
        }
        // Options that change what the graph computes (dnnlib passes G's kwargs on to both components).
        func option(_ n: TFNetwork, _ name: String) -> PyValue? { n.staticKwarg(name) ?? gs.staticKwarg(name) }
        func requireString(_ n: TFNetwork, _ name: String, _ expected: String) throws {
            if let v = option(n, name), v.string != expected {
                throw fail("built with \(name) = \(Self.describe(v)); only '\(expected)' maps onto the rosinality StyleGAN2 layout")
            }
        }
        try requireString(synthesis, "architecture", "skip")
        try requireString(synthesis, "nonlinearity", "lrelu")
        try requireString(mapping, "mapping_nonlinearity", "lrelu")
        if let k = option(synthesis, "resample_kernel") {
            guard case .list(let taps) = k, taps.map(\.double) == [1, 3, 3, 1] else {
                throw fail("built with resample_kernel = \(Self.describe(k)); only [1, 3, 3, 1] is supported")
            }
        }
        if let n = option(mapping, "normalize_latents"), n.bool == false {
            throw fail("built with normalize_latents = False; rosinality's mapping always normalises z")
        }
        if let labels = option(mapping, "label_size")?.int, labels != 0 {
            throw fail("conditional generator (label_size \(labels)) needs a class label for every image; only unconditional generators are supported")
        }
        if let c = option(synthesis, "num_channels")?.int, c != 3 {
            throw fail("generator makes \(c)-channel images; only RGB (3) is supported")
        }
        var lr: Float = 0.01
        if let v = option(mapping, "mapping_lrmul") {
            guard let d = v.double, d > 0 else { throw fail("mapping_lrmul is \(Self.describe(v)), not a positive number") }
            lr = Float(d)
        }
        lrMLP = lr

        var unused = Set(mapping.ownVariables.map { "\(mapping.name)/\($0.name)" } + synthesis.ownVariables.map { "\(synthesis.name)/\($0.name)" })
        func take(_ n: TFNetwork, _ name: String, rank: Int) throws -> (values: [Float], shape: [Int]) {
            let full = "\(n.name)/\(name)"
            guard let a = n.variable(name) else { throw fail("missing variable '\(full)' (not a TF StyleGAN2 config-e/f generator?)") }
            guard a.dtype.isFloatingPoint else { throw fail("variable '\(full)' has dtype \(a.dtype.rawValue)") }
            guard a.shape.count == rank else { throw fail("variable '\(full)' has shape \(a.shape), expected rank \(rank)") }
            unused.remove(full)
            return (a.floats(), a.shape)
        }
        var out: [String: ArrayData] = [:]

        // Mapping: Dense{i} [in, out] → style.{i+1} [out, in].
        if mapping.variable("LabelConcat/weight") != nil { throw fail("mapping has a label embedding (conditional generator); not supported") }
        var nMLP = 0
        while mapping.variable("Dense\(nMLP)/weight") != nil {
            let w = try take(mapping, "Dense\(nMLP)/weight", rank: 2)
            guard w.shape[0] == w.shape[1] else {
                throw fail("\(mapping.name)/Dense\(nMLP)/weight has shape \(w.shape); the StyleGAN2 layout needs z_dim = w_dim = the mapping width")
            }
            out["style.\(nMLP + 1).weight"] = ArrayData(shape: [w.shape[1], w.shape[0]], floats: transposedValues(w.values, w.shape, [1, 0]))
            let b = try take(mapping, "Dense\(nMLP)/bias", rank: 1)
            out["style.\(nMLP + 1).bias"] = ArrayData(shape: b.shape, floats: b.values)
            nMLP += 1
        }
        guard nMLP > 0 else { throw fail("missing variable '\(mapping.name)/Dense0/weight' (no mapping layers)") }

        // Synthesis.
        let c = try take(synthesis, "4x4/Const/const", rank: 4)
        out["input.input"] = ArrayData(shape: c.shape, floats: c.values)
        func modulation(_ scope: String, to name: String) throws {
            let m = try take(synthesis, "\(scope)/mod_weight", rank: 2)
            out["\(name).conv.modulation.weight"] = ArrayData(shape: [m.shape[1], m.shape[0]], floats: transposedValues(m.values, m.shape, [1, 0]))
            let b = try take(synthesis, "\(scope)/mod_bias", rank: 1)
            out["\(name).conv.modulation.bias"] = ArrayData(shape: b.shape, floats: b.values.map { $0 + 1 })
        }
        /// [kh, kw, in, out] → [1, out, in, kh, kw], flipped in kh and kw for the up-convs.
        func convWeight(_ scope: String, flip: Bool) throws -> ArrayData {
            let w = try take(synthesis, "\(scope)/weight", rank: 4)
            var v = transposedValues(w.values, w.shape, [3, 2, 0, 1])
            let s = [w.shape[3], w.shape[2], w.shape[0], w.shape[1]]
            if flip { v = spatiallyFlipped(v, s) }
            return ArrayData(shape: [1] + s, floats: v)
        }
        func modConv(_ scope: String, to name: String, up: Bool) throws {
            let w = try convWeight(scope, flip: up)
            guard w.shape[3] == 3, w.shape[4] == 3 else { throw fail("'\(synthesis.name)/\(scope)/weight' is not a 3×3 kernel") }
            out["\(name).conv.weight"] = w
            try modulation(scope, to: name)
            let s = try take(synthesis, "\(scope)/noise_strength", rank: 0)
            out["\(name).noise.weight"] = ArrayData(shape: [1], floats: s.values)
            let b = try take(synthesis, "\(scope)/bias", rank: 1)
            out["\(name).activate.bias"] = ArrayData(shape: b.shape, floats: b.values)
            if up { out["\(name).conv.blur.kernel"] = ADAConversion.kernel() }
        }
        func toRGB(_ scope: String, to name: String, up: Bool) throws {
            let w = try convWeight(scope, flip: false)
            guard w.shape[1] == 3, w.shape[3] == 1, w.shape[4] == 1 else {
                throw fail("'\(synthesis.name)/\(scope)/weight' has shape \(w.shape), expected a 1×1 kernel to 3 channels")
            }
            out["\(name).conv.weight"] = w
            try modulation(scope, to: name)
            let b = try take(synthesis, "\(scope)/bias", rank: 1)
            guard b.values.count == 3 else { throw fail("'\(synthesis.name)/\(scope)/bias' has shape \(b.shape), expected [3]") }
            out["\(name).bias"] = ArrayData(shape: [1, 3, 1, 1], floats: b.values)
            if up { out["\(name).upsample.kernel"] = ADAConversion.kernel() }
        }
        try modConv("4x4/Conv", to: "conv1", up: false)
        try toRGB("4x4/ToRGB", to: "to_rgb1", up: false)
        var size = 4
        // Blocks 8x8, 16x16, … as far as the file has them (the resolution comes from the variables, not a table).
        while synthesis.variable("\(2 * size)x\(2 * size)/Conv0_up/weight") != nil, size < 1 << 14 {
            let k = size.trailingZeroBitCount - 2, r = 2 * size
            try modConv("\(r)x\(r)/Conv0_up", to: "convs.\(2 * k)", up: true)
            try modConv("\(r)x\(r)/Conv1", to: "convs.\(2 * k + 1)", up: false)
            try toRGB("\(r)x\(r)/ToRGB", to: "to_rgbs.\(k)", up: true)
            size = r
        }
        if let r = option(synthesis, "resolution")?.int, r != size {
            throw fail("built with resolution \(r) but its synthesis variables go up to \(size)x\(size)")
        }
        let logSize = size.trailingZeroBitCount
        for i in 0..<(2 * (logSize - 2) + 1) {
            let n = try take(synthesis, "noise\(i)", rank: 4)
            out["noises.noise_\(i)"] = ArrayData(shape: n.shape, floats: n.values)
        }
        guard unused.isEmpty else {
            throw fail("variables a skip-architecture StyleGAN2 generator does not have: \(unused.sorted().prefix(6).joined(separator: ", "))"
                + (unused.count > 6 ? ", …" : "") + " (a resnet or orig architecture, or another network)")
        }
        if let avg = gs.variable("dlatent_avg") {
            guard avg.dtype.isFloatingPoint else { throw fail("variable 'dlatent_avg' has dtype \(avg.dtype.rawValue)") }
            latentAverage = avg
        } else {
            latentAverage = nil
        }

        // rosinality order, from the layout of the architecture the shapes describe.
        let config = try StyleGAN2Config.infer(fromShapes: out.mapValues(\.shape), source: source, lrMLP: lrMLP)
        let layout = config.layout()
        let expected = Set(layout.map(\.name))
        if let extra = out.keys.first(where: { !expected.contains($0) }) {
            throw fail("converted tensor '\(extra)' is not part of a \(config.size)px StyleGAN2 generator (inconsistent shapes)")
        }
        stateDict = layout.compactMap { e in out[e.name].map { (e.name, $0) } }
    }

    private static func describe(_ v: PyValue) -> String {
        switch v {
        case .string(let s): return "'\(s)'"
        case .int(let i): return String(i)
        case .float(let d): return String(d)
        case .bool(let b): return b ? "True" : "False"
        case .list(let xs), .tuple(let xs): return "[" + xs.map(Self.describe).joined(separator: ", ") + "]"
        case .none: return "None"
        default: return "a non-scalar value"
        }
    }
}

/// `values` (C order, `shape`) with its axes permuted: axis k of the result is axis `order[k]` of the input.
private func transposedValues(_ values: [Float], _ shape: [Int], _ order: [Int]) -> [Float] {
    let n = shape.count
    var strides = [Int](repeating: 1, count: n)
    for k in stride(from: n - 2, through: 0, by: -1) { strides[k] = strides[k + 1] * shape[k + 1] }
    let outShape = order.map { shape[$0] }, outStrides = order.map { strides[$0] }
    var out = [Float](repeating: 0, count: values.count)
    var index = [Int](repeating: 0, count: n)
    for i in 0..<values.count {
        var src = 0
        for k in 0..<n { src += index[k] * outStrides[k] }
        out[i] = values[src]
        var k = n - 1
        while k >= 0 {
            index[k] += 1
            if index[k] < outShape[k] { break }
            index[k] = 0
            k -= 1
        }
    }
    return out
}

/// An [out, in, kh, kw] kernel flipped in kh and kw (`torch.flip(w, [3, 4])` on the [1, out, in, kh, kw] weight).
private func spatiallyFlipped(_ values: [Float], _ shape: [Int]) -> [Float] {
    let kh = shape[2], kw = shape[3], plane = kh * kw
    guard plane > 0 else { return values }
    var out = values
    for p in 0..<(values.count / plane) {
        for y in 0..<kh { for x in 0..<kw { out[p * plane + y * kw + x] = values[p * plane + (kh - 1 - y) * kw + (kw - 1 - x)] } }
    }
    return out
}

extension StyleGAN2Generator {
    /// `network` (`Gs` by default; `G_ema`, NVlabs' later name for it, means the same; or `G`) of an NVlabs
    /// TensorFlow StyleGAN2 pickle as loaded by `loadFile`.
    public convenience init(tensorflow file: LoadedFile, network: String = "Gs") throws {
        let path = file.path
        let networks = file.tfNetworks
        let wanted = network == "G_ema" ? "Gs" : network
        guard let g = networks.first(where: { $0.key == wanted })?.network else {
            throw ModelLoadError("\(path): no network '\(wanted)' in this TensorFlow pickle (it holds: "
                + (networks.isEmpty ? "none" : networks.map(\.key).joined(separator: ", ")) + ")")
        }
        let converted = try TFConversion(generator: g, source: "\(path) [\(wanted)]")
        try self.init(stateDict: converted.stateDict, source: path, lrMLP: converted.lrMLP)
        if let avg = converted.latentAverage {
            guard avg.count == config.styleDim else {
                throw ModelLoadError("\(path): '\(wanted)/dlatent_avg' has shape \(avg.shape), expected [\(config.styleDim)]")
            }
            let t = Tensor.zeros([1, config.styleDim])
            avg.copyFloats(into: t.pointer)
            latentAverage = t
        }
    }
}
