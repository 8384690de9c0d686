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
    /// Runs `commitOutputs` (renaming the outputs into place, adopting rather than doubling an output another holder
    /// of the photo renamed first), then records the photo done with those outputs if `worker` still holds it, the
    /// check and the record atomic with respect to every other worker's claim. Returns nil when another worker took
    /// the photo over: the outputs renamed stay for it to recognise.
    func complete(worker: String, sha256: String, commitOutputs: () throws -> [String]) throws -> [String]?
    /// Records the photo failed with `reason` (if `worker` still holds it); returns whether it did.
    func fail(worker: String, sha256: String, reason: String) throws -> Bool
    /// Gives the photo back to the queue (an error of the worker's own, such as a full disk).
    func release(worker: String, sha256: String) throws
    /// Photos neither done nor failed: queued, or held by some worker (possibly one that died).
    func unfinishedCount() throws -> Int
}
