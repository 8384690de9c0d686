import CDurableIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether some process has `path` open for writing now (a writer that paused mid-file); nil when the system
/// cannot tell (a filesystem without leases, or a file we neither own nor have CAP_LEASE for).
public func isOpenForWriting(_ path: String) -> Bool? {
    switch nada_is_open_for_writing(path) {
    case 1: return true
    case 0: return false
    default: return nil
    }
}

/// Moving an original (to `--done` / `--failed`) without ever losing or replacing a file.
public enum SafeMove {
    /// How many alternative names are tried before giving up (`STEM-TAG.EXT`, then `STEM-TAG-2.EXT`, …).
    static let maxAlternatives = 1000

    /// Moves `path` into `folder` (which must exist) under its own name, or `STEM-TAG.EXT` (then `STEM-TAG-2.EXT`, …)
    /// when that name is taken: never replaces, even when other processes move into the same folder at once.
    /// Across filesystems the file is copied to a temporary name in `folder`, the copy is compared byte for byte
    /// with the source, committed without replacing, and only then is the source unlinked — and only if it is
    /// still the same file, unchanged (a file still being written is left where it is, and the copy removed).
    /// Returns the new path.
    @discardableResult
    public static func move(_ path: String, intoFolder folder: String, collisionTag: String) throws -> String {
        let name = AtomicFile.split(path).name
        let base = folder.hasSuffix("/") ? folder : folder + "/"
        var copy: (temp: String, source: Identity)?
        defer { if let copy { unlink(copy.temp) } }
        for candidate in candidateNames(name, tag: collisionTag).map({ base + $0 }) {
            do {
                if copy == nil {
                    do {
                        try AtomicFile.rename(path, to: candidate, replacing: false)
                        AtomicFile.fsyncDirectory(containing: candidate)
                        AtomicFile.fsyncDirectory(containing: path)
                        return candidate
                    } catch let error as FileSystemError where error.code == EXDEV {
                        copy = try copyVerified(path, for: candidate)
                    }
                }
                try AtomicFile.rename(copy!.temp, to: candidate, replacing: false)
                let source = copy!.source
                copy = nil
                try removeSource(path, ifStill: source, copiedTo: candidate)
                AtomicFile.fsyncDirectory(containing: candidate)
                return candidate
            } catch let error as FileSystemError where error.code == EEXIST {
                continue
            }
        }
        throw FileSystemError(path: path, operation: "move into \(folder): \(maxAlternatives) names taken", code: EEXIST, side: .writing)
    }

    /// `NAME`, `STEM-TAG.EXT`, `STEM-TAG-2.EXT`, …
    static func candidateNames(_ name: String, tag: String) -> LazyMapSequence<ClosedRange<Int>, String> {
        let (stem, ext) = splitExtension(name)
        return (0...maxAlternatives).lazy.map { i in i == 0 ? name : stem + "-" + tag + (i == 1 ? "" : "-\(i)") + ext }
    }

    /// ("photo", ".jpg") for "photo.jpg"; a leading dot is part of the stem.
    static func splitExtension(_ name: String) -> (String, String) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, "") }
        return (String(name[..<dot]), String(name[dot...]))
    }

    /// The file's identity and state, to tell whether it changed while we copied it.
    struct Identity: Equatable {
        var device: UInt64, inode: UInt64, size: Int64, mtimeSeconds: Int, mtimeNanos: Int
        init(_ st: stat) {
            device = UInt64(st.st_dev); inode = UInt64(st.st_ino); size = Int64(st.st_size)
            mtimeSeconds = st.st_mtim.tv_sec; mtimeNanos = st.st_mtim.tv_nsec
        }
    }

    /// Copies `path` into a temporary file beside `candidate` (errors name the candidate), fsyncs it and checks it
    /// byte for byte against the source; returns the temporary's path and the source's identity when copied.
    static func copyVerified(_ path: String, for candidate: String) throws -> (temp: String, source: Identity) {
        let source = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard source >= 0 else { throw FileSystemError.current(path, "open to copy", side: .reading) }
        defer { close(source) }
        var before = stat()
        guard fstat(source, &before) == 0 else { throw FileSystemError.current(path, "stat", side: .reading) }
        let temp = AtomicFile.temporaryPath(for: candidate)
        let target = open(temp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard target >= 0 else { throw FileSystemError.current(candidate, "create a temporary copy", side: .writing) }
        var keep = false
        defer { close(target); if !keep { unlink(temp) } }
        let writer = FileWriter(fd: target, displayPath: candidate)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var offset: off_t = 0
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(source, $0.baseAddress, $0.count, offset) }
            if n < 0 { if errno == EINTR { continue }; throw FileSystemError.current(path, "read to copy", side: .reading) }
            if n == 0 { break }
            try chunk.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += off_t(n)
        }
        guard fsync(target) == 0 else { throw FileSystemError.current(candidate, "flush to disk (fsync)", side: .writing) }
        var after = stat()
        guard fstat(source, &after) == 0, Identity(after) == Identity(before), Int64(offset) == Int64(before.st_size) else {
            throw FileSystemError(path: path, operation: "move: it changed while being copied (still being written?)", code: EAGAIN, side: .reading)
        }
        guard try sameBytes(source, target, count: Int(offset)) else {
            throw FileSystemError(path: candidate, operation: "verify the copy of \(path): the bytes differ", code: EIO, side: .writing)
        }
        keep = true
        return (temp, Identity(before))
    }

    /// Reads both files again from the start and compares them.
    static func sameBytes(_ a: Int32, _ b: Int32, count: Int) throws -> Bool {
        var x = [UInt8](repeating: 0, count: 1 << 20), y = x
        var offset = 0
        while offset < count {
            let want = min(x.count, count - offset)
            let n = x.withUnsafeMutableBytes { pread(a, $0.baseAddress, want, off_t(offset)) }
            let m = y.withUnsafeMutableBytes { pread(b, $0.baseAddress, want, off_t(offset)) }
            guard n == want, m == want else { return false }
            if x[0..<want] != y[0..<want] { return false }
            offset += want
        }
        return true
    }

    /// Unlinks the source of a committed copy if it is still the file we copied; otherwise removes the copy
    /// (the source is newer or was replaced: it stays, whole) and throws.
    static func removeSource(_ path: String, ifStill identity: Identity, copiedTo copy: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0, Identity(st) == identity, isOpenForWriting(path) != true else {
            unlink(copy)
            throw FileSystemError(path: path, operation: "move: it changed after being copied (still being written?); it was left in place", code: EAGAIN, side: .reading)
        }
        guard unlink(path) == 0 else {
            let error = FileSystemError.current(path, "remove after copying it to \(copy)", side: .writing)
            unlink(copy)   // two copies would make the next run handle it twice
            throw error
        }
        AtomicFile.fsyncDirectory(containing: path)
    }
}
