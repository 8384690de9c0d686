import DurableIO
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small POSIX file helpers with the durability rules the pipeline relies on (the writing and moving itself is
/// `DurableIO`'s: temporary name, fsync, no-replace rename, fsync the folder).
public enum FileOps {
    /// Prefix of every temporary file nada-edit creates; hidden, so watchers and scans ignore it.
    public static let temporaryPrefix = AtomicFile.temporaryPrefix

    /// A fresh temporary path next to `finalPath` (same filesystem, so rename is atomic).
    public static func temporaryPath(for finalPath: String) -> String { AtomicFile.temporaryPath(for: finalPath) }

    /// Names a user would not mean as input: hidden files, partial downloads, editor/sync temporaries.
    public static func isIgnoredName(_ name: String) -> Bool {
        if name.isEmpty || name.hasPrefix(".") || name.hasPrefix("~") || name.hasPrefix("#") || name.hasSuffix("~") { return true }
        let lower = name.lowercased()
        for suffix in [".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".swp", ".filepart"] where lower.hasSuffix(suffix) {
            return true
        }
        return ["thumbs.db", "desktop.ini", "@eadir"].contains(lower)
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Whether `path` exists once symbolic links are followed (a dangling link does not).
    public static func exists(followingLinks path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    public static func isSymbolicLink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// Size and modification time (ns) for stability checks; nil when the file is gone.
    public static func sizeAndMTime(_ path: String) -> (size: Int64, mtimeNanos: Int64)? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return (Int64(st.st_size), Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
    }

    public static func fileSize(_ path: String) -> Int64? { sizeAndMTime(path)?.size }

    /// `mkdir -p`; errors are `FileSystemError`s (writing side) with the real errno, so a read-only or full
    /// output disk is recognised as the environment's problem.
    public static func createDirectory(_ path: String) throws {
        if isDirectory(path) { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path && !isDirectory(parent) { try createDirectory(parent) }
        guard mkdir(path, 0o755) == 0 || (errno == EEXIST && isDirectory(path)) else {
            throw FileSystemError.current(path, "create the folder", side: .writing)
        }
    }

    /// Flushes a file's data to disk.
    public static func fsyncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw PipelineError.io(path: path, problem: "cannot open to fsync: \(errnoText())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw PipelineError.io(path: path, problem: "fsync failed: \(errnoText())") }
    }

    /// Makes a completed rename durable (best effort: some filesystems refuse directory fsync).
    public static func fsyncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// fsync(temp), rename(temp -> final), fsync(folder). Without `replacing`, an existing `finalPath` is never
    /// replaced (throws a `FileSystemError` with EEXIST) and the temporary stays for the caller to retry or remove.
    public static func commit(temporary: String, to finalPath: String, replacing: Bool) throws {
        try AtomicFile.commit(temporary: temporary, to: finalPath, replacing: replacing)
    }

    /// Writes bytes durably via a temporary file, replacing `path` (for the tool's own records: manifests,
    /// domain records, CSV headers).
    public static func writeAtomically(_ data: Data, to path: String) throws {
        try AtomicFile.write(to: path, replacing: true) { writer in try data.withUnsafeBytes { try writer.write($0) } }
    }

    /// Moves a file into `directory` without changing its bytes, never replacing an existing file there:
    /// on a clash the name becomes `STEM-TAG.EXT` (`collisionTag`: the first 8 hex digits of the content's
    /// SHA-256, so the same photo gets the same name), across filesystems the copy is verified before the
    /// original is removed (see `SafeMove`). Returns the new path.
    @discardableResult
    public static func move(_ path: String, intoDirectory directory: String, collisionTag: String) throws -> String {
        try createDirectory(directory)
        return try SafeMove.move(path, intoFolder: directory, collisionTag: collisionTag)
    }

    /// Appends bytes to a log-like file (creating it), fsync'd; errors name the file and errno.
    public static func append(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileSystemError.current(path, "open for appending", side: .writing) }
        defer { close(fd) }
        try data.withUnsafeBytes { try FileWriter(fd: fd, displayPath: path).write($0) }
        guard fsync(fd) == 0 else { throw FileSystemError.current(path, "flush to disk (fsync)", side: .writing) }
    }

    public static func errnoText() -> String { DurableIO.errnoText() }

    /// A folder entry as the kernel names it: `name` is nil when the bytes are not valid UTF-8, which Swift's
    /// String (and so every path this tool passes to the system) cannot carry without changing them.
    public struct DirectoryEntry {
        public var name: String?
        public var rawName: [UInt8]

        /// The name with every byte that is not part of valid UTF-8 (and `%` itself) as `%XX`: printable, unique,
        /// and the stem outputs of such a file are named after.
        public var percentEncodedName: String {
            if let name { return name }
            var out = ""
            var i = 0
            while i < rawName.count {
                // Longest valid UTF-8 sequence starting here (1-4 bytes), else one escaped byte.
                var taken = false
                for length in stride(from: min(4, rawName.count - i), through: 1, by: -1) {
                    if let piece = String(validatingUTF8Bytes: Array(rawName[i..<(i + length)])), piece != "%" {
                        out += piece; i += length; taken = true; break
                    }
                }
                if !taken { out += String(format: "%%%02X", rawName[i]); i += 1 }
            }
            return out
        }

    }

    /// The entries of a folder (no `.`/`..`), unsorted, names kept as bytes (FileManager would decode invalid
    /// UTF-8 lossily into a name that does not exist).
    public static func listDirectory(_ path: String) throws -> [DirectoryEntry] {
        guard let dir = opendir(path) else { throw FileSystemError.current(path, "list the folder", side: .reading) }
        defer { closedir(dir) }
        var entries = [DirectoryEntry]()
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw FileSystemError.current(path, "list the folder", side: .reading) }
                break
            }
            let raw: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { buffer in
                Array(buffer.prefix { $0 != 0 })
            }
            if raw == [UInt8(ascii: ".")] || raw == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            entries.append(DirectoryEntry(name: String(validatingUTF8Bytes: raw), rawName: raw))
        }
        return entries
    }

    /// A symbolic link in `aliasFolder` (created if needed) to the file `rawName` in `folder`, whose name is not UTF-8:
    /// the way to read such a file through String paths without renaming it. Returns the link's path.
    public static func aliasForRawName(_ rawName: [UInt8], inFolder folder: String, aliasFolder: String) throws -> String {
        try createDirectory(aliasFolder)
        let absoluteFolder = folder.hasPrefix("/") ? folder : FileManager.default.currentDirectoryPath + "/" + folder
        let target = Array(absoluteFolder.utf8) + [UInt8(ascii: "/")] + rawName + [0]
        let alias = (aliasFolder as NSString).appendingPathComponent("\(UUID().uuidString)-\(SHA256.hexDigest(rawName).prefix(8))")
        let made = target.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { symlink($0, alias) }
        }
        guard made == 0 else { throw FileSystemError.current(alias, "create a link to a file whose name is not UTF-8", side: .writing) }
        return alias
    }

    /// The longest path the system accepts, in bytes, including the terminating NUL.
    public static let pathMax = Int(PATH_MAX)
}

extension String {
    /// The string if `bytes` are valid UTF-8 (without NULs), else nil.
    init?(validatingUTF8Bytes bytes: [UInt8]) {
        guard !bytes.contains(0) else { return nil }
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var scalars = String.UnicodeScalarView()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): scalars.append(scalar)
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        self.init(scalars)
    }
}
