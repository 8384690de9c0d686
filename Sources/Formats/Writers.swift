import DurableIO
import Foundation

/// Writes `root` as a PyTorch zip checkpoint (torch.save >= 1.6 layout, pickle protocol 2) that
/// `torch.load(path, weights_only=True)` accepts. `root` may contain dicts, OrderedDicts
/// (`PyValue.orderedDict`/`.stateDict`), lists, tuples, strings, ints, floats, bools, None, bytes and
/// tensors. Written to a temporary name, then renamed.
public func writeTorchCheckpoint(_ root: PyValue, to path: String) throws {
    var pickler = PickleWriter()
    try pickler.value(root, context: path)
    let pickle = Data(pickler.finish())
    let storages = pickler.storages
    // torch names the top folder after the file stem; any name loads.
    var stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    stem = String(stem.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-" }.map(Character.init))
    let prefix = stem.isEmpty ? "archive" : stem
    try atomicWrite(to: path) { writer in
        var zip = ZipWriter(writer: writer)
        try zip.add("\(prefix)/data.pkl", pickle)
        try zip.add("\(prefix)/.format_version", Data("1".utf8))
        try zip.add("\(prefix)/.storage_alignment", Data("64".utf8))
        try zip.add("\(prefix)/byteorder", Data("little".utf8))
        for (i, s) in storages.enumerated() { try zip.add("\(prefix)/data/\(i)", s.bytes) }
        try zip.add("\(prefix)/version", Data("3\n".utf8))
        try zip.finish()
    }
}

/// The generator checkpoint layout the reference code loads: `{"g_ema": OrderedDict(name -> tensor), **extra}`.
public func writeGeneratorCheckpoint(gEma: [(name: String, array: ArrayData)], extra: [(String, PyValue)] = [], to path: String) throws {
    var items: [(key: PyValue, value: PyValue)] = [(.string("g_ema"), .stateDict(gEma))]
    for (k, v) in extra {
        guard k != "g_ema" else { throw FormatError("\(path): extra key 'g_ema' would replace the generator") }
        items.append((.string(k), v))
    }
    try writeTorchCheckpoint(.dict(items), to: path)
}

/// Writes a safetensors file (tensors in the given order, header padded to 8 bytes) via a temporary name.
public func writeSafetensors(_ tensors: [(name: String, array: ArrayData)], metadata: [String: String] = [:], to path: String) throws {
    var seen = Set<String>()
    var header = "{"
    if !metadata.isEmpty {
        header += "\"__metadata__\":{" + metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }.joined(separator: ",") + "},"
    }
    var offset = 0
    var entries: [String] = []
    for t in tensors {
        guard t.name != "__metadata__", seen.insert(t.name).inserted else { throw FormatError("\(path): duplicate or reserved tensor name '\(t.name)'") }
        let end = offset + t.array.bytes.count
        entries.append("\(jsonString(t.name)):{\"dtype\":\"\(Safetensors.code(t.array.dtype))\",\"shape\":[\(t.array.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}")
        offset = end
    }
    header += entries.joined(separator: ",") + "}"
    var headerBytes = Data(header.utf8)
    headerBytes.append(Data(repeating: 0x20, count: (8 - headerBytes.count % 8) % 8))
    try atomicWrite(to: path) { writer in
        try withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { try writer.write($0) }
        try headerBytes.withUnsafeBytes { try writer.write($0) }
        for t in tensors { try t.array.bytes.withUnsafeBytes { try writer.write($0) } }
    }
}

private func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}
