import DurableIO
import Engine
import Formats
import Foundation
import Imaging
import Models
import Training

/// A training run on disk: drives `NADATrainer` and writes everything a user keeps in the output folder:
/// `samples/iter_NNNNNN.png` (labelled "base" row over "adapted" row; at iteration 0, every `--sample-every`
/// and always at the last iteration), `losses.csv` (total and per-term losses), `checkpoint.pt` (resumable),
/// and at the end `generator.pt` (`{"g_ema": ...}`, loadable by the reference code), `loss.svg`/`loss.png`,
/// `record.json` (the domain record the editor reads) and `report.html` (all of it on one page).
public final class TrainingRun {
    public struct Inputs {
        public var generatorPath: String
        public var trainableGeneratorPath: String?
        public var clipPaths: [String]
        public var domainName: String
        public var toolVersion: String
        public init(generatorPath: String, trainableGeneratorPath: String? = nil, clipPaths: [String], domainName: String, toolVersion: String) {
            self.generatorPath = generatorPath; self.trainableGeneratorPath = trainableGeneratorPath
            self.clipPaths = clipPaths; self.domainName = domainName; self.toolVersion = toolVersion
        }
    }

    public let trainer: NADATrainer
    public let inputs: Inputs
    public let outputDirectory: String
    /// Receives one line per event (progress, saves); the CLI decides how to show it.
    public var log: (String) -> Void = { _ in }
    /// Receives every finished iteration (for a live progress line).
    public var progress: (IterationReport) -> Void = { _ in }
    private var wallSeconds: Double = 0

    public init(trainer: NADATrainer, inputs: Inputs, outputDirectory: String) throws {
        self.trainer = trainer
        self.inputs = inputs
        self.outputDirectory = outputDirectory
        try FileOps.createDirectory(outputDirectory)
        try FileOps.createDirectory(path("samples"))
        // A run killed mid-write leaves only temporaries (every file is renamed into place when complete).
        AtomicFile.removeStaleTemporaries(in: outputDirectory)
        AtomicFile.removeStaleTemporaries(in: path("samples"))
    }

    func path(_ name: String) -> String { (outputDirectory as NSString).appendingPathComponent(name) }

    public var checkpointPath: String { path(TrainingCheckpoint.fileName) }
    /// The run's page (prompts, settings, times, loss plot, sample filmstrip), written when the run finishes.
    public var reportPath: String { path(TrainingReport.fileName) }

    /// Continues from `checkpoint.pt` in the output folder (or `from`).
    public func resume(from checkpoint: String? = nil) throws {
        let file = checkpoint ?? checkpointPath
        guard FileOps.isRegularFile(file) else {
            throw TrainingError("nothing to resume: \(file) does not exist (start without --resume)")
        }
        try TrainingCheckpoint.restore(trainer, from: file)
        try trimCSV(toIteration: trainer.iteration)
        log("resumed from \(file) at iteration \(trainer.iteration)")
    }

    public enum Outcome: Equatable { case finished, interrupted }

    /// Runs until `options.iterations` or until `shouldStop()` turns true (then saves a resumable checkpoint).
    @discardableResult
    public func run(shouldStop: () -> Bool = { false }) throws -> Outcome {
        let options = trainer.options
        if trainer.iteration == 0 { try writeSamples(iteration: 0) }
        while trainer.iteration < options.iterations {
            if shouldStop() {
                try TrainingCheckpoint.save(trainer, to: checkpointPath)
                log("interrupted at iteration \(trainer.iteration); resumable checkpoint: \(checkpointPath) (continue with --resume)")
                return .interrupted
            }
            let report = try trainer.step()
            wallSeconds += report.seconds
            try appendCSV(report)
            progress(report)
            if !report.loss.isFinite { throw TrainingError("the loss became \(report.loss) at iteration \(report.iteration); lower --lr") }
            if options.sampleEvery > 0 && report.iteration % options.sampleEvery == 0 { try writeSamples(iteration: report.iteration) }
            if options.saveEvery > 0 && report.iteration % options.saveEvery == 0 {
                try TrainingCheckpoint.save(trainer, to: checkpointPath)
                log("saved \(checkpointPath) at iteration \(report.iteration)")
            }
        }
        // The run's result is always shown, whatever --sample-every is.
        if !FileOps.isRegularFile(samplePath(iteration: trainer.iteration)) { try writeSamples(iteration: trainer.iteration) }
        try finish()
        return .finished
    }

    /// After a crash `losses.csv` may hold iterations past the checkpoint (they are run again) and a torn last
    /// line: keep the header and the rows up to `iteration`.
    func trimCSV(toIteration iteration: Int) throws {
        let file = path("losses.csv")
        guard let data = FileManager.default.contents(atPath: file) else { return }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        guard let header = lines.first else { return }
        let kept = lines.dropFirst().filter { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            // 4 fields before issue 20, 4 + the loss terms since.
            guard fields.count == 4 || fields.count == 4 + LossTerms.names.count, let i = Int(fields[0]), Double(fields[1]) != nil else { return false }
            return i <= iteration
        }
        try FileOps.writeAtomically(Data(([header] + kept).map { $0 + "\n" }.joined().utf8), to: file)
    }

    func appendCSV(_ r: IterationReport) throws {
        let file = path("losses.csv")
        if !FileOps.exists(file) || r.iteration == 1 {
            try FileOps.writeAtomically(Data((LossLog.header + "\n").utf8), to: file)
        }
        let terms = r.terms.values.map { "\($0)" }.joined(separator: ",")
        let line = "\(r.iteration),\(r.loss),\(String(format: "%.3f", r.seconds)),\(r.trainedModules.joined(separator: " ")),\(terms)\n"
        try FileOps.append(Data(line.utf8), to: file)
    }

    func samplePath(iteration: Int) -> String { path(String(format: "samples/iter_%06d.png", iteration)) }

    /// A grid: the frozen generator's samples on the top row ("base"), the adapted ones below ("adapted"), under
    /// "iteration N of M".
    public func writeSamples(iteration: Int) throws {
        let (frozen, adapted) = try trainer.samples()
        var rows: [RGBImage] = []
        for t in [frozen, adapted] {
            rows.append(try ImageTensors.sheet((0..<t.shape[0]).map { try ImageTensors.image(from: t, batchIndex: $0) }))
        }
        let grid = try SampleGrid.labelled(base: rows[0], adapted: rows[1], iteration: iteration, of: trainer.options.iterations)
        try FileIO.writeAtomically(try encodeImage(grid, format: .png), to: samplePath(iteration: iteration), overwrite: true)
    }

    /// Final generator, loss curve and domain record.
    func finish() throws {
        let generatorFile = path("generator.pt")
        // An NVlabs base keeps its conv_clamp / mapping lr (nvlabs_options) so the result reloads identically;
        // a StyleGAN3 result is its base pickle's path and SHA-256 plus the trained tensors.
        try TrainingCheckpoint.writeGenerator(trainer, to: generatorFile)
        try TrainingCheckpoint.save(trainer, to: checkpointPath)
        let o = trainer.options
        let losses = try LossLog.read(path("losses.csv"))
        try LossPlot.write(losses, title: "\"\(o.source)\" → \"\(o.target)\"  (\(inputs.domainName))",
                           subtitle: "CLIP: " + inputs.clipPaths.enumerated().map { i, p in
                               "\((p as NSString).lastPathComponent) ×\(i < o.clipWeights.count ? String(o.clipWeights[i]) : "?")" }.joined(separator: ", ")
                               + "  ·  \(trainer.iteration) iterations, batch \(o.batch), lr \(o.lr)",
                           folder: outputDirectory)
        var hyper: [String: String] = [
            "lr": String(o.lr), "batch": String(o.batch), "seed": String(o.seed), "phase": o.phase.rawValue,
            "auto_layer_k": String(o.autoLayerK), "auto_layer_iters": String(o.autoLayerIters),
            "auto_layer_batch": String(o.autoLayerBatch), "mixing": String(o.mixing),
            "lambda_direction": String(o.losses.direction), "lambda_global": String(o.losses.global),
            "lambda_patch": String(o.losses.patch), "lambda_manifold": String(o.losses.manifold),
            "clip_weights": o.clipWeights.map { String($0) }.joined(separator: ","),
            "noise": o.storedNoise ? "stored" : "random",
            "generator_family": trainer.trainable.familyName,
        ]
        if let start = inputs.trainableGeneratorPath { hyper["trainable_generator"] = start }
        for (i, clip) in inputs.clipPaths.enumerated() { hyper["clip_\(i)_sha256"] = try FileDigest.sha256Hex(ofFileAt: clip) }
        let formatter = ISO8601DateFormatter()
        let record = DomainRecord(
            name: inputs.domainName, sourcePrompt: o.source, targetPrompt: o.target,
            generator: .init(path: "generator.pt", sha256: try FileDigest.sha256Hex(ofFileAt: generatorFile)),
            baseGenerator: .init(path: URL(fileURLWithPath: inputs.generatorPath).standardizedFileURL.path,
                                 sha256: try FileDigest.sha256Hex(ofFileAt: inputs.generatorPath)),
            clipModels: inputs.clipPaths.map { ($0 as NSString).lastPathComponent },
            iterations: trainer.iteration, finalLoss: Double(trainer.history.last ?? 0),
            wallTimeSeconds: wallSeconds, toolVersion: inputs.toolVersion,
            created: formatter.string(from: Date()), hyperparameters: hyper)
        try record.write(to: path("record.json"))
        try TrainingReport.write(record: record, losses: losses, folder: outputDirectory)
        log("wrote \(generatorFile), \(path("record.json")) and \(path("loss.png"))")
        log("report: \(reportPath)")
    }
}
