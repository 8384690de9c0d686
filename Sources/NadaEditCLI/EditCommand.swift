import ArgumentParser
import ClusterQueue
import Foundation
import Imaging
import Pipeline

/// The default command: `nada-edit --domain sketch photos/` edits every photo with every domain.
public struct Edit: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "edit",
        abstract: "Edit photos (files or folders) with one or more trained domains (the default command).",
        discussion: """
        Each photo is inverted once with the encoder, then rendered by every --domain's generator. Outputs are
        <stem>.<domain>.<ext> in the output folder, written under a temporary name and renamed; existing outputs
        are skipped unless --overwrite. Every output records its provenance (EXIF/XMP for JPEG, XMP iTXt for PNG).
        Exit status: 0 when every photo was edited or skipped, 1 when any failed, 2 when the run stopped because
        outputs could not be written (disk full, read-only folder), 64 for bad arguments.
        """
    )

    @OptionGroup public var common: CommonOptions
    @OptionGroup public var compute: PrecisionOptions
    @OptionGroup public var editor: EditorOptions
    @OptionGroup public var sharding: ShardOptions

    @Option(name: .customLong("domain"), help: ArgumentHelp("A domain to edit with (repeat for several), or NAME=W for a blend: --domain sketch=0.6 --domain pixar=0.4 renders one output <stem>.sketch60_pixar40.<ext> from base + Σ W·(domain − base).", valueName: "NAME[=W]"))
    public var domains: [String] = []

    @Argument(help: ArgumentHelp("Photos (JPEG/PNG) or folders of photos.", valueName: "INPUT"))
    public var inputs: [String] = []

    @Option(name: .long, help: ArgumentHelp("Output folder (default: ./edited).", valueName: "DIR"))
    public var output: String = "edited"

    @Option(name: .long, help: ArgumentHelp("Output format, jpg or png (default: the input's format).", valueName: "FORMAT"))
    public var format: String?

    @Flag(name: .long, help: "Descend into sub-folders of folder inputs; outputs mirror the sub-folders under the output folder.")
    public var recursive = false

    @Flag(name: .customLong("follow-symlinks"), help: "With --recursive, also descend into symbolically linked folders (links to files are always followed; no folder is entered twice).")
    public var followSymlinks = false

    @Option(name: .long, help: ArgumentHelp("Photos decoded and written at once (model arithmetic is one photo at a time).", valueName: "N"))
    public var jobs: Int = 1

    @Flag(name: .long, help: "Replace existing outputs.")
    public var overwrite = false

    @Flag(name: .customLong("skip-existing"), help: "Skip photos whose outputs exist (the default; stated for scripts).")
    public var skipExisting = false

    @Flag(inversion: .prefixedNo, help: "Write index.html in the output folder: one row per photo (input | reconstruction | each domain) and the failures with their reasons (default: on when the inputs hold 2 photos or more).")
    public var report: Bool?

    @Option(name: .long, help: ArgumentHelp("Work from a PostgreSQL queue shared with other workers: enqueue the INPUTs (may be none), then claim photos until none is left (see `nada-edit queue`).", valueName: "URL"))
    public var queue: String?

    /// Seconds a claim lasts without a heartbeat (hidden, as watch's: the process tests kill workers and wait for their leases).
    @Option(name: .customLong("queue-lease"), help: .hidden)
    public var queueLease: Double = 60

    public init() {}

    public func validate() throws {
        if domains.isEmpty { throw ValidationError("give at least one --domain NAME (see `nada-edit domains list`)") }
        if inputs.isEmpty && queue == nil { throw ValidationError("give at least one photo or folder to edit") }
        if queue != nil && (sharding.shard != nil || sharding.shardCount != nil) {
            throw ValidationError("--queue and --shard split the work in two different ways; give one of them")
        }
        if let queue { do { _ = try QueueURL(queue) } catch { throw ValidationError("\(error)") } }
        if queueLease <= 0 { throw ValidationError("--queue-lease must be positive") }
        if overwrite && skipExisting { throw ValidationError("--overwrite and --skip-existing contradict each other") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        _ = try EditorOptions.domainSelection(domains)
        if let format, ImageFormat(userName: format) == nil { throw ValidationError("--format must be jpg or png, not '\(format)'") }
    }

    public func run() throws {
        common.applyThreads()
        compute.apply()
        let processor = try editor.makeEditor(store: common.store, domains: domains)
        var options = BatchOptions(outputDirectory: output, domains: try EditorOptions.domainSelection(domains).outputNames, format: format.flatMap(ImageFormat.init(userName:)),
                                   overwrite: overwrite, recursive: recursive, followSymlinks: followSymlinks, jobs: jobs)
        options.report = report
        if let queue { return try runQueueWorker(url: queue, options: options, processor: processor, lease: queueLease) }
        options.shard = try sharding.resolve()
        let runner = BatchRunner(options: options, processor: processor)
        runner.log = printError
        let summary = try runner.run(inputs: inputs)
        print(summary.report())
        if let page = summary.reportPath { print("report: \(page)") }
        if summary.exitStatus != 0 { throw ExitCode(summary.exitStatus) }
    }
}
