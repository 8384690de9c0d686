import XCTest
@testable import Engine

/// The fused StyleGAN2 ops (noise + bias + leaky ReLU, modulated weights, row sums of squares):
/// equal to the same math built from separate broadcasting ops, and finite-difference gradients.
final class FusedOpsTests: XCTestCase {
    let tolerance = 2e-3

    func rand(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor.randn(shape, using: &rng)
    }

    func maxAbsDiff(_ a: Tensor?, _ b: Tensor?) -> Float {
        guard let a, let b else { return a == nil && b == nil ? 0 : .infinity }
        XCTAssertEqual(a.shape, b.shape)
        var m: Float = 0
        for i in 0..<a.count { m = max(m, abs(a.pointer[i] - b.pointer[i])) }
        return m
    }

    /// x [N, C, H, W] whose pre-activations x + s·n + b stay ≥ 0.1 from the kink, so central
    /// differences with h = 1e-2 on any input never straddle it.
    func activationInputs(batch: Int, noiseBatch: Int, seed: UInt64) -> (x: Tensor, n: Tensor, s: Tensor, b: Tensor) {
        let c = 3, h = 2, w = 3
        let x = rand([batch, c, h, w], seed: seed), n = rand([noiseBatch, 1, h, w], seed: seed + 1)
        let s = Tensor(shape: [1], values: [0.7]), b = rand([c], seed: seed + 2)
        for bi in 0..<batch { for ci in 0..<c { for p in 0..<(h * w) {
            let i = (bi * c + ci) * h * w + p
            let pre = x.pointer[i] + 0.7 * n.pointer[(noiseBatch == 1 ? 0 : bi) * h * w + p] + b.pointer[ci]
            if abs(pre) < 0.1 { x.pointer[i] += pre >= 0 ? 0.2 : -0.2 }
        } } }
        return (x, n, s, b)
    }

    func testFusedLeakyReLUEqualsSeparateOps() {
        for noiseBatch in [1, 2] {
            let (x, n, s, b) = activationInputs(batch: 2, noiseBatch: noiseBatch, seed: 10 + UInt64(noiseBatch))
            let r = rand(x.shape, seed: 20)
            for t in [x, n, s, b] { t.requiresGrad = true }
            let fused = x.fusedLeakyReLU(bias: b, noise: n, noiseStrength: s)
            (fused * r).sum().backward()
            let fusedGrads = [x, n, s, b].map { $0.grad }
            for t in [x, n, s, b] { t.grad = nil }
            let separate = ((x + n * s) + b.reshaped([1, 3, 1, 1])).leakyReLU(slope: 0.2, gain: Float(2).squareRoot())
            (separate * r).sum().backward()
            XCTAssertLessThan(maxAbsDiff(fused, separate), 1e-6)
            for (i, t) in [x, n, s, b].enumerated() {
                XCTAssertLessThan(maxAbsDiff(fusedGrads[i], t.grad), 1e-5, "gradient of input \(i), noise batch \(noiseBatch)")
            }
        }
    }

    func testFusedLeakyReLUGradients() {
        for (batch, noiseBatch) in [(2, 1), (2, 2), (1, 1)] {
            let (x, n, s, b) = activationInputs(batch: batch, noiseBatch: noiseBatch, seed: 30 + UInt64(batch * 3 + noiseBatch))
            let r = rand(x.shape, seed: 40)
            let result = GradientCheck.check([x, n, s, b]) { (x.fusedLeakyReLU(bias: b, noise: n, noiseStrength: s) * r).sum() }
            XCTAssertLessThan(result.maxError, tolerance, "batch \(batch), noise batch \(noiseBatch): \(result)")
        }
        // Without noise, on [N, C] (the mapping network's shape) with another slope and gain.
        var x = rand([4, 5], seed: 50)
        let b = rand([5], seed: 51)
        x = Tensor(shape: x.shape, values: zip(x.array, (0..<20).map { b.pointer[$0 % 5] }).map { v, bias in
            abs(v + bias) < 0.1 ? v + 0.3 : v
        })
        let r = rand([4, 5], seed: 52)
        let result = GradientCheck.check([x, b]) { (x.fusedLeakyReLU(bias: b, slope: 0.1, gain: 2) * r).sum() }
        XCTAssertLessThan(result.maxError, tolerance, result.description)
    }

    /// Only some inputs need gradients: the others get none and the rest are unchanged.
    func testFusedLeakyReLUPartialGradients() {
        let (x, n, s, b) = activationInputs(batch: 2, noiseBatch: 1, seed: 60)
        let r = rand(x.shape, seed: 61)
        s.requiresGrad = true
        let all = Autograd.gradients(of: (x.fusedLeakyReLU(bias: b, noise: n, noiseStrength: s) * r).sum(), wrt: [s, b])
        s.requiresGrad = true; b.requiresGrad = false
        let only = Autograd.gradients(of: (x.fusedLeakyReLU(bias: b, noise: n, noiseStrength: s) * r).sum(), wrt: [s])
        XCTAssertEqual(only[0]?.item, all[0]?.item)
        XCTAssertNotNil(all[1])
    }

    func testFusedLeakyReLURejectsBadShapes() {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(message { _ = try FusedActivationLayout(input: [2, 3, 4, 4], bias: [4], noise: nil, strength: nil, slope: 0.2, gain: 1) }
            .contains("bias [4] for 3 channels"))
        XCTAssertTrue(message { _ = try FusedActivationLayout(input: [2, 3, 4, 4], bias: [3], noise: [3, 1, 4, 4], strength: [1], slope: 0.2, gain: 1) }
            .contains("noise [3, 1, 4, 4]"))
        XCTAssertTrue(message { _ = try FusedActivationLayout(input: [2, 3, 4, 4], bias: [3], noise: [1, 1, 4, 4], strength: nil, slope: 0.2, gain: 1) }
            .contains("go together"))
        XCTAssertTrue(message { _ = try FusedActivationLayout(input: [2, 3], bias: [3], noise: nil, strength: nil, slope: 0, gain: 1) }
            .contains("must be positive"))
        XCTAssertEqual(message { _ = try FusedActivationLayout(input: [2, 3, 4, 4], bias: [3], noise: [2, 1, 4, 4], strength: [1], slope: 0.2, gain: 1) },
                       "no error")
    }

    func testModulatedWeightsEqualBroadcastOps() {
        let w = rand([4, 3, 5], seed: 70), rows = rand([2, 4], seed: 71), cols = rand([2, 3], seed: 72)
        let r = rand([2, 4, 3, 5], seed: 73)
        for t in [w, rows, cols] { t.requiresGrad = true }
        let fused = w.modulatedWeights(rows: rows, columns: cols, gain: 0.5)
        (fused * r).sum().backward()
        let fusedGrads = [w, rows, cols].map { $0.grad }
        for t in [w, rows, cols] { t.grad = nil }
        let separate = w.reshaped([1, 4, 3, 5]) * rows.reshaped([2, 4, 1, 1]) * cols.reshaped([2, 1, 3, 1]) * 0.5
        (separate * r).sum().backward()
        XCTAssertLessThan(maxAbsDiff(fused, separate), 1e-6)
        for (i, t) in [w, rows, cols].enumerated() { XCTAssertLessThan(maxAbsDiff(fusedGrads[i], t.grad), 1e-5, "input \(i)") }

        // Transposed: w [J, I, K] read as [I, J, K].
        let wt = rand([3, 4, 5], seed: 74)
        let a = Autograd.noGrad { wt.modulatedWeights(rows: rows, columns: cols, transposed: true) }
        let b = Autograd.noGrad { wt.permuted([1, 0, 2]).reshaped([1, 4, 3, 5]) * rows.reshaped([2, 4, 1, 1]) * cols.reshaped([2, 1, 3, 1]) }
        XCTAssertLessThan(maxAbsDiff(a, b), 1e-6)
        // Neither factor: a scaled (and here transposed) copy, batch 1.
        let c = Autograd.noGrad { wt.modulatedWeights(rows: nil, columns: nil, gain: 3, transposed: true) }
        let d = Autograd.noGrad { (wt.permuted([1, 0, 2]) * 3).reshaped([1, 4, 3, 5]) }
        XCTAssertLessThan(maxAbsDiff(c, d), 1e-6)
    }

    func testModulatedWeightsGradients() {
        // 70 rows: more than 64, so the column gradient spans several fixed blocks.
        let cases: [(transposed: Bool, rows: Bool, cols: Bool, i: Int)] = [(false, true, true, 70), (true, true, true, 3), (false, false, true, 3), (true, true, false, 3), (true, false, false, 3)]
        for c in cases {
            let j = 2, k = 3, batch = 2
            let w = rand(c.transposed ? [j, c.i, k] : [c.i, j, k], seed: 80)
            let rows = c.rows ? rand([batch, c.i], seed: 81) : nil, cols = c.cols ? rand([batch, j], seed: 82) : nil
            let r = rand([batch, c.i, j, k], seed: 83)
            let inputs = [w] + [rows, cols].compactMap { $0 }
            let result = GradientCheck.check(inputs, maxElements: 24) {
                (w.modulatedWeights(rows: rows, columns: cols, gain: 0.7, transposed: c.transposed) * r).sum()
            }
            XCTAssertLessThan(result.maxError, tolerance, "\(c): \(result)")
        }
        XCTAssertThrowsError(try modulatedWeightsShape([4, 3, 5], rows: [2, 3], columns: nil, transposed: false))
        XCTAssertThrowsError(try modulatedWeightsShape([4, 3, 5], rows: [2, 4], columns: [1, 3], transposed: false))
        XCTAssertNoThrow(try modulatedWeightsShape([4, 3, 5], rows: [2, 3], columns: [2, 4], transposed: true))
    }

    func testSumOfSquaresLastAxis() {
        let x = rand([3, 4, 5], seed: 90), r = rand([3, 4], seed: 91)
        let a = Autograd.noGrad { x.sumOfSquaresLastAxis() }, b = Autograd.noGrad { x.square().sum(axes: [2]) }
        XCTAssertLessThan(maxAbsDiff(a, b), 1e-5)
        let result = GradientCheck.check([x]) { (x.sumOfSquaresLastAxis() * r).sum() }
        XCTAssertLessThan(result.maxError, tolerance, result.description)
    }
}
