import Foundation

/// NumPy `.npz`: a zip of `<name>.npy` members, stored (`savez`) or deflated (`savez_compressed`).
enum Npz {
    static func isNpz(_ zip: ZipArchive) -> Bool {
        !zip.entries.isEmpty && zip.entries.allSatisfy { $0.name.hasSuffix(".npy") }
    }

    static func load(path: String, zip: ZipArchive) throws -> LoadedFile {
        let items = try zip.entries.map { e -> (key: PyValue, value: PyValue) in
            let a = try Npy.read(try zip.read(e), context: "\(path): \(e.name)")
            return (.string(String(e.name.dropLast(4))), .tensor(a))
        }
        return LoadedFile(path: path, format: .npz, root: .dict(items))
    }
}
