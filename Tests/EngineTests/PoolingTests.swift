import XCTest
@testable import Engine

/// adaptiveAvgPool2d against PyTorch 2.15 `F.adaptive_avg_pool2d` (fixtures/engine-resize: overlapping
/// bins 7x10 -> 3x4, output larger than input 5x3 -> 7x2), forward and input gradient; `subsampled` against
/// direct indexing; finite-difference checks for both (bar 1e-3, linear ops).
final class PoolingTests: XCTestCase {
    func testAdaptiveAvgPoolMatchesPyTorch() throws {
        for (name, h, w) in [("pool7x10to3x4", 3, 4), ("pool5x3to7x2", 7, 2)] {
            let x = try ResampleFixtures.tensor(name + "_x")
            let g = try ResampleFixtures.tensor(name + "_g")
            let ref = try ResampleFixtures.tensor(name + "_out")
            let refGrad = try ResampleFixtures.tensor(name + "_gx")
            x.requiresGrad = true
            let out = x.adaptiveAvgPool2d(height: h, width: w)
            XCTAssertEqual(out.shape, ref.shape)
            let (e, bar) = ResampleFixtures.error(out, ref)
            XCTAssertLessThanOrEqual(e, bar, "\(name) forward")
            (out * g).sum().backward()
            let (eg, barg) = ResampleFixtures.error(try XCTUnwrap(x.grad), refGrad)
            XCTAssertLessThanOrEqual(eg, barg, "\(name) gradient")
        }
    }

    func testAdaptiveAvgPoolBins() {
        // 1 x 5 -> 1 x 3: bins [0,2), [1,4), [3,5) (start floor(i*5/3), end ceil((i+1)*5/3)).
        let x = Tensor(shape: [1, 1, 1, 5], values: [1, 2, 4, 8, 16])
        XCTAssertEqual(x.adaptiveAvgPool2d(height: 1, width: 3).array, [1.5, 14.0 / 3.0, 12])
        // Global pooling = mean.
        XCTAssertEqual(x.adaptiveAvgPool2d(height: 1, width: 1).item, 31.0 / 5.0, accuracy: 1e-6)
    }

    func testSubsampled() {
        let x = Tensor(shape: [1, 1, 3, 5], values: (0..<15).map { Float($0) })
        let y = x.subsampled(stride: 2)
        XCTAssertEqual(y.shape, [1, 1, 2, 3])
        XCTAssertEqual(y.array, [0, 2, 4, 10, 12, 14])
        XCTAssertEqual(x.subsampled(stride: 1).array, x.array)
    }

    func testGradientChecks() {
        var rng = SeededRandom(seed: 9)
        let x = Tensor.randn([2, 2, 7, 5], using: &rng)
        let w1 = Tensor.randn([2, 2, 3, 4], using: &rng), w2 = Tensor.randn([2, 2, 4, 3], using: &rng)
        let r1 = GradientCheck.check([x]) { (x.adaptiveAvgPool2d(height: 3, width: 4) * w1).sum() }
        XCTAssertLessThan(r1.maxError, 1e-3, "adaptiveAvgPool2d: \(r1)")
        let r2 = GradientCheck.check([x]) { (x.subsampled(stride: 2) * w2).sum() }
        XCTAssertLessThan(r2.maxError, 1e-3, "subsampled: \(r2)")
    }
}
