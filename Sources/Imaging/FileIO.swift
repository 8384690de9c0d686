import DurableIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small POSIX file helpers with errors that name the file and say what went wrong.
public enum FileIO {
    /// Default cap on the bytes `read` accepts: 512 MiB. The largest photos nada-edit takes are
    /// within the 100-megapixel pixel limit; such a JPEG is ~10-60 MB and even an uncompressed
    /// 16-bit RGBA PNG of 100 MP is 800 MB only in theory (PNG is always deflated; real 100 MP PNGs
    /// are 150-300 MB). Anything larger is not a photo we can use, and reading it whole would
    /// take that much memory before the decoder could object.
    public static let defaultMaxInputBytes = 512 << 20

    /// The whole file as bytes. Files larger than `maxBytes` (checked with fstat before reading,
    /// and again while reading, for files that grow or that fstat cannot size, such as pipes) fail
    /// with `ImagingError.fileTooLarge` naming the file, its size and the cap. `maxBytes` <= 0
    /// disables the cap.
    public static func read(_ path: String, maxBytes: Int = FileIO.defaultMaxInputBytes) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImagingError.io(file: path, detail: "cannot open: \(errnoText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ImagingError.io(file: path, detail: "cannot stat: \(errnoText())") }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw ImagingError.io(file: path, detail: "is a directory") }
        let size = Int64(info.st_size)
        if maxBytes > 0 && size > Int64(maxBytes) {
            throw ImagingError.fileTooLarge(file: path, size: size, limit: maxBytes)
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(Int(max(0, size)))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ImagingError.io(file: path, detail: "read failed: \(errnoText())")
            }
            if n == 0 { break }
            if maxBytes > 0 && bytes.count + n > maxBytes {
                throw ImagingError.fileTooLarge(file: path, size: Int64(bytes.count + n), limit: maxBytes)
            }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    /// Writes `bytes` to `path` through a temporary file in the same folder, then moves it into place (see
    /// `AtomicFile`), so readers never see a half-written file. Without `overwrite` an existing file is never
    /// replaced, even by a process racing us. Write errors are `FileSystemError`s naming `path` and errno.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, overwrite: Bool = false) throws {
        do {
            try AtomicFile.write(bytes, to: path, replacing: overwrite)
        } catch let error as FileSystemError where error.code == EEXIST {
            throw ImagingError.outputExists(file: path)
        }
    }

    /// ("dir/", "name") for "dir/name"; ("", "name") for a bare name.
    static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[...slash]), String(path[path.index(after: slash)...]))
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

extension FileIO {
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}
