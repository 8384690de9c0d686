import Foundation
import Formats
import Imaging
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

    /// A StyleGAN2 generator: `{"g_ema": …}` checkpoints (rosinality, StyleGAN-NADA, ours) or an NVlabs
    /// StyleGAN2-ADA or TensorFlow StyleGAN2 network pickle (`.pkl`, read as data; its `G_ema` / `Gs`).
    public func generator(_ nameOrPath: String, flag: String = "--generator") throws -> StyleGAN2Generator {
        try Self.generator(at: try path(nameOrPath, flag: flag))
    }

    /// `network` picks the network of an NVlabs pickle (`G_ema`, or `G`; `G_ema` is `Gs` in a TensorFlow
    /// pickle); other files have one generator. StyleGAN3 pickles and domains are refused here (the callers need
    /// StyleGAN2); `anyGenerator` takes them.
    public static func generator(at path: String, network: String = "G_ema") throws -> StyleGAN2Generator {
        let file = try loadFile(path)
        if file.format == .nvlabsPickle { return try StyleGAN2Generator(nvlabs: file, network: network) }
        if file.format == .tfNetworkPickle { return try StyleGAN2Generator(tensorflow: file, network: network) }
        if StyleGAN3DomainFile.isDomainFile(file) {
            throw PipelineError.io(path: path, problem: "a StyleGAN3 generator adapted by nada-edit train; this needs a StyleGAN2 generator "
                + "(generate, train and video take StyleGAN3)")
        }
        return try StyleGAN2Generator(checkpoint: file)
    }

    /// A generator of either family (`generate`, `train`, `video`).
    public func anyGenerator(_ nameOrPath: String, flag: String = "--generator") throws -> any StyleGANGenerator {
        try Self.anyGenerator(at: try path(nameOrPath, flag: flag))
    }

    /// StyleGAN2 as `generator(at:)`; StyleGAN3: `G_ema` of an NVlabs StyleGAN3-T/-R pickle, or a StyleGAN3 domain
    /// written by `train` (`StyleGAN3DomainFile`: its base pickle with the trained tensors).
    public static func anyGenerator(at path: String) throws -> any StyleGANGenerator {
        let file = try loadFile(path)
        if isStyleGAN3Pickle(file) { return try StyleGAN3Generator(nvlabs: file) }
        if StyleGAN3DomainFile.isDomainFile(file) { return try StyleGAN3DomainFile.load(file) }
        if file.format == .nvlabsPickle { return try StyleGAN2Generator(nvlabs: file) }
        if file.format == .tfNetworkPickle { return try StyleGAN2Generator(tensorflow: file) }
        return try StyleGAN2Generator(checkpoint: file)
    }

    /// The family of a generator file without building it: "StyleGAN3-T"/"StyleGAN3-R" for a StyleGAN3 pickle
    /// (its `G_ema`) or StyleGAN3 domain file, nil otherwise.
    public static func styleGAN3Family(at path: String) throws -> String? {
        let file = try loadFile(path)
        if isStyleGAN3Pickle(file) { return file.nvlabsNetworks.first { $0.key == "G_ema" }?.module.generatorFamily }
        if StyleGAN3DomainFile.isDomainFile(file) { return file.root[StyleGAN3DomainFile.baseKey]?["family"]?.string ?? "StyleGAN3" }
        return nil
    }

    /// Photo work (`edit`, `watch`, `invert`) needs a StyleGAN2 generator: a StyleGAN3 one at `path` is refused
    /// with the reason. `what` names it in the message (a flag, a domain).
    public static func requireStyleGAN2ForPhotos(at path: String, what: String) throws {
        guard let family = try styleGAN3Family(at: path) else { return }
        throw PipelineError.io(path: path, problem: "\(what) is a \(family) generator, which cannot edit photos: the encoders here (e4e, pSp, "
            + "ReStyle) invert photos into StyleGAN2's W+ space and none inverts into StyleGAN3's W space "
            + "(`nada-edit generate --generator \(path)` renders it from z or W codes)")
    }

    /// `invert --generator`: a StyleGAN2 generator to decode with; StyleGAN3 refused with the reason.
    public func photoGenerator(_ nameOrPath: String, flag: String = "--generator") throws -> StyleGAN2Generator {
        let resolved = try path(nameOrPath, flag: flag)
        try Self.requireStyleGAN2ForPhotos(at: resolved, what: flag)
        return try Self.generator(at: resolved)
    }

    static func isStyleGAN3Pickle(_ file: LoadedFile) -> Bool {
        file.format == .nvlabsPickle && file.nvlabsNetworks.first { $0.key == "G_ema" }?.module.generatorFamily.hasPrefix("StyleGAN3") == true
    }

    /// `nada-edit models convert`: `network` of an NVlabs StyleGAN2-ADA pickle (or of a TensorFlow StyleGAN2
    /// pickle, where `G_ema` means `Gs`) written as a rosinality checkpoint `{"g_ema", "latent_avg",
    /// "nvlabs_options"}` (the last holds conv_clamp and the mapping lr, which rosinality's code ignores; absent
    /// when they are rosinality's defaults). Refuses other inputs and an existing `output`; writes through a
    /// temporary name. Returns the converted generator.
    @discardableResult
    public static func convertNVlabsGenerator(at path: String, network: String = "G_ema", to output: String) throws -> StyleGAN2Generator {
        let file = try loadFile(path)
        guard file.format == .nvlabsPickle || file.format == .tfNetworkPickle else {
            throw PipelineError.invalidArgument("\(path): is a \(file.format.rawValue), not an NVlabs network pickle; only .pkl files from stylegan2-ada-pytorch or the TensorFlow stylegan2 releases need converting")
        }
        guard !FileManager.default.fileExists(atPath: output) else {
            throw PipelineError.io(path: output, problem: "already exists; remove it or choose another --output")
        }
        let g = file.format == .tfNetworkPickle ? try StyleGAN2Generator(tensorflow: file, network: network)
            : try StyleGAN2Generator(nvlabs: file, network: network)
        var extra: [(String, PyValue)] = []
        if let avg = g.latentAverage { extra.append(("latent_avg", .tensor(ArrayData(shape: [g.config.styleDim], floats: avg.array)))) }
        if let options = g.nvlabsOptionsEntry { extra.append(options) }
        try writeGeneratorCheckpoint(gEma: g.stateDict().map { (name: $0.0, array: $0.1) }, extra: extra, to: output)
        return g
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

    /// The CLIP vocabulary, looked up one way for every command: `explicit` (a file, a Hugging Face folder or
    /// `vocab.json`, or a store name); else one beside the CLIP checkpoint `besideCLIP` (`bpe_simple_vocab_16e6.txt.gz`,
    /// or `vocab.json` of a Hugging Face folder); else the store's vocabulary.
    public func vocabularyPath(explicit: String?, besideCLIP clip: String? = nil) throws -> String {
        if let explicit { return try path(explicit, flag: "--vocab") }
        if let clip, let clipPath = try? path(clip, flag: "--clip") {
            var isDirectory: ObjCBool = false
            let url = URL(fileURLWithPath: clipPath)
            let folder = FileManager.default.fileExists(atPath: clipPath, isDirectory: &isDirectory) && isDirectory.boolValue
                ? url : url.deletingLastPathComponent()
            for name in ["bpe_simple_vocab_16e6.txt.gz", "bpe_simple_vocab_16e6.txt", "vocab.json"] {
                let candidate = folder.appendingPathComponent(name).path
                if FileManager.default.fileExists(atPath: candidate) { return candidate }
            }
        }
        if let entry = try store.list().entries.first(where: { $0.kind == .vocab }) { return store.path(entry.file) }
        throw PipelineError.invalidArgument("no CLIP vocabulary: pass --vocab bpe_simple_vocab_16e6.txt.gz, or add it to the store "
            + "(`nada-edit models add FILE --kind vocab` or `nada-edit models fetch clip-bpe-vocab`)")
    }

    /// A CLIP tokenizer from OpenAI's `.txt(.gz)` merges file (its first `mergeCount` merges; nil: all, for the
    /// demo's small vocabulary), or a Hugging Face `vocab.json` (the file, or a folder holding it) with `merges.txt`
    /// beside it.
    public static func tokenizer(at path: String, mergeCount: Int? = CLIPTokenizer.openAIMergeCount) throws -> CLIPTokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PipelineError.io(path: path, problem: "vocabulary file not found")
        }
        let url = URL(fileURLWithPath: path)
        let folder = isDirectory.boolValue ? url : (url.lastPathComponent == "vocab.json" ? url.deletingLastPathComponent() : nil)
        if let folder {
            let vocab = folder.appendingPathComponent("vocab.json").path, merges = folder.appendingPathComponent("merges.txt").path
            return try CLIPTokenizer(vocabJSON: try readVocabularyFile(vocab), vocabPath: vocab,
                                     mergesTXT: try readVocabularyFile(merges), mergesPath: merges)
        }
        return try CLIPTokenizer(bpeData: try readVocabularyFile(path), path: path, mergeCount: mergeCount)
    }

    /// A vocabulary file's bytes (they are a few MB; the cap keeps a wrong path from reading a huge file).
    static func readVocabularyFile(_ path: String) throws -> Data {
        do { return Data(try FileIO.read(path, maxBytes: 256 << 20)) } catch {
            throw PipelineError.io(path: path, problem: "cannot read the CLIP vocabulary (\(FailureReport.reason("\(error)", without: path)))")
        }
    }
}
