import Foundation
import Imaging
import XCTest
@testable import ClusterQueue
@testable import Pipeline

/// Issue 19 with real processes: `edit --queue` batch workers, two of them killed with SIGKILL while they hold a
/// photo (nothing of theirs runs after the signal: no handler, no release, no heartbeat), one more started later.
/// The in-process test (`testFourWorkersTwoKilledOneAddedEveryPhotoDoneOnce`) covers the exact moments of death;
/// this one shows the same contract holds for the binary users run.
extension QueueTests {
    func testFourWorkerProcessesTwoKilledWithSIGKILLOneAddedEveryPhotoEditedOnce() throws {
        let url = try freshQueue()
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: CLIProcessTests.binary), "swift test builds nada-edit beside the tests")
        let models = try demoStoreAndQueue(url)

        // 24 distinct small photos (center alignment takes any picture).
        let inbox = dir + "/photos", out = dir + "/out"
        try FileOps.createDirectory(inbox)
        var shas = [String: String]()
        for i in 0..<24 {
            var photo = RGBImage(width: 48, height: 40, fill: (UInt8(10 * i), 90, UInt8(250 - 7 * i)))
            for x in 0..<48 { photo.pixels[3 * (x + 48 * (i % 40))] = 255 }   // a bright row, somewhere else in each
            let name = String(format: "photo-%02d.png", i)
            let bytes = Data(try encodeImage(photo, format: .png, provenance: nil))
            try bytes.write(to: URL(fileURLWithPath: inbox + "/" + name))
            shas[name] = FileDigest.sha256Hex(of: bytes)
        }
        XCTAssertEqual(Set(shas.values).count, 24, "distinct contents")

        let edit = ["edit", inbox, "--domain", "sketch", "--align", "center", "--queue", url.asArgument, "--output", out,
                    "--no-report", "--queue-lease", "2"]
        func log(_ i: Int) -> String { (try? String(contentsOfFile: dir + "/w\(i).log", encoding: .utf8)) ?? "" }
        var workers = try (0..<4).map { try startNadaEdit(edit, log: dir + "/w\($0).log", models: models) }

        // Workers 0 and 1 are killed as soon as they say they are editing a photo: they die holding it.
        var held = [Int: String]()
        let deadline = Date().addingTimeInterval(120)
        while held.count < 2 && Date() < deadline {
            for i in 0..<2 where held[i] == nil && workers[i].isRunning {
                if let line = log(i).split(separator: "\n").first(where: { $0.hasPrefix("editing ") }) {
                    kill(workers[i].processIdentifier, SIGKILL)
                    held[i] = String(line.dropFirst("editing ".count))
                }
            }
            Thread.sleep(forTimeInterval: 0.002)
        }
        for i in 0..<2 { workers[i].waitUntilExit() }
        XCTAssertEqual(held.count, 2, "both workers started a photo:\n\(log(0))\n\(log(1))")
        for i in 0..<2 { XCTAssertEqual(workers[i].terminationReason, .uncaughtSignal, "worker \(i) was killed") }
        let queue = try PostgresWorkQueue(url: url)
        XCTAssertEqual(Set(try queue.snapshot().claimed.map(\.input)).intersection(held.values), Set(held.values),
                       "the dead workers still hold their photos (the leases have not expired yet)")

        // A fifth worker joins; all three finish once the dead workers' leases expire and their photos are redone.
        workers.append(try startNadaEdit(edit, log: dir + "/w4.log", models: models))
        for i in 2..<5 {
            XCTAssertTrue(finish(workers[i], within: 240), "worker \(i) finished:\n\(log(i))")
            XCTAssertEqual(workers[i].terminationStatus, 0, log(i))
        }
        let survivors = (2..<5).map(log).joined(separator: "\n")
        for path in held.values { XCTAssertTrue(survivors.contains("editing \(path) (attempt 2)"), "\(path) redone:\n\(survivors)") }

        // Every photo edited exactly once: one output each, its provenance naming that photo's content; no temporaries.
        let outputs = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        XCTAssertEqual(outputs, shas.keys.map { $0.replacingOccurrences(of: ".png", with: ".sketch.png") }.sorted())
        for (name, sha) in shas {
            let file = out + "/" + name.replacingOccurrences(of: ".png", with: ".sketch.png")
            let provenance = try XCTUnwrap(try readProvenance(path: file).provenance, name)
            XCTAssertEqual(provenance.inputSHA256, sha, name)
        }
        let snapshot = try queue.snapshot()
        XCTAssertEqual([snapshot.done, snapshot.queued, snapshot.claimed.count, snapshot.failed.count], [24, 0, 0, 0])
        XCTAssertEqual(Set(snapshot.doneOutputs.keys), Set(shas.values))
        try queue.close()
    }
}
