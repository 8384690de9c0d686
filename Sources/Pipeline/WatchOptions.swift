import Foundation
import Imaging

public struct WatchOptions {
    /// The folder photos are dropped into (its sub-folders are not watched).
    public var inputDirectory: String
    /// Where edits, the ledger and reason files go.
    public var outputDirectory: String
    public var domains: [String]
    /// nil: same format as each input.
    public var format: ImageFormat?
    /// Processed originals are moved here, when given; otherwise they stay where they are.
    public var doneDirectory: String?
    /// Failed originals are moved here with a `.reason.txt` beside them, when given.
    public var failedDirectory: String?
    /// A file is taken only after its size and mtime stayed the same for this long.
    public var settleInterval: TimeInterval = 1.0
    /// How often the folder is rescanned even without events (a safety net; always used when inotify is unavailable).
    public var rescanInterval: TimeInterval = 60
    /// Scan only, never use inotify (network filesystems).
    public var polling = false
    /// Process what is there (and what arrives while busy), then return: `--once`.
    public var exitWhenIdle = false
    /// Try again inputs the ledger records as failed.
    public var retryFailed = false
    /// SIGINT/SIGTERM stop the watcher after the current photo (the CLI turns this on).
    public var handleSignals = false
    /// Edit what symbolic links in the watched folder point to (default: skip links, so a link cannot make the
    /// watcher read or move files outside the folder).
    public var followSymlinks = false
    /// Rewrite `index.html` in the output folder after each photo (see `BatchReport`).
    public var report = true
    /// Take only photos whose content falls in this shard; the ledger and lock are this shard's own, so several
    /// watchers (one per shard) can share the folders (issue 19).
    public var shard: Shard?

    public init(inputDirectory: String, outputDirectory: String, domains: [String], format: ImageFormat? = nil,
                doneDirectory: String? = nil, failedDirectory: String? = nil) {
        self.inputDirectory = inputDirectory; self.outputDirectory = outputDirectory; self.domains = domains
        self.format = format; self.doneDirectory = doneDirectory; self.failedDirectory = failedDirectory
    }
}

public struct WatchSummary {
    public var processed: [String] = []
    /// Inputs whose content the ledger already had (restarts, duplicates, renamed copies).
    public var alreadyDone: [String] = []
    public var failed: [(path: String, reason: String)] = []
    /// Why the watcher stopped.
    public var stopReason = ""
    /// Set when it stopped on an error that is not a photo's (disk full, read-only output, ledger not writable).
    public var fatal: String?
    /// The shard this watcher took, and how many photos it left to the other shards.
    public var shard: Shard?
    public var otherShards = 0
    /// With `--queue`: this watcher's worker id, and the photos whose lease passed to another worker mid-edit.
    public var queueWorker: String?
    public var leaseLost: [String] = []

    /// 0 after a normal stop (photo failures are recorded, not fatal); 2 when it stopped on an error of its own.
    public var exitStatus: Int32 { fatal == nil ? 0 : 2 }

    public func report() -> String {
        var lines = ["processed \(processed.count), already done \(alreadyDone.count), failed \(failed.count)"]
        if let shard { lines[0] += "; shard \(shard) (\(otherShards) photo(s) left to other shards)" }
        if let queueWorker { lines[0] += "; queue worker \(queueWorker), lease lost \(leaseLost.count)" }
        lines += FailureReport.lines(failed)
        if let fatal { lines.append("stopped: \(fatal)") }
        return lines.joined(separator: "\n")
    }
}
