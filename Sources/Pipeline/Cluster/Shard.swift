import Foundation

/// One worker's slice of the inputs in a static split: shard `index` of `count` (0-based, as Kubernetes'
/// `JOB_COMPLETION_INDEX` and `--array=0-N` in Slurm).
///
/// Membership is decided by the input's content (its SHA-256), never its name: the same photo under two names
/// lands in the same shard, so per-shard ledgers can recognise duplicates, and renaming a folder between runs
/// does not move photos between workers.
public struct Shard: Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1 else { throw PipelineError.invalidArgument("shard count must be at least 1, not \(count)") }
        guard (0..<count).contains(index) else {
            throw PipelineError.invalidArgument("shard index \(index) is outside 0..\(count - 1) (shards are numbered from 0)")
        }
        self.index = index; self.count = count
    }

    /// `I/N`, as `--shard` takes it.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw PipelineError.invalidArgument("--shard must be I/N (e.g. 0/4 for the first of four shards), not '\(text)'")
        }
        try self.init(index: i, count: n)
    }

    /// `I/N`.
    public var description: String { "\(index)/\(count)" }

    /// `shard-I-of-N`: names this shard's ledger and lock in a shared output folder.
    public var fileTag: String { "shard-\(index)-of-\(count)" }

    /// The shard a content hash belongs to: its first 64 bits modulo `count`. SHA-256 is uniform, so shards get
    /// equal shares (the modulo bias is below 2^-40 for any practical count).
    public static func index(ofSHA256 hex: String, count: Int) -> Int {
        guard count > 1, let high = UInt64(hex.prefix(16), radix: 16) else { return 0 }
        return Int(high % UInt64(count))
    }

    public func contains(sha256 hex: String) -> Bool { Shard.index(ofSHA256: hex, count: count) == index }
}

/// Where a worker's shard comes from: `--shard I/N`, else the scheduler's environment.
public enum ShardSelection {
    /// The environment variables consulted, for error messages and the manual.
    public static let slurmVariables = ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_STEP"]
    public static let kubernetesVariable = "JOB_COMPLETION_INDEX"

    /// nil: no sharding (one worker does everything).
    ///
    /// - `explicit` (`--shard I/N`) wins; `--shard-count` must then agree with N.
    /// - Slurm job arrays: index `(SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP`, count
    ///   `SLURM_ARRAY_TASK_COUNT` (or `--shard-count`), so `--array=1-8` and `--array=0-14:2` both work.
    /// - Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` with `--shard-count N` (the Job's `completions`; Kubernetes
    ///   does not export it).
    public static func resolve(explicit: String?, count: Int?, environment: [String: String]) throws -> Shard? {
        if let explicit {
            let shard = try Shard(parsing: explicit)
            if let count, count != shard.count {
                throw PipelineError.invalidArgument("--shard \(explicit) and --shard-count \(count) disagree; give one of them")
            }
            return shard
        }
        func integer(_ name: String) throws -> Int? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            guard let value = Int(text) else { throw PipelineError.invalidArgument("environment variable \(name)='\(text)' is not a whole number") }
            return value
        }
        if let task = try integer("SLURM_ARRAY_TASK_ID") {
            let minimum = try integer("SLURM_ARRAY_TASK_MIN") ?? 0
            let step = max(1, try integer("SLURM_ARRAY_TASK_STEP") ?? 1)
            guard let n = try count ?? integer("SLURM_ARRAY_TASK_COUNT") else {
                throw PipelineError.invalidArgument("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; give --shard-count N (the number of array tasks)")
            }
            guard (task - minimum) % step == 0 else {
                throw PipelineError.invalidArgument("SLURM_ARRAY_TASK_ID \(task) is not on the array's step \(step) from \(minimum); use --array=A-B[:S] or give --shard I/N")
            }
            do { return try Shard(index: (task - minimum) / step, count: n) }
            catch { throw PipelineError.invalidArgument("Slurm array task \(task) (min \(minimum), step \(step)) with \(n) tasks: \(error); give --shard I/N") }
        }
        if let index = try integer(kubernetesVariable) {
            guard let count else {
                throw PipelineError.invalidArgument("\(kubernetesVariable) is set (a Kubernetes Indexed Job) but --shard-count is not; give --shard-count N equal to the Job's completions")
            }
            return try Shard(index: index, count: count)
        }
        if let count {
            throw PipelineError.invalidArgument("--shard-count \(count) needs a shard index: --shard I/\(count), or run as a Slurm array task or Kubernetes Indexed Job")
        }
        return nil
    }
}
