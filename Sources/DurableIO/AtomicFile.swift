import CDurableIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one way nada-edit writes a file: into a hidden temporary name beside the final one (same filesystem, so
/// the rename is atomic), fsync, then rename into place and fsync the folder. A reader never sees a half-written
/// file under the final name; a crash leaves at most a temporary, which `temporaryPrefix` lets a later run remove.
///
/// Without `replacing` an existing file is never replaced, even by another process racing us: the commit is
/// `renameat2(RENAME_NOREPLACE)`, or `link` + `unlink` where the filesystem lacks it; both fail with EEXIST
/// atomically.
public enum AtomicFile {
    /// Prefix of every temporary file; hidden, so scans and watchers ignore it. After it: the writer's pid.
    public static let temporaryPrefix = ".nada-edit-tmp-"

    /// A fresh temporary path next to `finalPath`: `.nada-edit-tmp-PID-RANDOM-NAME`.
    public static func temporaryPath(for finalPath: String) -> String {
        let (folder, name) = split(finalPath)
        let unique = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        return folder + temporaryPrefix + "\(getpid())-\(unique)-" + name
    }

    /// Writes what `body` writes to `path` (see the type's comment). On any error the temporary is removed and the
    /// error names `path`.
    public static func write(to path: String, replacing: Bool, _ body: (FileWriter) throws -> Void) throws {
        if !replacing, access(path, F_OK) == 0 {   // early, cheap refusal; the commit below is the real guard
            throw FileSystemError(path: path, operation: "write", code: EEXIST, side: .writing)
        }
        var temp = ""
        var fd: Int32 = -1
        for _ in 0..<16 {
            temp = temporaryPath(for: path)
            fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw FileSystemError.current(path, "create a temporary file in its folder", side: .writing) }
        var committed = false
        defer { if !committed { unlink(temp) } }
        do {
            defer { close(fd) }
            try body(FileWriter(fd: fd, displayPath: path))
            guard fsync(fd) == 0 else { throw FileSystemError.current(path, "flush to disk (fsync)", side: .writing) }
        }
        try rename(temp, to: path, replacing: replacing)
        committed = true
        fsyncDirectory(containing: path)
    }

    public static func write(_ bytes: [UInt8], to path: String, replacing: Bool) throws {
        try write(to: path, replacing: replacing) { try $0.write(bytes) }
    }

    /// Commits a finished temporary file someone else wrote (fsync it, rename, fsync the folder). The temporary is
    /// left in place when this throws, so the caller may retry under another name.
    public static func commit(temporary: String, to finalPath: String, replacing: Bool) throws {
        let fd = open(temporary, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystemError.current(finalPath, "open the finished temporary file \(temporary)", side: .writing) }
        let synced = fsync(fd) == 0
        let code = errno
        close(fd)
        guard synced else { throw FileSystemError(path: finalPath, operation: "flush to disk (fsync)", code: code, side: .writing) }
        try rename(temporary, to: finalPath, replacing: replacing)
        fsyncDirectory(containing: finalPath)
    }

    /// rename(2), or its no-replace form. Errors name `to`.
    public static func rename(_ from: String, to: String, replacing: Bool) throws {
        if replacing {
            guard posixRename(from, to) == 0 else { throw FileSystemError.current(to, "rename the finished file into place", side: .writing) }
            return
        }
        if nada_rename_noreplace(from, to) == 0 { return }
        let code = errno
        guard code == EINVAL || code == ENOSYS || code == EOPNOTSUPP else {
            throw FileSystemError(path: to, operation: "rename the finished file into place", code: code, side: .writing)
        }
        // No RENAME_NOREPLACE here (some network and FUSE filesystems): a hard link fails atomically on EEXIST too.
        guard link(from, to) == 0 else { throw FileSystemError.current(to, "link the finished file into place", side: .writing) }
        unlink(from)
    }

    /// Makes a rename durable (best effort: some filesystems refuse to fsync a folder).
    public static func fsyncDirectory(containing path: String) {
        let folder = split(path).folder
        let fd = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// ("dir/", "name") for "dir/name"; ("", "name") for a bare name.
    public static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[...slash]), String(path[path.index(after: slash)...]))
    }
}

/// Writes to an open file, all of it or a thrown error naming the file the user asked for.
public final class FileWriter {
    let fd: Int32
    /// The final file's name, for errors (the temporary name means nothing to a user).
    public let displayPath: String

    public init(fd: Int32, displayPath: String) { self.fd = fd; self.displayPath = displayPath }

    public func write(_ buffer: UnsafeRawBufferPointer) throws {
        guard var base = buffer.baseAddress else { return }
        var left = buffer.count
        while left > 0 {
            let n = posixWrite(fd, base, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileSystemError.current(displayPath, "write", side: .writing)
            }
            if n == 0 { throw FileSystemError(path: displayPath, operation: "write", code: EIO, side: .writing) }
            base += n
            left -= n
        }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    public func write<S: StringProtocol>(text: S) throws { try write(Array(text.utf8)) }
}

// The static members above shadow these names.
private func posixRename(_ from: String, _ to: String) -> Int32 { rename(from, to) }
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }

extension AtomicFile {
    /// Removes temporaries in `folder` left by processes that died mid-write (the pid in the name is gone, or is
    /// ours from an earlier life of this process); returns how many. Others' live temporaries are left alone.
    @discardableResult
    public static func removeStaleTemporaries(in folder: String) -> Int {
        guard let dir = opendir(folder) else { return 0 }
        defer { closedir(dir) }
        var removed = 0
        let base = folder.hasSuffix("/") ? folder : folder + "/"
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix(temporaryPrefix) else { continue }
            guard let pid = Int32(name.dropFirst(temporaryPrefix.count).prefix { $0.isNumber }) else { continue }
            if pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH) {
                if unlink(base + name) == 0 { removed += 1 }
            }
        }
        return removed
    }
}
