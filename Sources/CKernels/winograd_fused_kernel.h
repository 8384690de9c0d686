// The fused Winograd F(4x4, 3x3) tile loop, built once per instruction set by kernel_copies.h
// (KFN(name) gives each copy its own names) after winograd_common_kernel.h, whose vector helpers and
// point-wise products it uses. Not a public header: it defines functions.
//
// For 16 tiles of one sample at a time (two 8-lane vectors) everything stays in L1/L2:
//   1. per input channel: gather the 6x6 windows, V = Bt d B, times inScale[c]  -> V [36][C][16]
//   2. per transform point xi: M[xi][o][t] = sum_c U[xi][c][o] V[xi][c][t]         -> M [36][O][16]
//      (register-blocked: accumulators for up to 6 output channels x 2 vectors, U broadcast)
//   3. per output channel: Y = At M A, dot with a second tensor (optional), * outScale[o] + bias[o],
//      written (or added) to the valid part of every 4x4 tile.
// Every output pixel belongs to exactly one tile and its arithmetic does not depend on the lane it
// ran in, so results do not depend on how callers split the tiles.

// Bt d: 6 -> 6 (the rows of Bt for points 0, +-1, +-2, inf).
#define INPUT_1D(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5) do { \
        v8 a_ = (d4) - 4 * (d2), b_ = (d3) - 4 * (d1), c_ = (d4) - (d2), e_ = 2 * ((d3) - (d1)); \
        o0 = 4 * (d0) - 5 * (d2) + (d4); o1 = a_ + b_; o2 = a_ - b_; o3 = c_ + e_; o4 = c_ - e_; \
        o5 = 4 * (d1) - 5 * (d3) + (d5); } while (0)

// At m: 6 -> 4.
#define OUTPUT_1D(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3) do { \
        v8 s12_ = (m1) + (m2), d12_ = (m1) - (m2), s34_ = (m3) + (m4), d34_ = (m3) - (m4); \
        o0 = (m0) + s12_ + s34_; o1 = d12_ + 2 * d34_; o2 = s12_ + 4 * s34_; o3 = d12_ + 8 * d34_ + (m5); } while (0)

// V = Bt d B in place: d[6r+s] window values in, d[6i+j] transformed values out.
KINLINE void KFN(input_transform)(v8 *d) {
    for (int j = 0; j < 6; j++) {
        v8 o0, o1, o2, o3, o4, o5;
        INPUT_1D(d[j], d[6 + j], d[12 + j], d[18 + j], d[24 + j], d[30 + j], o0, o1, o2, o3, o4, o5);
        d[j] = o0; d[6 + j] = o1; d[12 + j] = o2; d[18 + j] = o3; d[24 + j] = o4; d[30 + j] = o5;
    }
    for (int i = 0; i < 6; i++) {
        v8 *r = d + 6 * i, o0, o1, o2, o3, o4, o5;
        INPUT_1D(r[0], r[1], r[2], r[3], r[4], r[5], o0, o1, o2, o3, o4, o5);
        r[0] = o0; r[1] = o1; r[2] = o2; r[3] = o3; r[4] = o4; r[5] = o5;
    }
}

// Y = At M A: m[6i+j] in (overwritten), y[4r+s] out.
KINLINE void KFN(output_transform)(v8 *m, v8 *y) {
    for (int i = 0; i < 6; i++) {
        v8 *r = m + 6 * i, o0, o1, o2, o3;
        OUTPUT_1D(r[0], r[1], r[2], r[3], r[4], r[5], o0, o1, o2, o3);
        r[0] = o0; r[1] = o1; r[2] = o2; r[3] = o3;
    }
    for (int b = 0; b < 4; b++) {
        OUTPUT_1D(m[b], m[6 + b], m[12 + b], m[18 + b], m[24 + b], m[30 + b], y[b], y[4 + b], y[8 + b], y[12 + b]);
    }
}

// One window row of 8 tiles side by side: seg[4t + s] is column s of tile t (s < 6, so seg[0..34)).
// out[s] gets column s in lane order LANE_TILE.
KINLINE void KFN(gather_row)(const float *seg, v8 *out) {
    v8 a = KFN(ld)(seg), b = KFN(ld)(seg + 8), c = KFN(ld)(seg + 16), d = KFN(ld)(seg + 24);
    v8 p = UNPACKLO(a, b), q = UNPACKLO(c, d), r = UNPACKHI(a, b), s = UNPACKHI(c, d);
    v8 s0 = MOVELH(p, q), s1 = MOVEHL(p, q);
    out[0] = s0; out[1] = s1; out[2] = MOVELH(r, s); out[3] = MOVEHL(r, s);
    // Columns 4 and 5 of tile t are columns 0 and 1 of tile t + 1.
    out[4] = __builtin_shufflevector(s0, KFN(splat)(seg[32]), 4, 5, 6, 7, 1, 2, 3, 8);
    out[5] = __builtin_shufflevector(s1, KFN(splat)(seg[33]), 4, 5, 6, 7, 1, 2, 3, 8);
}

// Inverse of the first four columns of gather_row: y[s] (lane order LANE_TILE) -> seg[0..32).
KINLINE void KFN(scatter_row)(const v8 *y, v8 *seg) {
    v8 p = UNPACKLO(y[0], y[1]), q = UNPACKLO(y[2], y[3]), r = UNPACKHI(y[0], y[1]), s = UNPACKHI(y[2], y[3]);
    seg[0] = MOVELH(p, q); seg[1] = MOVEHL(p, q); seg[2] = MOVELH(r, s); seg[3] = MOVEHL(r, s);
}

// Where 8 tiles starting at tile `first` (n of them valid) sit, and whether they are one row of
// whole windows/tiles that can be moved with vector loads.
typedef struct { long oy, ox; int n, fast_in, fast_out; } KFN(group);

KINLINE KFN(group) KFN(locate)(const nada_wino_conv *k, long first, long last_tile) {
    KFN(group) g;
    long tw = (k->out_width + 3) / 4, ty = first / tw, tx = first - ty * tw;
    g.oy = 4 * ty; g.ox = 4 * tx;
    long n = last_tile - first;
    g.n = n < 0 ? 0 : (n > 8 ? 8 : (int)n);
    int row = g.n == 8 && tx + 7 < tw;
    long iy = g.oy - k->padding, ix = g.ox - k->padding;
    g.fast_in = row && iy >= 0 && iy + 6 <= k->height && ix >= 0 && ix + 28 + 6 <= k->width;
    g.fast_out = row && g.oy + 4 <= k->out_height && g.ox + 32 <= k->out_width;
    return g;
}

// The 36 window vectors of one channel plane for a group (zero outside the image and for lanes
// past the last tile).
KINLINE void KFN(gather_windows)(const nada_wino_conv *k, const KFN(group) *g, long first,
                                       const float *plane, v8 *d, float *tmp) {
    long H = k->height, W = k->width, p = k->padding;
    if (g->fast_in) {
        const float *src = plane + (g->oy - p) * W + g->ox - p;
        for (int r = 0; r < 6; r++) KFN(gather_row)(src + r * W, d + 6 * r);
        return;
    }
    long tw = (k->out_width + 3) / 4;
    for (int L = 0; L < 8; L++) {
        int t = KFN(lane_tile)[L];
        if (t >= g->n) {
            for (int e = 0; e < 36; e++) tmp[8 * e + L] = 0;
            continue;
        }
        long ti = first + t, ty = ti / tw, iy = 4 * ty - p, ix = 4 * (ti - ty * tw) - p;
        for (int r = 0; r < 6; r++) {
            long y = iy + r;
            for (int s = 0; s < 6; s++) {
                long x = ix + s;
                tmp[8 * (6 * r + s) + L] = (y >= 0 && y < H && x >= 0 && x < W) ? plane[y * W + x] : 0.0f;
            }
        }
    }
    for (int e = 0; e < 36; e++) d[e] = KFN(ld)(tmp + 8 * e);
}

// Writes (or adds) the 4x4 tiles y[16] (already scaled) of a group into one output plane; returns
// the dot of the unscaled tiles `pre` with the same pixels of `other` (0 when other is NULL).
KINLINE double KFN(scatter_tiles)(const nada_wino_conv *k, const KFN(group) *g, long first,
                                        const v8 *y, const v8 *pre, float *plane, const float *other, float *tmp) {
    long Ho = k->out_height, Wo = k->out_width;
    if (g->fast_out) {
        v8 dot = KFN(splat)(0);
        for (int r = 0; r < 4; r++) {
            long offset = (g->oy + r) * Wo + g->ox;
            if (other) {
                v8 seg[4];
                KFN(scatter_row)(pre + 4 * r, seg);
                for (int q = 0; q < 4; q++) dot += seg[q] * KFN(ld)(other + offset + 8 * q);
            }
            if (plane) {
                v8 seg[4];
                KFN(scatter_row)(y + 4 * r, seg);
                float *dst = plane + offset;
                if (k->accumulate) {
                    for (int q = 0; q < 4; q++) KFN(st)(dst + 8 * q, KFN(ld)(dst + 8 * q) + seg[q]);
                } else {
                    for (int q = 0; q < 4; q++) KFN(st)(dst + 8 * q, seg[q]);
                }
            }
        }
        return KFN(hsum)(dot);
    }
    long tw = (k->out_width + 3) / 4;
    for (int e = 0; e < 16; e++) KFN(st)(tmp + 8 * e, y[e]);
    if (other) for (int e = 0; e < 16; e++) KFN(st)(tmp + 128 + 8 * e, pre[e]);
    float dot = 0;
    for (int L = 0; L < 8; L++) {
        int t = KFN(lane_tile)[L];
        if (t >= g->n) continue;
        long ti = first + t, ty = ti / tw, oy = 4 * ty, ox = 4 * (ti - ty * tw);
        long rows = Ho - oy < 4 ? Ho - oy : 4, cols = Wo - ox < 4 ? Wo - ox : 4;
        for (long r = 0; r < rows; r++) {
            for (long s = 0; s < cols; s++) {
                long at = (oy + r) * Wo + ox + s;
                int e = 8 * (4 * (int)r + (int)s) + L;
                if (other) dot += tmp[128 + e] * other[at];
                if (plane) plane[at] = k->accumulate ? plane[at] + tmp[e] : tmp[e];
            }
        }
    }
    return dot;
}

// V[e][c][0..16) for the 16 tiles from `first` (groups g[0], g[1]): each input channel's windows
// gathered, transformed and scaled by in_scale[c]; zeros for a group with no tiles. Point stride vs.
// The first step of both the forward tile loop and the filter gradient's.
KINLINE void KFN(transform_inputs)(const nada_wino_conv *k, const KFN(group) *g, long first, const float *x,
                                   long vs, float *V, v8 *d, float *tmp) {
    long C = k->channels, HW = (long)k->height * k->width;
    for (long c = 0; c < C; c++) {
        float scale = k->in_scale ? k->in_scale[c] : 1.0f;
        for (int h = 0; h < 2; h++) {
            float *dst = V + 16 * c + 8 * h;
            if (g[h].n == 0) {
                for (int e = 0; e < 36; e++) KFN(st)(dst + vs * e, KFN(splat)(0));
                continue;
            }
            KFN(gather_windows)(k, &g[h], first + 8 * h, x + c * HW, d, tmp);
            KFN(input_transform)(d);
            v8 sv = KFN(splat)(scale);
            for (int e = 0; e < 36; e++) KFN(st)(dst + vs * e, d[e] * sv);
        }
    }
}

static void KFN(conv_tiles)(const nada_wino_conv *k, const float *x, const float *u, float *y,
                            long t0, long t1, float *scratch, double *dots) {
    long C = k->channels, O = k->out_channels;
    long HWo = (long)k->out_height * k->out_width;
    // Point strides padded by 16 floats: at 2^k channels a stride of 16 * C floats would put all 36
    // points of a tile in the same few L1 sets (the transforms touch all 36 at once). Measured 5 %.
    long vs = 16 * C + 16, ms = 16 * O + 16;
    float *V = scratch, *M = V + 36 * vs, *tmp = M + 36 * ms; // tmp: 512 floats (36 x 8 gathered, 2 x 16 x 8 scattered)
    v8 d[36], yt[16], pre[16];
    if (dots) for (long o = 0; o < O; o++) dots[o] = 0;
    for (long first = t0; first < t1; first += 16) {
        KFN(group) g[2] = {KFN(locate)(k, first, t1), KFN(locate)(k, first + 8, t1)};
        KFN(transform_inputs)(k, g, first, x, vs, V, d, tmp);
        for (int e = 0; e < 36; e++) KFN(products)(V + vs * e, u + C * O * e, C, O, M + ms * e);
        for (long o = 0; o < O; o++) {
            v8 scale = KFN(splat)(k->out_scale ? k->out_scale[o] : 1.0f);
            v8 shift = KFN(splat)(k->bias ? k->bias[o] : 0.0f);
            for (int h = 0; h < 2; h++) {
                if (g[h].n == 0) continue;
                const float *src = M + 16 * o + 8 * h;
                for (int e = 0; e < 36; e++) d[e] = KFN(ld)(src + ms * e);
                KFN(output_transform)(d, pre);
                for (int e = 0; e < 16; e++) yt[e] = pre[e] * scale + shift;
                double dot = KFN(scatter_tiles)(k, &g[h], first + 8 * h, yt, pre, y ? y + o * HWo : NULL,
                                                k->dot_with ? k->dot_with + o * HWo : NULL, tmp);
                if (dots) dots[o] += dot;
            }
        }
    }
}

