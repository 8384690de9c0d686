import Engine
import Foundation
import Formats
import XCTest

/// Test data: `fixtures/` in the package (always present) and `../shared/reference` (optional).
enum ModelFixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ relative: String) -> String { packageRoot.appendingPathComponent("fixtures/\(relative)").path }

    /// A fixture `.npy` as a float32 tensor.
    static func tensor(_ relative: String) throws -> Tensor {
        let a = try readNpy(path(relative))
        let t = Tensor.zeros(a.shape)
        a.copyFloats(into: t.pointer)
        return t
    }

    /// The CLIP vocabulary, which is never committed: `../shared/reference/clip/` beside the package.
    static func clipVocabulary() throws -> String {
        let p = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference/clip/bpe_simple_vocab_16e6.txt.gz").path
        guard FileManager.default.fileExists(atPath: p) else {
            throw XCTSkip("CLIP vocabulary not found at \(p): tests that tokenize need ../shared/reference (not committed)")
        }
        return p
    }
}

/// The reference packs' bar: max|ours − ref| ≤ tol · max(1, max|ref|).
func assertClose(_ ours: Tensor, _ ref: Tensor, tolerance: Float = 2e-5, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(ours.shape, ref.shape, "\(what): shape", file: file, line: line)
    guard ours.shape == ref.shape else { return }
    var maxRef: Float = 0, maxDiff: Float = 0
    for i in 0..<ref.count {
        maxRef = max(maxRef, abs(ref.pointer[i]))
        maxDiff = max(maxDiff, abs(ours.pointer[i] - ref.pointer[i]))
    }
    let bar = tolerance * max(1, maxRef)
    XCTAssertLessThanOrEqual(maxDiff, bar, "\(what): max|Δ| \(maxDiff) over bar \(bar) (max|ref| \(maxRef))", file: file, line: line)
}
