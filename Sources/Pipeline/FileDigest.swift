import DurableIO
import Foundation
import Imaging

/// Hex SHA-256 of files and byte strings: the one place Pipeline computes digests (model checksums, ledger keys).
/// The hashing itself is Imaging's streaming `SHA256`; this only maps its errors into Pipeline's.
public enum FileDigest {
    /// Streams the file (model files are hundreds of MB).
    public static func sha256Hex(ofFileAt path: String) throws -> String {
        do { return try SHA256.hexDigest(ofFile: path) }
        catch let ImagingError.io(file, detail) { throw PipelineError.io(path: file, problem: detail) }
        catch { throw PipelineError.io(path: path, problem: "cannot hash (\(error))") }
    }

    public static func sha256Hex<D: DataProtocol>(of data: D) -> String {
        var hasher = SHA256()
        for region in data.regions { region.withUnsafeBytes { hasher.update($0) } }
        return hasher.hexDigest()
    }
}
