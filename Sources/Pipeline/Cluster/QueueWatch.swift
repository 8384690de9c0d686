import Foundation
import Imaging

/// `watch --queue URL`: the watcher fed by, and feeding, the shared work queue (issue 19). Several watchers, on one
/// machine or several, watch the same folder; each one
/// - enqueues every photo that settles there (by content, idempotently: the first watcher to see it adds it),
/// - claims photos from the queue under a lease, as `edit --queue` workers do (`QueueWorker`: heartbeat, outputs
///   renamed and the photo recorded done in one transaction, outputs of a killed holder recognised by provenance),
/// - moves the originals of the photos *it* recorded done or failed to `--done` / `--failed`.
///
/// A photo that another worker recorded is never claimed again, so it is neither edited nor moved twice. A file
/// whose content the queue had already (a copy under another name, or an original left in place because its
/// worker died between the record and the move) stays where it is: only the worker that recorded a photo moves it.
extension Watcher {
    /// Hashes a photo that has settled and adds it to the queue (a no-op when its content is there already).
    /// Files that are not photos never reach the queue: they fail here, as without a queue.
    func enqueueArrived(_ name: String) {
        guard let worker = queueWorker else { return }
        let path = (options.inputDirectory as NSString).appendingPathComponent(name)
        guard FileOps.isRegularFile(path), let stat = FileOps.sizeAndMTime(path) else { return }   // gone meanwhile
        settled[name] = (stat.size, stat.mtimeNanos)
        let sha: String
        do { sha = try FileDigest.sha256Hex(ofFileAt: path) }
        catch { return photoFailed(name, path, sha: nil, taken: stat, reason: "cannot be read (\(error))", retryable: true, ledger: nil) }
        guard ImageFormat.sniff(fileAt: path) != nil else {
            let reason = (FileOps.fileSize(path) ?? 0) == 0 ? "empty file" : "not a JPEG or PNG image (its first bytes match neither format)"
            return photoFailed(name, path, sha: sha, taken: stat, reason: reason, retryable: true, ledger: nil)
        }
        do {
            if try worker.queue.enqueue([(sha256: sha, input: path)]) > 0 {
                nextClaim = .distantPast
            } else {
                log("\(name): its content is in the queue already; left to the worker that records it")
            }
        } catch {
            stopWithError("cannot reach the queue: \(error)")
        }
    }

    /// Claims one photo and edits it (`QueueWorker.process`); returns whether there was one to claim.
    func workFromQueue(report: BatchReport?) -> Bool {
        guard let worker = queueWorker, Date() >= nextClaim else { return false }
        let outcome: QueueOutcome
        let photo: ClaimedPhoto
        do {
            guard let claimed = try worker.claimNext() else {
                nextClaim = Date().addingTimeInterval(worker.idlePoll)
                return false
            }
            photo = claimed
            // Never the path this watcher enqueued without a check: the file may have been replaced since.
            outcome = try worker.process(photo, local: nil)
        } catch is QueueWorker.Abandoned {
            summary.stopReason = "abandoned"
            stop()
            return false
        } catch {
            stopWithError("cannot reach the queue: \(error)")
            return false
        }
        switch outcome {
        case .edited(let input, _):
            summary.processed.append(input)
            if isWatched(input) { moveDone(input, sha: photo.sha256) }
        case .recognised(let input):
            summary.alreadyDone.append(input)
            if isWatched(input) { moveDone(input, sha: photo.sha256) }
        case .failed(let input, let reason):
            summary.failed.append((input, reason))
            if isWatched(input) { settleFailed(input, sha: photo.sha256, reason: reason, recordInLedger: false, ledger: nil) }
        case .contentGone(let input, let reason):
            log("\(input): \(reason); whatever is there now is a new photo")
        case .leaseLost(let input):
            summary.leaseLost.append(input)
        case .stopped(let reason):
            stopWithError("cannot write outputs: \(reason)")
        }
        updateReport(report, input: (photo.input as NSString).lastPathComponent)
        return true
    }

    /// Whether nothing is left for any worker: no photo queued or held. With `--once` a watcher waits, as `edit
    /// --queue` does, for the photos other workers hold (taking over those whose leases expire).
    func queueIsIdle() -> Bool {
        guard let worker = queueWorker else { return true }
        do { return try worker.queue.unfinishedCount() == 0 }
        catch { stopWithError("cannot reach the queue: \(error)"); return true }
    }

    /// A queue may hold photos enqueued by `edit --queue` workers elsewhere: their originals are not ours to move.
    private func isWatched(_ path: String) -> Bool {
        let folder = (path as NSString).deletingLastPathComponent
        return folder == options.inputDirectory || canonical(folder) == canonical(options.inputDirectory)
    }
}
