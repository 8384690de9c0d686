import DurableIO
import Foundation
import Imaging
#if canImport(Glibc)
import Glibc
#endif

/// What a queue worker did, for the closing summary and the exit status.
public struct QueueSummary {
    public var worker = ""
    public var enqueued = 0
    public var processed: [String] = []
    /// Photos whose outputs were already in place (a worker died between renaming them and recording them).
    public var recognised: [String] = []
    public var failed: [(path: String, reason: String)] = []
    /// Photos whose lease passed to another worker before this one finished (its temporaries were discarded).
    public var leaseLost: [String] = []
    public var outputsWritten: [String] = []
    /// Set when the worker stopped on an error that is not a photo's; its photo went back to the queue.
    public var stoppedBy: String?

    public var exitStatus: Int32 { stoppedBy != nil ? 2 : (failed.isEmpty ? 0 : 1) }

    public func report() -> String {
        var lines = ["worker \(worker): processed \(processed.count), already written \(recognised.count), failed \(failed.count), lease lost \(leaseLost.count); enqueued \(enqueued) new photo(s)"]
        lines += FailureReport.lines(failed)
        if let stoppedBy { lines.append("stopped: \(stoppedBy)") }
        return lines.joined(separator: "\n")
    }
}

/// What became of one claimed photo (`QueueWorker.process`).
public enum QueueOutcome: Equatable {
    /// Edited; `outputs` are the files this worker renamed into place.
    case edited(input: String, outputs: [String])
    /// Its outputs were already in place (a worker died between renaming them and recording them): recorded done.
    case recognised(input: String)
    case failed(input: String, reason: String)
    /// The enqueued path no longer holds this content (moved, changed, not visible here): recorded failed, but the
    /// file there now is not this photo.
    case contentGone(input: String, reason: String)
    /// Another worker holds the photo now (this worker's lease expired); nothing was recorded.
    case leaseLost(input: String)
    /// An error of the worker's own (disk full, read-only output): the photo went back to the queue.
    case stopped(reason: String)
}

extension QueueSummary {
    mutating func record(_ outcome: QueueOutcome) {
        switch outcome {
        case .edited(let input, let outputs): processed.append(input); outputsWritten += outputs
        case .recognised(let input): recognised.append(input)
        case .failed(let input, let reason), .contentGone(let input, let reason): failed.append((input, reason))
        case .leaseLost(let input): leaseLost.append(input)
        case .stopped(let reason): stoppedBy = reason
        }
    }
}

/// A worker on a dynamic work queue (`edit --queue URL`): enqueues its inputs by content, then claims photos one
/// at a time under a lease kept alive by a heartbeat, edits them and commits the outputs in the queue's
/// transaction. It returns when no photo is left unfinished — waiting, while other workers hold photos, for them
/// to finish or for their leases to expire (a worker that died), then taking those over.
///
/// A photo whose outputs are already in place with provenance naming this content and domain (its worker was killed
/// after renaming them, before recording them) is recorded done without being edited again.
public final class QueueWorker {
    public let options: BatchOptions
    public let queue: WorkQueue
    public let processor: PhotoProcessor
    public let workerID: String
    /// Seconds a claim lasts without a heartbeat; heartbeats go every third of it.
    public var lease: TimeInterval = 60
    /// Seconds between claim attempts while other workers hold every unfinished photo.
    public var idlePoll: TimeInterval = 1
    public var log: (String) -> Void = { _ in }
    /// SIGINT/SIGTERM stop the worker after the photo in hand (the CLI turns this on); its lease is not needed again.
    public var handleSignals = false
    /// Whether an existing file is this content's output for this domain: by default its embedded provenance.
    public var recognise: (_ path: String, _ sha256: String, _ domain: String) -> Bool = QueueWorker.provenanceMatches

    /// Test hook: runs after the outputs are renamed into place, before the queue records the photo done.
    var afterOutputsCommitted: ((ClaimedPhoto) -> Void)?

    private let stopLock = NSLock()
    private var stopRequested = false
    private var abandoned = false
    private var held = Set<String>()

    public init(options: BatchOptions, queue: WorkQueue, processor: PhotoProcessor, workerID: String = QueueWorker.defaultWorkerID()) {
        self.options = options; self.queue = queue; self.processor = processor; self.workerID = workerID
    }

    /// `host:pid:random`, unique among live workers.
    public static func defaultWorkerID() -> String {
        "\(ProcessInfo.processInfo.hostName):\(getpid()):\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }

    public static func provenanceMatches(_ path: String, _ sha256: String, _ domain: String) -> Bool {
        guard let provenance = (try? readProvenance(path: path))?.provenance else { return false }
        return provenance.inputSHA256 == sha256 && provenance.domain == domain
    }

    /// Return after the photo in hand (thread-safe).
    public func stop() { stopLock.withLock { stopRequested = true } }

    /// Stop at once as if the process had been killed: no further call to the queue, leases left to expire.
    /// (Tests use it to kill a worker in-process.)
    public func abandon() { stopLock.withLock { abandoned = true; stopRequested = true } }

    var isAbandoned: Bool { stopLock.withLock { abandoned } }
    private var shouldStop: Bool { stopLock.withLock { stopRequested } }

    struct Abandoned: Error {}

    public func run(inputs: [String]) throws -> QueueSummary {
        try prepare()
        var summary = QueueSummary()
        summary.worker = workerID

        // Enqueue by content; remember where each content is on this machine.
        let scan = InputScan.expand(inputs, recursive: options.recursive, followSymlinkedFolders: options.followSymlinks)
        summary.failed = scan.rejected
        var local = [String: InputImage]()
        var photos = [(sha256: String, input: String)]()
        for image in scan.images {
            do {
                let sha = try FileDigest.sha256Hex(ofFileAt: image.path)
                if local[sha] == nil { local[sha] = image; photos.append((sha, image.path)) }
            } catch { summary.failed.append((image.path, "cannot be read (\(error))")) }
        }
        for start in stride(from: 0, to: photos.count, by: 500) {
            summary.enqueued += try queue.enqueue(Array(photos[start..<min(start + 500, photos.count)]))
        }
        log("worker \(workerID): \(photos.count) photo(s) given, \(summary.enqueued) new to the queue")

        let heartbeat = startHeartbeat()
        defer { heartbeat.cancel() }
        let trap = handleSignals ? SignalTrap { [weak self] in self?.stop() } : nil
        defer { trap?.cancel() }
        while !shouldStop {
            guard let photo = try claimNext() else {
                if try queue.unfinishedCount() == 0 { break }
                Thread.sleep(forTimeInterval: idlePoll)   // others hold the rest; wait for them or their leases
                continue
            }
            do {
                summary.record(try process(photo, local: local[photo.sha256]))
            } catch is Abandoned {
                break
            }
            if summary.stoppedBy != nil { break }
        }
        return summary
    }

    /// Checks the domains, makes the output folder and clears what killed workers left in it (`run` and the queue-fed
    /// watcher call it before their first claim).
    func prepare() throws {
        guard !options.domains.isEmpty else { throw PipelineError.invalidArgument("no domain given (use --domain NAME)") }
        for domain in options.domains { try ModelStore.validateName(domain) }
        try FileOps.createDirectory(options.outputDirectory)
        SharedFolder.removeAbandonedTemporaries(in: options.outputDirectory)   // a worker killed mid-write left these
    }

    /// The next photo this worker may take (queued, or a dead worker's whose lease expired), now leased to it.
    func claimNext() throws -> ClaimedPhoto? {
        try queue.claim(worker: workerID, limit: 1, lease: lease).first
    }

    private func setHeld(_ sha: String, _ on: Bool) {
        stopLock.withLock { if on { held.insert(sha) } else { held.remove(sha) } }
    }

    /// Renews the leases of the photos in hand every third of the lease, on its own thread and connection.
    func startHeartbeat() -> DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "nada-edit.queue.heartbeat"))
        timer.schedule(deadline: .now() + lease / 3, repeating: lease / 3)
        timer.setEventHandler { [weak self] in
            guard let self, !self.isAbandoned else { return }
            let shas = self.stopLock.withLock { Array(self.held) }
            guard !shas.isEmpty else { return }
            do {
                let lost = try self.queue.heartbeat(worker: self.workerID, sha256s: shas, lease: self.lease)
                for sha in lost { self.log("lease on \(sha.prefix(12)) passed to another worker") }
            } catch { self.log("heartbeat failed: \(error)") }
        }
        timer.resume()
        return timer
    }

    /// Edits one claimed photo and records it in the queue (done with its outputs, or failed); `local` is where this
    /// machine has the content, else the enqueued path is used after checking it still holds it. Throws `Abandoned`
    /// after `abandon()`, having left the queue alone.
    func process(_ photo: ClaimedPhoto, local: InputImage?) throws -> QueueOutcome {
        setHeld(photo.sha256, true)
        defer { setHeld(photo.sha256, false) }
        // The photo as this machine sees it; else the path it was enqueued with, checked to still hold that content.
        let image: InputImage
        if let local { image = local }
        else {
            guard let format = ImageFormat.sniff(fileAt: photo.input),
                  (try? FileDigest.sha256Hex(ofFileAt: photo.input)) == photo.sha256 else {
                let reason = "no longer holds the content it was enqueued with (moved, changed or not visible from this machine)"
                return try queue.fail(worker: workerID, sha256: photo.sha256, reason: reason) ? .contentGone(input: photo.input, reason: reason) : .leaseLost(input: photo.input)
            }
            image = InputImage(path: photo.input, format: format)
        }
        let format = options.format ?? image.format
        var folder = options.outputDirectory
        if options.recursive && !image.relativeFolder.isEmpty { folder = (folder as NSString).appendingPathComponent(image.relativeFolder) }
        let stem = OutputNaming.stem(of: image.path)

        // Outputs already renamed into place by a worker that died before recording them are recognised, not redone.
        var existing = [String]()
        var targets = [OutputTarget]()
        for domain in options.domains {
            let preferred = (folder as NSString).appendingPathComponent(OutputNaming.fileName(stem: stem, domain: domain, format: format))
            if let found = OutputCommit.alternatives(of: preferred, domainSuffix: domain, sha: photo.sha256)
                .prefix(while: { FileOps.exists($0) }).first(where: { recognise($0, photo.sha256, domain) }) {
                existing.append(found)
            } else {
                targets.append(OutputTarget(domain: domain, finalPath: preferred, writePath: FileOps.temporaryPath(for: preferred), format: format))
            }
        }
        defer { for t in targets { OutputCommit.cleanUp(t) } }
        do {
            if !targets.isEmpty {
                try FileOps.createDirectory(folder)
                log("editing \(image.path)" + (photo.attempt > 1 ? " (attempt \(photo.attempt))" : ""))
                try processor.process(ProcessingJob(inputPath: image.path, inputSHA256: photo.sha256, inputFormat: image.format, outputs: targets))
            }
            if isAbandoned { throw Abandoned() }
            let written = try queue.complete(worker: workerID, sha256: photo.sha256) {
                var written = existing
                for t in targets { written += try OutputCommit.commit(t, inputSHA256: photo.sha256, replaceable: { _ in false }) }
                afterOutputsCommitted?(photo)
                if isAbandoned { throw Abandoned() }   // killed after the rename, before the record: the next holder recognises the files
                return written
            }
            guard let written else {
                log("\(image.path): the lease passed to another worker; discarding this attempt")
                return .leaseLost(input: image.path)
            }
            return targets.isEmpty ? .recognised(input: image.path)
                                   : .edited(input: image.path, outputs: written.filter { !existing.contains($0) })
        } catch let error as Abandoned {
            throw error
        } catch where isEnvironmentalError(error) {
            try? queue.release(worker: workerID, sha256: photo.sha256)
            return .stopped(reason: "\(error)")
        } catch {
            if isAbandoned { throw Abandoned() }
            log("failed: \(image.path): \(FailureReport.reason("\(error)", without: image.path))")
            return try queue.fail(worker: workerID, sha256: photo.sha256, reason: "\(error)") ? .failed(input: image.path, reason: "\(error)") : .leaseLost(input: image.path)
        }
    }
}
