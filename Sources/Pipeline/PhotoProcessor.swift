import Foundation
import Imaging

/// One output the processor must produce for a photo.
public struct OutputTarget: Equatable {
    /// Domain name (as in `domains list`).
    public var domain: String
    /// Where the result will appear once committed.
    public var finalPath: String
    /// Where the processor writes it: a hidden temporary name in the same folder; the runner renames it into place.
    public var writePath: String
    public var format: ImageFormat

    public init(domain: String, finalPath: String, writePath: String, format: ImageFormat) {
        self.domain = domain; self.finalPath = finalPath; self.writePath = writePath; self.format = format
    }

    /// Where the processor writes a second file for the same photo and domain (`compare`, `face2`, `face3`, …):
    /// a temporary name the runner commits beside the main output, under the same rules.
    public func companionWritePath(_ tag: String) -> String { writePath + "." + tag }

    /// The committed name of companion `tag` for a main output named `finalPath`: `<stem>.<domain>.<tag>.<ext>`.
    public static func companionFinalPath(_ finalPath: String, _ tag: String) -> String {
        guard let dot = finalPath.lastIndex(of: "."), !finalPath[dot...].contains("/") else { return finalPath + "." + tag }
        return String(finalPath[..<dot]) + "." + tag + String(finalPath[dot...])
    }

    /// Companion tags the runner looks for after `process`: `compare`, then `face2`, `face3`, … while they exist.
    public static let compareTag = "compare"
    public static func faceTag(_ k: Int) -> String { "face\(k)" }
}

/// One photo to edit.
public struct ProcessingJob {
    /// Where to read the photo (for a name that is not UTF-8, a link to it; see `InputImage.displayPath`).
    public var inputPath: String
    /// SHA-256 of the input file, for provenance ("derived from").
    public var inputSHA256: String
    public var inputFormat: ImageFormat
    public var outputs: [OutputTarget]
    /// The input's name as a user reads it, for provenance and messages (usually `inputPath`).
    public var displayPath: String

    public init(inputPath: String, inputSHA256: String, inputFormat: ImageFormat, outputs: [OutputTarget], displayPath: String? = nil) {
        self.inputPath = inputPath; self.inputSHA256 = inputSHA256; self.inputFormat = inputFormat; self.outputs = outputs
        self.displayPath = displayPath ?? inputPath
    }
}

/// What edits photos: the real editor (invert with an encoder, regenerate with each domain's generator, embed
/// provenance) plugs in here; tests use a fake. The batch runner and the watcher own naming, temporary files,
/// renaming, skipping, ledgers and moving files; the processor only reads `inputPath` and writes each
/// `outputs[i].writePath` (and companions at `companionWritePath(tag)`: a comparison sheet, further faces), never
/// a final name, so that every file is committed under the same never-replace rule.
///
/// Throw to fail the photo: the error's description becomes the recorded reason, so make it say what is wrong
/// with which file ("truncated JPEG", "image is 30000x20000, more than the 100 Mpixel limit").
/// With `--jobs N > 1` the runner calls `process` from several threads at once.
public protocol PhotoProcessor {
    func process(_ job: ProcessingJob) throws
}
