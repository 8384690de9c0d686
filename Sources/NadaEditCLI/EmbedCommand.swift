import ArgumentParser
import Foundation
import Pipeline

/// `nada-edit embed --clip FILE [--vocab FILE] (--text T ... | --image FILE ...) [--normalize] --output FILE.npy`:
/// CLIP features, one float32 row per input, as `model.encode_text(clip.tokenize(texts))` or
/// `model.encode_image(preprocess(Image.open(file)))` would give them.
public struct Embed: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Write CLIP text or image features (one float32 row per input) to a .npy file."
    )

    @OptionGroup public var common: CommonOptions
    @OptionGroup public var compute: PrecisionOptions

    @Option(name: .long, help: ArgumentHelp(
        "CLIP ViT checkpoint: an OpenAI release (ViT-B-32.pt), a state-dict .pt, a Hugging Face model.safetensors (or its folder), or a store name.",
        valueName: "FILE"))
    public var clip: String

    @Option(name: .long, help: ArgumentHelp(
        "CLIP BPE vocabulary for --text (bpe_simple_vocab_16e6.txt.gz, or a Hugging Face vocab.json/folder). Default: beside --clip, else the store's.",
        valueName: "FILE"))
    public var vocab: String?

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Texts to embed (tokenized like clip.tokenize, 77 tokens).", valueName: "TEXT"))
    public var text: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Image files to embed (CLIP's resize, center crop and normalization).", valueName: "FILE"))
    public var image: [String] = []

    @Flag(name: .long, help: "Scale each row to unit length (what CLIP compares).")
    public var normalize = false

    @Option(name: .long, help: ArgumentHelp("Where to write the [N, embed_dim] float32 array.", valueName: "FILE.npy"))
    public var output: String

    public init() {}

    public func validate() throws {
        if text.isEmpty == image.isEmpty { throw ValidationError("give either --text T ... or --image FILE ..., not both or neither") }
        if !output.hasSuffix(".npy") { throw ValidationError("--output must name a .npy file, got \(output)") }
    }

    public func run() throws {
        common.applyThreads()
        compute.apply()
        let resolver = ModelResolver(store: common.store)
        let model = try resolver.clip(clip)
        let features = text.isEmpty
            ? try CLIPEmbedding.images(image, model: model, normalize: normalize)
            : try CLIPEmbedding.text(text, model: model, tokenizer: try ModelResolver.tokenizer(at: try resolver.vocabularyPath(explicit: vocab, besideCLIP: clip)),
                                     normalize: normalize)
        let shape = try CLIPEmbedding.write(features, to: output)
        print("wrote \(shape[0]) x \(shape[1]) float32 \(normalize ? "normalized " : "")CLIP \(text.isEmpty ? "image" : "text") features to \(output)")
    }
}
