import Engine

/// Process-wide configuration of the numeric engine that the command line sets once at start-up (the CLI does not
/// reach into the engine itself).
public enum ComputeSettings {
    /// Worker threads for numeric work (`--threads`); default: one per core.
    public static func setThreads(_ count: Int) { Threads.set(count) }

    /// Arithmetic of the large matrix products (`--precision`); returns what this CPU runs (bf16 falls back to
    /// fp32 without AVX512-BF16).
    @discardableResult
    public static func setPrecision(_ precision: ComputePrecision) -> ComputePrecision { Precision.use(precision) }
}

/// The engine's precision under the name the command line uses.
public typealias ComputePrecision = Precision
