import ArgumentParser
import Foundation
import Pipeline

/// `nada-edit status OUTPUT_DIR [--input DIR ...]`: what the workers sharing an output folder have done.
public struct Status: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Merge every ledger in an output folder: done, failed (with reasons) and in progress per shard.",
        discussion: """
        Reads nada-edit-ledger.jsonl and every nada-edit-ledger.shard-I-of-N.jsonl in OUTPUT_DIR (written by
        `edit --shard`, `watch` and `watch --shard`) and changes nothing. With --input, also lists the photos there
        whose content no worker has done yet. Exit status 0 (1 with --input when some photo is not done).
        """
    )

    @Argument(help: ArgumentHelp("The output folder the workers share.", valueName: "OUTPUT_DIR"))
    public var outputDirectory: String

    @Option(name: .customLong("input"), help: ArgumentHelp("A photo or folder of inputs to check against the ledgers (repeat for several).", valueName: "DIR"))
    public var inputs: [String] = []

    @Flag(name: .long, help: "With --input, descend into sub-folders.")
    public var recursive = false

    public init() {}

    public func run() throws {
        let status = try ClusterStatus(outputDirectory: outputDirectory, inputs: inputs, recursive: recursive)
        print(status.report())
        if !status.notDone.isEmpty { throw ExitCode(1) }
    }
}
