// The fused polyphase Winograd tile loop for the stride-2, 3x3, unpadded transposed convolution
// (output 2H+1), built once per instruction set by kernel_copies.h (KFN(name) gives each copy its own
// names) after winograd_common_kernel.h, whose vector helpers and point-wise products it shares with
// the stride-1 kernel. Not a public header.
//
// The scheme is the Swift `WinogradPolyphase` one: a 4x4 input tile at (y0, x0) reads the 5x5 window
// in[y0-1 .. y0+3][x0-1 .. x0+3] (zero outside) and gives the 8x8 output tile at (2y0, 2x0). In one
// dimension the 5 window values map to 9 points (F(4, 2)'s Bt for the even phase, then d1..d4 for the
// odd phase); point (a, b) uses the filter of class 6 min(a, 5) + min(b, 5). The output tiles
// partition the output (clipped at its 2H+1 edge), so every output pixel is written by one tile.
//
// For 16 tiles of one sample at a time (two 8-lane vectors):
//   1. per input channel: gather the windows, 81 points, times inScale[c]     -> V [81][C][16]
//   2. per point p: M[p][o][t] = sum_c U[class(p)][c][o] V[p][c][t]              -> M [81][O][16]
//   3. per output channel: the 8x8 output transform, times outScale[o], written to the tiles.

// 5 window values -> 9 points (F(4, 2)'s Bt d, then d1..d4), the Swift `inputRow`.
#define POLY_INPUT_1D(d0, d1, d2, d3, d4, o0, o1, o2, o3, o4, o5, o6, o7, o8) do { \
        o0 = 2 * (d0) - (d1) - 2 * (d2) + (d3); o1 = 2 * (d1) + (d2) - (d3); \
        o2 = 3 * (d2) - 2 * (d1) - (d3); o3 = (d3) - (d1); o4 = 2 * (d1) - (d2) - 2 * (d3) + (d4); \
        o5 = (d1); o6 = (d2); o7 = (d3); o8 = (d4); } while (0)

// 9 products -> 8 outputs in output order (even, odd, ...), the Swift `outputRow`.
#define POLY_OUTPUT_1D(p0, p1, p2, p3, p4, p5, p6, p7, p8, o0, o1, o2, o3, o4, o5, o6, o7) do { \
        v8 sum_ = (p1) + (p2), diff_ = (p1) - (p2); \
        o0 = (p0) + sum_ + (p3); o1 = (p5); o2 = diff_ + 2 * (p3); o3 = (p6); \
        o4 = sum_ + 4 * (p3); o5 = (p7); o6 = diff_ + 8 * (p3) + (p4); o7 = (p8); } while (0)

// d[5r+s] window -> v[9a+b] points; columns first (as the Swift transform), t: 45 vectors.
KINLINE void KFN(poly_input_transform)(const v8 *d, v8 *t, v8 *v) {
    for (int s = 0; s < 5; s++) {
        POLY_INPUT_1D(d[s], d[5 + s], d[10 + s], d[15 + s], d[20 + s],
                      t[s], t[5 + s], t[10 + s], t[15 + s], t[20 + s], t[25 + s], t[30 + s], t[35 + s], t[40 + s]);
    }
    for (int a = 0; a < 9; a++) {
        const v8 *r = t + 5 * a;
        v8 *o = v + 9 * a;
        POLY_INPUT_1D(r[0], r[1], r[2], r[3], r[4], o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8]);
    }
}

// m[9a+b] products -> y[8r+s] output tile; rows first (as the Swift transform), t: 72 vectors.
KINLINE void KFN(poly_output_transform)(const v8 *m, v8 *t, v8 *y) {
    for (int a = 0; a < 9; a++) {
        const v8 *p = m + 9 * a;
        v8 *o = t + 8 * a;
        POLY_OUTPUT_1D(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]);
    }
    for (int s = 0; s < 8; s++) {
        POLY_OUTPUT_1D(t[s], t[8 + s], t[16 + s], t[24 + s], t[32 + s], t[40 + s], t[48 + s], t[56 + s], t[64 + s],
                       y[s], y[8 + s], y[16 + s], y[24 + s], y[32 + s], y[40 + s], y[48 + s], y[56 + s]);
    }
}

// One window row of 8 tiles side by side: seg[4t + s] is column s of tile t (s < 5, so seg[0..33)).
// out[s] gets column s in lane order LANE_TILE.
KINLINE void KFN(poly_gather_row)(const float *seg, v8 *out) {
    v8 a = KFN(ld)(seg), b = KFN(ld)(seg + 8), c = KFN(ld)(seg + 16), d = KFN(ld)(seg + 24);
    v8 p = UNPACKLO(a, b), q = UNPACKLO(c, d), r = UNPACKHI(a, b), s = UNPACKHI(c, d);
    v8 s0 = MOVELH(p, q);
    out[0] = s0; out[1] = MOVEHL(p, q); out[2] = MOVELH(r, s); out[3] = MOVEHL(r, s);
    // Column 4 of tile t is column 0 of tile t + 1.
    out[4] = __builtin_shufflevector(s0, KFN(splat)(seg[32]), 4, 5, 6, 7, 1, 2, 3, 8);
}

// y[s] = column s of 8 output tiles (lane L: tile LANE_TILE[L]) -> one output row segment of 64
// floats: an 8x8 transpose whose result vector j is tile LANE_TILE[j]'s row.
KINLINE void KFN(poly_scatter_row)(const v8 *y, float *seg) {
    v8 t0 = UNPACKLO(y[0], y[1]), t1 = UNPACKHI(y[0], y[1]), t2 = UNPACKLO(y[2], y[3]), t3 = UNPACKHI(y[2], y[3]);
    v8 t4 = UNPACKLO(y[4], y[5]), t5 = UNPACKHI(y[4], y[5]), t6 = UNPACKLO(y[6], y[7]), t7 = UNPACKHI(y[6], y[7]);
    v8 u0 = MOVELH(t0, t2), u1 = MOVEHL(t0, t2), u2 = MOVELH(t1, t3), u3 = MOVEHL(t1, t3);
    v8 u4 = MOVELH(t4, t6), u5 = MOVEHL(t4, t6), u6 = MOVELH(t5, t7), u7 = MOVEHL(t5, t7);
    // Result j (lane j of every y[s]) is tile LANE_TILE[j]: lanes 0-7 are tiles 0 2 4 6 1 3 5 7.
    KFN(st)(seg + 8 * 0, LOW128(u0, u4));
    KFN(st)(seg + 8 * 2, LOW128(u1, u5));
    KFN(st)(seg + 8 * 4, LOW128(u2, u6));
    KFN(st)(seg + 8 * 6, LOW128(u3, u7));
    KFN(st)(seg + 8 * 1, HIGH128(u0, u4));
    KFN(st)(seg + 8 * 3, HIGH128(u1, u5));
    KFN(st)(seg + 8 * 5, HIGH128(u2, u6));
    KFN(st)(seg + 8 * 7, HIGH128(u3, u7));
}

// Where 8 tiles starting at tile `first` (n of them valid) sit, and whether they are one row of
// whole windows/tiles that can be moved with vector loads and stores.
typedef struct { long y0, x0; int n, fast_in, fast_out; } KFN(poly_group);

KINLINE KFN(poly_group) KFN(poly_locate)(const nada_poly_conv *k, long first, long last_tile) {
    KFN(poly_group) g;
    long tw = k->width / 4 + 1, ty = first / tw, tx = first - ty * tw;
    g.y0 = 4 * ty; g.x0 = 4 * tx;
    long n = last_tile - first;
    g.n = n < 0 ? 0 : (n > 8 ? 8 : (int)n);
    int row = g.n == 8 && tx + 7 < tw;
    long Ho = 2L * k->height + 1, Wo = 2L * k->width + 1;
    g.fast_in = row && g.y0 >= 1 && g.y0 + 4 <= k->height && g.x0 >= 1 && g.x0 - 1 + 33 <= k->width;
    g.fast_out = row && 2 * g.y0 + 8 <= Ho && 2 * g.x0 + 64 <= Wo;
    return g;
}

// The 25 window vectors of one channel plane for a group (zero outside the image and for lanes past
// the last tile).
KINLINE void KFN(poly_gather_windows)(const nada_poly_conv *k, const KFN(poly_group) *g, long first,
                                        const float *plane, v8 *d, float *tmp) {
    long H = k->height, W = k->width;
    if (g->fast_in) {
        const float *src = plane + (g->y0 - 1) * W + g->x0 - 1;
        for (int r = 0; r < 5; r++) KFN(poly_gather_row)(src + r * W, d + 5 * r);
        return;
    }
    long tw = W / 4 + 1;
    for (int L = 0; L < 8; L++) {
        int t = KFN(lane_tile)[L];
        if (t >= g->n) {
            for (int e = 0; e < 25; e++) tmp[8 * e + L] = 0;
            continue;
        }
        long ti = first + t, ty = ti / tw, iy = 4 * ty - 1, ix = 4 * (ti - ty * tw) - 1;
        for (int r = 0; r < 5; r++) {
            long y = iy + r;
            for (int s = 0; s < 5; s++) {
                long x = ix + s;
                tmp[8 * (5 * r + s) + L] = (y >= 0 && y < H && x >= 0 && x < W) ? plane[y * W + x] : 0.0f;
            }
        }
    }
    for (int e = 0; e < 25; e++) d[e] = KFN(ld)(tmp + 8 * e);
}

// Writes the 8x8 tiles y[64] (already scaled) of a group into one output plane.
KINLINE void KFN(poly_scatter_tiles)(const nada_poly_conv *k, const KFN(poly_group) *g, long first,
                                       const v8 *y, float *plane, float *tmp) {
    long Ho = 2L * k->height + 1, Wo = 2L * k->width + 1;
    if (g->fast_out) {
        for (int r = 0; r < 8; r++) KFN(poly_scatter_row)(y + 8 * r, plane + (2 * g->y0 + r) * Wo + 2 * g->x0);
        return;
    }
    long tw = k->width / 4 + 1;
    for (int e = 0; e < 64; e++) KFN(st)(tmp + 8 * e, y[e]);
    for (int L = 0; L < 8; L++) {
        int t = KFN(lane_tile)[L];
        if (t >= g->n) continue;
        long ti = first + t, ty = ti / tw, oy = 8 * ty, ox = 8 * (ti - ty * tw);
        long rows = Ho - oy < 8 ? Ho - oy : 8, cols = Wo - ox < 8 ? Wo - ox : 8;
        for (long r = 0; r < rows; r++) {
            float *dst = plane + (oy + r) * Wo + ox;
            for (long s = 0; s < cols; s++) dst[s] = tmp[8 * (8 * (int)r + (int)s) + L];
        }
    }
}

// The filter class of point p = 9a + b.
KINLINE int KFN(poly_class)(int p) {
    int a = p / 9, b = p - 9 * (p / 9);
    return 6 * (a < 5 ? a : 5) + (b < 5 ? b : 5);
}

// V[p][c][0..16) for the 16 tiles from `first` (groups g[0], g[1]): each input channel's 5x5 windows
// gathered, taken to the 81 points and scaled by in_scale[c]; zeros for a group with no tiles. Point
// stride vs; yt, t, d and tmp are the caller's scratch. The first step of both the forward tile loop and
// the filter gradient's.
KINLINE void KFN(poly_transform_inputs)(const nada_poly_conv *k, const KFN(poly_group) *g, long first, const float *x,
                                        long vs, float *V, v8 *yt, v8 *t, v8 *d, float *tmp) {
    long C = k->channels, HW = (long)k->height * k->width;
    for (long c = 0; c < C; c++) {
        float scale = k->in_scale ? k->in_scale[c] : 1.0f;
        for (int h = 0; h < 2; h++) {
            float *dst = V + 16 * c + 8 * h;
            if (g[h].n == 0) {
                for (int e = 0; e < 81; e++) KFN(st)(dst + vs * e, KFN(splat)(0));
                continue;
            }
            KFN(poly_gather_windows)(k, &g[h], first + 8 * h, x + c * HW, yt, tmp);
            KFN(poly_input_transform)(yt, t, d);
            v8 sv = KFN(splat)(scale);
            for (int e = 0; e < 81; e++) KFN(st)(dst + vs * e, d[e] * sv);
        }
    }
}

static void KFN(poly_tiles)(const nada_poly_conv *k, const float *x, const float *u, float *y,
                            long t0, long t1, float *scratch) {
    long C = k->channels, O = k->out_channels;
    long HWo = (2L * k->height + 1) * (2L * k->width + 1);
    // Point strides padded by 16 floats (L1 set conflicts at 2^k channels, as in winograd_fused).
    long vs = 16 * C + 16, ms = 16 * O + 16;
    float *V = scratch, *M = V + 81 * vs, *tmp = M + 81 * ms; // tmp: 64 x 8 floats
    v8 d[81], t[72], yt[64];
    for (long first = t0; first < t1; first += 16) {
        KFN(poly_group) g[2] = {KFN(poly_locate)(k, first, t1), KFN(poly_locate)(k, first + 8, t1)};
        KFN(poly_transform_inputs)(k, g, first, x, vs, V, yt, t, d, tmp);
        for (int e = 0; e < 81; e++) KFN(products)(V + vs * e, u + C * O * KFN(poly_class)(e), C, O, M + ms * e);
        for (long o = 0; o < O; o++) {
            v8 scale = KFN(splat)(k->out_scale ? k->out_scale[o] : 1.0f);
            for (int h = 0; h < 2; h++) {
                if (g[h].n == 0) continue;
                const float *src = M + 16 * o + 8 * h;
                for (int e = 0; e < 81; e++) d[e] = KFN(ld)(src + ms * e);
                KFN(poly_output_transform)(d, t, yt);
                if (k->out_scale) for (int e = 0; e < 64; e++) yt[e] *= scale;
                KFN(poly_scatter_tiles)(k, &g[h], first + 8 * h, yt, y + o * HWo, tmp);
            }
        }
    }
}

// MARK: Input gradient: the adjoint, a stride-2 3x3 conv of g = out_scale * dY
//
// gx[i] = sum_k g[2i + k] w[k] in one dimension: for a 4-value tile at i0 and the 9 values
// e = g[2i0 .. 2i0 + 8], the even samples (e0, e2, e4, e6, e8) give the 2-tap correlation
// e_{2m} w0 + e_{2m+2} w2 by F(4, 2) (the forward's Bt, classes G (w0, w2)) and the odd samples add
// e_{2m+1} w1 directly: 9 window values -> 9 points -> 4 outputs, 81 points per 4x4 tile in the same
// 36 classes. gx tiles (4x4, (W + 3) / 4 per row) partition gx: each pixel is written by one tile.

// 9 window values -> 9 points: Bt on the even samples, then the odd ones.
#define POLY_ADJ_INPUT_1D(g0, g1, g2, g3, g4, g5, g6, g7, g8, o0, o1, o2, o3, o4, o5, o6, o7, o8) do { \
        v8 e0_ = (g0), e1_ = (g2), e2_ = (g4), e3_ = (g6), e4_ = (g8); \
        o5 = (g1); o6 = (g3); o7 = (g5); o8 = (g7); \
        POLY_INPUT_1D(e0_, e1_, e2_, e3_, e4_, o0, o1, o2, o3, o4, e0_, e0_, e0_, e0_); } while (0)

// 9 products -> 4 outputs: F(4, 2)'s At on the even points plus the odd ones.
#define POLY_ADJ_OUTPUT_1D(p0, p1, p2, p3, p4, p5, p6, p7, p8, o0, o1, o2, o3) do { \
        v8 sum_ = (p1) + (p2), diff_ = (p1) - (p2); \
        o0 = (p0) + sum_ + (p3) + (p5); o1 = diff_ + 2 * (p3) + (p6); \
        o2 = sum_ + 4 * (p3) + (p7); o3 = diff_ + 8 * (p3) + (p4) + (p8); } while (0)

// d[9r+s] window -> v[9a+b] points; columns first. t: 81 vectors.
KINLINE void KFN(poly_adj_input_transform)(const v8 *d, v8 *t, v8 *v) {
    for (int s = 0; s < 9; s++) {
        const v8 *c = d + s;
        v8 *o = t + s;
        POLY_ADJ_INPUT_1D(c[0], c[9], c[18], c[27], c[36], c[45], c[54], c[63], c[72],
                          o[0], o[9], o[18], o[27], o[36], o[45], o[54], o[63], o[72]);
    }
    for (int a = 0; a < 9; a++) {
        const v8 *r = t + 9 * a;
        v8 *o = v + 9 * a;
        POLY_ADJ_INPUT_1D(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                          o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8]);
    }
}

// m[9a+b] products -> y[4r+s] gx tile; rows first. t: 36 vectors.
KINLINE void KFN(poly_adj_output_transform)(const v8 *m, v8 *t, v8 *y) {
    for (int a = 0; a < 9; a++) {
        const v8 *p = m + 9 * a;
        v8 *o = t + 4 * a;
        POLY_ADJ_OUTPUT_1D(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], o[0], o[1], o[2], o[3]);
    }
    for (int s = 0; s < 4; s++) {
        POLY_ADJ_OUTPUT_1D(t[s], t[4 + s], t[8 + s], t[12 + s], t[16 + s], t[20 + s], t[24 + s], t[28 + s], t[32 + s],
                           y[s], y[4 + s], y[8 + s], y[12 + s]);
    }
}

// One window row of 8 tiles side by side: seg[8t + s] is column s of tile t (s < 9, so seg[0..65)).
// out[s] gets column s in lane order LANE_TILE: the transpose of scatter_row, then column 8 of tile t
// is column 0 of tile t + 1.
KINLINE void KFN(poly_adj_gather_row)(const float *seg, v8 *out) {
    // Rows of the 8x8 block in lane order: lane j is tile LANE_TILE[j].
    v8 r[8];
    for (int j = 0; j < 8; j++) r[j] = KFN(ld)(seg + 8 * KFN(lane_tile)[j]);
    v8 t0 = UNPACKLO(r[0], r[1]), t1 = UNPACKHI(r[0], r[1]), t2 = UNPACKLO(r[2], r[3]), t3 = UNPACKHI(r[2], r[3]);
    v8 t4 = UNPACKLO(r[4], r[5]), t5 = UNPACKHI(r[4], r[5]), t6 = UNPACKLO(r[6], r[7]), t7 = UNPACKHI(r[6], r[7]);
    v8 u0 = MOVELH(t0, t2), u1 = MOVEHL(t0, t2), u2 = MOVELH(t1, t3), u3 = MOVEHL(t1, t3);
    v8 u4 = MOVELH(t4, t6), u5 = MOVEHL(t4, t6), u6 = MOVELH(t5, t7), u7 = MOVEHL(t5, t7);
    out[0] = LOW128(u0, u4); out[1] = LOW128(u1, u5); out[2] = LOW128(u2, u6); out[3] = LOW128(u3, u7);
    out[4] = HIGH128(u0, u4); out[5] = HIGH128(u1, u5); out[6] = HIGH128(u2, u6); out[7] = HIGH128(u3, u7);
    // Lanes 0-3 hold tiles 0 2 4 6, lanes 4-7 tiles 1 3 5 7: column 8 of tile t = column 0 of t + 1.
    out[8] = __builtin_shufflevector(out[0], KFN(splat)(seg[64]), 4, 5, 6, 7, 1, 2, 3, 8);
}

// 4x4 gx tiles y[s] (lane order LANE_TILE) -> one gx row segment seg[0..32): inverse of the first four
// columns of gather_row.
KINLINE void KFN(poly_adj_scatter_row)(const v8 *y, v8 *seg) {
    v8 p = UNPACKLO(y[0], y[1]), q = UNPACKLO(y[2], y[3]), r = UNPACKHI(y[0], y[1]), s = UNPACKHI(y[2], y[3]);
    seg[0] = MOVELH(p, q); seg[1] = MOVEHL(p, q); seg[2] = MOVELH(r, s); seg[3] = MOVEHL(r, s);
}

KINLINE KFN(poly_group) KFN(poly_adj_locate)(const nada_poly_conv *k, long first, long last_tile) {
    KFN(poly_group) g;
    long tw = (k->width + 3) / 4, ty = first / tw, tx = first - ty * tw;
    g.y0 = 4 * ty; g.x0 = 4 * tx;
    long n = last_tile - first;
    g.n = n < 0 ? 0 : (n > 8 ? 8 : (int)n);
    int row = g.n == 8 && tx + 7 < tw;
    long Ho = 2L * k->height + 1, Wo = 2L * k->width + 1;
    g.fast_in = row && 2 * g.y0 + 9 <= Ho && 2 * g.x0 + 65 <= Wo;
    g.fast_out = row && g.y0 + 4 <= k->height && g.x0 + 32 <= k->width;
    return g;
}

KINLINE void KFN(poly_adj_gather_windows)(const nada_poly_conv *k, const KFN(poly_group) *g, long first,
                                            const float *plane, v8 *d, float *tmp) {
    long Ho = 2L * k->height + 1, Wo = 2L * k->width + 1;
    if (g->fast_in) {
        const float *src = plane + 2 * g->y0 * Wo + 2 * g->x0;
        for (int r = 0; r < 9; r++) KFN(poly_adj_gather_row)(src + r * Wo, d + 9 * r);
        return;
    }
    long tw = (k->width + 3) / 4;
    for (int L = 0; L < 8; L++) {
        int t = KFN(lane_tile)[L];
        if (t >= g->n) {
            for (int e = 0; e < 81; e++) tmp[8 * e + L] = 0;
            continue;
        }
        long ti = first + t, ty = ti / tw, oy = 8 * ty, ox = 8 * (ti - ty * tw);
        for (int r = 0; r < 9; r++) {
            long y = oy + r;
            for (int s = 0; s < 9; s++) {
                long x = ox + s;
                tmp[8 * (9 * r + s) + L] = (y < Ho && x < Wo) ? plane[y * Wo + x] : 0.0f;
            }
        }
    }
    for (int e = 0; e < 81; e++) d[e] = KFN(ld)(tmp + 8 * e);
}

// Adds the gx tiles y[16] (already scaled) of a group into one gx plane (when plane is not NULL);
// returns the dot of the unscaled tiles `pre` with the same pixels of `other` (0 when NULL).
KINLINE double KFN(poly_adj_scatter_tiles)(const nada_poly_conv *k, const KFN(poly_group) *g, long first,
                                             const v8 *y, const v8 *pre, float *plane, const float *other, float *tmp) {
    long H = k->height, W = k->width;
    if (g->fast_out) {
        v8 dot = KFN(splat)(0);
        for (int r = 0; r < 4; r++) {
            long offset = (g->y0 + r) * W + g->x0;
            v8 seg[4];
            if (other) {
                KFN(poly_adj_scatter_row)(pre + 4 * r, seg);
                for (int q = 0; q < 4; q++) dot += seg[q] * KFN(ld)(other + offset + 8 * q);
            }
            if (plane) {
                KFN(poly_adj_scatter_row)(y + 4 * r, seg);
                for (int q = 0; q < 4; q++) KFN(st)(plane + offset + 8 * q, KFN(ld)(plane + offset + 8 * q) + seg[q]);
            }
        }
        return KFN(hsum)(dot);
    }
    long tw = (W + 3) / 4;
    for (int e = 0; e < 16; e++) KFN(st)(tmp + 8 * e, y[e]);
    for (int e = 0; e < 16; e++) KFN(st)(tmp + 128 + 8 * e, pre[e]);
    float dot = 0;
    for (int L = 0; L < 8; L++) {
        int t = KFN(lane_tile)[L];
        if (t >= g->n) continue;
        long ti = first + t, ty = ti / tw, iy = 4 * ty, ix = 4 * (ti - ty * tw);
        long rows = H - iy < 4 ? H - iy : 4, cols = W - ix < 4 ? W - ix : 4;
        for (long r = 0; r < rows; r++) {
            for (long s = 0; s < cols; s++) {
                long at = (iy + r) * W + ix + s;
                int e = 8 * (4 * (int)r + (int)s) + L;
                if (other) dot += tmp[128 + e] * other[at];
                if (plane) plane[at] += tmp[e];
            }
        }
    }
    return dot;
}

// gx tiles [t0, t1): the forward's roles swapped (reads gy [O][2H+1][2W+1], U' [36][O][C]).
static void KFN(poly_input_gradient_tiles)(const nada_poly_conv *k, const float *gy, const float *u, const float *x,
                                           float *gx, long t0, long t1, float *scratch, double *dots) {
    long C = k->channels, O = k->out_channels, HW = (long)k->height * k->width;
    long HWo = (2L * k->height + 1) * (2L * k->width + 1);
    long vs = 16 * O + 16, ms = 16 * C + 16;
    float *V = scratch, *M = V + 81 * vs, *tmp = M + 81 * ms; // tmp: 81 x 8 floats (1024 in the scratch)
    v8 d[81], t[81], w[81], yt[16], pre[16];
    if (dots) for (long c = 0; c < C; c++) dots[c] = 0;
    for (long first = t0; first < t1; first += 16) {
        KFN(poly_group) g[2] = {KFN(poly_adj_locate)(k, first, t1), KFN(poly_adj_locate)(k, first + 8, t1)};
        for (long o = 0; o < O; o++) {
            float scale = k->out_scale ? k->out_scale[o] : 1.0f;
            for (int h = 0; h < 2; h++) {
                float *dst = V + 16 * o + 8 * h;
                if (g[h].n == 0) {
                    for (int e = 0; e < 81; e++) KFN(st)(dst + vs * e, KFN(splat)(0));
                    continue;
                }
                KFN(poly_adj_gather_windows)(k, &g[h], first + 8 * h, gy + o * HWo, w, tmp);
                KFN(poly_adj_input_transform)(w, t, d);
                v8 sv = KFN(splat)(scale);
                for (int e = 0; e < 81; e++) KFN(st)(dst + vs * e, d[e] * sv);
            }
        }
        for (int e = 0; e < 81; e++) KFN(products)(V + vs * e, u + C * O * KFN(poly_class)(e), O, C, M + ms * e);
        for (long c = 0; c < C; c++) {
            v8 scale = KFN(splat)(k->in_scale ? k->in_scale[c] : 1.0f);
            for (int h = 0; h < 2; h++) {
                if (g[h].n == 0) continue;
                const float *src = M + 16 * c + 8 * h;
                for (int e = 0; e < 81; e++) d[e] = KFN(ld)(src + ms * e);
                KFN(poly_adj_output_transform)(d, t, pre);
                for (int e = 0; e < 16; e++) yt[e] = pre[e] * scale;
                double dot = KFN(poly_adj_scatter_tiles)(k, &g[h], first + 8 * h, yt, pre, gx ? gx + c * HW : NULL,
                                                         dots ? x + c * HW : NULL, tmp);
                if (dots) dots[c] += dot;
            }
        }
    }
}

// MARK: Filter gradient (weight and out-scale gradients)
//
// dU[class][c][o] = sum over the points p of the class and the tiles t of V[p][c][t] dM[p][o][t], with
// V the forward's transformed windows (times in_scale) and dM the adjoint output transform of the
// 8x8 dY tiles (the adjoint of POLY_OUTPUT_1D in both dimensions). For 16 tiles at a time:
//   1. per input channel: V [81][C][16] (as in poly_tiles)
//   2. per output channel: dM of the dY tiles, transposed eight output channels at a time to
//      tile-major                                                              -> Mt [81][16][op]
//   3. per point p: dU[class(p)][c][o] += sum_t V[p][c][t] Mt[p][t][o] (register-blocked as in the
//      stride-1 kernel's dw_products)
// Sums run in tile-run order, then point order: the result depends on [t0, t1) only.

// 8 outputs (output order) -> 9 points: the adjoint of POLY_OUTPUT_1D.
#define POLY_OUTPUT_ADJOINT_1D(y0, y1, y2, y3, y4, y5, y6, y7, o0, o1, o2, o3, o4, o5, o6, o7, o8) do { \
        v8 even_ = (y0) + (y4), odd_ = (y2) + (y6); \
        o0 = (y0); o1 = even_ + odd_; o2 = even_ - odd_; o3 = (y0) + 2 * (y2) + 4 * (y4) + 8 * (y6); o4 = (y6); \
        o5 = (y1); o6 = (y3); o7 = (y5); o8 = (y7); } while (0)

// y[8r+s] dY tile -> m[9a+b] point gradients; columns first (as the Swift transform), t: 72 vectors.
KINLINE void KFN(poly_output_adjoint)(const v8 *y, v8 *t, v8 *m) {
    for (int s = 0; s < 8; s++) {
        const v8 *c = y + s;
        v8 *o = t + s;
        POLY_OUTPUT_ADJOINT_1D(c[0], c[8], c[16], c[24], c[32], c[40], c[48], c[56],
                               o[0], o[8], o[16], o[24], o[32], o[40], o[48], o[56], o[64]);
    }
    for (int a = 0; a < 9; a++) {
        const v8 *r = t + 8 * a;
        v8 *o = m + 9 * a;
        POLY_OUTPUT_ADJOINT_1D(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
                               o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8]);
    }
}

// The 64 dY vectors y[8r+s] of a group's 8x8 tiles in one output-gradient plane (lane L: tile
// LANE_TILE[L], the lane order of poly_gather_windows; zero outside the output and past the last tile).
KINLINE void KFN(poly_gather_tiles)(const nada_poly_conv *k, const KFN(poly_group) *g, long first,
                                      const float *plane, v8 *y, float *tmp) {
    long Ho = 2L * k->height + 1, Wo = 2L * k->width + 1;
    if (g->fast_out) {
        const float *src = plane + 2 * g->y0 * Wo + 2 * g->x0;
        v8 rows[8];
        for (int r = 0; r < 8; r++) {
            for (int j = 0; j < 8; j++) rows[j] = KFN(ld)(src + r * Wo + 8 * KFN(lane_tile)[j]);
            KFN(transpose8)(rows, y + 8 * r);
        }
        return;
    }
    long tw = k->width / 4 + 1;
    for (int L = 0; L < 8; L++) {
        int t = KFN(lane_tile)[L];
        if (t >= g->n) {
            for (int e = 0; e < 64; e++) tmp[8 * e + L] = 0;
            continue;
        }
        long ti = first + t, ty = ti / tw, oy = 8 * ty, ox = 8 * (ti - ty * tw);
        for (int r = 0; r < 8; r++) {
            for (int s = 0; s < 8; s++) {
                tmp[8 * (8 * r + s) + L] = (oy + r < Ho && ox + s < Wo) ? plane[(oy + r) * Wo + ox + s] : 0.0f;
            }
        }
    }
    for (int e = 0; e < 64; e++) y[e] = KFN(ld)(tmp + 8 * e);
}

static void KFN(poly_filter_gradient_tiles)(const nada_poly_conv *k, const float *x, const float *dy,
                                            long t0, long t1, float *scratch, float *du) {
    long C = k->channels, O = k->out_channels, op = (O + 7) / 8 * 8;
    long HWo = (2L * k->height + 1) * (2L * k->width + 1);
    long vs = 16 * C + 16, ms = 16 * op + 16;
    // T: dM of eight output channels, [8][81] vectors, transposed into Mt one point at a time.
    float *V = scratch, *Mt = V + 81 * vs, *T = Mt + 81 * ms, *tmp = T + 8 * 81 * 8; // tmp: 64 x 8 floats
    v8 d[81], t[72], yt[64], rows[8], cols[8];
    for (long i = 0; i < 36 * C * op; i++) du[i] = 0;
    for (long first = t0; first < t1; first += 16) {
        KFN(poly_group) g[2] = {KFN(poly_locate)(k, first, t1), KFN(poly_locate)(k, first + 8, t1)};
        KFN(poly_transform_inputs)(k, g, first, x, vs, V, yt, t, d, tmp);
        for (long o0 = 0; o0 < op; o0 += 8) {
            for (int h = 0; h < 2; h++) {
                if (g[h].n == 0) {
                    for (int e = 0; e < 81; e++)
                        for (int L = 0; L < 8; L++) KFN(st)(Mt + ms * e + (8 * h + L) * op + o0, KFN(splat)(0));
                    continue;
                }
                for (int j = 0; j < 8; j++) {
                    float *dst = T + 8 * 81 * j;
                    if (o0 + j < O) {
                        KFN(poly_gather_tiles)(k, &g[h], first + 8 * h, dy + (o0 + j) * HWo, yt, tmp);
                        KFN(poly_output_adjoint)(yt, t, d);
                        for (int e = 0; e < 81; e++) KFN(st)(dst + 8 * e, d[e]);
                    } else {
                        for (int e = 0; e < 81; e++) KFN(st)(dst + 8 * e, KFN(splat)(0));
                    }
                }
                for (int e = 0; e < 81; e++) {
                    for (int j = 0; j < 8; j++) rows[j] = KFN(ld)(T + 8 * (81 * j + e));
                    KFN(transpose8)(rows, cols);
                    for (int L = 0; L < 8; L++) KFN(st)(Mt + ms * e + (8 * h + L) * op + o0, cols[L]);
                }
            }
        }
        for (int e = 0; e < 81; e++)
            KFN(dw_products)(V + vs * e, Mt + ms * e, C, op, du + C * op * KFN(poly_class)(e));
    }
}
