import ArgumentParser
import Foundation
import Imaging
import Pipeline

/// `nada-edit generate`: renders images (or raw arrays) from a StyleGAN2 or StyleGAN3 generator and latent codes.
///
/// nada-edit generate --generator FILE --latents FILE.npy [--space wplus|w|z] [--truncation PSI
///   [--truncation-latent FILE.npy]] [--noise stored|random] [--seed N] --output PATH
/// nada-edit generate --generator FILE --count N --seed S --output PATH      (samples Z codes)
/// Either form takes `--edit DIRECTION=AMOUNT[@START:END]` (repeatable): codes become W+ (Z mapped, W repeated)
/// and are edited before truncation, as rosinality's apply_factor.py moves codes before truncating them.
public struct Generate: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Render images from a StyleGAN2 or StyleGAN3 generator and Z / W / W+ latent codes.",
        discussion: "Output: a path ending in .npy gets the raw float32 NCHW images (not clamped); a .png/.jpg path or a "
            + "folder gets 8-bit images, [-1, 1] mapped to [0, 255] with clamping and rounding (torchvision's save_image). "
            + "Several images for one .png/.jpg path are numbered (name_0000.png, ...). "
            + "With --edit, codes are turned into W+ (Z codes mapped, W codes repeated on every row) and edited in order "
            + "before truncation; sefa:K factorizes --generator itself; store names and ganspace: read the model store (--models)."
    )

    public typealias Space = LatentSpace
    public typealias NoiseSource = NoiseChoice

    @Option(help: ArgumentHelp("Generator: a checkpoint with a 'g_ema' state dict (.pt, zip or legacy), an NVlabs .pkl (StyleGAN2-ADA, StyleGAN3), a StyleGAN3 run's generator.pt, or a store name.", valueName: "FILE"))
    public var generator: String

    @Option(help: ArgumentHelp("Latent codes: W+ [N, n_latent, style_dim], W or Z [N, style_dim].", valueName: "FILE.npy"))
    public var latents: String?

    @Option(help: ArgumentHelp("Latent space of --latents (default from the array's rank: 3 -> wplus, 2 -> w; z must be asked for).", valueName: "SPACE"))
    public var space: Space?

    @Option(help: ArgumentHelp("Truncation psi (< 1 pulls codes towards the truncation latent).", valueName: "PSI"))
    public var truncation: Float = 1

    @Option(name: .customLong("truncation-latent"), help: ArgumentHelp(
        "Mean w [style_dim] or [1, style_dim] (default: the checkpoint's latent_avg, else the mean of 4096 mapped z drawn with --seed).",
        valueName: "FILE.npy"))
    public var truncationLatent: String?

    @Option(help: ArgumentHelp("Noise maps: the checkpoint's stored buffers, or random maps drawn per image from --seed.", valueName: "MODE"))
    public var noise: NoiseSource = .stored

    @Option(help: ArgumentHelp("Seed for sampled Z codes, random noise and a computed mean latent.", valueName: "N"))
    public var seed: UInt64 = 0

    @Option(help: ArgumentHelp("Without --latents: number of Z codes to sample.", valueName: "N"))
    public var count: Int?

    @Option(help: ArgumentHelp("Output: FILE.npy, FILE.png / FILE.jpg, or a folder.", valueName: "PATH"))
    public var output: String

    @Option(name: .customLong("edit"), help: ArgumentHelp(
        "A latent edit DIRECTION=AMOUNT[@START:END] (repeat for several; applied in order). DIRECTION: a direction in the model store, a .pt/.npy file, sefa:K (of --generator) or ganspace:NAME|K.",
        valueName: "SPEC"))
    public var edits: [String] = []

    @OptionGroup public var common: CommonOptions
    @OptionGroup public var compute: PrecisionOptions

    @Flag(help: "Replace existing output files.")
    public var overwrite = false

    public init() {}

    public func validate() throws {
        if latents == nil && count == nil { throw ValidationError("give --latents FILE.npy, or --count N to sample Z codes") }
        if latents != nil && count != nil { throw ValidationError("--count samples Z codes; it cannot be combined with --latents") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1, got \(count)") }
        if latents == nil, let space, space != .z { throw ValidationError("sampled codes are Z codes; --space \(space.rawValue) needs --latents") }
        if !(truncation > 0 && truncation <= 1) { throw ValidationError("--truncation must be in (0, 1], got \(truncation)") }
        if truncationLatent != nil && truncation >= 1 { throw ValidationError("--truncation-latent needs --truncation below 1") }
        for edit in edits {
            do { _ = try EditSpec.parse(edit) } catch { throw ValidationError("\(error)") }
        }
    }

    public func run() throws {
        common.applyThreads()
        compute.apply()
        let resolver = ModelResolver(store: common.store)
        var generation = ImageGeneration(generatorPath: try resolver.path(generator, flag: "--generator"), output: output)
        generation.latentsPath = latents
        generation.count = count
        generation.space = space
        generation.truncation = truncation
        generation.truncationLatentPath = truncationLatent
        generation.noise = noise
        generation.seed = seed
        generation.edits = try edits.map(EditSpec.parse)
        generation.overwrite = overwrite
        generation.log = { print($0) }
        _ = try generation.run(store: common.store)
    }
}

extension LatentSpace: ExpressibleByArgument {}
extension NoiseChoice: ExpressibleByArgument {}

/// A failure of a command's own checks (missing file, existing output): printed without the usage text.
struct GenerateError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
