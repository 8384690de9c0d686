import Foundation
import Engine
import Formats

/// rosinality / StyleGAN-NADA StyleGAN2 generator (`Generator` in ZSSGAN/model/sg2_model.py).
///
/// Built from a `g_ema` state dict alone; every parameter and buffer is kept under its exact state-dict
/// name, so the trainer can freeze subsets (`requiresGrad`), copy a generator, interpolate weights and
/// save with the same keys in the same order. `forward` works under `Autograd.noGrad` and with recording
/// (gradients w.r.t. every parameter with `requiresGrad` and w.r.t. the input codes).
public final class StyleGAN2Generator {
    public let config: StyleGAN2Config
    /// Where the weights came from (file path or "random"), for messages.
    public let source: String
    /// Trainable tensors by state-dict name.
    public private(set) var parameters: [String: Tensor]
    /// Kernels and noise maps by state-dict name (whatever the file had).
    public private(set) var buffers: [String: Tensor]
    /// Every entry (parameters and buffers) in state-dict order.
    public let entryNames: [String]
    /// The checkpoint's `latent_avg` ([1, style_dim]) when it had one (TF-converted files).
    public var latentAverage: Tensor?
    /// How modulated convs apply styles; both forms give the same result within float rounding
    /// (`.automatic` picks per layer; see `ModulationForm`).
    public var modulationForm: ModulationForm = .automatic
    /// NVlabs `conv_clamp`: every conv layer's output (after bias, activation and its gain) and every ToRGB
    /// output (before the skip is added) is clamped to ±convClamp, as stylegan2-ada does. nil (rosinality
    /// generators) clamps nothing. Gradients are zero where the clamp bites.
    public var convClamp: Float?
    /// The engine's kernel choices for the styled 3×3 convs (`ConvPlan`); tests and benchmarks set their own.
    public var convPlan: ConvPlan = .machine

    let mapping: MappingNetwork
    let conv1: StyledConv
    let toRGB1: ToRGB
    let convs: [StyledConv]
    let toRGBs: [ToRGB]

    /// Parameter names in state-dict order (= `Generator.parameters()` order, the optimiser's indices).
    public var parameterNames: [String] { entryNames.filter { parameters[$0] != nil } }

    // MARK: - Construction

    private init(config: StyleGAN2Config, source: String, parameters: [String: Tensor], buffers: [String: Tensor], entryNames: [String]) {
        self.config = config
        self.source = source
        self.parameters = parameters
        self.buffers = buffers
        self.entryNames = entryNames
        let d = config.styleDim, c = config.channels
        mapping = MappingNetwork(config: config)
        conv1 = StyledConv(name: "conv1", inChannels: c[0], outChannels: c[0], styleDim: d, upsample: false)
        toRGB1 = ToRGB(name: "to_rgb1", inChannels: c[0], styleDim: d, upsample: false)
        var convs: [StyledConv] = [], rgbs: [ToRGB] = []
        for k in 0..<(config.logSize - 2) {
            convs.append(StyledConv(name: "convs.\(2 * k)", inChannels: c[k], outChannels: c[k + 1], styleDim: d, upsample: true))
            convs.append(StyledConv(name: "convs.\(2 * k + 1)", inChannels: c[k + 1], outChannels: c[k + 1], styleDim: d, upsample: false))
            rgbs.append(ToRGB(name: "to_rgbs.\(k)", inChannels: c[k + 1], styleDim: d, upsample: true))
        }
        self.convs = convs
        toRGBs = rgbs
    }

    /// Builds the generator from a state dict (names relative to `g_ema`), inferring the architecture
    /// from the shapes. Every parameter must be present with the right shape; kernel and noise buffers
    /// are optional (kernels are derivable; stored noise then cannot be used). Unknown names are errors.
    public convenience init(stateDict entries: [(name: String, array: ArrayData)], source: String, lrMLP: Float = 0.01) throws {
        var shapes: [String: [Int]] = [:]
        for e in entries {
            if shapes[e.name] != nil { throw ModelLoadError("\(source): tensor '\(e.name)' appears twice") }
            shapes[e.name] = e.array.shape
        }
        let config = try StyleGAN2Config.infer(fromShapes: shapes, source: source, lrMLP: lrMLP)
        let layout = config.layout()
        var expected: [String: (shape: [Int], kind: StyleGAN2Config.EntryKind)] = [:]
        for e in layout { expected[e.name] = (e.shape, e.kind) }
        let unknown = entries.map { $0.name }.filter { expected[$0] == nil }
        if !unknown.isEmpty {
            throw ModelLoadError("\(source): \(unknown.count) tensor(s) are not part of a StyleGAN2 generator of size \(config.size): "
                + unknown.prefix(5).map { "'\($0)'" }.joined(separator: ", ") + (unknown.count > 5 ? ", ..." : ""))
        }
        for e in layout where e.kind == .parameter && shapes[e.name] == nil {
            throw ModelLoadError("\(source): missing tensor '\(e.name)' (shape \(e.shape)) for a StyleGAN2 generator of size \(config.size)")
        }
        var parameters: [String: Tensor] = [:], buffers: [String: Tensor] = [:]
        for e in entries {
            let want = expected[e.name]!
            guard e.array.shape == want.shape else {
                throw ModelLoadError("\(source): tensor '\(e.name)' has shape \(e.array.shape), expected \(want.shape) "
                    + "(style_dim \(config.styleDim), channels \(config.channels))")
            }
            guard e.array.dtype.isFloatingPoint else {
                throw ModelLoadError("\(source): tensor '\(e.name)' has dtype \(e.array.dtype.rawValue), expected a float type")
            }
            let t = Tensor.zeros(e.array.shape)
            e.array.copyFloats(into: t.pointer)
            if want.kind == .parameter { parameters[e.name] = t } else { buffers[e.name] = t }
        }
        self.init(config: config, source: source, parameters: parameters, buffers: buffers, entryNames: entries.map { $0.name })
    }

    public convenience init(weights: Weights) throws {
        try self.init(stateDict: weights.names.map { ($0, weights.arrays[$0]!) }, source: weights.source)
    }

    /// A freshly initialised generator as rosinality's constructor makes one (randn weights, mapping
    /// weights randn/lr_mul, modulation biases 1, other biases and noise strengths 0, randn noise maps),
    /// drawn from `SeededRandom(seed:)` in state-dict order. For benchmarks and tests.
    public convenience init(config: StyleGAN2Config, seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        var parameters: [String: Tensor] = [:], buffers: [String: Tensor] = [:]
        for e in config.layout() {
            switch e.kind {
            case .kernelBuffer:
                buffers[e.name] = makeKernel(blurTaps, gain: 4)
            case .noiseBuffer:
                buffers[e.name] = Tensor.randn(e.shape, using: &rng)
            case .parameter:
                let t: Tensor
                if e.name.hasSuffix(".weight") && !e.name.hasSuffix("noise.weight") {
                    t = Tensor.randn(e.shape, using: &rng)
                    if e.name.hasPrefix("style.") { t.withMutableValues { v in for i in v.indices { v[i] /= config.lrMLP } } }
                } else if e.name == "input.input" {
                    t = Tensor.randn(e.shape, using: &rng)
                } else if e.name.hasSuffix(".modulation.bias") {
                    t = Tensor(shape: e.shape, repeating: 1)
                } else {
                    t = Tensor.zeros(e.shape)
                }
                parameters[e.name] = t
            }
        }
        self.init(config: config, source: "random(seed: \(seed))", parameters: parameters, buffers: buffers,
                  entryNames: config.layout().map { $0.name })
    }

    /// A deep copy: own storage for every tensor, same `requiresGrad` flags, no gradients.
    public func copy() -> StyleGAN2Generator {
        func dup(_ d: [String: Tensor]) -> [String: Tensor] {
            d.mapValues { t in let c = t.copy(); c.requiresGrad = t.requiresGrad; return c }
        }
        let g = StyleGAN2Generator(config: config, source: source, parameters: dup(parameters), buffers: dup(buffers), entryNames: entryNames)
        g.latentAverage = latentAverage?.copy()
        g.modulationForm = modulationForm
        g.convClamp = convClamp
        g.convPlan = convPlan
        return g
    }

    /// Replaces parameter `name` (same shape required).
    public func setParameter(_ name: String, _ value: Tensor) throws {
        guard let old = parameters[name] else { throw ModelLoadError("\(source): no parameter '\(name)'") }
        guard old.shape == value.shape else {
            throw ModelLoadError("\(source): parameter '\(name)' has shape \(old.shape), new value has \(value.shape)")
        }
        parameters[name] = value
    }

    /// Sets `requiresGrad` on the parameters whose name satisfies `predicate` (all by default).
    public func setRequiresGrad(_ flag: Bool, where predicate: (String) -> Bool = { _ in true }) {
        for (name, t) in parameters where predicate(name) { t.requiresGrad = flag }
    }

    var tensors: StyleGAN2Tensors { StyleGAN2Tensors(parameters: parameters, buffers: buffers) }
}
