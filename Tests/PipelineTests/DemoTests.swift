import Foundation
import Imaging
import Models
@testable import Pipeline
import Training
import XCTest

/// `nada-edit demo` as a newcomer runs it: the built binary, in a temporary folder holding only a copy of the fixture
/// files the demo names (so no ../shared beside it), with HOME, the model store and TMPDIR pointed at empty folders.
/// Every output the demo claims is checked on disk.
final class DemoTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures").path
    static func fixture(_ relative: String) -> String { (fixtures as NSString).appendingPathComponent(relative) }

    var work = ""
    override func setUpWithError() throws { work = try makeTemporaryDirectory("demo") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: work) }

    /// The `nada-edit` executable built beside this test bundle (`swift build` / `swift test` build both).
    func binary() throws -> String {
        let folder = Bundle.main.executableURL?.deletingLastPathComponent()
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidates = [folder.appendingPathComponent("nada-edit").path]
        // Bundle.main can be the xctest runner (macOS); then the products folder is the one holding the .xctest.
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("nada-edit").path)
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            XCTFail("nada-edit is not built beside the tests (looked at \(candidates)); run `swift build --build-tests` first")
            throw XCTSkip("no nada-edit binary")
        }
        return found
    }

    /// Copies the files `DemoRun.Fixture.all` names into `<work>/clone/fixtures`: if the demo read anything else from
    /// fixtures/ (or ../shared), it would fail here.
    func cloneFixtures() throws -> String {
        let root = work + "/clone/fixtures"
        for relative in DemoRun.Fixture.all {
            let destination = (root as NSString).appendingPathComponent(relative)
            try FileManager.default.createDirectory(atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Self.fixture(relative), toPath: destination)
        }
        return root
    }

    /// `unshare` when it can run a command in a new network namespace (only loopback, down): the demo then has
    /// no network at all. Where user namespaces are not allowed the demo runs normally.
    static let networkNamespace: String? = {
        for path in ["/usr/bin/unshare", "/bin/unshare"] where FileManager.default.isExecutableFile(atPath: path) {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: path)
            probe.arguments = ["-rn", "true"]
            probe.standardError = FileHandle.nullDevice
            guard (try? probe.run()) != nil else { continue }
            probe.waitUntilExit()
            if probe.terminationStatus == 0 { return path }
        }
        return nil
    }()

    struct Outcome { var status: Int32; var stdout: String; var stderr: String }

    /// Runs the binary with a clean environment: only PATH (and sanitizer settings), plus HOME / NADA_EDIT_MODELS /
    /// TMPDIR in `work`.
    func runDemo(_ arguments: [String], cwd: String) throws -> Outcome {
        let process = Process()
        if let unshare = Self.networkNamespace {
            process.executableURL = URL(fileURLWithPath: unshare)
            process.arguments = ["-rn", try binary(), "demo"] + arguments
        } else {
            print("note: unshare -rn is not usable here, so the demo runs with the network present (it opens no connection)")
            process.executableURL = URL(fileURLWithPath: try binary())
            process.arguments = ["demo"] + arguments
        }
        process.currentDirectoryURL = URL(fileURLWithPath: cwd)
        var environment = ["HOME": work + "/home", "NADA_EDIT_MODELS": work + "/user-models", "TMPDIR": work + "/tmp"]
        environment["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        // Sanitizer settings pass through (tools/sanitizers.sh: the leak suppressions apply to the child too).
        for key in ["ASAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"] { environment[key] = ProcessInfo.processInfo.environment[key] }
        process.environment = environment
        // Output goes to files outside the folders the test inspects (a pipe could fill up and block the demo).
        let logs = work + "/logs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: logs + "/out", contents: nil)
        _ = FileManager.default.createFile(atPath: logs + "/err", contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: logs + "/out")
        process.standardError = FileHandle(forWritingAtPath: logs + "/err")
        try process.run()
        process.waitUntilExit()
        let stdoutData = try Data(contentsOf: URL(fileURLWithPath: logs + "/out"))
        let stderrData = try Data(contentsOf: URL(fileURLWithPath: logs + "/err"))
        return Outcome(status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
                       stderr: String(decoding: stderrData, as: UTF8.self))
    }

    func makeFolders() throws -> String {
        for name in ["home", "user-models", "tmp", "cwd"] {
            try FileManager.default.createDirectory(atPath: work + "/" + name, withIntermediateDirectories: true)
        }
        return work + "/cwd"
    }

    func contents(_ folder: String) -> [String] {
        ((try? FileManager.default.subpathsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    func testDemoRunsOfflineFromTheFixturesAndWritesEverythingItClaims() throws {
        let cwd = try makeFolders()
        let fixtures = try cloneFixtures()
        let out = work + "/out"
        let result = try runDemo(["--output", out, "--fixtures", fixtures], cwd: cwd)
        XCTAssertEqual(result.status, 0, "demo failed:\n\(result.stderr)\n\(result.stdout)")
        guard result.status == 0 else { return }

        // Training: progress for every iteration, the run's files, and a record that matches them.
        for i in 1...DemoRun.defaultIterations {
            XCTAssertTrue(result.stderr.contains("iteration \(i)/\(DemoRun.defaultIterations)"), "no progress line for iteration \(i)")
        }
        let train = out + "/train"
        for file in ["generator.pt", "checkpoint.pt", "loss.png", "losses.csv", "record.json", "samples/iter_000000.png",
                     String(format: "samples/iter_%06d.png", DemoRun.defaultIterations)] {
            XCTAssertTrue(FileOps.isRegularFile("\(train)/\(file)"), "training output \(file) missing")
        }
        XCTAssertTrue(result.stdout.contains(train + "/record.json"))
        let record = try DomainRecord.load(from: train + "/record.json")
        XCTAssertEqual(record.name, "sketch")
        XCTAssertEqual(record.sourcePrompt, "photo")
        XCTAssertEqual(record.targetPrompt, "sketch")
        XCTAssertEqual(record.iterations, DemoRun.defaultIterations)
        XCTAssertTrue(record.finalLoss.isFinite)
        XCTAssertEqual(record.generator.sha256, try FileDigest.sha256Hex(ofFileAt: train + "/generator.pt"))
        XCTAssertEqual(record.baseGenerator.sha256, try FileDigest.sha256Hex(ofFileAt: fixtures + "/" + DemoRun.Fixture.generator))
        XCTAssertEqual(try String(contentsOfFile: train + "/losses.csv", encoding: .utf8).split(separator: "\n").count,
                       DemoRun.defaultIterations + 1, "header + one line per iteration")

        // The demo's own store holds the models and the registered domain.
        let store = ModelStore(root: out + "/models")
        XCTAssertEqual(Set(try store.list().entries.map(\.name)), ["tiny-generator", "tiny-clip", "tiny-e4e", "demo-vocab"])
        XCTAssertNoThrow(try DomainRegistry(store: store).resolve("sketch", verifyChecksums: true))

        // Batch edits: one per bundled photo, each with provenance naming its input, domain and prompts.
        let photoSHA = try Dictionary(uniqueKeysWithValues: DemoRun.Fixture.photos.map {
            (OutputNaming.stem(of: $0), try FileDigest.sha256Hex(ofFileAt: fixtures + "/" + $0))
        })
        for (stem, sha) in photoSHA {
            let edit = "\(out)/edited/\(stem).sketch.png"
            XCTAssertTrue(result.stdout.contains(edit), "stdout does not list \(edit)")
            try checkProvenance(edit, inputSHA: sha, stem: stem)
            XCTAssertTrue(FileOps.isRegularFile("\(out)/edited/\(stem).sketch.compare.png"), "comparison sheet of \(stem) missing")
        }

        // Watched folder: the ledger has one started + done pair per distinct photo (the renamed copy is not
        // edited again), no failures, and every output it names exists as a JPEG with provenance.
        let ledgerPath = out + "/watch/edited/" + Ledger.fileName
        XCTAssertTrue(result.stdout.contains(ledgerPath))
        let lines = try String(contentsOfFile: ledgerPath, encoding: .utf8).split(separator: "\n")
        let entries = try lines.map { try JSONDecoder().decode(LedgerEntry.self, from: Data($0.utf8)) }
        XCTAssertEqual(entries.filter { $0.state == .failed }.count, 0)
        XCTAssertEqual(entries.filter { $0.state == .started }.count, photoSHA.count)
        let done = entries.filter { $0.state == .done }
        XCTAssertEqual(Set(done.map(\.inputSHA256)), Set(photoSHA.values))
        XCTAssertEqual(done.count, photoSHA.count, "each photo content is edited exactly once")
        for entry in done {
            XCTAssertEqual(entry.domains, ["sketch"])
            let stem = photoSHA.first { $0.value == entry.inputSHA256 }!.key
            // The done entry lists every file written for the photo: the edit and its comparison sheet.
            XCTAssertEqual(entry.outputs, ["\(out)/watch/edited/\(stem).sketch.jpg", "\(out)/watch/edited/\(stem).sketch.compare.jpg"])
            XCTAssertTrue(result.stdout.contains(entry.outputs[0]), "stdout does not list \(entry.outputs[0])")
            try checkProvenance(entry.outputs[0], inputSHA: entry.inputSHA256, stem: stem)
        }
        XCTAssertTrue(result.stdout.contains("already done 1"), result.stdout)

        // Nothing outside the output folder: not the user's home or store, not the working or temporary folder,
        // and the fixtures are as they were.
        for folder in ["home", "user-models", "tmp", "cwd"] {
            XCTAssertEqual(contents(work + "/" + folder), [], "the demo wrote into \(folder)")
        }
        for relative in DemoRun.Fixture.all {
            XCTAssertEqual(try FileDigest.sha256Hex(ofFileAt: fixtures + "/" + relative), try FileDigest.sha256Hex(ofFileAt: Self.fixture(relative)))
        }
    }

    func checkProvenance(_ path: String, inputSHA: String, stem: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertTrue(FileOps.isRegularFile(path), "\(path) missing", file: file, line: line)
        let image = try decodeImage(FileIO.read(path), name: path)
        XCTAssertEqual(image.width, 64, "the tiny generator renders 64 px", file: file, line: line)
        let record = try readProvenance(path: path)
        guard let p = record.provenance else { return XCTFail("\(path) has no nada-edit provenance", file: file, line: line) }
        XCTAssertEqual(p.domain, "sketch", file: file, line: line)
        XCTAssertEqual(p.domainPrompts, ["source": "photo", "target": "sketch"], file: file, line: line)
        XCTAssertEqual(p.inputSHA256, inputSHA, file: file, line: line)
        XCTAssertEqual(p.inputFileName.map { OutputNaming.stem(of: $0) }, stem, file: file, line: line)
        XCTAssertEqual(p.digitalSourceType, Provenance.trainedAlgorithmicMedia, file: file, line: line)
        XCTAssertNotNil(p.modelSHA256["generator"], file: file, line: line)
    }

    func testDemoNamesTheFlagWhenFixturesAreMissingAndNeverWritesIntoAFullFolder() throws {
        let cwd = try makeFolders()
        // From a folder without fixtures/: a usage error that names --fixtures, and nothing written.
        let lost = try runDemo(["--output", work + "/never"], cwd: cwd)
        XCTAssertEqual(lost.status, 64, lost.stderr)
        XCTAssertTrue(lost.stderr.contains("--fixtures"), lost.stderr)
        XCTAssertFalse(FileOps.exists(work + "/never"))

        // From a clone's root, fixtures/ is found by default; an output folder with something in it is refused untouched.
        _ = try cloneFixtures()
        let full = work + "/full"
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: full + "/keep.txt"))
        let refused = try runDemo(["--output", full], cwd: work + "/clone")
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("not empty"), refused.stderr)
        XCTAssertFalse(refused.stderr.contains("--fixtures"), "the default ./fixtures should have been found: \(refused.stderr)")
        XCTAssertEqual(contents(full), ["keep.txt"])
    }

    /// The demo vocabulary goes through the loader real runs use; only the merge count differs.
    func testDemoVocabularyLoadsThroughTheCLIPLoaderAndFitsTheTinyCLIP() throws {
        let path = Self.fixture(DemoRun.Fixture.vocabulary)
        let tokenizer = try ModelResolver.tokenizer(at: path, mergeCount: nil)
        XCTAssertEqual(tokenizer.vocabulary.count, 512 + 300 + 2, "256 bytes, 256 with </w>, 300 merges, 2 specials")
        XCTAssertEqual(tokenizer.endOfTextID, 813)
        // Words of the text the merges were learnt from come out whole.
        XCTAssertEqual(tokenizer.encode("photo"), [tokenizer.encoder["photo</w>"]!])
        XCTAssertEqual(tokenizer.encode("a sketch").count, 2)
        XCTAssertEqual(try tokenizer.decode(tokenizer.encode("a pencil sketch of the cat.")), "a pencil sketch of the cat . ")
        // Every prompt the demo's training makes fits the tiny CLIP's embedding and context.
        let clip = try ModelResolver.clip(at: Self.fixture(DemoRun.Fixture.clip))
        let rows = try tokenizer.tokenize(PromptTemplates.compose(DemoRun.sourcePrompt) + PromptTemplates.compose(DemoRun.targetPrompt),
                                          contextLength: clip.config.contextLength)
        XCTAssertLessThan(rows.flatMap { $0 }.max()!, Int32(clip.config.vocabSize))

        // Real runs keep CLIP's merge count: the demo file is refused, with the way to get the real one.
        XCTAssertThrowsError(try ModelResolver.tokenizer(at: path)) { XCTAssertTrue("\($0)".contains("has 300 merge lines, CLIP uses 48894"), "\($0)") }
        let setup = TrainingSetup(generatorPath: Self.fixture(DemoRun.Fixture.generator), clipPaths: [Self.fixture(DemoRun.Fixture.clip)],
                                  vocabularyPath: path, options: TrainingOptions())
        XCTAssertThrowsError(try setup.makeTrainer()) {
            XCTAssertTrue("\($0)".contains("bpe_demo_vocab.txt.gz") && "\($0)".contains("models fetch clip-bpe-vocab"), "\($0)")
        }
    }

    func testAllMergesModeIgnoresOnlyTrailingEmptyLines() throws {
        let file = work + "/small.txt"
        try "#version: 0.2\nc a\nca t</w>\n\n".write(toFile: file, atomically: true, encoding: .utf8)
        let tokenizer = try ModelResolver.tokenizer(at: file, mergeCount: nil)
        XCTAssertEqual(tokenizer.vocabulary.count, 512 + 2 + 2)
        XCTAssertEqual(tokenizer.encode("cat"), [tokenizer.encoder["cat</w>"]!])
        try "#version: 0.2\nc a\n\nca t</w>\n".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ModelResolver.tokenizer(at: file, mergeCount: nil)) { XCTAssertTrue("\($0)".contains("line 3"), "\($0)") }
        try "#version: 0.2\n".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ModelResolver.tokenizer(at: file, mergeCount: nil)) { XCTAssertTrue("\($0)".contains("small.txt"), "\($0)") }
    }
}
