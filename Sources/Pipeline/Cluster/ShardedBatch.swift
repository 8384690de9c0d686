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
    let warnings: [String]

    init(shard: Shard, outputDirectory: String) throws {
        self.shard = shard
        self.outputDirectory = outputDirectory
        folderLock = try FolderLock(path: (outputDirectory as NSString).appendingPathComponent(Ledger.lockName(prefix: "batch", shard: shard)))
        let folder = try LedgerFolder(folder: outputDirectory)
        var warnings = [String]()
        let others = folder.otherShardCounts(than: shard.count)
        if !others.isEmpty {
            warnings.append("this folder also has ledgers of runs split into \(others.map(String.init).joined(separator: ", ")) shard(s); photos they finished are skipped")
        }
        ledger = try Ledger(path: (outputDirectory as NSString).appendingPathComponent(Ledger.fileName(for: shard)))
        if ledger.unreadableLines > 0 { warnings.append("ledger: ignored \(ledger.unreadableLines) unreadable line(s) (torn by a crash?)") }
        self.warnings = warnings
        read(folder)
    }

    private func read(_ folder: LedgerFolder) {
        doneByContent = folder.doneDomains()
        outputsByContent = folder.outputsByContent()
        allRecordedOutputs = outputsByContent.values.reduce(into: Set<String>()) { $0.formUnion($1) }
    }

    /// This content's targets: `planned(avoiding)` names them around `claimed` (this run's) and every name another
    /// content's ledger entry holds. An existing output that no ledger knows may belong to a worker that started
    /// after the ledgers were read (each writes `started` with its planned names before the file can exist), so
    /// the ledgers are read again before such a file is taken for the output of an earlier run without `--shard`.
    func plan(sha: String, claimed: Set<String>, _ planned: (Set<String>) -> [OutputTarget]) -> [OutputTarget] {
        var targets = planned(claimed.union(outputsOfOthers(than: sha)))
        if targets.contains(where: { !allRecordedOutputs.contains($0.finalPath) && FileOps.exists($0.finalPath) }),
           let folder = try? LedgerFolder(folder: outputDirectory) {
            read(folder)
            targets = planned(claimed.union(outputsOfOthers(than: sha)))
        }
        return targets
    }

    /// Whether this worker takes a photo of this content.
    func owns(sha256: String) -> Bool { shard.contains(sha256: sha256) }

    /// Whether this worker reports an input that cannot be hashed (unreadable, not a photo): decided by its path,
    /// so exactly one worker reports it.
    func owns(unreadablePath path: String) -> Bool { shard.contains(sha256: FileDigest.sha256Hex(of: Data(path.utf8))) }

    /// Names other contents have planned or written (in any worker's ledger): planned around, never replaced.
    func outputsOfOthers(than sha: String) -> Set<String> { allRecordedOutputs.subtracting(outputsByContent[sha] ?? []) }

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
