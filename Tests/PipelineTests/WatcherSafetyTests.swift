import DurableIO
import Imaging
import XCTest
@testable import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// Regression tests for issue 22's watcher defects: nothing lost, nothing blamed on a photo that is not at fault.
final class WatcherSafetyTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try makeTemporaryDirectory("watch-safety") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func options(_ inbox: String, _ out: String) -> WatchOptions {
        var o = WatchOptions(inputDirectory: inbox, outputDirectory: out, domains: ["sketch"])
        o.settleInterval = 0.05
        o.exitWhenIdle = true
        return o
    }

    func files(_ folder: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() }

    /// Item 1: two watchers on in1/ and in2/ (same names, different content) share `--done`: all 60 originals
    /// arrive whole, none replaced.
    func testTwoWatchersSharingDoneLoseNothing() throws {
        let done = dir + "/done"
        var watchers = [Watcher]()
        for side in ["in1", "in2"] {
            try FileOps.createDirectory(dir + "/" + side)
            for i in 0..<30 { try FakeImages.write(FakeImages.png("\(side) #\(i)"), to: "\(dir)/\(side)/p\(i).png") }
            var o = options(dir + "/" + side, dir + "/out-" + side)
            o.doneDirectory = done
            watchers.append(Watcher(options: o, processor: FakeProcessor()))
        }
        var summaries = [WatchSummary?](repeating: nil, count: 2)
        let summariesLock = NSLock()   // both threads store into one array (ThreadSanitizer flagged the unguarded write)
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let summary = try? watchers[i].run()
            summariesLock.withLock { summaries[i] = summary }
        }
        XCTAssertEqual(summaries.map { $0?.processed.count }, [30, 30])
        let moved = files(done)
        XCTAssertEqual(moved.count, 60)
        let contents = Set(moved.compactMap { FileManager.default.contents(atPath: done + "/" + $0) })
        let expected = Set(["in1", "in2"].flatMap { side in (0..<30).map { FakeImages.png("\(side) #\($0)") } })
        XCTAssertEqual(contents, expected, "every original is in done/, byte for byte")
        XCTAssertEqual(files(dir + "/in1") + files(dir + "/in2"), [])
    }

    /// Item 2: a PNG written in two halves with a pause longer than every retry, found by polling, with `--failed`
    /// on another filesystem: it is edited once complete; never judged truncated, copied and unlinked.
    func testFileStillBeingWrittenIsNotFailedOrMovedUnderPolling() throws {
        let inbox = dir + "/inbox", out = dir + "/out"
        try FileOps.createDirectory(inbox)
        let failedFolder = otherFilesystemFolder()
        defer { try? FileManager.default.removeItem(atPath: failedFolder) }
        var o = options(inbox, out)
        o.exitWhenIdle = false
        o.polling = true
        o.failedDirectory = failedFolder
        o.doneDirectory = dir + "/done"
        let processor = TruncationDetectingProcessor()
        let watcher = Watcher(options: o, processor: processor)
        let finished = DispatchSemaphore(value: 0)
        final class Box: @unchecked Sendable { var summary: WatchSummary? }
        let box = Box()
        Thread.detachNewThread { box.summary = try? watcher.run(); finished.signal() }

        let whole = FakeImages.png(String(repeating: "pixels ", count: 500)) + Data("END".utf8)
        let fd = open(inbox + "/arriving.png", O_WRONLY | O_CREAT | O_EXCL, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let half = whole.count / 2
        _ = whole.prefix(half).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        Thread.sleep(forTimeInterval: 1.0)   // settle 0.05 s and two retries would all have passed by now
        _ = whole.suffix(from: half).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)

        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !FileOps.exists(dir + "/done/arriving.png") { Thread.sleep(forTimeInterval: 0.02) }
        watcher.stop()
        XCTAssertEqual(finished.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(box.summary?.failed.count, 0, "\(box.summary?.failed ?? [])")
        XCTAssertEqual(box.summary?.processed.count, 1)
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/done/arriving.png"), whole)
        XCTAssertEqual(files(failedFolder), [])
    }

    /// Item 2, second half: a file that stays half-written (writer gone) fails only after the retries, and its
    /// bytes are moved whole.
    func testTruncatedFileFailsAfterRetriesAndIsMovedWhole() throws {
        let inbox = dir + "/inbox", out = dir + "/out"
        try FileOps.createDirectory(inbox)
        let half = FakeImages.png("half a picture")
        try FakeImages.write(half, to: inbox + "/cut.png")
        let failedFolder = otherFilesystemFolder()
        defer { try? FileManager.default.removeItem(atPath: failedFolder) }
        var o = options(inbox, out)
        o.failedDirectory = failedFolder
        let processor = TruncationDetectingProcessor()
        let summary = try Watcher(options: o, processor: processor).run()
        XCTAssertEqual(summary.failed.count, 1)
        XCTAssertEqual(processor.calls, Watcher.decodeRetries + 1)
        XCTAssertEqual(FileManager.default.contents(atPath: failedFolder + "/cut.png"), half)
        XCTAssertEqual(files(inbox), [])
    }

    /// Item 7: a ledger that cannot be written stops the watcher with status 2 and the real errno, under --once too.
    func testLedgerWriteFailureStopsWithAnErrorStatusAndTheRealErrno() throws {
        let inbox = dir + "/inbox", out = dir + "/out"
        try FileOps.createDirectory(inbox)
        try FakeImages.write(FakeImages.png("a photo"), to: inbox + "/a.png")
        try FileOps.createDirectory(out)
        let summary = try withFileSizeLimit(64) { try Watcher(options: options(inbox, out), processor: FakeProcessor()).run() }
        XCTAssertEqual(summary.exitStatus, 2)
        let fatal = try XCTUnwrap(summary.fatal)
        XCTAssertTrue(fatal.contains("ledger") && fatal.contains("File too large"), fatal)
        XCTAssertNotEqual(summary.stopReason, "nothing left to do")
        XCTAssertEqual(summary.failed.count, 0)
        XCTAssertEqual(files(inbox), ["a.png"], "the photo is left for the next run")
    }

    /// Item 8: an output the disk refuses stops the watcher; the photo is not failed, not moved, not blacklisted.
    func testOutputWriteErrorStopsTheWatcherWithoutBlamingThePhoto() throws {
        let inbox = dir + "/inbox", out = dir + "/out"
        try FileOps.createDirectory(inbox)
        try FakeImages.write(FakeImages.png("a photo"), to: inbox + "/a.png")
        var o = options(inbox, out)
        o.failedDirectory = dir + "/failed"
        let processor = FakeProcessor()
        processor.writeError = FileSystemError(path: out + "/a.sketch.png", operation: "write", code: ENOSPC, side: .writing)
        let summary = try Watcher(options: o, processor: processor).run()
        XCTAssertEqual(summary.exitStatus, 2)
        XCTAssertTrue(summary.fatal?.contains("No space left on device") ?? false, "\(summary.fatal ?? "")")
        XCTAssertEqual(summary.failed.count, 0)
        XCTAssertEqual(files(inbox), ["a.png"])
        XCTAssertFalse(FileOps.exists(dir + "/failed"))
        // Space again: the next run edits it (its content was not recorded as failed).
        let fixed = try Watcher(options: o, processor: FakeProcessor()).run()
        XCTAssertEqual(fixed.processed.count, 1)
    }

    /// Security: links in a watched folder are skipped by default; with followSymlinks the link (not its target)
    /// is what `--done` moves.
    func testSymlinksInTheWatchedFolder() throws {
        let inbox = dir + "/inbox", out = dir + "/out"
        try FileOps.createDirectory(inbox)
        try FakeImages.write(FakeImages.png("outside"), to: dir + "/outside.png")
        XCTAssertEqual(symlink(dir + "/outside.png", inbox + "/link.png"), 0)
        XCTAssertEqual(symlink("/etc/passwd", inbox + "/passwd.jpg"), 0)
        var o = options(inbox, out)
        o.doneDirectory = dir + "/done"
        o.failedDirectory = dir + "/failed"
        let processor = FakeProcessor()
        let skipped = try Watcher(options: o, processor: processor).run()
        XCTAssertEqual(skipped.processed.count + skipped.failed.count, 0)
        XCTAssertEqual(processor.calls.count, 0)
        XCTAssertEqual(files(inbox), ["link.png", "passwd.jpg"])

        try FileManager.default.removeItem(atPath: inbox + "/passwd.jpg")
        o.followSymlinks = true
        let followed = try Watcher(options: o, processor: processor).run()
        XCTAssertEqual(followed.processed.count, 1)
        XCTAssertTrue(FileOps.isSymbolicLink(dir + "/done/link.png"), "the link was moved, not its target")
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/outside.png"), FakeImages.png("outside"))
    }

    /// Item 9: a name that is not UTF-8 is reported, by the watcher and the batch scan, instead of vanishing.
    func testNonUTF8NamesAreReported() throws {
        let inbox = dir + "/inbox", out = dir + "/out"
        try FileOps.createDirectory(inbox)
        var raw = Array((inbox + "/").utf8) + [0xFF, 0x66, 0x6F, 0x74, 0x6F] + Array(".jpg".utf8) + [0]
        let fd = raw.withUnsafeMutableBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { open($0, O_WRONLY | O_CREAT, 0o644) }
        }
        XCTAssertGreaterThanOrEqual(fd, 0)
        _ = FakeImages.jpeg("x").withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let summary = try Watcher(options: options(inbox, out), processor: FakeProcessor()).run()
        XCTAssertEqual(summary.failed.map(\.path), [inbox + "/%FFfoto.jpg"])
        XCTAssertTrue(summary.failed.first?.reason.contains("not valid UTF-8") ?? false)
        let scan = InputScan.expand([inbox], recursive: false)
        XCTAssertEqual(scan.rejected.map(\.path), [inbox + "/%FFfoto.jpg"])

        // A batch edits it through a private link, names the output after the %-escaped name, and cleans up.
        let processor = FakeProcessor()
        let batch = try BatchRunner(options: BatchOptions(outputDirectory: dir + "/batch", domains: ["s"]), processor: processor)
            .run(inputs: [inbox])
        XCTAssertEqual(batch.processed, [inbox + "/%FFfoto.jpg"], batch.report())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/batch"), ["%FFfoto.s.jpg"])
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/batch/%FFfoto.s.jpg"),
                       FakeProcessor.expectedOutput(for: FakeImages.jpeg("x"), domain: "s"))
        XCTAssertEqual(processor.jobs.first?.displayPath, inbox + "/%FFfoto.jpg")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: inbox).count, 1, "the original is only read")
    }

    /// A folder on another filesystem than `dir` (test folders live in /dev/shm, a tmpfs; /tmp is the disk), so
    /// moves into it are copies.
    func otherFilesystemFolder() -> String {
        (dir.hasPrefix("/dev/shm/") ? NSTemporaryDirectory() + "/" : "/dev/shm/") + "nada-failed-\(UUID().uuidString)"
    }

    /// Runs `body` with RLIMIT_FSIZE lowered (writes past `bytes` fail with EFBIG, the stand-in for a full disk).
    func withFileSizeLimit<T>(_ bytes: Int, _ body: () throws -> T) rethrows -> T {
        var old = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &old)
        let oldHandler = signal(SIGXFSZ, SIG_IGN)
        var small = old
        small.rlim_cur = rlim_t(bytes)
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &small)
        defer { setrlimit(Int32(RLIMIT_FSIZE.rawValue), &old); signal(SIGXFSZ, oldHandler) }
        return try body()
    }
}

/// Fails like a real decoder on a file that does not end with "END" yet (an ImagingError, as libpng's would be).
final class TruncationDetectingProcessor: PhotoProcessor {
    private let lock = NSLock()
    private var _calls = 0
    var calls: Int { lock.withLock { _calls } }

    func process(_ job: ProcessingJob) throws {
        lock.withLock { _calls += 1 }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: job.inputPath))
        guard bytes.suffix(3) == Data("END".utf8) else {
            throw ImagingError.truncated(file: job.inputPath, detail: "premature end of PNG data (fake decoder)")
        }
        for output in job.outputs { try bytes.write(to: URL(fileURLWithPath: output.writePath)) }
    }
}
