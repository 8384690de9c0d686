import Foundation
import Imaging
import Training

/// `nada-edit demo`: the whole product once, on the tiny untrained models in the repository's `fixtures/`, with no
/// network and nothing outside the repository. In a fresh output folder it sets up a model store, trains a domain
/// ("photo" → "sketch") for a few iterations, edits the bundled photos in batch, then runs a watched-folder session
/// (`--once`) on copies of them. Every step goes through the same library calls as `train`, `edit` and `watch`.
public final class DemoRun {
    /// The fixture files the demo reads, relative to the fixtures folder.
    public enum Fixture {
        public static let generator = "quickstart/generator.pt"
        public static let clip = "clip/model_state.pt"
        public static let encoder = "encoders/e4e.pt"
        /// Made by `tools/make_demo_vocab.py`; loaded through the same tokenizer code as OpenAI's file.
        public static let vocabulary = "demo/bpe_demo_vocab.txt.gz"
        /// A 256 px face, a 409×300 RGB cat and a 181×142 RGBA astronaut: three shapes and two colour layouts.
        public static let photos = ["encoders/input_face.png", "images/chelsea.png", "images/astronaut.png"]
        public static var all: [String] { [generator, clip, encoder, vocabulary] + photos }
    }

    public struct Options {
        /// The repository's `fixtures/` folder.
        public var fixturesDirectory: String
        /// Where everything goes; must not exist yet or be empty.
        public var outputDirectory: String
        /// Training iterations, the old quick start's 20. At batch 2 with 3 layers chosen per iteration one takes
        /// 0.05 s in a release build on 2 cores, and the whole demo 2.1 s wall (measured with `/usr/bin/time
        /// nada-edit demo` on a fresh clone, load average 4), far under the minute the demo must stay within.
        public var iterations = DemoRun.defaultIterations
        public var toolVersion = "0"
        public init(fixturesDirectory: String, outputDirectory: String) {
            self.fixturesDirectory = fixturesDirectory; self.outputDirectory = outputDirectory
        }
    }

    /// Where the demo put things, for the closing message and for tests.
    public struct Result {
        public var outputDirectory: String
        public var modelStore: String
        public var domain: String
        /// The training run's folder: samples/, losses.csv, loss.svg, loss.png, generator.pt, record.json, report.html.
        public var trainingDirectory: String
        public var trainingRecord: String
        public var finalLoss: Float?
        public var batchDirectory: String
        public var batch: BatchSummary
        /// `<stem>.<domain>.compare.png` sheets (input | reconstruction | edit) beside the batch outputs.
        public var compareSheets: [String]
        public var watchInput: String
        public var watchOutput: String
        public var ledger: String
        public var watch: WatchSummary
        /// The watched session's outputs, as its ledger records them.
        public var watchOutputs: [String]
        /// The pages to look at: the training run's report.html and the index.html of each edit folder.
        public var trainingReport: String
        public var batchReport: String?
        public var watchReport: String
    }

    public static let defaultIterations = 20
    public static let domainName = "sketch"
    public static let sourcePrompt = "photo"
    public static let targetPrompt = "sketch"

    public let options: Options
    /// One line per step, and the training run's own messages.
    public var log: (String) -> Void = { _ in }
    /// Every finished training iteration.
    public var progress: (IterationReport) -> Void = { _ in }

    public init(options: Options) { self.options = options }

    /// Fixture files the demo needs that `directory` lacks (empty when it is a usable fixtures folder).
    public static func missingFixtures(in directory: String) -> [String] {
        Fixture.all.filter { !FileOps.isRegularFile((directory as NSString).appendingPathComponent($0)) }
    }

    func fixture(_ relative: String) -> String { (options.fixturesDirectory as NSString).appendingPathComponent(relative) }
    func output(_ relative: String) -> String { (options.outputDirectory as NSString).appendingPathComponent(relative) }

    public func run() throws -> Result {
        let missing = DemoRun.missingFixtures(in: options.fixturesDirectory)
        guard missing.isEmpty else {
            throw PipelineError.io(path: options.fixturesDirectory, problem: "not the repository's fixtures folder: it lacks \(missing.joined(separator: ", "))")
        }
        try prepareOutputDirectory()

        // 1. A model store of its own, filled from fixtures/ (the user's store is never touched).
        let store = ModelStore(root: output("models"))
        log("model store \(store.root): adding the tiny generator, CLIP, e4e encoder and demo vocabulary from \(options.fixturesDirectory)")
        let generator = store.path(try store.add(file: fixture(Fixture.generator), kind: .generators, name: "tiny-generator").file)
        let clip = store.path(try store.add(file: fixture(Fixture.clip), kind: .clip, name: "tiny-clip").file)
        let encoder = store.path(try store.add(file: fixture(Fixture.encoder), kind: .encoders, name: "tiny-e4e").file)
        let vocabulary = store.path(try store.add(file: fixture(Fixture.vocabulary), kind: .vocab, name: "demo-vocab").file)

        // 2. Train "photo" → "sketch" and register the domain, as `train --domain sketch` does.
        var training = TrainingOptions()
        training.source = DemoRun.sourcePrompt
        training.target = DemoRun.targetPrompt
        training.iterations = options.iterations
        training.batch = 2
        training.autoLayerK = 3
        training.sampleEvery = max(1, options.iterations / 2)
        var setup = TrainingSetup(generatorPath: generator, clipPaths: [clip], vocabularyPath: vocabulary, options: training)
        setup.vocabularyMergeCount = nil   // the demo vocabulary: every merge in the file
        let trainer = try setup.makeTrainer().trainer
        let trainingDirectory = output("train")
        let run = try TrainingRun(trainer: trainer,
                                  inputs: .init(generatorPath: generator, clipPaths: [clip], domainName: DemoRun.domainName, toolVersion: options.toolVersion),
                                  outputDirectory: trainingDirectory)
        run.log = log
        run.progress = progress
        log("training '\(DemoRun.sourcePrompt)' → '\(DemoRun.targetPrompt)' for \(options.iterations) iterations in \(trainingDirectory)")
        try run.run()
        let registry = DomainRegistry(store: store)
        let domain = try registry.install(recordFile: (trainingDirectory as NSString).appendingPathComponent(DomainRegistry.recordFileName),
                                          name: DemoRun.domainName)

        // 3. Edit the bundled photos in batch, as `nada-edit --domain sketch PHOTOS --compare` does.
        var settings = DomainEditor.Settings()
        settings.compare = true
        settings.toolVersion = options.toolVersion
        let editor = try DomainEditor(encoderPath: encoder, domains: [domain], settings: settings,
                                      aligner: try PhotoAligner(mode: .center, landmarkModel: nil))
        let batchDirectory = output("edited")
        let batchRunner = BatchRunner(options: BatchOptions(outputDirectory: batchDirectory, domains: [DemoRun.domainName]), processor: editor)
        batchRunner.log = log
        let batch = try batchRunner.run(inputs: Fixture.photos.map(fixture))
        guard batch.failed.isEmpty else { throw PipelineError.invalidArgument("the demo's batch edit failed:\n\(batch.report())") }
        let sheets = batch.outputsWritten.map(DomainEditor.comparePath(for:)).filter(FileOps.isRegularFile)

        // 4. A watched-folder session on copies (one of them twice, under another name: edited once, by content),
        //    written as JPEG, as `nada-edit watch INCOMING --domain sketch --format jpg --compare --once` does.
        let incoming = output("watch/incoming")
        try FileOps.createDirectory(incoming)
        var copies = Fixture.photos.map { ($0, ($0 as NSString).lastPathComponent) }
        copies.append((Fixture.photos[1], "same-cat-renamed.png"))
        for (source, name) in copies {
            try FileManager.default.copyItem(atPath: fixture(source), toPath: (incoming as NSString).appendingPathComponent(name))
        }
        var watchOptions = WatchOptions(inputDirectory: incoming, outputDirectory: output("watch/edited"), domains: [DemoRun.domainName], format: .jpeg)
        watchOptions.exitWhenIdle = true
        // The copies are complete before the watcher starts, so the arrival check need not wait long.
        watchOptions.settleInterval = 0.2
        let watcher = Watcher(options: watchOptions, processor: editor)
        watcher.log = log
        let watch = try watcher.run()
        guard watch.failed.isEmpty else { throw PipelineError.invalidArgument("the demo's watched-folder session failed:\n\(watch.report())") }
        let ledger = try Ledger(path: watcher.ledgerPath)
        let photosByContent = try Set(copies.map { try FileDigest.sha256Hex(ofFileAt: fixture($0.0)) })
        let watchOutputs = photosByContent.flatMap { sha in ledger.entries(for: sha).filter { $0.state == .done }.flatMap(\.outputs) }.sorted()

        return Result(outputDirectory: options.outputDirectory, modelStore: store.root, domain: DemoRun.domainName,
                      trainingDirectory: trainingDirectory,
                      trainingRecord: (trainingDirectory as NSString).appendingPathComponent(DomainRegistry.recordFileName),
                      finalLoss: trainer.history.last, batchDirectory: batchDirectory, batch: batch, compareSheets: sheets,
                      watchInput: incoming, watchOutput: watchOptions.outputDirectory, ledger: watcher.ledgerPath,
                      watch: watch, watchOutputs: watchOutputs, trainingReport: run.reportPath, batchReport: batch.reportPath,
                      watchReport: (watchOptions.outputDirectory as NSString).appendingPathComponent(BatchReport.fileName))
    }

    /// The output folder must be new or empty: the demo never mixes its files with anything already there.
    func prepareOutputDirectory() throws {
        let dir = options.outputDirectory
        if FileOps.exists(dir) {
            guard FileOps.isDirectory(dir) else { throw PipelineError.io(path: dir, problem: "exists and is not a folder; choose another output folder") }
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            guard entries.isEmpty else {
                throw PipelineError.io(path: dir, problem: "is not empty; choose a new output folder (the demo does not mix its files with others)")
            }
        }
        try FileOps.createDirectory(dir)
    }

    /// A fresh folder under the system's temporary directory, for runs without an output folder.
    public static func makeTemporaryOutputDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("nada-edit-demo-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw PipelineError.io(path: NSTemporaryDirectory(), problem: "cannot create a temporary folder: \(FileOps.errnoText())")
        }
        return String(cString: made)
    }
}
