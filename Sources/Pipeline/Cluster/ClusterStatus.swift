import Foundation

/// `nada-edit status OUTPUT_DIR`: every ledger in a shared output folder merged into one account — per worker
/// (shard) what is done, failed (with the reason) and in progress, and, given the input folders, the photos no
/// worker has done yet. Read-only: nothing in the folder is created or changed.
public struct ClusterStatus {
    public struct Worker {
        /// The ledger's file name and the shard it belongs to (nil: a run without `--shard`).
        public var ledger: String
        public var shard: Shard?
        public var done = 0
        public var failed: [(input: String, reason: String)] = []
        /// Inputs whose latest entry is `started`: being edited now, or the worker died (the next run redoes them).
        public var inProgress: [String] = []
        public var unreadableLines = 0
    }

    public var folder: String
    public var workers: [Worker] = []
    /// Contents (SHA-256) done by some worker, failed (and done by none), and started (neither done nor failed).
    public var done = Set<String>()
    public var failed = [String: String]()
    public var inProgress = Set<String>()
    /// With inputs: how many photos were checked, and those no worker has done (with what is known about each).
    public var inputsChecked: Int?
    public var notDone: [(path: String, note: String?)] = []

    public init(outputDirectory: String, inputs: [String] = [], recursive: Bool = false) throws {
        folder = outputDirectory
        guard FileOps.isDirectory(outputDirectory) else {
            throw PipelineError.io(path: outputDirectory, problem: "no such folder; give the --output folder the workers write to")
        }
        let ledgers = try LedgerFolder(folder: outputDirectory)
        var started = Set<String>()
        for file in ledgers.files {
            var worker = Worker(ledger: file.name, shard: file.shard, unreadableLines: file.unreadableLines)
            var latest = [String: LedgerEntry]()
            var doneHere = Set<String>()
            var order = [String]()
            for entry in file.entries {
                if latest[entry.inputSHA256] == nil { order.append(entry.inputSHA256) }
                latest[entry.inputSHA256] = entry
                if entry.state == .done { doneHere.insert(entry.inputSHA256) }
            }
            for sha in order {
                let last = latest[sha]!
                if doneHere.contains(sha) && last.state != .failed {
                    worker.done += 1
                    done.insert(sha)
                } else if last.state == .failed {
                    worker.failed.append((last.input, last.reason ?? "failed"))
                    failed[sha] = last.reason ?? "failed"
                } else {
                    worker.inProgress.append(last.input)
                    started.insert(sha)
                }
            }
            workers.append(worker)
        }
        for sha in done { failed[sha] = nil }
        inProgress = started.subtracting(done).subtracting(failed.keys)

        if !inputs.isEmpty {
            let scan = InputScan.expand(inputs, recursive: recursive)
            inputsChecked = scan.images.count
            for image in scan.images {
                guard let sha = try? FileDigest.sha256Hex(ofFileAt: image.path) else {
                    notDone.append((image.path, "cannot be read")); continue
                }
                if done.contains(sha) { continue }
                let note = failed[sha].map { "failed: \(FailureReport.reason($0, without: image.path))" }
                    ?? (inProgress.contains(sha) ? "in progress, or its worker died: the next run redoes it" : nil)
                notDone.append((image.path, note))
            }
        }
    }

    public func report() -> String {
        var lines = ["\(folder): \(workers.count) ledger(s)"]
        if workers.isEmpty { lines.append("  no ledger here yet: nothing has been done by a --shard worker or a watcher") }
        for w in workers {
            let who = w.shard.map { "shard \($0)" } ?? "unsharded"
            lines.append("\(who): done \(w.done), failed \(w.failed.count), in progress \(w.inProgress.count)  (\(w.ledger))")
            lines += FailureReport.lines(w.failed.map { (path: $0.input, reason: $0.reason) })
            for input in w.inProgress { lines.append("  in progress: \(input)") }
            if w.unreadableLines > 0 { lines.append("  \(w.unreadableLines) unreadable ledger line(s) ignored (torn by a crash?)") }
        }
        lines.append("total: done \(done.count), failed \(failed.count), in progress \(inProgress.count) (distinct photos by content)")
        if let inputsChecked {
            lines.append("not done yet: \(notDone.count) of \(inputsChecked) input photo(s)")
            for item in notDone { lines.append("  \(item.path)" + (item.note.map { " (\($0))" } ?? "")) }
        }
        return lines.joined(separator: "\n")
    }
}
