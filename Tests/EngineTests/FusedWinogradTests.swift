import XCTest
@testable import Engine

/// The fused Winograd kernel (`FusedWinogradConv2d`, C) against the GEMM Winograd path and im2col, for
/// the output and every gradient, in both copies of the C kernels (AVX2+FMA and generic), and for
/// thread-count invariance.
final class FusedWinogradTests: XCTestCase {
    enum Path: CustomStringConvertible {
        case fused, gemmWinograd, im2col
        var description: String { "\(self == .fused ? "fused" : (self == .gemmWinograd ? "GEMM Winograd" : "im2col"))" }
    }

    struct Case { let n, c, o, h, w, padding: Int }
    let cases = [
        Case(n: 2, c: 8, o: 12, h: 13, w: 14, padding: 1), // H, W not multiples of 4: partial edge tiles
        Case(n: 2, c: 12, o: 8, h: 17, w: 18, padding: 0), // unpadded
        Case(n: 1, c: 8, o: 9, h: 14, w: 13, padding: 2),  // adjoint conv unpadded; odd channel count
        Case(n: 2, c: 8, o: 8, h: 13, w: 75, padding: 1),  // rows of 19 tiles: whole 8-tile rows moved as vectors
        Case(n: 1, c: 8, o: 8, h: 11, w: 12, padding: 3),  // fused forward; input gradient on the GEMM path
        Case(n: 2, c: 20, o: 24, h: 21, w: 22, padding: 1), // filter gradient: 6+6+4+4 input x 16+8 output channel blocks
        Case(n: 1, c: 9, o: 17, h: 19, w: 23, padding: 0),  // odd channel counts, output channels padded to 24 lanes
    ]

    func rand(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor.randn(shape, using: &rng)
    }

    /// The plan that runs `path` with the chosen kernel copy (the generic one where the CPU lacks AVX2).
    func plan(_ path: Path, avx2: Bool = true) -> ConvPlan {
        ConvPlan(isa: avx2 ? .avx2 : .generic, winograd: path != .im2col, fusedWinogradMaxChannels: path == .fused ? 128 : 0)
    }

    /// conv2d with bias (or not): output and the gradients of sum(out · r) for x, weight (and bias).
    func plain(_ k: Case, bias: Bool, seed: UInt64, on plan: ConvPlan) -> [[Float]] {
        let x = rand([k.n, k.c, k.h, k.w], seed: seed), w = rand([k.o, k.c, 3, 3], seed: seed + 1)
        let b = bias ? rand([k.o], seed: seed + 2) : nil
        for t in [x, w] + (b.map { [$0] } ?? []) { t.requiresGrad = true }
        let out = x.conv2d(weight: w, bias: b, padding: k.padding, plan: plan)
        (out * rand(out.shape, seed: seed + 3)).sum().backward()
        return [out.array, x.grad!.array, w.grad!.array] + (b.map { [$0.grad!.array] } ?? [])
    }

    /// scaledConv2d (with or without out-scales): output and the gradients for x, weight, inScale (, outScale).
    func scaled(_ k: Case, outScale: Bool, seed: UInt64, on plan: ConvPlan) -> [[Float]] {
        let x = rand([k.n, k.c, k.h, k.w], seed: seed), w = rand([k.o, k.c, 3, 3], seed: seed + 1)
        let s = rand([k.n, k.c], seed: seed + 2), d = outScale ? rand([k.n, k.o], seed: seed + 3) : nil
        for t in [x, w, s] + (d.map { [$0] } ?? []) { t.requiresGrad = true }
        let out = x.scaledConv2d(weight: w, inScale: s, outScale: d, padding: k.padding, plan: plan)
        (out * rand(out.shape, seed: seed + 4)).sum().backward()
        return [out.array, x.grad!.array, w.grad!.array, s.grad!.array] + (d.map { [$0.grad!.array] } ?? [])
    }

    /// Within the reference packs' bar (2e-5 of the largest value): the paths round differently.
    func assertClose(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = max(1, b.map { Swift.abs($0) }.max() ?? 0)
        let err = zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(err, 2e-5 * scale, "\(what): max difference \(err) (scale \(scale))", file: file, line: line)
    }

    func testTakesTheFusedPath() {
        for k in cases {
            XCTAssertTrue(ConvPlan.machine.usesWinograd(input: [k.n, k.c, k.h, k.w], weight: [k.o, k.c, 3, 3], stride: 1, padding: k.padding, groups: 1))
            let plan = WinogradConv2d(batch: k.n, channels: k.c, height: k.h, width: k.w, outChannels: k.o, groups: 1, padding: k.padding)
            XCTAssertTrue(plan.usesFusedKernel)
            XCTAssertEqual(plan.usesFusedInputGradient, k.padding <= 2, "the adjoint conv has padding 2 - p")
        }
        let grouped = WinogradConv2d(batch: 1, channels: 16, height: 16, width: 16, outChannels: 16, groups: 2, padding: 1)
        XCTAssertFalse(grouped.usesFusedKernel, "groups > 1 stay on the GEMM path")
        let wide = WinogradConv2d(batch: 1, channels: 512, height: 16, width: 16, outChannels: 512, groups: 1, padding: 1)
        XCTAssertFalse(wide.usesFusedKernel, "many channels stay on the GEMM path")
    }

    func testPlainConvMatchesGemmWinogradAndIm2col() {
        for (i, k) in cases.enumerated() {
            for bias in [true, false] {
                let seed = UInt64(10 * i + (bias ? 0 : 5))
                let im2col = plain(k, bias: bias, seed: seed, on: plan(.im2col))
                let gemm = plain(k, bias: bias, seed: seed, on: plan(.gemmWinograd))
                for avx2 in [true, false] {
                    let fused = plain(k, bias: bias, seed: seed, on: plan(.fused, avx2: avx2))
                    for (j, what) in ["output", "x gradient", "weight gradient", "bias gradient"].prefix(fused.count).enumerated() {
                        let label = "case \(i) bias \(bias) avx2 \(avx2): \(what)"
                        assertClose(fused[j], im2col[j], label + " vs im2col")
                        assertClose(fused[j], gemm[j], label + " vs GEMM Winograd")
                    }
                }
            }
        }
    }

    func testScaledConvMatchesGemmWinogradAndIm2col() {
        for (i, k) in cases.enumerated() {
            for outScale in [true, false] {
                let seed = UInt64(100 + 10 * i + (outScale ? 0 : 5))
                let im2col = scaled(k, outScale: outScale, seed: seed, on: plan(.im2col))
                let gemm = scaled(k, outScale: outScale, seed: seed, on: plan(.gemmWinograd))
                for avx2 in [true, false] {
                    let fused = scaled(k, outScale: outScale, seed: seed, on: plan(.fused, avx2: avx2))
                    for (j, what) in ["output", "x gradient", "weight gradient", "in-scale gradient", "out-scale gradient"].prefix(fused.count).enumerated() {
                        let label = "case \(i) outScale \(outScale) avx2 \(avx2): \(what)"
                        assertClose(fused[j], im2col[j], label + " vs im2col")
                        assertClose(fused[j], gemm[j], label + " vs GEMM Winograd")
                    }
                }
            }
        }
    }

    /// The two copies of the C kernels differ only in rounding (FMA), never by more than the bar.
    func testBothKernelCopiesAreUsable() throws {
        XCTAssertEqual(ConvPlan(isa: .generic).isa, .generic)
        guard ConvPlan.cpuHasAVX2 else { throw XCTSkip("this CPU has no AVX2+FMA: only the generic copy runs") }
        XCTAssertEqual(ConvPlan(isa: .avx2).isa, .avx2)
        let k = cases[3]
        let a = plain(k, bias: true, seed: 3, on: plan(.fused, avx2: true))
        let b = plain(k, bias: true, seed: 3, on: plan(.fused, avx2: false))
        XCTAssertNotEqual(a[0], b[0], "the AVX2 copy should use FMA, so some roundings differ")
        for j in 0..<a.count { assertClose(a[j], b[j], "AVX2 vs generic, result \(j)") }
    }

    /// Several 64-tile work units per sample: 1 and 2 threads give bit-identical outputs and gradients
    /// (the in-scale gradient sums per-unit dots in unit order).
    func testSameResultsForAnyThreadCount() {
        let saved = Threads.count
        defer { Threads.set(saved) }
        let k = Case(n: 2, c: 8, o: 8, h: 40, w: 37, padding: 1)
        XCTAssertGreaterThan((k.h / 4) * (k.w / 4), FusedWinogradConv2d.unitTiles)
        let fused = FusedWinogradConv2d(batch: k.n, channels: k.c, height: k.h, width: k.w, outChannels: k.o, padding: k.padding)
        XCTAssertGreaterThan(fused.filterGradientUnits, 1, "several filter-gradient partials per sample")
        for avx2 in [true, false] {
            Threads.set(1)
            let one = scaled(k, outScale: true, seed: 7, on: plan(.fused, avx2: avx2)) + plain(k, bias: true, seed: 8, on: plan(.fused, avx2: avx2))
            Threads.set(2)
            let two = scaled(k, outScale: true, seed: 7, on: plan(.fused, avx2: avx2)) + plain(k, bias: true, seed: 8, on: plan(.fused, avx2: avx2))
            XCTAssertEqual(one, two, "avx2 \(avx2)")
        }
    }

    func testFiniteDifferenceGradients() {
        let x = rand([1, 8, 17, 18], seed: 20), w = rand([8, 8, 3, 3], seed: 21)
        let s = rand([1, 8], seed: 22), d = rand([1, 8], seed: 23), r = rand([1, 8, 15, 16], seed: 24)
        XCTAssertTrue(ConvPlan.machine.usesWinograd(input: x.shape, weight: w.shape, stride: 1, padding: 0, groups: 1))
        let fused = plan(.fused)
        let f = { (x.scaledConv2d(weight: w, inScale: s, outScale: d, padding: 0, plan: fused) * r).sum() }
        let linear = GradientCheck.check([x, w], step: 0.25, maxElements: 48, f)
        XCTAssertLessThan(linear.maxError, 3e-3, linear.description)
        let scales = GradientCheck.check([s, d], step: 0.05, maxElements: 16, f)
        XCTAssertLessThan(scales.maxError, 3e-3, scales.description)
    }
}
