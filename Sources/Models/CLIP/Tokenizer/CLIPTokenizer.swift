import Foundation

public struct CLIPTokenizerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// OpenAI CLIP's byte-level BPE tokenizer (`clip/simple_tokenizer.py` + `clip.tokenize`).
///
/// Text cleaning is `CLIPTextClean.clean`: ftfy's `fix_text` is reproduced only in part — see
/// `FixText` for the exact list (everything except most of its mojibake repair). Splitting is
/// `PreTokenizer`; BPE merges symbols by rank, like `SimpleTokenizer.bpe`, on integer symbol ids.
///
/// Thread-safe: the BPE cache is behind a lock.
public final class CLIPTokenizer: @unchecked Sendable {
    public static let defaultContextLength = 77

    /// id -> token string (`SimpleTokenizer.vocab`).
    public let vocabulary: [String]
    /// token string -> id; for a string listed twice the later id wins, as Python's `dict(zip(...))`.
    public let encoder: [String: Int]
    public let startOfTextID: Int
    public let endOfTextID: Int

    /// (left id << 32 | right id) -> (rank, merged id). Later duplicates of a pair win, as in Python.
    private let merges: [UInt64: (rank: Int32, merged: Int32)]
    /// Symbol id of each byte's character, without and with `</w>`.
    private let byteSymbol: [Int32]
    private let byteSymbolEnd: [Int32]

    /// Keyed by UTF-8 bytes: Swift `String` equality is canonical equivalence, which would let
    /// "é" and "e\u{301}" (different bytes, different BPE) share an entry.
    private var cache: [[UInt8]: [Int32]] = [:]
    private let cacheLock = NSLock()
    private static let cacheLimit = 200_000

    /// Builds the tokenizer from an id-ordered vocabulary and the ranked merge list.
    /// `source` names the file(s) in error messages.
    public init(vocabulary: [String], encoder: [String: Int]? = nil, merges mergeList: [(String, String)],
                source: String) throws {
        self.vocabulary = vocabulary
        var enc = encoder ?? [:]
        if encoder == nil {
            enc.reserveCapacity(vocabulary.count)
            for (i, token) in vocabulary.enumerated() { enc[token] = i }
        }
        self.encoder = enc
        func id(_ token: String) throws -> Int {
            guard let v = enc[token] else { throw CLIPTokenizerError("\(source): token \(token.debugDescription) is missing from the vocabulary") }
            return v
        }
        startOfTextID = try id("<|startoftext|>")
        endOfTextID = try id("<|endoftext|>")
        var byteSymbol = [Int32](repeating: 0, count: 256)
        var byteSymbolEnd = [Int32](repeating: 0, count: 256)
        for b in 0..<256 {
            let c = String(ByteEncoder.scalarForByte[b])
            byteSymbol[b] = Int32(try id(c))
            byteSymbolEnd[b] = Int32(try id(c + "</w>"))
        }
        self.byteSymbol = byteSymbol
        self.byteSymbolEnd = byteSymbolEnd
        var table: [UInt64: (rank: Int32, merged: Int32)] = [:]
        table.reserveCapacity(mergeList.count)
        for (rank, pair) in mergeList.enumerated() {
            // A pair whose halves are not tokens can never be formed, so it can never apply.
            guard let a = enc[pair.0], let b = enc[pair.1] else { continue }
            let merged = try id(pair.0 + pair.1)
            table[UInt64(a) << 32 | UInt64(b)] = (Int32(rank), Int32(merged))
        }
        self.merges = table
    }

    // MARK: encoding

    /// `SimpleTokenizer.encode`: BPE ids of the cleaned text, without start/end tokens.
    public func encode(_ text: String) -> [Int] {
        let clean = Array(CLIPTextClean.clean(text).unicodeScalars)
        var ids: [Int] = []
        for piece in PreTokenizer.split(clean) {
            switch piece {
            case .startOfText: ids.append(startOfTextID)
            case .endOfText: ids.append(endOfTextID)
            case .text(let range):
                let word = String(String.UnicodeScalarView(clean[range]))
                for symbol in bpe(word) { ids.append(Int(symbol)) }
            }
        }
        return ids
    }

    /// `clip.tokenize`: one row of `contextLength` ids per text: start token, BPE ids, end token,
    /// zero padding. A text that does not fit throws, unless `truncate`, which keeps the first
    /// `contextLength` ids and makes the last one the end token.
    public func tokenize(_ texts: [String], contextLength: Int = CLIPTokenizer.defaultContextLength,
                         truncate: Bool = false) throws -> [[Int32]] {
        guard contextLength >= 2 else { throw CLIPTokenizerError("context length \(contextLength) is too small (needs >= 2)") }
        return try texts.map { text in
            var tokens = [startOfTextID] + encode(text) + [endOfTextID]
            if tokens.count > contextLength {
                guard truncate else {
                    throw CLIPTokenizerError("Input \(text) is too long for context length \(contextLength)")
                }
                tokens.removeLast(tokens.count - contextLength)
                tokens[contextLength - 1] = endOfTextID
            }
            var row = [Int32](repeating: 0, count: contextLength)
            for (i, t) in tokens.enumerated() { row[i] = Int32(t) }
            return row
        }
    }

    public func tokenize(_ text: String, contextLength: Int = CLIPTokenizer.defaultContextLength,
                         truncate: Bool = false) throws -> [Int32] {
        try tokenize([text], contextLength: contextLength, truncate: truncate)[0]
    }

    /// `SimpleTokenizer.decode`: token strings joined, mapped back to bytes, UTF-8 decoded with
    /// replacement, `</w>` -> space. Ids outside the vocabulary throw.
    public func decode(_ ids: [Int]) throws -> String {
        var text = ""
        for id in ids {
            guard id >= 0, id < vocabulary.count else { throw CLIPTokenizerError("token id \(id) is outside the vocabulary (0..<\(vocabulary.count))") }
            text += vocabulary[id]
        }
        var bytes: [UInt8] = []
        for s in text.unicodeScalars {
            if let b = ByteEncoder.byteForScalar[s.value] { bytes.append(b) } else { bytes.append(contentsOf: Array(String(s).utf8)) }
        }
        // `</w>` -> space on the bytes: Python replaces code points, but a Swift String replacement
        // works on grapheme clusters and misses `>` followed by a combining mark. The marker is
        // ASCII, so replacing it before the (error-replacing) UTF-8 decode gives the same text.
        let marker = Array("</w>".utf8)
        var spaced: [UInt8] = []
        spaced.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == marker[0], i + 4 <= bytes.count, Array(bytes[i..<(i + 4)]) == marker {
                spaced.append(0x20); i += 4
            } else {
                spaced.append(bytes[i]); i += 1
            }
        }
        return String(decoding: spaced, as: UTF8.self)
    }

    // MARK: BPE

    /// Symbol ids of one pre-token (a piece of cleaned text), `</w>` on its last symbol.
    func bpe(_ word: String) -> [Int32] {
        let bytes = Array(word.utf8)
        if bytes.isEmpty { return [] }
        cacheLock.lock()
        if let hit = cache[bytes] { cacheLock.unlock(); return hit }
        cacheLock.unlock()

        var symbols = [Int32](repeating: 0, count: bytes.count)
        for (i, b) in bytes.enumerated() {
            symbols[i] = i == bytes.count - 1 ? byteSymbolEnd[Int(b)] : byteSymbol[Int(b)]
        }
        while symbols.count > 1 {
            // The adjacent pair with the lowest rank.
            var best: (rank: Int32, merged: Int32)? = nil
            var bestKey: UInt64 = 0
            for i in 0..<(symbols.count - 1) {
                let key = UInt64(UInt32(symbols[i])) << 32 | UInt64(UInt32(symbols[i + 1]))
                if let m = merges[key], best == nil || m.rank < best!.rank { best = m; bestKey = key }
            }
            guard let merge = best else { break }
            let first = Int32(truncatingIfNeeded: bestKey >> 32), second = Int32(truncatingIfNeeded: bestKey & 0xFFFF_FFFF)
            // Merge every non-overlapping occurrence, left to right.
            var merged: [Int32] = []
            merged.reserveCapacity(symbols.count)
            var i = 0
            while i < symbols.count {
                if i < symbols.count - 1, symbols[i] == first, symbols[i + 1] == second {
                    merged.append(merge.merged); i += 2
                } else {
                    merged.append(symbols[i]); i += 1
                }
            }
            symbols = merged
        }

        cacheLock.lock()
        if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[bytes] = symbols
        cacheLock.unlock()
        return symbols
    }
}
