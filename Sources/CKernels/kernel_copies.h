// Builds vector kernels twice in the including file: once generic (SSE on the baseline x86-64 target)
// and once for AVX2+FMA, and says how a call picks its copy. Swift's SIMD8 compiles to SSE on the
// baseline target; these copies are the reason the kernels are C. Not a public header.
//
// The includer defines NADA_KERNEL_BODY (and optionally NADA_KERNEL_BODY2) as the header(s) with its
// loops; with NADA_WINOGRAD_COMMON defined, winograd_common_kernel.h (the Winograd kernels' shared
// products and shuffles) comes first in every copy (kernel_copy_body.h is one copy). KFN(name) gives each copy its own
// names (name_generic, name_avx2). Each call names its copy (the `avx2` field of the conv structs, from
// the Swift `ConvPlan.isa`): KDISPATCH(avx2, name, args...) calls name_avx2 or name_generic.

typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));

// Helpers pass vectors by value; all of them are inlined into one copy, so the -Wpsabi note (the
// by-value ABI differs with and without AVX) never applies.
#define KINLINE static inline __attribute__((always_inline))
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpsabi"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#define KCAT_(a, b) a##b
#define KCAT(a, b) KCAT_(a, b)

#define KFN(name) KCAT(name, _generic)
#include "kernel_copy_body.h"
#undef KFN

#if defined(__x86_64__) && defined(__clang__)
#define NADA_HAVE_AVX2_COPY 1
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define KFN(name) KCAT(name, _avx2)
#include "kernel_copy_body.h"
#undef KFN
#pragma clang attribute pop
#elif defined(__x86_64__) && defined(__GNUC__)
#define NADA_HAVE_AVX2_COPY 1
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define KFN(name) KCAT(name, _avx2)
#include "kernel_copy_body.h"
#undef KFN
#pragma GCC pop_options
#endif

#if defined(NADA_HAVE_AVX2_COPY)
#define KDISPATCH(avx2, name, ...) do { \
        if (avx2) name##_avx2(__VA_ARGS__); else name##_generic(__VA_ARGS__); } while (0)
#else
#define KDISPATCH(avx2, name, ...) name##_generic(__VA_ARGS__)
#endif
