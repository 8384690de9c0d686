import DurableIO
import Foundation

/// Housekeeping in an output folder that workers on several machines share.
public enum SharedFolder {
    /// A temporary untouched for this long belongs to no live worker: an edit writes its outputs within seconds
    /// of starting them (the slowest photo edit measured, a 4-domain 1024² edit with comparison sheets on 2 cores,
    /// writes each file in well under a minute), so an hour leaves a wide margin.
    public static let abandonedAfter: TimeInterval = 3600

    /// Removes temporaries older than `abandonedAfter`. `AtomicFile.removeStaleTemporaries` decides by the pid in
    /// the name, which is only meaningful on the machine that wrote it: on a folder shared over NFS another
    /// machine's live worker has a pid that is "gone" here, and a worker of this same process (tests, `--jobs`)
    /// has ours. So sharded and queue workers remove only what is old.
    @discardableResult
    public static func removeAbandonedTemporaries(in folder: String, now: Date = Date()) -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return 0 }
        var removed = 0
        for name in names where name.hasPrefix(AtomicFile.temporaryPrefix) {
            let path = (folder as NSString).appendingPathComponent(name)
            guard let stat = FileOps.sizeAndMTime(path) else { continue }
            let modified = Date(timeIntervalSince1970: Double(stat.mtimeNanos) / 1e9)
            if now.timeIntervalSince(modified) > abandonedAfter, unlink(path) == 0 { removed += 1 }
        }
        return removed
    }
}
