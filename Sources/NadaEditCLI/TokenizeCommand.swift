import ArgumentParser
import Foundation
import Models
import Pipeline

/// `nada-edit tokenize --vocab FILE [--truncate] TEXT...`: prints CLIP's 77 token ids per text, one
/// line per text, exactly as `clip.tokenize` would produce them.
public struct Tokenize: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the CLIP token ids (77 per text) of each text, one line per text."
    )

    @OptionGroup public var common: CommonOptions

    @Option(name: .long, help: ArgumentHelp(
        "The CLIP BPE vocabulary: bpe_simple_vocab_16e6.txt.gz, a Hugging Face folder / vocab.json with merges.txt beside it, or a store name (default: the store's vocabulary).",
        valueName: "FILE"))
    public var vocab: String?

    @Flag(name: .long, help: "Cut texts longer than the context into 77 ids ending with the end token instead of failing.")
    public var truncate = false

    @Argument(help: ArgumentHelp("The texts to tokenize.", valueName: "TEXT"))
    public var texts: [String]

    public init() {}

    public func validate() throws {
        if texts.isEmpty { throw ValidationError("give at least one TEXT to tokenize") }
    }

    public func run() throws {
        let resolver = ModelResolver(store: common.store)
        let tokenizer = try ModelResolver.tokenizer(at: try resolver.vocabularyPath(explicit: vocab))
        let rows: [[Int32]]
        do {
            rows = try tokenizer.tokenize(texts, truncate: truncate)
        } catch let error as CLIPTokenizerError {
            throw CLIPTokenizerError("\(error) (use --truncate to cut it)")
        }
        for row in rows { print(row.map(String.init).joined(separator: " ")) }
    }
}
