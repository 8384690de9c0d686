import DurableIO
import Foundation

/// Opens any supported file, detecting the format from its first bytes (never from the name).
/// The file is memory-mapped; contiguous tensors are views of the mapping, not copies.
/// `limits` bounds what a hostile file may make the reader allocate.
public func loadFile(_ path: String, limits: LoadLimits = .standard) throws -> LoadedFile {
    let data = try mapFile(path)
    return try loadFile(data: data, path: path, limits: limits)
}

/// Same as `loadFile(_:)` for bytes already in memory; `path` is used in messages only.
public func loadFile(data: Data, path: String, limits: LoadLimits = .standard) throws -> LoadedFile {
    do {
        return try loadAnyFormat(data: data, path: path, limits: limits)
    } catch let e as FormatError where !e.description.hasPrefix(path) {
        // Every reader names the file itself; this only catches a helper's message that slipped through
        // without it (e.g. a shape check deep in ArrayData), so the user still learns which file failed.
        throw FormatError("\(path): \(e.description)")
    }
}

private func loadAnyFormat(data: Data, path: String, limits: LoadLimits) throws -> LoadedFile {
    if ZipArchive.looksLikeZip(data) {
        let zip = try ZipArchive(path: path, data: data, limits: limits)
        if Npz.isNpz(zip) { return try Npz.load(path: path, zip: zip) }
        return try TorchZipReader.load(path: path, data: data, zip: zip)
    }
    if TorchLegacyReader.looksLikeLegacy(data) { return try TorchLegacyReader.load(path: path, data: data) }
    if Npy.looksLikeNpy(data) {
        let a = try Npy.read(data, context: path)
        return LoadedFile(path: path, format: .npy, root: .tensor(a))
    }
    if Safetensors.looksLikeSafetensors(data) { return try Safetensors.load(path: path, data: data) }
    if data.count >= 262, data[data.startIndex + 257..<data.startIndex + 262].elementsEqual(Array("ustar".utf8)) {
        throw FormatError("\(path): a tar archive (PyTorch < 0.4 checkpoint format), which is not supported; re-save it with a newer PyTorch")
    }
    // A bare pickle: NVlabs network pickles (stylegan2-ada, stylegan3, TensorFlow stylegan2) are read as data;
    // anything else is refused.
    if NVlabsPickle.looksLikePickle(data) { return try NVlabsPickle.load(path: path, data: data, limits: limits) }
    throw FormatError("\(path): unrecognised file format (first bytes \(data.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")))")
}

/// Reads a `.npy` array (v1/v2/v3; float16/32/64, int, bool; C or Fortran order, returned in C order).
public func readNpy(_ path: String) throws -> ArrayData {
    try Npy.read(try mapFile(path), context: path)
}

/// Writes a `.npy` array (v1.0, or v2.0 for huge headers; little-endian, C order) via a temporary name. Without
/// `replacing`, an existing file is never replaced (a `FileSystemError` with EEXIST, even when another process
/// creates it meanwhile).
public func writeNpy(_ array: ArrayData, to path: String, replacing: Bool = true) throws {
    let bytes = try Npy.encode(array)
    try AtomicFile.write(to: path, replacing: replacing) { writer in try bytes.withUnsafeBytes { try writer.write($0) } }
}
