import Engine
import Formats

/// A model's named weights, as read from a checkpoint: the one place where file arrays become tensors.
public struct Weights {
    public let source: String
    public private(set) var arrays: [String: ArrayData]
    /// Names in file order (for messages and for writing back in the original order).
    public let names: [String]

    public init(_ pairs: [(name: String, array: ArrayData)], source: String) {
        var map: [String: ArrayData] = [:]
        for (n, a) in pairs { map[n] = a }
        arrays = map
        names = pairs.map { $0.name }
        self.source = source
    }

    public func has(_ name: String) -> Bool { arrays[name] != nil }

    /// The array called `name` as a float32 tensor, optionally checking its shape.
    public func tensor(_ name: String, shape expected: [Int]? = nil) throws -> Tensor {
        guard let a = arrays[name] else {
            throw ModelLoadError("\(source): missing tensor '\(name)'")
        }
        if let expected, a.shape != expected {
            throw ModelLoadError("\(source): tensor '\(name)' has shape \(a.shape), expected \(expected)")
        }
        let t = Tensor.zeros(a.shape)
        a.copyFloats(into: t.pointer)
        return t
    }

    public func shape(_ name: String) throws -> [Int] {
        guard let a = arrays[name] else { throw ModelLoadError("\(source): missing tensor '\(name)'") }
        return a.shape
    }

    /// Weights whose names start with `prefix`, with the prefix removed.
    public func scoped(_ prefix: String) -> Weights {
        let p = prefix.hasSuffix(".") ? prefix : prefix + "."
        let pairs = names.filter { $0.hasPrefix(p) }.map { (name: String($0.dropFirst(p.count)), array: arrays[$0]!) }
        return Weights(pairs, source: source)
    }
}

public struct ModelLoadError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
