// Fused polyphase Winograd kernel for the stride-2, 3x3 transposed convolution (StyleGAN2's
// upsampling conv): see winograd_polyphase_kernel.h for the tile loop. Built twice like
// winograd_fused.c (AVX2+FMA and generic); each call names its copy (`conv->avx2`).

#include "ckernels.h"

#define NADA_WINOGRAD_COMMON 1
#define NADA_KERNEL_BODY "winograd_polyphase_kernel.h"
#include "kernel_copies.h"

void nada_poly_conv_tiles(const nada_poly_conv *conv, const float *x, const float *u, float *y,
                          long t0, long t1, float *scratch) {
    KDISPATCH(conv->avx2, poly_tiles, conv, x, u, y, t0, t1, scratch);
}

void nada_poly_input_gradient_tiles(const nada_poly_conv *conv, const float *gy, const float *u, const float *x,
                                    float *gx, long t0, long t1, float *scratch, double *dots) {
    KDISPATCH(conv->avx2, poly_input_gradient_tiles, conv, gy, u, x, gx, t0, t1, scratch, dots);
}

void nada_poly_filter_gradient_tiles(const nada_poly_conv *conv, const float *x, const float *dy,
                                     long t0, long t1, float *scratch, float *du) {
    KDISPATCH(conv->avx2, poly_filter_gradient_tiles, conv, x, dy, t0, t1, scratch, du);
}

size_t nada_poly_filter_gradient_scratch_floats(int channels, int out_channels) {
    size_t op = ((size_t)out_channels + 7) / 8 * 8;
    return 81 * (16 * (size_t)channels + 16) + 81 * (16 * op + 16) + 8 * 81 * 8 + 512;
}

size_t nada_poly_scratch_floats(int channels, int out_channels) {
    return 81 * (16 * ((size_t)channels + (size_t)out_channels) + 32) + 1024;
}

// The Swift `WinogradPolyphase.filterColumn`: taps (w0, w1, w2) -> 6 classes, in double.
static void poly_filter_column(double w0, double w1, double w2, double *o) {
    o[0] = w2 * 0.5; o[1] = (w2 + w0) * 0.5; o[2] = (w2 - w0) / 6; o[3] = w2 / 6 + w0 / 3; o[4] = w0; o[5] = w1;
}

void nada_poly_transform_filters(const float *weight, int out_channels, int in_channels, int adjoint, float *u) {
    size_t plane = (size_t)out_channels * in_channels;
    for (int o = 0; o < out_channels; o++) {
        for (int c = 0; c < in_channels; c++) {
            const float *w = weight + ((size_t)o * in_channels + c) * 9;
            double cols[3][6], out[6];
            // Vertical taps first (w[ky][kx], ky = 0, 1, 2), then horizontal: class 6 alpha + beta.
            // The adjoint's F(4, 2) correlates with (w0, w2) instead of (w2, w0): taps swapped.
            int lo = adjoint ? 2 : 0, hi = 2 - lo;
            for (int kx = 0; kx < 3; kx++) poly_filter_column(w[3 * lo + kx], w[3 + kx], w[3 * hi + kx], cols[kx]);
            size_t at = adjoint ? (size_t)o * in_channels + c : (size_t)c * out_channels + o;
            for (int alpha = 0; alpha < 6; alpha++) {
                poly_filter_column(cols[lo][alpha], cols[1][alpha], cols[hi][alpha], out);
                for (int beta = 0; beta < 6; beta++) u[(6 * alpha + beta) * plane + at] = (float)out[beta];
            }
        }
    }
}
