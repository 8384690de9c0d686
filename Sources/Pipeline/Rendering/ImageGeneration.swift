import DurableIO
import Engine
import Formats
import Foundation
import Imaging
import Models

/// Which latent space codes are in.
public enum LatentSpace: String, CaseIterable, Sendable { case wplus, w, z }

/// Noise maps for rendering: the checkpoint's stored buffers, or random maps drawn per image from the seed.
public enum NoiseChoice: String, CaseIterable, Sendable { case stored, random }

/// `nada-edit generate`: images (or raw arrays) from a generator and latent codes — given (.npy) or sampled Z —
/// optionally edited (`--edit`) and truncated. The generator is StyleGAN2 or StyleGAN3 (NVlabs pickle or a trained
/// StyleGAN3 domain): both map z, truncate towards the mean w (`center + ψ·(w − center)`, NVlabs' `w_avg.lerp`)
/// and render W or W+ codes; latent edits and noise maps are StyleGAN2's.
public struct ImageGeneration {
    public var generatorPath: String
    /// Codes from a file, or `count` sampled Z codes.
    public var latentsPath: String?
    public var count: Int?
    /// nil: from the array's rank (3 → wplus, 2 → w; z must be asked for).
    public var space: LatentSpace?
    public var truncation: Float = 1
    public var truncationLatentPath: String?
    public var noise: NoiseChoice = .stored
    public var seed: UInt64 = 0
    public var edits: [EditSpec] = []
    /// `FILE.npy` (raw float32 NCHW), `FILE.png` / `FILE.jpg` (numbered when several), or a folder.
    public var output: String
    public var overwrite = false
    public var log: (String) -> Void = { _ in }

    /// Images rendered per forward pass (no recording, so memory stays small even at 1024).
    static let chunk = 4

    public init(generatorPath: String, output: String) {
        self.generatorPath = generatorPath; self.output = output
    }

    /// Renders and writes; returns the paths written.
    public func run(store: ModelStore?) throws -> [String] {
        guard FileManager.default.fileExists(atPath: generatorPath) else {
            throw PipelineError.io(path: generatorPath, problem: "generator file not found")
        }
        let g = try ModelResolver.anyGenerator(at: generatorPath)
        let d = g.wDim, n = g.numWs
        var (codes, codeSpace) = try loadCodes(g)
        if !(g is StyleGAN2Generator) {
            if !edits.isEmpty {
                throw PipelineError.invalidArgument("--edit: \(generatorPath) is a \(g.familyName) generator; latent edits (InterFaceGAN, SeFa, "
                    + "GANSpace directions) are made for StyleGAN2's W+ space, so they are not applied to StyleGAN3")
            }
            if noise == .random { log("\(g.familyName) has no noise inputs: --noise random changes nothing") }
        }

        // Latent edits: resolved before any rendering, applied to W+ codes (before truncation, as rosinality's
        // apply_factor.py moves codes before truncating them).
        if !edits.isEmpty {
            let resolver = LatentEditResolver(store: store)
            resolver.log = log
            let resolved = try resolver.resolve(edits, nLatent: n, styleDim: d, sefaGenerator: generatorPath)
            var w = codes
            if codeSpace == .z { w = try Autograd.noGrad { try g.mapping(codes) } }
            if w.rank == 2 { w = w.reshaped([w.shape[0], 1, d]).expanded(to: [w.shape[0], n, d]) }
            codes = try w.applyingLatentEdits(resolved.map(\.edit))
            codeSpace = .wplus
            for edit in resolved { log("edit \(edit.spec.text): \(edit.record)") }
        }

        let meanW = try truncationLatent(g)
        let total = codes.shape[0]
        var images: [Tensor] = []
        for start in stride(from: 0, to: total, by: Self.chunk) {
            let range = start..<min(total, start + Self.chunk)
            let part = codes.slice(axis: 0, range)
            let noiseMode = try noiseMaps(range, g)
            images.append(try Autograd.noGrad { () -> Tensor in
                var w = part
                if codeSpace == .z { w = try g.mapping(part) }
                if let meanW { w = g.truncate(w, psi: truncation, towards: meanW) }
                return try g.synthesize(w, noise: noiseMode)
            })
        }
        return try write(Tensor.concat(images, axis: 0))
    }

    /// The codes and their space, checked against the generator.
    func loadCodes(_ g: any StyleGANGenerator) throws -> (Tensor, LatentSpace) {
        let n = g.numWs
        guard let latentsPath else {
            var rng = SeededRandom(seed: seed)
            return (Tensor.randn([count ?? 1, g.zDim], using: &rng), .z)
        }
        let codes = try floatTensor(latentsPath)
        let codeSpace: LatentSpace
        switch (space, codes.rank) {
        case (nil, 3), (.wplus?, _): codeSpace = .wplus
        case (nil, 2): codeSpace = .w
        case (let s?, _): codeSpace = s
        default:
            throw PipelineError.io(path: latentsPath, problem: "latent array has shape \(codes.shape); expected W+ [N, \(n), \(g.wDim)] or W/Z [N, \(g.wDim)] for this generator")
        }
        let d = codeSpace == .z ? g.zDim : g.wDim
        let expected = codeSpace == .wplus ? "[N, \(n), \(d)]" : "[N, \(d)]"
        let ok = codeSpace == .wplus ? (codes.rank == 3 && codes.shape[1] == n && codes.shape[2] == d)
                                     : (codes.rank == 2 && codes.shape[1] == d)
        guard ok, codes.shape[0] > 0 else {
            throw PipelineError.io(path: latentsPath, problem: "latent array has shape \(codes.shape), but \(codeSpace.rawValue) codes for this generator "
                + "(\(generatorPath): size \(g.resolution), n_latent \(n), style_dim \(g.wDim)\(g.zDim == g.wDim ? "" : ", z_dim \(g.zDim)")) must be \(expected)")
        }
        return (codes, codeSpace)
    }

    /// `--truncation-latent`, else the checkpoint's latent_avg, else the mean of 4096 mapped z drawn with the seed.
    func truncationLatent(_ g: any StyleGANGenerator) throws -> Tensor? {
        guard truncation < 1 else { return nil }
        guard let truncationLatentPath else { return g.latentAverage ?? g.meanLatent(count: 4096, seed: seed) }
        let d = g.wDim
        let t = try floatTensor(truncationLatentPath)
        guard t.count == d, t.rank <= 2 else {
            throw PipelineError.io(path: truncationLatentPath, problem: "truncation latent has shape \(t.shape), expected [\(d)] or [1, \(d)]")
        }
        return t.reshaped([1, d])
    }

    /// Stored buffers, or per-image random maps (image i uses seed + i, so chunking does not matter).
    func noiseMaps(_ range: Range<Int>, _ generator: any StyleGANGenerator) throws -> StyleGAN2Noise {
        guard let g = generator as? StyleGAN2Generator else { return .stored } // StyleGAN3: no noise inputs
        switch noise {
        case .stored: return .stored
        case .random:
            let perImage = try range.map { try g.noiseMaps(.random(seed: seed &+ 0x5EED_0000 &+ UInt64($0)), batch: 1) }
            return .explicit((0..<g.config.numLayers).map { layer in Tensor.concat(perImage.map { $0[layer] }, axis: 0) })
        }
    }

    func floatTensor(_ path: String) throws -> Tensor {
        guard FileManager.default.fileExists(atPath: path) else { throw PipelineError.io(path: path, problem: "latent file not found") }
        let a = try readNpy(path)
        guard a.dtype.isFloatingPoint else { throw PipelineError.io(path: path, problem: "latent arrays must be floating point, got \(a.dtype.rawValue)") }
        let t = Tensor.zeros(a.shape)
        a.copyFloats(into: t.pointer)
        return t
    }

    /// Writes `.npy` or 8-bit images (torchvision's save_image rounding, `ImageTensors.image`); never replaces a file
    /// without `overwrite`.
    func write(_ images: Tensor) throws -> [String] {
        let lower = output.lowercased()
        let parent = URL(fileURLWithPath: output).deletingLastPathComponent().path
        if !parent.isEmpty { try FileOps.createDirectory(parent) }
        if lower.hasSuffix(".npy") {
            do {
                try writeNpy(ArrayData(shape: images.shape, floats: images.array), to: output, replacing: overwrite)
            } catch let error as FileSystemError where error.code == EEXIST {
                throw PipelineError.io(path: output, problem: "exists (use --overwrite to replace it)")
            }
            log("wrote \(images.shape[0]) image(s) as \(images.shape) float32 to \(output)")
            return [output]
        }
        let count = images.shape[0]
        var paths: [String] = []
        if lower.hasSuffix(".png") || lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") {
            if count == 1 {
                paths = [output]
            } else {
                let url = URL(fileURLWithPath: output)
                let stem = url.deletingPathExtension().path, ext = url.pathExtension
                paths = (0..<count).map { stem + "_" + String(format: "%04d", $0) + "." + ext }
            }
        } else {
            try FileOps.createDirectory(output)
            paths = (0..<count).map { (output as NSString).appendingPathComponent(String(format: "%06d.png", $0)) }
        }
        for (i, path) in paths.enumerated() {
            try writeImage(try ImageTensors.image(from: images, batchIndex: i), to: path, overwrite: overwrite)
        }
        log("wrote \(count) image(s): \(paths.count == 1 ? paths[0] : "\(paths[0]) ... \(paths[count - 1])")")
        return paths
    }
}
