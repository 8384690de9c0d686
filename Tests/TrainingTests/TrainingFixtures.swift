import Foundation

/// Locations of the test data: `fixtures/` in the package, and `../shared/reference` when present.
enum TrainingFixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func url(_ relative: String) -> URL { packageRoot.appendingPathComponent("fixtures").appendingPathComponent(relative) }
    static func json(_ relative: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url(relative))) as! [String: Any]
    }
}

import Engine
import Formats
import Models
import Training
import XCTest

extension TrainingFixtures {
    static func tensor(_ relative: String) throws -> Tensor {
        let a = try readNpy(url(relative).path)
        let t = Tensor.zeros(a.shape)
        a.copyFloats(into: t.pointer)
        return t
    }

    /// The CLIP vocabulary is never committed; it is read from ../shared/reference when present.
    static func clipVocabulary() throws -> String {
        let p = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference/clip/bpe_simple_vocab_16e6.txt.gz").path
        guard FileManager.default.fileExists(atPath: p) else {
            throw XCTSkip("CLIP vocabulary not found at \(p): tests that tokenize need ../shared/reference (not committed)")
        }
        return p
    }

    /// The reference pack's tiny CLIP (state-dict form) with OpenAI's tokenizer, antialiased preprocessing.
    static func tinyCLIP() throws -> CLIPLossModel {
        let model = try CLIPModel.load(url("clip/model_state.pt").path)
        return CLIPLossModel(model: model, tokenizer: try CLIPTokenizer(bpeFile: try clipVocabulary()), antialias: true)
    }
}

/// The reference bar: max|ours − ref| ≤ tol · max(1, max|ref|).
func assertClose(_ ours: Tensor, _ ref: Tensor, tolerance: Float = 2e-5, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(ours.count, ref.count, "\(what): element count", file: file, line: line)
    guard ours.count == ref.count else { return }
    var maxRef: Float = 0, maxDiff: Float = 0
    for i in 0..<ref.count {
        maxRef = max(maxRef, abs(ref.pointer[i]))
        maxDiff = max(maxDiff, abs(ours.pointer[i] - ref.pointer[i]))
    }
    XCTAssertLessThanOrEqual(maxDiff, tolerance * max(1, maxRef), "\(what): max|Δ| \(maxDiff), max|ref| \(maxRef)", file: file, line: line)
}
