import XCTest
@testable import Engine

/// The phase-filter form of StyleGAN2's upsampling conv (`transposedConvBlurPhases` + `pixelShuffle`)
/// equals the transposed conv followed by the blur, in value and in every gradient.
final class UpsamplingPhasesTests: XCTestCase {
    func rand(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor.randn(shape, using: &rng)
    }

    func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        var m: Float = 0
        for i in 0..<a.count { m = max(m, abs(a.pointer[i] - b.pointer[i])) }
        return m
    }

    /// rosinality's blur kernel, and an asymmetric one so a flipped tap cannot hide.
    var blurs: [Tensor] {
        let taps: [Float] = [1, 3, 3, 1]
        let symmetric = Tensor(shape: [4, 4], values: (0..<16).map { taps[$0 / 4] * taps[$0 % 4] / 16 * 4 })
        return [symmetric, rand([4, 4], seed: 99)]
    }

    func testPixelShuffleMatchesDefinition() {
        let x = rand([2, 8, 3, 5], seed: 1)
        let y = x.pixelShuffle(2)
        XCTAssertEqual(y.shape, [2, 2, 6, 10])
        for n in 0..<2 { for c in 0..<2 { for i in 0..<2 { for j in 0..<2 { for h in 0..<3 { for w in 0..<5 {
            let src = x.pointer[((n * 8 + c * 4 + i * 2 + j) * 3 + h) * 5 + w]
            XCTAssertEqual(y.pointer[((n * 2 + c) * 6 + 2 * h + i) * 10 + 2 * w + j], src)
        } } } } } }
    }

    func testPixelShuffleGradient() {
        let x = rand([1, 4, 2, 3], seed: 2), r = rand([1, 1, 4, 6], seed: 3)
        let result = GradientCheck.check([x]) { (x.pixelShuffle(2) * r).sum() }
        XCTAssertLessThan(result.maxError, 1e-2, "\(result)")
    }

    /// Phase filters + pixel shuffle against convTranspose2d (stride 2) then upfirdn2d (pad 1, 1).
    func testPhaseFiltersEqualTransposedConvThenBlur() {
        for (bi, blur) in blurs.enumerated() {
            let x = rand([2, 3, 5, 4], seed: 10 + UInt64(bi)), w = rand([2, 3, 3, 3], seed: 20 + UInt64(bi))
            let reference = x.convTranspose2d(weight: w.permuted([1, 0, 2, 3]), stride: 2)
                .upfirdn2d(kernel: blur, up: 1, down: 1, pad: (x0: 1, x1: 1, y0: 1, y1: 1))
            let phased = x.conv2d(weight: w.transposedConvBlurPhases(blur: blur), padding: 1).pixelShuffle(2)
            XCTAssertEqual(phased.shape, [2, 2, 10, 8])
            XCTAssertLessThan(maxAbsDiff(phased, reference), 1e-4, "blur \(bi)")
        }
    }

    func testPhaseFilterGradient() {
        let blur = blurs[1], w = rand([2, 2, 3, 3], seed: 30), r = rand([4 * 2, 2, 3, 3], seed: 31)
        let result = GradientCheck.check([w]) { (w.transposedConvBlurPhases(blur: blur) * r).sum() }
        XCTAssertLessThan(result.maxError, 1e-2, "\(result)")
    }

    /// The whole modulated upsampling path, fused scaled conv included, on a map big enough for Winograd:
    /// value and the gradients w.r.t. x, weight and both scales.
    func testScaledPhaseConvMatchesScaledTransposedConvThenBlur() {
        let blur = blurs[0]
        let x = rand([2, 8, 16, 16], seed: 40), w = rand([8, 8, 3, 3], seed: 41)
        let s = rand([2, 8], seed: 42), d = rand([2, 8], seed: 43), seed = rand([2, 8, 32, 32], seed: 44)
        func twoStep() -> Tensor {
            x.scaledConvTranspose2d(weight: w, inScale: s, outScale: d)
                .upfirdn2d(kernel: blur, up: 1, down: 1, pad: (x0: 1, x1: 1, y0: 1, y1: 1))
        }
        func phased() -> Tensor {
            let d4 = d.reshaped([2, 8, 1]).expanded(to: [2, 8, 4]).reshaped([2, 32])
            return x.scaledConv2d(weight: w.transposedConvBlurPhases(blur: blur), inScale: s, outScale: d4, padding: 1).pixelShuffle(2)
        }
        let inputs = [x, w, s, d]
        for t in inputs { t.requiresGrad = true }
        let a = twoStep(), b = phased()
        XCTAssertLessThan(maxAbsDiff(a, b), 1e-3)
        let ga = Autograd.gradients(of: a, wrt: inputs, seed: seed)
        let gb = Autograd.gradients(of: b, wrt: inputs, seed: seed)
        for (i, (p, q)) in zip(ga, gb).enumerated() {
            guard let p, let q else { XCTFail("missing gradient \(i)"); continue }
            var scale: Float = 1
            for k in 0..<p.count { scale = max(scale, abs(p.pointer[k])) }
            XCTAssertLessThan(maxAbsDiff(p, q) / scale, 1e-4, "gradient \(i)")
        }
    }
}
