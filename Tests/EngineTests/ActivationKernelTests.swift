import CKernels
import Foundation
import XCTest
@testable import Engine

/// The vectorised activations of CKernels (activations.c) in both copies (AVX2+FMA and generic): exp
/// against libm, QuickGELU and its derivative against float64 formulas, tails shorter than a vector,
/// the clamped extremes and NaN. The finite-difference check of `quickGELU` through autograd is in
/// ElementwiseGradTests (`assertGrad` with `a.quickGELU()`) and below at larger values.
final class ActivationKernelTests: XCTestCase {
    var copies: [Int32] { ConvPlan.cpuHasAVX2 ? [1, 0] : [0] }

    /// Every 1e-3 from -87 to 88 (175 001 values): relative error of exp within 4 ulp-ish of float.
    func testExpMatchesLibm() {
        let xs = stride(from: -87.0, through: 88.0, by: 1e-3).map { Float($0) }
        for avx2 in copies {
            var ys = [Float](repeating: 0, count: xs.count)
            nada_exp(xs, &ys, xs.count, avx2)
            var worst = 0.0, at: Float = 0
            for (x, y) in zip(xs, ys) {
                let exact = Foundation.exp(Double(x))
                let err = Swift.abs(Double(y) - exact) / exact
                if err > worst { worst = err; at = x }
            }
            XCTAssertLessThan(worst, 4e-7, "copy avx2=\(avx2): worst relative error \(worst) at x = \(at)")
        }
    }

    /// The edges: below -87.3 (and -inf) exactly 0, so a softmax's masked entries stay 0; above 88.3 finite;
    /// NaN stays NaN. Every position of a vector and the tail.
    func testExpEdges() {
        let specials: [Float] = [-.infinity, -1000, -100, -87.31, 0, 88.4, 1000, .infinity, .nan]
        for avx2 in copies {
            for offset in 0..<9 {
                var xs = [Float](repeating: 1, count: 11)
                var ys = xs
                for (i, v) in specials.enumerated() { xs[(i + offset) % 11] = v }
                nada_exp(xs, &ys, xs.count, avx2)
                for (x, y) in zip(xs, ys) {
                    if x.isNaN { XCTAssertTrue(y.isNaN, "exp(NaN) avx2=\(avx2)"); continue }
                    if x < -87.3 { XCTAssertEqual(y, 0, "exp(\(x)) avx2=\(avx2)"); continue }
                    XCTAssertTrue(y.isFinite && y > 0, "exp(\(x)) = \(y) avx2=\(avx2)")
                }
            }
        }
        let row = Tensor(shape: [1, 4], values: [0.5, -.infinity, 2, -.infinity]).softmax().array
        XCTAssertEqual(row[1], 0); XCTAssertEqual(row[3], 0)
        XCTAssertEqual(Double(row[0] + row[2]), 1, accuracy: 1e-6)
        XCTAssertEqual(Double(row[2] / row[0]), Foundation.exp(1.5), accuracy: 1e-5)
    }

    func testQuickGELUAndDerivativeMatchFloat64() {
        var rng = SeededRandom(seed: 11)
        // 1003 values (a tail of 3), spread over the range activations take, plus the edges.
        var xs = (0..<1000).map { _ in rng.nextNormal() * 6 }
        xs += [0, 120, -120]
        let gs = xs.map { _ in rng.nextNormal() }
        for avx2 in copies {
            var y = [Float](repeating: 0, count: xs.count), gx = y
            nada_quick_gelu(xs, &y, xs.count, avx2)
            nada_quick_gelu_backward(xs, gs, &gx, xs.count, avx2)
            for i in xs.indices {
                let x = Double(xs[i]), s = 1 / (1 + Foundation.exp(-1.702 * x))
                let yExact = x * s, gExact = Double(gs[i]) * (s + 1.702 * x * s * (1 - s))
                XCTAssertEqual(Double(y[i]), yExact, accuracy: 1e-6 * max(1, Swift.abs(yExact)), "y(\(x)) avx2=\(avx2)")
                XCTAssertEqual(Double(gx[i]), gExact, accuracy: 1e-6 * max(1, Swift.abs(gExact)), "dy(\(x)) avx2=\(avx2)")
            }
            XCTAssertEqual(y[xs.count - 2], 120, "large x passes through")
            XCTAssertEqual(y[xs.count - 1], 0, accuracy: 1e-30, "very negative x goes to 0 (no inf/NaN from the clamped exp)")
        }
    }

    func testNaNPropagatesAndTailsAreWritten() {
        for avx2 in copies {
            for count in 1...17 {
                var xs = (0..<count).map { Float($0) - 8 }
                xs[count - 1] = .nan
                var y = [Float](repeating: 99, count: count + 1)   // one guard value past the end
                nada_quick_gelu(xs, &y, count, avx2)
                XCTAssertTrue(y[count - 1].isNaN, "NaN in, NaN out (count \(count), avx2=\(avx2))")
                for i in 0..<(count - 1) { XCTAssertNotEqual(y[i], 99, "value \(i) of \(count) written") }
                XCTAssertEqual(y[count], 99, "nothing written past the end (count \(count))")
            }
        }
    }

    /// The autograd op (forward and recorded backward) against finite differences at activation-sized values.
    func testQuickGELUFiniteDifferences() {
        var rng = SeededRandom(seed: 12)
        let x = Tensor.randn([3, 37], using: &rng) * 3
        let x0 = x.detached()
        x0.requiresGrad = true
        let r = Tensor.randn([3, 37], using: &rng)
        let check = GradientCheck.check([x0], step: 1e-2, maxElements: 111) { (x0.quickGELU() * r).sum() }
        XCTAssertLessThan(check.maxError, 2e-3, check.description)
    }
}
