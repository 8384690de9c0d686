import Foundation
import Formats

extension CLIPTokenizer {
    /// Merge lines `SimpleTokenizer` uses: `49152 - 256 - 2`.
    public static let openAIMergeCount = 48_894

    /// Loads OpenAI's `bpe_simple_vocab_16e6.txt.gz` (or an uncompressed copy) exactly as
    /// `SimpleTokenizer.__init__` builds it: lines 1...48894 are merges; vocabulary = the 256 byte
    /// characters in table order, the same with `</w>`, each merge's concatenation, then
    /// `<|startoftext|>` (49406) and `<|endoftext|>` (49407).
    ///
    /// `mergeCount` nil takes every merge line of the file instead (trailing empty lines aside): for the small
    /// vocabulary `tools/make_demo_vocab.py` makes for the demo, whose ids then run to `512 + merges + 1`.
    /// Real runs keep the default, so a short or truncated file is an error rather than a different tokenizer.
    /// `raw` is the file's bytes (reading it is Pipeline's `ModelResolver`'s job); `path` names it in errors.
    public convenience init(bpeData raw: Data, path: String, mergeCount: Int? = CLIPTokenizer.openAIMergeCount) throws {
        let bytes: Data
        if raw.starts(with: [0x1F, 0x8B]) {
            do { bytes = try Zlib.inflate(raw, limit: 64 << 20) } catch {
                throw CLIPTokenizerError("\(path): not a readable gzip file (\(error))")
            }
        } else {
            bytes = raw
        }
        guard let text = String(data: bytes, encoding: .utf8) else {
            throw CLIPTokenizerError("\(path): the BPE vocabulary is not valid UTF-8")
        }
        // Split on U+000A scalars as Python's `split("\n")` does (a Character split would keep CR LF whole).
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
        // Lines after the header up to the last non-empty one (a final newline is not a merge line).
        let available = lines.lastIndex { !$0.isEmpty } ?? 0
        let count = mergeCount ?? available
        guard count >= 1, available >= count else {
            let needed = mergeCount.map { "CLIP uses \($0) (OpenAI's bpe_simple_vocab_16e6.txt.gz)" } ?? "needs at least one"
            throw CLIPTokenizerError("\(path): has \(available) merge lines, \(needed)")
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(count)
        for n in 1...count {
            let parts = lines[n].split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard parts.count == 2 else {
                throw CLIPTokenizerError("\(path): line \(n + 1) is not a merge of two symbols: \(String(lines[n]).debugDescription)")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        var vocab: [String] = ByteEncoder.orderedBytes.map { String(ByteEncoder.scalarForByte[Int($0)]) }
        vocab += vocab.map { $0 + "</w>" }
        for (a, b) in merges { vocab.append(a + b) }
        vocab += ["<|startoftext|>", "<|endoftext|>"]
        try self.init(vocabulary: vocab, merges: merges, source: path)
    }

    /// Loads a Hugging Face CLIP tokenizer: `vocab.json` (token -> id) and `merges.txt`
    /// (`#version` header, then one `left right` merge per line in rank order). The result encodes
    /// like OpenAI's (our cleaning, not HF's normalizer). The files' contents are given; the paths name them in errors.
    public convenience init(vocabJSON vocabData: Data, vocabPath: String, mergesTXT mergesData: Data, mergesPath: String) throws {
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: vocabData)
        } catch {
            throw CLIPTokenizerError("\(vocabPath): cannot read vocab.json (\(error.localizedDescription))")
        }
        guard let map = json as? [String: Any] else {
            throw CLIPTokenizerError("\(vocabPath): expected a JSON object of token -> id")
        }
        var encoder: [String: Int] = [:]
        encoder.reserveCapacity(map.count)
        var maxID = -1
        for (token, value) in map {
            guard let id = (value as? NSNumber)?.intValue, id >= 0, id < 10_000_000 else {
                throw CLIPTokenizerError("\(vocabPath): id of token \(token.debugDescription) is not a valid integer")
            }
            encoder[token] = id
            maxID = max(maxID, id)
        }
        var vocabulary = [String](repeating: "", count: maxID + 1)
        for (token, id) in encoder { vocabulary[id] = token }

        guard let mergesText = String(data: mergesData, encoding: .utf8) else {
            throw CLIPTokenizerError("\(mergesPath): merges.txt is not valid UTF-8")
        }
        var merges: [(String, String)] = []
        for (n, line) in mergesText.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map({ String($0) }).enumerated() {
            if line.hasPrefix("#version") || line.allSatisfy({ $0 == " " || $0 == "\r" }) { continue }
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\r" })
            guard parts.count == 2 else {
                throw CLIPTokenizerError("\(mergesPath): line \(n + 1) is not a merge of two symbols: \(String(line).debugDescription)")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        try self.init(vocabulary: vocabulary, encoder: encoder, merges: merges, source: "\(vocabPath) + \(mergesPath)")
    }
}
