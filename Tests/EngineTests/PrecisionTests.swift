import Foundation
import CBF16
import XCTest
@testable import Engine

/// `--precision bf16` at the GEMM level: the oneDNN product must be exactly "round both inputs to bf16, multiply and
/// sum in fp32" (so its only error is the rounding the option promises), for every transpose, alpha, beta and
/// leading dimension the engine uses; small and skinny products stay fp32; fp32 is untouched.
final class PrecisionTests: XCTestCase {
    /// The bf16 tests need the instructions; testFallbackRule runs everywhere (it is what a CPU without them does).
    func requireBF16() throws {
        try XCTSkipUnless(Precision.cpuHasBF16, "this CPU has no AVX512-BF16: --precision bf16 falls back to fp32 here (testFallbackRule covers that)")
    }

    /// C = alpha·op(A)·op(B) + beta·C in float64 from `a`, `b` as given (already rounded where the test wants).
    func reference(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], lda: Int,
                   b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int) -> [Float] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let x = transA ? a[p * lda + i] : a[i * lda + p]
                    let y = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(x) * Double(y)
                }
                out[i * ldc + j] = Float(Double(alpha) * s + Double(beta) * Double(c[i * ldc + j]))
            }
        }
        return out
    }

    func rounded(_ x: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        nada_round_to_bf16(x, &out, x.count)
        return out
    }

    func testProductsEqualFP32ArithmeticOnBF16RoundedInputs() throws {
        try requireBF16()
        var rng = SeededRandom(seed: 7)
        for (transA, transB, alpha, beta, pad) in [(false, false, Float(1), Float(0), 0), (true, false, 0.5, 1, 3),
                                                   (false, true, 1, 0.25, 1), (true, true, -2, 1, 5)] {
            let m = 37, n = 45, k = 70   // odd sizes: the kernels' tails
            let lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad
            let a = (0..<(transA ? k : m) * lda).map { _ in rng.nextNormal() }
            let b = (0..<(transB ? n : k) * ldb).map { _ in rng.nextNormal() }
            let c0 = (0..<m * ldc).map { _ in rng.nextNormal() }
            var c = c0
            let status = a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                nada_bf16_gemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, ap.baseAddress, lda, bp.baseAddress, ldb, beta, cp.baseAddress, ldc)
            } } }
            XCTAssertEqual(status, 0, "oneDNN ran the product")
            let want = reference(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: rounded(a), lda: lda,
                                 b: rounded(b), ldb: ldb, beta: beta, c: c0, ldc: ldc)
            let exact = reference(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                                  b: b, ldb: ldb, beta: beta, c: c0, ldc: ldc)
            let scale = want.map(abs).max()!
            for i in 0..<m {
                for j in 0..<n {
                    // fp32 accumulation of 70 products of bf16 values: ~1e-6 of the scale.
                    XCTAssertEqual(c[i * ldc + j], want[i * ldc + j], accuracy: 2e-5 * scale, "(\(i), \(j)) \(transA) \(transB)")
                }
                for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j], "padding column \(j) of row \(i) untouched") }
            }
            // And it really is bf16: against the unrounded inputs the error is the rounding's (~2⁻⁹), far above fp32's.
            let worst = zip(c, exact).map { abs($0 - $1) }.max()!
            XCTAssertGreaterThan(worst, 1e-4 * scale, "bf16 rounding shows")
            XCTAssertLessThan(worst, 3e-2 * scale)
        }
    }

    func testRoundingIsToNearestEven() throws {
        try requireBF16()
        let x: [Float] = [1, 1 + 1.0 / 256, 1 + 3.0 / 256, 1 + 1.0 / 128 + 1.0 / 1024, -2.5, .infinity, 1e-40]
        let r = rounded(x)
        XCTAssertEqual(r[0], 1)
        XCTAssertEqual(r[1], 1, "a tie rounds to the even neighbour (1, not 1 + 2⁻⁷)")
        XCTAssertEqual(r[2], 1 + 1.0 / 64, "a tie rounds to the even neighbour (1 + 2⁻⁶)")
        XCTAssertEqual(r[3], 1 + 1.0 / 128)
        XCTAssertEqual(r[4], -2.5)
        XCTAssertEqual(r[5], .infinity)
        XCTAssertEqual(r[6], 0, "denormals become zero, as vcvtne2ps2bf16 makes them")
    }

    func testSgemmRoutesLargeProductsOnlyAndFP32IsUntouched() throws {
        try requireBF16()
        var rng = SeededRandom(seed: 3)
        func run(m: Int, n: Int, k: Int, _ precision: Precision) -> [Float] {
            let a = (0..<m * k).map { _ in rng.nextNormal() }, b = (0..<k * n).map { _ in rng.nextNormal() }
            var c = [Float](repeating: 0, count: m * n)
            Precision.with(precision) { sgemm(m: m, n: n, k: k, a: a, b: b, c: &c) }
            var fp32 = [Float](repeating: 0, count: m * n)
            sgemm(m: m, n: n, k: k, a: a, b: b, c: &fp32)
            return zip(c, fp32).map { abs($0 - $1) }
        }
        XCTAssertEqual(Precision.current, .fp32, "fp32 is the default")
        XCTAssertGreaterThan(run(m: 256, n: 256, k: 256, .bf16).max()!, 1e-3, "a 256³ product runs in bf16")
        XCTAssertEqual(run(m: 256, n: 256, k: 256, .fp32).max()!, 0, "fp32 is fp32")
        XCTAssertEqual(run(m: 4, n: 512, k: 512, .bf16).max()!, 0, "a skinny product (4 codes through a 512-wide layer) stays fp32")
        XCTAssertEqual(Precision.current, .fp32, "restored after the body")
    }

    /// Threads that ran bf16 products and exited leave nothing behind: their buffers and oneDNN stream are freed
    /// at thread exit (libdispatch retires idle workers; `--jobs` starts threads of its own).
    func testBuffersOfExitedThreadsAreFreed() throws {
        try requireBF16()
        let m = 64, n = 64, k = 64
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
        let before = nada_bf16_live_thread_buffers()
        final class Results: @unchecked Sendable {   // written under `lock` by the threads
            var values = [[Float]](repeating: [], count: 4)
            let lock = NSLock()
        }
        let done = DispatchGroup(), results = Results()
        for t in 0..<4 {
            done.enter()
            let thread = Thread {
                var c = [Float](repeating: 0, count: m * n)
                let status = nada_bf16_gemm(0, 0, m, n, k, 1, a, k, b, n, 0, &c, n)
                results.lock.lock(); results.values[t] = status == 0 ? c : []; results.lock.unlock()
                done.leave()
            }
            thread.start()
        }
        done.wait()
        for (t, c) in results.values.enumerated() { XCTAssertEqual(c, [Float](repeating: 8, count: m * n), "thread \(t)") }
        // The threads have signalled; give them a moment to finish exiting (the destructors run at exit).
        let deadline = Date().addingTimeInterval(5)
        while nada_bf16_live_thread_buffers() != before && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(nada_bf16_live_thread_buffers(), before, "buffers of exited threads still allocated")
    }

    func testFallbackRule() {
        XCTAssertEqual(Precision.with(.bf16) { Precision.current }, Precision.cpuHasBF16 ? .bf16 : .fp32)
    }
}
