// The parts of the fused Winograd kernels that do not depend on the transform: 8-lane vector helpers,
// the 8x8 transpose, and the register-blocked point-wise products of the forward (M = U V per point) and
// of the filter gradient (dU += V Mt per point). Included once per instruction set by kernel_copies.h,
// before the kernel bodies, so each copy gets its own (KFN-named) functions; a new variant is a new
// transform and tile loop that calls these. Not a public header: it defines functions.

// Lane L of a vector holds tile (first + LANE_TILE[L]): this order makes the window gather and the
// tile scatter of 8 tiles in one row pure in-128-bit-lane shuffles (see each kernel's
// gather_row / scatter_row).
static const int KFN(lane_tile)[8] = {0, 2, 4, 6, 1, 3, 5, 7};

KINLINE v8 KFN(splat)(float x) { return (v8){x, x, x, x, x, x, x, x}; }
KINLINE v8 KFN(ld)(const float *p) { return *(const v8u *)p; }
KINLINE void KFN(st)(float *p, v8 v) { *(v8u *)p = v; }

// 128-bit-lane shuffles on pairs of 8-float vectors (indices 0-7: x, 8-15: y).
#define UNPACKLO(x, y) __builtin_shufflevector(x, y, 0, 8, 1, 9, 4, 12, 5, 13)
#define UNPACKHI(x, y) __builtin_shufflevector(x, y, 2, 10, 3, 11, 6, 14, 7, 15)
#define MOVELH(x, y) __builtin_shufflevector(x, y, 0, 1, 8, 9, 4, 5, 12, 13)
#define MOVEHL(x, y) __builtin_shufflevector(x, y, 2, 3, 10, 11, 6, 7, 14, 15)
#define LOW128(x, y) __builtin_shufflevector(x, y, 0, 1, 2, 3, 8, 9, 10, 11)
#define HIGH128(x, y) __builtin_shufflevector(x, y, 4, 5, 6, 7, 12, 13, 14, 15)

KINLINE float KFN(hsum)(v8 v) {
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

// out[i][j] = r[j][i] for an 8x8 block of floats held as 8 row vectors.
KINLINE void KFN(transpose8)(const v8 *r, v8 *out) {
    v8 t0 = UNPACKLO(r[0], r[1]), t1 = UNPACKHI(r[0], r[1]), t2 = UNPACKLO(r[2], r[3]), t3 = UNPACKHI(r[2], r[3]);
    v8 t4 = UNPACKLO(r[4], r[5]), t5 = UNPACKHI(r[4], r[5]), t6 = UNPACKLO(r[6], r[7]), t7 = UNPACKHI(r[6], r[7]);
    v8 a0 = MOVELH(t0, t2), a1 = MOVEHL(t0, t2), a2 = MOVELH(t1, t3), a3 = MOVEHL(t1, t3);
    v8 b0 = MOVELH(t4, t6), b1 = MOVEHL(t4, t6), b2 = MOVELH(t5, t7), b3 = MOVEHL(t5, t7);
    out[0] = LOW128(a0, b0); out[1] = LOW128(a1, b1); out[2] = LOW128(a2, b2); out[3] = LOW128(a3, b3);
    out[4] = HIGH128(a0, b0); out[5] = HIGH128(a1, b1); out[6] = HIGH128(a2, b2); out[7] = HIGH128(a3, b3);
}

// M[o][0..16) (+)= sum_c U[c][o] V[c][0..16) for OB consecutive output channels; u points at U[0][o0],
// m at M[o0][0]. OB is a constant in every caller, so the accumulators stay in registers.
#define PRODUCTS(OB) \
KINLINE void KFN(products##OB)(const float *v, const float *u, long C, long O, float *m) { \
    v8 acc0[OB], acc1[OB]; \
    for (int j = 0; j < OB; j++) { acc0[j] = KFN(splat)(0); acc1[j] = KFN(splat)(0); } \
    for (long c = 0; c < C; c++) { \
        v8 x0 = KFN(ld)(v + 16 * c), x1 = KFN(ld)(v + 16 * c + 8); \
        const float *uc = u + c * O; \
        for (int j = 0; j < OB; j++) { \
            v8 w = KFN(splat)(uc[j]); \
            acc0[j] += w * x0; acc1[j] += w * x1; \
        } \
    } \
    for (int j = 0; j < OB; j++) { KFN(st)(m + 16 * j, acc0[j]); KFN(st)(m + 16 * j + 8, acc1[j]); } \
}
PRODUCTS(1)
PRODUCTS(2)
PRODUCTS(3)
PRODUCTS(4)
PRODUCTS(5)
PRODUCTS(6)

static void KFN(products)(const float *v, const float *u, long C, long O, float *m) {
    long o = 0;
    while (o < O) {
        long left = O - o;
        // Blocks of 6 (12 accumulators), ending on 4 + 4 or 4 + 3 rather than a lone 1 or 2.
        int ob = (left >= 9 || left == 6) ? 6 : (left >= 7 ? 4 : (int)left);
        switch (ob) {
        case 6: KFN(products6)(v, u + o, C, O, m + 16 * o); break;
        case 5: KFN(products5)(v, u + o, C, O, m + 16 * o); break;
        case 4: KFN(products4)(v, u + o, C, O, m + 16 * o); break;
        case 3: KFN(products3)(v, u + o, C, O, m + 16 * o); break;
        case 2: KFN(products2)(v, u + o, C, O, m + 16 * o); break;
        default: KFN(products1)(v, u + o, C, O, m + 16 * o); break;
        }
        o += ob;
    }
}

// du[j][8q..8q+8) += sum_t v[16 j + t] mt[t][8q..8q+8) for CB input channels and OV vectors of output
// channels; v points at V[xi][c0][0], mt at Mt[xi][0][o0], du at dU[xi][c0][o0] (rows op apart).
// CB and OV are constants in every caller, so the accumulators stay in registers.
#define DW_PRODUCTS(CB, OV) \
KINLINE void KFN(dw_products##CB##x##OV)(const float *v, const float *mt, long op, float *du) { \
    v8 acc[CB][OV]; \
    for (int j = 0; j < CB; j++) for (int q = 0; q < OV; q++) acc[j][q] = KFN(ld)(du + j * op + 8 * q); \
    for (int t = 0; t < 16; t++) { \
        v8 w[OV]; \
        for (int q = 0; q < OV; q++) w[q] = KFN(ld)(mt + t * op + 8 * q); \
        for (int j = 0; j < CB; j++) { \
            v8 b = KFN(splat)(v[16 * j + t]); \
            for (int q = 0; q < OV; q++) acc[j][q] += b * w[q]; \
        } \
    } \
    for (int j = 0; j < CB; j++) for (int q = 0; q < OV; q++) KFN(st)(du + j * op + 8 * q, acc[j][q]); \
}
DW_PRODUCTS(1, 1) DW_PRODUCTS(2, 1) DW_PRODUCTS(3, 1) DW_PRODUCTS(4, 1) DW_PRODUCTS(5, 1) DW_PRODUCTS(6, 1)
DW_PRODUCTS(1, 2) DW_PRODUCTS(2, 2) DW_PRODUCTS(3, 2) DW_PRODUCTS(4, 2) DW_PRODUCTS(5, 2) DW_PRODUCTS(6, 2)

// One point's rank-16 update of dU [C][op].
static void KFN(dw_products)(const float *v, const float *mt, long C, long op, float *du) {
    long c = 0;
    while (c < C) {
        long left = C - c;
        // Blocks of 6, ending on 4 + 4 or 4 + 3 rather than a lone 1 or 2 (as in products()).
        int cb = (left >= 9 || left == 6) ? 6 : (left >= 7 ? 4 : (int)left);
        for (long o = 0; o < op; o += 16) {
            const float *vc = v + 16 * c, *mo = mt + o;
            float *d = du + c * op + o;
            if (op - o >= 16) {
                switch (cb) {
                case 6: KFN(dw_products6x2)(vc, mo, op, d); break;
                case 5: KFN(dw_products5x2)(vc, mo, op, d); break;
                case 4: KFN(dw_products4x2)(vc, mo, op, d); break;
                case 3: KFN(dw_products3x2)(vc, mo, op, d); break;
                case 2: KFN(dw_products2x2)(vc, mo, op, d); break;
                default: KFN(dw_products1x2)(vc, mo, op, d); break;
                }
            } else {
                switch (cb) {
                case 6: KFN(dw_products6x1)(vc, mo, op, d); break;
                case 5: KFN(dw_products5x1)(vc, mo, op, d); break;
                case 4: KFN(dw_products4x1)(vc, mo, op, d); break;
                case 3: KFN(dw_products3x1)(vc, mo, op, d); break;
                case 2: KFN(dw_products2x1)(vc, mo, op, d); break;
                default: KFN(dw_products1x1)(vc, mo, op, d); break;
                }
            }
        }
        c += cb;
    }
}
#undef PRODUCTS
#undef DW_PRODUCTS
