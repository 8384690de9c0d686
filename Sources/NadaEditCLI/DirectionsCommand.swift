import ArgumentParser
import Foundation
import Formats
import Models
import Pipeline

/// `nada-edit directions …`: latent directions for `--edit`.
public struct Directions: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "directions",
        abstract: "Latent directions for --edit: SeFa factorization of a generator, e4e's GANSpace presets.",
        subcommands: [Factorize.self, Presets.self]
    )
    public init() {}

    /// `directions factorize --generator FILE --output FILE.npy [--count K]`
    public struct Factorize: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "factorize",
            abstract: "Write a generator's SeFa components (rosinality's closed_form_factorization.py) as rows of a .npy.",
            discussion: """
            The style-modulation weights (every g_ema '*modulation.weight' except to_rgbs.*, in state-dict order) are \
            stacked into one matrix; its right singular vectors, largest singular value first, are the components. \
            Row i of the output [K, style_dim] float32 array is rosinality's eigvec[:, i], with its sign fixed so its \
            largest-magnitude entry is positive. Use one as --edit FILE.npy… only when K is 1; --edit sefa:K=AMOUNT \
            picks component K of a domain's base generator directly.
            """
        )

        @Option(help: ArgumentHelp("Generator checkpoint with a 'g_ema' state dict.", valueName: "FILE"))
        public var generator: String

        @Option(help: ArgumentHelp("Where to write the components (.npy).", valueName: "FILE.npy"))
        public var output: String

        @Option(help: ArgumentHelp("Components to keep (default: all, style_dim of them).", valueName: "K"))
        public var count: Int?

        @Flag(help: "Replace an existing output file.")
        public var overwrite = false

        public init() {}

        public func validate() throws {
            if let count, count < 1 { throw ValidationError("--count must be at least 1") }
            if !output.lowercased().hasSuffix(".npy") { throw ValidationError("--output must end in .npy, got \(output)") }
        }

        public func run() throws {
            guard FileManager.default.fileExists(atPath: generator) else { throw GenerateError("\(generator): generator file not found") }
            if !overwrite && FileManager.default.fileExists(atPath: output) {
                throw GenerateError("\(output) exists (use --overwrite to replace it)")
            }
            let g = try ModelResolver.generator(at: generator)
            let components = g.sefaComponents(count: count)
            try writeNpy(ArrayData(shape: components.shape, floats: components.array), to: output, replacing: overwrite)
            print("wrote \(components.shape[0]) SeFa component(s) of \(generator) as \(components.shape) float32 to \(output)")
        }
    }

    /// `directions presets`: the named GANSpace edits.
    public struct Presets: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "presets",
            abstract: "List e4e's named GANSpace edits (component, W+ rows, strength) usable as --edit ganspace:NAME."
        )
        public init() {}
        public func run() {
            for p in GANSpacePreset.all {
                print("ganspace:\(p.name)  component \(p.component), rows \(p.start):\(p.end), strength \(p.strength)")
            }
        }
    }
}
