import Engine

/// Process-wide configuration of the numeric engine that the command line sets once at start-up (the CLI does not
/// reach into the engine itself).
public enum ComputeSettings {
    /// Worker threads for numeric work (`--threads`); default: one per core.
    public static func setThreads(_ count: Int) { Threads.set(count) }
}
