// Element-wise activations with exp, built once per instruction set by kernel_copies.h (KFN(name) gives
// each copy its own names). Not a public header: it defines functions.
//
// libm's expf is a call per element; CLIP's QuickGELU alone spent ~12 % of a ViT-B/16 forward+backward in
// it and in the per-element closure around it (perf, bf16, batch 2). Here exp runs 8 lanes at a time.

typedef int v8i __attribute__((vector_size(32)));

KINLINE v8 KFN(act_splat)(float x) { return (v8){x, x, x, x, x, x, x, x}; }

// exp(x), as Cephes' expf on x clamped to [-87.3, 88.3] (where the result is finite and normal); below
// -87.3 (and at -inf) the result is 0 (expf's denormal range flushed: a softmax's masked entries stay
// exactly 0), NaN stays NaN. Cephes' method: n = round(x·log2 e) by the 1.5·2^23 trick, r = x - n·ln 2 with ln 2 in two parts
// (Cody-Waite), e^r by its degree-7 minimax polynomial, 2^n put into the exponent bits. Relative error
// about 2e-7 (1-2 ulp), checked against libm over [-87, 88] in ActivationKernelTests.
KINLINE v8 KFN(exp8)(v8 x) {
    v8 lo = KFN(act_splat)(-87.3f), hi = KFN(act_splat)(88.3f);
    v8i under = x < lo, nan = x != x;
    v8 input = x;
    x = __builtin_elementwise_min(__builtin_elementwise_max(x, lo), hi);
    v8 shifter = KFN(act_splat)(12582912.0f); // 1.5·2^23: adding it rounds to an integer
    v8 t = x * KFN(act_splat)(1.44269504088896341f) + shifter;
    v8 n = t - shifter;
    v8 r = x - n * KFN(act_splat)(0.693359375f);
    r = r - n * KFN(act_splat)(-2.12194440e-4f);
    v8 p = KFN(act_splat)(1.9875691500e-4f);
    p = p * r + KFN(act_splat)(1.3981999507e-3f);
    p = p * r + KFN(act_splat)(8.3334519073e-3f);
    p = p * r + KFN(act_splat)(4.1665795894e-2f);
    p = p * r + KFN(act_splat)(1.6666665459e-1f);
    p = p * r + KFN(act_splat)(5.0000001201e-1f);
    p = p * (r * r) + r + KFN(act_splat)(1.0f);
    v8i bits = (__builtin_convertvector(n, v8i) + 127) << 23;
    v8 scale;
    __builtin_memcpy(&scale, &bits, sizeof scale);
    v8 y = p * scale;
    v8i yb, xb;
    __builtin_memcpy(&yb, &y, 32);
    __builtin_memcpy(&xb, &input, 32);
    yb = (yb & ~under & ~nan) | (xb & nan);
    __builtin_memcpy(&y, &yb, 32);
    return y;
}

// y[i] = body for i in [0, count), 8 values at a time: `body` is an expression of the vectors xv (from x)
// and gv (from g, which may be NULL: then gv is 0); the last count % 8 values go through zero-padded
// vectors, so nothing past the end is read or written.
#define ACT_MAP(body) do { \
        for (long i = 0; i < count; i += 8) { \
            v8 xv = {0}, gv = {0}, yv; \
            if (count - i >= 8) { \
                __builtin_memcpy(&xv, x + i, 32); \
                if (g) __builtin_memcpy(&gv, g + i, 32); \
                yv = (body); \
                __builtin_memcpy(y + i, &yv, 32); \
            } else { \
                size_t bytes = 4 * (size_t)(count - i); \
                __builtin_memcpy(&xv, x + i, bytes); \
                if (g) __builtin_memcpy(&gv, g + i, bytes); \
                yv = (body); \
                __builtin_memcpy(y + i, &yv, bytes); \
            } \
        } } while (0)

// QuickGELU (CLIP): x·σ(1.702x) = x / (1 + e^(-1.702x)).
KINLINE v8 KFN(quick_gelu8)(v8 x) {
    return x / (KFN(act_splat)(1.0f) + KFN(exp8)(x * KFN(act_splat)(-1.702f)));
}

// Its derivative times g: g·(s + 1.702·x·s·(1 - s)), s = σ(1.702x).
KINLINE v8 KFN(quick_gelu_grad8)(v8 x, v8 g) {
    v8 one = KFN(act_splat)(1.0f);
    v8 s = one / (one + KFN(exp8)(x * KFN(act_splat)(-1.702f)));
    return g * (s + KFN(act_splat)(1.702f) * x * s * (one - s));
}

static void KFN(quick_gelu)(const float *x, float *y, long count) {
    const float *g = NULL;
    ACT_MAP(KFN(quick_gelu8)(xv));
}

static void KFN(quick_gelu_backward)(const float *x, const float *g, float *y, long count) {
    ACT_MAP(KFN(quick_gelu_grad8)(xv, gv));
}

static void KFN(exp_values)(const float *x, float *y, long count) {
    const float *g = NULL;
    ACT_MAP(KFN(exp8)(xv));
}
#undef ACT_MAP
