import XCTest
@testable import Engine

/// The Winograd F(4×4, 3×3) conv path against the im2col path (same op, `ConvPlan(winograd: false)`),
/// by finite differences, across block boundaries, and for thread-count invariance.
/// PyTorch comparisons of the same path are in `ConvFixtureTests.testWinogradConv2dMatchesTorch`.
final class WinogradConvTests: XCTestCase {
    struct Case { let n, c, o, h, w, padding, groups: Int }
    let cases = [
        Case(n: 2, c: 8, o: 12, h: 17, w: 15, padding: 1, groups: 1),  // partial edge tiles
        Case(n: 1, c: 16, o: 8, h: 17, w: 21, padding: 0, groups: 1),  // unpadded
        Case(n: 2, c: 16, o: 16, h: 15, w: 17, padding: 1, groups: 2), // grouped: one job per sample and group
        Case(n: 1, c: 8, o: 8, h: 14, w: 13, padding: 2, groups: 1),   // wider padding than the window overlap
        Case(n: 1, c: 8, o: 8, h: 9, w: 75, padding: 1, groups: 1),    // rows of 19 tiles: whole lane groups read as vectors
    ]

    func rand(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor.randn(shape, using: &rng)
    }

    /// Output and the gradients of sum(out · r) for x, weight and bias, with the kernels of `plan`.
    func run(_ k: Case, seed: UInt64, plan: ConvPlan) -> [[Float]] {
        let x = rand([k.n, k.c, k.h, k.w], seed: seed), w = rand([k.o, k.c / k.groups, 3, 3], seed: seed + 1)
        let b = rand([k.o], seed: seed + 2)
        for t in [x, w, b] { t.requiresGrad = true }
        let out = x.conv2d(weight: w, bias: b, padding: k.padding, groups: k.groups, plan: plan)
        (out * rand(out.shape, seed: seed + 3)).sum().backward()
        return [out.array, x.grad!.array, w.grad!.array, b.grad!.array]
    }

    /// Within the reference packs' bar (2e-5 of the largest value): both paths round differently.
    func assertClose(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = max(1, b.map { Swift.abs($0) }.max() ?? 0)
        let err = zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(err, 2e-5 * scale, "\(what): max difference \(err) (scale \(scale))", file: file, line: line)
    }

    func testMatchesIm2colInOneAndManyBlocks() {
        for (i, k) in cases.enumerated() {
            XCTAssertTrue(ConvPlan.machine.usesWinograd(input: [k.n, k.c, k.h, k.w], weight: [k.o, k.c / k.groups, 3, 3],
                                                        stride: 1, padding: k.padding, groups: k.groups), "case \(i) must take the Winograd path")
            let reference = run(k, seed: UInt64(100 * i), plan: ConvPlan(winograd: false))
            // The default budget holds every tile in one block; the small one forces blocks of 8 tiles.
            for budget in [ConvPlan.machine.winogradBlockBudget, 1] {
                // The GEMM path's blocks (the fused kernel: `FusedWinogradTests`).
                let plan = ConvPlan(fusedWinogradMaxChannels: 0, winogradBlockBudget: budget)
                let ours = run(k, seed: UInt64(100 * i), plan: plan)
                for (j, what) in ["output", "input gradient", "weight gradient", "bias gradient"].enumerated() {
                    assertClose(ours[j], reference[j], "case \(i) budget \(budget): \(what)")
                }
            }
        }
    }

    func testFiniteDifferenceGradients() {
        let x = rand([1, 8, 13, 14], seed: 7), w = rand([8, 8, 3, 3], seed: 8), b = rand([8], seed: 9)
        XCTAssertTrue(ConvPlan.machine.usesWinograd(input: x.shape, weight: w.shape, stride: 1, padding: 1, groups: 1))
        let r = rand([1, 8, 13, 14], seed: 10)
        // The conv is linear in each input, so a large step loses nothing to curvature and keeps
        // float32 rounding of the 1,456-term sum small relative to the difference.
        let result = GradientCheck.check([x, w, b], step: 0.25, maxElements: 48) { (x.conv2d(weight: w, bias: b, padding: 1) * r).sum() }
        XCTAssertLessThan(result.maxError, 3e-3, result.description)
    }

    func testSameResultsForAnyThreadCount() {
        let saved = Threads.count
        defer { Threads.set(saved) }
        let k = cases[2]
        Threads.set(1)
        let one = run(k, seed: 5, plan: .machine)
        Threads.set(3)
        let three = run(k, seed: 5, plan: .machine)
        XCTAssertEqual(one, three)
    }

    /// Fewer than 16 tiles or 8 channels: the transforms would cost more than the multiplies saved.
    func testSmallConvolutionsStayOnIm2col() {
        let plan = ConvPlan.machine
        XCTAssertFalse(plan.usesWinograd(input: [1, 8, 8, 8], weight: [8, 8, 3, 3], stride: 1, padding: 1, groups: 1))
        XCTAssertFalse(plan.usesWinograd(input: [1, 4, 32, 32], weight: [8, 4, 3, 3], stride: 1, padding: 1, groups: 1))
        XCTAssertFalse(plan.usesWinograd(input: [1, 8, 32, 32], weight: [8, 8, 3, 3], stride: 2, padding: 1, groups: 1))
        XCTAssertFalse(plan.usesWinograd(input: [1, 8, 32, 32], weight: [8, 8, 5, 5], stride: 1, padding: 2, groups: 1))
        XCTAssertTrue(plan.usesWinograd(input: [1, 8, 32, 32], weight: [8, 8, 3, 3], stride: 1, padding: 1, groups: 1))
        XCTAssertFalse(ConvPlan(winograd: false).usesWinograd(input: [1, 8, 32, 32], weight: [8, 8, 3, 3], stride: 1, padding: 1, groups: 1))
    }

    // MARK: scaledConv2d (the fused modulated conv)

    /// Output and the gradients of sum(out · r) w.r.t. x, weight, inScale, outScale: fused vs the three
    /// plain ops on the im2col path.
    func runScaled(fused plan: ConvPlan?, n: Int, c: Int, o: Int, size: Int, seed: UInt64) -> [[Float]] {
        let x = rand([n, c, size, size + 3], seed: seed), w = rand([o, c, 3, 3], seed: seed + 1)
        let s = rand([n, c], seed: seed + 2), d = rand([n, o], seed: seed + 3)
        for t in [x, w, s, d] { t.requiresGrad = true }
        let out: Tensor
        if let plan {
            out = x.scaledConv2d(weight: w, inScale: s, outScale: d, padding: 1, plan: plan)
        } else {
            out = x.scaledPerChannel(s).conv2d(weight: w, padding: 1, plan: ConvPlan(winograd: false)).scaledPerChannel(d)
        }
        (out * rand(out.shape, seed: seed + 4)).sum().backward()
        return [out.array, x.grad!.array, w.grad!.array, s.grad!.array, d.grad!.array]
    }

    func testScaledConvMatchesUnfusedOps() {
        XCTAssertTrue(ConvPlan.machine.usesWinograd(input: [3, 8, 13, 16], weight: [12, 8, 3, 3], stride: 1, padding: 1, groups: 1))
        let reference = runScaled(fused: nil, n: 3, c: 8, o: 12, size: 13, seed: 40)
        for budget in [ConvPlan.machine.winogradBlockBudget, 1] {
            // The GEMM path's blocks (the fused kernel: `FusedWinogradTests`).
            let plan = ConvPlan(fusedWinogradMaxChannels: 0, winogradBlockBudget: budget)
            let ours = runScaled(fused: plan, n: 3, c: 8, o: 12, size: 13, seed: 40)
            for (j, what) in ["output", "x gradient", "weight gradient", "in-scale gradient", "out-scale gradient"].enumerated() {
                assertClose(ours[j], reference[j], "budget \(budget): \(what)")
            }
        }
    }

    func testScaledConvFiniteDifferenceGradients() {
        let x = rand([2, 8, 13, 13], seed: 50), w = rand([8, 8, 3, 3], seed: 51)
        let s = rand([2, 8], seed: 52), d = rand([2, 8], seed: 53), r = rand([2, 8, 13, 13], seed: 54)
        // Linear in x, w and d separately, but s·d products make it bilinear: a smaller step for s and d.
        let linear = GradientCheck.check([x, w], step: 0.25, maxElements: 48) {
            (x.scaledConv2d(weight: w, inScale: s, outScale: d, padding: 1) * r).sum()
        }
        XCTAssertLessThan(linear.maxError, 3e-3, linear.description)
        let scales = GradientCheck.check([s, d], step: 0.05, maxElements: 16) {
            (x.scaledConv2d(weight: w, inScale: s, outScale: d, padding: 1) * r).sum()
        }
        XCTAssertLessThan(scales.maxError, 3e-3, scales.description)
    }

    /// With the weight frozen (adaptive selection's W+ pass), the out-scale gradient comes from the kept output
    /// (Σ dY·out / outScale) instead of the filter-gradient pass; it must equal what that pass gives when the
    /// weight does need a gradient, on the fused and GEMM Winograd routes and the polyphase transposed conv.
    func testOutScaleGradientWithFrozenWeightMatchesTheFilterGradientPass() {
        let ops: [(String, (Tensor, Tensor, Tensor, Tensor) -> Tensor)] = [
            ("fused conv", { x, w, s, d in x.scaledConv2d(weight: w, inScale: s, outScale: d, padding: 1) }),
            ("GEMM conv", { x, w, s, d in x.scaledConv2d(weight: w, inScale: s, outScale: d, padding: 1, plan: ConvPlan(fusedWinogradMaxChannels: 0)) }),
            ("transposed conv", { x, w, s, d in x.scaledConvTranspose2d(weight: w, inScale: s, outScale: d) }),
        ]
        for (k, (name, op)) in ops.enumerated() {
            let seed = UInt64(300 + 10 * k)
            let x = rand([2, 8, 13, 13], seed: seed), s = rand([2, 8], seed: seed + 2), d = rand([2, 12], seed: seed + 3)
            let r = rand(op(x, rand([12, 8, 3, 3], seed: seed + 1), s, d).shape, seed: seed + 4)
            func gradients(weightNeedsGrad: Bool) -> [[Float]] {
                let w = rand([12, 8, 3, 3], seed: seed + 1), si = s.copy(), di = d.copy()
                w.requiresGrad = weightNeedsGrad; si.requiresGrad = true; di.requiresGrad = true
                XCTAssertEqual(Tensor.keepsOutputForScaleGradient(weight: w, outScale: di), !weightNeedsGrad, name)
                (op(x, w, si, di) * r).sum().backward()
                return [si.grad!.array, di.grad!.array]
            }
            let pass = gradients(weightNeedsGrad: true), kept = gradients(weightNeedsGrad: false)
            assertClose(kept[0], pass[0], "\(name): in-scale gradient")
            assertClose(kept[1], pass[1], "\(name): out-scale gradient")
        }
        // A zero out-scale cannot be divided out: the filter-gradient pass runs then.
        XCTAssertFalse(Tensor.keepsOutputForScaleGradient(weight: rand([4, 4, 3, 3], seed: 1),
                                                          outScale: { let t = Tensor(shape: [1, 4], values: [1, 0, 2, 3]); t.requiresGrad = true; return t }()))
    }

    /// Too small for Winograd: the same function through the unfused ops.
    func testScaledConvFallsBackOnSmallMaps() {
        let x = rand([2, 8, 4, 4], seed: 60), w = rand([8, 8, 3, 3], seed: 61), s = rand([2, 8], seed: 62)
        let fused = Autograd.noGrad { x.scaledConv2d(weight: w, inScale: s, outScale: nil, padding: 1) }
        let plain = Autograd.noGrad { x.scaledPerChannel(s).conv2d(weight: w, padding: 1) }
        XCTAssertEqual(fused.array, plain.array)
    }

    // MARK: scaledConvTranspose2d (polyphase Winograd)

    func runScaledTransposed(plan: ConvPlan, n: Int, c: Int, o: Int, h: Int, w: Int, seed: UInt64) -> [[Float]] {
        let x = rand([n, c, h, w], seed: seed), weight = rand([o, c, 3, 3], seed: seed + 1)
        let s = rand([n, c], seed: seed + 2), d = rand([n, o], seed: seed + 3)
        for t in [x, weight, s, d] { t.requiresGrad = true }
        let out = x.scaledConvTranspose2d(weight: weight, inScale: s, outScale: d, plan: plan)
        XCTAssertEqual(out.shape, [n, o, 2 * h + 1, 2 * w + 1])
        (out * rand(out.shape, seed: seed + 4)).sum().backward()
        return [out.array, x.grad!.array, weight.grad!.array, s.grad!.array, d.grad!.array]
    }

    func testScaledTransposedConvMatchesPlainOps() {
        // 13×18: partial tiles on both edges; 16×16: whole tiles plus the extra output row and column.
        // 9×70: rows of 18 tiles, so whole groups of eight are gathered and scattered as vectors.
        for (k, (h, w)) in [(13, 18), (16, 16), (9, 70)].enumerated() {
            XCTAssertTrue(ConvPlan.machine.usesPolyphaseWinograd(input: [2, 8, h, w], weight: [12, 8, 3, 3]))
            let reference = runScaledTransposed(plan: ConvPlan(winograd: false), n: 2, c: 8, o: 12, h: h, w: w, seed: UInt64(80 + 10 * k))
            for budget in [ConvPlan.machine.winogradBlockBudget, 1] {
                let ours = runScaledTransposed(plan: ConvPlan(winogradBlockBudget: budget), n: 2, c: 8, o: 12, h: h, w: w,
                                               seed: UInt64(80 + 10 * k))
                for (j, what) in ["output", "x gradient", "weight gradient", "in-scale gradient", "out-scale gradient"].enumerated() {
                    assertClose(ours[j], reference[j], "\(h)x\(w) budget \(budget): \(what)")
                }
            }
        }
    }

    func testScaledTransposedConvFiniteDifferences() {
        let x = rand([1, 8, 13, 12], seed: 90), w = rand([8, 8, 3, 3], seed: 91)
        let s = rand([1, 8], seed: 92), d = rand([1, 8], seed: 93), r = rand([1, 8, 27, 25], seed: 94)
        XCTAssertTrue(ConvPlan.machine.usesPolyphaseWinograd(input: x.shape, weight: w.shape))
        let f = { (x.scaledConvTranspose2d(weight: w, inScale: s, outScale: d) * r).sum() }
        let linear = GradientCheck.check([x, w], step: 0.25, maxElements: 48, f)
        XCTAssertLessThan(linear.maxError, 3e-3, linear.description)
        let scales = GradientCheck.check([s, d], step: 0.05, maxElements: 16, f)
        XCTAssertLessThan(scales.maxError, 3e-3, scales.description)
    }

    func testScaledTransposedConvSameForAnyThreadCount() {
        let saved = Threads.count
        defer { Threads.set(saved) }
        Threads.set(1)
        let one = runScaledTransposed(plan: .machine, n: 2, c: 8, o: 12, h: 13, w: 18, seed: 7)
        Threads.set(3)
        let three = runScaledTransposed(plan: .machine, n: 2, c: 8, o: 12, h: 13, w: 18, seed: 7)
        XCTAssertEqual(one, three)
    }
}
