import Foundation
import XCTest
@testable import Engine

/// BatchNorm2d (inference): values against the formula in Double, and finite-difference gradients for x,
/// weight and bias (bar 2e-3, as the other engine gradient tests).
final class BatchNormTests: XCTestCase {
    func testValues() {
        var rng = SeededRandom(seed: 1)
        let x = Tensor.randn([2, 3, 2, 2], using: &rng)
        let w = Tensor(shape: [3], values: [1.5, -0.5, 2])
        let b = Tensor(shape: [3], values: [0.1, 0.2, -0.3])
        let mean = Tensor(shape: [3], values: [0.3, -1, 0])
        let variance = Tensor(shape: [3], values: [0.5, 2, 0.01])
        let y = x.batchNorm2d(weight: w, bias: b, runningMean: mean, runningVar: variance, eps: 1e-3)
        let xs = x.array, ys = y.array
        for i in 0..<x.count {
            let c = (i / 4) % 3
            let ref = (Double(xs[i]) - Double(mean.array[c])) / (Double(variance.array[c]) + 1e-3).squareRoot()
                * Double(w.array[c]) + Double(b.array[c])
            XCTAssertEqual(Double(ys[i]), ref, accuracy: 1e-5 * max(1, Swift.abs(ref)))
        }
        // Without affine parameters: weight 1, bias 0.
        let plain = x.batchNorm2d(weight: nil, bias: nil, runningMean: mean, runningVar: variance)
        XCTAssertEqual(Double(plain.array[5]), (Double(xs[5]) + 1) / (2 + 1e-5).squareRoot(), accuracy: 1e-5)
    }

    func testGradients() {
        var rng = SeededRandom(seed: 2)
        let x = Tensor.randn([2, 3, 3, 2], using: &rng)
        let w = Tensor.randn([3], using: &rng), b = Tensor.randn([3], using: &rng)
        let mean = Tensor.randn([3], using: &rng)
        let variance = Tensor(shape: [3], values: [0.7, 1.3, 0.4])
        let probe = Tensor.randn([2, 3, 3, 2], using: &rng)
        let r = GradientCheck.check([x, w, b]) {
            (x.batchNorm2d(weight: w, bias: b, runningMean: mean, runningVar: variance) * probe).sum()
        }
        XCTAssertLessThan(r.maxError, 2e-3, r.description)
        let r2 = GradientCheck.check([x]) {
            (x.batchNorm2d(weight: nil, bias: nil, runningMean: mean, runningVar: variance) * probe).sum()
        }
        XCTAssertLessThan(r2.maxError, 2e-3, r2.description)
    }
}
