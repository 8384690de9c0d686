import ArgumentParser
import Foundation
import Imaging
import Pipeline

extension AlignmentMode: ExpressibleByArgument {}
extension FaceSelection: ExpressibleByArgument {}

/// How photos are edited; shared by the batch editor and `watch`.
public struct EditorOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Encoder: a model-store name or a checkpoint file (default: the only encoder in the store).", valueName: "NAME"))
    public var encoder: String?

    @Option(name: .long, help: ArgumentHelp("Domain strength: 0 = reconstruction by the base generator, 1 = the full domain (weights interpolated).", valueName: "A"))
    public var strength: Float = 1

    @Option(name: .customLong("restyle-steps"), help: ArgumentHelp("ReStyle refinement steps (pSp/e4e ignore it).", valueName: "N"))
    public var restyleSteps: Int = 5

    /// The old name of --restyle-steps, accepted for one release with a warning ("iterations" means training
    /// iterations in `train`).
    @Option(name: .customLong("iterations"), help: .hidden)
    public var deprecatedIterations: Int?

    /// --restyle-steps, or the deprecated --iterations when given.
    public var steps: Int { deprecatedIterations ?? restyleSteps }

    @Option(name: .long, help: ArgumentHelp("How photos are aligned before inversion: ffhq (face landmarks), center (centre square) or none (already aligned). Default: ffhq when a landmark model is found, else center.", valueName: "MODE"))
    public var align: AlignmentMode?

    @Option(name: .long, help: ArgumentHelp("With --align ffhq: edit the largest face, or all faces (face k of a photo is written as <stem>.<domain>.face<k>.<ext>).", valueName: "WHICH"))
    public var faces: FaceSelection = .largest

    @Option(name: .long, help: ArgumentHelp("dlib's shape_predictor_68_face_landmarks.dat (default: $NADA_LANDMARK_MODEL, else landmarks/ in the store, else /usr/share/dlib/ from Debian's libdlib-data).", valueName: "FILE"))
    public var landmarks: String?

    @Option(name: .customLong("max-pixels"), help: ArgumentHelp("Refuse photos whose header claims more than N pixels (decompression bombs); 0 = no limit.", valueName: "N"))
    public var maxPixels: Int = DecodeOptions.defaultMaxPixels

    @Option(name: .long, help: ArgumentHelp("Output side in pixels (default: the generator's resolution).", valueName: "N"))
    public var size: Int?

    @Flag(name: .long, help: "Also write <stem>.<domain>.compare.<ext>: input | reconstruction | edit.")
    public var compare = false

    @Option(name: .long, help: ArgumentHelp("JPEG quality of the outputs (1-100).", valueName: "Q"))
    public var quality: Int = 95

    @Option(name: .customLong("edit"), help: ArgumentHelp(
        "A latent edit DIRECTION=AMOUNT[@START:END] applied to the inverted codes before rendering (repeat for several; applied in order). DIRECTION: a direction in the model store, a .pt/.npy file, sefa:K or ganspace:NAME|K; @START:END picks W+ rows (Python slice).",
        valueName: "SPEC"))
    public var edits: [String] = []

    public init() {}

    /// The `--edit` values, parsed (syntax only; files and store names are resolved by `makeEditor`).
    func editSpecs() throws -> [EditSpec] {
        do { return try edits.map(EditSpec.parse) } catch { throw ValidationError("\(error)") }
    }

    /// What the `--domain` values ask for: separate domains, or one blend (`NAME=W` values).
    static func domainSelection(_ domains: [String]) throws -> DomainSelection {
        do { return try DomainSelection.parse(domains) } catch { throw ValidationError("\(error)") }
    }

    public func validate() throws {
        _ = try editSpecs()
        if !(strength >= 0 && strength <= 2) { throw ValidationError("--strength must be between 0 and 2, got \(strength)") }
        if steps < 1 { throw ValidationError("--restyle-steps must be at least 1") }
        if deprecatedIterations != nil {
            printError("warning: --iterations is deprecated for ReStyle steps; use --restyle-steps (it will be removed in the next release)")
        }
        if let size, size < 16 || size > 4096 { throw ValidationError("--size must be between 16 and 4096") }
        if quality < 1 || quality > 100 { throw ValidationError("--quality must be between 1 and 100") }
        if maxPixels < 0 { throw ValidationError("--max-pixels must be 0 (no limit) or positive") }
    }

    /// The encoder file: `--encoder` as a path or store name, else the store's single encoder.
    func encoderPath(store: ModelStore) throws -> String { try Self.encoderPath(encoder, store: store) }

    /// `--encoder` (a path or store name), else the store's single encoder; shared with `video`.
    static func encoderPath(_ encoder: String?, store: ModelStore) throws -> String {
        if let encoder {
            if FileManager.default.fileExists(atPath: encoder) { return encoder }
            if let path = try store.resolve(name: encoder) { return path }
            throw ValidationError("--encoder \(encoder): no such file and no model of that name in \(store.root) (see `nada-edit models list`)")
        }
        let encoders = try store.list().entries.filter { $0.kind == .encoders }
        guard encoders.count == 1 else {
            throw ValidationError(encoders.isEmpty
                ? "no encoder in the model store \(store.root): add one with `nada-edit models add e4e_ffhq_encode.pt --kind encoder` or pass --encoder FILE"
                : "several encoders in the store (\(encoders.map(\.name).joined(separator: ", "))): choose one with --encoder NAME")
        }
        return store.path(encoders[0].file)
    }

    /// Resolves the domains and loads every model once.
    func makeEditor(store: ModelStore, domains: [String]) throws -> DomainEditor {
        let registry = DomainRegistry(store: store)
        let selection = try Self.domainSelection(domains)
        var installed: [InstalledDomain] = []
        var blend: (name: String, members: [(domain: InstalledDomain, weight: Float)])?
        switch selection {
        case .separate(let names): installed = try names.map { try registry.resolve($0) }
        case .blend(let b): blend = (b.outputName, try b.resolve(in: registry))
        }
        let resolver = LatentEditResolver(store: store)
        resolver.log = printError
        var settings = DomainEditor.Settings()
        settings.strength = strength
        settings.iterations = steps
        settings.size = size
        settings.compare = compare
        settings.jpegQuality = quality
        settings.toolVersion = NadaEdit.version
        let landmarkModel = PhotoAligner.landmarkModelPath(explicit: landmarks, store: store)
        let (align, faces) = (align, faces)
        let aligner = BackgroundTask {
            let aligner = try PhotoAligner(mode: align, landmarkModel: landmarkModel, warn: printError)
            aligner.faces = faces
            return aligner
        }
        let editor = try DomainEditor(encoderPath: try encoderPath(store: store), domains: installed, blend: blend, edits: try editSpecs(),
                                      editResolver: resolver, settings: settings, aligner: aligner)
        editor.decodeOptions = DecodeOptions(maxPixels: maxPixels, minimumSide: try aligner.value().decodeMinimumSide)
        return editor
    }
}
