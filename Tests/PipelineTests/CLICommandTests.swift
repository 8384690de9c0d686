import ArgumentParser
import XCTest
@testable import NadaEditCLI
@testable import Pipeline

/// The CLI files are thin; these check the wiring: options reach the library and errors come out clearly.
final class CLICommandTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try makeTemporaryDirectory("cli") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func run(_ root: ParsableCommand.Type, _ arguments: [String]) throws {
        var command = try root.parseAsRoot(arguments)
        try command.run()
    }

    /// ReStyle steps have their own name; the old --iterations still works for one release.
    func testRestyleStepsAndTheDeprecatedIterationsAlias() throws {
        let edit = try XCTUnwrap(try NadaEdit.parseAsRoot(["--domain", "x", "--restyle-steps", "3", "a.jpg"]) as? Edit)
        XCTAssertEqual(edit.editor.steps, 3)
        let old = try XCTUnwrap(try NadaEdit.parseAsRoot(["--domain", "x", "--iterations", "7", "a.jpg"]) as? Edit)
        XCTAssertEqual(old.editor.steps, 7)
        let invert = try XCTUnwrap(try NadaEdit.parseAsRoot(["invert", "--encoder", "e.pt", "--output", "o", "--iterations", "2", "a.jpg"]) as? Invert)
        XCTAssertEqual(invert.steps, 2)
        XCTAssertThrowsError(try NadaEdit.parseAsRoot(["--domain", "x", "--restyle-steps", "0", "a.jpg"]))
        XCTAssertFalse(Edit.helpMessage().contains("--iterations"), "the old name is hidden from --help")
    }

    func testModelsAddListVerifyThroughTheCommandLine() throws {
        let file = dir + "/e4e_ffhq_encode.pt"
        try testBytes(100, seed: 4).write(to: URL(fileURLWithPath: file))
        try run(Models.self, ["add", file, "--models", dir + "/store"])
        XCTAssertEqual(try ModelStore(root: dir + "/store").loadManifest().entry(named: "e4e_ffhq_encode")?.kind, .encoders)
        try run(Models.self, ["list", "--models", dir + "/store"])
        try run(Models.self, ["verify", "--models", dir + "/store"])
        try Data("changed".utf8).write(to: URL(fileURLWithPath: dir + "/store/encoders/e4e_ffhq_encode.pt"))
        XCTAssertThrowsError(try run(Models.self, ["verify", "--models", dir + "/store"])) { XCTAssertEqual(($0 as? ExitCode)?.rawValue, 1) }
        XCTAssertThrowsError(try Models.parseAsRoot(["add", file, "--kind", "weights"])) {
            XCTAssertTrue(Models.message(for: $0).contains("unknown --kind"), Models.message(for: $0))
        }
        XCTAssertThrowsError(try Models.parseAsRoot(["fetch"]))
        XCTAssertThrowsError(try run(Models.self, ["fetch", "nope", "--models", dir + "/store"])) {
            XCTAssertTrue("\($0)".contains("unknown model 'nope'"))
        }
    }

    func testCommonOptionsResolveTheStore() throws {
        let common = try CommonOptions.parse(["--models", "/somewhere", "--threads", "2"])
        XCTAssertEqual(common.store.root, "/somewhere")
        XCTAssertEqual(common.threads, 2)
        XCTAssertThrowsError(try CommonOptions.parse(["--threads", "0"]))
    }

    func testDomainsAndWatchErrors() throws {
        XCTAssertThrowsError(try run(Domains.self, ["show", "sketch", "--models", dir])) {
            XCTAssertEqual($0 as? PipelineError, .unknownDomain(name: "sketch", known: []))
        }
        XCTAssertThrowsError(try Watch.parseAsRoot([dir])) { XCTAssertTrue(Watch.message(for: $0).contains("--domain")) }
        XCTAssertThrowsError(try Watch.parseAsRoot([dir, "--domain", "x", "--format", "gif"])) {
            XCTAssertTrue(Watch.message(for: $0).contains("jpg or png"))
        }
        // The domain must exist before anything else happens.
        XCTAssertThrowsError(try run(Watch.self, [dir, "--domain", "x", "--models", dir, "--once"])) {
            XCTAssertEqual($0 as? PipelineError, .unknownDomain(name: "x", known: []))
        }
    }
}
