import Foundation

/// Opens any supported file, detecting the format from its first bytes.
/// STUB: being implemented (issue 3).
public func loadFile(_ path: String) throws -> LoadedFile {
    throw FormatError("\(path): loading is not implemented yet")
}

/// Reads a `.npy` array. STUB: being implemented (issue 3).
public func readNpy(_ path: String) throws -> ArrayData {
    throw FormatError("\(path): .npy reading is not implemented yet")
}

/// Writes a `.npy` array (v1.0, little-endian, C order) via a temporary name. STUB (issue 3).
public func writeNpy(_ array: ArrayData, to path: String) throws {
    throw FormatError("\(path): .npy writing is not implemented yet")
}
