import CBF16
import CBLAS

/// Row-major single-precision GEMM through OpenBLAS: C = alpha·op(A)·op(B) + beta·C.
/// `lda`, `ldb`, `ldc` default to the packed row lengths.
///
/// OpenBLAS itself always runs on one thread (see `Threads`); large products are split here into
/// `Threads.count` column (or row) panels, one OpenBLAS call per thread. OpenBLAS's own pool spins in
/// `sched_yield` after every call, stealing a core from the elementwise loops that follow; splitting
/// ourselves avoids that. Each element of C is computed by the same kernel over the same k-blocks
/// whatever the split, so results do not depend on the thread count.
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
                  b: UnsafePointer<Float>, ldb: Int? = nil,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
    let lda = lda ?? (transA ? m : k), ldb = ldb ?? (transB ? k : n), ldc = ldc ?? n
    let threads = Threads.count
    // Below ~4 MFLOP a second thread costs more to wake than it saves.
    guard threads > 1, m * n * k >= 1 << 21, max(m, n) >= 64 else {
        sgemmSerial(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                    b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    // Panels of C: columns when C is wide, rows when it is tall; multiples of 16 keep the kernel's
    // register blocks whole.
    let splitColumns = n >= m
    let extent = splitColumns ? n : m
    let panel = ((extent + threads - 1) / threads + 15) / 16 * 16
    let panels = (extent + panel - 1) / panel
    parallelFor(panels) { range in
        for p in range {
            let lo = p * panel, len = min(extent, lo + panel) - lo
            if splitColumns {
                sgemmSerial(transA: transA, transB: transB, m: m, n: len, k: k, alpha: alpha, a: a, lda: lda,
                            b: transB ? b + lo * ldb : b + lo, ldb: ldb, beta: beta, c: c + lo, ldc: ldc)
            } else {
                sgemmSerial(transA: transA, transB: transB, m: len, n: n, k: k, alpha: alpha,
                            a: transA ? a + lo : a + lo * lda, lda: lda, b: b, ldb: ldb, beta: beta,
                            c: c + lo * ldc, ldc: ldc)
            }
        }
    }
}

/// One OpenBLAS call on the calling thread (for loops that are already parallel).
@inline(__always)
public func sgemmSerial(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
                        b: UnsafePointer<Float>, ldb: Int? = nil,
                        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        if beta == 0 { for i in 0..<m { (c + i * (ldc ?? n)).initialize(repeating: 0, count: n) } }
        return
    }
    let lda = lda ?? (transA ? m : k), ldb = ldb ?? (transB ? k : n), ldc = ldc ?? n
    // bf16 where it pays (`Precision`); a product oneDNN refuses before writing anything runs in fp32 below.
    if Precision.bf16Pays(m: m, n: n, k: k),
       nada_bf16_gemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == 0 {
        return
    }
    Threads.ensureSerialBLAS()
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k), alpha,
                a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
}
