import Foundation
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
/// Originals are never modified: they stay, or are moved whole to `--done` / `--failed`.
public final class Watcher {
    public let options: WatchOptions
    public let processor: PhotoProcessor
    public var log: (String) -> Void = { _ in }

    private let stopLock = NSLock()
    private var stopRequested = false
    private var summary = WatchSummary()

    /// Files seen but not yet stable: name -> last observed (size, mtime) and since when.
    private var pending = [String: (size: Int64, mtime: Int64, since: Date)]()
    /// Files handled in this session (name -> size, mtime): rescans skip them unless they change, so a folder
    /// of thousands of finished originals is not re-hashed every `rescanInterval`.
    private var settled = [String: (size: Int64, mtime: Int64)]()

    public init(options: WatchOptions, processor: PhotoProcessor) {
        self.options = options
        self.processor = processor
    }

    /// Asks the watcher to return after the photo in hand (thread-safe; also what SIGINT/SIGTERM do).
    public func stop() {
        stopLock.lock(); stopRequested = true; stopLock.unlock()
    }

    private var shouldStop: Bool { stopLock.lock(); defer { stopLock.unlock() }; return stopRequested }

    public var ledgerPath: String { (options.outputDirectory as NSString).appendingPathComponent(Ledger.fileName) }

    /// Blocks until stopped (or idle with `exitWhenIdle`). Errors are problems with the setup (folders, lock,
    /// ledger); problems with photos are recorded and the watcher keeps going.
    public func run() throws -> WatchSummary {
        try validateFolders()
        try FileOps.createDirectory(options.outputDirectory)
        let lock = try FolderLock(path: (options.outputDirectory as NSString).appendingPathComponent(".nada-edit-watch.lock"))
        defer { withExtendedLifetime(lock) {} }
        let ledger = try Ledger(path: ledgerPath)
        if ledger.unreadableLines > 0 { log("ledger: ignored \(ledger.unreadableLines) unreadable line(s) (torn by a crash?)") }
        removeStaleTemporaries()
        let trap = options.handleSignals ? SignalTrap { [weak self] in self?.stop() } : nil
        defer { trap?.cancel() }

        var inotify: InotifyWatch?
        if !options.polling {
            do { inotify = try InotifyWatch(directory: options.inputDirectory) }
            catch { log("inotify unavailable (\(error)); scanning every \(options.rescanInterval) s instead") }
        }
        let tick = min(0.1, max(0.01, options.settleInterval / 4))
        let scanEvery = inotify == nil ? min(options.rescanInterval, max(tick, options.settleInterval)) : options.rescanInterval
        scan()
        var lastScan = Date()
        log("watching \(options.inputDirectory) -> \(options.outputDirectory) (\(options.domains.joined(separator: ", ")))")

        while !shouldStop {
            if let inotify {
                for event in inotify.wait(timeout: pending.isEmpty ? tick * 5 : tick) {
                    switch event {
                    case .arrived(let name): observe(name)
                    case .overflow: log("inotify queue overflowed; rescanning"); scan(); lastScan = Date()
                    case .folderGone:
                        summary.stopReason = "the watched folder \(options.inputDirectory) was removed or moved"
                        throw PipelineError.io(path: options.inputDirectory, problem: "watched folder was removed or moved")
                    }
                }
            } else {
                Thread.sleep(forTimeInterval: tick)
            }
            if Date().timeIntervalSince(lastScan) >= scanEvery { scan(); lastScan = Date() }
            for name in takeStable() {
                if shouldStop { break }
                handle(name, ledger: ledger)
            }
            if options.exitWhenIdle && pending.isEmpty {
                scan()   // anything that arrived while we were busy and has not been seen yet
                if pending.isEmpty { summary.stopReason = "nothing left to do"; break }
            }
        }
        if summary.stopReason.isEmpty { summary.stopReason = "stopped" }
        log("watcher stopping: \(summary.stopReason)")
        return summary
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

    private func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    private func scan() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: options.inputDirectory)) ?? []
        for name in names.sorted() where pending[name] == nil { observe(name) }
    }

    private func observe(_ name: String) {
        guard !FileOps.isIgnoredName(name) else { return }
        let path = (options.inputDirectory as NSString).appendingPathComponent(name)
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
        catch { return fail(path, sha: nil, reason: "cannot be read (\(error))", ledger: ledger) }

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
            moveDone(path)
            return
        }
        guard let format = ImageFormat.sniff(fileAt: path) else {
            let reason = (FileOps.fileSize(path) ?? 0) == 0 ? "empty file" : "not a JPEG or PNG image (its first bytes match neither format)"
            return fail(path, sha: sha, reason: reason, ledger: ledger)
        }

        let targets = planOutputs(for: path, sha: sha, format: options.format ?? format, domains: needed, ledger: ledger)
        do {
            try ledger.append(LedgerEntry(inputSHA256: sha, input: path, state: .started, domains: needed, outputs: targets.map(\.finalPath)))
        } catch {
            // Without a ledger we cannot promise exactly-once: stop rather than guess.
            log("cannot write the ledger: \(error); stopping")
            summary.stopReason = "ledger write failed: \(error)"
            stop()
            return
        }
        do {
            defer { for t in targets { unlink(t.writePath) } }
            log("editing \(name)")
            try processor.process(ProcessingJob(inputPath: path, inputSHA256: sha, inputFormat: format, outputs: targets))
            for t in targets where !FileOps.isRegularFile(t.writePath) {
                throw PipelineError.io(path: path, problem: "the editor produced no \(t.domain) output")
            }
            for t in targets { try FileOps.commit(temporary: t.writePath, to: t.finalPath) }
        } catch {
            return fail(path, sha: sha, reason: "\(error)", ledger: ledger)
        }
        do {
            try ledger.append(LedgerEntry(inputSHA256: sha, input: path, state: .done, domains: needed, outputs: targets.map(\.finalPath)))
        } catch {
            log("cannot write the ledger: \(error); stopping")
            summary.stopReason = "ledger write failed: \(error)"
            stop()
            return
        }
        summary.processed.append(path)
        moveDone(path)
    }

    /// `<stem>.<domain>.<ext>`; if that name holds someone else's output, `<stem>-<sha8>.<domain>.<ext>`:
    /// outputs are never replaced, except our own from an interrupted attempt.
    private func planOutputs(for path: String, sha: String, format: ImageFormat, domains: [String], ledger: Ledger) -> [OutputTarget] {
        let ours = ledger.outputsClaimed(by: sha)
        let stem = OutputNaming.stem(of: path)
        return domains.map { domain in
            var final = (options.outputDirectory as NSString).appendingPathComponent(OutputNaming.fileName(stem: stem, domain: domain, format: format))
            if FileOps.exists(final) && !ours.contains(final) {
                let alternative = OutputNaming.fileName(stem: "\(stem)-\(sha.prefix(8))", domain: domain, format: format)
                final = (options.outputDirectory as NSString).appendingPathComponent(alternative)
            }
            return OutputTarget(domain: domain, finalPath: final, writePath: FileOps.temporaryPath(for: final), format: format)
        }
    }

    private func fail(_ path: String, sha: String?, reason: String, ledger: Ledger) {
        log("failed: \(path): \(reason)")
        summary.failed.append((path, reason))
        settleFailed(path, sha: sha, reason: reason, recordInLedger: true, ledger: ledger)
    }

    /// Records a failure, writes the reason file, moves the original to `--failed` if given.
    private func settleFailed(_ path: String, sha: String?, reason: String, recordInLedger: Bool, ledger: Ledger) {
        if recordInLedger, let sha {
            try? ledger.append(LedgerEntry(inputSHA256: sha, input: path, state: .failed, domains: options.domains, outputs: [], reason: reason))
        }
        let name = URL(fileURLWithPath: path).lastPathComponent
        var reasonPath = (options.outputDirectory as NSString).appendingPathComponent("\(name).failed.txt")
        var movedTo: String?
        if let failedDirectory = options.failedDirectory {
            do {
                movedTo = try FileOps.move(path, intoDirectory: failedDirectory)
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

    private func moveDone(_ path: String) {
        guard let doneDirectory = options.doneDirectory else { return }
        do {
            try FileOps.move(path, intoDirectory: doneDirectory)
            settled[URL(fileURLWithPath: path).lastPathComponent] = nil
        }
        catch { log("cannot move \(path) to \(doneDirectory): \(error)") }
    }

    /// Temporary outputs left by a process that died mid-write (its pid is gone, or it was us).
    private func removeStaleTemporaries() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: options.outputDirectory)) ?? []
        for name in names where name.hasPrefix(FileOps.temporaryPrefix) {
            let pidText = name.dropFirst(FileOps.temporaryPrefix.count).prefix { $0.isNumber }
            guard let pid = Int32(pidText) else { continue }
            if pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH) {
                unlink((options.outputDirectory as NSString).appendingPathComponent(name))
            }
        }
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
