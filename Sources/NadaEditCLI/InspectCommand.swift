import ArgumentParser
import Foundation
import Pipeline

/// `nada-edit models inspect FILE`: what a checkpoint or array file holds, read safely (no code from
/// the file is ever run). The description itself is `Pipeline.ModelInspection`.
public struct Inspect: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a checkpoint's format, tensors (name, dtype, shape) and detected architecture."
    )

    @Argument(help: ArgumentHelp("A PyTorch checkpoint (.pt/.pth, zip or legacy), TorchScript archive, NVlabs network pickle (.pkl), .safetensors, .npy or .npz file.", valueName: "FILE"))
    public var file: String

    @Option(name: .long, help: ArgumentHelp("List at most this many tensors (default: all).", valueName: "N"))
    public var limit: Int?

    public init() {}

    public func run() throws {
        // FormatError's message names the file and the problem; ArgumentParser prints it and exits 1.
        print(try ModelInspection.describe(path: file, maxTensors: limit ?? Int.max))
    }
}
