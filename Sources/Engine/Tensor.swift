/// A contiguous float32 array with an optional place in the autograd graph.
///
/// Tensors are immutable in shape; their values may be updated in place only by optimisers and by
/// code that owns them (`withMutableValues`). Ops return new tensors and, while gradients are being
/// recorded, remember how to send gradients back to their inputs (`Autograd.swift`).
public final class Tensor {
    public let shape: [Int]
    public let storage: TensorStorage
    /// Leaves with `requiresGrad` receive `.grad` from `backward()`.
    public var requiresGrad: Bool
    /// Accumulated gradient (leaves only), same shape as the tensor.
    public var grad: Tensor?
    /// How this tensor was computed, when recorded.
    var node: GradNode?

    public init(storage: TensorStorage, shape: [Int], requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(elementCount(shape) <= storage.count, "shape \(shape) needs more elements than storage has (\(storage.count))")
        self.shape = shape
        self.storage = storage
        self.requiresGrad = requiresGrad
    }

    /// A tensor holding `values` (copied), which must have exactly `shape`'s element count.
    public convenience init(shape: [Int], values: [Float], requiresGrad: Bool = false) {
        precondition(values.count == elementCount(shape), "\(values.count) values do not fill shape \(shape)")
        let s = TensorStorage(uninitializedCount: values.count)
        values.withUnsafeBufferPointer { s.pointer.update(from: $0.baseAddress!, count: values.count) }
        self.init(storage: s, shape: shape, requiresGrad: requiresGrad)
    }

    public convenience init(shape: [Int], repeating value: Float, requiresGrad: Bool = false) {
        let s = TensorStorage(uninitializedCount: elementCount(shape))
        s.pointer.initialize(repeating: value, count: s.count)
        self.init(storage: s, shape: shape, requiresGrad: requiresGrad)
    }

    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, repeating: 0, requiresGrad: requiresGrad)
    }

    public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }

    public static func scalar(_ v: Float) -> Tensor { Tensor(shape: [], values: [v]) }

    /// Uninitialised output buffer for ops.
    static func empty(_ shape: [Int]) -> Tensor {
        Tensor(storage: TensorStorage(uninitializedCount: elementCount(shape)), shape: shape)
    }

    public var count: Int { elementCount(shape) }
    public var rank: Int { shape.count }
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer }
    public var values: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: storage.pointer, count: count) }
    public var array: [Float] { Array(values) }

    /// The single value of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item: tensor of shape \(shape) has \(count) elements, not 1")
        return storage.pointer[0]
    }

    /// True when backward must pass through this tensor.
    public var needsGrad: Bool { requiresGrad || node != nil }

    /// In-place access for owners (optimisers, loaders). Not recorded.
    public func withMutableValues<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// A copy with its own storage and no graph.
    public func copy() -> Tensor {
        let out = Tensor.empty(shape)
        out.pointer.update(from: pointer, count: count)
        return out
    }

    /// The same values cut from the graph (shares storage).
    public func detached() -> Tensor { Tensor(storage: storage, shape: shape) }

    public func zeroGrad() { grad = nil }

    /// Shape check with a message naming the operation.
    public func expectShape(_ expected: [Int], _ what: @autoclosure () -> String) throws {
        if shape != expected { throw ShapeError("\(what()): expected shape \(expected), got \(shape)") }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = values.prefix(6).map { String($0) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(preview)\(count > 6 ? ", …" : "")])"
    }
}
