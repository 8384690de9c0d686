#ifndef NADA_CKERNELS_H
#define NADA_CKERNELS_H

#include <stddef.h>

// C code the tensor engine needs where Swift cannot say it: the process's allocator policy, and
// kernels that need vector instructions beyond the baseline target (chosen at run time).

/// Asks glibc to serve large blocks from the heap instead of fresh mmaps and to keep up to 1 GB of free
/// heap top mapped (see memory_policy.c). Returns 1 when some of the policy was applied, 0 when it was
/// left alone (not glibc, or the user set MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ themselves).
int nada_keep_large_blocks_in_heap(void);

// MARK: Element-wise activations with a vectorised exp (activations.c)
// `avx2`: 1 runs the AVX2+FMA copy (only where nada_cpu_has_avx2), 0 the generic one. Relative error of the
// exp inside about 2e-7; above 88.3 it is exp(88.3) (finite), below -87.3 it is 0, NaN stays NaN.

/// y = x·σ(1.702x) (CLIP's QuickGELU) for `count` values; y may be x.
void nada_quick_gelu(const float *x, float *y, long count, int avx2);

/// gx = g·d/dx[x·σ(1.702x)] for `count` values; gx may be g.
void nada_quick_gelu_backward(const float *x, const float *g, float *gx, long count, int avx2);

/// y = exp(x) for `count` values; y may be x.
void nada_exp(const float *x, float *y, long count, int avx2);

// MARK: Fused Winograd F(4x4, 3x3) convolution (winograd_fused.c)

/// One sample of a 3x3 stride-1 convolution (groups = 1) with optional per-channel scales:
/// y[o] = out_scale[o] * sum_c conv(x[c] * in_scale[c], w[o, c]) + bias[o], on 4x4 output tiles
/// numbered row by row ((out_width + 3) / 4 per row). Pointers may be NULL where noted.
typedef struct nada_wino_conv {
    int channels, height, width;             // input plane [channels][height][width]
    int out_channels, out_height, out_width; // out_height = height + 2 * padding - 2, same for width
    int padding;                             // >= 0
    int accumulate;                          // 1: y += result, 0: y = result
    const float *in_scale;                   // [channels] or NULL
    const float *out_scale;                  // [out_channels] or NULL
    const float *bias;                       // [out_channels] or NULL
    const float *dot_with;                   // [out_channels][out_height][out_width] or NULL (see below)
    int avx2;                                // 1: run the AVX2+FMA copy (only where nada_cpu_has_avx2), 0: generic
} nada_wino_conv;

/// Transformed filters U for `nada_wino_conv_tiles`: 36 * in * out floats, layout [36][in][out].
/// weight is [out_channels][in_channels][3][3]. With `flipped` = 1 the filters are those of the
/// input-gradient convolution instead: W'[c][o][ky][kx] = W[o][c][2-ky][2-kx], so the kernel's input
/// has out_channels channels and its output in_channels (layout [36][out_channels][in_channels]).
void nada_wino_transform_filters(const float *weight, int out_channels, int in_channels, int flipped, float *u);

/// Floats of scratch one `nada_wino_conv_tiles` call needs (one buffer per thread).
size_t nada_wino_scratch_floats(int channels, int out_channels);

/// Tiles [t0, t1) of one sample: reads x, writes (or adds into) their output pixels of y (y may be
/// NULL: only the dots). When `dots` is not NULL, dots[o] = sum over those pixels of
/// dot_with[o] * (the result before out_scale and bias), accumulated in a fixed order.
void nada_wino_conv_tiles(const nada_wino_conv *conv, const float *x, const float *u, float *y,
                          long t0, long t1, float *scratch, double *dots);

/// The filter gradient of tiles [t0, t1) of one sample, for the weight and out-scale gradients:
/// du[xi][c][o] = sum over the tiles of V[xi][c][t] * dM[xi][o][t], with V = Bt (x * in_scale) B the
/// transformed input windows and dM = A dY At the adjoint-transformed tiles of dy [out_channels]
/// [out_height][out_width] (zero outside the output). du has 36 * channels * op floats, op =
/// out_channels rounded up to a multiple of 8 (the padding columns come out 0); it is overwritten.
/// Uses conv's geometry and in_scale only. Sums run in tile order.
void nada_wino_filter_gradient_tiles(const nada_wino_conv *conv, const float *x, const float *dy,
                                     long t0, long t1, float *scratch, float *du);

/// Floats of scratch one `nada_wino_filter_gradient_tiles` call needs (one buffer per thread).
size_t nada_wino_filter_gradient_scratch_floats(int channels, int out_channels);

/// 1 when the CPU has AVX2 and FMA and the AVX2+FMA copy of the kernels was built (x86-64), else 0.
/// The caller picks the copy per call (the `avx2` field of the conv structs; the Swift `ConvPlan`):
/// nothing here is process-wide state.
int nada_cpu_has_avx2(void);

#endif

// MARK: Fused polyphase Winograd transposed convolution (winograd_polyphase.c)
// (own include guard: this section is kept at the end of the file, after the main guard)
#ifndef NADA_CKERNELS_POLY_H
#define NADA_CKERNELS_POLY_H

/// One sample of a stride-2, 3x3, unpadded transposed convolution with optional per-channel scales:
/// y[o] = out_scale[o] * sum_c convTranspose(x[c] * in_scale[c], w[o, c]), y [out_channels][2H+1][2W+1]
/// (out[2i + ky][2j + kx] += in[i][j] * w[ky][kx]). Tiles are 4x4 input tiles numbered row by row
/// (width / 4 + 1 per row, height / 4 + 1 rows); tile (ty, tx) writes output rows 8ty..8ty+7 and
/// columns 8tx..8tx+7 (clipped), so the tiles partition the output.
typedef struct nada_poly_conv {
    int channels, height, width; // input plane [channels][height][width]
    int out_channels;
    const float *in_scale;       // [channels] or NULL
    const float *out_scale;      // [out_channels] or NULL
    int avx2;                    // 1: run the AVX2+FMA copy (only where nada_cpu_has_avx2), 0: generic
} nada_poly_conv;

/// Transformed filters for `nada_poly_conv_tiles`: 36 * in * out floats, layout [36][in][out], from
/// weight [out_channels][in_channels][3][3] (the Swift `WinogradPolyphase` classes, transposed). With
/// `adjoint` = 1 those of `nada_poly_input_gradient_tiles` instead, layout [36][out][in].
void nada_poly_transform_filters(const float *weight, int out_channels, int in_channels, int adjoint, float *u);

/// Floats of scratch one `nada_poly_conv_tiles` call needs (one buffer per thread).
size_t nada_poly_scratch_floats(int channels, int out_channels);

/// Tiles [t0, t1) of one sample: reads x, writes their output pixels of y.
void nada_poly_conv_tiles(const nada_poly_conv *conv, const float *x, const float *u, float *y,
                          long t0, long t1, float *scratch);

/// Input gradient of one sample of `conv`: for gx tiles [t0, t1) (4x4 tiles of the [height][width]
/// input plane, (width + 3) / 4 per row), gx[c] += in_scale[c] * pre[c] with
/// pre[c] = sum_o conv2d_stride2(out_scale[o] * gy[o], w[o, c]) (gx may be NULL), and when `dots` is
/// not NULL dots[c] = sum over those pixels of x[c] * pre[c], in a fixed order. u: adjoint filters.
void nada_poly_input_gradient_tiles(const nada_poly_conv *conv, const float *gy, const float *u, const float *x,
                                    float *gx, long t0, long t1, float *scratch, double *dots);

/// The filter gradient of tiles [t0, t1) of one sample of `conv`, for the weight and out-scale
/// gradients: du[class][c][o] = sum over the class's points p and the tiles of V[p][c][t] * dM[p][o][t],
/// with V the forward's transformed input windows (of x * in_scale) and dM the adjoint output transform
/// of the 8x8 dY tiles (dy [out_channels][2H+1][2W+1], unscaled). du has 36 * channels * op floats,
/// op = out_channels rounded up to a multiple of 8 (padding columns come out 0); it is overwritten.
/// Uses conv's geometry and in_scale only. Sums run in tile order.
void nada_poly_filter_gradient_tiles(const nada_poly_conv *conv, const float *x, const float *dy,
                                     long t0, long t1, float *scratch, float *du);

/// Floats of scratch one `nada_poly_filter_gradient_tiles` call needs (one buffer per thread).
size_t nada_poly_filter_gradient_scratch_floats(int channels, int out_channels);

#endif
