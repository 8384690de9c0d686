#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file-system call that failed: the file the user knows (the final name, never our temporary one), what we were
/// doing, and errno, captured at the failing call before anything else can change it.
public struct FileSystemError: Error, CustomStringConvertible, Equatable {
    public enum Side: Equatable, Sendable {
        /// Reading an input: the input's problem (unreadable, vanished).
        case reading
        /// Writing or committing an output: usually the machine's or the folder's problem (full disk, read-only).
        case writing
    }

    public let path: String
    /// What failed, phrased to follow "cannot": "write", "rename the finished file into place", …
    public let operation: String
    public let code: Int32
    public let side: Side

    public init(path: String, operation: String, code: Int32, side: Side) {
        self.path = path; self.operation = operation; self.code = code; self.side = side
    }

    /// Captures `errno` now: call it directly after the failing call.
    public static func current(_ path: String, _ operation: String, side: Side) -> FileSystemError {
        FileSystemError(path: path, operation: operation, code: errno, side: side)
    }

    public var description: String {
        if code == EEXIST { return "\(path) already exists (never replaced)" }
        return "\(path): cannot \(operation): \(errnoText(code))"
    }

    /// True for errors that say nothing about the photo being edited: the output disk is full, read-only, gone or
    /// not ours to write, or the machine is out of file descriptors. A batch or watcher must stop (or pause) on
    /// these instead of blaming the input.
    public var isEnvironmental: Bool {
        guard side == .writing else { return false }
        return [ENOSPC, EDQUOT, EIO, EROFS, EACCES, EPERM, EFBIG, EMFILE, ENFILE, ENOMEM, ENOENT, ENOTDIR].contains(code)
    }
}

/// strerror's text for an errno value.
public func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
