import XCTest
@testable import Engine

/// Finite-difference checks for elementwise ops, broadcasting, reductions and shape ops.
/// Tolerance: 2e-3 relative (float32 central differences with h = 1e-2 on O(1) values).
final class ElementwiseGradTests: XCTestCase {
    let tolerance = 2e-3

    func rand(_ shape: [Int], seed: UInt64, positive: Bool = false) -> Tensor {
        var rng = SeededRandom(seed: seed)
        let t = Tensor.randn(shape, using: &rng)
        if positive { t.withMutableValues { for i in 0..<$0.count { $0[i] = Swift.abs($0[i]) + 0.5 } } }
        return t
    }

    func assertGrad(_ inputs: [Tensor], _ f: () -> Tensor, file: StaticString = #filePath, line: UInt = #line) {
        let r = GradientCheck.check(inputs, f)
        XCTAssertLessThan(r.maxError, tolerance, r.description, file: file, line: line)
    }

    func testBroadcastArithmetic() {
        let a = rand([2, 3, 4], seed: 1), b = rand([3, 1], seed: 2), c = rand([4], seed: 3, positive: true)
        assertGrad([a, b, c]) { ((a + b) * c - a / c).sum() }
        XCTAssertEqual((a + b).shape, [2, 3, 4])
    }

    func testScalarOps() {
        let a = rand([5], seed: 4)
        assertGrad([a]) { (a * 3 + 1 - (2 - a) / 4).square().sum() }
    }

    func testUnaryOps() {
        let a = rand([17], seed: 5), p = rand([9], seed: 6, positive: true)
        assertGrad([a]) { a.exp().sum() + a.sigmoid().sum() + a.tanh().sum() + a.quickGELU().sum() }
        assertGrad([a]) { a.leakyReLU(slope: 0.2, gain: 1.41421356).sum() }
        assertGrad([p]) { p.log().sum() + p.sqrt().sum() + p.rsqrt().sum() + p.pow(1.5).sum() }
        let c = Tensor(shape: [4], values: [-0.9, -0.3, 0.2, 0.8])
        assertGrad([c]) { c.acos().sum() }
    }

    /// At exactly 0 (where finite differences cannot look) the derivative is the slope's, as PyTorch's
    /// `leaky_relu_backward` (`self > 0 ? g : g * slope`) and StyleGAN2's fused_bias_act kernel (`ref > 0`).
    func testLeakyReLUDerivativeAtZeroIsTheSlopes() {
        let x = Tensor(shape: [4], values: [0, -0.0, 1, -1])
        x.requiresGrad = true
        x.leakyReLU(slope: 0.2, gain: 2).sum().backward()
        XCTAssertEqual(x.grad?.array, [0.4, 0.4, 2, 0.4])
        // The fused op, through its output (bias 0, so the output is 0 exactly where the input is).
        let y = Tensor(shape: [1, 4], values: [0, -1e-45, 3, -3])
        let bias = Tensor(shape: [4], values: [0, 0, 0, 0])
        y.requiresGrad = true
        y.fusedLeakyReLU(bias: bias, slope: 0.2, gain: 2).sum().backward()
        XCTAssertEqual(y.grad?.array, [0.4, 0.4, 2, 0.4], "-1e-45 · 0.2 · 2 underflows to -0: still the slope's side")
    }

    func testReductionsAndShapes() {
        let a = rand([2, 3, 4], seed: 7)
        let w = rand([3, 2, 4], seed: 8)
        assertGrad([a, w]) { (a.permuted([1, 0, 2]) * w).sum(axes: [0, 2]).square().sum() }
        assertGrad([a]) { a.mean(axis: 1, keepDims: true).expanded(to: [2, 3, 4]).square().mean() }
        assertGrad([a]) { (a.slice(axis: 2, 1..<3).reshaped([-1]) * rand([12], seed: 9)).sum() }
        assertGrad([a]) { (a.gather(axis: 1, [2, 0, 2]) * rand([2, 3, 4], seed: 10)).sum() }
        let b = rand([2, 1, 4], seed: 11)
        assertGrad([a, b]) { (Tensor.concat([a, b], axis: 1) * rand([2, 4, 4], seed: 12)).sum() }
    }

    func testMatMulLinearSoftmaxLayerNorm() {
        let x = rand([2, 3, 5], seed: 13), w = rand([4, 5], seed: 14), bias = rand([4], seed: 15)
        assertGrad([x, w, bias]) { (x.linear(weight: w, bias: bias) * rand([2, 3, 4], seed: 16)).sum() }
        let m = rand([5, 6], seed: 17), bm = rand([2, 6, 3], seed: 18)
        assertGrad([x, m]) { (x.matmul(m) * rand([2, 3, 6], seed: 19)).sum() }
        assertGrad([x, bm]) { x.matmul(bm.slice(axis: 1, 0..<5)).square().sum() }
        assertGrad([x]) { (x.softmax() * rand([2, 3, 5], seed: 20)).sum() }
        let g = rand([5], seed: 21), b = rand([5], seed: 22)
        assertGrad([x, g, b]) { (x.layerNorm(weight: g, bias: b) * rand([2, 3, 5], seed: 23)).sum() }
        let y = rand([2, 3, 5], seed: 24)
        assertGrad([x, y]) { x.cosineSimilarity(y).sum() + x.normalized().sum(axis: 0).square().sum() }
    }

    func testValues() {
        let a = Tensor(shape: [2, 2], values: [1, 2, 3, 4])
        XCTAssertEqual((a + Tensor(shape: [2], values: [10, 20])).array, [11, 22, 13, 24])
        XCTAssertEqual(a.sum(axis: 0).array, [4, 6])
        XCTAssertEqual(a.permuted([1, 0]).array, [1, 3, 2, 4])
        XCTAssertEqual(a.matmul(a).array, [7, 10, 15, 22])
        XCTAssertEqual(a.softmax().array[0] + a.softmax().array[1], 1, accuracy: 1e-6)
    }

    /// Permutes whose trailing axes stay put (merged into one block) against the index formula.
    func testPermuteWithFixedTrailingAxes() {
        let x = rand([3, 4, 2, 5], seed: 30)
        for order in [[1, 0, 2, 3], [0, 2, 1, 3], [2, 0, 1, 3], [1, 0, 3, 2]] {
            let y = x.permuted(order)
            XCTAssertEqual(y.shape, order.map { x.shape[$0] })
            for i in 0..<x.count {
                var rem = i, index = [Int](repeating: 0, count: 4)
                for axis in stride(from: 3, through: 0, by: -1) { index[axis] = rem % x.shape[axis]; rem /= x.shape[axis] }
                let out = order.map { index[$0] }
                let j = ((out[0] * y.shape[1] + out[1]) * y.shape[2] + out[2]) * y.shape[3] + out[3]
                XCTAssertEqual(y.pointer[j], x.pointer[i], "order \(order)")
            }
        }
    }

    func testGradientAccumulatesAndNoGradRecordsNothing() {
        let a = Tensor(shape: [3], values: [1, 2, 3], requiresGrad: true)
        (a * 2).sum().backward()
        (a * 3).sum().backward()
        XCTAssertEqual(a.grad?.array, [5, 5, 5])
        let y = Autograd.noGrad { (a * 2).sum() }
        XCTAssertFalse(y.needsGrad)
    }
}
