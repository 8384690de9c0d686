import Foundation

/// Opens any supported file, detecting the format from its first bytes (never from the name).
/// The file is memory-mapped; contiguous tensors are views of the mapping, not copies.
public func loadFile(_ path: String) throws -> LoadedFile {
    let data = try mapFile(path)
    return try loadFile(data: data, path: path)
}

/// Same as `loadFile(_:)` for bytes already in memory; `path` is used in messages only.
public func loadFile(data: Data, path: String) throws -> LoadedFile {
    if ZipArchive.looksLikeZip(data) {
        let zip = try ZipArchive(path: path, data: data)
        return try TorchZipReader.load(path: path, data: data, zip: zip)
    }
    if Npy.looksLikeNpy(data) {
        let a = try Npy.read(data, context: path)
        return LoadedFile(path: path, format: .npy, root: .tensor(a))
    }
    throw FormatError("\(path): unrecognised file format (first bytes \(data.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")))")
}

/// Reads a `.npy` array (v1/v2/v3; float16/32/64, int, bool; C or Fortran order, returned in C order).
public func readNpy(_ path: String) throws -> ArrayData {
    try Npy.read(try mapFile(path), context: path)
}

/// Writes a `.npy` array (v1.0, or v2.0 for huge headers; little-endian, C order) via a temporary name.
public func writeNpy(_ array: ArrayData, to path: String) throws {
    try atomicWrite(try Npy.encode(array), to: path)
}
