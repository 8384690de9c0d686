import Crypto
#if canImport(Glibc)
import Glibc
#endif

/// SHA-256, streaming: provenance, the model store and the watcher's ledger all record SHA-256 digests of files.
///
/// The arithmetic is swift-crypto's (BoringSSL on Linux, which picks the CPU's SHA extensions at run time); this
/// type only keeps the API the rest of the code uses and streams files. It replaced a hand-written compression
/// loop that hashed about 280 MB/s: every `edit` invocation hashes its encoder (e4e's checkpoint is 1.2 GB) for the
/// provenance, and that alone was 38 % of the CPU samples of one photo's whole command at 1024 (perf, `nada-bench
/// edit --keep`, then `perf record nada-edit …`); OpenSSL's SHA-NI path hashes the same file in 0.93 s here.
public struct SHA256: Sendable {
    private var hasher = Crypto.SHA256()

    public init() {}

    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if handled == nil { Array(bytes).withUnsafeBytes { update($0) } }
    }

    public mutating func update(_ raw: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: raw)
    }

    /// The 32-byte digest (the hasher itself is left unchanged).
    public func finalize() -> [UInt8] { Array(hasher.finalize()) }

    public func hexDigest() -> String { SHA256.hex(finalize()) }

    public static func hash<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var h = SHA256()
        h.update(bytes)
        return h.finalize()
    }

    public static func hexDigest<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 { hex(hash(bytes)) }

    /// Streams a file in 1 MB reads (model checkpoints are hundreds of MB).
    public static func hexDigest(ofFile path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystemError.current(path, "open to hash", side: .reading) }
        defer { close(fd) }
        var h = SHA256()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileSystemError.current(path, "read to hash", side: .reading)
            }
            if n == 0 { break }
            chunk.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return h.hexDigest()
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out += [digits[Int(b >> 4)], digits[Int(b & 15)]] }
        return String(decoding: out, as: UTF8.self)
    }
}
