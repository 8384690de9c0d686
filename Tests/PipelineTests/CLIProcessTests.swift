import Formats
import XCTest
@testable import Pipeline

/// Runs the built `nada-edit` binary as a user would, for behaviour only a whole process shows.
final class CLIProcessTests: XCTestCase {
    /// `nada-edit` sits beside the test bundle in the build folder.
    static var binary: String {
        // Linux: the bundle URL is the build folder itself; macOS: it is the .xctest bundle inside it.
        var folder = Bundle(for: CLIProcessTests.self).bundleURL
        if folder.pathExtension == "xctest" { folder.deleteLastPathComponent() }
        return folder.appendingPathComponent("nada-edit").path
    }

    static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// Runs `script` under /bin/sh with the binary as $NADA; returns (status, stdout + stderr).
    func shell(_ script: String, in folder: String) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        environment["NADA"] = Self.binary
        environment["NADA_EDIT_MODELS"] = folder + "/store"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    /// Issue 22 item 6: a write error (a file-size limit, the stand-in for a full disk) is reported with the final
    /// file's name and errno, exits 1, and leaves no temporary file; the process is not killed mid-write.
    func testInvertWithAFileSizeLimitFailsCleanly() throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.binary), "swift test builds nada-edit beside the tests: \(Self.binary)")
        let dir = try makeTemporaryDirectory("cli-process")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fixtures = Self.repository + "/fixtures/encoders"
        let (status, output) = try shell(
            "ulimit -f 0; \"$NADA\" invert --encoder \(fixtures)/e4e.pt --align center \(fixtures)/input_face.png --output codes.npy",
            in: dir)
        XCTAssertEqual(status, 1, output)
        XCTAssertTrue(output.contains("\(dir)/codes.npy") || output.contains("codes.npy: cannot write: File too large"), output)
        XCTAssertTrue(output.contains("File too large"), output)
        XCTAssertFalse(output.contains("Fatal error"), output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0 != "store" }, [], "no temporary left")
    }

    /// Issue 18: per-photo codes for a/x.png and b/x.png in one run are both kept (the second as x-<sha8>.npy);
    /// a second run without --overwrite replaces nothing.
    func testInvertKeepsPhotosWithTheSameNameFromTwoFolders() throws {
        let dir = try makeTemporaryDirectory("cli-process")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let repo = Self.repository
        try FileOps.createDirectory(dir + "/a")
        try FileOps.createDirectory(dir + "/b")
        try FileManager.default.copyItem(atPath: repo + "/fixtures/encoders/input_face.png", toPath: dir + "/a/x.png")
        try FileManager.default.copyItem(atPath: repo + "/fixtures/align/input_face.png", toPath: dir + "/b/x.png")
        let command = "\"$NADA\" invert --encoder \(repo)/fixtures/encoders/e4e.pt --align center a/x.png b/x.png --output codes"
        let (status, output) = try shell(command, in: dir)
        XCTAssertEqual(status, 0, output)
        let sha8 = String(try FileDigest.sha256Hex(ofFileAt: dir + "/b/x.png").prefix(8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/codes").sorted(), ["x-\(sha8).npy", "x.npy"])
        let first = try Data(contentsOf: URL(fileURLWithPath: dir + "/codes/x.npy"))
        let (again, message) = try shell(command, in: dir)
        XCTAssertEqual(again, 1, message)
        XCTAssertTrue(message.contains("exists; pass --overwrite"), message)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/codes/x.npy")), first)
    }

    /// Issue 18: `train` SIGKILLed at random moments (mid-iteration, mid-checkpoint) and resumed each time ends
    /// with a loadable generator, each iteration once in losses.csv, and no temporary left behind.
    func testTrainSurvivesSIGKILLsAndResumes() throws {
        let vocab = URL(fileURLWithPath: Self.repository).deletingLastPathComponent()
            .appendingPathComponent("shared/reference/clip/bpe_simple_vocab_16e6.txt.gz").path
        guard FileManager.default.fileExists(atPath: vocab) else { throw XCTSkip("CLIP vocabulary absent at \(vocab) (../shared/reference not present)") }
        let dir = try makeTemporaryDirectory("cli-kill")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let repo = Self.repository
        let base = "\"$NADA\" train --generator \(repo)/fixtures/quickstart/generator.pt --clip \(repo)/fixtures/clip/model_state.pt --vocab \(vocab) --source photo --target sketch --iterations 6 --batch 2 --auto-layer-k 2 --save-every 1 --sample-every 0 --output run"
        var generator = SystemRandomNumberGenerator()
        for round in 0..<3 {
            let resume = FileOps.exists(dir + "/run/checkpoint.pt") ? " --resume" : ""
            let delay = Double.random(in: 0.3...2.0, using: &generator)
            // Start, wait, SIGKILL; `wait` collects the status so the shell does not report it.
            let (_, output) = try shell("\(base)\(resume) > log\(round).txt 2>&1 & pid=$!; sleep \(delay); kill -9 $pid 2>/dev/null; wait $pid; true", in: dir)
            XCTAssertFalse(output.contains("Fatal error"), output)
        }
        let resume = FileOps.exists(dir + "/run/checkpoint.pt") ? " --resume" : ""
        let (status, output) = try shell(base + resume, in: dir)
        XCTAssertEqual(status, 0, output)
        let rows = try String(contentsOfFile: dir + "/run/losses.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(rows.map { String($0.split(separator: ",")[0]) }, ["1", "2", "3", "4", "5", "6"])
        let left = try FileManager.default.contentsOfDirectory(atPath: dir + "/run") + (try FileManager.default.contentsOfDirectory(atPath: dir + "/run/samples"))
        XCTAssertFalse(left.contains { $0.hasPrefix(FileOps.temporaryPrefix) }, "\(left)")
        XCTAssertTrue(FileOps.isRegularFile(dir + "/run/generator.pt"))
        let (loads, inspect) = try shell("\"$NADA\" models inspect run/generator.pt", in: dir)
        XCTAssertEqual(loads, 0, inspect)
    }

    /// Issue 14: every subcommand runs as a process on tiny models — exit statuses, messages for bad input, files
    /// written. (edit, watch and train end to end: DemoTests and testTrainSurvivesSIGKILLsAndResumes; invert above.)
    func testEverySubcommandRunsAsAProcess() throws {
        let dir = try makeTemporaryDirectory("cli-all")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let repo = Self.repository
        func run(_ arguments: String) throws -> (Int32, String) { try shell("\"$NADA\" " + arguments, in: dir) }

        for sub in ["edit", "train", "invert", "generate", "watch", "demo", "embed", "tokenize", "models", "domains",
                    "directions", "video", "provenance"] {
            let (status, output) = try run("\(sub) --help")
            XCTAssertEqual(status, 0, "\(sub) --help: \(output)")
            XCTAssertTrue(output.contains("USAGE: nada-edit \(sub)"), output)
        }
        let (unknown, message) = try run("--no-such-flag x.jpg")
        XCTAssertEqual(unknown, 64, message)

        // generate: sampled codes into PNGs; the same name again is refused (exit 1) and the file is kept.
        var (status, output) = try run("generate --generator \(repo)/fixtures/quickstart/generator.pt --count 2 --seed 3 --output gen/s.png")
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(FileOps.isRegularFile(dir + "/gen/s_0000.png") && FileOps.isRegularFile(dir + "/gen/s_0001.png"), output)
        (status, output) = try run("generate --generator \(repo)/fixtures/quickstart/generator.pt --count 1 --output gen/s_0000.png")
        XCTAssertEqual(status, 1, output)
        XCTAssertTrue(output.contains("already exists"), output)
        (status, output) = try run("generate --generator missing.pt --count 1 --output gen/m.png")
        XCTAssertEqual(status, 1, output)
        XCTAssertTrue(output.contains("--generator 'missing.pt'"), output)

        // embed: image features, [2, embed_dim] float32.
        (status, output) = try run("embed --clip \(repo)/fixtures/clip/model_state.pt --image \(repo)/fixtures/images/chelsea.png \(repo)/fixtures/images/camera.png --output f.npy")
        XCTAssertEqual(status, 0, output)
        XCTAssertEqual(try readNpyShape(dir + "/f.npy"), [2, 32])
        (status, output) = try run("embed --clip \(repo)/fixtures/clip/model_state.pt --output f.npy")
        XCTAssertEqual(status, 64, output)

        // tokenize with the demo vocabulary refuses (it is not CLIP's) and names the fix; models and domains list an empty store.
        (status, output) = try run("tokenize --vocab \(repo)/fixtures/demo/bpe_demo_vocab.txt.gz photo")
        XCTAssertEqual(status, 1, output)
        XCTAssertTrue(output.contains("merge lines"), output)
        for list in ["models list", "domains list"] {
            (status, output) = try run(list)
            XCTAssertEqual(status, 0, "\(list): \(output)")
        }

        // directions: the GANSpace presets, and SeFa components of the tiny generator.
        (status, output) = try run("directions presets")
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("smile"), output)
        (status, output) = try run("directions factorize --generator \(repo)/fixtures/quickstart/generator.pt --output sefa.npy")
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(FileOps.isRegularFile(dir + "/sefa.npy"), output)

        // provenance: a generated image has none (said, exit 0); a missing file is an error (exit 1).
        (status, output) = try run("provenance gen/s_0000.png")
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("No nada-edit provenance"), output)
        (status, output) = try run("provenance gen/none.png")
        XCTAssertEqual(status, 1, output)
        XCTAssertTrue(output.contains("gen/none.png"), output)
    }

    func readNpyShape(_ path: String) throws -> [Int] { try Formats.readNpy(path).shape }
}
