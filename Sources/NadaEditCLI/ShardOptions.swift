import ArgumentParser
import Foundation
import Pipeline

/// `--shard I/N` / `--shard-count N` for edit, watch and invert: a worker takes only the photos whose content
/// (SHA-256) falls in its shard; without `--shard` the index comes from a Slurm job array or a Kubernetes
/// Indexed Job (`ShardSelection`).
public struct ShardOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Take only shard I of N (0-based) of the photos, chosen by content; default: from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX with --shard-count.", valueName: "I/N"))
    public var shard: String?

    @Option(name: .customLong("shard-count"), help: ArgumentHelp("The number of shards N when the index comes from the scheduler (needed with a Kubernetes Indexed Job's JOB_COMPLETION_INDEX).", valueName: "N"))
    public var shardCount: Int?

    public init() {}

    /// The options themselves; the scheduler's variables are read when the command runs (`resolve`).
    public func validate() throws {
        if let shardCount, shardCount < 1 { throw ValidationError("--shard-count must be at least 1, not \(shardCount)") }
        if shard != nil { _ = try resolve(environment: [:]) }
    }

    /// The shard to take (nil: all photos), from the options and the scheduler's environment.
    public func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard? {
        do { return try ShardSelection.resolve(explicit: shard, count: shardCount, environment: environment) }
        catch let error as PipelineError { throw ValidationError(error.description) }
    }
}
