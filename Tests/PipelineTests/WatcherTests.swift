import XCTest
@testable import Pipeline
#if canImport(Glibc)
import Glibc
#endif

final class WatcherTests: XCTestCase {
    var dir = ""
    var inbox: String { dir + "/inbox" }
    var out: String { dir + "/out" }
    override func setUpWithError() throws {
        dir = try makeTemporaryDirectory("watch")
        try FileOps.createDirectory(inbox)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func options(_ domains: [String] = ["sketch"]) -> WatchOptions {
        var o = WatchOptions(inputDirectory: inbox, outputDirectory: out, domains: domains)
        o.settleInterval = 0.05
        return o
    }

    /// Runs the watcher on its own thread; returns a function that stops it and hands back the summary.
    func start(_ watcher: Watcher) -> () throws -> WatchSummary {
        final class Box: @unchecked Sendable { var result: Result<WatchSummary, Error>? }   // written before `finished` is signalled
        let box = Box()
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            box.result = Result { try watcher.run() }
            finished.signal()
        }
        return {
            watcher.stop()
            guard finished.wait(timeout: .now() + 30) == .success, let result = box.result else { throw PipelineTestError("watcher did not stop") }
            return try result.get()
        }
    }

    func waitUntil(_ timeout: TimeInterval = 30, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return condition()
    }

    func ledgerEntries() throws -> [LedgerEntry] {
        let data = try Data(contentsOf: URL(fileURLWithPath: out + "/" + Ledger.fileName))
        // Lines that do not decode (a torn line left by a simulated crash) are skipped, as Ledger does.
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? JSONDecoder().decode(LedgerEntry.self, from: Data($0)) }
    }

    func testDropOf200FilesIsProcessedExactlyOnceAndRestartReprocessesNothing() throws {
        let processor = FakeProcessor()
        let watcher = Watcher(options: options(), processor: processor)
        let finish = start(watcher)
        Thread.sleep(forTimeInterval: 0.1)   // watching

        var expected = [String: Data]()
        for i in 0..<200 {
            let name = String(format: "photo%03d", i)
            if i % 2 == 0 {
                // Written in place (close-after-write).
                let data = FakeImages.jpeg("payload \(i)")
                try FakeImages.write(data, to: "\(inbox)/\(name).jpg")
                expected["\(name).sketch.jpg"] = FakeProcessor.expectedOutput(for: data, domain: "sketch")
            } else {
                // Written under a hidden temporary name, then renamed in (moved-in), as careful uploaders do.
                let data = FakeImages.png("payload \(i)")
                try FakeImages.write(data, to: "\(inbox)/.\(name).png.tmp")
                XCTAssertEqual(rename("\(inbox)/.\(name).png.tmp", "\(inbox)/\(name).png"), 0)
                expected["\(name).sketch.png"] = FakeProcessor.expectedOutput(for: data, domain: "sketch")
            }
        }
        let allDone = waitUntil { processor.calls.count == 200 && ((try? self.ledgerEntries().filter { $0.state == .done }.count) ?? 0) == 200 }
        let summary = try finish()
        XCTAssertTrue(allDone, "only \(processor.calls.count) of 200 processed")
        XCTAssertEqual(summary.processed.count, 200)
        XCTAssertTrue(processor.calls.values.allSatisfy { $0 == 1 }, "a photo was edited twice")
        XCTAssertEqual(summary.failed.count, 0)

        var outputs = Set(try FileManager.default.contentsOfDirectory(atPath: out))
        outputs.remove(Ledger.fileName)
        outputs.remove(".nada-edit-watch.lock")
        outputs.remove(BatchReport.fileName)   // the report, rewritten after each photo (issue 20)
        XCTAssertEqual(outputs, Set(expected.keys))
        for (name, data) in expected { XCTAssertEqual(FileManager.default.contents(atPath: out + "/" + name), data, name) }
        let entries = try ledgerEntries()
        XCTAssertEqual(entries.filter { $0.state == .started }.count, 200)
        XCTAssertEqual(Set(entries.filter { $0.state == .done }.map(\.inputSHA256)).count, 200)

        // Restart, plus a renamed copy and a duplicate dropped while it was down: nothing is edited again.
        try FileManager.default.copyItem(atPath: inbox + "/photo007.png", toPath: inbox + "/renamed-copy.png")
        let inputsBefore = snapshot(inbox)
        var again = options()
        again.exitWhenIdle = true
        let second = try Watcher(options: again, processor: processor).run()
        XCTAssertEqual(second.processed.count, 0)
        XCTAssertEqual(second.alreadyDone.count, 201)
        XCTAssertEqual(processor.calls.values.reduce(0, +), 200)
        XCTAssertEqual(snapshot(inbox), inputsBefore, "originals never change")

        // A new domain on the same folder edits each photo once more, for that domain only.
        var more = options(["sketch", "pixar"])
        more.exitWhenIdle = true
        let third = try Watcher(options: more, processor: processor).run()
        XCTAssertEqual(third.processed.count, 200, "the renamed copy shares its content with photo007")
        XCTAssertTrue(processor.jobs.suffix(200).allSatisfy { $0.outputs.map(\.domain) == ["pixar"] })
    }

    func testBadFilesAreRecordedAndMovedGoodOnesMovedToDone() throws {
        try FakeImages.write(FakeImages.jpeg("good"), to: inbox + "/good.jpg")
        try FakeImages.write(FakeImages.jpeg("BROKEN data"), to: inbox + "/broken.jpg")
        try FakeImages.write(Data("just text".utf8), to: inbox + "/notes.txt")
        try FakeImages.write(Data(), to: inbox + "/empty.png")
        try FakeImages.write(FakeImages.jpeg("ignored"), to: inbox + "/.hidden.jpg")
        try FakeImages.write(FakeImages.jpeg("ignored"), to: inbox + "/upload.jpg.part")
        // Someone else's file already has the natural output name: it must not be replaced.
        try FileOps.createDirectory(out)
        try FakeImages.write(Data("not ours".utf8), to: out + "/good.sketch.jpg")

        var o = options()
        o.exitWhenIdle = true
        o.doneDirectory = dir + "/done"
        o.failedDirectory = dir + "/failed"
        let processor = FakeProcessor()
        let summary = try Watcher(options: o, processor: processor).run()
        XCTAssertEqual(summary.processed.map { URL(fileURLWithPath: $0).lastPathComponent }, ["good.jpg"])
        let failed = Dictionary(uniqueKeysWithValues: summary.failed.map { (URL(fileURLWithPath: $0.path).lastPathComponent, $0.reason) })
        XCTAssertEqual(failed["broken.jpg"], "corrupt image data (fake decoder)")
        XCTAssertEqual(failed["empty.png"], "empty file")
        XCTAssertTrue(failed["notes.txt"]?.contains("not a JPEG or PNG") ?? false)
        XCTAssertEqual(failed.count, 3)

        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/done"), ["good.jpg"])
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/done/good.jpg"), FakeImages.jpeg("good"), "moved, not modified")
        let failedFiles = Set(try FileManager.default.contentsOfDirectory(atPath: dir + "/failed"))
        XCTAssertEqual(failedFiles, ["broken.jpg", "broken.jpg.reason.txt", "notes.txt", "notes.txt.reason.txt", "empty.png", "empty.png.reason.txt"])
        let reason = try String(contentsOfFile: dir + "/failed/broken.jpg.reason.txt", encoding: .utf8)
        XCTAssertTrue(reason.contains("reason: corrupt image data (fake decoder)"), reason)
        XCTAssertTrue(reason.contains("sha256: \(FileDigest.sha256Hex(of: FakeImages.jpeg("BROKEN data")))"), reason)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: inbox)), [".hidden.jpg", "upload.jpg.part"])

        XCTAssertEqual(FileManager.default.contents(atPath: out + "/good.sketch.jpg"), Data("not ours".utf8))
        let sha = FileDigest.sha256Hex(of: FakeImages.jpeg("good"))
        XCTAssertEqual(FileManager.default.contents(atPath: out + "/good-\(sha.prefix(8)).sketch.jpg"),
                       FakeProcessor.expectedOutput(for: FakeImages.jpeg("good"), domain: "sketch"))

        // The same broken bytes dropped again under a new name are not retried (unless --retry-failed).
        try FakeImages.write(FakeImages.jpeg("BROKEN data"), to: inbox + "/broken-again.jpg")
        let second = try Watcher(options: o, processor: processor).run()
        XCTAssertEqual(second.failed.map(\.path), [inbox + "/broken-again.jpg"])
        XCTAssertEqual(processor.calls.values.reduce(0, +), 2)
        XCTAssertTrue(FileOps.exists(dir + "/failed/broken-again.jpg.reason.txt"))
    }

    func testFailuresWithoutFailedFolderLeaveOriginalsAndWriteReasonBesideOutputs() throws {
        try FakeImages.write(FakeImages.jpeg("BROKEN"), to: inbox + "/b.jpg")
        var o = options()
        o.exitWhenIdle = true
        _ = try Watcher(options: o, processor: FakeProcessor()).run()
        XCTAssertEqual(FileManager.default.contents(atPath: inbox + "/b.jpg"), FakeImages.jpeg("BROKEN"))
        XCTAssertTrue(try String(contentsOfFile: out + "/b.jpg.failed.txt", encoding: .utf8).contains("corrupt image data"))
        XCTAssertEqual(try ledgerEntries().map(\.state), [.started, .failed])
        var retry = o
        retry.retryFailed = true
        let processor = FakeProcessor()
        _ = try Watcher(options: retry, processor: processor).run()
        XCTAssertEqual(processor.calls.values.reduce(0, +), 1)
    }

    func testCrashMidImageResumesCleanly() throws {
        let data = FakeImages.png("half done")
        try FakeImages.write(data, to: inbox + "/face.png")
        let sha = FileDigest.sha256Hex(of: data)
        // What a crash leaves: a `started` line, a torn half line, a committed first output, a stale temporary.
        try FileOps.createDirectory(out)
        let started = LedgerEntry(inputSHA256: sha, input: inbox + "/face.png", state: .started, domains: ["sketch", "pixar"],
                                  outputs: [out + "/face.sketch.png", out + "/face.pixar.png"])
        var ledgerBytes = try JSONEncoder().encode(started)
        ledgerBytes.append(contentsOf: Array("\n{\"time\":\"2026".utf8))
        try ledgerBytes.write(to: URL(fileURLWithPath: out + "/" + Ledger.fileName))
        try FakeImages.write(Data("stale first attempt".utf8), to: out + "/face.sketch.png")
        let stale = out + "/\(FileOps.temporaryPrefix)2147483646-x-face.pixar.png"
        try FakeImages.write(Data("half written".utf8), to: stale)

        var o = options(["sketch", "pixar"])
        o.exitWhenIdle = true
        let processor = FakeProcessor()
        let summary = try Watcher(options: o, processor: processor).run()
        XCTAssertEqual(summary.processed.count, 1)
        XCTAssertEqual(processor.calls[sha], 1)
        XCTAssertFalse(FileOps.exists(stale), "temporary of a dead process removed")
        XCTAssertEqual(FileManager.default.contents(atPath: out + "/face.sketch.png"), FakeProcessor.expectedOutput(for: data, domain: "sketch"),
                       "our own output from the interrupted attempt is redone under the same name")
        XCTAssertEqual(FileManager.default.contents(atPath: out + "/face.pixar.png"), FakeProcessor.expectedOutput(for: data, domain: "pixar"))
        XCTAssertEqual(try ledgerEntries().last?.state, .done)   // the torn line was closed off, later lines read fine
        let restarted = try Watcher(options: o, processor: processor).run()
        XCTAssertEqual(restarted.processed.count, 0)
        XCTAssertEqual(processor.calls[sha], 1)
    }

    func testSIGTERMFinishesCurrentPhotoThenReturns() throws {
        for i in 0..<3 { try FakeImages.write(FakeImages.jpeg("p\(i)"), to: inbox + "/p\(i).jpg") }
        var o = options()
        o.handleSignals = true
        let processor = FakeProcessor()
        var signalled = false
        processor.duringProcess = { _ in
            if !signalled { signalled = true; kill(getpid(), SIGTERM); Thread.sleep(forTimeInterval: 0.2) }
        }
        let summary = try Watcher(options: o, processor: processor).run()   // returns because of the signal
        XCTAssertEqual(summary.processed.count, 1)
        XCTAssertEqual(processor.calls.count, 1)
        XCTAssertEqual(try ledgerEntries().map(\.state), [.started, .done])
        XCTAssertTrue(FileOps.exists(out + "/p0.sketch.jpg"))
    }

    func testOneWatcherPerOutputFolderAndFolderChecks() throws {
        try FileOps.createDirectory(out)
        let held = try FolderLock(path: out + "/.nada-edit-watch.lock")
        var o = options()
        o.exitWhenIdle = true
        XCTAssertThrowsError(try Watcher(options: o, processor: FakeProcessor()).run()) {
            XCTAssertEqual($0 as? PipelineError, .alreadyRunning(lockPath: out + "/.nada-edit-watch.lock"))
        }
        withExtendedLifetime(held) {}
        var same = options()
        same.outputDirectory = inbox
        XCTAssertThrowsError(try Watcher(options: same, processor: FakeProcessor()).run()) { XCTAssertTrue("\($0)".contains("--output")) }
        var missing = options()
        missing.inputDirectory = dir + "/nope"
        XCTAssertThrowsError(try Watcher(options: missing, processor: FakeProcessor()).run()) { XCTAssertTrue("\($0)".contains("does not exist")) }
    }

    func testPollingModeAlsoPicksUpFiles() throws {
        var o = options()
        o.polling = true
        let processor = FakeProcessor()
        let watcher = Watcher(options: o, processor: processor)
        let finish = start(watcher)
        try FakeImages.write(FakeImages.jpeg("polled"), to: inbox + "/x.jpg")
        XCTAssertTrue(waitUntil(10) { processor.calls.count == 1 && FileOps.exists(self.out + "/x.sketch.jpg") })
        _ = try finish()
    }
}
