import Foundation

/// A photo a worker holds under a lease.
public struct ClaimedPhoto: Equatable {
    public var sha256: String
    /// The input's path as it was enqueued (by this worker or another sharing the filesystem).
    public var input: String
    /// 1 for the first claim; more when earlier holders died or gave it back.
    public var attempt: Int

    public init(sha256: String, input: String, attempt: Int) {
        self.sha256 = sha256; self.input = input; self.attempt = attempt
    }
}

/// What a dynamic work queue offers a worker (`QueueWorker`); `PostgresWorkQueue` (ClusterQueue target) is the one
/// implementation. Photos are identified by content; every call is safe to repeat.
public protocol WorkQueue: AnyObject {
    /// Adds photos not seen before (by content); returns how many were new.
    func enqueue(_ photos: [(sha256: String, input: String)]) throws -> Int
    /// Up to `limit` photos that are queued or whose holder's lease expired, now leased to `worker` for `lease` seconds.
    func claim(worker: String, limit: Int, lease: TimeInterval) throws -> [ClaimedPhoto]
    /// Extends the leases `worker` still holds on these photos; returns those it no longer holds.
    func heartbeat(worker: String, sha256s: [String], lease: TimeInterval) throws -> Set<String>
    /// If `worker` still holds the photo: runs `commitOutputs` (renaming the outputs into place) while the photo is
    /// locked against every other worker, and records it done with those outputs in the same transaction.
    /// Returns nil, without calling `commitOutputs`, when the lease was lost to another worker.
    func complete(worker: String, sha256: String, commitOutputs: () throws -> [String]) throws -> [String]?
    /// Records the photo failed with `reason` (if `worker` still holds it); returns whether it did.
    func fail(worker: String, sha256: String, reason: String) throws -> Bool
    /// Gives the photo back to the queue (an error of the worker's own, such as a full disk).
    func release(worker: String, sha256: String) throws
    /// Photos neither done nor failed: queued, or held by some worker (possibly one that died).
    func unfinishedCount() throws -> Int
}
