import Foundation

/// torch.save before 1.6 (or `_use_new_zipfile_serialization=False`): consecutive pickles — magic
/// number, protocol version, sys_info, the object, the list of storage keys — then, per key in that
/// order, an int64 element count and the raw little-endian elements.
enum TorchLegacyReader {
    /// The pickle of the magic number 0x1950a86a20f9469cfc6c (protocol 2).
    static let magic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]

    static func looksLikeLegacy(_ data: Data) -> Bool { data.count >= magic.count && data.prefix(magic.count).elementsEqual(magic) }

    static func load(path: String, data: Data) throws -> LoadedFile {
        let noStorage: Unpickler.StorageLoader = { key, _, _ in
            throw FormatError("\(path): legacy header pickle refers to storage '\(key)'")
        }
        var offset = magic.count
        func next(_ what: String) throws -> (PyValue, Int) {
            var u = Unpickler(data: rebasedSlice(data, offset..<data.count), context: "\(path): legacy \(what) pickle (file offset \(offset))",
                              copyBudget: 0, loadStorage: noStorage)
            let v = try u.loadValue()
            return (v, u.position)
        }
        let (version, n1) = try next("protocol version")
        guard version.int == 1001 else { throw FormatError("\(path): legacy protocol version is not 1001") }
        offset += n1
        let (sysInfo, n2) = try next("sys_info")
        if let le = sysInfo["little_endian"], le.bool != true {
            throw FormatError("\(path): big-endian legacy checkpoints are not supported")
        }
        offset += n2

        // Pass 1: find the object pickle's end and the storages it needs (key -> dtype, element count).
        let objectStart = offset
        let objectData = rebasedSlice(data, objectStart..<data.count)
        let context = "\(path): legacy object pickle"
        var needed: [String: (dtype: DType, numel: Int)] = [:]
        var dry = Unpickler(data: objectData, context: context, copyBudget: 0) { key, dtype, numel in
            if let prev = needed[key], prev.dtype != dtype || prev.numel != numel {
                throw FormatError("\(context): storage '\(key)' declared as \(prev.dtype.rawValue)×\(prev.numel) and \(dtype.rawValue)×\(numel)")
            }
            let (bytes, o) = numel.multipliedReportingOverflow(by: dtype.byteSize)
            guard !o, bytes <= data.count else {
                throw FormatError("\(context): storage '\(key)' declares \(numel) \(dtype.rawValue) elements, more than the file holds")
            }
            needed[key] = (dtype, numel)
            return StorageRef(key: key, dtype: dtype, bytes: Data())
        }
        dry.dryRun = true
        _ = try dry.load { _ in () }
        offset = objectStart + dry.position

        let (keyList, n3) = try next("storage key list")
        offset += n3
        guard case .list(let keys) = keyList else { throw FormatError("\(path): legacy storage key list is not a list") }

        // The raw blocks, in key-list order.
        var storages: [String: StorageRef] = [:]
        var r = ByteReader(data, context: "\(path): legacy storage data")
        try r.seek(offset)
        for k in keys {
            guard case .string(let key) = k else { throw r.fail("a storage key is not a string") }
            guard let info = needed[key] else { throw r.fail("storage '\(key)' is listed but never used, its element type is unknown") }
            let count = try r.i64()
            guard count == Int64(info.numel) else {
                throw r.fail("storage '\(key)' block holds \(count) elements, the pickle declares \(info.numel)")
            }
            let start = r.position
            try r.skip(info.numel * info.dtype.byteSize)
            storages[key] = StorageRef(key: key, dtype: info.dtype, bytes: rebasedSlice(data, start..<r.position))
        }
        for key in needed.keys where storages[key] == nil {
            throw FormatError("\(path): legacy storage '\(key)' is used by the pickle but has no data block")
        }

        // Pass 2: the real object with storages resolved.
        var u = Unpickler(data: objectData, context: context, copyBudget: 2 * data.count + (64 << 20)) { key, _, _ in
            guard let s = storages[key] else { throw FormatError("\(context): storage '\(key)' has no data block") }
            return s
        }
        return LoadedFile(path: path, format: .torchLegacy, root: try u.loadValue())
    }
}
