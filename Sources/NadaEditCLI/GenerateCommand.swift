import ArgumentParser
import Foundation
import Engine
import Formats
import Imaging
import Models
import Pipeline

/// `nada-edit generate`: renders images (or raw arrays) from a StyleGAN2 generator and latent codes.
///
/// nada-edit generate --generator FILE --latents FILE.npy [--space wplus|w|z] [--truncation PSI
///   [--truncation-latent FILE.npy]] [--noise stored|random] [--seed N] --output PATH
/// nada-edit generate --generator FILE --count N --seed S --output PATH      (samples Z codes)
/// Either form takes `--edit DIRECTION=AMOUNT[@START:END]` (repeatable): codes become W+ (Z mapped, W repeated)
/// and are edited before truncation, as rosinality's apply_factor.py moves codes before truncating them.
public struct Generate: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Render images from a StyleGAN2 generator checkpoint and Z / W / W+ latent codes.",
        discussion: "Output: a path ending in .npy gets the raw float32 NCHW images (not clamped); a .png/.jpg path or a "
            + "folder gets 8-bit images, [-1, 1] mapped to [0, 255] with clamping and rounding (torchvision's save_image). "
            + "Several images for one .png/.jpg path are numbered (name_0000.png, ...). "
            + "With --edit, codes are turned into W+ (Z codes mapped, W codes repeated on every row) and edited in order "
            + "before truncation; sefa:K factorizes --generator itself; store names and ganspace: read the model store (--models)."
    )

    public enum Space: String, ExpressibleByArgument, CaseIterable, Sendable { case wplus, w, z }
    public enum NoiseSource: String, ExpressibleByArgument, CaseIterable, Sendable { case stored, random }

    @Option(help: ArgumentHelp("Generator checkpoint with a 'g_ema' state dict (.pt, zip or legacy).", valueName: "FILE"))
    public var generator: String

    @Option(help: ArgumentHelp("Latent codes: W+ [N, n_latent, style_dim], W or Z [N, style_dim].", valueName: "FILE.npy"))
    public var latents: String?

    @Option(help: "Latent space of --latents (default from the array's rank: 3 -> wplus, 2 -> w; z must be asked for).")
    public var space: Space?

    @Option(help: "Truncation psi (< 1 pulls codes towards the truncation latent).")
    public var truncation: Float = 1

    @Option(name: .customLong("truncation-latent"), help: ArgumentHelp(
        "Mean w [style_dim] or [1, style_dim] (default: the checkpoint's latent_avg, else the mean of 4096 mapped z drawn with --seed).",
        valueName: "FILE.npy"))
    public var truncationLatent: String?

    @Option(help: "Noise maps: the checkpoint's stored buffers, or random maps drawn per image from --seed.")
    public var noise: NoiseSource = .stored

    @Option(help: "Seed for sampled Z codes, random noise and a computed mean latent.")
    public var seed: UInt64 = 0

    @Option(help: "Without --latents: number of Z codes to sample.")
    public var count: Int?

    @Option(help: ArgumentHelp("Output: FILE.npy, FILE.png / FILE.jpg, or a folder.", valueName: "PATH"))
    public var output: String

    @Option(name: .customLong("edit"), help: ArgumentHelp(
        "A latent edit DIRECTION=AMOUNT[@START:END] (repeat for several; applied in order). DIRECTION: a direction in the model store, a .pt/.npy file, sefa:K (of --generator) or ganspace:NAME|K.",
        valueName: "SPEC"))
    public var edits: [String] = []

    @Option(name: .customLong("models"), help: ArgumentHelp("The model store for --edit names (default: as for every command).", valueName: "DIR"))
    public var modelsDirectory: String?

    @Flag(help: "Replace existing output files.")
    public var overwrite = false

    public init() {}

    /// Images rendered per forward pass (no recording, so memory stays small even at 1024).
    static let chunk = 4

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
        guard FileManager.default.fileExists(atPath: generator) else { throw GenerateError("\(generator): generator file not found") }
        let g = try ModelResolver.generator(at: generator)
        let d = g.config.styleDim, n = g.config.nLatent

        // Codes and their space.
        let codes: Tensor, codeSpace: Space
        if let latents {
            guard FileManager.default.fileExists(atPath: latents) else { throw GenerateError("\(latents): latent file not found") }
            codes = try tensor(readNpy(latents))
            switch (space, codes.rank) {
            case (nil, 3), (.wplus?, _): codeSpace = .wplus
            case (nil, 2): codeSpace = .w
            case (let s?, _): codeSpace = s
            default: throw GenerateError("\(latents): latent array has shape \(codes.shape); expected W+ [N, \(n), \(d)] or W/Z [N, \(d)] for this generator")
            }
            let expected = codeSpace == .wplus ? "[N, \(n), \(d)]" : "[N, \(d)]"
            let ok = codeSpace == .wplus ? (codes.rank == 3 && codes.shape[1] == n && codes.shape[2] == d)
                                         : (codes.rank == 2 && codes.shape[1] == d)
            guard ok, codes.shape[0] > 0 else {
                throw GenerateError("\(latents): latent array has shape \(codes.shape), but \(codeSpace.rawValue) codes for this generator "
                    + "(\(generator): size \(g.config.size), n_latent \(n), style_dim \(d)) must be \(expected)")
            }
        } else {
            var rng = SeededRandom(seed: seed)
            codes = Tensor.randn([count!, d], using: &rng)
            codeSpace = .z
        }

        // Latent edits: resolved before any rendering, applied to W+ codes.
        var latentCodes = codes, latentSpace = codeSpace
        if !edits.isEmpty {
            let resolver = LatentEditResolver(store: ModelStore(root: ModelStore.defaultRoot(override: modelsDirectory)))
            resolver.log = printError
            let resolved: [ResolvedEdit]
            do {
                resolved = try resolver.resolve(try edits.map(EditSpec.parse), nLatent: n, styleDim: d, sefaGenerator: generator)
            } catch { throw GenerateError("\(error)") }
            var w = codes
            if codeSpace == .z { w = try Autograd.noGrad { try g.mapping(codes) } }
            if w.rank == 2 { w = w.reshaped([w.shape[0], 1, d]).expanded(to: [w.shape[0], n, d]) }
            latentCodes = try w.applyingLatentEdits(resolved.map(\.edit))
            latentSpace = .wplus
            for edit in resolved { printError("edit \(edit.spec.text): \(edit.record)") }
        }

        // Truncation latent.
        var meanW: Tensor?
        if truncation < 1 {
            if let truncationLatent {
                guard FileManager.default.fileExists(atPath: truncationLatent) else { throw GenerateError("\(truncationLatent): truncation latent file not found") }
                let t = try tensor(readNpy(truncationLatent))
                guard t.count == d, t.rank <= 2 else {
                    throw GenerateError("\(truncationLatent): truncation latent has shape \(t.shape), expected [\(d)] or [1, \(d)]")
                }
                meanW = t.reshaped([1, d])
            } else {
                meanW = g.latentAverage ?? g.meanLatent(count: 4096, seed: seed)
            }
        }

        // Render in chunks without recording.
        let total = codes.shape[0]
        var images: [Tensor] = []
        for start in stride(from: 0, to: total, by: Self.chunk) {
            let range = start..<min(total, start + Self.chunk)
            let part = latentCodes.slice(axis: 0, range)
            let noiseMode = try noiseFor(range, g)
            let image = try Autograd.noGrad {
                try g.forward([part], inputIsLatent: latentSpace != .z, truncation: truncation, truncationLatent: meanW, noise: noiseMode)
            }
            images.append(image)
        }
        let all = Tensor.concat(images, axis: 0)
        try write(all)
    }

    /// Stored buffers, or per-image random maps (image i uses seed + i, so chunking does not matter).
    func noiseFor(_ range: Range<Int>, _ g: StyleGAN2Generator) throws -> StyleGAN2Noise {
        switch noise {
        case .stored: return .stored
        case .random:
            let perImage = try range.map { try g.noiseMaps(.random(seed: seed &+ 0x5EED_0000 &+ UInt64($0)), batch: 1) }
            return .explicit((0..<g.config.numLayers).map { layer in Tensor.concat(perImage.map { $0[layer] }, axis: 0) })
        }
    }

    func tensor(_ a: ArrayData) throws -> Tensor {
        guard a.dtype.isFloatingPoint else { throw GenerateError("latent arrays must be floating point, got \(a.dtype.rawValue)") }
        let t = Tensor.zeros(a.shape)
        a.copyFloats(into: t.pointer)
        return t
    }

    func write(_ images: Tensor) throws {
        let lower = output.lowercased()
        if lower.hasSuffix(".npy") {
            try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: output).deletingLastPathComponent().path,
                                                    withIntermediateDirectories: true)
            if !overwrite && FileManager.default.fileExists(atPath: output) {
                throw GenerateError("\(output) exists (use --overwrite to replace it)")
            }
            try writeNpy(ArrayData(shape: images.shape, floats: images.array), to: output)
            print("wrote \(images.shape[0]) image(s) as \(images.shape) float32 to \(output)")
            return
        }
        let count = images.shape[0]
        let parent = URL(fileURLWithPath: output).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
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
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            paths = (0..<count).map { (output as NSString).appendingPathComponent(String(format: "%06d.png", $0)) }
        }
        for (i, path) in paths.enumerated() {
            try writeImage(rgbImage(images, index: i), to: path, overwrite: overwrite)
        }
        print("wrote \(count) image(s): \(paths.count == 1 ? paths[0] : "\(paths[0]) ... \(paths[count - 1])")")
    }

    /// torchvision save_image(normalize=True, range=(-1, 1)): clamp to [-1, 1], (x+1)/2, then
    /// uint8(x·255 + 0.5) — rounding half up.
    func rgbImage(_ images: Tensor, index: Int) throws -> RGBImage {
        let h = images.shape[2], w = images.shape[3], plane = h * w
        let base = images.pointer + index * 3 * plane
        var pixels = [UInt8](repeating: 0, count: plane * 3)
        for p in 0..<plane {
            for c in 0..<3 {
                let x = min(max(base[c * plane + p], -1), 1)
                let v = (x + 1) / 2 * 255 + 0.5
                pixels[p * 3 + c] = UInt8(min(max(v, 0), 255))
            }
        }
        return try RGBImage(width: w, height: h, pixels: pixels)
    }
}

/// A failure while generating (missing file, wrong latent shape, ...): printed without the usage text.
struct GenerateError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
