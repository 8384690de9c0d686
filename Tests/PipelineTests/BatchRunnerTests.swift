import XCTest
import DurableIO
@testable import Pipeline
#if canImport(Glibc)
import Glibc
#endif

final class BatchRunnerTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try makeTemporaryDirectory("batch") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func makeInputs() throws -> String {
        let input = dir + "/in"
        try FileOps.createDirectory(input + "/sub")
        try FakeImages.write(FakeImages.jpeg("one"), to: input + "/one.jpg")
        try FakeImages.write(FakeImages.png("two"), to: input + "/two.PNG")
        try FakeImages.write(FakeImages.png("named wrongly"), to: input + "/three.jpeg")    // PNG bytes, .jpeg name
        try FakeImages.write(FakeImages.jpeg("BROKEN"), to: input + "/broken.jpg")
        try FakeImages.write(Data("hello".utf8), to: input + "/notes.txt")                 // ignored
        try FakeImages.write(Data("<html>".utf8), to: input + "/fake.png")                 // named like an image: failure
        try FakeImages.write(Data(), to: input + "/empty.jpg")                             // failure
        try FakeImages.write(FakeImages.jpeg("hidden"), to: input + "/.hidden.jpg")        // ignored
        try FakeImages.write(FakeImages.jpeg("partial"), to: input + "/upload.jpg.part")   // ignored
        try FakeImages.write(FakeImages.jpeg("deep"), to: input + "/sub/deep.jpg")         // only with --recursive
        return input
    }

    func testBatchNamesSkipsFailsAndNeverTouchesInputs() throws {
        let input = try makeInputs()
        let before = snapshot(input)
        let out = dir + "/out"
        let processor = FakeProcessor()
        let runner = BatchRunner(options: BatchOptions(outputDirectory: out, domains: ["sketch", "pixar"]), processor: processor)
        let summary = try runner.run(inputs: [input])

        XCTAssertEqual(summary.processed.map { URL(fileURLWithPath: $0).lastPathComponent }, ["one.jpg", "three.jpeg", "two.PNG"])
        let failed = Dictionary(uniqueKeysWithValues: summary.failed.map { (URL(fileURLWithPath: $0.path).lastPathComponent, $0.reason) })
        XCTAssertEqual(Set(failed.keys), ["broken.jpg", "fake.png", "empty.jpg"])
        XCTAssertEqual(failed["broken.jpg"], "corrupt image data (fake decoder)")
        XCTAssertEqual(failed["empty.jpg"], "empty file")
        XCTAssertTrue(failed["fake.png"]!.contains("not a JPEG or PNG"))
        XCTAssertEqual(summary.exitStatus, 1)
        XCTAssertTrue(summary.report().contains("processed 3, skipped 0 (outputs exist), failed 3"))

        // <stem>.<domain>.<ext>, extension from the content, not the input's name.
        // index.html: the batch report, on by default for a folder of photos (issue 20).
        let outputs = try FileManager.default.contentsOfDirectory(atPath: out).sorted().filter { $0 != BatchReport.fileName }
        XCTAssertEqual(outputs, ["one.pixar.jpg", "one.sketch.jpg", "three.pixar.png", "three.sketch.png", "two.pixar.png", "two.sketch.png"])
        XCTAssertEqual(FileManager.default.contents(atPath: out + "/one.sketch.jpg"), FakeProcessor.expectedOutput(for: FakeImages.jpeg("one"), domain: "sketch"))
        XCTAssertEqual(snapshot(input), before, "inputs must never change")
        XCTAssertEqual(processor.jobs.first { $0.inputPath.hasSuffix("one.jpg") }?.inputSHA256, FileDigest.sha256Hex(of: FakeImages.jpeg("one")))

        // Second run: everything that exists is skipped, nothing rewritten.
        let again = try BatchRunner(options: BatchOptions(outputDirectory: out, domains: ["sketch", "pixar"]), processor: processor).run(inputs: [input])
        XCTAssertEqual(again.processed, [])
        XCTAssertEqual(again.skipped.count, 3)
        XCTAssertEqual(processor.calls.values.reduce(0, +), 4 + 1, "only the broken photo is retried")

        // A new domain only fills in what is missing; --overwrite redoes everything.
        let more = try BatchRunner(options: BatchOptions(outputDirectory: out, domains: ["sketch", "anime"]), processor: processor).run(inputs: [input])
        XCTAssertEqual(more.processed.count, 3)
        XCTAssertTrue(processor.jobs.suffix(4).allSatisfy { job in job.outputs.map(\.domain) == ["anime"] || job.inputPath.hasSuffix("broken.jpg") })
        try FakeImages.write(Data("old".utf8), to: out + "/one.sketch.jpg")
        let overwrite = try BatchRunner(options: BatchOptions(outputDirectory: out, domains: ["sketch"], overwrite: true), processor: processor).run(inputs: [input])
        XCTAssertEqual(overwrite.processed.count, 3)
        XCTAssertEqual(FileManager.default.contents(atPath: out + "/one.sketch.jpg"), FakeProcessor.expectedOutput(for: FakeImages.jpeg("one"), domain: "sketch"))
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: out).contains { $0.hasPrefix(".") }, "no temporary files left")
        XCTAssertEqual(snapshot(input), before)
    }

    func testRecursiveJobsAndOutputFolderInsideInputs() throws {
        let input = try makeInputs()
        let processor = FakeProcessor()
        processor.delay = 0.01
        // Output folder inside the input folder: our own outputs must not be edited again on the next run.
        let out = input + "/edited"
        let options = BatchOptions(outputDirectory: out, domains: ["sketch"], format: .png, recursive: true, jobs: 3)
        let summary = try BatchRunner(options: options, processor: processor).run(inputs: [input])
        XCTAssertEqual(summary.processed.count, 4)
        XCTAssertTrue(FileOps.exists(out + "/sub/deep.sketch.png"), "--recursive mirrors sub-folders")
        XCTAssertTrue(FileOps.exists(out + "/one.sketch.png"))
        let second = try BatchRunner(options: options, processor: processor).run(inputs: [input])
        XCTAssertEqual(second.processed.count, 0)
        XCTAssertEqual(second.skipped.count, 4)
        XCTAssertFalse(processor.jobs.contains { $0.inputPath.contains("/edited/") })
    }

    func testCollidingOutputNamesGetTheHashNameAndMissingInputsAreFailures() throws {
        try FileOps.createDirectory(dir + "/a")
        try FileOps.createDirectory(dir + "/b")
        try FakeImages.write(FakeImages.jpeg("a"), to: dir + "/a/face.jpg")
        try FakeImages.write(FakeImages.jpeg("b"), to: dir + "/b/face.jpg")
        let options = BatchOptions(outputDirectory: dir + "/out", domains: ["x"])
        let summary = try BatchRunner(options: options, processor: FakeProcessor())
            .run(inputs: [dir + "/a", dir + "/b/face.jpg", dir + "/nope.jpg"])
        XCTAssertEqual(summary.processed, [dir + "/a/face.jpg", dir + "/b/face.jpg"])
        XCTAssertEqual(summary.failed.map(\.path), [dir + "/nope.jpg"])
        XCTAssertEqual(summary.failed.first?.reason, "no such file or folder")
        let sha8 = String(FileDigest.sha256Hex(of: FakeImages.jpeg("b")).prefix(8))
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/out/face.x.jpg"), FakeProcessor.expectedOutput(for: FakeImages.jpeg("a"), domain: "x"))
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/out/face-\(sha8).x.jpg"), FakeProcessor.expectedOutput(for: FakeImages.jpeg("b"), domain: "x"))
        // Run again: both are recognised as done.
        let again = try BatchRunner(options: options, processor: FakeProcessor()).run(inputs: [dir + "/a", dir + "/b/face.jpg"])
        XCTAssertEqual(again.skipped.count, 2)
        XCTAssertThrowsError(try BatchRunner(options: BatchOptions(outputDirectory: dir + "/out", domains: []), processor: FakeProcessor()).run(inputs: []))
    }

    /// Issue 22 item 3: two batches into one output folder, both with an `x.png`, each started before the other
    /// commits: both edits survive (the later one under the `-sha8` name), nothing is replaced.
    func testTwoBatchesRacingIntoOneOutputFolderKeepBothEdits() throws {
        try FileOps.createDirectory(dir + "/A")
        try FileOps.createDirectory(dir + "/B")
        try FakeImages.write(FakeImages.png("A"), to: dir + "/A/x.png")
        try FakeImages.write(FakeImages.png("B"), to: dir + "/B/x.png")
        let out = dir + "/out"
        // Both plan before either commits: the processor waits until both are inside `process`.
        let bothInside = DispatchGroup()
        bothInside.enter(); bothInside.enter()
        let barrier = FakeProcessor()
        barrier.duringProcess = { _ in bothInside.leave(); _ = bothInside.wait(timeout: .now() + 10) }
        var summaries = [BatchSummary?](repeating: nil, count: 2)
        let summariesLock = NSLock()   // both threads store into one array (ThreadSanitizer flagged the unguarded write)
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let runner = BatchRunner(options: BatchOptions(outputDirectory: out, domains: ["s"]), processor: barrier)
            let summary = try? runner.run(inputs: [dir + (i == 0 ? "/A/x.png" : "/B/x.png")])
            summariesLock.withLock { summaries[i] = summary }
        }
        XCTAssertEqual(summaries.compactMap { $0?.processed.count }, [1, 1])
        let outputs = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        XCTAssertEqual(outputs.count, 2, "\(outputs)")
        let contents = Set(outputs.compactMap { FileManager.default.contents(atPath: out + "/" + $0) })
        XCTAssertEqual(contents, [FakeProcessor.expectedOutput(for: FakeImages.png("A"), domain: "s"),
                                  FakeProcessor.expectedOutput(for: FakeImages.png("B"), domain: "s")])
    }

    /// Issue 18: a camera's folder tree (numbering restarts in every folder) is mirrored, not refused.
    func testCameraFolderTreeIsMirroredUnderTheOutput() throws {
        for folder in ["100CANON", "101CANON"] {
            try FileOps.createDirectory(dir + "/DCIM/" + folder)
            try FakeImages.write(FakeImages.jpeg(folder), to: dir + "/DCIM/\(folder)/IMG_0001.JPG")
        }
        let out = dir + "/out"
        let summary = try BatchRunner(options: BatchOptions(outputDirectory: out, domains: ["sketch"], recursive: true), processor: FakeProcessor())
            .run(inputs: [dir + "/DCIM"])
        XCTAssertEqual(summary.processed.count, 2)
        XCTAssertEqual(summary.failed.count, 0)
        XCTAssertEqual(FileManager.default.contents(atPath: out + "/100CANON/IMG_0001.sketch.jpg"), FakeProcessor.expectedOutput(for: FakeImages.jpeg("100CANON"), domain: "sketch"))
        XCTAssertEqual(FileManager.default.contents(atPath: out + "/101CANON/IMG_0001.sketch.jpg"), FakeProcessor.expectedOutput(for: FakeImages.jpeg("101CANON"), domain: "sketch"))
    }

    /// Issue 18: a folder link to an ancestor is not followed by default, and never loops when followed.
    func testSymlinkLoopsAndLinkedFiles() throws {
        let input = dir + "/in"
        try FileOps.createDirectory(input + "/a")
        try FakeImages.write(FakeImages.jpeg("real"), to: input + "/a/photo.jpg")
        XCTAssertEqual(symlink("../", input + "/a/loop"), 0)
        try FakeImages.write(FakeImages.jpeg("outside"), to: dir + "/outside.jpg")
        XCTAssertEqual(symlink(dir + "/outside.jpg", input + "/linked.jpg"), 0)
        XCTAssertEqual(symlink("/etc/passwd", input + "/passwd.jpg"), 0)
        XCTAssertEqual(symlink(dir + "/gone.jpg", input + "/dangling.jpg"), 0)

        for follow in [false, true] {
            let scan = InputScan.expand([input], recursive: true, followSymlinkedFolders: follow)
            XCTAssertEqual(scan.images.map(\.path).sorted(), [input + "/a/photo.jpg", input + "/linked.jpg"], "follow: \(follow)")
            let rejected = Dictionary(uniqueKeysWithValues: scan.rejected.map { ($0.path, $0.reason) })
            XCTAssertEqual(rejected[input + "/dangling.jpg"], "broken symbolic link")
            let passwd = try XCTUnwrap(rejected[input + "/passwd.jpg"])
            XCTAssertTrue(passwd.hasPrefix("not a JPEG or PNG image"), passwd)
            XCTAssertFalse(passwd.contains("root"), "never print a linked file's content")
        }
    }

    /// Issue 22 item 3: comparison sheets and further faces are committed under the same rule as the edit.
    func testCompanionFilesFollowTheNeverReplaceRule() throws {
        try FakeImages.write(FakeImages.png("p"), to: dir + "/p.png")
        let out = dir + "/out"
        try FileOps.createDirectory(out)
        try FakeImages.write(Data("someone else's sheet".utf8), to: out + "/p.s.compare.png")
        let processor = FakeProcessor()
        processor.companions = ["compare", "face2"]
        let summary = try BatchRunner(options: BatchOptions(outputDirectory: out, domains: ["s"]), processor: processor).run(inputs: [dir + "/p.png"])
        XCTAssertEqual(summary.processed.count, 1)
        let sha8 = String(FileDigest.sha256Hex(of: FakeImages.png("p")).prefix(8))
        XCTAssertEqual(Set(summary.outputsWritten.map { URL(fileURLWithPath: $0).lastPathComponent }),
                       ["p.s.png", "p-\(sha8).s.compare.png", "p.s.face2.png"])
        XCTAssertEqual(String(decoding: FileManager.default.contents(atPath: out + "/p.s.compare.png")!, as: UTF8.self), "someone else's sheet")
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: out).contains { $0.hasPrefix(".") }, "no temporary left")
    }

    /// Issue 22 item 8: an output that cannot be written (here: a read-only output folder) stops the run with
    /// status 2 and blames no photo. (The processor reports ENOSPC as the real writer would; the writer itself is
    /// tested against a real EFBIG in DurableIOTests.)
    func testOutputWriteErrorStopsTheRunInsteadOfFailingPhotos() throws {
        for i in 0..<3 { try FakeImages.write(FakeImages.png("p\(i)"), to: dir + "/p\(i).png") }
        let out = dir + "/out"
        try FileOps.createDirectory(out)
        let processor = FakeProcessor()
        processor.writeError = FileSystemError(path: out + "/p.s.png", operation: "write", code: ENOSPC, side: .writing)
        let summary = try BatchRunner(options: BatchOptions(outputDirectory: out, domains: ["s"]), processor: processor)
            .run(inputs: (0..<3).map { dir + "/p\($0).png" })
        XCTAssertEqual(summary.exitStatus, 2)
        XCTAssertEqual(summary.failed.count, 0, "a full disk is not the photos' fault")
        XCTAssertEqual(summary.processed.count, 0)
        XCTAssertEqual(summary.notAttempted.count, 3)
        XCTAssertEqual(processor.calls.count, 1, "the run stops at the first such error")
        XCTAssertTrue(summary.report().contains("stopped: "), summary.report())
        XCTAssertTrue(summary.report().contains("No space left on device"), summary.report())
    }

    func testFailureReportNamesEachPathOnceAndGroupsCommonReasons() {
        let failed = (0..<4).map { (path: "in/bad\($0).png", reason: "in/bad\($0).png: not a JPEG or PNG image") }
            + [(path: "in/x.jpg", reason: "in/x.jpg: in/x.jpg: file is truncated")]
        let lines = FailureReport.lines(failed)
        XCTAssertEqual(lines, ["  failed: 4 × not a JPEG or PNG image:", "    in/bad0.png", "    in/bad1.png", "    in/bad2.png",
                               "    in/bad3.png", "  failed: in/x.jpg: file is truncated"])
    }

    func testIgnoredNames() {
        for name in [".DS_Store", "._x.jpg", "x.jpg.part", "x.crdownload", "~lock.jpg", "x.tmp", "Thumbs.db", ".nada-edit-tmp-1-a-x.jpg"] {
            XCTAssertTrue(FileOps.isIgnoredName(name), name)
        }
        for name in ["x.jpg", "photo.PNG", "a.b.c.jpeg"] { XCTAssertFalse(FileOps.isIgnoredName(name), name) }
    }

    /// Issue 18: a real full disk (a 256 KB tmpfs mounted for the test) stops the batch with status 2, names the
    /// file and ENOSPC, leaves no partial or temporary output, and blames no photo.
    func testFullDiskStopsTheBatchAndLeavesNoPartialOutput() throws {
        let mountPoint = dir + "/small"
        try FileOps.createDirectory(mountPoint)
        guard Self.mountSmallTmpfs(at: mountPoint, bytes: 256 << 10) else {
            throw XCTSkip("cannot mount a tmpfs here (needs root and a kernel that allows it); the injected ENOSPC test still ran")
        }
        defer { _ = umount(mountPoint) }
        for i in 0..<6 { try FakeImages.write(FakeImages.png("p\(i)"), to: dir + "/p\(i).png") }
        let processor = FakeProcessor()
        processor.padding = 100 << 10   // three fit, the fourth cannot
        let summary = try BatchRunner(options: BatchOptions(outputDirectory: mountPoint + "/out", domains: ["s"]), processor: processor)
            .run(inputs: (0..<6).map { dir + "/p\($0).png" })
        XCTAssertEqual(summary.exitStatus, 2, summary.report())
        XCTAssertEqual(summary.failed.count, 0, summary.report())
        XCTAssertTrue(summary.stoppedBy?.contains("No space left on device") ?? false, summary.report())
        XCTAssertEqual(summary.processed.count + summary.notAttempted.count, 6)
        let left = try FileManager.default.contentsOfDirectory(atPath: mountPoint + "/out")
        XCTAssertFalse(left.contains { $0.hasPrefix(".") }, "no temporary left: \(left)")
        for name in left where name.hasSuffix(".s.png") {
            let stem = String(name.prefix { $0 != "." })
            XCTAssertEqual(FileManager.default.contents(atPath: mountPoint + "/out/" + name),
                           FakeProcessor.expectedOutput(for: FakeImages.png(stem), domain: "s", padding: 100 << 10), "\(name) is whole")
        }
    }

    static func mountSmallTmpfs(at path: String, bytes: Int) -> Bool {
        mount("tmpfs", path, "tmpfs", 0, "size=\(bytes)") == 0
    }
}
