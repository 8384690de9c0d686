import DurableIO
import Foundation

/// `report.html` in a training run's folder: prompts, the record's settings, wall time and time per iteration,
/// the loss plot and the sample grids as a filmstrip over iterations. Self-contained: inline CSS, no scripts,
/// every image a relative path to a file in the run folder.
public enum TrainingReport {
    public static let fileName = "report.html"

    /// Sample grids in the run folder, by iteration: `samples/iter_NNNNNN.png`.
    public static func sampleGrids(in folder: String) -> [(iteration: Int, relativePath: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: (folder as NSString).appendingPathComponent("samples"))) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("iter_"), name.hasSuffix(".png"), let i = Int(name.dropFirst(5).dropLast(4)) else { return nil }
            return (i, "samples/" + name)
        }.sorted { $0.0 < $1.0 }
    }

    public static func html(record r: DomainRecord, losses: LossLog, folder: String) -> String {
        let seconds = losses.rows.map(\.seconds).reduce(0, +)
        var facts: [(String, String)] = [
            ("domain", r.name),
            ("prompts", "\"\(r.sourcePrompt)\" → \"\(r.targetPrompt)\""),
            ("CLIP models", r.clipModels.joined(separator: ", ")),
            ("iterations", String(r.iterations)),
            ("final loss", String(format: "%.5f", r.finalLoss)),
            ("wall time", String(format: "%.1f s (this session; %.1f s of training steps in losses.csv)", r.wallTimeSeconds, seconds)),
        ]
        if let mean = losses.meanSeconds {
            let sorted = losses.rows.map(\.seconds).sorted()
            facts.append(("time per iteration", String(format: "%.3f s mean, %.3f s median, %.3f s slowest", mean, sorted[sorted.count / 2], sorted.last!)))
        }
        facts += [
            ("base generator", "\(r.baseGenerator.path) (sha256 \(r.baseGenerator.sha256))"),
            ("adapted generator", "\(r.generator.path) (sha256 \(r.generator.sha256))"),
            ("tool version", r.toolVersion),
            ("created", r.created),
        ]
        let settings = (r.hyperparameters ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let grids = sampleGrids(in: folder)
        let strip = grids.map { g in
            "<figure><a href=\"\(Markup.url(g.relativePath))\"><img class=\"sample\" src=\"\(Markup.url(g.relativePath))\" alt=\"samples at iteration \(g.iteration)\"></a>"
                + "<figcaption>iteration \(g.iteration)</figcaption></figure>"
        }.joined(separator: "\n")
        let body = """
        <h1>\(Markup.escape(r.name)): “\(Markup.escape(r.sourcePrompt))” → “\(Markup.escape(r.targetPrompt))”</h1>
        <p class="muted">StyleGAN-NADA training run, written by nada-edit \(Markup.escape(r.toolVersion)). Files: <a href="record.json">record.json</a>, <a href="losses.csv">losses.csv</a>, <a href="generator.pt">generator.pt</a>.</p>
        <h2>Run</h2>
        \(HTMLPage.table(facts))
        <h2>Loss</h2>
        <p><a href="loss.svg"><img class="plot" src="loss.png" alt="loss per iteration"></a></p>
        <h2>Samples over iterations</h2>
        <p class="muted">Each grid: the base generator's samples (top row) and the adapted generator's (bottom row), same latent codes.</p>
        <div class="strip">
        \(strip.isEmpty ? "<p class=\"muted\">no sample grids in samples/</p>" : strip)
        </div>
        <h2>Settings</h2>
        \(HTMLPage.table(settings))
        """
        return HTMLPage.page(title: "\(r.name): \(r.sourcePrompt) → \(r.targetPrompt)", body: body)
    }

    /// Writes `report.html` into the run folder (temporary name, then renamed); returns its path.
    @discardableResult
    public static func write(record: DomainRecord, losses: LossLog, folder: String) throws -> String {
        let path = (folder as NSString).appendingPathComponent(fileName)
        try FileOps.writeAtomically(Data(html(record: record, losses: losses, folder: folder).utf8), to: path)
        return path
    }
}

extension TrainingReport {
    /// The files the report shows, relative to the run folder (samples/ is added whole).
    static let pageFiles = [fileName, "loss.svg", "loss.png", "losses.csv"]

    /// Copies the report and what it shows from a run folder into an installed domain's folder (absent files are
    /// skipped: runs from before reports have none). `domains show NAME --open` opens the copy.
    static func copyFiles(from run: String, to folder: String) throws {
        guard FileOps.isRegularFile((run as NSString).appendingPathComponent(fileName)) else { return }
        for name in pageFiles {
            let source = (run as NSString).appendingPathComponent(name)
            if FileOps.isRegularFile(source) { try FileManager.default.copyItem(atPath: source, toPath: (folder as NSString).appendingPathComponent(name)) }
        }
        let samples = (run as NSString).appendingPathComponent("samples")
        if FileOps.isDirectory(samples) {
            try FileOps.createDirectory((folder as NSString).appendingPathComponent("samples"))
            for grid in sampleGrids(in: run) {
                try FileManager.default.copyItem(atPath: (run as NSString).appendingPathComponent(grid.relativePath),
                                                 toPath: (folder as NSString).appendingPathComponent(grid.relativePath))
            }
        }
    }
}
