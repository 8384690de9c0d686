import ArgumentParser
import Foundation
import Imaging
import Models
import Pipeline

/// `nada-edit invert`: photos into W+ codes with a pSp / e4e / ReStyle encoder.
public struct Invert: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "invert",
        abstract: "Invert photos into W+ latent codes with a pSp, e4e or ReStyle encoder checkpoint.",
        discussion: """
        --output FILE.npy writes one float32 array [N, n_latent, style_dim] for the photos that succeeded, in
        argument order; --output DIR writes <stem>.npy per photo. Failed photos are reported with their reason
        and make the exit status 1.
        """
    )

    @OptionGroup public var common: CommonOptions
    @OptionGroup public var compute: PrecisionOptions
    @OptionGroup public var sharding: ShardOptions

    @Option(name: .long, help: ArgumentHelp("Encoder checkpoint (pSp, e4e or ReStyle; official layout) or a store name.", valueName: "FILE"))
    public var encoder: String

    @Option(name: .long, help: ArgumentHelp("Generator for reconstructions and ReStyle's refinement (default: the encoder's bundled decoder).", valueName: "FILE"))
    public var generator: String?

    @Option(name: .customLong("restyle-steps"), help: ArgumentHelp("ReStyle refinement steps (pSp/e4e ignore it).", valueName: "N"))
    public var restyleSteps: Int = 5

    /// The old name of --restyle-steps, accepted for one release with a warning ("iterations" means training
    /// iterations in `train`).
    @Option(name: .customLong("iterations"), help: .hidden)
    public var deprecatedIterations: Int?

    /// --restyle-steps, or the deprecated --iterations when given.
    public var steps: Int { deprecatedIterations ?? restyleSteps }

    @Option(name: .long, help: ArgumentHelp("ffhq: face landmarks and the FFHQ crop; center: centre square crop; none: photos are already aligned (resized to 256 only). Default: ffhq when a landmark model is found, else center.", valueName: "MODE"))
    public var align: AlignmentMode?

    @Option(name: .long, help: ArgumentHelp("dlib's shape_predictor_68_face_landmarks.dat (default: $NADA_LANDMARK_MODEL, else landmarks/ in the store, else /usr/share/dlib/ from Debian's libdlib-data).", valueName: "FILE"))
    public var landmarks: String?

    @Option(name: .customLong("max-pixels"), help: ArgumentHelp("Refuse photos whose header claims more than N pixels (decompression bombs); 0 = no limit.", valueName: "N"))
    public var maxPixels: Int = DecodeOptions.defaultMaxPixels

    @Option(name: .customLong("save-aligned"), help: ArgumentHelp("Also write each aligned crop as <stem>.png here.", valueName: "DIR"))
    public var saveAligned: String?

    @Argument(help: ArgumentHelp("JPEG or PNG photos.", valueName: "IMAGE"))
    public var images: [String] = []

    @Option(name: .long, help: ArgumentHelp("FILE.npy (all codes) or a folder (one .npy per photo).", valueName: "PATH"))
    public var output: String

    @Option(name: .long, help: ArgumentHelp("Also write each reconstruction as <stem>.png here.", valueName: "DIR"))
    public var reconstructions: String?

    @Flag(name: .long, help: "Replace existing output files.")
    public var overwrite = false

    public init() {}

    public func validate() throws {
        if images.isEmpty { throw ValidationError("give at least one IMAGE") }
        if steps < 1 { throw ValidationError("--restyle-steps must be at least 1") }
        if deprecatedIterations != nil {
            printError("warning: --iterations is deprecated for ReStyle steps; use --restyle-steps (it will be removed in the next release)")
        }
        if maxPixels < 0 { throw ValidationError("--max-pixels must be 0 (no limit) or positive") }
        if try sharding.resolve() != nil && output.lowercased().hasSuffix(".npy") {
            throw ValidationError("with a shard, --output must be a folder (one <stem>.npy per photo): several shards cannot share one \(output)")
        }
    }

    public func run() throws {
        common.applyThreads()
        compute.apply()
        let resolver = ModelResolver(store: common.store)
        let inverter = try Inverter(encoder: try resolver.encoder(encoder), decoder: try generator.map { try resolver.photoGenerator($0) })
        let aligner = try PhotoAligner(mode: align, landmarkModel: PhotoAligner.landmarkModelPath(explicit: landmarks, store: common.store),
                                       warn: printError)
        var options = InversionRun.Options(output: output)
        options.restyleSteps = steps
        options.alignedFolder = saveAligned
        options.reconstructionFolder = reconstructions
        options.overwrite = overwrite
        options.decodeOptions = DecodeOptions(maxPixels: maxPixels, minimumSide: aligner.decodeMinimumSide)
        options.shard = try sharding.resolve()
        let run = InversionRun(inverter: inverter, aligner: aligner)
        run.log = printError
        let summary = try run.run(images: images, options: options)
        print(summary.report())
        if summary.exitStatus != 0 { throw ExitCode(summary.exitStatus) }
    }
}
