import Foundation

/// A human-readable summary of a loaded file: format, metadata, the `architectures` its caller recognised
/// (the models' own shape inference, `Models.ModelArchitecture`), an NVlabs pickle's networks, and every
/// tensor's name, dtype and shape (for `nada-edit models inspect`).
public func describe(_ file: LoadedFile, maxTensors: Int = Int.max, architectures: [String] = []) -> String {
    var lines: [String] = []
    lines.append("file: \(file.path)")
    lines.append("format: \(file.format.rawValue)" + nvlabsFamilies(file))
    if case .dict(let items) = file.root, file.format == .torchZip || file.format == .torchLegacy || file.format == .nvlabsPickle
        || file.format == .tfNetworkPickle {
        let parts = items.map { item -> String in
            let key = item.key.string ?? (item.key.int.map(String.init) ?? "?")
            return "\(key) (\(summary(item.value)))"
        }
        lines.append("top-level: " + parts.joined(separator: ", "))
    }
    for (k, v) in file.metadata.sorted(by: { $0.key < $1.key }) { lines.append("metadata \(k): \(v)") }
    var guesses = nvlabsArchitectures(file) + tfArchitectures(file) + architectures
    if guesses.isEmpty && file.format != .nvlabsPickle && file.format != .tfNetworkPickle { guesses = ["not recognised (no StyleGAN2, pSp/e4e/ReStyle or CLIP key pattern)"] }
    for guess in guesses { lines.append("architecture: \(guess)") }
    lines += nvlabsNotes(file) + tfNotes(file)
    let tensors = file.tensors
    // Saturating: views of one storage may repeat its elements many times over in a hostile file.
    let params = tensors.reduce(0) { let (s, o) = $0.addingReportingOverflow($1.array.count); return o ? Int.max : s }
    let dtypes = Set(tensors.map(\.array.dtype.rawValue)).sorted().joined(separator: ", ")
    lines.append("tensors: \(tensors.count), \(formatCount(params)) values, dtypes: \(dtypes.isEmpty ? "-" : dtypes)")
    let width = min(tensors.map(\.name.count).max() ?? 0, 72)
    for t in tensors.prefix(maxTensors) {
        let name = t.name.isEmpty ? "(root)" : t.name
        lines.append("  " + name.padding(toLength: max(width, name.count), withPad: " ", startingAt: 0)
                     + "  " + t.array.dtype.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0) + " " + shapeText(t.array.shape))
    }
    if tensors.count > maxTensors { lines.append("  ... \(tensors.count - maxTensors) more") }
    return lines.joined(separator: "\n")
}

private func shapeText(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }

/// Dimension `k` of a shape, or 0 when the shape has fewer dimensions (hostile files may use any shape
/// under a well-known name; a description must not trap on it).

private func formatCount(_ n: Int) -> String {
    if n >= 1_000_000 { return String(format: "%.2fM", Double(n) / 1e6) }
    if n >= 10_000 { return String(format: "%.1fk", Double(n) / 1e3) }
    return String(n)
}

private func summary(_ v: PyValue) -> String {
    switch v {
    case .tensor(let t): return "tensor \(t.dtype.rawValue) \(shapeText(t.shape))"
    case .dict(let items):
        let n = v.flattenedTensors().count
        return n > 0 ? "\(n) tensors" : "dict of \(items.count)"
    case .object(let type, _): return TFNetwork(v).map { "TF network, \($0.variables.count) variables" } ?? type
    case .list(let xs): return "list of \(xs.count)"
    case .tuple(let xs): return "tuple of \(xs.count)"
    case .string(let s): return "'\(s.prefix(40))'"
    case .int(let i): return String(i)
    case .float(let d): return String(d)
    case .bool(let b): return b ? "True" : "False"
    case .none: return "None"
    case .bytes(let d): return "\(d.count) bytes"
    }
}
