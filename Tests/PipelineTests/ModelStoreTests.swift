import XCTest
@testable import Pipeline

final class ModelStoreTests: XCTestCase {
    func testDefaultRootPrecedence() {
        XCTAssertEqual(ModelStore.defaultRoot(override: "/x", environment: ["NADA_EDIT_MODELS": "/y"]), "/x")
        XCTAssertEqual(ModelStore.defaultRoot(environment: ["NADA_EDIT_MODELS": "/y", "XDG_DATA_HOME": "/d"]), "/y")
        XCTAssertEqual(ModelStore.defaultRoot(environment: ["XDG_DATA_HOME": "/d", "HOME": "/h"]), "/d/nada-edit/models")
        XCTAssertEqual(ModelStore.defaultRoot(environment: ["XDG_DATA_HOME": "relative", "HOME": "/h"]), "/h/.local/share/nada-edit/models")
        XCTAssertEqual(ModelStore.defaultRoot(environment: ["HOME": "/h"]), "/h/.local/share/nada-edit/models")
    }

    func testAddListVerifyDetectsCorruptionAndMissingFiles() throws {
        let dir = try makeTemporaryDirectory("store")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = ModelStore(root: dir + "/models")
        let source = dir + "/stylegan2-test.pt"
        let bytes = testBytes(5000, seed: 1)
        try bytes.write(to: URL(fileURLWithPath: source))

        let entry = try store.add(file: source)
        XCTAssertEqual(entry.kind, .generators)
        XCTAssertEqual(entry.name, "stylegan2-test")
        XCTAssertEqual(entry.sha256, FileDigest.sha256Hex(of: bytes))
        XCTAssertEqual(entry.size, 5000)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: store.path(entry.file))), bytes)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: source)), bytes, "add must not touch the original")
        XCTAssertThrowsError(try store.add(file: source)) { XCTAssertTrue("\($0)".contains("already")) }

        let vocab = dir + "/vocab.bin"
        try Data("v".utf8).write(to: URL(fileURLWithPath: vocab))
        XCTAssertThrowsError(try store.add(file: dir + "/mystery.bin")) { XCTAssertTrue("\($0)".contains("no such file")) }
        try Data("m".utf8).write(to: URL(fileURLWithPath: dir + "/mystery.bin"))
        XCTAssertThrowsError(try store.add(file: dir + "/mystery.bin")) { XCTAssertTrue("\($0)".contains("--kind")) }
        try store.add(file: dir + "/mystery.bin", kind: .encoders, name: "enc")

        try FileOps.createDirectory(store.directory(for: .clip))
        try Data("stray".utf8).write(to: URL(fileURLWithPath: store.path("clip/stray.pt")))
        let listing = try store.list()
        XCTAssertEqual(Set(listing.entries.map(\.name)), ["stylegan2-test", "enc"])
        XCTAssertEqual(listing.untracked, ["clip/stray.pt"])

        XCTAssertEqual(try store.verify().map(\.status), [.ok, .ok])
        // Flip one byte of the stored generator; remove the encoder.
        var corrupted = bytes
        corrupted[100] ^= 1
        try corrupted.write(to: URL(fileURLWithPath: store.path(entry.file)))
        try FileManager.default.removeItem(atPath: store.path("encoders/mystery.bin"))
        let results = Dictionary(uniqueKeysWithValues: try store.verify().map { ($0.entry.name, $0.status) })
        XCTAssertEqual(results["stylegan2-test"], .mismatch(actual: FileDigest.sha256Hex(of: corrupted)))
        XCTAssertEqual(results["enc"], .missing)
    }

    func testCorruptManifestIsAClearError() throws {
        let dir = try makeTemporaryDirectory("store")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: dir + "/manifest.json"))
        XCTAssertThrowsError(try ModelStore(root: dir).list()) { error in
            XCTAssertTrue("\(error)".contains("manifest.json"), "\(error)")
        }
    }
}
