import ArgumentParser
import Pipeline

/// `--precision` on the commands that run the models (train, edit, watch, generate, invert, video, embed).
public struct PrecisionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Arithmetic of the large matrix products: fp32, or bf16 inputs with fp32 sums on CPUs with AVX512-BF16 (about 1.3-1.4x faster CLIP and encoders; falls back to fp32 elsewhere, with a note).",
        valueName: "fp32|bf16"))
    public var precision: ComputePrecision = .fp32

    public init() {}

    /// Sets the process's precision; says so on standard error when bf16 was asked for and this CPU lacks it.
    public func apply() {
        if ComputeSettings.setPrecision(precision) != precision {
            printError("note: --precision bf16 needs a CPU with AVX512-BF16; this one has none, so products run in fp32")
        }
    }
}

extension ComputePrecision: ExpressibleByArgument {}
