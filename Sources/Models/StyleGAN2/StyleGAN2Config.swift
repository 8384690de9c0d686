import Engine

/// The architecture of a rosinality StyleGAN2 generator, read from a state dict's tensor shapes.
///
/// Nothing here comes from a channel table: the resolution comes from the number of `to_rgbs`, the
/// mapping depth from the `style.{i}` keys, the style width from the mapping/modulation weights and the
/// width at every resolution from the conv weights. So FFHQ 1024 config-f, 256/512 models and tiny test
/// generators all go through the same code (spec §2.2).
public struct StyleGAN2Config: Equatable, Sendable {
    /// Output side in pixels (a power of two >= 4).
    public let size: Int
    /// Width of z, w and every modulation input.
    public let styleDim: Int
    /// Number of EqualLinear layers in the mapping network.
    public let nMLP: Int
    /// `channels[k]` = feature channels at resolution 2^(k+2), k = 0 ... logSize-2.
    public let channels: [Int]
    /// Learning-rate multiplier of the mapping layers (rosinality's `lr_mlp`; not stored in files).
    public let lrMLP: Float

    public init(size: Int, styleDim: Int, nMLP: Int, channels: [Int], lrMLP: Float = 0.01) throws {
        guard size >= 4, size & (size - 1) == 0 else { throw ModelLoadError("StyleGAN2: size \(size) is not a power of two >= 4") }
        let log = size.trailingZeroBitCount
        guard channels.count == log - 1 else {
            throw ModelLoadError("StyleGAN2: size \(size) needs \(log - 1) channel widths (4 ... \(size)), got \(channels.count)")
        }
        guard styleDim > 0, nMLP >= 0, channels.allSatisfy({ $0 > 0 }) else {
            throw ModelLoadError("StyleGAN2: style_dim \(styleDim), n_mlp \(nMLP), channels \(channels) must be positive")
        }
        self.size = size
        self.styleDim = styleDim
        self.nMLP = nMLP
        self.channels = channels
        self.lrMLP = lrMLP
    }

    public var logSize: Int { size.trailingZeroBitCount }
    /// Number of w vectors a W+ code holds.
    public var nLatent: Int { 2 * logSize - 2 }
    /// Number of noise inputs (one per StyledConv).
    public var numLayers: Int { 2 * (logSize - 2) + 1 }

    /// Channels at resolution `r` (4, 8, ..., size).
    public func channels(atResolution r: Int) -> Int { channels[r.trailingZeroBitCount - 2] }

    /// Side of noise input `i`: 4, 8, 8, 16, 16, ... (rosinality: 2^⌊(i+5)/2⌋).
    public func noiseResolution(_ i: Int) -> Int { 1 << ((i + 5) / 2) }

    public enum EntryKind: Sendable { case parameter, kernelBuffer, noiseBuffer }

    /// Every state-dict entry in PyTorch registration order (spec §2.1) with its shape.
    public func layout() -> [(name: String, shape: [Int], kind: EntryKind)] {
        var out: [(name: String, shape: [Int], kind: EntryKind)] = []
        let d = styleDim
        for i in 1...max(nMLP, 1) where nMLP > 0 {
            out.append(("style.\(i).weight", [d, d], .parameter))
            out.append(("style.\(i).bias", [d], .parameter))
        }
        let c4 = channels[0]
        out.append(("input.input", [1, c4, 4, 4], .parameter))
        func styledConv(_ p: String, _ cin: Int, _ cout: Int, upsample: Bool) {
            out.append(("\(p).conv.weight", [1, cout, cin, 3, 3], .parameter))
            if upsample { out.append(("\(p).conv.blur.kernel", [4, 4], .kernelBuffer)) }
            out.append(("\(p).conv.modulation.weight", [cin, d], .parameter))
            out.append(("\(p).conv.modulation.bias", [cin], .parameter))
            out.append(("\(p).noise.weight", [1], .parameter))
            out.append(("\(p).activate.bias", [cout], .parameter))
        }
        func toRGB(_ p: String, _ cin: Int, upsample: Bool) {
            out.append(("\(p).bias", [1, 3, 1, 1], .parameter))
            if upsample { out.append(("\(p).upsample.kernel", [4, 4], .kernelBuffer)) }
            out.append(("\(p).conv.weight", [1, 3, cin, 1, 1], .parameter))
            out.append(("\(p).conv.modulation.weight", [cin, d], .parameter))
            out.append(("\(p).conv.modulation.bias", [cin], .parameter))
        }
        styledConv("conv1", c4, c4, upsample: false)
        toRGB("to_rgb1", c4, upsample: false)
        for k in 0..<(logSize - 2) {
            let cin = channels[k], cout = channels[k + 1]
            styledConv("convs.\(2 * k)", cin, cout, upsample: true)
            styledConv("convs.\(2 * k + 1)", cout, cout, upsample: false)
        }
        for k in 0..<(logSize - 2) { toRGB("to_rgbs.\(k)", channels[k + 1], upsample: true) }
        for i in 0..<numLayers {
            let r = noiseResolution(i)
            out.append(("noises.noise_\(i)", [1, 1, r, r], .noiseBuffer))
        }
        return out
    }

    /// Reads the architecture from state-dict shapes (names relative to `g_ema`).
    /// Throws naming `source` and the offending entry when the dict is not a StyleGAN2 generator.
    /// `lrMLP` is not stored in rosinality files (0.01 there); NVlabs pickles record it (`bias_gain` of the mapping).
    public static func infer(fromShapes shapes: [String: [Int]], source: String, lrMLP: Float = 0.01) throws -> StyleGAN2Config {
        func shape(_ name: String) throws -> [Int] {
            guard let s = shapes[name] else {
                throw ModelLoadError("\(source): missing tensor '\(name)' (not a rosinality StyleGAN2 generator state dict?)")
            }
            return s
        }
        var nMLP = 0
        while shapes["style.\(nMLP + 1).weight"] != nil { nMLP += 1 }
        let mod = try shape("conv1.conv.modulation.weight")
        guard mod.count == 2 else { throw ModelLoadError("\(source): 'conv1.conv.modulation.weight' has shape \(mod), expected [C, style_dim]") }
        // Shapes come from the file and this target is built without bounds checks: ranks are checked before indexing.
        let style1 = nMLP > 0 ? try shape("style.1.weight") : mod
        guard style1.count == 2 else { throw ModelLoadError("\(source): 'style.1.weight' has shape \(style1), expected [style_dim, style_dim]") }
        let styleDim = style1[1]
        var nRGB = 0
        while shapes["to_rgbs.\(nRGB).conv.weight"] != nil { nRGB += 1 }
        let input = try shape("input.input")
        guard input.count == 4 else { throw ModelLoadError("\(source): 'input.input' has shape \(input), expected [1, C, 4, 4]") }
        var channels = [input[1]]
        for k in 0..<nRGB {
            let w = try shape("convs.\(2 * k).conv.weight")
            guard w.count == 5 else { throw ModelLoadError("\(source): 'convs.\(2 * k).conv.weight' has shape \(w), expected [1, out, in, 3, 3]") }
            channels.append(w[1])
        }
        if shapes["convs.\(2 * nRGB).conv.weight"] != nil {
            throw ModelLoadError("\(source): 'convs.\(2 * nRGB).conv.weight' exists but 'to_rgbs.\(nRGB)' does not: convs and to_rgbs disagree on the resolution")
        }
        return try StyleGAN2Config(size: 4 << nRGB, styleDim: styleDim, nMLP: nMLP, channels: channels, lrMLP: lrMLP)
    }
}
