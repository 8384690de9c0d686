// nada-queue-bench URL [WORKERS] [PHOTOS] [BATCH]: claim/complete throughput of the PostgreSQL work queue (issue 19).
// WORKERS threads (default 8), each with its own connections as an `edit --queue` worker has, claim BATCH photos at
// a time (default 1, what workers do) and complete each with no editing and no files, until PHOTOS (default 20000)
// rows are done. It creates a
// scratch database next to the one in URL and drops it afterwards. A separate target so that nada-bench (the
// numeric benchmarks) does not link postgres-nio.
import ClusterQueue
import Foundation
import Pipeline

let arguments = CommandLine.arguments.dropFirst()
guard let text = arguments.first else {
    FileHandle.standardError.write(Data("usage: nada-queue-bench postgres://USER@HOST/DB [WORKERS=8] [PHOTOS=20000] [BATCH=1]\n".utf8))
    exit(64)
}
let workers = arguments.dropFirst().first.flatMap(Int.init) ?? 8
let photos = arguments.dropFirst(2).first.flatMap(Int.init) ?? 20000
let batch = arguments.dropFirst(3).first.flatMap(Int.init) ?? 1

do {
    let base = try QueueURL(text)
    let admin = try PostgresWorkQueue(url: base, requireSchema: false)
    let scratch = "nada_queue_bench_\(UInt32.random(in: 0...UInt32.max))"
    try admin.createDatabase(scratch)
    defer { try? admin.dropDatabase(scratch) }
    var url = base
    url.database = scratch
    try PostgresWorkQueue(url: url, requireSchema: false).initialise()

    let setup = try PostgresWorkQueue(url: url)
    let rows = (0..<photos).map { (sha256: FileDigest.sha256Hex(of: Data("bench \($0)".utf8)), input: "/bench/\($0).jpg") }
    for start in stride(from: 0, to: rows.count, by: 1000) { _ = try setup.enqueue(Array(rows[start..<min(start + 1000, rows.count)])) }

    let queues = try (0..<workers).map { _ in try PostgresWorkQueue(url: url) }
    let counts = WorkerCounts(workers)
    let started = Date()
    // One thread per worker (concurrentPerform would run only as many as there are cores; workers mostly wait).
    let group = DispatchGroup()
    for w in 0..<workers {
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            let queue = queues[w]
            var completed = 0
            while case let claimed = try! queue.claim(worker: "bench-\(w)", limit: batch, lease: 60), !claimed.isEmpty {
                for photo in claimed {
                    _ = try! queue.complete(worker: "bench-\(w)", sha256: photo.sha256) { [] }
                    completed += 1
                }
            }
            counts.set(w, completed)
        }
    }
    group.wait()
    let seconds = Date().timeIntervalSince(started)
    let perWorker = counts.values
    let done = perWorker.reduce(0, +)
    print(String(format: "%d workers, claiming %d at a time: %d claims + completes in %.2f s = %.0f photos/s (photos each: %@)",
                 workers, batch, done, seconds, Double(done) / seconds, perWorker.map(String.init).joined(separator: " ")))
    let left = try setup.unfinishedCount()
    if done != photos || left != 0 { print("ERROR: \(done) of \(photos) completed, \(left) unfinished"); exit(1) }
} catch {
    FileHandle.standardError.write(Data("nada-queue-bench: \(error)\n".utf8))
    exit(1)
}

/// Photos completed per worker thread, each written once by its own thread when it finishes.
final class WorkerCounts: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int]
    init(_ workers: Int) { counts = Array(repeating: 0, count: workers) }
    func set(_ worker: Int, _ count: Int) { lock.withLock { counts[worker] = count } }
    var values: [Int] { lock.withLock { counts } }
}
