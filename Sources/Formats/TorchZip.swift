import Foundation

/// torch.save (>= 1.6) zip checkpoints and torch.jit.save TorchScript archives: a zip with one top
/// folder holding `data.pkl` and one record per storage under `data/` (`constants/` for constants.pkl).
enum TorchZipReader {
    static func load(path: String, data: Data, zip: ZipArchive) throws -> LoadedFile {
        guard let first = zip.entries.first else { throw FormatError("\(path): zip archive has no entries") }
        // The top folder name is arbitrary (file stem, "archive", ...): take it from the records.
        let prefix = first.name.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let dataPkl = "\(prefix)/data.pkl"
        guard zip.entry(dataPkl) != nil else {
            throw FormatError("\(path): zip archive has no '\(dataPkl)' record (not a PyTorch checkpoint)")
        }
        if let bo = zip.entry("\(prefix)/byteorder") {
            let order = String(decoding: try zip.read(bo), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard order == "little" else { throw FormatError("\(path): '\(prefix)/byteorder' is '\(order)'; only little-endian checkpoints are supported") }
        }
        var budget = 2 * data.count + (64 << 20)
        let isTorchScript = zip.entry("\(prefix)/constants.pkl") != nil
        let (object, budgetLeft) = try unpickleRecord(zip: zip, record: dataPkl, storageFolder: "\(prefix)/data",
                                                      torchScript: isTorchScript, budget: budget)
        budget = budgetLeft
        guard isTorchScript else {
            return LoadedFile(path: path, format: .torchZip, root: object)
        }
        // TorchScript: the module tree's tensors in attribute order are exactly `state_dict()`.
        var metadata: [String: String] = [:]
        if let v = zip.entry("\(prefix)/version") {
            metadata["version"] = String(decoding: try zip.read(v), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let (constants, _) = try unpickleRecord(zip: zip, record: "\(prefix)/constants.pkl", storageFolder: "\(prefix)/constants",
                                                torchScript: true, budget: budget)
        let constantTensors = constants.flattenedTensors()
        metadata["constants"] = constantTensors.map { "\($0.array.dtype.rawValue)\($0.array.shape)" }.joined(separator: ", ")
        if case .object(let type, _) = object { metadata["module"] = type }
        var items: [(key: PyValue, value: PyValue)] = []
        moduleStateDict(object, prefix: "", into: &items)
        return LoadedFile(path: path, format: .torchScript, root: .dict(items), metadata: metadata)
    }

    /// `state_dict()` order: a module's own tensors (parameters, buffers) first, then its submodules
    /// depth-first, whatever order the attributes were pickled in. None, bools and other values are skipped.
    static func moduleStateDict(_ module: PyValue, prefix: String, into items: inout [(key: PyValue, value: PyValue)]) {
        guard case .object(_, .dict(let attributes)) = module else { return }
        for (k, v) in attributes {
            if let name = k.string, case .tensor(let t) = v { items.append((.string(prefix + name), .tensor(t))) }
        }
        for (k, v) in attributes {
            if let name = k.string, case .object = v { moduleStateDict(v, prefix: prefix + name + ".", into: &items) }
        }
    }

    /// Unpickles one record, resolving storages against `storageFolder/<key>` (each loaded once, so
    /// tensors sharing a storage share its bytes).
    static func unpickleRecord(zip: ZipArchive, record: String, storageFolder: String, torchScript: Bool,
                               budget: Int) throws -> (PyValue, Int) {
        let context = "\(zip.path): \(record)"
        let pickle = try zip.read(record)
        var cache: [String: StorageRef] = [:]
        var u = Unpickler(data: pickle, context: context, copyBudget: budget) { key, dtype, numel in
            if let s = cache[key] {
                guard s.dtype == dtype else {
                    throw FormatError("\(context): storage '\(key)' is used as both \(s.dtype.rawValue) and \(dtype.rawValue)")
                }
                return s
            }
            let name = "\(storageFolder)/\(key)"
            guard let e = zip.entry(name) else { throw FormatError("\(context): storage record '\(name)' is missing") }
            let (need, overflow) = numel.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, e.uncompressedSize == need else {
                throw FormatError("\(zip.path): \(name): holds \(e.uncompressedSize) bytes, the pickle declares \(numel) \(dtype.rawValue) elements")
            }
            let s = StorageRef(key: key, dtype: dtype, bytes: try zip.read(e))
            cache[key] = s
            return s
        }
        u.allowTorchScriptClasses = torchScript
        let value = try u.loadValue()
        return (value, u.copyBudget)
    }
}
