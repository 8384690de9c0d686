// bf16 GEMM with fp32 accumulation (issue 17's `--precision bf16`) through oneDNN's matmul primitive.
//
// Why oneDNN: Debian's OpenBLAS is built without BUILD_BFLOAT16 (no cblas_sbgemm); Debian's oneDNN 2.6 runs a bf16
// matmul at 88-98 % of the vdpbf16ps peak, 2x the fp32 sgemm rate on this CPU (../shared/spec/bf16-on-this-cpu.md).
//
// Shape of a call: both inputs are rounded to bf16 into per-thread buffers (kept in their stored orientation; the
// memory descriptors' strides say which is transposed), then one matmul primitive runs on the calling thread
// (OpenMP team of 1: Engine splits large products into panels over its own threads, as it does for OpenBLAS, so
// results do not depend on the thread count). alpha is the primitive's output scale and beta a sum post-op, so C is
// read and written once. Primitives are created once per shape and kept (models have a few hundred shapes); the
// scratchpad is the caller's (per-thread buffer) so one primitive may run on several threads at once.

#include "cbf16.h"

#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

extern void omp_set_num_threads(int);

int nada_cpu_has_avx512bf16(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

// Round to nearest even, as vcvtne2ps2bf16 does: NaN stays a (quiet) NaN, denormal inputs become zero.
static inline uint16_t bf16_of(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000);
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bf16")))
static void convert(const float *src, uint16_t *dst, long n) {
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 lo = _mm512_loadu_ps(src + i), hi = _mm512_loadu_ps(src + i + 16);
        _mm512_storeu_si512((void *)(dst + i), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
    for (; i < n; i++) dst[i] = bf16_of(src[i]);
}
#else
static void convert(const float *src, uint16_t *dst, long n) {
    for (long i = 0; i < n; i++) dst[i] = bf16_of(src[i]);
}
#endif

void nada_round_to_bf16(const float *src, float *dst, long n) {
    for (long i = 0; i < n; i++) {
        uint32_t u = (uint32_t)bf16_of(src[i]) << 16;
        memcpy(dst + i, &u, 4);
    }
}

// rows x cols floats with leading dimension ld -> packed bf16.
static void pack(const float *src, long rows, long cols, long ld, uint16_t *dst) {
    if (ld == cols) { convert(src, dst, rows * cols); return; }
    for (long r = 0; r < rows; r++) convert(src + r * ld, dst + r * cols, cols);
}

static dnnl_engine_t engine;
static dnnl_status_t engine_status = dnnl_runtime_error;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static void make_engine(void) { engine_status = dnnl_engine_create(&engine, dnnl_cpu, 0); }

typedef struct {
    int trans_a, trans_b;
    long m, n, k, ldc;
    float alpha, beta;
    dnnl_primitive_t primitive;
    dnnl_memory_desc_t a_md, b_md, c_md, scratch_md;
    size_t scratch_bytes;
} plan;

// Every shape a process has used; never evicted (a running primitive must not be destroyed), and a process that
// somehow needs more runs the extra shapes with a primitive made for the one call.
#define PLAN_CAPACITY 1024
static plan plans[PLAN_CAPACITY];
static int plan_count;
static pthread_mutex_t plan_lock = PTHREAD_MUTEX_INITIALIZER;

static dnnl_status_t make_plan(plan *p) {
    dnnl_dims_t ad = {p->m, p->k}, as = {p->trans_a ? 1 : p->k, p->trans_a ? p->m : 1};
    dnnl_dims_t bd = {p->k, p->n}, bs = {p->trans_b ? 1 : p->n, p->trans_b ? p->k : 1};
    dnnl_dims_t cd = {p->m, p->n}, cs = {p->ldc, 1};
    dnnl_status_t s;
    if ((s = dnnl_memory_desc_init_by_strides(&p->a_md, 2, ad, dnnl_bf16, as)) != dnnl_success) return s;
    if ((s = dnnl_memory_desc_init_by_strides(&p->b_md, 2, bd, dnnl_bf16, bs)) != dnnl_success) return s;
    if ((s = dnnl_memory_desc_init_by_strides(&p->c_md, 2, cd, dnnl_f32, cs)) != dnnl_success) return s;
    dnnl_matmul_desc_t desc;
    if ((s = dnnl_matmul_desc_init(&desc, &p->a_md, &p->b_md, NULL, &p->c_md)) != dnnl_success) return s;
    dnnl_primitive_attr_t attr;
    if ((s = dnnl_primitive_attr_create(&attr)) != dnnl_success) return s;
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (p->alpha != 1) dnnl_primitive_attr_set_output_scales(attr, 1, 0, &p->alpha);
    if (p->beta != 0) {
        dnnl_post_ops_t ops;
        dnnl_post_ops_create(&ops);
        dnnl_post_ops_append_sum(ops, p->beta);
        dnnl_primitive_attr_set_post_ops(attr, ops);
        dnnl_post_ops_destroy(ops);
    }
    dnnl_primitive_desc_t pd;
    s = dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success) return s;
    // A reference (non-JIT) implementation would be far slower than sgemm: refuse it, the caller runs fp32.
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    if (impl == NULL || strncmp(impl, "ref", 3) == 0) { dnnl_primitive_desc_destroy(pd); return dnnl_unimplemented; }
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    p->scratch_md = *smd;
    p->scratch_bytes = dnnl_memory_desc_get_size(smd);
    s = dnnl_primitive_create(&p->primitive, pd);
    dnnl_primitive_desc_destroy(pd);
    return s;
}

// The cached plan of this shape, made on first use; *transient is set when the cache is full and the caller must
// destroy the primitive after the call.
static dnnl_status_t find_plan(const plan *key, plan *out, int *transient) {
    *transient = 0;
    pthread_mutex_lock(&plan_lock);
    for (int i = 0; i < plan_count; i++) {
        const plan *p = &plans[i];
        if (p->trans_a == key->trans_a && p->trans_b == key->trans_b && p->m == key->m && p->n == key->n &&
            p->k == key->k && p->ldc == key->ldc && p->alpha == key->alpha && p->beta == key->beta) {
            *out = *p;
            pthread_mutex_unlock(&plan_lock);
            return dnnl_success;
        }
    }
    *out = *key;
    dnnl_status_t s = make_plan(out);
    if (s == dnnl_success) {
        if (plan_count < PLAN_CAPACITY) plans[plan_count++] = *out; else *transient = 1;
    }
    pthread_mutex_unlock(&plan_lock);
    return s;
}

// Per-thread buffers: the bf16 copies of A and B, the scratchpad, and the stream. They are freed when their
// thread exits (a pthread key's destructor): libdispatch retires idle worker threads and starts new ones, and
// `--jobs` runs photos on threads of their own, so a long-lived process would otherwise keep every exited
// thread's buffers (AddressSanitizer's leak check found 4.7 MB of them and their oneDNN streams after the suite).
typedef struct {
    uint16_t *a, *b;
    size_t a_cap, b_cap;
    void *scratch;
    size_t scratch_cap;
    dnnl_stream_t stream;
    int registered;   // the key below points at this thread's buffers
} thread_buffers;
static __thread thread_buffers tb;
static pthread_key_t tb_key;
static pthread_once_t tb_key_once = PTHREAD_ONCE_INIT;
static long live_buffers;   // threads whose buffers are allocated (tests)

static void free_thread_buffers(void *value) {
    thread_buffers *t = value;
    free(t->a);
    free(t->b);
    free(t->scratch);
    if (t->stream) dnnl_stream_destroy(t->stream);
    memset(t, 0, sizeof *t);
    __atomic_sub_fetch(&live_buffers, 1, __ATOMIC_RELAXED);
}

static void make_tb_key(void) { pthread_key_create(&tb_key, free_thread_buffers); }

// Called before the thread's first allocation: arms the destructor for this thread.
static int register_thread_buffers(void) {
    if (tb.registered) return 1;
    pthread_once(&tb_key_once, make_tb_key);
    if (pthread_setspecific(tb_key, &tb) != 0) return 0;
    tb.registered = 1;
    __atomic_add_fetch(&live_buffers, 1, __ATOMIC_RELAXED);
    return 1;
}

long nada_bf16_live_thread_buffers(void) { return __atomic_load_n(&live_buffers, __ATOMIC_RELAXED); }

static int reserve(void **buffer, size_t *cap, size_t bytes) {
    if (bytes <= *cap) return 1;
    free(*buffer);
    *buffer = aligned_alloc(64, (bytes + 63) / 64 * 64);
    *cap = *buffer ? bytes : 0;
    return *buffer != NULL;
}

int nada_bf16_gemm(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                   const float *b, long ldb, float beta, float *c, long ldc) {
    pthread_once(&engine_once, make_engine);
    if (engine_status != dnnl_success) return engine_status;
    if (!register_thread_buffers()) return dnnl_out_of_memory;
    if (!tb.stream && dnnl_stream_create(&tb.stream, engine, dnnl_stream_default_flags) != dnnl_success) {
        tb.stream = NULL;
        return dnnl_runtime_error;
    }
    plan key = {.trans_a = trans_a != 0, .trans_b = trans_b != 0, .m = m, .n = n, .k = k, .ldc = ldc,
                .alpha = alpha, .beta = beta};
    plan p;
    int transient;
    dnnl_status_t s = find_plan(&key, &p, &transient);
    if (s != dnnl_success) return s;
    if (!reserve((void **)&tb.a, &tb.a_cap, (size_t)m * k * 2) || !reserve((void **)&tb.b, &tb.b_cap, (size_t)k * n * 2) ||
        !reserve(&tb.scratch, &tb.scratch_cap, p.scratch_bytes ? p.scratch_bytes : 1)) {
        if (transient) dnnl_primitive_destroy(p.primitive);
        return dnnl_out_of_memory;
    }
    pack(a, trans_a ? k : m, trans_a ? m : k, lda, tb.a);
    pack(b, trans_b ? n : k, trans_b ? k : n, ldb, tb.b);

    omp_set_num_threads(1);   // this thread's OpenMP team; Engine's panels are the parallelism
    dnnl_memory_t am = NULL, bm = NULL, cm = NULL, sm = NULL;
    s = dnnl_memory_create(&am, &p.a_md, engine, tb.a);
    if (s == dnnl_success) s = dnnl_memory_create(&bm, &p.b_md, engine, tb.b);
    if (s == dnnl_success) s = dnnl_memory_create(&cm, &p.c_md, engine, c);
    if (s == dnnl_success) s = dnnl_memory_create(&sm, &p.scratch_md, engine, tb.scratch);
    if (s == dnnl_success) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}, {DNNL_ARG_SCRATCHPAD, sm}};
        s = dnnl_primitive_execute(p.primitive, tb.stream, 4, args);
        if (s == dnnl_success) s = dnnl_stream_wait(tb.stream);
        // C may be half written: no fp32 rerun can repair that when beta != 0, so this is not a refusal.
        if (s != dnnl_success) { fprintf(stderr, "nada-edit: oneDNN bf16 matmul failed (status %d)\n", (int)s); abort(); }
    }
    if (am) dnnl_memory_destroy(am);
    if (bm) dnnl_memory_destroy(bm);
    if (cm) dnnl_memory_destroy(cm);
    if (sm) dnnl_memory_destroy(sm);
    if (transient) dnnl_primitive_destroy(p.primitive);
    return s;
}
