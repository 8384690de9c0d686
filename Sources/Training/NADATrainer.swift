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
/// their outputs matches the text (or style-image) direction. The generators are StyleGAN2 (`SG2Generator`)
/// or StyleGAN3 (`SG3Generator`, the official `--sg3` path; what differs is in StyleGAN3Training.swift).
public final class NADATrainer {
    public let options: TrainingOptions
    public let frozen: any StyleGANGenerator
    public let trainable: any StyleGANGenerator
    /// The same two generators by family: each family's step is its own branch.
    enum Generators {
        case styleGAN2(frozen: StyleGAN2Generator, trainable: StyleGAN2Generator)
        /// `trained`: the synthesis children the official code trains (StyleGAN3LayerSelection).
        case styleGAN3(frozen: StyleGAN3Generator, trainable: StyleGAN3Generator, trained: [String])
    }
    let generators: Generators
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

    public init(frozen: any StyleGANGenerator, trainable: any StyleGANGenerator, clip: [CLIPFeatureModel], options: TrainingOptions) throws {
        switch (frozen, trainable) {
        case let (f as StyleGAN2Generator, t as StyleGAN2Generator):
            guard f.config == t.config else {
                throw TrainingError("the trainable generator (\(trainable.source)) differs in architecture from the frozen one (\(frozen.source))")
            }
            generators = .styleGAN2(frozen: f, trainable: t)
        case let (f as StyleGAN3Generator, t as StyleGAN3Generator):
            try Self.checkStyleGAN3(frozen: f, trainable: t, options: options)
            generators = .styleGAN3(frozen: f, trainable: t, trained: StyleGAN3LayerSelection.trainedChildren(f.synthesisChildren))
        default:
            throw TrainingError("the trainable generator (\(trainable.source), \(trainable.familyName)) and the frozen one "
                + "(\(frozen.source), \(frozen.familyName)) are different kinds of generator; train from one base")
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
        switch generators {
        case .styleGAN2:
            frozenMeanLatent = frozen.meanLatent(count: 4096, seed: options.seed &+ 101)
            trainableMeanLatent = trainable.meanLatent(count: 4096, seed: options.seed &+ 202)
        case .styleGAN3(let f, let t, _):
            // NVlabs truncates towards the mapping's w_avg (checked present by checkStyleGAN3).
            frozenMeanLatent = f.latentAverage!
            trainableMeanLatent = t.latentAverage!
        }
        frozen.setRequiresGrad(false) { _ in true }
        applyPhase()
    }

    /// The StyleGAN2 pair; only StyleGAN2 code paths (adaptive selection, phases) ask for it, and init refuses
    /// their options for StyleGAN3.
    var styleGAN2: (frozen: StyleGAN2Generator, trainable: StyleGAN2Generator) {
        guard case .styleGAN2(let f, let t) = generators else { preconditionFailure("a StyleGAN2-only path was reached with StyleGAN3 generators") }
        return (f, t)
    }

    var numConvs: Int { 2 * (styleGAN2.frozen.config.logSize - 2) }
    var numToRGBs: Int { styleGAN2.frozen.config.logSize - 2 }

    /// Freezes everything, then unfreezes the phase's modules (StyleGAN3: the official fixed set).
    func applyPhase() {
        trainable.setRequiresGrad(false) { _ in true }
        switch generators {
        case .styleGAN2:
            let modules = LayerSelection.modules(phase: options.phase, numConvs: numConvs, numToRGBs: numToRGBs)
            trainable.setRequiresGrad(true) { LayerSelection.belongs($0, to: modules) }
        case .styleGAN3(_, _, let trained):
            trainable.setRequiresGrad(true) { StyleGAN3LayerSelection.isTrained($0, trainedChildren: trained) }
        }
    }

    /// The parameters a checkpoint holds and a resume restores: StyleGAN2's whole state dict (the reference's
    /// `g_ema`), StyleGAN3's trained set (the rest is the base pickle's, unchanged).
    public var savedParameterNames: [String] {
        switch generators {
        case .styleGAN2: return trainable.parameterNames
        case .styleGAN3(_, _, let trained):
            return trainable.parameterNames.filter { StyleGAN3LayerSelection.isTrained($0, trainedChildren: trained) }
        }
    }

    /// Uses a style-image direction for every CLIP model: normalize(mean_k f(image_k) − mean_b f(G(z_b))).
    public func setImageDirection(styleImages: [Tensor], sampleCount: Int = 16) throws {
        var r = SeededRandom(seed: options.seed &+ 303)
        let z = Tensor.randn([sampleCount, frozen.zDim], using: &r)
        let generated: Tensor
        switch generators {
        case .styleGAN2(_, let trainable):
            generated = try Autograd.noGrad { try trainable.forward([z], inputIsLatent: false, noise: noise(for: 0)) }
        case .styleGAN3(let frozen, let trainable, _):
            // `generator_trainable(generator_frozen.style([z]))`: truncated codes, as in training.
            generated = try Autograd.noGrad { try trainable.synthesis(ws: try styleGAN3Codes(z, frozen)) }
        }
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
        let d = frozen.zDim, b = options.batch
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
        switch generators {
        case .styleGAN2:
            if options.autoLayerIters > 0 && options.autoLayerK > 0 {
                modules = try selectLayers()
            } else {
                modules = LayerSelection.modules(phase: options.phase, numConvs: numConvs, numToRGBs: numToRGBs)
            }
        case .styleGAN3(_, _, let trained): modules = trained
        }
        timings.select = clock.lap()
        let z = try sampleZ()
        let src: Tensor, tgt: Tensor
        switch generators {
        case .styleGAN2(let frozen, let trainable):
            let ws = try Autograd.noGrad { try z.map { try frozen.mapping($0) } }
            let n = frozen.config.nLatent
            // Each generator draws its own mixing index, as the reference's two forward calls do.
            let injectFrozen = ws.count == 2 ? 1 + Int(rng.next() % UInt64(n - 1)) : nil
            let injectTrainable = ws.count == 2 ? 1 + Int(rng.next() % UInt64(n - 1)) : nil
            src = try Autograd.noGrad { try frozen.forward(ws, inputIsLatent: true, injectIndex: injectFrozen, noise: noise(for: 2)) }
            timings.frozen = clock.lap()
            tgt = try trainable.forward(ws, inputIsLatent: true, injectIndex: injectTrainable, noise: noise(for: 3))
        case .styleGAN3(let frozen, let trainable, _):
            let ws = try Autograd.noGrad { try styleGAN3Codes(z[0], frozen) }
            src = try Autograd.noGrad { () -> Tensor in
                let image = try frozen.synthesis(ws: ws)
                return image + styleGAN3Jitter(shape: image.shape)
            }
            timings.frozen = clock.lap()
            tgt = try trainable.synthesis(ws: ws)
        }
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
        let z = Tensor.randn([count ?? options.sampleCount, frozen.zDim], using: &r)
        guard case .styleGAN2(let frozen, let trainable) = generators else {
            // Each generator's codes truncated towards its w_avg (the official SG3 path truncates samples by 0.7
            // whatever --sample_truncation says; 0.7 is our default too).
            return try Autograd.noGrad {
                let a = try frozen.synthesize(frozen.truncate(try frozen.mapping(z), psi: options.sampleTruncation, towards: frozenMeanLatent), noise: .stored)
                let b = try trainable.synthesize(trainable.truncate(try trainable.mapping(z), psi: options.sampleTruncation, towards: trainableMeanLatent),
                                                 noise: .stored)
                return (a, b)
            }
        }
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
