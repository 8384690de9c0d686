import Foundation

/// What a batch worker given `--shard I/N` adds to a plain run (`BatchRunner` calls it at a few points):
/// its own lock and ledger in the shared output folder, the content filter, and skip decisions by content
/// across every worker's ledger instead of by output name (two shards may hold photos of the same name).
final class ShardedBatch {
    let shard: Shard
    private let folderLock: FolderLock
    private let ledger: Ledger
    private let ledgerLock = NSLock()
    private let outputDirectory: String
    /// Every ledger in the folder, as last read (planning is single-threaded).
    private var doneByContent = [String: Set<String>]()
    private var outputsByContent = [String: Set<String>]()
    private var allRecordedOutputs = Set<String>()
    /// When the ledgers were last read (taken before reading).
    private var readAt = Date.distantPast
    let warnings: [String]

    /// Clock difference allowed between machines writing one folder (NFS timestamps come from the client's clock or
    /// the server's): an existing output modified later than `readAt` minus this makes the ledgers be read again.
    static let clockSkew: TimeInterval = 300

    init(shard: Shard, outputDirectory: String) throws {
        self.shard = shard
        self.outputDirectory = outputDirectory
        folderLock = try FolderLock(path: (outputDirectory as NSString).appendingPathComponent(Ledger.lockName(prefix: "batch", shard: shard)))
        let readAt = Date()
        let folder = try LedgerFolder(folder: outputDirectory)
        var warnings = [String]()
        let others = folder.otherShardCounts(than: shard.count)
        if !others.isEmpty {
            warnings.append("this folder also has ledgers of runs split into \(others.map(String.init).joined(separator: ", ")) shard(s); photos they finished are skipped")
        }
        ledger = try Ledger(path: (outputDirectory as NSString).appendingPathComponent(Ledger.fileName(for: shard)))
        if ledger.unreadableLines > 0 { warnings.append("ledger: ignored \(ledger.unreadableLines) unreadable line(s) (torn by a crash?)") }
        self.warnings = warnings
        read(folder, at: readAt)
    }

    private func read(_ folder: LedgerFolder, at time: Date) {
        readAt = time
        doneByContent = folder.doneDomains()
        outputsByContent = folder.outputsByContent()
        allRecordedOutputs = outputsByContent.values.reduce(into: Set<String>()) { $0.formUnion($1) }
    }

    /// This content's targets: `planned(avoiding)` names them around `claimed` (this run's) and every name another
    /// content's ledger entry holds. An existing output that no ledger knows may belong to a worker that started
    /// after the ledgers were read (each writes `started` with its planned names before the file can exist), so
    /// the ledgers are read again before such a file is taken for the output of an earlier run without `--shard`.
    /// Cost: hash look-ups per planned name; `claimed` is copied only for a photo whose name another content holds,
    /// and the ledgers are re-read only for files newer than the last reading (not for every output of an old run).
    func plan(sha: String, claimed: Set<String>, _ planned: (Set<String>) -> [OutputTarget]) -> [OutputTarget] {
        var avoid = claimed   // copy-on-write: shared with the caller's set unless a name must be added
        var targets = planned(avoid)
        if targets.contains(where: { !allRecordedOutputs.contains($0.finalPath) && isNewer($0.finalPath) }) {
            let time = Date()
            if let folder = try? LedgerFolder(folder: outputDirectory) { read(folder, at: time) }
        }
        let own = outputsByContent[sha] ?? []
        // Each pass adds one name held by another content; `planned` then moves to the next alternative.
        while let taken = targets.first(where: { allRecordedOutputs.contains($0.finalPath) && !own.contains($0.finalPath) })?.finalPath,
              !avoid.contains(taken) {
            avoid.insert(taken)
            targets = planned(avoid)
        }
        return targets
    }

    /// Whether `path` exists and was modified after the ledgers were last read (allowing for clock skew).
    private func isNewer(_ path: String) -> Bool {
        guard let stat = FileOps.sizeAndMTime(path) else { return false }
        return Double(stat.mtimeNanos) / 1e9 > readAt.timeIntervalSince1970 - ShardedBatch.clockSkew
    }

    /// Whether this worker takes a photo of this content.
    func owns(sha256: String) -> Bool { shard.contains(sha256: sha256) }

    /// Whether this worker reports an input that cannot be hashed (unreadable, not a photo): decided by its path,
    /// so exactly one worker reports it.
    func owns(unreadablePath path: String) -> Bool { shard.contains(sha256: FileDigest.sha256Hex(of: Data(path.utf8))) }


    /// Names this content itself planned in an interrupted attempt: replaced if they exist.
    func ownOutputs(_ sha: String) -> Set<String> { outputsByContent[sha] ?? [] }

    /// The targets still to do: a domain some worker's ledger records as done for this content is skipped; an
    /// existing file that no ledger records (written by a run without `--shard`) is skipped as a plain run would.
    func needed(_ targets: [OutputTarget], sha: String) -> [OutputTarget] {
        let done = doneByContent[sha] ?? []
        let own = ownOutputs(sha)
        return targets.filter { t in
            if done.contains(t.domain) { return false }
            return !FileOps.exists(t.finalPath) || own.contains(t.finalPath)
        }
    }

    func record(_ entry: LedgerEntry) throws {
        try ledgerLock.withLock { try ledger.append(entry) }
    }
}

extension ShardedBatch {
    /// `runner.edit` between ledger entries: `started` (with the planned names) before the editor runs, `done`
    /// with the names written, `failed` with the reason when the photo is at fault. An error of the output side
    /// leaves `started` alone, so the next run does the photo again and may replace its own half-written names.
    func edit(_ image: InputImage, sha: String, targets: [OutputTarget], runner: BatchRunner) throws -> [String] {
        let domains = targets.map(\.domain)
        try record(LedgerEntry(inputSHA256: sha, input: image.path, state: .started, domains: domains, outputs: targets.map(\.finalPath)))
        do {
            let written = try runner.edit(image, sha: sha, targets: targets, replaceable: ownOutputs(sha))
            try record(LedgerEntry(inputSHA256: sha, input: image.path, state: .done, domains: domains, outputs: written))
            return written
        } catch where !isEnvironmentalError(error) {
            try record(LedgerEntry(inputSHA256: sha, input: image.path, state: .failed, domains: domains, outputs: [], reason: "\(error)"))
            throw error
        }
    }
}
