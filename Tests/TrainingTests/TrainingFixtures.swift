import Foundation

/// Locations of the test data: `fixtures/` in the package, and `../shared/reference` when present.
enum TrainingFixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func url(_ relative: String) -> URL { packageRoot.appendingPathComponent("fixtures").appendingPathComponent(relative) }
    static func json(_ relative: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url(relative))) as! [String: Any]
    }
}
