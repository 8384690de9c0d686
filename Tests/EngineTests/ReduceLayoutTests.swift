import XCTest
@testable import Engine

/// reduceSum's merged-axis fast paths, expandRaw and the per-op broadcasting kernels, against
/// index-by-index reference loops over many layouts (size-1 axes, alternating kept/reduced runs,
/// rows longer than one accumulation tile).
final class ReduceLayoutTests: XCTestCase {
    func rand(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor.randn(shape, using: &rng)
    }

    /// Σ over `axes` by walking every input element (Double accumulation).
    func naiveSum(_ x: Tensor, axes: [Int]) -> [Float] {
        var outShape = x.shape
        for a in axes { outShape[a] = 1 }
        var acc = [Double](repeating: 0, count: outShape.reduce(1, *))
        let strides = contiguousStrides(x.shape), outStrides = contiguousStrides(outShape)
        for i in 0..<x.count {
            var o = 0
            for a in 0..<x.rank where !axes.contains(a) { o += (i / strides[a]) % x.shape[a] * outStrides[a] }
            acc[o] += Double(x.pointer[i])
        }
        return acc.map { Float($0) }
    }

    func testReduceSumLayouts() {
        let cases: [([Int], [Int])] = [
            ([5, 7], [0]), ([5, 7], [1]), ([5, 7], [0, 1]), ([5, 7], []),
            ([2, 3, 4, 5], [0, 2]), ([2, 3, 4, 5], [1, 3]), ([2, 3, 4, 5], [0, 3]), ([2, 3, 4, 5], [1, 2]),
            ([2, 1, 4, 1, 3], [1, 2]), ([2, 1, 4, 1, 3], [0, 3, 4]), ([1, 6, 1], [0, 2]),
            ([3, 2500], [0]), ([2, 3, 1100], [0, 1]), ([4, 0, 3], [1]), ([], []),
        ]
        for (i, (shape, axes)) in cases.enumerated() {
            let x = rand(shape, seed: UInt64(i + 1))
            let got = reduceSum(x, axes: axes)
            var expectedShape = shape
            for a in axes { expectedShape[a] = 1 }
            XCTAssertEqual(got.shape, expectedShape, "\(shape) over \(axes)")
            let want = naiveSum(x, axes: axes)
            for j in 0..<want.count {
                XCTAssertEqual(got.pointer[j], want[j], accuracy: 1e-5 * max(1, abs(want[j])), "\(shape) over \(axes), output \(j)")
            }
        }
    }

    func testExpandRawBroadcastsEveryLayout() {
        let cases: [([Int], [Int])] = [([1, 3], [4, 3]), ([4, 1], [4, 3]), ([3], [2, 4, 3]), ([2, 1, 3, 1], [2, 5, 3, 2]), ([1], [7]), ([2, 3], [2, 3])]
        for (i, (from, to)) in cases.enumerated() {
            let g = rand(from, seed: UInt64(20 + i))
            let out = expandRaw(g, to: to)
            XCTAssertEqual(out.shape, to)
            let sg = broadcastStrides(from, to: to), st = contiguousStrides(to)
            for e in 0..<out.count {
                var src = 0
                for a in 0..<to.count { src += (e / st[a]) % to[a] * sg[a] }
                XCTAssertEqual(out.pointer[e], g.pointer[src], "\(from) → \(to), element \(e)")
            }
        }
    }

    func testBroadcastArithmeticMatchesElementwiseLoops() {
        let cases: [([Int], [Int])] = [([2, 3, 4], [3, 1]), ([2, 1, 4], [3, 4]), ([4], [2, 3, 1]), ([1], [3, 2]), ([2, 3], [2, 3]), ([], [2, 2])]
        for (i, (sa, sb)) in cases.enumerated() {
            let a = rand(sa, seed: UInt64(40 + i)), b = rand(sb, seed: UInt64(60 + i))
            let ops: [(String, Tensor, (Float, Float) -> Float)] = [("+", a + b, { $0 + $1 }), ("-", a - b, { $0 - $1 }),
                                                                    ("*", a * b, { $0 * $1 }), ("/", a / b, { $0 / $1 })]
            for (name, result, f) in ops {
                let shape = broadcastShapes(sa, sb)!
                XCTAssertEqual(result.shape, shape)
                let a2 = expandRaw(a, to: shape), b2 = expandRaw(b, to: shape)
                for e in 0..<result.count {
                    XCTAssertEqual(result.pointer[e], f(a2.pointer[e], b2.pointer[e]), "\(sa) \(name) \(sb), element \(e)")
                }
            }
        }
    }
}
