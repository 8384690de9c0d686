import Foundation
import Logging
import Pipeline
import PostgresNIO

/// The work queue in PostgreSQL (`--queue postgres://…`): one row per photo, keyed by the SHA-256 of its bytes.
///
/// - enqueue: `INSERT … ON CONFLICT DO NOTHING`, so every worker may enqueue the same folder.
/// - claim: `SELECT … FOR UPDATE SKIP LOCKED` over rows that are queued or whose lease expired, set to `claimed` with
///   the worker's id and `lease_expires`; workers never wait on each other's rows.
/// - heartbeat: pushes `lease_expires` forward for the rows the worker still holds (its own connection).
/// - complete: in one transaction, the row is locked and checked to still be this worker's, the outputs are
///   renamed into place, and the row becomes `done` with their names. A worker killed inside it leaves the row
///   `claimed` (the server rolls back); once the lease expires another worker takes it and finds the outputs.
///
/// Calls block (the pipeline is thread-based); each bridges to postgres-nio's async API.
public final class PostgresWorkQueue: WorkQueue {
    public static let schemaVersion = 1
    static let logger = Logger(label: "nada-edit.queue")

    public let url: QueueURL
    private let connection: PostgresConnection
    /// Heartbeats run beside a long edit; a second connection keeps them out of the worker's transactions.
    private let heartbeatConnection: PostgresConnection

    /// Connects twice (work and heartbeat) and checks the schema; `requireSchema: false` for `queue init`.
    public init(url: QueueURL, requireSchema: Bool = true) throws {
        self.url = url
        let configuration = try url.configuration()
        do {
            connection = try blocking { try await PostgresConnection.connect(configuration: configuration, id: 1, logger: PostgresWorkQueue.logger) }
            heartbeatConnection = try blocking { try await PostgresConnection.connect(configuration: configuration, id: 2, logger: PostgresWorkQueue.logger) }
        } catch {
            throw PipelineError.io(path: url.description, problem: "cannot connect to PostgreSQL: \(PostgresWorkQueue.describe(error))")
        }
        if requireSchema {
            let version = try schemaVersionInDatabase()
            guard version == PostgresWorkQueue.schemaVersion else {
                try? close()
                throw PipelineError.invalidArgument(version == nil
                    ? "\(url): no nada-edit queue here yet; create it with `nada-edit queue init \(url)`"
                    : "\(url): the queue's schema is version \(version!), this nada-edit uses \(PostgresWorkQueue.schemaVersion)")
            }
        }
    }

    public func close() throws {
        try blocking { [connection, heartbeatConnection] in
            try await connection.close()
            try await heartbeatConnection.close()
        }
    }

    deinit { try? close() }

    /// A PSQLError's server message (its own description hides it); never the URL or password.
    static func describe(_ error: Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            return "\(error.code)" + (error.underlying.map { " (\($0))" } ?? "")
        }
        return "\(error)"
    }

    @discardableResult
    private func run<T>(_ body: @escaping () async throws -> T) throws -> T {
        do { return try blocking(body) }
        catch let error as PSQLError { throw PipelineError.io(path: url.description, problem: PostgresWorkQueue.describe(error)) }
    }

    // MARK: schema

    func schemaVersionInDatabase() throws -> Int? {
        try run { [connection] in
            let exists = try await connection.query("SELECT to_regclass('nada_edit_queue_schema') IS NOT NULL", logger: Self.logger)
            for try await present in exists.decode(Bool.self) where !present { return nil }
            for try await version in try await connection.query("SELECT max(version) FROM nada_edit_queue_schema", logger: Self.logger).decode(Int?.self) {
                return version
            }
            return nil
        }
    }

    /// Creates the tables (once; safe to repeat and to run from several places at once). Returns whether it created them.
    @discardableResult
    public func initialise() throws -> Bool {
        let existing = try schemaVersionInDatabase()
        if let existing {
            guard existing == PostgresWorkQueue.schemaVersion else {
                throw PipelineError.invalidArgument("\(url): the queue's schema is version \(existing), this nada-edit uses \(PostgresWorkQueue.schemaVersion)")
            }
            // A queue made before the claim index existed gets it now (an index changes no row: same schema version).
            try run { [connection] in try await connection.query(PostgresQuery(unsafeSQL: Self.claimIndex), logger: Self.logger) }
            return false
        }
        return try run { [connection] in
            try await connection.withTransaction(logger: Self.logger) { c in
                // Two `init`s at once: the second waits here, then finds the tables.
                try await c.query("SELECT pg_advisory_xact_lock(4242001)", logger: Self.logger)
                if try await c.query("SELECT to_regclass('nada_edit_queue_schema') IS NOT NULL", logger: Self.logger)
                    .decode(Bool.self).reduce(false, { $0 || $1 }) { return false }
                try await c.query("""
                    CREATE TABLE nada_edit_queue_schema (version integer NOT NULL, created timestamptz NOT NULL DEFAULT now())
                    """, logger: Self.logger)
                try await c.query("""
                    CREATE TABLE nada_edit_photos (
                        sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
                        input text NOT NULL,
                        state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'claimed', 'done', 'failed')),
                        worker text,
                        lease_expires timestamptz,
                        heartbeat timestamptz,
                        attempts integer NOT NULL DEFAULT 0,
                        outputs text[] NOT NULL DEFAULT '{}',
                        reason text,
                        enqueued timestamptz NOT NULL DEFAULT now(),
                        finished timestamptz
                    )
                    """, logger: Self.logger)
                try await c.query("CREATE INDEX nada_edit_photos_claimable ON nada_edit_photos (state, lease_expires, enqueued)", logger: Self.logger)
                try await c.query(PostgresQuery(unsafeSQL: Self.claimIndex), logger: Self.logger)
                try await c.query("INSERT INTO nada_edit_queue_schema (version) VALUES (\(PostgresWorkQueue.schemaVersion))", logger: Self.logger)
                return true
            }
        }
    }

    /// The unfinished rows in claim order. Without it every claim sorted every claimable row: 14.7 ms a claim with
    /// 10000 queued (EXPLAIN ANALYZE, PostgreSQL 15, this 2-core machine), which held 8 workers to ~260 claims/s and
    /// grows with the queue; with it the claim reads the first unlocked entry, 0.06 ms.
    static let claimIndex = """
        CREATE INDEX IF NOT EXISTS nada_edit_photos_unfinished ON nada_edit_photos (enqueued, sha256)
        WHERE state IN ('queued', 'claimed')
        """

    // MARK: WorkQueue

    public func enqueue(_ photos: [(sha256: String, input: String)]) throws -> Int {
        guard !photos.isEmpty else { return 0 }
        let shas = photos.map(\.sha256), inputs = photos.map(\.input)
        return try run { [connection] in
            let rows = try await connection.query("""
                WITH added AS (
                    INSERT INTO nada_edit_photos (sha256, input)
                    SELECT * FROM unnest(\(shas)::text[], \(inputs)::text[])
                    ON CONFLICT (sha256) DO NOTHING RETURNING 1)
                SELECT count(*)::int8 FROM added
                """, logger: Self.logger)
            var added = 0
            for try await n in rows.decode(Int.self) { added = n }
            return added
        }
    }

    public func claim(worker: String, limit: Int, lease: TimeInterval) throws -> [ClaimedPhoto] {
        try run { [connection] in
            let rows = try await connection.query("""
                UPDATE nada_edit_photos SET state = 'claimed', worker = \(worker), attempts = attempts + 1,
                       heartbeat = now(), lease_expires = now() + make_interval(secs => \(lease))
                WHERE sha256 IN (
                    SELECT sha256 FROM nada_edit_photos
                    WHERE state IN ('queued', 'claimed') AND (state = 'queued' OR lease_expires < now())   -- nada_edit_photos_unfinished
                    ORDER BY enqueued, sha256 LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED)
                RETURNING sha256, input, attempts
                """, logger: Self.logger)
            var claimed = [ClaimedPhoto]()
            for try await (sha, input, attempts) in rows.decode((String, String, Int).self) {
                claimed.append(ClaimedPhoto(sha256: sha, input: input, attempt: attempts))
            }
            return claimed
        }
    }

    public func heartbeat(worker: String, sha256s: [String], lease: TimeInterval) throws -> Set<String> {
        try run { [heartbeatConnection] in
            let rows = try await heartbeatConnection.query("""
                UPDATE nada_edit_photos SET heartbeat = now(), lease_expires = now() + make_interval(secs => \(lease))
                WHERE sha256 = ANY(\(sha256s)::text[]) AND worker = \(worker) AND state = 'claimed'
                RETURNING sha256
                """, logger: Self.logger)
            var kept = Set<String>()
            for try await sha in rows.decode(String.self) { kept.insert(sha) }
            return Set(sha256s).subtracting(kept)
        }
    }

    public func complete(worker: String, sha256: String, commitOutputs: () throws -> [String]) throws -> [String]? {
        try run { [connection] in try await connection.query("BEGIN", logger: Self.logger) }
        do {
            // The row stays locked until COMMIT: no other worker can claim it while the files are renamed.
            let ours = try run { [connection] in
                let rows = try await connection.query("""
                    SELECT worker = \(worker) AND state = 'claimed' FROM nada_edit_photos WHERE sha256 = \(sha256) FOR UPDATE
                    """, logger: Self.logger)
                var ours = false
                for try await flag in rows.decode(Bool?.self) { ours = flag ?? false }
                return ours
            }
            guard ours else {
                try run { [connection] in try await connection.query("ROLLBACK", logger: Self.logger) }
                return nil
            }
            let outputs = try commitOutputs()
            try run { [connection] in
                try await connection.query("""
                    UPDATE nada_edit_photos SET state = 'done', outputs = \(outputs)::text[], reason = NULL, finished = now(),
                           lease_expires = NULL
                    WHERE sha256 = \(sha256)
                    """, logger: Self.logger)
                try await connection.query("COMMIT", logger: Self.logger)
            }
            return outputs
        } catch {
            _ = try? run { [connection] in try await connection.query("ROLLBACK", logger: Self.logger) }
            throw error
        }
    }

    public func fail(worker: String, sha256: String, reason: String) throws -> Bool {
        try run { [connection] in
            let rows = try await connection.query("""
                UPDATE nada_edit_photos SET state = 'failed', reason = \(reason), finished = now(), lease_expires = NULL
                WHERE sha256 = \(sha256) AND worker = \(worker) AND state = 'claimed' RETURNING 1
                """, logger: Self.logger)
            var changed = false
            for try await _ in rows.decode(Int.self) { changed = true }
            return changed
        }
    }

    public func release(worker: String, sha256: String) throws {
        try run { [connection] in
            try await connection.query("""
                UPDATE nada_edit_photos SET state = 'queued', worker = NULL, lease_expires = NULL
                WHERE sha256 = \(sha256) AND worker = \(worker) AND state = 'claimed'
                """, logger: Self.logger)
        }
    }

    public func unfinishedCount() throws -> Int {
        try run { [connection] in
            var n = 0
            for try await count in try await connection.query(
                "SELECT count(*)::int8 FROM nada_edit_photos WHERE state IN ('queued', 'claimed')", logger: Self.logger).decode(Int.self) { n = count }
            return n
        }
    }

    /// Runs SQL without binds (tests create and drop their databases with it).
    func execute(_ sql: String) throws {
        try run { [connection] in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger) }
    }

    /// Runs SQL without binds and returns the first column of each row as text (tests read query plans with it).
    func lines(_ sql: String) throws -> [String] {
        try run { [connection] in
            var lines = [String]()
            for try await line in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger).decode(String.self) { lines.append(line) }
            return lines
        }
    }

    /// Creates / drops a database on the same server (the benchmark's scratch database). Names are plain identifiers.
    public func createDatabase(_ name: String) throws { try execute("CREATE DATABASE \(try Self.identifier(name))") }
    public func dropDatabase(_ name: String) throws { try execute("DROP DATABASE IF EXISTS \(try Self.identifier(name)) WITH (FORCE)") }

    static func identifier(_ name: String) throws -> String {
        guard name.range(of: "^[a-z_][a-z0-9_]{0,62}$", options: .regularExpression) != nil else {
            throw PipelineError.invalidArgument("'\(name)' is not a plain database name (a-z, 0-9, _)")
        }
        return name
    }

    // MARK: queue status / retry-failed

    public struct Snapshot {
        public struct Held { public var input: String; public var worker: String; public var secondsLeft: Double; public var attempts: Int }
        public var queued = 0, done = 0
        public var failed: [(input: String, reason: String)] = []
        public var claimed: [Held] = []
        public var doneOutputs: [String: [String]] = [:]   // sha256 -> outputs

        public func report(url: QueueURL) -> String {
            let expired = claimed.filter { $0.secondsLeft < 0 }.count
            var lines = ["\(url) (schema \(PostgresWorkQueue.schemaVersion))",
                         "queued \(queued), claimed \(claimed.count)" + (expired > 0 ? " (\(expired) lease(s) expired: taken over by the next claim)" : "")
                         + ", done \(done), failed \(failed.count)"]
            lines += FailureReport.lines(failed.map { (path: $0.input, reason: $0.reason) })
            let byWorker = Dictionary(grouping: claimed, by: \.worker)
            for worker in byWorker.keys.sorted() {
                for held in byWorker[worker]! {
                    let lease = held.secondsLeft >= 0 ? String(format: "lease %.0f s left", held.secondsLeft)
                                                      : String(format: "lease expired %.0f s ago", -held.secondsLeft)
                    lines.append("  claimed by \(worker): \(held.input) (\(lease), attempt \(held.attempts))")
                }
            }
            return lines.joined(separator: "\n")
        }
    }

    public func snapshot() throws -> Snapshot {
        try run { [connection] in
            var s = Snapshot()
            let rows = try await connection.query("""
                SELECT sha256, input, state, coalesce(worker, ''), coalesce(reason, ''), attempts, outputs,
                       coalesce(extract(epoch FROM lease_expires - now())::float8, 0)
                FROM nada_edit_photos ORDER BY enqueued, sha256
                """, logger: Self.logger)
            for try await (sha, input, state, worker, reason, attempts, outputs, left) in rows.decode((String, String, String, String, String, Int, [String], Double).self) {
                switch state {
                case "queued": s.queued += 1
                case "done": s.done += 1; s.doneOutputs[sha] = outputs
                case "failed": s.failed.append((input, reason))
                default: s.claimed.append(.init(input: input, worker: worker, secondsLeft: left, attempts: attempts))
                }
            }
            return s
        }
    }

    /// Puts every failed photo back in the queue; returns how many.
    public func retryFailed() throws -> Int {
        try run { [connection] in
            var n = 0
            for try await count in try await connection.query("""
                WITH retried AS (
                    UPDATE nada_edit_photos SET state = 'queued', reason = NULL, worker = NULL, finished = NULL
                    WHERE state = 'failed' RETURNING 1)
                SELECT count(*)::int8 FROM retried
                """, logger: Self.logger).decode(Int.self) { n = count }
            return n
        }
    }
}

/// Runs async work to completion from a thread that may block (the pipeline's worker threads, the CLI).
func blocking<T>(_ body: @escaping () async throws -> T) throws -> T {
    let box = BlockingResult<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

/// Carries a result from the task to the blocked thread (written before the semaphore is signalled).
private final class BlockingResult<T>: @unchecked Sendable { var result: Result<T, Error>? }
