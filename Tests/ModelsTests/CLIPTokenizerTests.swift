import Foundation
import Formats
import XCTest
@testable import Models

/// CLIP tokenizer against the reference pack (`fixtures/clip-tokenizer/`, copied from
/// `shared/reference/clip/{tokenizer,text}/`), produced by OpenAI's `clip.tokenize` with ftfy 6.3.1.
///
/// ftfy coverage (see `FixText`): reproduced are unescape_html, fix_c1_controls,
/// fix_latin_ligatures, fix_character_width, uncurl_quotes, fix_line_breaks,
/// remove_terminal_escapes, remove_control_chars and NFC; fix_encoding only for whole-line
/// Latin-1/Windows-1252 mojibake. `testFixTextCoverage` pins both what is reproduced and the known
/// divergence (mojibake inside otherwise correct text is left alone).
final class CLIPTokenizerTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = packageRoot.appendingPathComponent("fixtures/clip-tokenizer")

    /// The vocabulary is never committed: `../shared/reference/clip/` beside the package, or the
    /// file named by the environment variable `CLIP_BPE_VOCAB`.
    static var vocabPath: String? {
        let shared = packageRoot.deletingLastPathComponent()
            .appendingPathComponent("shared/reference/clip/bpe_simple_vocab_16e6.txt.gz").path
        if FileManager.default.fileExists(atPath: shared) { return shared }
        if let env = ProcessInfo.processInfo.environment["CLIP_BPE_VOCAB"],
           FileManager.default.fileExists(atPath: env) { return env }
        return nil
    }

    nonisolated(unsafe) static var cached: CLIPTokenizer?

    func tokenizer() throws -> CLIPTokenizer {
        if let t = Self.cached { return t }
        guard let path = Self.vocabPath else {
            throw XCTSkip("CLIP vocabulary not found: expected ../shared/reference/clip/bpe_simple_vocab_16e6.txt.gz "
                + "next to the package root (or CLIP_BPE_VOCAB=<file>); it is data, not committed")
        }
        let t = try CLIPTokenizer(bpeFile: path)
        Self.cached = t
        return t
    }

    // MARK: reference vectors

    struct Case {
        let i: Int, category: String, string: String, clean: String, ids: [Int], decoded: String
        let tokenized77: [Int], truncateFalse: String
    }

    static func loadCases() throws -> [Case] {
        let text = try String(contentsOf: fixtures.appendingPathComponent("tokenizer_cases.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return Case(i: o["i"] as! Int, category: o["category"] as! String, string: o["string"] as! String,
                        clean: o["clean"] as! String, ids: o["ids"] as! [Int], decoded: o["decoded"] as! String,
                        tokenized77: o["tokenized77"] as! [Int], truncateFalse: o["truncate_false"] as! String)
        }
    }

    func testCleaningMatchesEveryReferenceCase() throws {
        // Needs no vocabulary: what BPE sees, `whitespace_clean(basic_clean(s)).lower()`.
        let cases = try Self.loadCases()
        XCTAssertEqual(cases.count, 165)
        for c in cases {
            XCTAssertEqual(Array(CLIPTextClean.clean(c.string).unicodeScalars), Array(c.clean.unicodeScalars),
                           "case \(c.i) (\(c.category)) \(c.string.debugDescription)")
        }
    }

    func testEveryReferenceCase() throws {
        let tok = try tokenizer()
        let cases = try Self.loadCases()
        var checkedErrors = 0
        for c in cases {
            let label = "case \(c.i) (\(c.category)) \(c.string.debugDescription)"
            XCTAssertEqual(tok.encode(c.string), c.ids, label)
            XCTAssertEqual(try tok.tokenize(c.string, truncate: true).map(Int.init), c.tokenized77, label)
            XCTAssertEqual(Array(try tok.decode(c.ids).unicodeScalars), Array(c.decoded.unicodeScalars), label)
            if c.truncateFalse == "ok" {
                XCTAssertEqual(try tok.tokenize(c.string).map(Int.init), c.tokenized77, label)
            } else {
                XCTAssertThrowsError(try tok.tokenize(c.string), label) { error in
                    XCTAssertEqual("RuntimeError: \(error)", c.truncateFalse, label)
                }
                checkedErrors += 1
            }
        }
        XCTAssertEqual(checkedErrors, 4)
    }

    func testPromptsAndTemplates() throws {
        let tok = try tokenizer()
        let prompts = try JSONSerialization.jsonObject(
            with: Data(contentsOf: Self.fixtures.appendingPathComponent("prompts.json"))) as! [String]
        XCTAssertEqual(try tok.tokenize(prompts).map { $0.map(Int64.init) },
                       try Self.readInt64Npy("prompts_tokens.npy", rows: prompts.count))
        let templates = try JSONSerialization.jsonObject(
            with: Data(contentsOf: Self.fixtures.appendingPathComponent("imagenet_templates.json"))) as! [String]
        XCTAssertEqual(templates.count, 79)
        for word in ["photo", "sketch"] {
            // StyleGAN-NADA's compose_text_with_templates: template.format(text).
            let texts = templates.map { $0.replacingOccurrences(of: "{}", with: word) }
            XCTAssertEqual(try tok.tokenize(texts).map { $0.map(Int64.init) },
                           try Self.readInt64Npy("templates_\(word)_tokens.npy", rows: 79), word)
        }
    }

    // MARK: vocabulary layout (spec §3.3)

    func testVocabularyLayout() throws {
        let tok = try tokenizer()
        XCTAssertEqual(tok.vocabulary.count, 49408)
        XCTAssertEqual(tok.encoder["!"], 0)
        XCTAssertEqual(tok.encoder["a"], 64)
        XCTAssertEqual(tok.encoder["!</w>"], 256)
        XCTAssertEqual(tok.encoder["a</w>"], 320)
        XCTAssertEqual(tok.encoder["\u{120}"], 187 + 1 + 32) // space -> U+0120 'Ġ', 33rd remapped byte
        XCTAssertEqual(tok.vocabulary[512], "in")
        XCTAssertEqual(tok.vocabulary[513], "th")
        XCTAssertEqual(tok.vocabulary[49405], "jekyll</w>")
        XCTAssertEqual(tok.startOfTextID, 49406)
        XCTAssertEqual(tok.endOfTextID, 49407)
        XCTAssertEqual(try tok.tokenize("").prefix(3), [49406, 49407, 0])
    }

    func testByteEncoderTable() {
        XCTAssertEqual(ByteEncoder.scalarForByte[0x20].value, 0x120)
        XCTAssertEqual(ByteEncoder.scalarForByte[0x7F].value, 0x121)
        XCTAssertEqual(ByteEncoder.scalarForByte[0xA0].value, 0x142)
        XCTAssertEqual(ByteEncoder.scalarForByte[0xAD].value, 0x143)
        XCTAssertEqual(ByteEncoder.scalarForByte[0x41].value, 0x41)
        XCTAssertEqual(Set(ByteEncoder.scalarForByte.map(\.value)).count, 256)
        XCTAssertEqual(ByteEncoder.orderedBytes.count, 256)
        XCTAssertEqual(ByteEncoder.orderedBytes[0], 0x21)
        XCTAssertEqual(ByteEncoder.orderedBytes[188], 0x00)
    }

    // MARK: truncation and errors

    func testTruncation() throws {
        let tok = try tokenizer()
        let long = Array(repeating: "cat", count: 80).joined(separator: " ")
        XCTAssertThrowsError(try tok.tokenize(long)) { error in
            XCTAssertEqual("\(error)", "Input \(long) is too long for context length 77")
        }
        let row = try tok.tokenize(long, truncate: true)
        XCTAssertEqual(row.count, 77)
        XCTAssertEqual(row[0], 49406)
        XCTAssertEqual(row[76], 49407)
        XCTAssertEqual(Set(row[1..<76]), [Int32(tok.encoder["cat</w>"]!)])
        let short = try tok.tokenize("a cat", contextLength: 5)
        XCTAssertEqual(short.count, 5)
        XCTAssertThrowsError(try tok.tokenize("a cat sat", contextLength: 4))
    }

    func testBadVocabularyFilesThrowWithTheirName() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cliptok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("nope.txt.gz").path
        XCTAssertThrowsError(try CLIPTokenizer(bpeFile: missing)) { XCTAssertTrue("\($0)".contains(missing)) }
        let short = dir.appendingPathComponent("short.txt")
        try "#version: 0.2\ni n\nt h\n".write(to: short, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CLIPTokenizer(bpeFile: short.path)) { e in
            XCTAssertTrue("\(e)".contains("short.txt") && "\(e)".contains("48894"), "\(e)")
        }
        let corrupt = dir.appendingPathComponent("corrupt.gz")
        try Data([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF]).write(to: corrupt)
        XCTAssertThrowsError(try CLIPTokenizer(bpeFile: corrupt.path)) { XCTAssertTrue("\($0)".contains("corrupt.gz")) }
        let vocab = dir.appendingPathComponent("vocab.json")
        try "[1, 2]".write(to: vocab, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CLIPTokenizer(vocabJSON: vocab.path, mergesTXT: short.path)) {
            XCTAssertTrue("\($0)".contains("vocab.json"))
        }
    }

    // MARK: Hugging Face files

    /// Writes HF-style `vocab.json` + `merges.txt` from the OpenAI file (spec §3.5) and checks the
    /// loaded tokenizer agrees with the OpenAI one on every reference case.
    func testHuggingFaceFilesGiveTheSameTokenizer() throws {
        let tok = try tokenizer()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cliptok-hf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let vocabURL = dir.appendingPathComponent("vocab.json"), mergesURL = dir.appendingPathComponent("merges.txt")
        try JSONSerialization.data(withJSONObject: tok.encoder).write(to: vocabURL)
        let raw = try Data(contentsOf: URL(fileURLWithPath: Self.vocabPath!))
        let lines = String(decoding: try Zlib.inflate(raw), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false)
        let merges = ["#version: 0.2"] + lines[1...48894].map(String.init)
        try (merges.joined(separator: "\n") + "\n").write(to: mergesURL, atomically: true, encoding: .utf8)

        let hf = try CLIPTokenizer(vocabJSON: vocabURL.path, mergesTXT: mergesURL.path)
        XCTAssertEqual(hf.vocabulary.count, 49408)
        XCTAssertEqual(hf.vocabulary, tok.vocabulary)
        XCTAssertEqual(hf.startOfTextID, 49406)
        for c in try Self.loadCases() {
            XCTAssertEqual(hf.encode(c.string), c.ids, "case \(c.i)")
        }
    }

    // MARK: ftfy coverage

    func testFixTextCoverage() {
        let clean = CLIPTextClean.clean
        // Reproduced fixes.
        XCTAssertEqual(clean("\u{201C}Don\u{2019}t\u{201D}"), "\"don't\"")           // uncurl_quotes
        XCTAssertEqual(clean("\u{FB03}ne \u{132}s"), "ffine ijs")                      // fix_latin_ligatures
        XCTAssertEqual(clean("\u{FF21}\u{FF22}\u{3000}\u{FF71}"), "ab \u{30A2}")        // fix_character_width
        XCTAssertEqual(clean("a\u{1B}[31mred\u{1B}[0m"), "ared")                       // remove_terminal_escapes
        XCTAssertEqual(clean("x\u{0}y\u{7F}z\u{FEFF}\u{206A}w"), "xyzw")              // remove_control_chars
        XCTAssertEqual(clean("\u{93}quoted\u{94}"), "\"quoted\"")                      // fix_c1_controls + uncurl
        XCTAssertEqual(clean("e\u{301}"), "\u{E9}")                                    // NFC
        XCTAssertEqual(clean("&amp;amp;amp;amp;amp;"), "&")                            // unescape loop + 2x html.unescape
        XCTAssertEqual(clean("&EACUTE;T&Eacute;"), "\u{E9}t\u{E9}")                    // all-caps entity
        XCTAssertEqual(clean("<b>&amp;amp;amp;</b>"), "<b>&amp;</b>")                  // '<': ftfy leaves entities
        XCTAssertEqual(clean("caf\u{C3}\u{A9} na\u{C3}\u{AF}ve"), "caf\u{E9} na\u{EF}ve") // Latin-1 mojibake
        XCTAssertEqual(clean("ΣΑΣ ΟΔΟΣ"), "σας οδος")                                   // Python lower(): final sigma
        // Not reproduced (documented): mojibake inside otherwise correct text. ftfy's
        // decode_inconsistent_utf8 would give "naïve café"; we keep the line as it is.
        XCTAssertEqual(clean("na\u{EF}ve caf\u{C3}\u{A9}"), "na\u{EF}ve caf\u{E3}\u{A9}")
    }

    func testHTMLUnescapeFollowsPython() {
        XCTAssertEqual(HTMLUnescape.python("&notit; &amp &ampx &#65;&#x42 &#0; &#128; &#xD800; &#1114112; &#11;"),
                       "¬it; & &x AB \u{FFFD} \u{20AC} \u{FFFD} \u{FFFD} ")
        XCTAssertEqual(HTMLUnescape.python("&nosuch; &#; &#x; &"), "&nosuch; &#; &#x; &")
        XCTAssertEqual(HTMLUnescape.ftfy("&not &notit; &lt;b&gt; &#x1F600;"), "&not &notit; <b> \u{1F600}")
        XCTAssertEqual(HTMLUnescape.entities.count, 2231)
    }

    // MARK: helpers

    /// The int64 token arrays (`clip.tokenize` output) as rows of 77.
    static func readInt64Npy(_ name: String, rows: Int) throws -> [[Int64]] {
        let array = try readNpy(fixtures.appendingPathComponent(name).path)
        XCTAssertEqual(array.dtype, .int64, name)
        XCTAssertEqual(array.shape, [rows, 77], name)
        let values = array.int64s()
        return (0..<rows).map { Array(values[($0 * 77)..<(($0 + 1) * 77)]) }
    }
}
