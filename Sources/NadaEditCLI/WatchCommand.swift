import ArgumentParser
import ClusterQueue
import Foundation
import Imaging
import Pipeline

/// `nada-edit watch INPUT_DIR --domain NAME ...`: edit every photo dropped into a folder, once.
public struct Watch: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch a folder and edit every JPEG/PNG photo that arrives with the given domains, exactly once."
    )

    @OptionGroup public var common: CommonOptions
    @OptionGroup public var compute: PrecisionOptions
    @OptionGroup public var editor: EditorOptions
    @OptionGroup public var sharding: ShardOptions

    @Argument(help: ArgumentHelp("The folder to watch (its sub-folders are not watched).", valueName: "INPUT_DIR"))
    public var inputDirectory: String

    @Option(name: .customLong("domain"), help: ArgumentHelp("A domain to edit with (repeat for several), or NAME=W for a blend (see `edit --help`).", valueName: "NAME[=W]"))
    public var domains: [String] = []

    @Option(name: .long, help: ArgumentHelp("Where edits, the ledger and reason files go (default: INPUT_DIR/edited).", valueName: "DIR"))
    public var output: String?

    @Option(name: .long, help: ArgumentHelp("Move each processed original here (default: leave it in place).", valueName: "DIR"))
    public var done: String?

    @Option(name: .long, help: ArgumentHelp("Move each failed original here with a .reason.txt beside it (default: leave it; the reason goes to the output folder).", valueName: "DIR"))
    public var failed: String?

    @Option(name: .long, help: ArgumentHelp("Output format, jpg or png (default: the input's format).", valueName: "FORMAT"))
    public var format: String?

    @Option(name: .long, help: ArgumentHelp("Seconds a file's size and modification time must stay unchanged before it is taken.", valueName: "SECONDS"))
    public var settle: Double = 1.0

    @Option(name: .customLong("rescan-every"), help: ArgumentHelp("Seconds between full rescans of the folder (a safety net for missed events).", valueName: "SECONDS"))
    public var rescanEvery: Double = 60

    @Flag(name: .long, help: "Do not use inotify; rescan every --settle seconds instead (for network filesystems).")
    public var polling = false

    @Flag(name: .long, help: "Process what is in the folder now, then exit instead of watching.")
    public var once = false

    @Flag(name: .customLong("retry-failed"), help: "Try again inputs whose content failed before (by default a failure is final).")
    public var retryFailed = false

    @Flag(name: .customLong("follow-symlinks"), help: "Edit what symbolic links in the folder point to (default: links are skipped; a link itself is what gets moved).")
    public var followSymlinks = false

    @Option(name: .long, help: ArgumentHelp(
        "Share the folder with other watchers (on this machine or others) through a PostgreSQL queue (see `nada-edit queue`).",
        discussion: """
        Every watcher enqueues the photos that settle in INPUT_DIR by the SHA-256 of their bytes (the first to see a \
        photo adds it; the others find it there), then claims photos from the queue one at a time under a lease that \
        a heartbeat renews, edits them, and renames the outputs into place in the same transaction that records the \
        photo done. The queue replaces the ledger: no ledger file or folder lock is used. Only the watcher that \
        recorded a photo done or failed moves its original to --done / --failed; a photo another worker recorded is \
        never edited again, and a copy of content already in the queue is left where it is. A watcher killed \
        mid-photo loses its lease: once it expires another worker takes the photo, and outputs the dead one had \
        already renamed into place are recognised by their provenance instead of being written twice. The queue \
        also holds photos enqueued by `edit --queue` workers; a watcher edits those too but leaves their originals \
        alone. With --once a watcher returns when the folder and the queue are both empty, waiting for photos other \
        workers hold. Not with --shard (two ways of splitting the work) or --retry-failed (use `nada-edit queue \
        retry-failed URL`). Create the queue first with `nada-edit queue init URL`.
        """,
        valueName: "URL"))
    public var queue: String?

    /// Seconds a claim lasts without a heartbeat (hidden: the process tests kill a watcher and wait for its lease).
    @Option(name: .customLong("queue-lease"), help: .hidden)
    public var queueLease: Double = 60

    @Flag(inversion: .prefixedNo, help: "Rewrite index.html in the output folder after each photo (input | reconstruction | each domain, and the failures).")
    public var report = true

    public init() {}

    public func validate() throws {
        if domains.isEmpty { throw ValidationError("give at least one --domain NAME") }
        if let format, ImageFormat(userName: format) == nil { throw ValidationError("--format must be jpg or png, not '\(format)'") }
        if settle < 0 { throw ValidationError("--settle must not be negative") }
        if rescanEvery <= 0 { throw ValidationError("--rescan-every must be positive") }
        _ = try EditorOptions.domainSelection(domains)
        if queueLease <= 0 { throw ValidationError("--queue-lease must be positive") }
        if let queue {
            if sharding.shard != nil || sharding.shardCount != nil {
                throw ValidationError("--queue and --shard split the work in two different ways; give one of them")
            }
            if retryFailed { throw ValidationError("--retry-failed is for a watcher's own ledger; with --queue, run `nada-edit queue retry-failed URL`") }
            do { _ = try QueueURL(queue) } catch { throw ValidationError("\(error)") }
        }
    }

    public func run() throws {
        common.applyThreads()
        compute.apply()
        var options = WatchOptions(inputDirectory: inputDirectory,
                                   outputDirectory: output ?? (inputDirectory as NSString).appendingPathComponent("edited"),
                                   domains: try EditorOptions.domainSelection(domains).outputNames, format: format.flatMap(ImageFormat.init(userName:)),
                                   doneDirectory: done, failedDirectory: failed)
        options.settleInterval = settle
        options.rescanInterval = rescanEvery
        options.polling = polling
        options.exitWhenIdle = once
        options.retryFailed = retryFailed
        options.followSymlinks = followSymlinks
        options.report = report
        options.handleSignals = true
        if queue == nil { options.shard = try sharding.resolve() }

        let processor = try makeProcessor(store: common.store, domains: domains, format: options.format)
        let workQueue = try queue.map { try PostgresWorkQueue(url: try QueueURL($0)) }
        let watcher = Watcher(options: options, processor: processor, queue: workQueue)
        watcher.log = printError
        if let workQueue, let worker = watcher.queueWorker {
            worker.log = printError
            worker.lease = queueLease
            printError("watcher \(worker.workerID) on \(workQueue.url)")
        }
        let summary = try watcher.run()
        print(summary.report())
        if report { print("report: \((options.outputDirectory as NSString).appendingPathComponent(BatchReport.fileName))") }
        // Photo failures are recorded (ledger, reason files) and end normally (0); an error of the watcher's own
        // (disk full, ledger not writable) is 2, so a supervisor restarts it once the cause is fixed.
        if summary.exitStatus != 0 { throw ExitCode(summary.exitStatus) }
    }

    /// The photo editor (encoder inversion + each domain's generator + provenance); domains are resolved and
    /// models loaded now, so a typo or a missing file fails before watching starts.
    func makeProcessor(store: ModelStore, domains: [String], format: ImageFormat?) throws -> PhotoProcessor {
        try editor.makeEditor(store: store, domains: domains)
    }
}
