import XCTest
#if canImport(Glibc)
import Glibc
#endif
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

    func testAddOfASymlinkStoresACopyOfTheTargetsBytes() throws {
        let dir = try makeTemporaryDirectory("store")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = ModelStore(root: dir + "/models")
        let target = dir + "/downloads/real-encoder.bin"
        try FileOps.createDirectory(dir + "/downloads")
        let bytes = testBytes(3000, seed: 5)
        try bytes.write(to: URL(fileURLWithPath: target))
        let link = dir + "/e4e_ffhq_encode.pt"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)

        let entry = try store.add(file: link)
        XCTAssertEqual(entry.file, "encoders/e4e_ffhq_encode.pt")
        XCTAssertEqual(entry.sha256Origin, .added)
        let stored = store.path(entry.file)
        var st = stat()
        XCTAssertEqual(lstat(stored, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG, "the store must hold the bytes, not a link")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: stored)), bytes)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), target, "the link is untouched")

        // Changing or removing the link's target later does not change the store.
        try FileManager.default.removeItem(atPath: target)
        XCTAssertEqual(try store.verify().map(\.status), [.ok])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.directory(for: .encoders)), ["e4e_ffhq_encode.pt"],
                       "no temporary file left behind")
        // A dangling link is a clear error naming it.
        XCTAssertThrowsError(try store.add(file: link, name: "again")) { XCTAssertTrue("\($0)".contains(link), "\($0)") }
    }

    func testConfirmMarksAnUnverifiedChecksumOnlyWhenTheGivenOneMatches() throws {
        let dir = try makeTemporaryDirectory("store")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = ModelStore(root: dir + "/models")
        let bytes = testBytes(4000, seed: 6)
        let sha = FileDigest.sha256Hex(of: bytes)
        try FileOps.createDirectory(store.directory(for: .generators))
        try bytes.write(to: URL(fileURLWithPath: store.path("generators/g.pt")))
        try store.record(name: "g", kind: .generators, relativeFile: "generators/g.pt", sha256: sha,
                         source: "https://drive.google.com/file/d/X/view", origin: .unverified)

        XCTAssertThrowsError(try store.confirm(name: "g", sha256: "abc")) { XCTAssertTrue("\($0)".contains("64 hex digits"), "\($0)") }
        let other = String(repeating: "0", count: 64)
        XCTAssertThrowsError(try store.confirm(name: "g", sha256: other)) { error in
            XCTAssertTrue("\(error)".contains(other) && "\(error)".contains("nothing was confirmed"), "\(error)")
        }
        XCTAssertThrowsError(try store.confirm(name: "nope", sha256: sha)) { XCTAssertTrue("\($0)".contains("unknown model 'nope'"), "\($0)") }
        XCTAssertEqual(try store.loadManifest().entry(named: "g")?.sha256Origin, .unverified, "failed confirmations change nothing")

        XCTAssertEqual(try store.confirm(name: "g", sha256: " " + sha.uppercased()).sha256Origin, .confirmed)
        XCTAssertEqual(try store.loadManifest().entry(named: "g")?.sha256Origin, .confirmed)

        // The file is re-hashed: a copy changed on disk since it was recorded cannot be confirmed.
        try store.record(name: "g", kind: .generators, relativeFile: "generators/g.pt", sha256: sha, source: "https://x", origin: .unverified)
        var changed = bytes
        changed[7] ^= 0x40
        try changed.write(to: URL(fileURLWithPath: store.path("generators/g.pt")))
        XCTAssertThrowsError(try store.confirm(name: "g", sha256: sha)) {
            guard case PipelineError.checksumMismatch = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try store.loadManifest().entry(named: "g")?.sha256Origin, .unverified)
    }

    func testManifestsWithoutChecksumOriginStillLoadAndNewOnesKeepTheOldKey() throws {
        let dir = try makeTemporaryDirectory("store")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // As written before sha256Origin existed.
        let old = """
        {"version": 1, "entries": [
          {"name": "clip", "kind": "clip", "file": "clip/ViT-B-32.pt", "sha256": "aa", "size": 1,
           "source": "https://openaipublic.azureedge.net/clip/ViT-B-32.pt", "sha256Published": true, "added": "2026-01-01T00:00:00Z"},
          {"name": "gen", "kind": "generators", "file": "generators/gen.pt", "sha256": "bb", "size": 2,
           "source": "https://drive.google.com/file/d/X/view (resumed at byte 5)", "sha256Published": false, "added": "2026-01-01T00:00:00Z"},
          {"name": "mine", "kind": "encoders", "file": "encoders/mine.pt", "sha256": "cc", "size": 3,
           "source": "/home/u/mine.pt", "sha256Published": false, "added": "2026-01-01T00:00:00Z"}]}
        """
        try Data(old.utf8).write(to: URL(fileURLWithPath: dir + "/manifest.json"))
        let store = ModelStore(root: dir)
        let manifest = try store.loadManifest()
        XCTAssertEqual(manifest.entry(named: "clip")?.sha256Origin, .published)
        XCTAssertEqual(manifest.entry(named: "gen")?.sha256Origin, .unverified)
        XCTAssertEqual(manifest.entry(named: "mine")?.sha256Origin, .added)

        try store.saveManifest(manifest)
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: store.manifestPath))) as? [String: Any]
        let entries = try XCTUnwrap(saved?["entries"] as? [[String: Any]])
        for e in entries {
            XCTAssertNotNil(e["sha256Published"] as? Bool, "older nada-edit versions require this key")
            XCTAssertNotNil(e["sha256Origin"] as? String)
        }
        XCTAssertEqual(try store.loadManifest(), manifest)
        XCTAssertTrue(ModelManifest.ChecksumOrigin.unverified.label.contains("UNVERIFIED"))
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
