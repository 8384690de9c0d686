import Foundation
import Formats
import Models

/// The one loading layer: turns what a user gives on the command line — a file, a folder (Hugging Face), or the
/// name of a model in the store — into a loaded model. Formats reads the bytes (never executing anything), Models
/// builds the model from tensors inferred by shape; nothing else opens checkpoint files.
public struct ModelResolver {
    public let store: ModelStore

    public init(store: ModelStore) { self.store = store }

    /// `nameOrPath` as an existing file or folder, else a model-store name; `flag` names the option in errors.
    public func path(_ nameOrPath: String, flag: String) throws -> String {
        if FileManager.default.fileExists(atPath: nameOrPath) { return nameOrPath }
        if let path = try store.resolve(name: nameOrPath) { return path }
        throw PipelineError.invalidArgument("\(flag) '\(nameOrPath)': no such file and no model of that name in \(store.root) (see `nada-edit models list`)")
    }

    /// A StyleGAN2 generator (`{"g_ema": …}` checkpoints: rosinality, StyleGAN-NADA, ours).
    public func generator(_ nameOrPath: String, flag: String = "--generator") throws -> StyleGAN2Generator {
        try Self.generator(at: try path(nameOrPath, flag: flag))
    }

    public static func generator(at path: String) throws -> StyleGAN2Generator {
        try StyleGAN2Generator(checkpoint: try loadFile(path))
    }

    /// A pSp / e4e / ReStyle encoder checkpoint.
    public func encoder(_ nameOrPath: String, flag: String = "--encoder") throws -> EncoderCheckpoint {
        try Self.encoder(at: try path(nameOrPath, flag: flag))
    }

    public static func encoder(at path: String) throws -> EncoderCheckpoint {
        try EncoderCheckpoint(file: try loadFile(path))
    }

    /// A CLIP ViT: an OpenAI release, a state-dict `.pt`, a Hugging Face `model.safetensors` or the folder holding it.
    public func clip(_ nameOrPath: String, flag: String = "--clip") throws -> CLIPModel {
        try Self.clip(at: try path(nameOrPath, flag: flag))
    }

    public static func clip(at path: String) throws -> CLIPModel {
        var file = path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            file = (path as NSString).appendingPathComponent("model.safetensors")
            guard FileManager.default.fileExists(atPath: file) else {
                throw PipelineError.io(path: path, problem: "folder has no model.safetensors (give the CLIP checkpoint file itself)")
            }
        }
        return try CLIPModel(checkpoint: try loadFile(file))
    }
}
