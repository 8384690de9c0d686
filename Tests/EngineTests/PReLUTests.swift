import XCTest
@testable import Engine

/// PReLU: values for per-channel and shared slopes, finite-difference gradients for x and the slopes
/// (inputs kept away from 0, where the function has a kink; bar 2e-3).
final class PReLUTests: XCTestCase {
    func testValues() {
        let x = Tensor(shape: [1, 2, 2], values: [-2, 3, -1, 4])
        XCTAssertEqual(x.prelu(Tensor(shape: [2], values: [0.25, 0.5])).array, [-0.5, 3, -0.5, 4])
        XCTAssertEqual(x.prelu(Tensor(shape: [1], values: [0.1])).array, [-0.2, 3, -0.1, 4])
    }

    func testGradients() {
        var rng = SeededRandom(seed: 5)
        let x = Tensor.randn([2, 3, 2, 3], using: &rng)
        x.withMutableValues { v in for i in 0..<v.count { v[i] += v[i] >= 0 ? 0.1 : -0.1 } }
        let w = Tensor(shape: [3], values: [0.25, -0.1, 0.6]), shared = Tensor(shape: [1], values: [0.3])
        let probe = Tensor.randn([2, 3, 2, 3], using: &rng)
        let r = GradientCheck.check([x, w], step: 1e-2) { (x.prelu(w) * probe).sum() }
        XCTAssertLessThan(r.maxError, 2e-3, r.description)
        let r2 = GradientCheck.check([x, shared], step: 1e-2) { (x.prelu(shared) * probe).sum() }
        XCTAssertLessThan(r2.maxError, 2e-3, r2.description)
    }
}
