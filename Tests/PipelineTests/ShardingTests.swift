import ArgumentParser
import DurableIO
import XCTest
@testable import NadaEditCLI
@testable import Pipeline

/// Issue 19, static sharding: workers given `--shard I/N` split the inputs by content, share one output folder
/// with a ledger and lock each, and `nada-edit status` merges their ledgers.
final class ShardingTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try makeTemporaryDirectory("shard") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    // MARK: choosing the shard

    func testShardParsingAndMembershipByContent() throws {
        XCTAssertEqual(try Shard(parsing: "2/5"), try Shard(index: 2, count: 5))
        for bad in ["5/5", "-1/3", "1", "a/b", "1/0", "1/2/3"] {
            XCTAssertThrowsError(try Shard(parsing: bad), bad)
        }
        XCTAssertEqual(try Shard(index: 1, count: 3).fileTag, "shard-1-of-3")
        XCTAssertEqual(Ledger.fileName(for: try Shard(index: 1, count: 3)), "nada-edit-ledger.shard-1-of-3.jsonl")
        XCTAssertEqual(Ledger.fileName(for: nil), Ledger.fileName)
        // First 64 bits modulo N: 0x...0a = 10 -> shard 1 of 3 whatever follows.
        XCTAssertEqual(Shard.index(ofSHA256: "000000000000000a" + String(repeating: "f", count: 48), count: 3), 1)
        // 3000 distinct contents spread evenly (each shard within 10 % of a third).
        var counts = [0, 0, 0]
        for i in 0..<3000 { counts[Shard.index(ofSHA256: FileDigest.sha256Hex(of: Data("photo \(i)".utf8)), count: 3)] += 1 }
        XCTAssertTrue(counts.allSatisfy { abs($0 - 1000) < 100 }, "\(counts)")
    }

    func testShardFromTheSchedulersEnvironment() throws {
        func resolve(_ env: [String: String], _ explicit: String? = nil, _ count: Int? = nil) throws -> Shard? {
            try ShardSelection.resolve(explicit: explicit, count: count, environment: env)
        }
        XCTAssertNil(try resolve([:]))
        XCTAssertEqual(try resolve(["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "8"], "1/4"), try Shard(index: 1, count: 4))
        XCTAssertEqual(try resolve(["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "8", "SLURM_ARRAY_TASK_MIN": "0"]), try Shard(index: 3, count: 8))
        // --array=1-8: task 1 is shard 0, task 8 is shard 7.
        XCTAssertEqual(try resolve(["SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_COUNT": "8", "SLURM_ARRAY_TASK_MIN": "1"]), try Shard(index: 7, count: 8))
        // --array=0-14:2 -> 8 tasks, task 6 is shard 3.
        XCTAssertEqual(try resolve(["SLURM_ARRAY_TASK_ID": "6", "SLURM_ARRAY_TASK_COUNT": "8", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "2"]),
                       try Shard(index: 3, count: 8))
        XCTAssertEqual(try resolve(["JOB_COMPLETION_INDEX": "4"], nil, 5), try Shard(index: 4, count: 5))
        let errors: [(String?, Int?, [String: String], String)] = [
            (nil, nil, ["JOB_COMPLETION_INDEX": "1"], "--shard-count"),
            (nil, 3, [:], "needs a shard index"),
            ("1/4", 3, [:], "disagree"),
            (nil, nil, ["SLURM_ARRAY_TASK_ID": "2"], "SLURM_ARRAY_TASK_COUNT"),
            (nil, nil, ["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "2"], "not a whole number"),
            (nil, 2, ["JOB_COMPLETION_INDEX": "2"], "outside 0..1"),
        ]
        for (explicit, count, env, expected) in errors {
            XCTAssertThrowsError(try resolve(env, explicit, count)) { XCTAssertTrue("\($0)".contains(expected), "\($0)") }
        }
        // The CLI maps these to usage errors (exit 64).
        XCTAssertThrowsError(try Edit.parseAsRoot(["--domain", "d", "x.jpg", "--shard", "3/3"])) {
            XCTAssertEqual(Edit.exitCode(for: $0), .validationFailure)
        }
        XCTAssertThrowsError(try Invert.parseAsRoot(["--encoder", "e.pt", "x.jpg", "--output", "codes.npy", "--shard", "0/2"])) {
            XCTAssertTrue(Invert.message(for: $0).contains("must be a folder"), Invert.message(for: $0))
        }
    }

    // MARK: workers sharing a folder

    /// `count` distinct photos in `folder`; returns name -> bytes.
    func makePhotos(_ count: Int, in folder: String, broken: Set<Int> = []) throws -> [String: Data] {
        try FileOps.createDirectory(folder)
        var photos = [String: Data]()
        for i in 0..<count {
            let data = i % 2 == 0 ? FakeImages.jpeg("photo \(i)" + (broken.contains(i) ? " BROKEN" : "")) : FakeImages.png("photo \(i)")
            let name = String(format: "p%04d.%@", i, i % 2 == 0 ? "jpg" : "png")
            try FakeImages.write(data, to: folder + "/" + name)
            photos[name] = data
        }
        return photos
    }

    /// Every output in `folder` (not ledgers, locks or reason files), by name.
    func outputs(in folder: String) throws -> [String: Data] {
        var found = [String: Data]()
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) where name.contains(".sketch.") {
            found[name] = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
        }
        return found
    }

    func assertEachPhotoEditedOnce(_ photos: [String: Data], processors: [FakeProcessor], out: String,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        var calls = [String: Int]()
        for p in processors { for (sha, n) in p.calls { calls[sha, default: 0] += n } }
        XCTAssertEqual(calls.count, photos.count, "every photo edited", file: file, line: line)
        XCTAssertEqual(calls.values.filter { $0 != 1 }.count, 0, "no photo edited twice", file: file, line: line)
        XCTAssertTrue(processors.allSatisfy { !$0.calls.isEmpty }, "every worker had work", file: file, line: line)
        let found = try outputs(in: out)
        XCTAssertEqual(found.count, photos.count, "one output per photo, nothing doubled", file: file, line: line)
        for (name, data) in photos {
            let stem = (name as NSString).deletingPathExtension, ext = (name as NSString).pathExtension
            XCTAssertEqual(found["\(stem).sketch.\(ext)"], FakeProcessor.expectedOutput(for: data, domain: "sketch"), name, file: file, line: line)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".") && !$0.hasSuffix(".lock") }
        XCTAssertEqual(leftovers, [], "no temporaries left", file: file, line: line)
    }

    func testThreeConcurrentBatchShardsEditEveryPhotoOnce() throws {
        let inbox = dir + "/photos", out = dir + "/out"
        let photos = try makePhotos(300, in: inbox)
        let processors = (0..<3).map { _ in FakeProcessor() }
        var summaries = [BatchSummary?](repeating: nil, count: 3)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 3) { i in
            var options = BatchOptions(outputDirectory: out, domains: ["sketch"], jobs: 2)
            options.shard = try! Shard(index: i, count: 3)
            let summary = try! BatchRunner(options: options, processor: processors[i]).run(inputs: [inbox])
            lock.withLock { summaries[i] = summary }
        }
        try assertEachPhotoEditedOnce(photos, processors: processors, out: out)
        for (i, summary) in summaries.enumerated() {
            let s = try XCTUnwrap(summary)
            XCTAssertEqual(s.processed.count + s.otherShards, 300)
            XCTAssertEqual(s.processed.count, processors[i].calls.count)
            XCTAssertTrue(s.report().contains("shard \(i)/3"), s.report())
            XCTAssertTrue(FileOps.exists(out + "/nada-edit-ledger.shard-\(i)-of-3.jsonl"))
        }
        // The merged status agrees; a second round of workers does nothing.
        let status = try ClusterStatus(outputDirectory: out, inputs: [inbox])
        XCTAssertEqual(status.done.count, 300)
        XCTAssertEqual(status.notDone.count, 0, status.report())
        XCTAssertEqual(status.workers.map(\.done).reduce(0, +), 300)
        for i in 0..<3 {
            var options = BatchOptions(outputDirectory: out, domains: ["sketch"])
            options.shard = try Shard(index: i, count: 3)
            let again = FakeProcessor()
            let summary = try BatchRunner(options: options, processor: again).run(inputs: [inbox])
            XCTAssertEqual(again.calls.count, 0)
            XCTAssertEqual(summary.skipped.count + summary.otherShards, 300)
        }
    }

    /// Two photos named x.jpg in two folders, taken by different shards: both are kept (the later commit under
    /// the -sha8 name), and a rerun recognises each by content rather than skipping the second because an
    /// x.sketch.jpg exists.
    func testSameNameInTwoShardsIsKeptAndRecognisedByContent() throws {
        try FileOps.createDirectory(dir + "/a"); try FileOps.createDirectory(dir + "/b")
        var first = FakeImages.jpeg("a"), k = 0
        var second = FakeImages.jpeg("b0")
        while Shard.index(ofSHA256: FileDigest.sha256Hex(of: first), count: 2) == Shard.index(ofSHA256: FileDigest.sha256Hex(of: second), count: 2) {
            k += 1; second = FakeImages.jpeg("b\(k)")
        }
        if Shard.index(ofSHA256: FileDigest.sha256Hex(of: first), count: 2) == 1 { swap(&first, &second) }   // a/x.jpg in shard 0
        try FakeImages.write(first, to: dir + "/a/x.jpg")
        try FakeImages.write(second, to: dir + "/b/x.jpg")
        let out = dir + "/out"
        func run(_ i: Int) throws -> (BatchSummary, FakeProcessor) {
            var options = BatchOptions(outputDirectory: out, domains: ["sketch"])
            options.shard = try Shard(index: i, count: 2)
            let p = FakeProcessor()
            return (try BatchRunner(options: options, processor: p).run(inputs: [dir + "/a", dir + "/b"]), p)
        }
        XCTAssertEqual(try run(0).0.processed, [dir + "/a/x.jpg"])
        XCTAssertEqual(try run(1).0.processed, [dir + "/b/x.jpg"], "not skipped because shard 0 wrote x.sketch.jpg")
        let sha8 = String(FileDigest.sha256Hex(of: second).prefix(8))
        XCTAssertEqual(try outputs(in: out), ["x.sketch.jpg": FakeProcessor.expectedOutput(for: first, domain: "sketch"),
                                               "x-\(sha8).sketch.jpg": FakeProcessor.expectedOutput(for: second, domain: "sketch")])
        for i in 0..<2 {
            let (summary, p) = try run(i)
            XCTAssertEqual(p.calls.count, 0)
            XCTAssertEqual(summary.skipped.count, 1)
        }
    }

    /// A name another worker claimed after this one read the ledgers (its `started` entry comes before its file) is
    /// planned around; an old output no ledger knows (a run without --shard) is skipped as before.
    func testPlanningSeesOutputsOfWorkersThatStartedLaterAndSkipsOldUnrecordedOutputs() throws {
        let out = dir + "/out"
        try FileOps.createDirectory(out)
        let batch = try ShardedBatch(shard: try Shard(index: 0, count: 2), outputDirectory: out)
        let mine = String(repeating: "0", count: 64), theirs = String(repeating: "1", count: 64)
        func target(_ name: String) -> OutputTarget {
            OutputTarget(domain: "sketch", finalPath: out + "/" + name, writePath: out + "/.tmp-" + name, format: .jpeg)
        }
        let planner: (Set<String>) -> [OutputTarget] = { avoid in
            [target(OutputCommit.alternatives(of: out + "/x.sketch.jpg", domainSuffix: "sketch", sha: mine)
                .first { !avoid.contains($0) }!.components(separatedBy: "/").last!)]
        }
        // The other worker: `started` naming x.sketch.jpg, then the file.
        try Ledger(path: out + "/nada-edit-ledger.shard-1-of-2.jsonl").append(
            LedgerEntry(inputSHA256: theirs, input: "/b/x.jpg", state: .started, domains: ["sketch"], outputs: [out + "/x.sketch.jpg"]))
        try Data("theirs".utf8).write(to: URL(fileURLWithPath: out + "/x.sketch.jpg"))
        let planned = batch.plan(sha: mine, claimed: [], planner)
        XCTAssertEqual(planned.map(\.finalPath), [out + "/x-00000000.sketch.jpg"])
        XCTAssertEqual(batch.needed(planned, sha: mine).count, 1)

        // An output of an old unsharded run, unknown to every ledger: kept and the photo skipped.
        try Data("old".utf8).write(to: URL(fileURLWithPath: out + "/y.sketch.jpg"))
        var times = [timespec(tv_sec: time(nil) - 86400, tv_nsec: 0), timespec(tv_sec: time(nil) - 86400, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, out + "/y.sketch.jpg", &times, 0), 0)
        let old = batch.plan(sha: mine, claimed: []) { _ in [target("y.sketch.jpg")] }
        XCTAssertEqual(old.map(\.finalPath), [out + "/y.sketch.jpg"])
        XCTAssertEqual(batch.needed(old, sha: mine), [])
    }

    func testASecondWorkerOnTheSameShardStopsAtOnce() throws {
        let out = dir + "/out"
        try FileOps.createDirectory(out)
        let held = try FolderLock(path: out + "/" + Ledger.lockName(prefix: "batch", shard: try Shard(index: 1, count: 3)))
        defer { withExtendedLifetime(held) {} }
        _ = try makePhotos(3, in: dir + "/in")
        var options = BatchOptions(outputDirectory: out, domains: ["sketch"])
        options.shard = try Shard(index: 1, count: 3)
        XCTAssertThrowsError(try BatchRunner(options: options, processor: FakeProcessor()).run(inputs: [dir + "/in"])) {
            XCTAssertEqual($0 as? PipelineError, .alreadyRunning(lockPath: out + "/.nada-edit-batch.shard-1-of-3.lock"))
        }
        options.shard = try Shard(index: 2, count: 3)   // another shard runs beside it
        XCTAssertNoThrow(try BatchRunner(options: options, processor: FakeProcessor()).run(inputs: [dir + "/in"]))
    }

    /// On a shared folder a pid in a temporary's name means nothing (another machine's live worker, or another
    /// worker in this process): a sharded run leaves fresh temporaries alone and removes only old ones.
    func testShardedRunsRemoveOnlyOldTemporaries() throws {
        let out = dir + "/out"
        try FileOps.createDirectory(out)
        _ = try makePhotos(2, in: dir + "/in")
        let otherMachine = out + "/" + AtomicFile.temporaryPrefix + "999999-x-a.sketch.jpg"   // no such pid here
        let ours = out + "/" + AtomicFile.temporaryPrefix + "\(getpid())-y-b.sketch.jpg"
        let old = out + "/" + AtomicFile.temporaryPrefix + "999998-z-c.sketch.jpg"
        for path in [otherMachine, ours, old] { try Data("partial".utf8).write(to: URL(fileURLWithPath: path)) }
        var times = [timespec(tv_sec: time(nil) - 7200, tv_nsec: 0), timespec(tv_sec: time(nil) - 7200, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, old, &times, 0), 0)
        var options = BatchOptions(outputDirectory: out, domains: ["sketch"])
        options.shard = try Shard(index: 0, count: 1)
        _ = try BatchRunner(options: options, processor: FakeProcessor()).run(inputs: [dir + "/in"])
        XCTAssertTrue(FileOps.exists(otherMachine))
        XCTAssertTrue(FileOps.exists(ours))
        XCTAssertFalse(FileOps.exists(old))
    }

    func testThreeWatchersShareAFolderAndEditEveryPhotoOnce() throws {
        let inbox = dir + "/inbox", out = dir + "/out"
        let photos = try makePhotos(300, in: inbox)
        let processors = (0..<3).map { _ in FakeProcessor() }
        var summaries = [WatchSummary?](repeating: nil, count: 3)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 3) { i in
            var options = WatchOptions(inputDirectory: inbox, outputDirectory: out, domains: ["sketch"])
            options.settleInterval = 0.05
            options.exitWhenIdle = true
            options.shard = try! Shard(index: i, count: 3)
            let summary = try! Watcher(options: options, processor: processors[i]).run()
            lock.withLock { summaries[i] = summary }
        }
        try assertEachPhotoEditedOnce(photos, processors: processors, out: out)
        for (i, summary) in summaries.enumerated() {
            let s = try XCTUnwrap(summary)
            XCTAssertEqual(s.processed.count + s.otherShards, 300, s.report())
            XCTAssertNil(s.fatal)
            XCTAssertTrue(s.report().contains("shard \(i)/3"), s.report())
        }
        XCTAssertFalse(FileOps.exists(out + "/" + Ledger.fileName), "sharded watchers keep only their own ledgers")
        XCTAssertEqual(try ClusterStatus(outputDirectory: out, inputs: [inbox]).notDone.count, 0)
    }

    /// `invert --shard I/N` (the real binary, fixture encoder): the two shards together write each photo's code
    /// once, and each names its shard in the summary.
    func testInvertShardsSplitThePhotos() throws {
        let repo = CLIProcessTests.repository
        try FileOps.createDirectory(dir + "/in")
        try FileManager.default.copyItem(atPath: repo + "/fixtures/encoders/input_face.png", toPath: dir + "/in/x.png")
        try FileManager.default.copyItem(atPath: repo + "/fixtures/align/input_face.png", toPath: dir + "/in/y.png")
        var written = [String: Int]()
        for i in 0..<2 {
            let before = Set((try? FileManager.default.contentsOfDirectory(atPath: dir + "/codes")) ?? [])
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLIProcessTests.binary)
            process.arguments = ["invert", "--encoder", repo + "/fixtures/encoders/e4e.pt", "--align", "center", "in/x.png", "in/y.png",
                                 "--output", "codes", "--shard", "\(i)/2"]
            process.currentDirectoryURL = URL(fileURLWithPath: dir)
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            let status = process.terminationStatus
            XCTAssertEqual(status, 0, output)
            XCTAssertTrue(output.contains("; shard \(i)/2 ("), output)
            for name in Set(try FileManager.default.contentsOfDirectory(atPath: dir + "/codes")).subtracting(before) { written[name, default: 0] += 1 }
        }
        XCTAssertEqual(written, ["x.npy": 1, "y.npy": 1])
    }

    // MARK: status

    func testStatusMergesLedgersWithFailuresAndInputsNotDone() throws {
        let inbox = dir + "/in", out = dir + "/out"
        _ = try makePhotos(20, in: inbox, broken: [4])
        for i in 0..<2 {
            var options = BatchOptions(outputDirectory: out, domains: ["sketch"])
            options.shard = try Shard(index: i, count: 2)
            _ = try BatchRunner(options: options, processor: FakeProcessor()).run(inputs: [inbox])
        }
        // A photo added later, and a worker that died mid-photo (a `started` line and nothing after it).
        try FakeImages.write(FakeImages.jpeg("late"), to: inbox + "/late.jpg")
        let died = LedgerEntry(inputSHA256: FileDigest.sha256Hex(of: FakeImages.jpeg("late")), input: inbox + "/late.jpg",
                               state: .started, domains: ["sketch"], outputs: [out + "/late.sketch.jpg"])
        let shardOfLate = Shard.index(ofSHA256: died.inputSHA256, count: 2)
        try Ledger(path: out + "/nada-edit-ledger.shard-\(shardOfLate)-of-2.jsonl").append(died)

        let before = snapshot(out)
        let status = try ClusterStatus(outputDirectory: out, inputs: [inbox])
        XCTAssertEqual(snapshot(out), before, "status changes nothing")
        XCTAssertEqual(status.workers.map(\.shard), [try Shard(index: 0, count: 2), try Shard(index: 1, count: 2)])
        XCTAssertEqual(status.done.count, 19)
        XCTAssertEqual(status.failed.count, 1)
        XCTAssertEqual(status.inProgress.count, 1)
        XCTAssertEqual(status.notDone.map(\.path).sorted(), [inbox + "/late.jpg", inbox + "/p0004.jpg"])
        let report = status.report()
        XCTAssertTrue(report.contains("failed: \(inbox)/p0004.jpg: corrupt image data (fake decoder)"), report)
        XCTAssertTrue(report.contains("in progress: \(inbox)/late.jpg"), report)
        XCTAssertTrue(report.contains("not done yet: 2 of 21 input photo(s)"), report)
        XCTAssertTrue(report.contains("total: done 19, failed 1, in progress 1"), report)

        // Through the command line: exit 1 while something is not done; a missing folder is a clear error.
        XCTAssertThrowsError(try { var c = try NadaEdit.parseAsRoot(["status", out, "--input", inbox]); try c.run() }()) {
            XCTAssertEqual(($0 as? ExitCode)?.rawValue, 1)
        }
        XCTAssertNoThrow(try { var c = try NadaEdit.parseAsRoot(["status", out]); try c.run() }())
        XCTAssertThrowsError(try ClusterStatus(outputDirectory: dir + "/nope")) { XCTAssertTrue("\($0)".contains("no such folder"), "\($0)") }
    }

    // MARK: deploy files

    /// Runs `script` under /bin/bash with a stand-in `nada-edit` on PATH that records its arguments; returns them.
    func argumentsOf(_ script: String, environment extra: [String: String]) throws -> [String] {
        let bin = dir + "/bin"
        try FileOps.createDirectory(bin)
        try "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$ARGS_FILE\"\n".write(toFile: bin + "/nada-edit", atomically: true, encoding: .utf8)
        chmod(bin + "/nada-edit", 0o755)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SLURM_") && $0.key != "JOB_COMPLETION_INDEX" }
        environment["PATH"] = bin + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["ARGS_FILE"] = dir + "/args.txt"
        environment.merge(extra) { $1 }
        process.environment = environment
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return try String(contentsOfFile: dir + "/args.txt", encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func testSlurmArrayScriptGivesEachTaskItsShard() throws {
        let script = ManPageTests.packageRoot.appendingPathComponent("deploy/slurm/nada-edit-array.sbatch").path
        let text = try String(contentsOfFile: script, encoding: .utf8)
        let array = try XCTUnwrap(text.range(of: #"#SBATCH --array=0-([0-9]+)"#, options: .regularExpression).map { String(text[$0]) })
        let tasks = Int(array.split(separator: "-").last!)! + 1
        for task in [0, tasks - 1] {
            let env = ["SLURM_ARRAY_TASK_ID": "\(task)", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "\(tasks)",
                       "SLURM_CPUS_PER_TASK": "4", "PHOTOS": "/shared/photos", "OUTPUT": "/shared/edited", "DOMAIN": "sketch"]
            let arguments = try argumentsOf("bash \(script)", environment: env)
            guard case let edit as Edit = try NadaEdit.parseAsRoot(arguments) else { return XCTFail("not an edit: \(arguments)") }
            XCTAssertEqual(try edit.sharding.resolve(environment: env), try Shard(index: task, count: tasks))
            XCTAssertEqual(edit.output, "/shared/edited")
            XCTAssertEqual(edit.inputs, ["/shared/photos"])
            XCTAssertEqual(edit.domains, ["sketch"])
        }
        // Without the variables it names what is missing instead of editing anything.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script]
        process.environment = ["PATH": "/usr/bin:/bin"]
        let pipe = Pipe(); process.standardError = pipe
        try process.run(); process.waitUntilExit()
        XCTAssertNotEqual(process.terminationStatus, 0)
        XCTAssertTrue(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("PHOTOS"))
    }

    func testKubernetesIndexedJobGivesEachPodItsShard() throws {
        let file = ManPageTests.packageRoot.appendingPathComponent("deploy/kubernetes/nada-edit-indexed-job.yaml").path
        let text = try String(contentsOfFile: file, encoding: .utf8)
        XCTAssertTrue(text.contains("completionMode: Indexed"))
        let completions = try XCTUnwrap(text.range(of: #"completions: [0-9]+"#, options: .regularExpression)
            .flatMap { Int(text[$0].split(separator: " ").last!) })
        // The container runs `/bin/sh -c` with the single line under `args:`.
        let lines = text.components(separatedBy: "\n")
        let argsAt = try XCTUnwrap(lines.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "args:" })
        let command = lines[argsAt + 1].trimmingCharacters(in: .whitespaces).dropFirst(2)
        for index in [0, completions - 1] {
            let env = ["JOB_COMPLETION_INDEX": "\(index)"]
            let arguments = try argumentsOf(String(command), environment: env)
            guard case let edit as Edit = try NadaEdit.parseAsRoot(arguments) else { return XCTFail("not an edit: \(arguments)") }
            XCTAssertEqual(try edit.sharding.resolve(environment: env), try Shard(index: index, count: completions),
                           "--shard-count must equal completions")
        }
    }
}
