import DurableIO
import Engine
import Foundation
import Imaging
import Models
import Video

/// How `nada-edit video` renders.
public struct TransitionVideoSettings {
    /// Frames from the first waypoint to the last (both included).
    public var frames = 48
    public var fps = 24
    /// x264's constant rate factor (18: visually lossless).
    public var crf = 18
    /// Play it back again (last waypoint → first) so the video loops without a jump. The way back is rendered
    /// again rather than cached, so memory does not grow with the frame count (it costs the render time twice).
    public var boomerang = false
    /// Put the input (the aligned face, or with a seed the base generator's render of the sampled code) to the
    /// left of every frame, at the same height.
    public var compare = false
    /// Output side in pixels; nil keeps the generator's resolution.
    public var size: Int?
    /// ReStyle refinement steps (pSp/e4e ignore it).
    public var iterations = 5
    /// With a seed: truncation psi toward the base generator's mean latent (as `generate --truncation`).
    public var truncation: Float = 1
    public var toolVersion = "0"
    public init() {}
}

/// What the video starts from: a photo inverted once by the encoder, or a code sampled from Z as `generate
/// --count 1 --seed N` samples it (no encoder needed).
public enum TransitionVideoSource {
    case photo(String)
    case seed(UInt64)
}

/// `nada-edit video`: one code rendered along a path through domains (`DomainPath`) while the `--edit`s ramp.
///
/// Frame k of n is at t = k/(n−1). The generator is `base + Σ wᵢ(t)·(domainᵢ − base)` with the path's weights at
/// t, written into one reusable generator (no generator per frame, no frame cache: memory is flat over
/// thousands of frames). The codes are the inverted (or sampled) code with every edit applied in order: a ramp
/// `A:B` applies amount A + t·(B − A); a plain amount moves the code t of the way to its edited self (0 → AMOUNT,
/// which for shift edits is amount t·AMOUNT). Output: an H.264 yuv420p MP4 for a `.mp4` path, else numbered PNG
/// frames `frame-001.png`… in that folder, each with provenance.
public final class TransitionVideo {
    public let path: DomainPath
    public let settings: TransitionVideoSettings
    let domains: [InstalledDomain]
    /// StyleGAN2, or StyleGAN3 domains from a `--seed` (no encoder inverts a photo into StyleGAN3's W, and the
    /// latent edits are StyleGAN2's).
    let base: any StyleGANGenerator
    let domainGenerators: [any StyleGANGenerator]
    let work: any StyleGANGenerator
    let edits: [ResolvedEdit]
    let encoder: (inverter: Inverter, name: String, sha256: String, aligner: PhotoAligner)?
    public var decodeOptions = DecodeOptions()

    /// Resolves the path's domains (unknown names and domains of another base generator fail here, before any
    /// model is read), loads the base and domain generators once, the encoder when given (a photo needs one, a
    /// seed does not), and resolves the edits (SeFa of the base generator).
    public init(path: DomainPath, registry: DomainRegistry, edits: [EditSpec], editResolver: LatentEditResolver,
                encoderPath: String?, aligner: PhotoAligner?, settings: TransitionVideoSettings) throws {
        guard settings.frames >= 2 else { throw PipelineError.invalidArgument("a video needs at least 2 frames") }
        self.path = path; self.settings = settings
        domains = try Self.resolveDomains(path, registry: registry)
        let base = try ModelResolver.anyGenerator(at: domains[0].baseGeneratorPath)
        self.base = base
        domainGenerators = try domains.map { domain in
            let g = try ModelResolver.anyGenerator(at: domain.generatorPath)
            let same: Bool
            switch (base, g) {
            case let (b as StyleGAN2Generator, d as StyleGAN2Generator): same = b.config == d.config
            case let (b as StyleGAN3Generator, d as StyleGAN3Generator): same = b.hasSameArchitecture(as: d)
            default: same = false
            }
            guard same else {
                throw PipelineError.invalidDomain(name: domain.record.name, problem: "its generator's architecture differs from its base generator \(domain.baseGeneratorPath)")
            }
            return g
        }
        switch base {
        case let b as StyleGAN2Generator: work = b.copy()
        case let b as StyleGAN3Generator:
            work = b.copy()
            if !edits.isEmpty {
                throw PipelineError.invalidArgument("--edit: the domains' base generator \(domains[0].baseGeneratorPath) is a \(b.family) generator; "
                    + "latent edits are made for StyleGAN2's W+ space, so they are not applied to StyleGAN3")
            }
            if encoderPath != nil {
                throw PipelineError.io(path: domains[0].baseGeneratorPath, problem: "the domains' base is a \(b.family) generator, and no encoder here "
                    + "inverts a photo into StyleGAN3's W space; start from a sampled code with --seed N instead of a photo")
            }
        default: throw PipelineError.invalidArgument("\(domains[0].baseGeneratorPath): a \(base.familyName) generator cannot make a video")
        }
        let n = base.numWs, d = base.wDim
        self.edits = edits.isEmpty ? [] : try editResolver.resolve(edits, nLatent: n, styleDim: d, sefaGenerator: domains[0].baseGeneratorPath)
        if let encoderPath {
            guard let aligner else { throw PipelineError.invalidArgument("a photo needs an aligner") }
            // The provenance's digest on its own thread while the encoder loads (as `DomainEditor` does).
            let digest = BackgroundTask { try FileDigest.sha256Hex(ofFileAt: encoderPath) }
            let inverter = try Inverter(encoder: try ModelResolver.encoder(at: encoderPath))
            guard inverter.decoder.config.nLatent == n, inverter.decoder.config.styleDim == d else {
                throw PipelineError.invalidArgument("the encoder \((encoderPath as NSString).lastPathComponent) predicts \(inverter.decoder.config.nLatent)×\(inverter.decoder.config.styleDim) codes but the domains' generators take \(n)×\(d)")
            }
            encoder = (inverter, (encoderPath as NSString).lastPathComponent, try digest.value(), aligner)
        } else {
            encoder = nil
        }
    }

    /// The path's installed domains, checked to share one base generator (reads only their records, so a
    /// caller can check a path before loading anything else).
    public static func resolveDomains(_ path: DomainPath, registry: DomainRegistry) throws -> [InstalledDomain] {
        let domains = try path.domainNames.map { try registry.resolve($0) }
        try DomainBlend.checkSharedBase(domains, action: "interpolate")
        return domains
    }

    /// Whether `output` names an MP4 (else it is a folder of PNG frames).
    public static func isMP4(_ output: String) -> Bool { output.lowercased().hasSuffix(".mp4") }

    /// `frame-1.png`… with as many digits as the frame count has (zero-padded, so they sort).
    public static func frameName(_ index: Int, of count: Int) -> String {
        let width = String(count).count
        let number = String(index + 1)
        return "frame-" + String(repeating: "0", count: max(0, width - number.count)) + number + ".png"
    }

    /// The order frames are written in (with boomerang, back again without repeating either end).
    func frameOrder() -> [Int] {
        let n = settings.frames
        return Array(0..<n) + (settings.boomerang ? Array((1..<(n - 1)).reversed()) : [])
    }

    /// The codes at t: every edit applied in order (see the type's comment).
    func codes(_ w: Tensor, at t: Float) throws -> Tensor {
        var c = w
        for e in edits {
            if let ramp = e.spec.ramp {
                c = try c.applyingLatentEdits([e.edit.withAmount(ramp.amount(at: t))])
            } else if t != 0 {
                let edited = try c.applyingLatentEdits([e.edit])
                c = t == 1 ? edited : Autograd.noGrad { c + t * (edited - c) }
            }
        }
        return c
    }

    /// Frame k: the reusable generator set to the path's weights at t, rendering the codes at t.
    func frame(_ k: Int, codes w: Tensor, meanW: Tensor?) throws -> RGBImage {
        let t = Float(k) / Float(settings.frames - 1)
        let weights = path.weights(at: t)
        switch (work, base) {
        case let (work as StyleGAN2Generator, base as StyleGAN2Generator):
            try work.setBlend(base: base, zip(domainGenerators, weights).map { (generator: $0.0 as! StyleGAN2Generator, weight: $0.1) })
        case let (work as StyleGAN3Generator, base as StyleGAN3Generator):
            try work.setBlend(base: base, zip(domainGenerators, weights).map { (generator: $0.0 as! StyleGAN3Generator, weight: $0.1) })
        default: preconditionFailure("init pairs the work generator with its base")
        }
        let c = try codes(w, at: t)
        return try ImageTensors.image(from: resized(try render(work, c, meanW: meanW)))
    }

    /// W+ codes through `g`, truncated towards `meanW` when `--truncation` is below 1 (as `generate` does).
    func render(_ g: any StyleGANGenerator, _ codes: Tensor, meanW: Tensor?) throws -> Tensor {
        try Autograd.noGrad { () -> Tensor in
            var c = codes
            if settings.truncation < 1 {
                guard let meanW else { throw ShapeError("truncation \(settings.truncation) needs a truncation latent") }
                c = g.truncate(c, psi: settings.truncation, towards: meanW)
            }
            return try g.synthesize(c, noise: .stored)
        }
    }

    func resized(_ t: Tensor) -> Tensor {
        guard let size = settings.size, size != t.shape[2] else { return t }
        return Autograd.noGrad { t.resized(height: size, width: size, mode: .bicubic, antialias: true) }
    }

    /// Renders the video from `source` to `output` (`.mp4`, else a folder of PNG frames). Nothing is replaced
    /// without `overwrite`: an existing MP4 or any frame this run would write fails before work. The MP4 is
    /// written to a temporary name and renamed; each PNG is written atomically. Returns the frames written.
    @discardableResult
    public func write(from source: TransitionVideoSource, to output: String, overwrite: Bool,
                      progress: (Int, Int) -> Void = { _, _ in }) throws -> Int {
        let order = frameOrder()
        let mp4 = Self.isMP4(output)
        let framePaths = mp4 ? [] : (0..<order.count).map { (output as NSString).appendingPathComponent(Self.frameName($0, of: order.count)) }
        if !overwrite {
            if mp4, FileOps.exists(output) { throw PipelineError.io(path: output, problem: "exists; use --overwrite to replace it") }
            if let taken = framePaths.first(where: { FileOps.exists($0) }) {
                throw PipelineError.io(path: taken, problem: "exists (frames of an earlier video?); use --overwrite to replace the frames, or write to another folder")
            }
        }
        if !mp4, FileOps.exists(followingLinks: output), !FileOps.isDirectory(output) {
            throw PipelineError.io(path: output, problem: "is a file, not a folder; name an .mp4 file or a folder for PNG frames")
        }

        // The start code, once: inverted from the largest face, or sampled and mapped (the edits and truncation
        // then apply as `generate` applies them: edits first, truncation in the forward pass).
        var input: (name: String?, sha256: String?, panel: RGBImage?, fields: [String: String])
        let w: Tensor
        var meanW: Tensor?
        switch source {
        case .photo(let photo):
            guard let encoder else { throw PipelineError.invalidArgument("a photo needs an encoder to invert it") }
            let bytes = try FileIO.read(photo)
            let (face, alignment) = try encoder.aligner.alignFaces(try decodeImage(bytes, name: photo, options: decodeOptions))[0]
            let encoderInput = try ImageTensors.encoderInput(face)
            w = try encoder.inverter.invert(encoderInput, iterations: settings.iterations).codes
            var fields = alignment
            fields["iterations"] = encoder.inverter.encoder.kind.isIterative ? String(settings.iterations) : "1"
            input = ((photo as NSString).lastPathComponent, SHA256.hexDigest(bytes), nil, fields)
            if settings.compare {
                let side = settings.size ?? base.resolution
                input.panel = try ImageTensors.image(from: Autograd.noGrad { encoderInput.resized(height: side, width: side, mode: .bicubic, antialias: true) })
            }
        case .seed(let seed):
            var rng = SeededRandom(seed: seed)
            let z = Tensor.randn([1, base.zDim], using: &rng)
            let n = base.numWs, d = base.wDim
            w = try Autograd.noGrad { try base.mapping(z) }.reshaped([1, 1, d]).expanded(to: [1, n, d]).copy()
            if settings.truncation < 1 { meanW = base.latentAverage ?? base.meanLatent(count: 4096, seed: seed) }
            input = (nil, nil, nil, ["seed": String(seed), "truncation": String(settings.truncation)])
            if settings.compare {
                // No photo to show: the sampled face by the base generator, unedited (what `generate` renders).
                input.panel = try ImageTensors.image(from: resized(try render(base, w, meanW: meanW)))
            }
        }
        func composed(_ k: Int) throws -> RGBImage {
            let image = try frame(k, codes: w, meanW: meanW)
            guard let panel = input.panel else { return image }
            return try ImageTensors.sheet([panel, image])
        }

        let provenance = makeProvenance(input: input, frames: order.count)
        let first = try composed(0)
        if mp4 {
            guard first.width % 2 == 0, first.height % 2 == 0 else {
                throw PipelineError.invalidArgument("video frames must have an even size for yuv420p, got \(first.width)×\(first.height) (see --size)")
            }
        }
        let folder = mp4 ? (output as NSString).deletingLastPathComponent : output
        try FileOps.createDirectory(folder.isEmpty ? "." : folder)

        if !mp4 {
            for (index, k) in order.enumerated() {
                var own = provenance
                own.extra["frame"] = "\(index + 1) of \(order.count), t = \(Float(k) / Float(settings.frames - 1))"
                let image = index == 0 ? first : try composed(k)
                try FileIO.writeAtomically(try encodeImage(image, format: .png, provenance: own), to: framePaths[index], overwrite: overwrite)
                progress(index + 1, order.count)
            }
            return order.count
        }

        let temporary = FileOps.temporaryPath(for: output)
        do {
            // Provenance as the stills carry it: a one-line summary as `comment`, every field as `description`.
            var fields = provenance.extra
            if let name = provenance.inputFileName { fields["input"] = name }
            if let sha = provenance.inputSHA256 { fields["input sha256"] = sha }
            for (model, sha) in provenance.modelSHA256 { fields["\(model) sha256"] = sha }
            for (key, prompt) in provenance.domainPrompts { fields["prompt \(key)"] = prompt }
            let description = fields.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
            let writer = try VideoWriter(path: temporary, width: first.width, height: first.height, fps: settings.fps, crf: settings.crf,
                                         comment: provenance.summary, description: "\(provenance.software); " + description)
            for (index, k) in order.enumerated() {
                try writer.append(index == 0 ? first : try composed(k))
                progress(index + 1, order.count)
            }
            try writer.finish()
            try FileOps.commit(temporary: temporary, to: output, replacing: overwrite)
        } catch {
            unlink(temporary)
            throw error
        }
        return order.count
    }

    /// Models and their SHA-256, the path, every edit (with its ramp), the input or seed, the frame count.
    func makeProvenance(input: (name: String?, sha256: String?, panel: RGBImage?, fields: [String: String]), frames: Int) -> Provenance {
        var models = ["base generator": domains[0].record.baseGenerator.sha256]
        var prompts: [String: String] = [:]
        for domain in domains {
            models["generator \(domain.record.name)"] = domain.record.generator.sha256
            prompts["source \(domain.record.name)"] = domain.record.sourcePrompt
            prompts["target \(domain.record.name)"] = domain.record.targetPrompt
        }
        if let encoder, input.sha256 != nil { models["encoder"] = encoder.sha256 }
        var extra = input.fields
        extra["noise"] = "stored"
        extra["path"] = path.waypoints.map { point in
            point.weights.isEmpty ? "\(DomainPath.baseName) (base generator)"
                : point.weights.map { "\($0.name)=\($0.weight)" }.joined(separator: ",")
        }.joined(separator: " -> ")
        for (i, edit) in edits.enumerated() {
            let how = edit.spec.ramp.map { "ramped \($0.from) to \($0.to) across the video" } ?? "ramped from 0 across the video"
            extra["edit.\(i + 1)"] = "\(edit.record) (\(how))"
        }
        extra["frames"] = "\(frames) at \(settings.fps) fps\(settings.boomerang ? " (boomerang)" : "")"
        return Provenance(toolVersion: settings.toolVersion, inputFileName: input.name, inputSHA256: input.sha256, modelSHA256: models,
                          domain: path.description, domainPrompts: prompts,
                          encoder: input.sha256 == nil ? nil : encoder.map { "\($0.name) (\($0.inverter.encoder.kind.rawValue))" },
                          extra: extra)
    }
}

extension LatentEdit {
    /// The same edit with another amount (a ramp's amount at one frame).
    func withAmount(_ amount: Float) -> LatentEdit {
        switch self {
        case .shift(let direction, _, let rows): return .shift(direction, amount: amount, rows: rows)
        case .ganspace(let pca, let k, _, let rows): return .ganspace(pca, component: k, amount: amount, rows: rows)
        }
    }
}
