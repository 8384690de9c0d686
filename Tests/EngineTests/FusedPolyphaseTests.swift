import XCTest
@testable import Engine

/// The fused polyphase kernels (`FusedPolyphaseConvTranspose2d`, C) for the stride-2 transposed conv,
/// forward, input/in-scale gradients and weight/out-scale gradients, against the GEMM polyphase path and the plain im2col
/// `convTranspose2d`, in both copies of the C kernels (AVX2+FMA and generic), and for thread-count
/// invariance.
final class FusedPolyphaseTests: XCTestCase {
    enum Path { case fused, gemmPolyphase, im2col }

    struct Case { let n, c, o, h, w: Int }
    let cases = [
        Case(n: 1, c: 8, o: 12, h: 13, w: 14), // partial edge tiles in both directions, 16 tiles
        Case(n: 2, c: 12, o: 8, h: 16, w: 15), // H a multiple of 4: a last tile row of one output row
        Case(n: 2, c: 9, o: 10, h: 13, w: 70), // rows of 18 tiles: whole 8-tile rows moved as vectors; 2 units per sample
        Case(n: 1, c: 16, o: 13, h: 12, w: 12), // odd output channel count (blocks of 6 + 4 + 3)
    ]

    func rand(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor.randn(shape, using: &rng)
    }

    /// The plan that runs `path` with the chosen kernel copy (the generic one where the CPU lacks AVX2).
    func plan(_ path: Path, avx2: Bool = true) -> ConvPlan {
        ConvPlan(isa: avx2 ? .avx2 : .generic, winograd: path != .im2col, fusedPolyphaseMaxChannels: path == .fused ? 128 : 0)
    }

    /// scaledConvTranspose2d with random scales (or in-scales of one and no out-scales): the output and
    /// the gradients of sum(out · r) for x, weight, inScale (, outScale).
    func run(_ k: Case, scales: Bool, seed: UInt64, on plan: ConvPlan) -> [[Float]] {
        let x = rand([k.n, k.c, k.h, k.w], seed: seed), w = rand([k.o, k.c, 3, 3], seed: seed + 1)
        let s = scales ? rand([k.n, k.c], seed: seed + 2) : Tensor.ones([k.n, k.c])
        let d = scales ? rand([k.n, k.o], seed: seed + 3) : nil
        for t in [x, w, s] + (d.map { [$0] } ?? []) { t.requiresGrad = true }
        let out = x.scaledConvTranspose2d(weight: w, inScale: s, outScale: d, plan: plan)
        XCTAssertEqual(out.shape, [k.n, k.o, 2 * k.h + 1, 2 * k.w + 1])
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
            XCTAssertTrue(ConvPlan.machine.usesPolyphaseWinograd(input: [k.n, k.c, k.h, k.w], weight: [k.o, k.c, 3, 3]))
            let plan = WinogradTransposedConv2d(batch: k.n, channels: k.c, height: k.h, width: k.w, outChannels: k.o)
            XCTAssertTrue(plan.usesFusedKernel)
        }
        let wide = WinogradTransposedConv2d(batch: 1, channels: 512, height: 16, width: 16, outChannels: 512)
        XCTAssertFalse(wide.usesFusedKernel, "many channels stay on the GEMM path")
    }

    func testMatchesGemmPolyphaseAndIm2col() {
        for (i, k) in cases.enumerated() {
            for scales in [true, false] {
                let seed = UInt64(10 * i + (scales ? 0 : 5))
                let im2col = run(k, scales: scales, seed: seed, on: plan(.im2col))
                let gemm = run(k, scales: scales, seed: seed, on: plan(.gemmPolyphase))
                for avx2 in [true, false] {
                    let fused = run(k, scales: scales, seed: seed, on: plan(.fused, avx2: avx2))
                    let names = ["output", "x gradient", "weight gradient", "in-scale gradient", "out-scale gradient"]
                    for (j, what) in names.prefix(fused.count).enumerated() {
                        let label = "case \(i) scales \(scales) avx2 \(avx2): \(what)"
                        assertClose(fused[j], im2col[j], label + " vs im2col")
                        assertClose(fused[j], gemm[j], label + " vs GEMM polyphase")
                    }
                }
            }
        }
    }

    /// The two copies differ only in rounding (FMA), never by more than the bar.
    func testBothKernelCopiesAreUsable() throws {
        XCTAssertEqual(ConvPlan(isa: .generic).isa, .generic)
        guard ConvPlan.cpuHasAVX2 else { throw XCTSkip("this CPU has no AVX2+FMA: only the generic copy runs") }
        XCTAssertEqual(ConvPlan(isa: .avx2).isa, .avx2)
        let k = cases[2]
        let a = run(k, scales: true, seed: 3, on: plan(.fused, avx2: true))
        let b = run(k, scales: true, seed: 3, on: plan(.fused, avx2: false))
        XCTAssertNotEqual(a[0], b[0], "the AVX2 copy should use FMA, so some roundings differ")
        XCTAssertNotEqual(a[1], b[1], "the AVX2 copy of the input gradient should use FMA too")
        XCTAssertNotEqual(a[2], b[2], "the AVX2 copy of the filter gradient should use FMA too")
        for j in 0..<a.count { assertClose(a[j], b[j], "AVX2 vs generic, result \(j)") }
    }

    /// Several 64-tile work units per sample (forward and input gradient) and several filter-gradient
    /// units: 1 and 2 threads give bit-identical outputs and gradients (the in-scale gradient sums
    /// per-unit dots in unit order, the weight/out-scale gradients per-unit partial dU in unit order).
    func testSameResultsForAnyThreadCount() {
        let saved = Threads.count
        defer { Threads.set(saved) }
        let k = Case(n: 2, c: 8, o: 8, h: 37, w: 40)
        XCTAssertGreaterThan(((k.h + 3) / 4) * ((k.w + 3) / 4), FusedPolyphaseConvTranspose2d.unitTiles)
        let fused = FusedPolyphaseConvTranspose2d(batch: k.n, channels: k.c, height: k.h, width: k.w, outChannels: k.o)
        XCTAssertGreaterThan(fused.filterGradientUnits, 2)
        for avx2 in [true, false] {
            Threads.set(1)
            let one = run(k, scales: true, seed: 7, on: plan(.fused, avx2: avx2))
            Threads.set(2)
            let two = run(k, scales: true, seed: 7, on: plan(.fused, avx2: avx2))
            XCTAssertEqual(one, two, "avx2 \(avx2)")
        }
    }

    /// Only the input gradient wanted (weight and scales constant): the fused input gradient alone.
    func testInputGradientAloneMatchesIm2col() {
        let k = cases[0]
        func grad(on plan: ConvPlan) -> [Float] {
            let x = rand([k.n, k.c, k.h, k.w], seed: 40), w = rand([k.o, k.c, 3, 3], seed: 41)
            let s = rand([k.n, k.c], seed: 42), d = rand([k.n, k.o], seed: 43)
            x.requiresGrad = true
            let out = x.scaledConvTranspose2d(weight: w, inScale: s, outScale: d, plan: plan)
            (out * rand(out.shape, seed: 44)).sum().backward()
            return x.grad!.array
        }
        assertClose(grad(on: plan(.fused)), grad(on: plan(.im2col)), "x gradient alone")
    }

    /// Only the weight (and out-scale) gradients wanted: the fused filter gradient alone, batch 1 and 2,
    /// with and without scales, both kernel copies, against the GEMM polyphase path and im2col.
    func testFilterGradientsAloneMatchGemmAndIm2col() {
        for (i, k) in cases.enumerated() {
            for scales in [true, false] {
                let seed = UInt64(60 + 10 * i + (scales ? 0 : 5))
                func grads(on plan: ConvPlan) -> [[Float]] {
                    let x = rand([k.n, k.c, k.h, k.w], seed: seed), w = rand([k.o, k.c, 3, 3], seed: seed + 1)
                    let s = scales ? rand([k.n, k.c], seed: seed + 2) : Tensor.ones([k.n, k.c])
                    let d = scales ? rand([k.n, k.o], seed: seed + 3) : nil
                    w.requiresGrad = true
                    d?.requiresGrad = true
                    let out = x.scaledConvTranspose2d(weight: w, inScale: s, outScale: d, plan: plan)
                    (out * rand(out.shape, seed: seed + 4)).sum().backward()
                    XCTAssertNil(x.grad)
                    return [w.grad!.array] + (d.map { [$0.grad!.array] } ?? [])
                }
                let im2col = grads(on: plan(.im2col)), gemm = grads(on: plan(.gemmPolyphase))
                XCTAssertEqual(im2col.count, scales ? 2 : 1)
                for avx2 in [true, false] {
                    let fused = grads(on: plan(.fused, avx2: avx2))
                    for (j, what) in ["weight gradient", "out-scale gradient"].prefix(fused.count).enumerated() {
                        let label = "case \(i) scales \(scales) avx2 \(avx2): \(what)"
                        assertClose(fused[j], im2col[j], label + " vs im2col")
                        assertClose(fused[j], gemm[j], label + " vs GEMM polyphase")
                    }
                }
            }
        }
    }

    /// The kernel itself: one sample's class-wise dU from `sampleFilterGradient`, taken to the weight
    /// gradient by `WinogradPolyphase.transformWeightGradient`, is the im2col weight gradient (no
    /// out-scales), for the second sample of a batch of 2 and several units.
    func testSampleFilterGradientIsTheWeightGradient() {
        let k = Case(n: 2, c: 9, o: 11, h: 21, w: 38)
        let fused = FusedPolyphaseConvTranspose2d(batch: k.n, channels: k.c, height: k.h, width: k.w, outChannels: k.o)
        XCTAssertGreaterThan(fused.filterGradientUnits, 1)
        let x = rand([k.n, k.c, k.h, k.w], seed: 90), s = rand([k.n, k.c], seed: 91)
        let gy = rand([k.n, k.o, 2 * k.h + 1, 2 * k.w + 1], seed: 92)
        let dun = TensorStorage(uninitializedCount: 36 * k.o * k.c)
        let partials = TensorStorage(uninitializedCount: fused.filterGradientPartialFloats)
        var fusedGradient = [Float](repeating: 0, count: k.o * k.c * 9)
        x.array.withUnsafeBufferPointer { xp in
            gy.array.withUnsafeBufferPointer { gp in
                s.array.withUnsafeBufferPointer { sp in
                    fused.sampleFilterGradient(n: 1, x: xp.baseAddress!, gy: gp.baseAddress!, inScale: sp.baseAddress!,
                                              partials: partials.pointer, into: dun.pointer)
                }
            }
        }
        fusedGradient.withUnsafeMutableBufferPointer {
            WinogradPolyphase.transformWeightGradient(dun.pointer, out: k.o, in: k.c, into: $0.baseAddress!)
        }
        // Reference: sample 1 alone through im2col.
        let x1 = Tensor(shape: [1, k.c, k.h, k.w], values: Array(x.array[(k.c * k.h * k.w)...]))
        let s1 = Tensor(shape: [1, k.c], values: Array(s.array[k.c...]))
        let gy1 = Tensor(shape: [1, k.o, 2 * k.h + 1, 2 * k.w + 1], values: Array(gy.array[(k.o * (2 * k.h + 1) * (2 * k.w + 1))...]))
        let w = rand([k.o, k.c, 3, 3], seed: 93)
        w.requiresGrad = true
        (x1.scaledConvTranspose2d(weight: w, inScale: s1, outScale: nil, plan: plan(.im2col)) * gy1).sum().backward()
        assertClose(fusedGradient, w.grad!.array, "sampleFilterGradient vs im2col weight gradient")
    }

    func testFiniteDifferenceGradients() {
        let x = rand([1, 8, 13, 14], seed: 20), w = rand([8, 8, 3, 3], seed: 21)
        let s = rand([1, 8], seed: 22), d = rand([1, 8], seed: 23), r = rand([1, 8, 27, 29], seed: 24)
        XCTAssertTrue(ConvPlan.machine.usesPolyphaseWinograd(input: x.shape, weight: w.shape))
        let fused = plan(.fused)
        let f = { (x.scaledConvTranspose2d(weight: w, inScale: s, outScale: d, plan: fused) * r).sum() }
        let linear = GradientCheck.check([x, w], step: 0.25, maxElements: 48, f)
        XCTAssertLessThan(linear.maxError, 3e-3, linear.description)
        let scales = GradientCheck.check([s, d], step: 0.05, maxElements: 16, f)
        XCTAssertLessThan(scales.maxError, 3e-3, scales.description)
    }
}
