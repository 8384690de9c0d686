import ArgumentParser
import Foundation
import Imaging
import Pipeline

/// `nada-edit video --domain photo --domain sketch --domain pixar [--edit age=-3:+3] PHOTO|--seed N --output FILE.mp4|DIR`:
/// one code rendered along a path through domains while edits ramp.
public struct VideoCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "video",
        abstract: "Render a photo (or a sampled face) along a path through domains, as an H.264 MP4 or numbered PNG frames.",
        discussion: """
        The --domain values are waypoints, visited in order: a domain name, `photo` for the base generator, or a \
        blend NAME=W[,NAME=W...]. One --domain X is the path photo -> X (the reconstruction turning into X's edit); \
        values that are all NAME=W without commas are one blend, as for `edit`, so photo -> that blend. \
        Frame k of N sits at t = k/(N-1); the waypoints are spread evenly over t and the generator's weights move \
        linearly between them: base + Σ w_i·(domain_i - base). All domains must have been adapted from the same \
        base generator. `photo` always means the base generator here: a domain installed under the name `photo` \
        is reached as the blend waypoint photo=1.

        Each --edit applies along the way: NAME=A:B ramps the amount from A on the first frame to B on the last; \
        NAME=AMOUNT moves the code from unedited on the first frame to edited by AMOUNT on the last.

        The start is PHOTO, inverted once (largest face, as `edit` aligns it), or with --seed N the code `generate \
        --count 1 --seed N` samples (no encoder needed; --truncation as for `generate`). The models are read \
        once; every frame's weights go into one reusable generator and no frame is kept, so memory stays flat \
        over thousands of frames (--boomerang renders the way back again rather than caching it).

        Output: a path ending in .mp4 gets an H.264 MP4 (yuv420p, so the frame size must be even) through \
        FFmpeg's libraries, written under a temporary name and renamed, with provenance in its metadata (summary \
        as `comment`, every field as `description`). Any other path is a folder that gets numbered PNG frames \
        frame-01.png... (as many digits as the frame count has), each written atomically with provenance. \
        Nothing is replaced without --overwrite (stale frames beyond this run's count are left alone). A \
        progress line with an ETA goes to standard error.
        """
    )

    @OptionGroup public var common: CommonOptions
    @OptionGroup public var compute: PrecisionOptions

    @Option(name: .customLong("domain"), help: ArgumentHelp(
        "A waypoint: a domain, `photo` (the base generator) or a blend NAME=W[,NAME=W...] (repeat for a path).",
        discussion: "One value X means photo -> X. Values that are all NAME=W (no commas) form one blend, as for `edit`. A domain named `photo` is reached as photo=1.",
        valueName: "WAYPOINT"))
    public var domains: [String] = []

    @Argument(help: ArgumentHelp("The photo (JPEG or PNG); leave it out with --seed.", valueName: "PHOTO"))
    public var photo: String?

    @Option(name: .long, help: ArgumentHelp("Start from a Z code sampled with this seed (as `generate --count 1 --seed N`) instead of a photo.", valueName: "N"))
    public var seed: UInt64?

    @Option(name: .long, help: ArgumentHelp("With --seed: truncation psi toward the base generator's mean latent (as for `generate`).", valueName: "PSI"))
    public var truncation: Float = 1

    @Option(name: .long, help: ArgumentHelp("FILE.mp4 for an H.264 video, or a folder for numbered PNG frames.", valueName: "FILE.mp4|DIR"))
    public var output: String

    @Option(name: .long, help: ArgumentHelp("Frames from the first waypoint to the last, both included.", valueName: "N"))
    public var frames: Int = 48

    @Option(name: .long, help: ArgumentHelp("Frames per second.", valueName: "N"))
    public var fps: Int = 24

    @Option(name: .long, help: ArgumentHelp("x264 constant rate factor, 0-51 (lower is better; 18 is visually lossless).", valueName: "N"))
    public var crf: Int = 18

    @Option(name: .customLong("edit"), help: ArgumentHelp(
        "A latent edit DIRECTION=A:B (amount ramps from A to B) or DIRECTION=AMOUNT (0 to AMOUNT), optionally @START:END (repeat; applied in order).",
        discussion: "DIRECTION: a direction in the model store, a .pt/.npy file, sefa:K (of the base generator) or ganspace:NAME|K; @START:END picks W+ rows (Python slice). Example: --edit age=-3:+3.",
        valueName: "SPEC"))
    public var edits: [String] = []

    @Option(name: .long, help: ArgumentHelp("Weight of a plain-name domain waypoint (0 = base generator, 1 = the full domain).", valueName: "A"))
    public var strength: Float = 1

    @Flag(name: .long, help: ArgumentHelp("Put the input beside every frame, same height (doubles the width).",
                                          discussion: "The input is the aligned face; with --seed, the base generator's render of the sampled code, unedited."))
    public var compare = false

    @Flag(name: .long, help: "Play the path back again so the video loops without a jump (the way back is rendered again, not cached).")
    public var boomerang = false

    @Flag(name: .long, help: "Replace an existing output file or existing frames.")
    public var overwrite = false

    @Option(name: .long, help: ArgumentHelp("Encoder: a model-store name or a checkpoint file (default: the only encoder in the store). Not used with --seed.", valueName: "NAME"))
    public var encoder: String?

    @Option(name: .customLong("restyle-steps"), help: ArgumentHelp("ReStyle refinement steps (pSp/e4e ignore it).", valueName: "N"))
    public var restyleSteps: Int = 5

    /// The old name of --restyle-steps, still accepted as `edit` accepts it.
    @Option(name: .customLong("iterations"), help: .hidden)
    public var deprecatedIterations: Int?

    @Option(name: .long, help: "How the photo is aligned before inversion: ffhq (face landmarks), center (centre square) or none (already aligned). Default: ffhq when a landmark model is found, else center.")
    public var align: AlignmentMode?

    @Option(name: .long, help: ArgumentHelp("dlib's shape_predictor_68_face_landmarks.dat (as for `edit`).", valueName: "FILE"))
    public var landmarks: String?

    @Option(name: .customLong("max-pixels"), help: ArgumentHelp("Refuse photos whose header claims more than N pixels; 0 = no limit.", valueName: "N"))
    public var maxPixels: Int = DecodeOptions.defaultMaxPixels

    @Option(name: .long, help: ArgumentHelp("Frame side in pixels (default: the generator's resolution; even for an MP4).", valueName: "N"))
    public var size: Int?

    public init() {}

    /// The waypoints, checked for syntax (store names are resolved when the models load, still before any frame).
    func domainPath() throws -> DomainPath {
        do { return try DomainPath.parse(domains, strength: strength) } catch { throw ValidationError("\(error)") }
    }

    func editSpecs() throws -> [EditSpec] {
        do { return try edits.map { try EditSpec.parse($0, allowRamp: true) } } catch { throw ValidationError("\(error)") }
    }

    public func validate() throws {
        _ = try domainPath()
        _ = try editSpecs()
        switch (photo, seed) {
        case (nil, nil): throw ValidationError("give a PHOTO, or --seed N to start from a sampled code")
        case (_?, _?): throw ValidationError("give a PHOTO or --seed N, not both")
        default: break
        }
        if seed == nil && truncation != 1 { throw ValidationError("--truncation applies to a sampled code (--seed); a photo's inverted code is not truncated") }
        if !(truncation > 0 && truncation <= 1) { throw ValidationError("--truncation must be in (0, 1], got \(truncation)") }
        if !(strength >= 0 && strength <= 2) { throw ValidationError("--strength must be between 0 and 2, got \(strength)") }
        if (deprecatedIterations ?? restyleSteps) < 1 { throw ValidationError("--restyle-steps must be at least 1") }
        if frames < 2 || frames > 10_000 { throw ValidationError("--frames must be between 2 and 10000") }
        if fps < 1 || fps > 240 { throw ValidationError("--fps must be between 1 and 240") }
        if crf < 0 || crf > 51 { throw ValidationError("--crf must be between 0 and 51") }
        if let size, size < 16 || size > 4096 { throw ValidationError("--size must be between 16 and 4096") }
        if let size, size % 2 != 0, TransitionVideo.isMP4(output) { throw ValidationError("--size must be even for an MP4 (yuv420p), got \(size)") }
        if maxPixels < 0 { throw ValidationError("--max-pixels must be 0 (no limit) or positive") }
        let lower = output.lowercased()
        for ext in [".mov", ".mkv", ".webm", ".avi", ".gif", ".png", ".jpg", ".jpeg"] where lower.hasSuffix(ext) {
            throw ValidationError("--output must be FILE.mp4 or a folder for PNG frames, got \(output)")
        }
    }

    public func run() throws {
        common.applyThreads()
        compute.apply()
        let store = common.store
        var settings = TransitionVideoSettings()
        settings.frames = frames; settings.fps = fps; settings.crf = crf; settings.boomerang = boomerang
        settings.compare = compare; settings.size = size; settings.iterations = deprecatedIterations ?? restyleSteps
        settings.truncation = truncation; settings.toolVersion = NadaEdit.version
        if deprecatedIterations != nil {
            printError("warning: --iterations is deprecated for ReStyle steps; use --restyle-steps (it will be removed in the next release)")
        }
        let resolver = LatentEditResolver(store: store)
        resolver.log = printError
        // Unknown waypoints and domains of another base fail now, before the landmark model or any generator loads.
        let path = try domainPath()
        let registry = DomainRegistry(store: store)
        _ = try TransitionVideo.resolveDomains(path, registry: registry)
        var encoderPath: String?, aligner: PhotoAligner?
        if photo != nil {
            encoderPath = try EditorOptions.encoderPath(encoder, store: store)
            aligner = try PhotoAligner(mode: align, landmarkModel: PhotoAligner.landmarkModelPath(explicit: landmarks, store: store), warn: printError)
        }
        let video = try TransitionVideo(path: path, registry: registry, edits: try editSpecs(), editResolver: resolver,
                                        encoderPath: encoderPath, aligner: aligner, settings: settings)
        video.decodeOptions = DecodeOptions(maxPixels: maxPixels, minimumSide: aligner?.decodeMinimumSide ?? 0)
        let progress = ProgressLine(total: boomerang ? 2 * frames - 2 : frames)
        let source: TransitionVideoSource = photo.map { TransitionVideoSource.photo($0) } ?? .seed(seed!)
        let count = try video.write(from: source, to: output, overwrite: overwrite) { done, _ in progress.update(done: done, unit: "frame") }
        progress.finish()
        print("wrote \(count) frames (\(path.description)) to \(output)")
    }
}
