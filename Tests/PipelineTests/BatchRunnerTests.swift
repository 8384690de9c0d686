import XCTest
@testable import Pipeline

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
        let outputs = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
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
        XCTAssertTrue(FileOps.exists(out + "/deep.sketch.png"))
        XCTAssertTrue(FileOps.exists(out + "/one.sketch.png"))
        let second = try BatchRunner(options: options, processor: processor).run(inputs: [input])
        XCTAssertEqual(second.processed.count, 0)
        XCTAssertEqual(second.skipped.count, 4)
        XCTAssertFalse(processor.jobs.contains { $0.inputPath.contains("/edited/") })
    }

    func testCollidingOutputNamesAndMissingInputsAreFailures() throws {
        try FileOps.createDirectory(dir + "/a")
        try FileOps.createDirectory(dir + "/b")
        try FakeImages.write(FakeImages.jpeg("a"), to: dir + "/a/face.jpg")
        try FakeImages.write(FakeImages.jpeg("b"), to: dir + "/b/face.jpg")
        let summary = try BatchRunner(options: BatchOptions(outputDirectory: dir + "/out", domains: ["x"]), processor: FakeProcessor())
            .run(inputs: [dir + "/a", dir + "/b/face.jpg", dir + "/nope.jpg"])
        XCTAssertEqual(summary.processed, [dir + "/a/face.jpg"])
        XCTAssertEqual(summary.failed.count, 2)
        XCTAssertTrue(summary.failed.contains { $0.path == dir + "/nope.jpg" && $0.reason == "no such file or folder" })
        XCTAssertTrue(summary.failed.contains { $0.path == dir + "/b/face.jpg" && $0.reason.contains("would also be written") })
        XCTAssertThrowsError(try BatchRunner(options: BatchOptions(outputDirectory: dir + "/out", domains: []), processor: FakeProcessor()).run(inputs: []))
    }

    func testIgnoredNames() {
        for name in [".DS_Store", "._x.jpg", "x.jpg.part", "x.crdownload", "~lock.jpg", "x.tmp", "Thumbs.db", ".nada-edit-tmp-1-a-x.jpg"] {
            XCTAssertTrue(FileOps.isIgnoredName(name), name)
        }
        for name in ["x.jpg", "photo.PNG", "a.b.c.jpeg"] { XCTAssertFalse(FileOps.isIgnoredName(name), name) }
    }
}
