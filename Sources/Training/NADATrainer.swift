import Engine
import Formats
import Foundation
import Models

/// Everything that defines a training run (recorded with the result and checked on resume).
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var source: String = "photo"
    public var target: String = "sketch"
    public var iterations: Int = 300
    public var batch: Int = 2
    public var lr: Double = 0.002
    /// `g_reg_every` of the reference; only its ratio r = g/(g+1) matters (lr·r, betas^r).
    public var gRegEvery: Int = 4
    /// Adaptive layer selection: layers per step (k), W+ optimisation steps, batch. 0 iterations = off.
    public var autoLayerK: Int = 1
    public var autoLayerIters: Int = 1
    public var autoLayerBatch: Int = 8
    /// Use the true consumer of each W+ row instead of the reference's off-by-one map.
    public var correctedLayerMapping: Bool = false
    /// Manual layer set when adaptive selection is off.
    public var phase: TrainingPhase = .standard
    public var mixing: Double = 0
    public var losses: NADALoss.Weights = .init()
    public var clipWeights: [Float] = [1]
    public var seed: UInt64 = 2
    /// Noise: fresh random maps per call (the reference) or the stored buffers (reproducible comparisons).
    public var storedNoise: Bool = false
    public var sampleTruncation: Float = 0.7
    public var sampleCount: Int = 4
    public var sampleEvery: Int = 50
    public var saveEvery: Int = 0

    public init() {}
}

/// One iteration's outcome, for logs and the loss CSV.
public struct IterationReport: Sendable {
    public let iteration: Int          // 1-based
    public let loss: Float
    public let seconds: Double
    public let trainedModules: [String]
    /// Where the time went (wall seconds per part).
    public let timings: StepTimings
    /// The loss's weighted terms, summed over the CLIP models with their weights (they add up to `loss`).
    public let terms: LossTerms
}

/// StyleGAN-NADA's training loop (`train.py` + `ZSSGAN.forward`): a frozen and a trainable copy of one
/// generator see the same W codes; the trainable one is moved so that CLIP's image direction between
/// their outputs matches the text (or style-image) direction.
public final class NADATrainer {
    public let options: TrainingOptions
    public let frozen: StyleGAN2Generator
    public let trainable: StyleGAN2Generator
    public let losses: [NADALoss]
    public let adam: Adam
    public private(set) var iteration = 0
    public private(set) var history: [Float] = []
    /// Z codes to replay, [iterations, batch, style_dim] (`--sample-latents`).
    public var replayLatents: Tensor?
    /// Samples per forward/backward in adaptive layer selection; nil picks by image size so the pass fits
    /// in memory (see AdaptiveLayerSelection.swift). Changes only float rounding, never which rows move.
    public var selectionChunk: Int?
    /// Run the W+ pass even when k ≥ n_latent makes its result known (tests compare both paths).
    var alwaysComputeSelection = false
    /// W+ passes run so far (tests check that the k ≥ n_latent case skips them).
    var selectionPasses = 0
    var rng: SeededRandom

    /// Mean latents for truncated samples: each generator has its own (as in the reference).
    public let frozenMeanLatent: Tensor
    public let trainableMeanLatent: Tensor

    public init(frozen: StyleGAN2Generator, trainable: StyleGAN2Generator, clip: [CLIPFeatureModel], options: TrainingOptions) throws {
        guard frozen.config == trainable.config else {
            throw TrainingError("the trainable generator (\(trainable.source)) differs in architecture from the frozen one (\(frozen.source))")
        }
        guard !clip.isEmpty else { throw TrainingError("at least one CLIP model is needed") }
        guard options.clipWeights.count == clip.count else {
            throw TrainingError("\(clip.count) CLIP model(s) but \(options.clipWeights.count) weight(s): give one weight per model")
        }
        guard options.batch > 0, options.iterations >= 0 else { throw TrainingError("batch must be positive and iterations non-negative") }
        self.options = options
        self.frozen = frozen
        self.trainable = trainable
        losses = clip.map { NADALoss(model: $0, weights: options.losses) }
        adam = Adam(.stylegan(lr: options.lr, gRegEvery: options.gRegEvery))
        rng = SeededRandom(seed: options.seed)
        frozenMeanLatent = frozen.meanLatent(count: 4096, seed: options.seed &+ 101)
        trainableMeanLatent = trainable.meanLatent(count: 4096, seed: options.seed &+ 202)
        frozen.setRequiresGrad(false)
        applyPhase()
    }

    var numConvs: Int { 2 * (frozen.config.logSize - 2) }
    var numToRGBs: Int { frozen.config.logSize - 2 }

    /// Freezes everything, then unfreezes the phase's modules.
    func applyPhase() {
        let modules = LayerSelection.modules(phase: options.phase, numConvs: numConvs, numToRGBs: numToRGBs)
        trainable.setRequiresGrad(false)
        trainable.setRequiresGrad(true) { LayerSelection.belongs($0, to: modules) }
    }

    /// Uses a style-image direction for every CLIP model: normalize(mean_k f(image_k) − mean_b f(G(z_b))).
    public func setImageDirection(styleImages: [Tensor], sampleCount: Int = 16) throws {
        var r = SeededRandom(seed: options.seed &+ 303)
        let z = Tensor.randn([sampleCount, frozen.config.styleDim], using: &r)
        let generated = try Autograd.noGrad { try trainable.forward([z], inputIsLatent: false, noise: noise(for: 0)) }
        for loss in losses {
            let direction = try Autograd.noGrad { () -> Tensor in
                let src = loss.imageFeatures(generated).mean(axis: 0, keepDims: true)
                let feats = styleImages.map { img -> Tensor in
                    let f = loss.model.encodeImage(img)
                    return f / f.norm()
                }
                let tgt = Tensor.concat(feats, axis: 0).mean(axis: 0, keepDims: true)
                let d = tgt - src
                return d / d.norm()
            }
            loss.setImageDirection(direction)
        }
    }

    /// Noise for one generator call: stored buffers, or random maps from the run's generator.
    func noise(for salt: UInt64) -> StyleGAN2Noise {
        options.storedNoise ? .stored : .random(seed: rng.next() ^ salt)
    }

    /// Z codes for the next iteration: replayed, or drawn (two sets with probability `mixing`).
    func sampleZ() throws -> [Tensor] {
        let d = frozen.config.styleDim, b = options.batch
        if let replay = replayLatents {
            guard replay.rank == 3, replay.shape[1] == b, replay.shape[2] == d else {
                throw TrainingError("sample latents must be [iterations, \(b), \(d)], got \(replay.shape)")
            }
            guard iteration < replay.shape[0] else {
                throw TrainingError("sample latents hold \(replay.shape[0]) iterations; iteration \(iteration + 1) has none")
            }
            return [replay.slice(axis: 0, iteration..<(iteration + 1)).reshaped([b, d]).detached()]
        }
        if options.mixing > 0 && Double(rng.nextUniform()) < options.mixing {
            return [Tensor.randn([b, d], using: &rng), Tensor.randn([b, d], using: &rng)]
        }
        return [Tensor.randn([b, d], using: &rng)]
    }

    /// One training iteration. Returns its report; `iteration` advances.
    @discardableResult
    public func step() throws -> IterationReport {
        let start = Date()
        var clock = LapClock()
        var timings = StepTimings()
        var modules: [String]
        if options.autoLayerIters > 0 && options.autoLayerK > 0 {
            modules = try selectLayers()
        } else {
            modules = LayerSelection.modules(phase: options.phase, numConvs: numConvs, numToRGBs: numToRGBs)
        }
        timings.select = clock.lap()
        let z = try sampleZ()
        let ws = try Autograd.noGrad { try z.map { try frozen.mapping($0) } }
        let n = frozen.config.nLatent
        // Each generator draws its own mixing index, as the reference's two forward calls do.
        let injectFrozen = ws.count == 2 ? 1 + Int(rng.next() % UInt64(n - 1)) : nil
        let injectTrainable = ws.count == 2 ? 1 + Int(rng.next() % UInt64(n - 1)) : nil
        let src = try Autograd.noGrad { try frozen.forward(ws, inputIsLatent: true, injectIndex: injectFrozen, noise: noise(for: 2)) }
        timings.frozen = clock.lap()
        let tgt = try trainable.forward(ws, inputIsLatent: true, injectIndex: injectTrainable, noise: noise(for: 3))
        timings.trainableForward = clock.lap()
        // The backward runs in two halves that meet at the trainable images: CLIP's graph ends at a leaf
        // copy of `tgt` and is gone before the generator's backward starts. The image gradient is the
        // same sum, in the same order, that one backward through both would form at `tgt`.
        let image = tgt.detached()
        image.requiresGrad = true
        var total: Tensor?
        var terms = LossTerms()
        for (loss, c) in zip(losses, options.clipWeights) {
            let l = try loss(src: src, source: options.source, tgt: image, target: options.target) * c
            total = total.map { $0 + l } ?? l
            terms.add(loss.lastTerms, weight: c)
        }
        let loss = total!
        loss.backward()
        timings.clip = clock.lap()
        for name in trainable.parameterNames { trainable.parameters[name]!.grad = nil }
        if let imageGrad = image.grad { tgt.backward(imageGrad) }
        timings.generatorBackward = clock.lap()
        let params = trainable.parameterNames.map { (name: $0, tensor: trainable.parameters[$0]!) }
        adam.step(params)
        for p in params { p.tensor.grad = nil }
        timings.adam = clock.lap()
        iteration += 1
        history.append(loss.item)
        return IterationReport(iteration: iteration, loss: loss.item, seconds: Date().timeIntervalSince(start),
                               trainedModules: modules, timings: timings, terms: terms)
    }

    /// Images of fixed latents from both generators (truncated toward each one's mean latent), not recorded.
    public func samples(count: Int? = nil) throws -> (frozen: Tensor, adapted: Tensor) {
        var r = SeededRandom(seed: options.seed &+ 404)
        let z = Tensor.randn([count ?? options.sampleCount, frozen.config.styleDim], using: &r)
        return try Autograd.noGrad {
            let a = try frozen.forward([z], inputIsLatent: false, truncation: options.sampleTruncation,
                                       truncationLatent: frozenMeanLatent, noise: .random(seed: options.seed &+ 505))
            let b = try trainable.forward([z], inputIsLatent: false, truncation: options.sampleTruncation,
                                          truncationLatent: trainableMeanLatent, noise: .random(seed: options.seed &+ 505))
            return (a, b)
        }
    }

    // MARK: Resumable state

    /// What a checkpoint must hold to continue bit-exactly.
    public struct ResumeState {
        public var iteration: Int
        public var rngState: UInt64
        public var history: [Float]
        public var adam: [String: Adam.State]
        public init(iteration: Int, rngState: UInt64, history: [Float], adam: [String: Adam.State]) {
            self.iteration = iteration; self.rngState = rngState; self.history = history; self.adam = adam
        }
    }

    public var resumeState: ResumeState {
        ResumeState(iteration: iteration, rngState: rng.state, history: history, adam: adam.states)
    }

    public func restore(_ s: ResumeState) {
        iteration = s.iteration
        rng = SeededRandom(state: s.rngState)
        history = s.history
        adam.restore(s.adam)
    }
}
