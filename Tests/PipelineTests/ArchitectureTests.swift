import Foundation
import XCTest

/// The house plan (README "How the pieces fit"), checked on the source text: data flows file → Formats → Models →
/// Training / Pipeline → CLI. Models and Training never touch the file system; the CLI never imports the engine or
/// does tensor or pixel arithmetic. A new violation fails here with the file and line.
final class ArchitectureTests: XCTestCase {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    /// Lines of every .swift file under `folder` that match `pattern`, as "file:line: text".
    func violations(in folder: String, _ pattern: String) throws -> [String] {
        let regex = try NSRegularExpression(pattern: pattern)
        let root = Self.sources.appendingPathComponent(folder)
        var found = [String]()
        let files = FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
        XCTAssertFalse(files.isEmpty, "no Swift files under Sources/\(folder)")
        for file in files.sorted() {
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("//") { continue }
                let string = String(line)
                if regex.firstMatch(in: string, range: NSRange(string.startIndex..., in: string)) != nil {
                    found.append("Sources/\(folder)/\(file):\(number + 1): \(trimmed)")
                }
            }
        }
        return found
    }

    /// File-system access: Foundation's file APIs, POSIX opens, and Formats' file-level entry points.
    static let fileSystem = #"FileManager|FileHandle|Data\(contentsOf|contentsOfFile|String\(contentsOf|\.write\(to:|\bfopen\(|\bopen\(|\bloadFile\(|\breadNpy\(|\bwriteNpy\(|writeTorchCheckpoint|writeGeneratorCheckpoint|writeSafetensors"#

    func testModelsAndTrainingNeverTouchTheFileSystem() throws {
        for folder in ["Models", "Training"] {
            let found = try violations(in: folder, Self.fileSystem)
            XCTAssertEqual(found, [], "Sources/\(folder) must get loaded files from Formats via Pipeline:\n" + found.joined(separator: "\n"))
        }
    }

    func testTheCommandLineDoesNoArithmetic() throws {
        let found = try violations(in: "NadaEditCLI", #"^\s*import Engine\b|\bTensor\b|\.pointer\b|\bpixels\[|Autograd\."#)
        XCTAssertEqual(found, [], "the CLI parses, resolves, calls one library function and prints:\n" + found.joined(separator: "\n"))
    }

    /// The checker itself: a line that breaks the rule is found.
    func testTheCheckFindsAViolation() throws {
        let regex = try NSRegularExpression(pattern: Self.fileSystem)
        for line in ["let d = try Data(contentsOf: url)", "let f = try loadFile(path)", "let fd = open(path, O_RDONLY)"] {
            XCTAssertNotNil(regex.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)), line)
        }
        XCTAssertNil(regex.firstMatch(in: "let g = StyleGAN2Generator(checkpoint: file)", range: NSRange(location: 0, length: 44)))
    }
}
