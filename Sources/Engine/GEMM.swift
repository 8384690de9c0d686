import CBLAS

/// Row-major single-precision GEMM through OpenBLAS: C = alpha·op(A)·op(B) + beta·C.
/// `lda`, `ldb`, `ldc` default to the packed row lengths.
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
                  b: UnsafePointer<Float>, ldb: Int? = nil,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        if beta == 0 { for i in 0..<m { (c + i * (ldc ?? n)).initialize(repeating: 0, count: n) } }
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k), alpha,
                a, blasint(lda ?? (transA ? m : k)),
                b, blasint(ldb ?? (transB ? k : n)),
                beta, c, blasint(ldc ?? n))
}
