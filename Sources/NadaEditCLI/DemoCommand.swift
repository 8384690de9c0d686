import ArgumentParser
import Foundation
import Imaging
import Pipeline

/// `nada-edit demo`: train, batch-edit and watch on the repository's tiny fixture models, offline.
public struct Demo: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Show the whole tool on the tiny models in the repository's fixtures/ (no network, no other files).",
        discussion: """
        In a new output folder: sets up a model store from fixtures/ (tiny untrained generator, CLIP and e4e encoder,
        and a small vocabulary made by tools/make_demo_vocab.py), trains the domain 'sketch' ('photo' -> 'sketch') for a
        few iterations, edits the bundled photos in batch (with comparison sheets), and runs a watched-folder session
        (--once, JPEG outputs) on copies of them. Then prints where everything is. The models are untrained, so the
        images are abstract. Real runs need the real CLIP vocabulary; see `nada-edit models fetch clip-bpe-vocab`.
        """
    )

    @Option(name: .long, help: ArgumentHelp("Output folder; must be new or empty (default: a new folder under $TMPDIR).", valueName: "DIR"))
    public var output: String?

    @Option(name: .long, help: ArgumentHelp("The repository's fixtures folder (default: ./fixtures, i.e. run from the repository root).", valueName: "DIR"))
    public var fixtures: String = "fixtures"

    @Option(name: .long, help: ArgumentHelp("Training iterations.", valueName: "N"))
    public var iterations: Int = DemoRun.defaultIterations

    @Option(name: .long, help: ArgumentHelp("Worker threads for numeric work (default: all cores).", valueName: "N"))
    public var threads: Int?

    public init() {}

    public func validate() throws {
        if iterations < 1 { throw ValidationError("--iterations must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        let missing = DemoRun.missingFixtures(in: fixtures)
        if !missing.isEmpty {
            throw ValidationError("--fixtures \(fixtures): not the repository's fixtures folder (missing \(missing.joined(separator: ", "))); run from the repository root or pass --fixtures PATH/TO/nada-edit/fixtures")
        }
    }

    public func run() throws {
        if let threads { ComputeSettings.setThreads(threads) }
        var options = DemoRun.Options(fixturesDirectory: fixtures, outputDirectory: try output ?? DemoRun.makeTemporaryOutputDirectory())
        options.iterations = iterations
        options.toolVersion = NadaEdit.version
        let demo = DemoRun(options: options)
        let progress = ProgressLine(total: iterations)
        demo.log = { progress.message($0) }
        demo.progress = { progress.update($0) }
        let started = Date()
        let r = try demo.run()
        progress.finish()

        let firstEdit = r.batch.outputsWritten.first
        var lines = [
            "",
            String(format: "demo finished in %.0f s; everything is in %@", Date().timeIntervalSince(started), r.outputDirectory),
            "  model store (its own):  \(r.modelStore)",
            "  training run:           \(r.trainingDirectory)  (samples/, losses.csv, loss.png, generator.pt, report.html)",
            "  training record:        \(r.trainingRecord)" + (r.finalLoss.map { "  (final loss \($0))" } ?? ""),
            "  batch edits:            \(r.batchDirectory)  (\(r.batch.outputsWritten.count) edits, \(r.compareSheets.count) comparison sheets)",
        ]
        lines += r.batch.outputsWritten.map { "    \($0)" }
        lines += [
            "  watched folder:         \(r.watchInput) -> \(r.watchOutput)  (\(r.watch.report().split(separator: "\n")[0]))",
            "  watch ledger:           \(r.ledger)",
        ]
        lines += r.watchOutputs.map { "    \($0)" }
        if let firstEdit {
            lines += ["", "provenance of \(firstEdit) (also: nada-edit provenance FILE):"]
            // The nada-edit fields (from the XMP packet); `nada-edit provenance` also lists the EXIF/PNG text copies.
            lines += try readProvenance(path: firstEdit).lines.filter { !$0.hasPrefix("EXIF ") && !$0.hasPrefix("PNG ") }.map { "  " + $0 }
        }
        lines += ["", "look at (open in a browser; no network needed):",
                  "  training report:        \(r.trainingReport)",
                  "  batch edits:            \(r.batchReport ?? "-")",
                  "  watched folder:         \(r.watchReport)"]
        lines += ["", "the models are tiny and untrained, so the images are abstract; see README.md for real models."]
        print(lines.joined(separator: "\n"))
    }
}
