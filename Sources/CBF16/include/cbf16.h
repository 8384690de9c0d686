#ifndef NADA_CBF16_H
#define NADA_CBF16_H

// bf16 GEMM with fp32 accumulation through oneDNN (Debian's libdnnl; Debian's OpenBLAS has no sbgemm), for
// CPUs with AVX512-BF16. See bf16_gemm.c.

#ifdef __cplusplus
extern "C" {
#endif

// 1 when this CPU has AVX512-BF16 (vcvtne2ps2bf16, vdpbf16ps) and AVX512F.
int nada_cpu_has_avx512bf16(void);

// Row-major C = alpha * op(A) * op(B) + beta * C with op(A), op(B) rounded to bf16 (round to nearest even) and
// products summed in fp32, on the calling thread only. A is m x k (k x m stored when trans_a), B k x n (n x k when
// trans_b), leading dimensions as in cblas_sgemm. Returns 0, or a oneDNN status when the library refuses the
// product before anything is written (no JIT kernel for it, no memory): the caller then runs it in fp32. A failure
// while running (C half written) aborts the process with a message.
int nada_bf16_gemm(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                   const float *b, long ldb, float beta, float *c, long ldc);

// How many threads hold bf16 GEMM buffers (copies of A and B, scratchpad, oneDNN stream) right now; each thread's
// are freed when it exits. For tests.
long nada_bf16_live_thread_buffers(void);

// fp32 -> bf16 -> fp32 of n values (round to nearest even): what the GEMM's inputs become. For tests.
void nada_round_to_bf16(const float *src, float *dst, long n);

#ifdef __cplusplus
}
#endif

#endif
