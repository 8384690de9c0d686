import DurableIO
import Foundation
import Imaging
#if canImport(Glibc)
import Glibc
#endif

public struct BatchOptions {
    public var outputDirectory: String
    public var domains: [String]
    /// nil: same format as each input.
    public var format: ImageFormat?
    /// Replace existing outputs (default: skip them; never silently replaced).
    public var overwrite: Bool
    /// Descend into sub-folders; outputs mirror the sub-folder under the output folder.
    public var recursive: Bool
    /// Also descend into symbolically linked sub-folders (links to files are always followed).
    public var followSymlinks: Bool
    /// Photos edited at once.
    public var jobs: Int
    /// Write `index.html` (see `BatchReport`) at the end of the run: nil = when the inputs hold 2 photos or more.
    public var report: Bool? = nil
    /// Take only the photos whose content falls in this shard, with this shard's own ledger and lock (issue 19).
    public var shard: Shard?

    public init(outputDirectory: String, domains: [String], format: ImageFormat? = nil, overwrite: Bool = false,
                recursive: Bool = false, followSymlinks: Bool = false, jobs: Int = 1) {
        self.outputDirectory = outputDirectory; self.domains = domains; self.format = format
        self.overwrite = overwrite; self.recursive = recursive; self.followSymlinks = followSymlinks; self.jobs = jobs
    }
}

/// What a batch run did, for the closing summary and the exit status.
public struct BatchSummary {
    public var processed: [String] = []
    /// Inputs whose outputs all existed already.
    public var skipped: [String] = []
    public var failed: [(path: String, reason: String)] = []
    public var outputsWritten: [String] = []
    /// Set when the run stopped because outputs could not be written (disk full, read-only, …): the error, which
    /// is not the photos' fault; `notAttempted` lists the photos left for the next run.
    public var stoppedBy: String?
    public var notAttempted: [String] = []
    /// The `index.html` written for this run, if any.
    public var reportPath: String?
    /// The shard this run took, and how many photos it left to the other shards.
    public var shard: Shard?
    public var otherShards = 0

    /// 0 when nothing failed, 1 when a photo failed, 2 when the run stopped on an error of the output side.
    public var exitStatus: Int32 { stoppedBy != nil ? 2 : (failed.isEmpty ? 0 : 1) }

    public func report() -> String {
        var lines = ["processed \(processed.count), skipped \(skipped.count) (outputs exist), failed \(failed.count)"]
        if let shard { lines[0] += "; shard \(shard) (\(otherShards) photo(s) left to other shards)" }
        lines += FailureReport.lines(failed)
        if let stoppedBy {
            lines.append("stopped: \(stoppedBy)")
            lines.append("  \(notAttempted.count) photo(s) not attempted; run the same command again once this is fixed")
        }
        return lines.joined(separator: "\n")
    }
}

/// Batch editing: inputs -> `<output>/<stem>.<domain>.<ext>` (with `--recursive`, `<output>/<sub-folder>/…`),
/// written under temporary names and committed without ever replacing a file (see `OutputCommit`).
/// Inputs are only ever read.
public final class BatchRunner {
    public let options: BatchOptions
    public let processor: PhotoProcessor
    public var log: (String) -> Void = { _ in }

    public init(options: BatchOptions, processor: PhotoProcessor) {
        self.options = options
        self.processor = processor
    }

    public func run(inputs: [String]) throws -> BatchSummary {
        guard !options.domains.isEmpty else { throw PipelineError.invalidArgument("no domain given (use --domain NAME)") }
        for domain in options.domains { try ModelStore.validateName(domain) }
        try FileOps.createDirectory(options.outputDirectory)
        if options.shard == nil { AtomicFile.removeStaleTemporaries(in: options.outputDirectory) }   // a run killed mid-write left these
        else { SharedFolder.removeAbandonedTemporaries(in: options.outputDirectory) }   // other machines' pids mean nothing here
        let outputFolder = URL(fileURLWithPath: options.outputDirectory).resolvingSymlinksInPath().path
        let domains = options.domains
        // Files whose names are not UTF-8 are read through links in a private folder, removed at the end.
        let aliasFolder = (options.outputDirectory as NSString).appendingPathComponent("\(FileOps.temporaryPrefix)\(getpid())-names")
        defer { try? FileManager.default.removeItem(atPath: aliasFolder) }
        let scan = InputScan.expand(inputs, recursive: options.recursive, followSymlinkedFolders: options.followSymlinks,
                                    aliasFolder: aliasFolder) { path in
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().resolvingSymlinksInPath().path
            return (folder == outputFolder || folder.hasPrefix(outputFolder + "/")) && OutputNaming.looksLikeOutput(path, domains: domains)
        }
        var summary = BatchSummary()
        summary.failed = scan.rejected
        let sharded = try options.shard.map { try ShardedBatch(shard: $0, outputDirectory: options.outputDirectory) }
        if let sharded {
            summary.shard = sharded.shard
            sharded.warnings.forEach(log)
            summary.failed = scan.rejected.filter { sharded.owns(unreadablePath: $0.path) }   // one worker reports each
        }

        // Plan every photo's outputs first: two inputs that would write the same name in this run (x.jpg and
        // x.jpeg, or the same name in two folder inputs) get the `-sha8` name for the later one.
        var claimed = Set<String>()
        var work = [(image: InputImage, sha: String?, targets: [OutputTarget])]()
        for image in scan.images {
            var sha: String?
            var targets = plannedTargets(for: image, sha: nil)
            if let sharded {   // each photo is hashed once, here; `edit` reuses the hash
                do { sha = try FileDigest.sha256Hex(ofFileAt: image.path) }
                catch {
                    if sharded.owns(unreadablePath: image.path) { summary.failed.append((image.displayPath, "cannot be read (\(error))")) }
                    continue
                }
                guard sharded.owns(sha256: sha!) else { summary.otherShards += 1; continue }
                targets = sharded.plan(sha: sha!, claimed: claimed) { plannedTargets(for: image, sha: sha, avoiding: $0) }
            } else if targets.contains(where: { claimed.contains($0.finalPath) }) {
                do { sha = try FileDigest.sha256Hex(ofFileAt: image.path) }
                catch { summary.failed.append((image.displayPath, "cannot be read (\(error))")); continue }
                targets = plannedTargets(for: image, sha: sha, avoiding: claimed)
            }
            for t in targets { claimed.insert(t.finalPath) }
            let needed = options.overwrite ? targets
                : sharded.map { $0.needed(targets, sha: sha!) } ?? targets.filter { !FileOps.exists($0.finalPath) }
            if needed.isEmpty { summary.skipped.append(image.displayPath); continue }
            work.append((image, sha, needed))
        }

        let stop = StopFlag()
        let results = runConcurrently(work.count, jobs: max(1, options.jobs)) { index -> Result<[String], Error>? in
            if stop.isSet { return nil }
            let item = work[index]
            let result = sharded.map { sharded in Result { try sharded.edit(item.image, sha: item.sha!, targets: item.targets, runner: self) } }
                ?? Result { try self.edit(item.image, sha: item.sha, targets: item.targets) }
            if case .failure(let error) = result, isEnvironmentalError(error) { stop.set("\(error)") }
            return result
        }
        for (index, result) in results.enumerated() {
            let path = work[index].image.displayPath
            switch result {
            case .none:
                summary.notAttempted.append(path)
            case .success(let outputs)?:
                summary.processed.append(path)
                summary.outputsWritten += outputs
            case .failure(let error)? where isEnvironmentalError(error):
                summary.notAttempted.append(path)
            case .failure(let error)?:
                summary.failed.append((path, "\(error)"))
            }
        }
        summary.stoppedBy = stop.reason
        if options.report ?? (scan.images.count >= 2) {
            do { summary.reportPath = try BatchReport(folder: options.outputDirectory).update(failures: summary.failed, inputs: scan.images.map(\.path)) }
            catch { log("cannot write the report \(BatchReport.fileName): \(error)") }   // the edits stand without it
        }
        return summary
    }

    /// `<output>[/<sub-folder>]/<stem>[-sha8[-k]].<domain>.<ext>`, the first name not in `avoiding`.
    func plannedTargets(for image: InputImage, sha: String?, avoiding claimed: Set<String> = []) -> [OutputTarget] {
        let format = options.format ?? image.format
        var folder = options.outputDirectory
        if options.recursive && !image.relativeFolder.isEmpty { folder = (folder as NSString).appendingPathComponent(image.relativeFolder) }
        let stem = image.stem
        return options.domains.map { domain in
            var final = (folder as NSString).appendingPathComponent(OutputNaming.fileName(stem: stem, domain: domain, format: format))
            if let sha {
                final = OutputCommit.alternatives(of: final, domainSuffix: domain, sha: sha).first { !claimed.contains($0) } ?? final
            }
            return OutputTarget(domain: domain, finalPath: final, writePath: FileOps.temporaryPath(for: final), format: format)
        }
    }

    /// Edits one photo; every target is committed (never replacing, unless `--overwrite`) or none is left behind
    /// under a temporary name.
    /// `replaceable`: names of this content's own interrupted attempt (sharded runs), replaced like `--overwrite` would.
    func edit(_ image: InputImage, sha knownSHA: String?, targets: [OutputTarget], replaceable: Set<String> = []) throws -> [String] {
        defer { for t in targets { OutputCommit.cleanUp(t) } }
        let sha = try knownSHA ?? FileDigest.sha256Hex(ofFileAt: image.path)
        if let folder = targets.first.map({ ($0.finalPath as NSString).deletingLastPathComponent }) { try FileOps.createDirectory(folder) }
        log("editing \(image.displayPath)")
        try processor.process(ProcessingJob(inputPath: image.path, inputSHA256: sha, inputFormat: image.format, outputs: targets,
                                            displayPath: image.displayPath))
        let overwrite = options.overwrite
        var written = [String]()
        for t in targets { written += try OutputCommit.commit(t, inputSHA256: sha, replaceable: { overwrite || replaceable.contains($0) }) }
        return written
    }
}

/// A one-way flag with the first reason given, shared by worker threads.
final class StopFlag {
    private let lock = NSLock()
    private var _reason: String?
    var isSet: Bool { lock.withLock { _reason != nil } }
    var reason: String? { lock.withLock { _reason } }
    func set(_ reason: String) { lock.withLock { if _reason == nil { _reason = reason } } }
}

/// Runs `body(0..<count)` on `jobs` threads; results in index order.
///
/// The jobs run on threads of their own (the caller's and `jobs − 1` new ones), not on libdispatch's pool: the
/// engine's parallel loops use that pool, which is only as wide as the machine, so two photo jobs parked on it (one
/// waiting for the editor's compute lock, one in dlib) left the model arithmetic a single thread. Measured with
/// `nada-bench edit --threads 2` (20 photos at 1024, best of 3): `--jobs 2` took 68.8 s against `--jobs 1`'s 44.4 s
/// when the jobs ran in `concurrentPerform`.
func runConcurrently<T>(_ count: Int, jobs: Int, _ body: @escaping (Int) -> T) -> [T] {
    guard count > 0 else { return [] }
    let work = JobSlots<T>(count: count, body: body)
    let extra = min(jobs, count) - 1
    let finished = DispatchSemaphore(value: 0)
    for _ in 0..<max(0, extra) {
        let thread = Thread { work.run(); finished.signal() }
        thread.stackSize = JobSlots<T>.stackSize
        thread.start()
    }
    work.run()
    for _ in 0..<max(0, extra) { finished.wait() }
    return work.results()
}

/// The shared state of `runConcurrently`: the next index to take and the results, under one lock.
private final class JobSlots<T>: @unchecked Sendable {
    /// glibc's default for the main thread (8 MB): dlib's detector and the decoders run on these threads.
    static var stackSize: Int { 8 << 20 }
    private let lock = NSLock()
    private var next = 0
    private var values: [T?]
    private let count: Int
    private let body: (Int) -> T

    init(count: Int, body: @escaping (Int) -> T) {
        values = [T?](repeating: nil, count: count)
        self.count = count
        self.body = body
    }

    func run() {
        while true {
            let index: Int = lock.withLock { defer { next += 1 }; return next }
            if index >= count { return }
            let value = body(index)
            lock.withLock { values[index] = value }
        }
    }

    func results() -> [T] { lock.withLock { values.map { $0! } } }
}
