import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small POSIX file helpers with the durability rules the pipeline relies on:
/// write to a hidden temporary name in the destination folder, fsync, rename, fsync the folder.
public enum FileOps {
    /// Prefix of every temporary file Pipeline creates; hidden, so watchers and scans ignore it.
    public static let temporaryPrefix = ".nada-edit-tmp-"

    /// A fresh temporary path next to `finalPath` (same filesystem, so rename is atomic).
    public static func temporaryPath(for finalPath: String) -> String {
        let url = URL(fileURLWithPath: finalPath)
        let unique = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        return url.deletingLastPathComponent()
            .appendingPathComponent("\(temporaryPrefix)\(getpid())-\(unique)-\(url.lastPathComponent)").path
    }

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

    public static func createDirectory(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        catch { throw PipelineError.io(path: path, problem: "cannot create directory (\(error.localizedDescription))") }
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

    /// fsync(temp), rename(temp -> final), fsync(folder). Replaces `finalPath` if it exists.
    public static func commit(temporary: String, to finalPath: String) throws {
        try fsyncFile(temporary)
        guard rename(temporary, finalPath) == 0 else {
            throw PipelineError.io(path: finalPath, problem: "cannot rename \(temporary) into place: \(errnoText())")
        }
        fsyncDirectory(URL(fileURLWithPath: finalPath).deletingLastPathComponent().path)
    }

    /// Writes bytes durably via a temporary file.
    public static func writeAtomically(_ data: Data, to path: String) throws {
        let temp = temporaryPath(for: path)
        do { try data.write(to: URL(fileURLWithPath: temp)) }
        catch { throw PipelineError.io(path: path, problem: "cannot write (\(error.localizedDescription))") }
        do { try commit(temporary: temp, to: path) } catch { unlink(temp); throw error }
    }

    /// Moves a file into `directory` without changing its bytes, never replacing an existing file there
    /// (a clash gets a numbered name). Returns the new path.
    @discardableResult
    public static func move(_ path: String, intoDirectory directory: String) throws -> String {
        try createDirectory(directory)
        let name = URL(fileURLWithPath: path).lastPathComponent
        var destination = URL(fileURLWithPath: directory).appendingPathComponent(name).path
        var counter = 1
        while exists(destination) {
            let url = URL(fileURLWithPath: name)
            let stem = url.deletingPathExtension().lastPathComponent
            let ext = url.pathExtension
            destination = URL(fileURLWithPath: directory)
                .appendingPathComponent(ext.isEmpty ? "\(stem)-\(counter)" : "\(stem)-\(counter).\(ext)").path
            counter += 1
        }
        if rename(path, destination) == 0 {
            fsyncDirectory(directory)
            return destination
        }
        guard errno == EXDEV else { throw PipelineError.io(path: path, problem: "cannot move to \(destination): \(errnoText())") }
        // Different filesystem: copy durably, then remove the original.
        let temp = temporaryPath(for: destination)
        do { try FileManager.default.copyItem(atPath: path, toPath: temp) }
        catch { throw PipelineError.io(path: path, problem: "cannot copy to \(destination) (\(error.localizedDescription))") }
        try commit(temporary: temp, to: destination)
        guard unlink(path) == 0 else { throw PipelineError.io(path: path, problem: "copied to \(destination) but cannot remove: \(errnoText())") }
        return destination
    }

    public static func errnoText() -> String { String(cString: strerror(errno)) }
}
