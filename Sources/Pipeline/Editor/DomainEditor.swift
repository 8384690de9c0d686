import Engine
import Foundation
import Formats
import Imaging
import Models

/// The real editor: invert each photo once with the encoder, then render it with every requested domain's
/// generator (weights interpolated from the base generator by `strength`), and write each output with
/// provenance. Model arithmetic runs one photo at a time (OpenBLAS already uses every core); decoding and
/// encoding of other photos may overlap with it when the runner uses several jobs.
public final class DomainEditor: PhotoProcessor {
    public struct Settings {
        public var strength: Float = 1
        /// ReStyle refinement steps (ignored by pSp/e4e).
        public var iterations: Int = 5
        /// Output side in pixels; nil keeps the generator's resolution.
        public var size: Int?
        /// Also write `<stem>.<domain>.compare.<ext>`: input | reconstruction | edit.
        public var compare: Bool = false
        public var jpegQuality: Int = OutputFormat.defaultJPEGQuality
        public var toolVersion: String = "0"
        public init() {}
    }

    public let settings: Settings
    let inverter: Inverter
    let aligner: PhotoAligner
    let encoderName: String
    let encoderSHA256: String
    /// Output name (a domain, or a blend's `sketch60_pixar40`) → what renders it.
    let targets: [String: RenderTarget]
    private let computeLock = NSLock()
    public var decodeOptions = DecodeOptions()

    /// A generator ready to render one output name, with the latent edits for its codes.
    struct RenderTarget {
        let generator: StyleGAN2Generator
        /// The domain (weight = `--strength`), or every domain of a blend with its weight.
        let members: [(domain: InstalledDomain, weight: Float)]
        let isBlend: Bool
        /// Applied in order to the inverted codes before rendering; SeFa uses this target's base generator.
        let edits: [ResolvedEdit]
    }

    /// Loads the encoder (its bundled decoder inverts) and every domain's adapted and base generators.
    /// `blend` (name and domains sharing one base generator) renders one more output from their weighted
    /// blend; `edits` are resolved now, per base generator, so a bad direction fails before any photo.
    public convenience init(encoderPath: String, domains: [InstalledDomain],
                            blend: (name: String, members: [(domain: InstalledDomain, weight: Float)])? = nil,
                            edits: [EditSpec] = [], editResolver: LatentEditResolver = LatentEditResolver(store: nil),
                            settings: Settings, aligner: PhotoAligner) throws {
        try self.init(encoderPath: encoderPath, domains: domains, blend: blend, edits: edits, editResolver: editResolver,
                      settings: settings, aligner: .finished(aligner))
    }

    /// As above, with the aligner still loading (dlib's models load on their own thread meanwhile); its
    /// error, if any, is thrown once the models have loaded. The encoder's digest is computed alongside too.
    public init(encoderPath: String, domains: [InstalledDomain], blend: (name: String, members: [(domain: InstalledDomain, weight: Float)])? = nil,
                edits: [EditSpec] = [], editResolver: LatentEditResolver = LatentEditResolver(store: nil),
                settings: Settings, aligner pendingAligner: BackgroundTask<PhotoAligner>) throws {
        guard settings.strength.isFinite else { throw PipelineError.invalidArgument("--strength must be a number") }
        self.settings = settings
        // StyleGAN3 domains are refused by name before any model is loaded (no encoder inverts into their W).
        for domain in domains + (blend?.members.map({ $0.domain }) ?? []) {
            try ModelResolver.requireStyleGAN2ForPhotos(at: domain.generatorPath, what: "domain '\(domain.record.name)'")
        }
        // The provenance's digest of the encoder reads the file a second time: on a core of its own, while
        // this thread parses the same (by then cached) file.
        let encoderDigest = BackgroundTask { try FileDigest.sha256Hex(ofFileAt: encoderPath) }
        let checkpoint = try ModelResolver.encoder(at: encoderPath)
        inverter = try Inverter(encoder: checkpoint)
        encoderName = (encoderPath as NSString).lastPathComponent
        let nLatent = inverter.decoder.config.nLatent, styleDim = inverter.decoder.config.styleDim
        func checked(_ generator: StyleGAN2Generator, _ name: String) throws -> StyleGAN2Generator {
            guard generator.config.nLatent == nLatent, generator.config.styleDim == styleDim else {
                throw PipelineError.invalidArgument("domain '\(name)': its generator takes \(generator.config.nLatent)×\(generator.config.styleDim) codes but the encoder \(encoderPath as NSString).lastPathComponent) predicts \(nLatent)×\(styleDim)")
            }
            return generator
        }
        func resolvedEdits(base: String) throws -> [ResolvedEdit] {
            edits.isEmpty ? [] : try editResolver.resolve(edits, nLatent: nLatent, styleDim: styleDim, sefaGenerator: base)
        }
        var targets: [String: RenderTarget] = [:]
        for domain in domains {
            let adapted = try ModelResolver.generator(at: domain.generatorPath)
            let generator: StyleGAN2Generator
            if settings.strength == 1 {
                generator = adapted
            } else {
                guard domain.baseGeneratorExists else {
                    throw PipelineError.invalidArgument("domain '\(domain.record.name)': --strength needs the base generator \(domain.baseGeneratorPath), which is missing")
                }
                let base = try ModelResolver.generator(at: domain.baseGeneratorPath)
                generator = try base.interpolated(toward: adapted, alpha: settings.strength)
            }
            targets[domain.record.name] = RenderTarget(generator: try checked(generator, domain.record.name),
                                                       members: [(domain, settings.strength)], isBlend: false,
                                                       edits: try resolvedEdits(base: domain.baseGeneratorPath))
        }
        if let blend, let first = blend.members.first {
            guard settings.strength == 1 else {
                throw PipelineError.invalidArgument("--strength does not apply to a blend: its weights (\(blend.name)) already say how much of each domain to use")
            }
            let base = try ModelResolver.generator(at: first.domain.baseGeneratorPath)
            let generator = try base.blended(try blend.members.map { (try ModelResolver.generator(at: $0.domain.generatorPath), $0.weight) })
            targets[blend.name] = RenderTarget(generator: try checked(generator, blend.name), members: blend.members, isBlend: true,
                                               edits: try resolvedEdits(base: first.domain.baseGeneratorPath))
        }
        self.targets = targets
        encoderSHA256 = try encoderDigest.value()
        aligner = try pendingAligner.value()
    }


    func resizedForOutput(_ t: Tensor) -> Tensor {
        guard let size = settings.size, size != t.shape[2] else { return t }
        return Autograd.noGrad { t.resized(height: size, width: size, mode: .bicubic, antialias: true) }
    }

    public func process(_ job: ProcessingJob) throws {
        let bytes = try FileIO.read(job.inputPath)
        let photo = try decodeImage(bytes, name: job.displayPath, options: decodeOptions)
        let exif = EXIFInfo.read(from: bytes, format: job.inputFormat == .png ? .png : .jpeg)
        // With `--faces all` the first (largest) face gets the regular names, face k the `.faceK` ones.
        for (index, face) in try aligner.alignFaces(photo).enumerated() {
            try render(face.image, alignment: face.record, faceIndex: index, job: job, exif: exif)
        }
    }

    func render(_ aligned: RGBImage, alignment: [String: String], faceIndex: Int, job: ProcessingJob, exif: EXIFInfo?) throws {
        let input = try ImageTensors.encoderInput(aligned)

        // One photo's arithmetic at a time (memory, cores; see the type's comment), which also guards the
        // inverter's cached average image. `Autograd.noGrad` is per thread: the lock is not needed for it.
        var rendered: [(OutputTarget, RGBImage, RGBImage?)] = []
        try computeLock.withLock {
            let result = try inverter.invert(input, iterations: settings.iterations, reconstruct: settings.compare)
            for target in job.outputs {
                guard let entry = targets[target.domain] else {
                    throw PipelineError.invalidArgument("domain '\(target.domain)' was not loaded")
                }
                let codes = entry.edits.isEmpty ? result.codes : try result.codes.applyingLatentEdits(entry.edits.map(\.edit))
                let image = try Autograd.noGrad { try entry.generator.forward(wPlus: codes, noise: .stored) }
                let edit = try ImageTensors.image(from: resizedForOutput(image))
                var sheet: RGBImage?
                if settings.compare, let recon = result.reconstructions.last {
                    let side = edit.width
                    let inputImage = try ImageTensors.image(from: Autograd.noGrad { input.resized(height: side, width: side, mode: .bicubic, antialias: true) })
                    let reconImage = try ImageTensors.image(from: Autograd.noGrad { recon.resized(height: side, width: side, mode: .bicubic, antialias: true) })
                    sheet = try ImageTensors.sheet([inputImage, reconImage, edit])
                }
                rendered.append((target, edit, sheet))
            }
        }

        for (target, edit, sheet) in rendered {
            let entry = targets[target.domain]!
            let provenance = makeProvenance(entry, name: target.domain, job: job, exif: exif, alignment: alignment)
            let format: OutputFormat = target.format == .png ? .png : .jpeg(quality: settings.jpegQuality)
            // Temporary names only (ours to replace); the runner commits them under its never-replace rule.
            let editPath = faceIndex == 0 ? target.writePath : target.companionWritePath(OutputTarget.faceTag(faceIndex + 1))
            try FileIO.writeAtomically(try encodeImage(edit, format: format, provenance: provenance), to: editPath, overwrite: true)
            if let sheet, faceIndex == 0 {
                let comparePath = target.companionWritePath(OutputTarget.compareTag)
                try FileIO.writeAtomically(try encodeImage(sheet, format: format, provenance: provenance), to: comparePath, overwrite: true)
            }
        }
    }

    /// What the output records: models and their SHA-256, the domain or blend, every applied edit.
    func makeProvenance(_ entry: RenderTarget, name: String, job: ProcessingJob, exif: EXIFInfo?, alignment: [String: String]) -> Provenance {
        let first = entry.members[0].domain.record
        var models = ["base generator": first.baseGenerator.sha256, "encoder": encoderSHA256]
        var prompts = ["source": first.sourcePrompt, "target": first.targetPrompt]
        var extra = alignment.merging(["noise": "stored",
                                       "iterations": inverter.encoder.kind.isIterative ? String(settings.iterations) : "1"]) { $1 }
        if entry.isBlend {
            prompts = [:]
            for (domain, _) in entry.members {
                models["generator \(domain.record.name)"] = domain.record.generator.sha256
                prompts["source \(domain.record.name)"] = domain.record.sourcePrompt
                prompts["target \(domain.record.name)"] = domain.record.targetPrompt
            }
            extra["blend"] = entry.members.map { "\($0.domain.record.name)=\($0.weight) (generator sha256 \($0.domain.record.generator.sha256))" }
                .joined(separator: " + ") + " over base generator sha256 \(first.baseGenerator.sha256)"
        } else {
            models["generator"] = first.generator.sha256
        }
        for (i, edit) in entry.edits.enumerated() { extra["edit.\(i + 1)"] = edit.record }
        return Provenance(
            toolVersion: settings.toolVersion,
            inputFileName: (job.displayPath as NSString).lastPathComponent,
            inputSHA256: job.inputSHA256,
            modelSHA256: models,
            domain: entry.isBlend ? name : first.name,
            domainPrompts: prompts,
            strength: entry.isBlend ? nil : Double(settings.strength),
            encoder: "\(encoderName) (\(inverter.encoder.kind.rawValue))",
            dateTimeOriginal: exif?.dateTimeOriginal,
            extra: extra)
    }

    /// `<stem>.<domain>.face<k>.<ext>` for the k-th face (k ≥ 2) with `--faces all`.
    public static func facePath(for editPath: String, face: Int) -> String {
        OutputTarget.companionFinalPath(editPath, OutputTarget.faceTag(face))
    }

    /// `<stem>.<domain>.compare.<ext>` beside the edit.
    public static func comparePath(for editPath: String) -> String {
        OutputTarget.companionFinalPath(editPath, OutputTarget.compareTag)
    }
}
