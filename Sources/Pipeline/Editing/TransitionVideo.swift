import DurableIO
import Engine
import Foundation
import Imaging
import Models
import Video

/// How `nada-edit video` renders a photo's transition.
public struct TransitionVideoSettings {
    /// Frames from the reconstruction to the edit (both included).
    public var frames = 48
    public var fps = 24
    /// x264's constant rate factor (18: visually lossless).
    public var crf = 18
    /// Play it back again (edit → reconstruction) so the video loops without a jump.
    public var boomerang = false
    public init() {}
}

extension DomainEditor {
    /// Writes an H.264 MP4 of one photo turning from its reconstruction by the base generator into its edit by the
    /// output `name` (a domain at `--strength`, or a blend, with the `--edit`s): frame k of n, at t = k/(n−1),
    /// renders the generator `base + t·(target − base)` on the codes `w + t·(w_edited − w)`. The first frame is
    /// what `--strength 0` renders, the last what `edit` writes. The video goes to a temporary name first and
    /// is renamed into place; an existing file is replaced only with `overwrite`. Returns the number of frames.
    @discardableResult
    public func writeTransitionVideo(photo: String, output name: String, settings video: TransitionVideoSettings, to path: String,
                                     overwrite: Bool, progress: (Int, Int) -> Void = { _, _ in }) throws -> Int {
        guard let entry = targets[name] else { throw PipelineError.invalidArgument("domain '\(name)' was not loaded") }
        guard video.frames >= 2 else { throw PipelineError.invalidArgument("a transition needs at least 2 frames") }
        if !overwrite && FileOps.exists(path) {
            throw PipelineError.io(path: path, problem: "exists; use --overwrite to replace it")
        }
        let bytes = try FileIO.read(photo)
        let photoImage = try decodeImage(bytes, name: photo, options: decodeOptions)
        let face = try aligner.alignFaces(photoImage)[0].image
        let codes = try inverter.invert(try ImageTensors.encoderInput(face), iterations: settings.iterations).codes
        let edited = entry.edits.isEmpty ? codes : try codes.applyingLatentEdits(entry.edits.map(\.edit))
        let base = try ModelResolver.generator(at: entry.members[0].domain.baseGeneratorPath)

        let n = video.frames
        var order = Array(0..<n)
        if video.boomerang { order += (1..<(n - 1)).reversed() }
        var rendered: [Int: RGBImage] = [:]
        func frame(_ k: Int) throws -> RGBImage {
            if let done = rendered[k] { return done }
            let t = Float(k) / Float(n - 1)
            let generator = k == 0 ? base : (k == n - 1 ? entry.generator : try base.interpolated(toward: entry.generator, alpha: t))
            let image = try Autograd.noGrad { () throws -> Tensor in
                let w = codes + t * (edited - codes)
                return try generator.forward(wPlus: w, noise: .stored)
            }
            let rgb = try ImageTensors.image(from: resizedForOutput(image))
            if video.boomerang { rendered[k] = rgb }
            return rgb
        }

        let first = try frame(0)
        guard first.width % 2 == 0, first.height % 2 == 0 else {
            throw PipelineError.invalidArgument("video frames must have an even size for yuv420p, got \(first.width)×\(first.height) (see --size)")
        }
        try FileOps.createDirectory((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent)
        let temporary = FileOps.temporaryPath(for: path)
        do {
            // Provenance as the stills carry it: a one-line summary as `comment`, every field as `description`.
            let job = ProcessingJob(inputPath: photo, inputSHA256: SHA256.hexDigest(bytes), inputFormat: .png, outputs: [])
            let provenance = makeProvenance(entry, name: name, job: job, exif: nil, alignment: [:])
            var fields = provenance.extra
            fields["input"] = provenance.inputFileName ?? ""
            fields["input sha256"] = provenance.inputSHA256 ?? ""
            for (model, sha) in provenance.modelSHA256 { fields["\(model) sha256"] = sha }
            for (key, prompt) in provenance.domainPrompts { fields["prompt \(key)"] = prompt }
            fields["frames"] = "\(order.count) at \(video.fps) fps, reconstruction to \(name)"
            let description = fields.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
            let writer = try VideoWriter(path: temporary, width: first.width, height: first.height, fps: video.fps, crf: video.crf,
                                         comment: provenance.summary, description: "\(provenance.software); " + description)
            for (index, k) in order.enumerated() {
                try writer.append(k == 0 ? first : try frame(k))
                progress(index + 1, order.count)
            }
            try writer.finish()
            try FileOps.commit(temporary: temporary, to: path, replacing: overwrite)
        } catch {
            unlink(temporary)
            throw error
        }
        return order.count
    }
}
