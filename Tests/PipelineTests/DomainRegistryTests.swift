import XCTest
@testable import Pipeline

final class DomainRegistryTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try makeTemporaryDirectory("domains") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// What the trainer leaves behind: an adapted generator and a record naming it and the base generator.
    func makeTrainerOutput(store: ModelStore, name: String) throws -> (record: String, adapted: Data) {
        let base = testBytes(3000, seed: 1)
        try FileOps.createDirectory(store.directory(for: .generators))
        let basePath = store.path("generators/base.pt")
        try base.write(to: URL(fileURLWithPath: basePath))
        let adapted = testBytes(3000, seed: 2)
        try FileOps.createDirectory(dir + "/train-out")
        try adapted.write(to: URL(fileURLWithPath: dir + "/train-out/\(name).pt"))
        let record = DomainRecord(
            name: name, sourcePrompt: "photo", targetPrompt: "pencil sketch",
            generator: .init(path: "\(name).pt", sha256: FileDigest.sha256Hex(of: adapted)),
            baseGenerator: .init(path: basePath, sha256: FileDigest.sha256Hex(of: base)),
            clipModels: ["ViT-B/32", "ViT-B/16"], iterations: 300, finalLoss: 0.71, wallTimeSeconds: 5400,
            toolVersion: "0.1.0", created: "2026-11-27T05:00:00Z", hyperparameters: ["lr": "0.002"])
        try record.write(to: dir + "/train-out/record.json")
        return (dir + "/train-out/record.json", adapted)
    }

    func testInstallListShowRemove() throws {
        let store = ModelStore(root: dir + "/models")
        let registry = DomainRegistry(store: store)
        XCTAssertEqual(try registry.names(), [])
        let (recordPath, adapted) = try makeTrainerOutput(store: store, name: "sketch")

        let installed = try registry.install(recordFile: recordPath)
        XCTAssertEqual(try registry.names(), ["sketch"])
        XCTAssertEqual(installed.record.targetPrompt, "pencil sketch")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: installed.generatorPath)), adapted)
        XCTAssertEqual(installed.baseGeneratorPath, store.path("generators/base.pt"))
        // The base generator inside the store is referenced relatively, so the store can move.
        let stored = try DomainRecord.load(from: installed.recordPath)
        XCTAssertEqual(stored.baseGenerator.path, "../../generators/base.pt")
        XCTAssertNoThrow(try registry.resolve("sketch", verifyChecksums: true))

        XCTAssertThrowsError(try registry.install(recordFile: recordPath)) { XCTAssertTrue("\($0)".contains("already installed")) }
        // Same record under another name via `models add --kind domains --name`.
        try store.add(file: recordPath, kind: .domains, name: "sketch2")
        XCTAssertEqual(try registry.names(), ["sketch", "sketch2"])

        // Tampered adapted generator -> resolve with checksums fails; verify reports it.
        try Data("x".utf8).write(to: URL(fileURLWithPath: installed.generatorPath))
        XCTAssertThrowsError(try registry.resolve("sketch", verifyChecksums: true)) {
            guard case PipelineError.checksumMismatch = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertTrue(try store.verify().contains { $0.entry.name == "sketch" && $0.status != .ok })

        try registry.remove("sketch")
        XCTAssertEqual(try registry.names(), ["sketch2"])
        XCTAssertFalse(FileOps.exists(store.path("domains/sketch")))
        XCTAssertThrowsError(try registry.remove("sketch")) { error in
            XCTAssertEqual(error as? PipelineError, .unknownDomain(name: "sketch", known: ["sketch2"]))
        }
        try FileManager.default.removeItem(atPath: store.path("generators/base.pt"))
        XCTAssertThrowsError(try registry.resolve("sketch2")) { XCTAssertTrue("\($0)".contains("base generator"), "\($0)") }
    }

    func testInstallRejectsGeneratorThatDoesNotMatchItsRecord() throws {
        let store = ModelStore(root: dir + "/models")
        let (recordPath, _) = try makeTrainerOutput(store: store, name: "pixar")
        try Data("other".utf8).write(to: URL(fileURLWithPath: dir + "/train-out/pixar.pt"))
        XCTAssertThrowsError(try DomainRegistry(store: store).install(recordFile: recordPath)) {
            guard case PipelineError.checksumMismatch = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try DomainRegistry(store: store).names(), [])
    }

    func testRecordErrorsNameTheFileAndField() throws {
        let path = dir + "/record.json"
        try Data(#"{"schemaVersion": 1, "name": "x"}"#.utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try DomainRecord.load(from: path)) { error in
            XCTAssertTrue("\(error)".contains(path), "\(error)")
            XCTAssertTrue("\(error)".contains("missing field"), "\(error)")
        }
    }

    func testRecordJSONRoundTripsWithStableKeys() throws {
        let record = DomainRecord(name: "n", sourcePrompt: "a", targetPrompt: "b", generator: .init(path: "g.pt", sha256: "00"),
                                  baseGenerator: .init(path: "/b.pt", sha256: "11"), clipModels: ["ViT-B/32"], iterations: 3,
                                  finalLoss: 0.5, wallTimeSeconds: 2, toolVersion: "0.1.0", created: "2026-01-01T00:00:00Z")
        try record.write(to: dir + "/r.json")
        XCTAssertEqual(try DomainRecord.load(from: dir + "/r.json"), record)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/r.json"))) as? [String: Any]
        XCTAssertEqual(Set(json?.keys ?? [:].keys), ["schemaVersion", "name", "sourcePrompt", "targetPrompt", "generator", "baseGenerator",
                                                 "clipModels", "iterations", "finalLoss", "wallTimeSeconds", "toolVersion", "created"])
    }
}
