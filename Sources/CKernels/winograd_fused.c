// Fused Winograd F(4x4, 3x3) convolution for few channels: see winograd_fused_kernel.h (forward, input
// gradient) and winograd_fused_dw_kernel.h (filter gradient) for the tile loops, built twice by
// kernel_copies.h (AVX2+FMA and generic); each call names its copy (the Swift `ConvPlan.isa`).

#include "ckernels.h"

#define NADA_WINOGRAD_COMMON 1
#define NADA_KERNEL_BODY "winograd_fused_kernel.h"
#define NADA_KERNEL_BODY2 "winograd_fused_dw_kernel.h"
#include "kernel_copies.h"

int nada_cpu_has_avx2(void) {
#if defined(NADA_HAVE_AVX2_COPY)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

void nada_wino_conv_tiles(const nada_wino_conv *conv, const float *x, const float *u, float *y,
                          long t0, long t1, float *scratch, double *dots) {
    KDISPATCH(conv->avx2, conv_tiles, conv, x, u, y, t0, t1, scratch, dots);
}

void nada_wino_filter_gradient_tiles(const nada_wino_conv *conv, const float *x, const float *dy,
                                     long t0, long t1, float *scratch, float *du) {
    KDISPATCH(conv->avx2, filter_gradient_tiles, conv, x, dy, t0, t1, scratch, du);
}

size_t nada_wino_filter_gradient_scratch_floats(int channels, int out_channels) {
    size_t op = ((size_t)out_channels + 7) / 8 * 8;
    return 36 * (16 * (size_t)channels + 16) + 36 * (16 * op + 16) + 8 * 36 * 8 + 512;
}

size_t nada_wino_scratch_floats(int channels, int out_channels) {
    return 36 * (16 * ((size_t)channels + (size_t)out_channels) + 32) + 512;
}

// G g: 3 -> 6, in double so U is rounded to float once.
static void filter_column(double g0, double g1, double g2, double *o) {
    double even = g0 + g2, a = g0 / 24 + g2 / 6, b = g1 / 12;
    o[0] = g0 / 4; o[1] = -(even + g1) / 6; o[2] = -(even - g1) / 6; o[3] = a + b; o[4] = a - b; o[5] = g2;
}

void nada_wino_transform_filters(const float *weight, int out_channels, int in_channels, int flipped, float *u) {
    size_t plane = (size_t)out_channels * in_channels;
    for (int o = 0; o < out_channels; o++) {
        for (int c = 0; c < in_channels; c++) {
            const float *w = weight + ((size_t)o * in_channels + c) * 9;
            double g[3][3], cols[3][6], out[6];
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++)
                    g[ky][kx] = flipped ? w[(2 - ky) * 3 + (2 - kx)] : w[ky * 3 + kx];
            for (int kx = 0; kx < 3; kx++) filter_column(g[0][kx], g[1][kx], g[2][kx], cols[kx]);
            // Kernel input channel and output channel of this filter.
            size_t at = flipped ? (size_t)o * in_channels + c : (size_t)c * out_channels + o;
            for (int i = 0; i < 6; i++) {
                filter_column(cols[0][i], cols[1][i], cols[2][i], out);
                for (int j = 0; j < 6; j++) u[(6 * i + j) * plane + at] = (float)out[j];
            }
        }
    }
}
