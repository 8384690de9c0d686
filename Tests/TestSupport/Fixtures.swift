import Engine
import Foundation
import Formats
import Models
import XCTest

/// Test data shared by every test target: `fixtures/` in the package (always present) and
/// `../shared/reference` beside it (optional; holds the CLIP vocabulary, which is never committed).
public enum Fixtures {
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func url(_ relative: String) -> URL { packageRoot.appendingPathComponent("fixtures").appendingPathComponent(relative) }
    public static func path(_ relative: String) -> String { url(relative).path }

    /// A fixture `.npy` as a float32 tensor.
    public static func tensor(_ relative: String) throws -> Tensor {
        let a = try readNpy(path(relative))
        let t = Tensor.zeros(a.shape)
        a.copyFloats(into: t.pointer)
        return t
    }

    public static func json(_ relative: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url(relative))) as! [String: Any]
    }

    /// `../shared/reference/clip/bpe_simple_vocab_16e6.txt.gz`, or a skip that says where it was looked for.
    public static func clipVocabulary() throws -> String {
        let p = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference/clip/bpe_simple_vocab_16e6.txt.gz").path
        guard FileManager.default.fileExists(atPath: p) else {
            throw XCTSkip("CLIP vocabulary not found at \(p): tests that tokenize need ../shared/reference (not committed)")
        }
        return p
    }
}

/// The reference packs' bar: max|ours − ref| ≤ tolerance · max(1, max|ref|).
public func assertClose(_ ours: Tensor, _ ref: Tensor, tolerance: Float = 2e-5, _ what: String,
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(ours.count, ref.count, "\(what): element count", file: file, line: line)
    guard ours.count == ref.count else { return }
    var maxRef: Float = 0, maxDiff: Float = 0
    for i in 0..<ref.count {
        maxRef = max(maxRef, abs(ref.pointer[i]))
        maxDiff = max(maxDiff, abs(ours.pointer[i] - ref.pointer[i]))
    }
    let bar = tolerance * max(1, maxRef)
    XCTAssertLessThanOrEqual(maxDiff, bar, "\(what): max|Δ| \(maxDiff) over bar \(bar) (max|ref| \(maxRef))", file: file, line: line)
}

extension CLIPTokenizer {
    /// Tests read vocabulary files themselves (in the product, Pipeline's ModelResolver does).
    public convenience init(bpeFile path: String, mergeCount: Int? = CLIPTokenizer.openAIMergeCount) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CLIPTokenizerError("\(path): cannot read the BPE vocabulary file (\(error.localizedDescription))")
        }
        try self.init(bpeData: data, path: path, mergeCount: mergeCount)
    }

    public convenience init(vocabJSON vocabPath: String, mergesTXT mergesPath: String) throws {
        guard let vocab = FileManager.default.contents(atPath: vocabPath) else { throw CLIPTokenizerError("\(vocabPath): cannot read vocab.json") }
        guard let merges = FileManager.default.contents(atPath: mergesPath) else { throw CLIPTokenizerError("\(mergesPath): cannot read merges.txt") }
        try self.init(vocabJSON: vocab, vocabPath: vocabPath, mergesTXT: merges, mergesPath: mergesPath)
    }
}
