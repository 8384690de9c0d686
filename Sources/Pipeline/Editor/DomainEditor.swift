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
    /// Domain name → (generator at the requested strength, its record).
    let generators: [String: (generator: StyleGAN2Generator, domain: InstalledDomain)]
    private let computeLock = NSLock()
    public var decodeOptions = DecodeOptions()

    /// Loads the encoder (its bundled decoder inverts) and every domain's adapted and base generators.
    public init(encoderPath: String, domains: [InstalledDomain], settings: Settings, aligner: PhotoAligner) throws {
        self.aligner = aligner
        guard settings.strength.isFinite else { throw PipelineError.invalidArgument("--strength must be a number") }
        self.settings = settings
        let checkpoint = try EncoderCheckpoint(file: try loadFile(encoderPath))
        inverter = try Inverter(encoder: checkpoint)
        encoderName = (encoderPath as NSString).lastPathComponent
        encoderSHA256 = try FileDigest.sha256Hex(ofFileAt: encoderPath)
        var generators: [String: (StyleGAN2Generator, InstalledDomain)] = [:]
        for domain in domains {
            let adapted = try StyleGAN2Generator.load(path: domain.generatorPath)
            let generator: StyleGAN2Generator
            if settings.strength == 1 {
                generator = adapted
            } else {
                guard domain.baseGeneratorExists else {
                    throw PipelineError.invalidArgument("domain '\(domain.record.name)': --strength needs the base generator \(domain.baseGeneratorPath), which is missing")
                }
                let base = try StyleGAN2Generator.load(path: domain.baseGeneratorPath)
                generator = try base.interpolated(toward: adapted, alpha: settings.strength)
            }
            guard generator.config.nLatent == inverter.decoder.config.nLatent,
                  generator.config.styleDim == inverter.decoder.config.styleDim else {
                throw PipelineError.invalidArgument("domain '\(domain.record.name)': its generator takes \(generator.config.nLatent)×\(generator.config.styleDim) codes but the encoder \(encoderName) predicts \(inverter.decoder.config.nLatent)×\(inverter.decoder.config.styleDim)")
            }
            generators[domain.record.name] = (generator, domain)
        }
        self.generators = generators
    }


    func resizedForOutput(_ t: Tensor) -> Tensor {
        guard let size = settings.size, size != t.shape[2] else { return t }
        return Autograd.noGrad { t.resized(height: size, width: size, mode: .bicubic, antialias: true) }
    }

    public func process(_ job: ProcessingJob) throws {
        let bytes = try FileIO.read(job.inputPath)
        let photo = try decodeImage(bytes, name: job.inputPath, options: decodeOptions)
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
                guard let entry = generators[target.domain] else {
                    throw PipelineError.invalidArgument("domain '\(target.domain)' was not loaded")
                }
                let image = try Autograd.noGrad { try entry.generator.forward(wPlus: result.codes, noise: .stored) }
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
            let domain = generators[target.domain]!.domain
            let provenance = Provenance(
                toolVersion: settings.toolVersion,
                inputFileName: (job.inputPath as NSString).lastPathComponent,
                inputSHA256: job.inputSHA256,
                modelSHA256: ["generator": domain.record.generator.sha256, "base generator": domain.record.baseGenerator.sha256,
                              "encoder": encoderSHA256],
                domain: domain.record.name,
                domainPrompts: ["source": domain.record.sourcePrompt, "target": domain.record.targetPrompt],
                strength: Double(settings.strength),
                encoder: "\(encoderName) (\(inverter.encoder.kind.rawValue))",
                dateTimeOriginal: exif?.dateTimeOriginal,
                extra: alignment.merging(["noise": "stored",
                        "iterations": inverter.encoder.kind.isIterative ? String(settings.iterations) : "1"]) { $1 })
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

    /// `<stem>.<domain>.face<k>.<ext>` for the k-th face (k ≥ 2) with `--faces all`.
    public static func facePath(for editPath: String, face: Int) -> String {
        OutputTarget.companionFinalPath(editPath, OutputTarget.faceTag(face))
    }

    /// `<stem>.<domain>.compare.<ext>` beside the edit.
    public static func comparePath(for editPath: String) -> String {
        OutputTarget.companionFinalPath(editPath, OutputTarget.compareTag)
    }
}
