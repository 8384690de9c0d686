import DurableIO
import Engine
import Formats
import Foundation
import Imaging
import Models

/// `nada-edit invert`: photos into W+ codes, one photo at a time (decode, align, encode), written as one
/// [N, n_latent, style_dim] `.npy` for every photo that succeeded (argument order) or one `<stem>.npy` per photo in a
/// folder. A failed photo is reported with its reason and the others go on; nothing existing is replaced without
/// `overwrite`.
public final class InversionRun {
    public struct Options {
        /// `FILE.npy` (all codes in one array) or a folder (one `.npy` per photo).
        public var output: String
        public var restyleSteps: Int = 5
        /// Also write each aligned crop / reconstruction as `<stem>.png` in these folders.
        public var alignedFolder: String?
        public var reconstructionFolder: String?
        public var overwrite = false
        public var decodeOptions = DecodeOptions()
        /// Take only the photos whose content falls in this shard (issue 19); needs a folder `output`.
        public var shard: Shard?

        public init(output: String) { self.output = output }

        var singleFile: Bool { output.lowercased().hasSuffix(".npy") }
    }

    public struct Summary {
        public var inverted: [String] = []
        public var failed: [(path: String, reason: String)] = []
        /// The shard this run took, and how many photos it left to the other shards.
        public var shard: Shard?
        public var otherShards = 0
        public var exitStatus: Int32 { failed.isEmpty ? 0 : 1 }
        public func report() -> String {
            "done \(inverted.count), failed \(failed.count)"
                + (shard.map { "; shard \($0) (\(otherShards) photo(s) left to other shards)" } ?? "")
        }
    }

    let inverter: Inverter
    let aligner: PhotoAligner
    public var log: (String) -> Void = { _ in }

    public init(inverter: Inverter, aligner: PhotoAligner) {
        self.inverter = inverter
        self.aligner = aligner
    }

    public func run(images: [String], options: Options) throws -> Summary {
        for folder in [options.alignedFolder, options.reconstructionFolder, options.singleFile ? nil : options.output].compactMap({ $0 }) {
            try FileOps.createDirectory(folder)
        }
        if options.shard != nil && options.singleFile {
            throw PipelineError.invalidArgument("with a shard, the output must be a folder (one <stem>.npy per photo): several shards cannot share one \(options.output)")
        }
        var summary = Summary()
        summary.shard = options.shard
        var codes: [Tensor] = []
        var stemsUsed = Set<String>()
        for path in images {
            // A shard takes the photos whose content falls in it (an unreadable one: by its path, so one shard reports it).
            if let shard = options.shard {
                let sha = (try? FileDigest.sha256Hex(ofFileAt: path)) ?? FileDigest.sha256Hex(of: Data(path.utf8))
                if !shard.contains(sha256: sha) { summary.otherShards += 1; continue }
            }
            do {
                let photo = try loadImage(path: path, options: options.decodeOptions)
                let (aligned, _) = try aligner.align(photo)
                // a/x.jpg and b/x.jpg in one run: the later one is <stem>-<sha8>, as edit names its outputs.
                var stem = OutputNaming.stem(of: path)
                if !stemsUsed.insert(stem).inserted {
                    stem += "-" + String(try FileDigest.sha256Hex(ofFileAt: path).prefix(8))
                    stemsUsed.insert(stem)
                }
                if let folder = options.alignedFolder {
                    try writeImage(aligned, to: "\(folder)/\(stem).png", overwrite: options.overwrite)
                }
                let result = try inverter.invert(try ImageTensors.encoderInput(aligned), iterations: options.restyleSteps,
                                                 reconstruct: options.reconstructionFolder != nil)
                if let folder = options.reconstructionFolder, let image = result.reconstructions.last {
                    try writeImage(try ImageTensors.image(from: image), to: "\(folder)/\(stem).png", overwrite: options.overwrite)
                }
                if options.singleFile {
                    codes.append(result.codes)
                } else {
                    try Self.write(result.codes, to: "\(options.output)/\(stem).npy", overwrite: options.overwrite)
                }
                summary.inverted.append(path)
                log("inverted \(path)")
            } catch {
                summary.failed.append((path, "\(error)"))
                log("failed: \(path): \(FailureReport.reason("\(error)", without: path))")
            }
        }
        if options.singleFile && !codes.isEmpty {
            try Self.write(Tensor.concat(codes, axis: 0), to: options.output, overwrite: options.overwrite)
        }
        return summary
    }

    static func write(_ t: Tensor, to path: String, overwrite: Bool) throws {
        do {
            try writeNpy(ArrayData(shape: t.shape, floats: t.array), to: path, replacing: overwrite)
        } catch let error as FileSystemError where error.code == EEXIST {
            throw PipelineError.io(path: path, problem: "exists; pass --overwrite to replace it")
        }
    }
}
