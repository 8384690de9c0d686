import ArgumentParser
import Imaging
import XCTest
@testable import ClusterQueue
@testable import NadaEditCLI
@testable import Pipeline

/// Issue 19, the dynamic work queue on PostgreSQL. The tests that need a server read its URL from
/// NADA_TEST_POSTGRES_URL (.ci/run starts a throwaway cluster and sets it) and skip, saying so, when it is unset;
/// each makes its own database and drops it.
final class QueueTests: XCTestCase {
    var dir = ""
    var databaseURL: QueueURL?
    private var admin: PostgresWorkQueue?
    private var database = ""

    override func setUpWithError() throws { dir = try makeTemporaryDirectory("queue") }
    override func tearDown() {
        if let admin, !database.isEmpty { try? admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }
        try? admin?.close()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A fresh database on the test server, or a skip when none is configured.
    func freshQueue() throws -> QueueURL {
        guard let text = ProcessInfo.processInfo.environment["NADA_TEST_POSTGRES_URL"], !text.isEmpty else {
            throw XCTSkip("NADA_TEST_POSTGRES_URL is not set: no PostgreSQL to test the queue against (.ci/run starts one and sets it)")
        }
        let base = try QueueURL(text)
        let admin = try PostgresWorkQueue(url: base, requireSchema: false)
        self.admin = admin
        database = "nada_queue_test_\(UInt32.random(in: 0...UInt32.max))"
        try admin.execute("CREATE DATABASE \(database)")
        var url = base
        url.database = database
        databaseURL = url
        return url
    }

    // MARK: without a server

    func testURLsAreParsedAndPasswordsNeverShown() throws {
        let tcp = try QueueURL("postgres://alice:s3cret@db.example.org:6543/photos?sslmode=require", environment: [:])
        XCTAssertEqual([tcp.user, tcp.host, tcp.database, tcp.sslMode], ["alice", "db.example.org", "photos", "require"])
        XCTAssertEqual(tcp.port, 6543)
        XCTAssertNil(tcp.socketDirectory)
        XCTAssertFalse(tcp.description.contains("s3cret"), tcp.description)
        XCTAssertTrue(tcp.description.contains(":***@"), tcp.description)

        let socket = try QueueURL("postgres://postgres@localhost:54329/postgres?host=/tmp/pg", environment: ["PGPASSWORD": "fromenv"])
        XCTAssertEqual(socket.socketDirectory, "/tmp/pg")
        XCTAssertEqual(socket.sslMode, "disable")
        XCTAssertEqual(socket.password, "fromenv")
        XCTAssertFalse(socket.description.contains("fromenv"))
        XCTAssertEqual(try QueueURL("postgresql:///", environment: ["PGUSER": "bob"]).database, "bob")

        XCTAssertThrowsError(try QueueURL("mysql://root:hunter2@x/db")) {
            XCTAssertTrue("\($0)".contains("postgres://"), "\($0)")
            XCTAssertFalse("\($0)".contains("hunter2"), "\($0)")
        }
        XCTAssertThrowsError(try QueueURL("postgres://x/db?sslmode=maybe"))
        XCTAssertThrowsError(try Edit.parseAsRoot(["--domain", "d", "--queue", "postgres://h/db", "--shard", "0/2"])) {
            XCTAssertTrue(Edit.message(for: $0).contains("--queue and --shard"), Edit.message(for: $0))
        }
        XCTAssertNoThrow(try Edit.parseAsRoot(["--domain", "d", "--queue", "postgres://h/db"]), "a queue worker needs no inputs of its own")
    }

    /// The default recogniser reads the output's embedded provenance: this input's SHA-256 and this domain.
    func testOutputsAreRecognisedByTheirProvenance() throws {
        let sha = String(repeating: "ab", count: 32)
        for format in [OutputFormat.png, .jpeg(quality: 90)] {
            let provenance = Provenance(toolVersion: "test", inputSHA256: sha, domain: "sketch")
            let path = dir + "/x.sketch" + (format == .png ? ".png" : ".jpg")
            try Data(try encodeImage(RGBImage(width: 8, height: 8, fill: (10, 20, 30)), format: format, provenance: provenance))
                .write(to: URL(fileURLWithPath: path))
            XCTAssertTrue(QueueWorker.provenanceMatches(path, sha, "sketch"))
            XCTAssertFalse(QueueWorker.provenanceMatches(path, sha, "pixar"), "another domain")
            XCTAssertFalse(QueueWorker.provenanceMatches(path, String(repeating: "cd", count: 32), "sketch"), "another input")
        }
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: dir + "/junk.sketch.jpg"))
        XCTAssertFalse(QueueWorker.provenanceMatches(dir + "/junk.sketch.jpg", sha, "sketch"))
    }

    // MARK: with a server

    func makePhotos(_ count: Int, in folder: String, broken: Set<Int> = []) throws -> [String: Data] {
        try FileOps.createDirectory(folder)
        var photos = [String: Data]()
        for i in 0..<count {
            let data = FakeImages.jpeg("queued photo \(i)" + (broken.contains(i) ? " BROKEN" : ""))
            let name = String(format: "q%04d.jpg", i)
            try FakeImages.write(data, to: folder + "/" + name)
            photos[name] = data
        }
        return photos
    }

    /// The fake processor's "provenance": an output is this content's for this domain when its bytes are what the
    /// fake editor makes of the input.
    func fakeRecogniser(_ photos: [String: Data]) -> (String, String, String) -> Bool {
        let bySHA = Dictionary(uniqueKeysWithValues: photos.values.map { (FileDigest.sha256Hex(of: $0), $0) })
        return { path, sha, domain in
            guard let input = bySHA[sha], let bytes = FileManager.default.contents(atPath: path) else { return false }
            return bytes == FakeProcessor.expectedOutput(for: input, domain: domain)
        }
    }

    func worker(_ url: QueueURL, out: String, processor: FakeProcessor, photos: [String: Data], id: String) throws -> QueueWorker {
        let worker = QueueWorker(options: BatchOptions(outputDirectory: out, domains: ["sketch"]), queue: try PostgresWorkQueue(url: url),
                                 processor: processor, workerID: id)
        worker.lease = 1.0       // short leases so the test sees dead workers' photos taken over
        worker.idlePoll = 0.05
        worker.recognise = fakeRecogniser(photos)
        return worker
    }

    func testFourWorkersTwoKilledOneAddedEveryPhotoDoneOnce() throws {
        let url = try freshQueue()
        XCTAssertTrue(try PostgresWorkQueue(url: url, requireSchema: false).initialise())
        let inbox = dir + "/photos", out = dir + "/out"
        let photos = try makePhotos(300, in: inbox)

        let processors = (0..<5).map { _ in FakeProcessor() }
        let workers = try (0..<5).map { try worker(url, out: out, processor: processors[$0], photos: photos, id: "w\($0)") }
        processors.forEach { $0.delay = 0.002 }
        // w0 dies mid-photo (its 10th), before anything is renamed; w1 dies on its 10th photo after renaming the
        // output into place, before the queue records it.
        let state = Shared()
        processors[0].duringProcess = { _ in if state.count(0) == 10 { workers[0].abandon() } }
        workers[1].afterOutputsCommitted = { _ in if state.count(1) == 10 { workers[1].abandon() } }

        let group = DispatchGroup()
        func start(_ i: Int) {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                state.finish(i, try? workers[i].run(inputs: [inbox]))
            }
        }
        for i in 0..<4 { start(i) }
        // The new worker joins once both are dead.
        let deadline = Date().addingTimeInterval(60)
        while (state.counts[0] < 10 || state.counts[1] < 10) && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertTrue(state.counts[0] >= 10 && state.counts[1] >= 10, "both workers reached the photo they die on")
        start(4)
        XCTAssertEqual(group.wait(timeout: .now() + 120), .success, "workers finished")

        let all = try state.summaries.enumerated().map { try XCTUnwrap($0.element, "worker \($0.offset) threw") }
        // The dead ones never recorded their last photo.
        XCTAssertEqual(all[0].processed.count, 9)
        XCTAssertEqual(all[1].processed.count, 9)
        // Every photo is done once: by a record in the queue, with exactly one output file each.
        let recorded = all.map { $0.processed.count + $0.recognised.count }.reduce(0, +)
        XCTAssertEqual(recorded, 300)
        XCTAssertEqual(all.map(\.recognised.count).reduce(0, +), 1, "w1's renamed output was recognised, not written again")
        XCTAssertTrue(all[2...].allSatisfy { $0.failed.isEmpty && $0.stoppedBy == nil })
        let files = try FileManager.default.contentsOfDirectory(atPath: out)
        XCTAssertEqual(files.filter { $0.hasPrefix(".") }, [], "no temporaries")
        XCTAssertEqual(files.filter { $0.hasSuffix(".sketch.jpg") }.count, 300, "one output per photo, none doubled")
        for (name, data) in photos {
            let output = out + "/" + name.replacingOccurrences(of: ".jpg", with: ".sketch.jpg")
            XCTAssertEqual(FileManager.default.contents(atPath: output), FakeProcessor.expectedOutput(for: data, domain: "sketch"), name)
        }

        // `queue status` agrees: all done, nothing claimed (no lease left behind), the recorded outputs are the files.
        let queue = try PostgresWorkQueue(url: url)
        let snapshot = try queue.snapshot()
        XCTAssertEqual(snapshot.done, 300)
        XCTAssertEqual(snapshot.queued, 0)
        XCTAssertEqual(snapshot.claimed.count, 0)
        XCTAssertEqual(snapshot.failed.count, 0)
        XCTAssertEqual(Set(snapshot.doneOutputs.values.flatMap { $0 }), Set(files.filter { $0.hasSuffix(".sketch.jpg") }.map { out + "/" + $0 }))
        for (name, data) in photos {
            XCTAssertEqual(snapshot.doneOutputs[FileDigest.sha256Hex(of: data)], [out + "/" + name.replacingOccurrences(of: ".jpg", with: ".sketch.jpg")])
        }
        let report = snapshot.report(url: url)
        XCTAssertTrue(report.contains("queued 0, claimed 0, done 300, failed 0"), report)
        XCTAssertEqual(try queue.unfinishedCount(), 0)
        try queue.close()
        try workers.forEach { try ($0.queue as! PostgresWorkQueue).close() }
    }

    func testInitStatusRetryFailedAndAWorkerTakingOverAnExpiredLease() throws {
        let url = try freshQueue()
        XCTAssertThrowsError(try PostgresWorkQueue(url: url)) { XCTAssertTrue("\($0)".contains("nada-edit queue init"), "\($0)") }
        let setup = try PostgresWorkQueue(url: url, requireSchema: false)
        XCTAssertTrue(try setup.initialise())
        XCTAssertFalse(try setup.initialise(), "init twice is harmless")
        let inbox = dir + "/in", out = dir + "/out"
        let photos = try makePhotos(6, in: inbox, broken: [2])

        // Enqueueing is idempotent by content; a lease not renewed expires and the photo goes to the next claimer.
        let queue = try PostgresWorkQueue(url: url)
        let entries = photos.map { (sha256: FileDigest.sha256Hex(of: $0.value), input: inbox + "/" + $0.key) }
        XCTAssertEqual(try queue.enqueue(entries), 6)
        XCTAssertEqual(try queue.enqueue(entries), 0)
        let first = try queue.claim(worker: "dead", limit: 1, lease: 0.2)
        XCTAssertEqual(first.count, 1)
        XCTAssertEqual(try queue.snapshot().claimed.map(\.worker), ["dead"])
        Thread.sleep(forTimeInterval: 0.4)
        XCTAssertTrue(try queue.snapshot().report(url: url).contains("lease expired"))
        let processor = FakeProcessor()
        let summary = try worker(url, out: out, processor: processor, photos: photos, id: "alive").run(inputs: [inbox])
        XCTAssertEqual(summary.processed.count, 5)
        XCTAssertEqual(summary.failed.map(\.path), [inbox + "/q0002.jpg"])
        XCTAssertEqual(summary.exitStatus, 1)
        XCTAssertEqual(try queue.heartbeat(worker: "dead", sha256s: [first[0].sha256], lease: 10), [first[0].sha256], "the dead worker's lease is gone")
        XCTAssertEqual(try queue.fail(worker: "dead", sha256: first[0].sha256, reason: "late"), false, "a lost lease cannot record")
        XCTAssertNil(try queue.complete(worker: "dead", sha256: first[0].sha256) { XCTFail("must not rename"); return [] })

        let snapshot = try queue.snapshot()
        XCTAssertEqual(snapshot.done, 5)
        XCTAssertEqual(snapshot.failed.map(\.input), [inbox + "/q0002.jpg"])
        XCTAssertTrue(snapshot.report(url: url).contains("failed: \(inbox)/q0002.jpg: corrupt image data (fake decoder)"), snapshot.report(url: url))

        // retry-failed puts it back; with the photo repaired, a worker finishes the queue.
        XCTAssertEqual(try queue.retryFailed(), 1)
        try FakeImages.write(FakeImages.jpeg("repaired"), to: inbox + "/q0002.jpg")
        let again = try worker(url, out: out, processor: FakeProcessor(), photos: photos, id: "again").run(inputs: [inbox])
        // The queued row names content the file no longer holds: recorded failed with that reason, and the new content is new work.
        XCTAssertEqual(again.enqueued, 1)
        XCTAssertTrue(again.failed.contains { $0.reason.contains("no longer holds the content") }, again.report())
        XCTAssertEqual(try queue.unfinishedCount(), 0)

        // The command line: init, status and retry-failed on the same URL.
        for arguments in [["queue", "init", "\(url.asArgument)"], ["queue", "status", url.asArgument], ["queue", "retry-failed", url.asArgument]] {
            var command = try NadaEdit.parseAsRoot(arguments)
            XCTAssertNoThrow(try command.run(), "\(arguments)")
        }
        try queue.close(); try setup.close()
    }
}

extension QueueURL {
    /// The URL as a worker would be given it (tests use trust authentication: no password).
    var asArgument: String { "postgres://\(user)@\(host):\(port)/\(database)" + (socketDirectory.map { "?host=\($0)" } ?? "") }
}

/// Counters and results written by the worker threads of a test, read by the test's thread.
private final class Shared: @unchecked Sendable {   // every access holds `lock`
    private let lock = NSLock()
    private var _counts = [Int](repeating: 0, count: 5)
    private var _summaries = [QueueSummary?](repeating: nil, count: 5)
    var counts: [Int] { lock.withLock { _counts } }
    var summaries: [QueueSummary?] { lock.withLock { _summaries } }
    /// Counts one more event of worker `i`; returns the new count.
    func count(_ i: Int) -> Int { lock.withLock { _counts[i] += 1; return _counts[i] } }
    func finish(_ i: Int, _ summary: QueueSummary?) { lock.withLock { _summaries[i] = summary } }
}
