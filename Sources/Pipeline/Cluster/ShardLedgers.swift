import Foundation

extension Ledger {
    /// `nada-edit-ledger.jsonl` for a single worker, `nada-edit-ledger.shard-I-of-N.jsonl` for shard I of N: every
    /// worker sharing an output folder appends only to its own file, so no two processes ever write one file
    /// (appends from several NFS clients to one file are not atomic).
    public static func fileName(for shard: Shard?) -> String {
        guard let shard else { return fileName }
        return "nada-edit-ledger.\(shard.fileTag).jsonl"
    }

    /// The lock a worker holds on an output folder: one per shard, so a second worker given the same shard stops
    /// at once instead of doing the same photos twice.
    public static func lockName(prefix: String, shard: Shard?) -> String {
        guard let shard else { return ".nada-edit-\(prefix).lock" }
        return ".nada-edit-\(prefix).\(shard.fileTag).lock"
    }
}

/// Every ledger in an output folder, read (never written): what the batch runner's skip decision and
/// `nada-edit status` see.
public struct LedgerFolder {
    public struct File {
        public var name: String
        /// nil for a ledger written without sharding (`nada-edit-ledger.jsonl`).
        public var shard: Shard?
        public var entries: [LedgerEntry]
        public var unreadableLines: Int
    }

    public var files: [File] = []

    /// Reads `nada-edit-ledger.jsonl` and every `nada-edit-ledger.shard-I-of-N.jsonl` in `folder` (a missing
    /// folder has none). Torn or hand-edited lines are counted and skipped, as `Ledger` does.
    public init(folder: String) throws {
        guard FileOps.isDirectory(folder) else { return }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        for name in names {
            guard let shard = LedgerFolder.shard(ofLedgerName: name) else { continue }   // not a ledger
            let path = (folder as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PipelineError.io(path: path, problem: "cannot read the ledger (permission denied?)")
            }
            var file = File(name: name, shard: shard, entries: [], unreadableLines: 0)
            for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
                if let entry = try? JSONDecoder().decode(LedgerEntry.self, from: Data(line)) { file.entries.append(entry) }
                else { file.unreadableLines += 1 }
            }
            files.append(file)
        }
    }

    /// `.some(shard)` for a shard ledger, `.some(nil)` for the unsharded one, nil for names that are no ledger.
    static func shard(ofLedgerName name: String) -> Shard?? {
        if name == Ledger.fileName { return .some(nil) }
        let pattern = #"^nada-edit-ledger\.shard-([0-9]+)-of-([0-9]+)\.jsonl$"#
        guard let match = name.range(of: pattern, options: .regularExpression), match.lowerBound == name.startIndex else { return nil }
        let numbers = name.dropFirst("nada-edit-ledger.shard-".count).dropLast(".jsonl".count).components(separatedBy: "-of-")
        guard numbers.count == 2, let i = Int(numbers[0]), let n = Int(numbers[1]), let shard = try? Shard(index: i, count: n) else { return nil }
        return .some(shard)
    }

    /// Shard counts other than `count` found in the folder: workers split differently before (a warning: their
    /// photos are recognised by the batch runner, which reads every ledger, but not by a watcher).
    public func otherShardCounts(than count: Int?) -> [Int] {
        Array(Set(files.compactMap { $0.shard?.count }.filter { $0 != count })).sorted()
    }

    /// Domains done for each content, over every ledger.
    public func doneDomains() -> [String: Set<String>] {
        var done = [String: Set<String>]()
        for file in files { for e in file.entries where e.state == .done { done[e.inputSHA256, default: []].formUnion(e.domains) } }
        return done
    }

    /// Output paths each content has planned or written, over every ledger.
    public func outputsByContent() -> [String: Set<String>] {
        var outputs = [String: Set<String>]()
        for file in files { for e in file.entries { outputs[e.inputSHA256, default: []].formUnion(e.outputs) } }
        return outputs
    }
}
