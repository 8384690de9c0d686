import ArgumentParser
import Foundation
import Models

/// `nada-edit tokenize --vocab FILE [--truncate] TEXT...`: prints CLIP's 77 token ids per text, one
/// line per text, exactly as `clip.tokenize` would produce them.
public struct Tokenize: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the CLIP token ids (77 per text) of each text, one line per text."
    )

    @Option(name: .long, help: ArgumentHelp(
        "The CLIP BPE vocabulary: bpe_simple_vocab_16e6.txt.gz, or a Hugging Face folder / vocab.json with merges.txt beside it.",
        valueName: "FILE"))
    public var vocab: String

    @Flag(name: .long, help: "Cut texts longer than the context into 77 ids ending with the end token instead of failing.")
    public var truncate = false

    @Argument(help: "The texts to tokenize.")
    public var texts: [String]

    public init() {}

    public func validate() throws {
        if texts.isEmpty { throw ValidationError("give at least one TEXT to tokenize") }
    }

    public func run() throws {
        let tokenizer = try Self.loadTokenizer(vocab)
        let rows: [[Int32]]
        do {
            rows = try tokenizer.tokenize(texts, truncate: truncate)
        } catch let error as CLIPTokenizerError {
            throw CLIPTokenizerError("\(error) (use --truncate to cut it)")
        }
        for row in rows { print(row.map(String.init).joined(separator: " ")) }
    }

    /// OpenAI's `.txt(.gz)` merges file, or Hugging Face `vocab.json` (a folder holding it, or the
    /// file itself) with `merges.txt` in the same folder.
    static func loadTokenizer(_ path: String) throws -> CLIPTokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(path): vocabulary file not found")
        }
        let url = URL(fileURLWithPath: path)
        let folder = isDirectory.boolValue ? url : (url.lastPathComponent == "vocab.json" ? url.deletingLastPathComponent() : nil)
        if let folder {
            return try CLIPTokenizer(vocabJSON: folder.appendingPathComponent("vocab.json").path,
                                     mergesTXT: folder.appendingPathComponent("merges.txt").path)
        }
        return try CLIPTokenizer(bpeFile: path)
    }
}
