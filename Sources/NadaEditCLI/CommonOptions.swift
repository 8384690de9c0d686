import ArgumentParser
import Foundation
import Pipeline

/// Options every command that touches models takes (`@OptionGroup var common: CommonOptions`).
public struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("models"), help: ArgumentHelp(
        "The model store folder (default: $NADA_EDIT_MODELS, else $XDG_DATA_HOME/nada-edit/models, else ~/.local/share/nada-edit/models).",
        valueName: "DIR"))
    public var modelsDirectory: String?

    @Option(name: .long, help: ArgumentHelp("Worker threads for numeric work (default: all cores).", valueName: "N"))
    public var threads: Int?

    public init() {}

    public func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    /// The model store these options select.
    public var store: ModelStore { ModelStore(root: ModelStore.defaultRoot(override: modelsDirectory)) }

    /// Applies `--threads` to the engine's thread pool.
    public func applyThreads() {
        if let threads { ComputeSettings.setThreads(threads) }
    }
}

/// Progress and warnings go to standard error; results to standard output.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
