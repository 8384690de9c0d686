import ArgumentParser
import Foundation
import Models
import Pipeline
import Training

extension TrainingPhase: ExpressibleByArgument {}

/// `nada-edit train`: adapts a StyleGAN2 or StyleGAN3 generator to a new domain described by text (or style images).
public struct Train: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Adapt a StyleGAN2 or StyleGAN3 generator to a new domain from text alone (StyleGAN-NADA).",
        discussion: """
        Writes to --output DIR: samples/iter_NNNNNN.png (labelled base row over adapted row, at iteration 0, every
        --sample-every and at the last iteration), losses.csv (total and each loss term), checkpoint.pt (resumable;
        Ctrl-C saves it), and at the end generator.pt ({"g_ema": ...}, loadable by the reference PyTorch code),
        loss.svg and loss.png, record.json and report.html (the run on one page; its path is printed).
        With --domain NAME the result is registered in the model store.
        """
    )

    @OptionGroup public var common: CommonOptions
    @OptionGroup public var compute: PrecisionOptions

    @Option(name: .long, help: ArgumentHelp("Base generator (rosinality/NADA checkpoint with g_ema, or an NVlabs StyleGAN2-ADA / StyleGAN3 .pkl): a file or store name.", valueName: "FILE"))
    public var generator: String

    @Option(name: .customLong("trainable-generator"), help: ArgumentHelp("Start the trainable copy from this checkpoint instead (same architecture).", valueName: "FILE"))
    public var trainableGenerator: String?

    @Option(name: .long, help: ArgumentHelp("CLIP model(s), comma-separated files or store names (OpenAI .pt, state dict or HF safetensors).", valueName: "FILE[,FILE]"))
    public var clip: String

    @Option(name: .customLong("clip-weights"), help: ArgumentHelp("Loss weight per CLIP model, comma-separated.", valueName: "W[,W]"))
    public var clipWeights: String?

    @Option(name: .long, help: ArgumentHelp("CLIP vocabulary bpe_simple_vocab_16e6.txt.gz (default: the store's).", valueName: "FILE"))
    public var vocab: String?

    @Option(name: .long, help: ArgumentHelp("Text describing the generator's domain.", valueName: "TEXT"))
    public var source: String = "photo"

    @Option(name: .long, help: ArgumentHelp("Text describing the new domain.", valueName: "TEXT"))
    public var target: String?

    @Option(name: .customLong("style-images"), help: ArgumentHelp("A folder of a few images whose style replaces --target.", valueName: "DIR"))
    public var styleImages: String?

    @Option(name: .long, help: ArgumentHelp("Register the result in the model store under this name.", valueName: "NAME"))
    public var domain: String?

    @Option(name: .long, help: ArgumentHelp("Training iterations.", valueName: "N")) public var iterations: Int = 300
    @Option(name: .long, help: ArgumentHelp("Images per iteration.", valueName: "N")) public var batch: Int = 2
    @Option(name: .long, help: ArgumentHelp("Adam learning rate (the reference scales it by 0.8).", valueName: "RATE")) public var lr: Double = 0.002
    @Option(name: .customLong("auto-layer-k"), help: ArgumentHelp("Layers trained per iteration by adaptive selection.", valueName: "K")) public var autoLayerK: Int = 1
    @Option(name: .customLong("auto-layer-iters"), help: ArgumentHelp("W+ steps of adaptive selection (0 = use --phase).", valueName: "N")) public var autoLayerIters: Int = 1
    @Option(name: .customLong("auto-layer-batch"), help: ArgumentHelp("Samples used by adaptive selection.", valueName: "N")) public var autoLayerBatch: Int = 8
    @Flag(name: .customLong("corrected-layer-mapping"), help: "Map W+ rows to the layers they really drive (the reference is off by one).")
    public var correctedLayerMapping = false
    @Option(name: .long, help: ArgumentHelp("Fixed layer set when adaptive selection is off: texture, shape, no_fine, shape_expanded, all, default.", valueName: "SET"))
    public var phase: TrainingPhase = .standard
    @Option(name: .long, help: ArgumentHelp("Style-mixing probability.", valueName: "P")) public var mixing: Double = 0
    @Option(name: .customLong("lambda-direction"), help: ArgumentHelp("Weight of the directional CLIP loss.", valueName: "W")) public var lambdaDirection: Float = 1
    @Option(name: .customLong("lambda-global"), help: ArgumentHelp("Weight of the global CLIP loss.", valueName: "W")) public var lambdaGlobal: Float = 0
    @Option(name: .customLong("lambda-patch"), help: ArgumentHelp("Weight of the patch-directional loss (images of 512 px or more).", valueName: "W")) public var lambdaPatch: Float = 0
    @Option(name: .customLong("lambda-manifold"), help: ArgumentHelp("Weight of the manifold-angle loss.", valueName: "W")) public var lambdaManifold: Float = 0
    @Option(name: .customLong("lambda-texture"), help: ArgumentHelp("Texture loss weight (needs CLIP RN50, which nada-edit does not load: must stay 0).", valueName: "W"))
    public var lambdaTexture: Float = 0
    @Option(name: .long, help: ArgumentHelp("Noise maps: random (as the reference trains) or stored (reproducible comparisons).", valueName: "MODE"))
    public var noise: Generate.NoiseSource = .random
    @Flag(name: .customLong("legacy-resize"), help: "CLIP resize without antialiasing (torchvision 0.8.2, the paper's setup).")
    public var legacyResize = false
    @Option(name: .customLong("sample-latents"), help: ArgumentHelp("Replay Z codes [iterations, batch, style_dim].", valueName: "FILE.npy"))
    public var sampleLatents: String?
    @Option(name: .customLong("sample-every"), help: ArgumentHelp("Write a sample grid every N iterations (0 = only at iteration 0 and the last, which always get one).", valueName: "N")) public var sampleEvery: Int = 50
    @Option(name: .customLong("save-every"), help: ArgumentHelp("Write the resumable checkpoint every N iterations (0 = only at the end or on Ctrl-C).", valueName: "N")) public var saveEvery: Int = 0
    @Flag(name: .long, help: "Continue the run in --output from its checkpoint.pt.") public var resume = false
    @Option(name: .long, help: ArgumentHelp("Seed of every random draw.", valueName: "N")) public var seed: UInt64 = 2
    @Option(name: .long, help: ArgumentHelp("Output folder.", valueName: "DIR")) public var output: String

    public init() {}

    public func validate() throws {
        if target == nil && styleImages == nil { throw ValidationError("give --target TEXT (or --style-images DIR)") }
        if lambdaTexture != 0 { throw ValidationError("--lambda-texture needs CLIP RN50, which nada-edit does not load yet; leave it at 0") }
        if iterations < 0 || batch < 1 { throw ValidationError("--iterations must be >= 0 and --batch >= 1") }
        if !(lr > 0) { throw ValidationError("--lr must be positive") }
        if autoLayerK < 0 || autoLayerIters < 0 || autoLayerBatch < 1 { throw ValidationError("--auto-layer-* values must not be negative (batch >= 1)") }
        if !(0...1).contains(mixing) { throw ValidationError("--mixing is a probability in [0, 1]") }
        if let domain, domain.isEmpty || domain.contains("/") { throw ValidationError("--domain must be a plain name") }
    }

    /// A file path, or a model-store name.
    func resolve(_ name: String, store: ModelStore, what: String) throws -> String {
        try ModelResolver(store: store).path(name, flag: what)
    }

    func vocabularyPath(store: ModelStore) throws -> String {
        try ModelResolver(store: store).vocabularyPath(explicit: vocab)
    }

    public func run() throws {
        common.applyThreads()
        compute.apply()
        let store = common.store
        let generatorPath = try resolve(generator, store: store, what: "--generator")
        let clipPaths = try clip.split(separator: ",").map { try resolve(String($0), store: store, what: "--clip") }
        let weights = try clipWeights.map { s in
            try s.split(separator: ",").map { w -> Float in
                guard let v = Float(w) else { throw ValidationError("--clip-weights: '\(w)' is not a number") }
                return v
            }
        } ?? Array(repeating: 1, count: clipPaths.count)

        var options = TrainingOptions()
        options.source = source
        options.target = target ?? "style images"
        options.iterations = iterations; options.batch = batch; options.lr = lr
        options.autoLayerK = autoLayerK; options.autoLayerIters = autoLayerIters; options.autoLayerBatch = autoLayerBatch
        options.correctedLayerMapping = correctedLayerMapping; options.phase = phase; options.mixing = mixing
        options.losses = .init(direction: lambdaDirection, global: lambdaGlobal, patch: lambdaPatch, manifold: lambdaManifold)
        options.clipWeights = weights; options.seed = seed; options.storedNoise = noise == .stored
        options.sampleEvery = sampleEvery; options.saveEvery = saveEvery

        var setup = TrainingSetup(generatorPath: generatorPath,
                                  trainableGeneratorPath: try trainableGenerator.map { try resolve($0, store: store, what: "--trainable-generator") },
                                  clipPaths: clipPaths, vocabularyPath: try vocabularyPath(store: store), options: options)
        setup.antialias = !legacyResize
        setup.sampleLatentsPath = sampleLatents
        setup.styleImagesFolder = styleImages
        let trainer = try setup.makeTrainer().trainer

        let inputs = TrainingRun.Inputs(generatorPath: generatorPath, trainableGeneratorPath: trainableGenerator, clipPaths: clipPaths,
                                        domainName: domain ?? URL(fileURLWithPath: output).lastPathComponent, toolVersion: NadaEdit.version)
        let run = try TrainingRun(trainer: trainer, inputs: inputs, outputDirectory: output)
        if resume {
            try run.resume()
        } else if FileManager.default.fileExists(atPath: run.checkpointPath) {
            throw ValidationError("\(output) already holds a run (\(run.checkpointPath)); pass --resume to continue it or choose another --output")
        }
        let progress = ProgressLine(total: iterations)
        run.log = { progress.message($0) }
        run.progress = { progress.update($0) }
        Interrupt.install()
        let outcome = try run.run(shouldStop: { Interrupt.isRequested })
        progress.finish()
        if outcome == .interrupted { throw ExitCode(130) }
        if let domain {
            let installed = try DomainRegistry(store: store).install(recordFile: "\(output)/record.json", name: domain)
            print("registered domain '\(domain)' (\(installed.generatorPath))")
        }
        print("done: \(trainer.iteration) iterations, final loss \(trainer.history.last.map { String($0) } ?? "-"), output in \(output)")
        print("report: \(run.reportPath)")
    }
}
