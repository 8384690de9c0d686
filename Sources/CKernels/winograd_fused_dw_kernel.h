// The weight-gradient half of the fused Winograd F(4x4, 3x3) backward, built once per instruction set
// by kernel_copies.h right after winograd_fused_kernel.h (whose helpers it uses: locate,
// transform_inputs, gather_row) and winograd_common_kernel.h (transpose8, dw_products). Not a public
// header: it defines functions.
//
// For 16 tiles of one sample at a time (two 8-lane vectors), all in L1/L2:
//   1. per input channel: gather the 6x6 windows, V = Bt d B, times inScale[c]   -> V  [36][C][16]
//   2. per output channel: gather the 4x4 dY tiles (zero outside the output), dM = A dY At, and
//      transpose eight output channels at a time to tile-major                    -> Mt [36][16][Op]
//   3. per point xi: dU[xi][c][o] += sum_t V[xi][c][t] Mt[xi][t][o]  (register-blocked: up to 6 input
//      channels x 16 output channels of accumulators, V broadcast, Mt rows as vectors)
// dU (Op = out_channels rounded up to 8 lanes) is the caller's per-unit partial sum; the sum over a
// unit's tiles runs in tile order, so it does not depend on which thread ran the unit.

// A y: 4 -> 6 (the adjoint of OUTPUT_1D).
#define OUTPUT_ADJOINT_1D(y0, y1, y2, y3, o0, o1, o2, o3, o4, o5) do { \
        v8 e_ = (y0) + (y2), d_ = (y1) + (y3), e4_ = (y0) + 4 * (y2), d8_ = 2 * (y1) + 8 * (y3); \
        o0 = (y0); o5 = (y3); o1 = e_ + d_; o2 = e_ - d_; o3 = e4_ + d8_; o4 = e4_ - d8_; } while (0)

// dM = A dY At: y[4r+s] in, m[6i+j] out.
KINLINE void KFN(output_adjoint)(const v8 *y, v8 *m) {
    for (int s = 0; s < 4; s++) { // columns
        OUTPUT_ADJOINT_1D(y[s], y[4 + s], y[8 + s], y[12 + s], m[s], m[6 + s], m[12 + s], m[18 + s], m[24 + s], m[30 + s]);
    }
    for (int i = 0; i < 6; i++) { // rows
        v8 *r = m + 6 * i, y0 = r[0], y1 = r[1], y2 = r[2], y3 = r[3];
        OUTPUT_ADJOINT_1D(y0, y1, y2, y3, r[0], r[1], r[2], r[3], r[4], r[5]);
    }
}

// One tile row of 8 tiles side by side (seg[4t + s], s < 4): out[s] = column s in lane order
// LANE_TILE (the first four columns of gather_row, reading only seg[0..32)).
KINLINE void KFN(gather_tile_row)(const float *seg, v8 *out) {
    v8 a = KFN(ld)(seg), b = KFN(ld)(seg + 8), c = KFN(ld)(seg + 16), d = KFN(ld)(seg + 24);
    v8 p = UNPACKLO(a, b), q = UNPACKLO(c, d), r = UNPACKHI(a, b), s = UNPACKHI(c, d);
    out[0] = MOVELH(p, q); out[1] = MOVEHL(p, q); out[2] = MOVELH(r, s); out[3] = MOVEHL(r, s);
}

// The 16 dY vectors y[4r+s] of a group's tiles in one output-gradient plane (zero outside the output
// and for lanes past the last tile).
KINLINE void KFN(gather_tiles)(const nada_wino_conv *k, const KFN(group) *g, long first,
                                     const float *plane, v8 *y, float *tmp) {
    long Ho = k->out_height, Wo = k->out_width;
    if (g->fast_out) {
        const float *src = plane + g->oy * Wo + g->ox;
        for (int r = 0; r < 4; r++) KFN(gather_tile_row)(src + r * Wo, y + 4 * r);
        return;
    }
    long tw = (Wo + 3) / 4;
    for (int L = 0; L < 8; L++) {
        int t = KFN(lane_tile)[L];
        if (t >= g->n) {
            for (int e = 0; e < 16; e++) tmp[8 * e + L] = 0;
            continue;
        }
        long ti = first + t, ty = ti / tw, oy = 4 * ty, ox = 4 * (ti - ty * tw);
        for (int r = 0; r < 4; r++) {
            for (int s = 0; s < 4; s++) {
                tmp[8 * (4 * r + s) + L] = (oy + r < Ho && ox + s < Wo) ? plane[(oy + r) * Wo + ox + s] : 0.0f;
            }
        }
    }
    for (int e = 0; e < 16; e++) y[e] = KFN(ld)(tmp + 8 * e);
}

static void KFN(filter_gradient_tiles)(const nada_wino_conv *k, const float *x, const float *dy,
                                       long t0, long t1, float *scratch, float *du) {
    long C = k->channels, O = k->out_channels, op = (O + 7) / 8 * 8;
    long HWo = (long)k->out_height * k->out_width;
    // Point strides padded by 16 floats against L1 set conflicts at 2^k channels (as in conv_tiles).
    long vs = 16 * C + 16, ms = 16 * op + 16;
    float *V = scratch, *Mt = V + 36 * vs, *T = Mt + 36 * ms, *tmp = T + 8 * 36 * 8; // tmp: 512 floats
    // T: dM of eight output channels, [8][36] vectors, transposed into Mt one point at a time.
    v8 d[36], yv[16], rows[8], cols[8];
    for (long i = 0; i < 36 * C * op; i++) du[i] = 0;
    for (long first = t0; first < t1; first += 16) {
        KFN(group) g[2] = {KFN(locate)(k, first, t1), KFN(locate)(k, first + 8, t1)};
        KFN(transform_inputs)(k, g, first, x, vs, V, d, tmp);
        for (long o0 = 0; o0 < op; o0 += 8) {
            for (int h = 0; h < 2; h++) {
                if (g[h].n == 0) {
                    for (int e = 0; e < 36; e++)
                        for (int L = 0; L < 8; L++) KFN(st)(Mt + ms * e + (8 * h + L) * op + o0, KFN(splat)(0));
                    continue;
                }
                for (int j = 0; j < 8; j++) {
                    float *dst = T + 8 * 36 * j;
                    if (o0 + j < O) {
                        KFN(gather_tiles)(k, &g[h], first + 8 * h, dy + (o0 + j) * HWo, yv, tmp);
                        KFN(output_adjoint)(yv, d);
                        for (int e = 0; e < 36; e++) KFN(st)(dst + 8 * e, d[e]);
                    } else {
                        for (int e = 0; e < 36; e++) KFN(st)(dst + 8 * e, KFN(splat)(0));
                    }
                }
                for (int e = 0; e < 36; e++) {
                    for (int j = 0; j < 8; j++) rows[j] = KFN(ld)(T + 8 * (36 * j + e));
                    KFN(transpose8)(rows, cols);
                    for (int L = 0; L < 8; L++) KFN(st)(Mt + ms * e + (8 * h + L) * op + o0, cols[L]);
                }
            }
        }
        for (int e = 0; e < 36; e++) KFN(dw_products)(V + vs * e, Mt + ms * e, C, op, du + C * op * e);
    }
}
