import ArgumentParser
import Imaging
import XCTest
@testable import ClusterQueue
@testable import NadaEditCLI
@testable import Pipeline

/// `watch --queue URL` (issue 19): several watchers over one folder share the PostgreSQL queue. In `QueueTests`
/// (same server, same skip when NADA_TEST_POSTGRES_URL is unset).
extension QueueTests {
    func testWatchQueueOptionsAreCheckedBeforeWatching() throws {
        XCTAssertThrowsError(try Watch.parseAsRoot(["in", "--domain", "d", "--queue", "postgres://h/db", "--shard", "0/2"])) {
            XCTAssertTrue(Watch.message(for: $0).contains("--queue and --shard"), Watch.message(for: $0))
        }
        XCTAssertThrowsError(try Watch.parseAsRoot(["in", "--domain", "d", "--queue", "postgres://h/db", "--retry-failed"])) {
            XCTAssertTrue(Watch.message(for: $0).contains("queue retry-failed"), Watch.message(for: $0))
        }
        XCTAssertThrowsError(try Watch.parseAsRoot(["in", "--domain", "d", "--queue", "mysql://h/db"])) {
            XCTAssertTrue(Watch.message(for: $0).contains("postgres://"), Watch.message(for: $0))
        }
        XCTAssertNoThrow(try Watch.parseAsRoot(["in", "--domain", "d", "--queue", "postgres://h/db"]))
    }

    /// The claim reads the unfinished rows through their own index in claim order instead of sorting every row (what
    /// held 8 workers to ~260 claims/s); `queue init` adds the index to a queue made without it.
    func testClaimsUseTheUnfinishedIndexAndInitAddsItToAnOlderQueue() throws {
        let url = try freshQueue()
        let queue = try PostgresWorkQueue(url: url, requireSchema: false)
        XCTAssertTrue(try queue.initialise())
        let index = "SELECT indexname::text FROM pg_indexes WHERE indexname = 'nada_edit_photos_unfinished'"
        XCTAssertEqual(try queue.lines(index), ["nada_edit_photos_unfinished"])
        try queue.execute("DROP INDEX nada_edit_photos_unfinished")
        XCTAssertFalse(try queue.initialise(), "the tables were there")
        XCTAssertEqual(try queue.lines(index), ["nada_edit_photos_unfinished"], "init again adds the index")

        let photos = (0..<3000).map { (sha256: FileDigest.sha256Hex(of: Data("photo \($0)".utf8)), input: "/in/\($0).jpg") }
        XCTAssertEqual(try queue.enqueue(photos), 3000)
        XCTAssertEqual(try queue.claim(worker: "w", limit: 2, lease: 60).count, 2)
        try queue.execute("ANALYZE nada_edit_photos")
        // The claim's selection, as `claim` words it.
        let plan = try queue.lines("""
            EXPLAIN SELECT sha256 FROM nada_edit_photos
            WHERE state IN ('queued', 'claimed') AND (state = 'queued' OR lease_expires < now())
            ORDER BY enqueued, sha256 LIMIT 1 FOR UPDATE SKIP LOCKED
            """).joined(separator: "\n")
        XCTAssertTrue(plan.contains("Index Scan using nada_edit_photos_unfinished"), plan)
        XCTAssertFalse(plan.contains("Sort"), plan)
        try queue.close()
    }

    func queueWatcher(_ url: QueueURL, inbox: String, processor: FakeProcessor, photos: [String: Data], once: Bool = false,
                      lease: TimeInterval = 1) throws -> Watcher {
        var options = WatchOptions(inputDirectory: inbox, outputDirectory: dir + "/out", domains: ["sketch"],
                                   doneDirectory: dir + "/done", failedDirectory: dir + "/failed")
        // The half-written photos below pause 10 ms between halves; a settle time of 50 ms was once shorter
        // than that pause became under AddressSanitizer on two busy cores (the half file was enqueued,
        // then failed as changed). 0.25 s keeps the test about as fast and the pause far below it.
        options.settleInterval = 0.25
        options.report = false
        options.exitWhenIdle = once
        let watcher = Watcher(options: options, processor: processor, queue: try PostgresWorkQueue(url: url))
        let worker = try XCTUnwrap(watcher.queueWorker)
        worker.lease = lease     // short leases so that a dead watcher's photo is taken over within the test
        worker.idlePoll = 0.05
        worker.recognise = fakeRecogniser(photos)
        return watcher
    }

    /// Three watchers on one folder while photos keep arriving (some renamed in whole, some written in two halves
    /// a moment apart): every photo is edited once, every original moved once, the queue's counts agree.
    func testThreeWatchersShareOneFolderEveryPhotoEditedAndMovedOnce() throws {
        let url = try freshQueue()
        XCTAssertTrue(try PostgresWorkQueue(url: url, requireSchema: false).initialise())
        let inbox = dir + "/inbox", staging = dir + "/staging"
        try FileOps.createDirectory(inbox)
        let broken = 17
        let photos = try makePhotos(48, in: staging, broken: [broken])
        let processors = (0..<3).map { _ in FakeProcessor() }
        processors.forEach { $0.delay = 0.01 }
        let watchers = try processors.map { try queueWatcher(url, inbox: inbox, processor: $0, photos: photos) }
        let results = Results(count: 3)
        let group = DispatchGroup()
        for (i, watcher) in watchers.enumerated() {
            group.enter()
            Thread.detachNewThread { defer { group.leave() }; results.set(i, try? watcher.run()) }
        }
        for (i, name) in photos.keys.sorted().enumerated() {
            if i % 2 == 0 {
                try FileManager.default.moveItem(atPath: staging + "/" + name, toPath: inbox + "/" + name)
            } else {   // a photo still being copied in: the watchers' settle check must wait for the second half
                let data = photos[name]!
                XCTAssertTrue(FileManager.default.createFile(atPath: inbox + "/" + name, contents: nil))
                let handle = try XCTUnwrap(FileHandle(forWritingAtPath: inbox + "/" + name))
                handle.write(data.prefix(data.count / 2))
                Thread.sleep(forTimeInterval: 0.01)
                handle.write(data.dropFirst(data.count / 2))
                try handle.close()
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let status = try PostgresWorkQueue(url: url)
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let snapshot = try status.snapshot()
            let left = try FileManager.default.contentsOfDirectory(atPath: inbox)
            if snapshot.done + snapshot.failed.count == photos.count && left.isEmpty { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        watchers.forEach { $0.stop() }
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success, "watchers stopped")

        let summaries = try results.all.enumerated().map { try XCTUnwrap($0.element, "watcher \($0.offset) threw") }
        let brokenName = String(format: "q%04d.jpg", broken)
        // Edited once: each content reached exactly one processor once.
        for (name, data) in photos {
            let sha = FileDigest.sha256Hex(of: data)
            XCTAssertEqual(processors.map { $0.calls[sha] ?? 0 }.reduce(0, +), 1, "\(name) edited once")
        }
        XCTAssertGreaterThanOrEqual(summaries.filter { !$0.processed.isEmpty }.count, 2, "the work was shared: \(summaries.map(\.processed.count))")
        XCTAssertEqual(summaries.map(\.processed.count).reduce(0, +), photos.count - 1)
        XCTAssertEqual(summaries.flatMap { $0.failed.map(\.path) }, [inbox + "/" + brokenName])
        XCTAssertTrue(summaries.allSatisfy { $0.fatal == nil && $0.leaseLost.isEmpty && $0.queueWorker != nil })
        // Outputs: one per good photo, the fake editor's bytes, no temporaries.
        let outputs = try FileManager.default.contentsOfDirectory(atPath: dir + "/out")
        XCTAssertEqual(outputs.filter { $0.hasPrefix(".") }, [], "no temporaries")
        XCTAssertEqual(Set(outputs), Set(photos.keys.filter { $0 != brokenName }.map { $0.replacingOccurrences(of: ".jpg", with: ".sketch.jpg") }))
        for (name, data) in photos where name != brokenName {
            XCTAssertEqual(FileManager.default.contents(atPath: dir + "/out/" + name.replacingOccurrences(of: ".jpg", with: ".sketch.jpg")),
                           FakeProcessor.expectedOutput(for: data, domain: "sketch"), name)
        }
        // Originals: each moved once, whole, to --done or --failed (no second copy under a -TAG name).
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: inbox), [])
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir + "/done")), Set(photos.keys).subtracting([brokenName]))
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir + "/failed")), [brokenName, brokenName + ".reason.txt"])
        for (name, data) in photos {
            XCTAssertEqual(FileManager.default.contents(atPath: dir + (name == brokenName ? "/failed/" : "/done/") + name), data, name)
        }
        // `queue status` agrees.
        let snapshot = try status.snapshot()
        let report = snapshot.report(url: url)
        XCTAssertTrue(report.contains("queued 0, claimed 0, done \(photos.count - 1), failed 1"), report)
        XCTAssertEqual(snapshot.doneOutputs.count, photos.count - 1)
        XCTAssertTrue(snapshot.doneOutputs.values.allSatisfy { $0.count == 1 && FileOps.isRegularFile($0[0]) })
        try status.close()
    }

    /// A watcher killed mid-photo (before any rename) and one killed after renaming its output, before the record:
    /// the photos they held are taken by another watcher once their leases expire — the first edited, the second's
    /// output recognised, not written again — and each original is moved once, by the watcher that recorded it.
    func testAWatcherKilledMidPhotoLosesItToAnotherAfterTheLease() throws {
        let url = try freshQueue()
        XCTAssertTrue(try PostgresWorkQueue(url: url, requireSchema: false).initialise())
        let inbox = dir + "/inbox"
        let photos = try makePhotos(5, in: inbox)
        let shaOf = Dictionary(uniqueKeysWithValues: photos.map { (FileDigest.sha256Hex(of: $0.value), $0.key) })

        // Killed mid-edit: abandoned inside the processor (no further call to the queue, the lease left to expire).
        let dying = FakeProcessor()
        let midEdit = try queueWatcher(url, inbox: inbox, processor: dying, photos: photos, lease: 2)
        dying.duringProcess = { _ in midEdit.queueWorker!.abandon() }
        let first = try midEdit.run()
        XCTAssertEqual(first.stopReason, "abandoned")
        XCTAssertEqual(dying.jobs.count, 1)
        let killedMidEdit = try XCTUnwrap(shaOf[dying.jobs[0].inputSHA256])

        // Killed between renaming its output into place and recording the photo done.
        let late = FakeProcessor()
        let afterRename = try queueWatcher(url, inbox: inbox, processor: late, photos: photos, lease: 2)
        afterRename.queueWorker!.afterOutputsCommitted = { _ in afterRename.queueWorker!.abandon() }
        XCTAssertEqual(try afterRename.run().stopReason, "abandoned")
        let killedAfterRename = try XCTUnwrap(shaOf[late.jobs[0].inputSHA256])
        XCTAssertNotEqual(killedMidEdit, killedAfterRename, "the second watcher could not claim the first one's photo")
        let held = try PostgresWorkQueue(url: url)
        XCTAssertEqual(try held.snapshot().claimed.count, 2, "both dead watchers still hold their photo")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: inbox)), Set(photos.keys), "nothing moved by the dead")

        let survivor = FakeProcessor()
        let started = Date()
        let summary = try queueWatcher(url, inbox: inbox, processor: survivor, photos: photos, once: true).run()
        XCTAssertGreaterThan(Date().timeIntervalSince(started), 0.5, "the dead watchers' photos waited for their leases")
        XCTAssertEqual(summary.stopReason, "nothing left to do")
        XCTAssertEqual(summary.processed.count, 4, summary.report())
        XCTAssertEqual(summary.alreadyDone, [inbox + "/" + killedAfterRename], "its output was recognised")
        XCTAssertNil(survivor.calls[FileDigest.sha256Hex(of: photos[killedAfterRename]!)], "and not edited again")
        XCTAssertEqual(survivor.calls[FileDigest.sha256Hex(of: photos[killedMidEdit]!)], 1, "the photo killed mid-edit is edited by the survivor")

        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: inbox), [])
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir + "/done")), Set(photos.keys))
        let outputs = try FileManager.default.contentsOfDirectory(atPath: dir + "/out")
        XCTAssertEqual(Set(outputs), Set(photos.keys.map { $0.replacingOccurrences(of: ".jpg", with: ".sketch.jpg") }), "one output each, no temporaries")
        let report = try held.snapshot().report(url: url)
        XCTAssertTrue(report.contains("queued 0, claimed 0, done 5, failed 0"), report)
        try held.close()
    }
}

/// Watch summaries written by the watcher threads, read by the test's thread.
private final class Results: @unchecked Sendable {   // every access holds `lock`
    private let lock = NSLock()
    private var summaries: [WatchSummary?]
    init(count: Int) { summaries = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ summary: WatchSummary?) { lock.withLock { summaries[i] = summary } }
    var all: [WatchSummary?] { lock.withLock { summaries } }
}

/// The real binary: a watcher process SIGKILLed mid-photo, and another one that takes the photo over.
extension QueueTests {
    /// Runs `nada-edit` with `arguments`; stdout and stderr go to `log`. Returns the running process.
    func startNadaEdit(_ arguments: [String], log: String, models: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLIProcessTests.binary)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["NADA_EDIT_MODELS"] = models
        process.environment = environment
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    func finish(_ process: Process, within seconds: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit(); return false }
        return true
    }

    /// A model store with a trained "sketch" domain (the demo's, made from the tiny models in fixtures/ by the
    /// real binary) and an initialised queue at `url`. Returns the store's folder.
    func demoStoreAndQueue(_ url: QueueURL) throws -> String {
        let fixtures = CLIProcessTests.repository + "/fixtures"
        let demo = try startNadaEdit(["demo", "--output", dir + "/demo", "--fixtures", fixtures], log: dir + "/demo.log", models: dir + "/no-store")
        XCTAssertTrue(finish(demo, within: 300), "demo finished")
        XCTAssertEqual(demo.terminationStatus, 0, (try? String(contentsOfFile: dir + "/demo.log", encoding: .utf8)) ?? "")
        let models = dir + "/demo/models"
        let initialise = try startNadaEdit(["queue", "init", url.asArgument], log: dir + "/init.log", models: models)
        XCTAssertTrue(finish(initialise, within: 60))
        XCTAssertEqual(initialise.terminationStatus, 0)
        return models
    }

    func testAWatcherProcessKilledWithSIGKILLMidPhotoLosesItToAnotherWatcher() throws {
        let url = try freshQueue()
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: CLIProcessTests.binary), "swift test builds nada-edit beside the tests")
        let fixtures = CLIProcessTests.repository + "/fixtures"
        let models = try demoStoreAndQueue(url)

        let inbox = dir + "/inbox", out = dir + "/edited", done = dir + "/done"
        try FileOps.createDirectory(inbox)
        let names = try FileManager.default.contentsOfDirectory(atPath: fixtures + "/images").filter { $0.hasSuffix(".png") }.sorted()
        XCTAssertGreaterThanOrEqual(names.count, 4)
        var shas = [String: String]()
        for name in names {
            try FileManager.default.copyItem(atPath: fixtures + "/images/" + name, toPath: inbox + "/" + name)
            shas[name] = try FileDigest.sha256Hex(ofFileAt: inbox + "/" + name)
        }
        XCTAssertEqual(Set(shas.values).count, names.count, "distinct contents")
        let watch = ["watch", inbox, "--domain", "sketch", "--align", "center", "--queue", url.asArgument, "--output", out,
                     "--done", done, "--settle", "0.05", "--no-report", "--queue-lease", "2"]

        // Watcher A: killed with SIGKILL as soon as it says it is editing a photo.
        let first = try startNadaEdit(watch, log: dir + "/a.log", models: models)
        var held: String?
        let deadline = Date().addingTimeInterval(120)
        while held == nil && first.isRunning && Date() < deadline {
            let log = (try? String(contentsOfFile: dir + "/a.log", encoding: .utf8)) ?? ""
            if let line = log.split(separator: "\n").first(where: { $0.hasPrefix("editing ") }) {
                kill(first.processIdentifier, SIGKILL)
                held = String(line.dropFirst("editing ".count))
            } else {
                Thread.sleep(forTimeInterval: 0.002)
            }
        }
        first.waitUntilExit()
        let aLog = (try? String(contentsOfFile: dir + "/a.log", encoding: .utf8)) ?? ""
        let heldPath = try XCTUnwrap(held, "watcher A never started editing:\n\(aLog)")
        XCTAssertEqual(first.terminationReason, .uncaughtSignal)
        let queue = try PostgresWorkQueue(url: url)
        let claimed = try queue.snapshot().claimed
        XCTAssertEqual(claimed.map(\.input), [heldPath], "A died holding the photo it was editing:\n\(aLog)")
        XCTAssertTrue(FileOps.isRegularFile(heldPath), "A did not move it")

        // Watcher B, once: edits the rest, waits out A's lease, takes its photo, returns when the queue is empty.
        let second = try startNadaEdit(watch + ["--once"], log: dir + "/b.log", models: models)
        XCTAssertTrue(finish(second, within: 180), "watcher B returned")
        let bLog = (try? String(contentsOfFile: dir + "/b.log", encoding: .utf8)) ?? ""
        XCTAssertEqual(second.terminationStatus, 0, bLog)
        XCTAssertTrue(bLog.contains("editing \(heldPath) (attempt 2)"), bLog)

        // Every photo edited once (one output, whose provenance names its content), every original moved once.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: inbox), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: done).sorted(), names)
        let outputs = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        XCTAssertEqual(outputs, names.map { $0.replacingOccurrences(of: ".png", with: ".sketch.png") }.sorted(), "one output each, no temporaries")
        for name in names {
            let provenance = try XCTUnwrap(try readProvenance(path: out + "/" + name.replacingOccurrences(of: ".png", with: ".sketch.png")).provenance, name)
            XCTAssertEqual(provenance.inputSHA256, shas[name], name)
            XCTAssertEqual(provenance.domain, "sketch")
        }
        let status = try startNadaEdit(["queue", "status", url.asArgument], log: dir + "/status.log", models: models)
        XCTAssertTrue(finish(status, within: 60))
        let statusText = (try? String(contentsOfFile: dir + "/status.log", encoding: .utf8)) ?? ""
        XCTAssertTrue(statusText.contains("queued 0, claimed 0, done \(names.count), failed 0"), statusText)
        try queue.close()
    }
}
