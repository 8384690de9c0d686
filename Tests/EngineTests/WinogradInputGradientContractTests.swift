import XCTest
@testable import Engine

/// `WinogradGradients.xZeroed`: with it false the backward overwrites x's gradient (garbage in the
/// buffer must not leak into the result), with it true it adds into the buffer. Covers the fused input
/// gradient (padding 1), the GEMM one behind a fused forward (padding 3) and the grouped GEMM path.
final class WinogradInputGradientContractTests: XCTestCase {
    func rand(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return Tensor.randn([count], using: &rng).array
    }

    func testOverwritesOrAddsAsFlagged() {
        let fusedUpTo128 = ConvPlan(fusedWinogradMaxChannels: 128)
        let plans = [
            WinogradConv2d(batch: 2, channels: 8, height: 13, width: 14, outChannels: 12, groups: 1, padding: 1, plan: fusedUpTo128),
            WinogradConv2d(batch: 1, channels: 8, height: 11, width: 12, outChannels: 8, groups: 1, padding: 3, plan: fusedUpTo128),
            WinogradConv2d(batch: 2, channels: 16, height: 13, width: 14, outChannels: 16, groups: 2, padding: 1, plan: fusedUpTo128),
        ]
        XCTAssertEqual(plans.map(\.usesFusedInputGradient), [true, false, false])
        for (i, plan) in plans.enumerated() {
            let seed = UInt64(40 + 10 * i)
            let xCount = plan.batch * plan.channels * plan.height * plan.width
            let x = rand(xCount, seed: seed), w = rand(plan.outChannels * plan.groupChannels * 9, seed: seed + 1)
            let gy = rand(plan.batch * plan.outChannels * plan.outHeight * plan.outWidth, seed: seed + 2)
            let prior = rand(xCount, seed: seed + 3)
            func run(start: [Float], zeroed: Bool) -> [Float] {
                var gx = start
                x.withUnsafeBufferPointer { px in
                    w.withUnsafeBufferPointer { pw in
                        gy.withUnsafeBufferPointer { pg in
                            gx.withUnsafeMutableBufferPointer { out in
                                plan.backward(x: px.baseAddress!, weight: pw.baseAddress!, gy: pg.baseAddress!,
                                              into: WinogradGradients(x: out.baseAddress!, xZeroed: zeroed))
                            }
                        }
                    }
                }
                return gx
            }
            let reference = run(start: [Float](repeating: 0, count: xCount), zeroed: true)
            XCTAssertGreaterThan(reference.map { Swift.abs($0) }.max() ?? 0, 0, "plan \(i): a non-trivial gradient")
            XCTAssertEqual(run(start: prior.map { $0 * 1e6 }, zeroed: false), reference, "plan \(i): overwritten")
            let added = run(start: prior, zeroed: true)
            let expected = zip(prior, reference).map { $0 + $1 }
            let err = zip(added, expected).map { Swift.abs($0 - $1) }.max() ?? 0
            let scale = max(1, expected.map { Swift.abs($0) }.max() ?? 0)
            XCTAssertLessThanOrEqual(err, 1e-6 * scale, "plan \(i): added into the buffer (sums round in another order)")
        }
    }
}
