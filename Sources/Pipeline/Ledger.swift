import DurableIO
import Foundation
import Imaging
#if canImport(Glibc)
import Glibc
#endif

/// One line of the ledger.
public struct LedgerEntry: Codable, Equatable {
    public enum State: String, Codable {
        /// Written before editing starts; a `started` with nothing after it means the editor died mid-image.
        case started
        case done
        case failed
    }

    public var time: String
    /// SHA-256 of the input's bytes: the identity of a photo, whatever its name.
    public var inputSHA256: String
    /// The input's path when it was seen.
    public var input: String
    public var state: State
    public var domains: [String]
    /// Final output paths (planned for `started`, written for `done`).
    public var outputs: [String]
    public var reason: String?

    public init(time: String = ISOTime.now(), inputSHA256: String, input: String, state: State, domains: [String],
                outputs: [String], reason: String? = nil) {
        self.time = time; self.inputSHA256 = inputSHA256; self.input = input; self.state = state
        self.domains = domains; self.outputs = outputs; self.reason = reason
    }
}

/// Append-only JSON-lines record of every input the watcher handled, kept in the output folder.
/// Each line is written with a single write(2) and fsync'd before the watcher moves on, so after a crash the
/// ledger says exactly which photos finished; a torn last line is ignored on load.
public final class Ledger {
    public static let fileName = "nada-edit-ledger.jsonl"

    public let path: String
    private let fd: Int32
    private var byHash = [String: [LedgerEntry]]()
    /// Lines that could not be read (a torn final line after a crash, or hand edits).
    public private(set) var unreadableLines = 0

    public init(path: String) throws {
        self.path = path
        // Read once with our own reader: Foundation's FileManager.contents(atPath:) leaks its buffer on this
        // toolchain (LeakSanitizer, issue 18), and a ledger is read at every start.
        let data: [UInt8] = FileOps.exists(path) ? try FileIO.read(path, maxBytes: Int.max) : []
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            if let entry = try? JSONDecoder().decode(LedgerEntry.self, from: Data(line)) {
                byHash[entry.inputSHA256, default: []].append(entry)
            } else {
                unreadableLines += 1
            }
        }
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileSystemError.current(path, "open the ledger for appending", side: .writing) }
        // If the last line was torn, start ours on a fresh line.
        if let last = data.last, last != UInt8(ascii: "\n") {
            try [UInt8(ascii: "\n")].withUnsafeBytes { try FileWriter(fd: fd, displayPath: path).write($0) }
        }
    }

    deinit { close(fd) }

    public func append(_ entry: LedgerEntry) throws {
        var line = try JSONEncoder().encode(entry)
        line.append(UInt8(ascii: "\n"))
        // FileWriter captures errno at the failing call (a later call would report a stale one).
        try line.withUnsafeBytes { try FileWriter(fd: fd, displayPath: path).write($0) }
        guard fsync(fd) == 0 else { throw FileSystemError.current(path, "flush the ledger to disk (fsync)", side: .writing) }
        byHash[entry.inputSHA256, default: []].append(entry)
    }

    public func entries(for sha: String) -> [LedgerEntry] { byHash[sha] ?? [] }

    /// Domains already produced for this content.
    public func doneDomains(for sha: String) -> Set<String> {
        Set(entries(for: sha).filter { $0.state == .done }.flatMap(\.domains))
    }

    /// The recorded failure, if the latest finished attempt for this content failed.
    public func failure(for sha: String) -> LedgerEntry? {
        guard let last = entries(for: sha).last(where: { $0.state != .started }), last.state == .failed else { return nil }
        return last
    }

    /// Outputs this content has planned or written: the watcher may (re)write these without replacing anyone else's.
    public func outputsClaimed(by sha: String) -> Set<String> { Set(entries(for: sha).flatMap(\.outputs)) }

    /// Total entries (all states).
    public var count: Int { byHash.values.reduce(0) { $0 + $1.count } }
}

/// An exclusive lock on a file (flock), held while the object lives: one watcher per output folder.
public final class FolderLock {
    private let fd: Int32
    public init(path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PipelineError.io(path: path, problem: "cannot open lock file: \(FileOps.errnoText())") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw PipelineError.alreadyRunning(lockPath: path)
        }
    }
    deinit { close(fd) }   // closing releases the lock
}
