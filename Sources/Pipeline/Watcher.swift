import Foundation
import DurableIO
import Imaging
#if canImport(Glibc)
import Glibc
#endif

/// Watches a folder and edits every photo that lands in it, once.
///
/// Arrival: a scan at start-up (what came while we were down), inotify close-after-write and moved-in events, a
/// rescan on queue overflow and every `rescanInterval`. A file is taken only when its size and mtime have been
/// stable for `settleInterval`. Hidden and temporary names are ignored.
/// Identity: the SHA-256 of the bytes, looked up in the ledger, so restarts, duplicates and renamed copies are
/// not edited twice, and an entry `started` without `done` (a crash mid-image) is simply done again.
/// Originals are never modified: they stay, or are moved whole to `--done` / `--failed` (never replacing a file
/// there, and across filesystems only after the copy is verified). Outputs are committed without replacing anyone
/// else's file (`OutputCommit`).
/// A photo that fails is checked again before it is blamed: if its size or mtime moved it is still being written and
/// goes back to waiting; an unreadable or undecodable one is retried `decodeRetries` times, `--settle` apart.
/// Errors of the output side (disk full, read-only, permission) and ledger write errors stop the watcher with
/// `summary.fatal` set; they are never recorded against a photo.
/// Symbolic links in the watched folder are skipped unless `followSymlinks`; a link itself is what gets moved.
/// With a work queue (`watch --queue`) the queue takes the ledger's place and several watchers share the folder: see
/// `QueueWatch.swift`.
public final class Watcher {
    /// Extra attempts for a photo that failed to read or decode while it may still have been arriving.
    public static let decodeRetries = 2

    public let options: WatchOptions
    public let processor: PhotoProcessor
    /// With `--queue`: the worker that claims photos from the shared queue, which replaces the ledger
    /// (`QueueWatch.swift`); nil for a watcher with its own ledger.
    public let queueWorker: QueueWorker?
    public var log: (String) -> Void = { _ in }

    private let stopLock = NSLock()
    private var stopRequested = false
    var summary = WatchSummary()

    /// Files seen but not yet stable: name -> last observed (size, mtime) and since when.
    private var pending = [String: (size: Int64, mtime: Int64, since: Date)]()
    /// Files handled in this session (name -> size, mtime): rescans skip them unless they change, so a folder
    /// of thousands of finished originals is not re-hashed every `rescanInterval`.
    var settled = [String: (size: Int64, mtime: Int64)]()
    /// With a queue: no claim before this time (the last claim found nothing; nothing new was enqueued since).
    var nextClaim = Date.distantPast
    /// Failed attempts so far of names waiting for a retry.
    private var attempts = [String: Int]()
    /// Names already reported as impossible to handle (not UTF-8, symlinks), so each is said once.
    private var reported = Set<[UInt8]>()
    /// Why the watcher must stop with an error status (set once).
    private var fatal: String?

    /// With `queue`, every photo that settles is enqueued by content and photos are claimed from the queue, so
    /// several watchers (on several machines) can share one folder.
    public init(options: WatchOptions, processor: PhotoProcessor, queue: WorkQueue? = nil) {
        self.options = options
        self.processor = processor
        queueWorker = queue.map {
            QueueWorker(options: BatchOptions(outputDirectory: options.outputDirectory, domains: options.domains, format: options.format),
                        queue: $0, processor: processor)
        }
    }

    /// Asks the watcher to return after the photo in hand (thread-safe; also what SIGINT/SIGTERM do).
    public func stop() {
        stopLock.lock(); stopRequested = true; stopLock.unlock()
    }

    private var shouldStop: Bool { stopLock.lock(); defer { stopLock.unlock() }; return stopRequested }

    public var ledgerPath: String { (options.outputDirectory as NSString).appendingPathComponent(Ledger.fileName(for: options.shard)) }

    /// Blocks until stopped (or idle with `exitWhenIdle`). Errors are problems with the setup (folders, lock,
    /// ledger); problems with photos are recorded and the watcher keeps going.
    public func run() throws -> WatchSummary {
        try validateFolders()
        try FileOps.createDirectory(options.outputDirectory)
        // With a queue, the queue is the ledger every watcher shares: no ledger file and no folder lock.
        let local = queueWorker == nil ? try openLedger() : nil
        defer { withExtendedLifetime(local) {} }
        try queueWorker?.prepare()
        summary.queueWorker = queueWorker?.workerID
        let heartbeat = queueWorker?.startHeartbeat()
        defer { heartbeat?.cancel() }
        let trap = options.handleSignals ? SignalTrap { [weak self] in self?.stop() } : nil
        defer { trap?.cancel() }

        var inotify: InotifyWatch?
        if !options.polling {
            do { inotify = try InotifyWatch(directory: options.inputDirectory) }
            catch { log("inotify unavailable (\(error)); scanning every \(options.rescanInterval) s instead") }
        }
        let report = options.report ? BatchReport(folder: options.outputDirectory) : nil
        let tick = min(0.1, max(0.01, options.settleInterval / 4))
        let scanEvery = inotify == nil ? min(options.rescanInterval, max(tick, options.settleInterval)) : options.rescanInterval
        scan()
        var lastScan = Date()
        log("watching \(options.inputDirectory) -> \(options.outputDirectory) (\(options.domains.joined(separator: ", ")))")

        var queueBusy = false   // the last claim found a photo: look for the next one without waiting
        while !shouldStop {
            if let inotify {
                for event in inotify.wait(timeout: queueBusy ? 0 : pending.isEmpty ? tick * 5 : tick) {
                    switch event {
                    case .arrived(let name): observe(name)
                    case .overflow: log("inotify queue overflowed; rescanning"); scan(); lastScan = Date()
                    case .folderGone:
                        summary.stopReason = "the watched folder \(options.inputDirectory) was removed or moved"
                        throw PipelineError.io(path: options.inputDirectory, problem: "watched folder was removed or moved")
                    }
                }
            } else if !queueBusy {
                Thread.sleep(forTimeInterval: tick)
            }
            if Date().timeIntervalSince(lastScan) >= scanEvery { scan(); lastScan = Date() }
            for name in takeStable() {
                if shouldStop { break }
                if let local {
                    handle(name, ledger: local.ledger)
                    updateReport(report, input: name)
                } else {
                    enqueueArrived(name)
                }
            }
            if queueWorker != nil && !shouldStop && fatal == nil { queueBusy = workFromQueue(report: report) }
            if fatal != nil { break }
            if options.exitWhenIdle && pending.isEmpty && !queueBusy {
                scan()   // anything that arrived while we were busy and has not been seen yet
                if pending.isEmpty && queueIsIdle() { summary.stopReason = "nothing left to do"; break }
            }
        }
        if let fatal {
            summary.fatal = fatal
            summary.stopReason = fatal
        }
        if summary.stopReason.isEmpty { summary.stopReason = "stopped" }
        log("watcher stopping: \(summary.stopReason)")
        return summary
    }

    /// The ledger of a watcher without a queue, under the folder lock that keeps a second watcher of the same
    /// shard out.
    private func openLedger() throws -> (lock: FolderLock, ledger: Ledger) {
        let lock = try FolderLock(path: (options.outputDirectory as NSString).appendingPathComponent(Ledger.lockName(prefix: "watch", shard: options.shard)))
        let ledger = try Ledger(path: ledgerPath)
        if ledger.unreadableLines > 0 { log("ledger: ignored \(ledger.unreadableLines) unreadable line(s) (torn by a crash?)") }
        summary.shard = options.shard
        if let shard = options.shard, let others = try? LedgerFolder(folder: options.outputDirectory).otherShardCounts(than: shard.count), !others.isEmpty {
            log("warning: this folder has ledgers of watchers split into \(others.map(String.init).joined(separator: ", ")) shard(s); photos they finished may be done again")
        }
        removeStaleTemporaries()
        return (lock, ledger)
    }

    // MARK: arrival and stability

    private func validateFolders() throws {
        guard !options.domains.isEmpty else { throw PipelineError.invalidArgument("no domain given (use --domain NAME)") }
        for domain in options.domains { try ModelStore.validateName(domain) }
        guard FileOps.isDirectory(options.inputDirectory) else {
            throw PipelineError.io(path: options.inputDirectory, problem: "watched folder does not exist")
        }
        let input = canonical(options.inputDirectory)
        for (flag, folder) in [("--output", options.outputDirectory), ("--done", options.doneDirectory), ("--failed", options.failedDirectory)] {
            guard let folder else { continue }
            if canonical(folder) == input {
                throw PipelineError.invalidArgument("\(flag) \(folder) is the watched folder itself; choose a different folder")
            }
        }
    }

    func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    private func scan() {
        let entries: [FileOps.DirectoryEntry]
        do { entries = try FileOps.listDirectory(options.inputDirectory) }
        catch { log("cannot list \(options.inputDirectory): \(error)"); return }
        for entry in entries.sorted(by: { $0.rawName.lexicographicallyPrecedes($1.rawName) }) {
            guard let name = entry.name else {
                if !FileOps.isIgnoredName(entry.percentEncodedName) && reported.insert(entry.rawName).inserted {
                    let path = (options.inputDirectory as NSString).appendingPathComponent(entry.percentEncodedName)
                    let reason = "file name is not valid UTF-8, which nada-edit cannot pass on unchanged; rename it to process it"
                    log("skipped: \(path): \(reason)")
                    summary.failed.append((path, reason))
                }
                continue
            }
            if pending[name] == nil { observe(name) }
        }
    }

    private func observe(_ name: String) {
        guard !FileOps.isIgnoredName(name) else { return }
        let path = (options.inputDirectory as NSString).appendingPathComponent(name)
        if !options.followSymlinks && FileOps.isSymbolicLink(path) {
            if reported.insert(Array(name.utf8)).inserted {
                log("skipped: \(path) is a symbolic link (use --follow-symlinks to edit what links point to)")
            }
            return
        }
        guard FileOps.isRegularFile(path), let stat = FileOps.sizeAndMTime(path) else { pending[name] = nil; settled[name] = nil; return }
        if let done = settled[name], done.size == stat.size, done.mtime == stat.mtimeNanos { return }
        if let seen = pending[name], seen.size == stat.size, seen.mtime == stat.mtimeNanos { return }
        pending[name] = (stat.size, stat.mtimeNanos, Date())
    }

    /// Names whose size and mtime have not changed for `settleInterval`, oldest first.
    private func takeStable() -> [String] {
        let now = Date()
        var ready = [(String, Date)]()
        for (name, seen) in pending {
            let path = (options.inputDirectory as NSString).appendingPathComponent(name)
            guard let stat = FileOps.sizeAndMTime(path) else { pending[name] = nil; continue }
            if stat.size != seen.size || stat.mtimeNanos != seen.mtime {
                pending[name] = (stat.size, stat.mtimeNanos, now)
            } else if now.timeIntervalSince(seen.since) >= options.settleInterval {
                ready.append((name, seen.since))
            }
        }
        ready.sort { ($0.1, $0.0) < ($1.1, $1.0) }
        for (name, _) in ready { pending[name] = nil }
        return ready.map(\.0)
    }

    // MARK: one photo

    private func handle(_ name: String, ledger: Ledger) {
        let path = (options.inputDirectory as NSString).appendingPathComponent(name)
        guard FileOps.isRegularFile(path), let stat = FileOps.sizeAndMTime(path) else { return }   // gone meanwhile
        settled[name] = (stat.size, stat.mtimeNanos)
        let sha: String
        do { sha = try FileDigest.sha256Hex(ofFileAt: path) }
        catch {
            if let shard = options.shard, !shard.contains(sha256: FileDigest.sha256Hex(of: Data(path.utf8))) { return }   // one shard reports it
            return photoFailed(name, path, sha: nil, taken: stat, reason: "cannot be read (\(error))", retryable: true, ledger: ledger)
        }
        if let shard = options.shard, !shard.contains(sha256: sha) {   // another watcher's photo (`settled` keeps it from being hashed again)
            summary.otherShards += 1
            return
        }

        if !options.retryFailed, let failure = ledger.failure(for: sha) {
            log("\(name): same content as an input that failed before (\(failure.reason ?? "?"))")
            summary.failed.append((path, failure.reason ?? "failed before"))
            settleFailed(path, sha: sha, reason: failure.reason ?? "failed before", recordInLedger: false, ledger: ledger)
            return
        }
        let needed = options.domains.filter { !ledger.doneDomains(for: sha).contains($0) }
        if needed.isEmpty {
            log("\(name): already done (same content as \(ledger.entries(for: sha).last { $0.state == .done }?.input ?? "an earlier input"))")
            summary.alreadyDone.append(path)
            moveDone(path, sha: sha)
            return
        }
        guard let format = ImageFormat.sniff(fileAt: path) else {
            let reason = (FileOps.fileSize(path) ?? 0) == 0 ? "empty file" : "not a JPEG or PNG image (its first bytes match neither format)"
            return photoFailed(name, path, sha: sha, taken: stat, reason: reason, retryable: true, ledger: ledger)
        }

        let targets = planOutputs(for: path, sha: sha, format: options.format ?? format, domains: needed, ledger: ledger)
        do {
            try ledger.append(LedgerEntry(inputSHA256: sha, input: path, state: .started, domains: needed, outputs: targets.map(\.finalPath)))
        } catch {
            // Without a ledger we cannot promise exactly-once: stop rather than guess.
            return stopWithError("cannot write the ledger: \(error)")
        }
        let ours = ledger.outputsClaimed(by: sha)
        var written = [String]()
        do {
            defer { for t in targets { OutputCommit.cleanUp(t) } }
            log("editing \(name)")
            try processor.process(ProcessingJob(inputPath: path, inputSHA256: sha, inputFormat: format, outputs: targets))
            for t in targets { written += try OutputCommit.commit(t, inputSHA256: sha, replaceable: { ours.contains($0) }) }
        } catch {
            if isEnvironmentalError(error) {
                // The photo is not at fault: leave it (and its `started` entry, so it is done again next time).
                return stopWithError("cannot write outputs: \(error)")
            }
            return photoFailed(name, path, sha: sha, taken: stat, reason: "\(error)", retryable: error is ImagingError, ledger: ledger)
        }
        attempts[name] = nil
        do {
            try ledger.append(LedgerEntry(inputSHA256: sha, input: path, state: .done, domains: needed, outputs: written))
        } catch {
            return stopWithError("cannot write the ledger: \(error)")
        }
        summary.processed.append(path)
        moveDone(path, sha: sha)
    }

    /// Rewrites `index.html` after a photo (its original, in the watched folder or moved to --done, gives the thumbnail).
    func updateReport(_ report: BatchReport?, input name: String) {
        guard let report else { return }
        let originals = [options.inputDirectory, options.doneDirectory].compactMap { $0.map { ($0 as NSString).appendingPathComponent(name) } }
        do { try report.update(failures: summary.failed, inputs: originals) }
        catch { log("cannot write the report \(report.path): \(error)") }
    }

    /// Stops the watcher after this photo with an error status; nothing is blamed on any photo.
    func stopWithError(_ reason: String) {
        log("\(reason); stopping")
        if fatal == nil { fatal = reason }
        stop()
    }

    /// A photo failed. If it changed since it was taken it is still being written: it waits again. A read or decode
    /// failure is retried after `--settle` up to `decodeRetries` times (a writer may have paused mid-file).
    /// Otherwise it is recorded as failed.
    func photoFailed(_ name: String, _ path: String, sha: String?, taken: (size: Int64, mtimeNanos: Int64),
                     reason: String, retryable: Bool, ledger: Ledger?) {
        let now = FileOps.sizeAndMTime(path)
        if let now, now.size != taken.size || now.mtimeNanos != taken.mtimeNanos || isOpenForWriting(path) == true {
            log("\(name) is still being written; waiting for it to settle")
            settled[name] = nil
            pending[name] = (now.size, now.mtimeNanos, Date())
            return
        }
        let tried = attempts[name, default: 0]
        if retryable, let now, tried < Watcher.decodeRetries {
            attempts[name] = tried + 1
            // Each retry waits twice as long as the last (settle, 2·settle, …): a writer that paused gets longer.
            let wait = options.settleInterval * Double(1 << tried)
            log("\(name): \(FailureReport.reason(reason, without: path)); trying again in \(wait) s (attempt \(tried + 2) of \(Watcher.decodeRetries + 1))")
            settled[name] = nil
            pending[name] = (now.size, now.mtimeNanos, Date().addingTimeInterval(wait - options.settleInterval))
            return
        }
        attempts[name] = nil
        fail(path, sha: sha, reason: reason, ledger: ledger)
    }

    /// `<stem>.<domain>.<ext>`; if that name holds someone else's output, `<stem>-<sha8>.<domain>.<ext>`:
    /// outputs are never replaced, except our own from an interrupted attempt.
    private func planOutputs(for path: String, sha: String, format: ImageFormat, domains: [String], ledger: Ledger) -> [OutputTarget] {
        let ours = ledger.outputsClaimed(by: sha)
        let stem = OutputNaming.stem(of: path)
        return domains.map { domain in
            var final = (options.outputDirectory as NSString).appendingPathComponent(OutputNaming.fileName(stem: stem, domain: domain, format: format))
            if FileOps.exists(final) && !ours.contains(final) {   // planned; `OutputCommit` enforces it at the rename
                let alternative = OutputNaming.fileName(stem: "\(stem)-\(sha.prefix(8))", domain: domain, format: format)
                final = (options.outputDirectory as NSString).appendingPathComponent(alternative)
            }
            return OutputTarget(domain: domain, finalPath: final, writePath: FileOps.temporaryPath(for: final), format: format)
        }
    }

    private func fail(_ path: String, sha: String?, reason: String, ledger: Ledger?) {
        log("failed: \(path): \(FailureReport.reason(reason, without: path))")
        summary.failed.append((path, reason))
        settleFailed(path, sha: sha, reason: reason, recordInLedger: true, ledger: ledger)
    }

    /// Records a failure, writes the reason file, moves the original to `--failed` if given.
    func settleFailed(_ path: String, sha: String?, reason: String, recordInLedger: Bool, ledger: Ledger?) {
        if recordInLedger, let sha, let ledger {
            do {
                try ledger.append(LedgerEntry(inputSHA256: sha, input: path, state: .failed, domains: options.domains, outputs: [], reason: reason))
            } catch {
                return stopWithError("cannot write the ledger: \(error)")
            }
        }
        let name = URL(fileURLWithPath: path).lastPathComponent
        var reasonPath = (options.outputDirectory as NSString).appendingPathComponent("\(name).failed.txt")
        var movedTo: String?
        if let failedDirectory = options.failedDirectory {
            do {
                movedTo = try FileOps.move(path, intoDirectory: failedDirectory, collisionTag: collisionTag(sha))
                settled[name] = nil   // gone from the folder: nothing to remember
                reasonPath = movedTo! + ".reason.txt"
            } catch { log("cannot move \(path) to \(failedDirectory): \(error)") }
        }
        if movedTo == nil && FileOps.exists(reasonPath) { return }   // already explained on an earlier run
        let text = """
        input: \(path)
        \(movedTo.map { "moved to: \($0)\n" } ?? "")sha256: \(sha ?? "unknown")
        time: \(ISOTime.now())
        reason: \(reason)

        """
        try? FileOps.writeAtomically(Data(text.utf8), to: reasonPath)
    }

    /// The `-TAG` of a moved original whose name is taken: the first 8 hex digits of its SHA-256.
    private func collisionTag(_ sha: String?) -> String {
        sha.map { String($0.prefix(8)) } ?? String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    func moveDone(_ path: String, sha: String) {
        guard let doneDirectory = options.doneDirectory else { return }
        do {
            try FileOps.move(path, intoDirectory: doneDirectory, collisionTag: collisionTag(sha))
            settled[URL(fileURLWithPath: path).lastPathComponent] = nil
        }
        catch { log("cannot move \(path) to \(doneDirectory): \(error)") }
    }

    /// Temporary outputs left by a process that died mid-write (its pid is gone, or it was us).
    private func removeStaleTemporaries() {
        // Sharded watchers share the folder with other machines, whose pids mean nothing here: age decides.
        if options.shard != nil { SharedFolder.removeAbandonedTemporaries(in: options.outputDirectory); return }
        AtomicFile.removeStaleTemporaries(in: options.outputDirectory)
    }
}

/// SIGINT/SIGTERM -> a callback on a private queue (instead of dying), until cancelled.
final class SignalTrap {
    private var sources = [DispatchSourceSignal]()
    private let signals: [Int32] = [SIGINT, SIGTERM]

    init(_ handler: @escaping () -> Void) {
        let queue = DispatchQueue(label: "nada-edit.signals")
        for sig in signals {
            signal(sig, SIG_IGN)   // let the dispatch source see it instead of the default action
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler(handler: handler)
            source.resume()
            sources.append(source)
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
        sources.removeAll()
        for sig in signals { signal(sig, SIG_DFL) }
    }
}
