import ArgumentParser
import DurableIO
import Engine
import Formats
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
    @OptionGroup public var sharding: ShardOptions

    @Option(name: .long, help: ArgumentHelp("Encoder checkpoint (pSp, e4e or ReStyle; official layout).", valueName: "FILE"))
    public var encoder: String

    @Option(name: .long, help: ArgumentHelp("Generator for reconstructions and ReStyle's refinement (default: the encoder's bundled decoder).", valueName: "FILE"))
    public var generator: String?

    @Option(name: .long, help: ArgumentHelp("ReStyle refinement steps.", valueName: "N"))
    public var iterations: Int = 5

    @Option(name: .long, help: "ffhq: face landmarks and the FFHQ crop; center: centre square crop; none: photos are already aligned (resized to 256 only). Default: ffhq when a landmark model is found, else center.")
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
        if iterations < 1 { throw ValidationError("--iterations must be at least 1") }
        if maxPixels < 0 { throw ValidationError("--max-pixels must be 0 (no limit) or positive") }
        if try sharding.resolve() != nil && output.lowercased().hasSuffix(".npy") {
            throw ValidationError("with a shard, --output must be a folder (one <stem>.npy per photo): several shards cannot share one \(output)")
        }
    }

    public func run() throws {
        common.applyThreads()
        let checkpoint = try EncoderCheckpoint(file: try loadFile(encoder))
        let decoder = try generator.map { try StyleGAN2Generator.load(path: $0) }
        let inverter = try Inverter(encoder: checkpoint, decoder: decoder)
        let aligner = try PhotoAligner(mode: align, landmarkModel: PhotoAligner.landmarkModelPath(explicit: landmarks, store: common.store),
                                       warn: printError)
        let decodeOptions = DecodeOptions(maxPixels: maxPixels, minimumSide: aligner.decodeMinimumSide)
        if let saveAligned { try FileManager.default.createDirectory(atPath: saveAligned, withIntermediateDirectories: true) }
        let single = output.lowercased().hasSuffix(".npy")
        if !single { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true) }
        if let reconstructions { try FileManager.default.createDirectory(atPath: reconstructions, withIntermediateDirectories: true) }
        var codes: [Tensor] = []
        var failed: [(String, String)] = []
        var stemsUsed = Set<String>()
        let shard = try sharding.resolve()
        var otherShards = 0
        for path in images {
            // A shard takes the photos whose content falls in it (an unreadable one: by its path, so one shard reports it).
            if let shard {
                let sha = try? FileDigest.sha256Hex(ofFileAt: path)
                if !shard.contains(sha256: sha ?? FileDigest.sha256Hex(of: Data(path.utf8))) { otherShards += 1; continue }
            }
            do {
                let photo = try loadImage(path: path, options: decodeOptions)
                let (aligned, _) = try aligner.align(photo)
                // a/x.jpg and b/x.jpg in one run: the later one is <stem>-<sha8>, as edit names its outputs.
                var stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
                if !stemsUsed.insert(stem).inserted {
                    stem += "-" + String(try FileDigest.sha256Hex(ofFileAt: path).prefix(8))
                    stemsUsed.insert(stem)
                }
                if let saveAligned { try writeImage(aligned, to: "\(saveAligned)/\(stem).png", overwrite: overwrite) }
                let x = try ImageTensors.encoderInput(aligned)
                let result = try inverter.invert(x, iterations: iterations, reconstruct: reconstructions != nil)
                if let reconstructions, let image = result.reconstructions.last {
                    try writeImage(try ImageTensors.image(from: image), to: "\(reconstructions)/\(stem).png", overwrite: overwrite)
                }
                if single {
                    codes.append(result.codes)
                } else {
                    try write(result.codes, to: "\(output)/\(stem).npy")
                }
                printError("inverted \(path)")
            } catch {
                failed.append((path, "\(error)"))
                printError("failed: \(path): \(FailureReport.reason("\(error)", without: path))")
            }
        }
        if single && !codes.isEmpty { try write(Tensor.concat(codes, axis: 0), to: output) }
        print("done \(images.count - otherShards - failed.count), failed \(failed.count)"
              + (shard.map { "; shard \($0) (\(otherShards) photo(s) left to other shards)" } ?? ""))
        if !failed.isEmpty { throw ExitCode(1) }
    }

    func write(_ t: Tensor, to path: String) throws {
        do {
            try writeNpy(ArrayData(shape: t.shape, floats: t.array), to: path, replacing: overwrite)
        } catch let error as FileSystemError where error.code == EEXIST {
            throw ValidationError("\(path) exists; pass --overwrite to replace it")
        }
    }
}
