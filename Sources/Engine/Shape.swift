/// Shape helpers and the one error type the engine throws for caller mistakes.

public struct ShapeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

@inline(__always) func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

/// Row-major strides of a contiguous tensor.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var running = 1
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[axis] = running
        running *= shape[axis]
    }
    return strides
}

/// NumPy broadcasting of two shapes; nil when they are incompatible.
func broadcastShapes(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
    }
    return out
}

/// Strides for reading a tensor of `shape` as if it had the (broadcast) shape `target`: 0 on broadcast axes.
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    let own = contiguousStrides(shape)
    let offset = target.count - shape.count
    return (0..<target.count).map { i in
        i < offset ? 0 : (shape[i - offset] == 1 && target[i] != 1 ? 0 : own[i - offset])
    }
}

/// Normalises a possibly negative axis, trapping with a clear message when out of range.
func normalizedAxis(_ axis: Int, rank: Int, op: String) -> Int {
    let a = axis < 0 ? axis + rank : axis
    precondition(a >= 0 && a < rank, "\(op): axis \(axis) out of range for rank \(rank)")
    return a
}
