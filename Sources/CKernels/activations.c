// Element-wise activations with a vectorised exp (see activations_kernel.h), built twice like the
// Winograd kernels (AVX2+FMA and generic); each call names its copy.

#include "ckernels.h"

#define NADA_KERNEL_BODY "activations_kernel.h"
#include "kernel_copies.h"

void nada_quick_gelu(const float *x, float *y, long count, int avx2) {
    KDISPATCH(avx2, quick_gelu, x, y, count);
}

void nada_quick_gelu_backward(const float *x, const float *g, float *gx, long count, int avx2) {
    KDISPATCH(avx2, quick_gelu_backward, x, g, gx, count);
}

void nada_exp(const float *x, float *y, long count, int avx2) {
    KDISPATCH(avx2, exp_values, x, y, count);
}
