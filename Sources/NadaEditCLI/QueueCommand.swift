import ArgumentParser
import ClusterQueue
import Foundation
import Pipeline

/// `nada-edit queue init|status|retry-failed URL`: the PostgreSQL work queue that `edit --queue URL` workers share.
public struct Queue: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Create, inspect and reset the PostgreSQL work queue used by edit --queue.",
        subcommands: [QueueInit.self, QueueStatus.self, QueueRetryFailed.self]
    )
    public init() {}
}

/// The URL argument the queue subcommands share (password from the URL or PGPASSWORD, never printed).
public struct QueueURLArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("postgres://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?host=/socket/dir&sslmode=disable|prefer|require]", valueName: "URL"))
    public var url: String

    public init() {}

    public func connect(requireSchema: Bool = true) throws -> PostgresWorkQueue {
        try PostgresWorkQueue(url: try QueueURL(url), requireSchema: requireSchema)
    }
}

public struct QueueInit: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create the queue's tables (schema version \(PostgresWorkQueue.schemaVersion)); safe to repeat.")
    @OptionGroup public var target: QueueURLArgument
    public init() {}
    public func run() throws {
        let queue = try target.connect(requireSchema: false)
        print(try queue.initialise() ? "created the queue in \(queue.url)" : "\(queue.url) already has the queue (schema \(PostgresWorkQueue.schemaVersion))")
    }
}

public struct QueueStatus: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Photos queued, claimed (by which worker, lease left), done and failed (with reasons).")
    @OptionGroup public var target: QueueURLArgument
    public init() {}
    public func run() throws {
        let queue = try target.connect()
        print(try queue.snapshot().report(url: queue.url))
    }
}

public struct QueueRetryFailed: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "retry-failed", abstract: "Put every failed photo back in the queue.")
    @OptionGroup public var target: QueueURLArgument
    public init() {}
    public func run() throws {
        let queue = try target.connect()
        print("\(try queue.retryFailed()) failed photo(s) queued again")
    }
}

extension Edit {
    /// `edit --queue URL`: one worker on the shared queue.
    func runQueueWorker(url: String, options: BatchOptions, processor: PhotoProcessor, lease: Double) throws {
        let queue = try PostgresWorkQueue(url: try QueueURL(url))
        let worker = QueueWorker(options: options, queue: queue, processor: processor)
        worker.log = printError
        worker.handleSignals = true
        worker.lease = lease
        printError("worker \(worker.workerID) on \(queue.url)")
        let summary = try worker.run(inputs: inputs)
        print(summary.report())
        if summary.exitStatus != 0 { throw ExitCode(summary.exitStatus) }
    }
}
