/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gemm_bf16()'s body, included once per instruction set by gemm-bf16.c with
 * KTARGET, KNAME, vf/vi of KW lanes, KROWV (row vectors per register tile),
 * KNB (windows per tile) and either NATIVE_TILE (VDPBF16PS) or VFMA (a fused
 * multiply-add of three vf) for the emulation. The emulating variants also
 * define the rounding to bf16 in vu (KW unsigned lanes) with EVEN_LANES
 * and ODD_LANES, the lane indices that split 2·KW values into k and k + 1. */

#ifdef NATIVE_TILE
static inline __attribute__((always_inline)) KTARGET void KNAME(bf16_tile)(const uint32_t *w, unsigned kw,
                                                                          const uint32_t *x, size_t xs,
                                                                          const float *y0, size_t y0s, float *y,
                                                                          size_t ys, unsigned cols,
                                                                          const unsigned nb) {
        __m512 acc[KROWV][KNB];
        __mmask16 keep[KROWV];

        /* the lanes of each row vector below cols */
#pragma GCC unroll 4
        for (unsigned v = 0; v < KROWV; v++)
                keep[v] = cols >= (v + 1) * KW ? 0xffff : cols > v * KW ? (1u << (cols - v * KW)) - 1 : 0;
#pragma GCC unroll 8
        for (unsigned i = 0; i < nb; i++)
#pragma GCC unroll 4
                for (unsigned v = 0; v < KROWV; v++)
                        acc[v][i] = y0 ? _mm512_maskz_loadu_ps(keep[v], y0 + i * y0s + v * KW) : _mm512_setzero_ps();

        for (unsigned k = 0; k < kw; k++, w += DA_PANEL) {
                __m512i wv[KROWV];

#pragma GCC unroll 4
                for (unsigned v = 0; v < KROWV; v++)
                        wv[v] = _mm512_load_si512(w + v * KW);
#pragma GCC unroll 8
                for (unsigned i = 0; i < nb; i++) {
                        __m512i s = _mm512_set1_epi32((int) x[i * xs + k]);

#pragma GCC unroll 4
                        for (unsigned v = 0; v < KROWV; v++)
                                acc[v][i] = _mm512_dpbf16_ps(acc[v][i], (__m512bh) wv[v], (__m512bh) s);
                }
        }

#pragma GCC unroll 8
        for (unsigned i = 0; i < nb; i++)
#pragma GCC unroll 4
                for (unsigned v = 0; v < KROWV; v++)
                        _mm512_mask_storeu_ps(y + i * ys + v * KW, keep[v], acc[v][i]);
}
#else
/* A lane's subnormal as a zero of its sign, as VDPBF16PS takes operands and
 * leaves results. */
#define FLUSH(v) ((vf) ((vi) (v) & ((((vi) (v) & 0x7f800000) != 0) | INT32_MIN)))
#define HIGH(u) FLUSH((vf) ((u) & ((vu) {} + 0xffff0000u)))
#define LOW(u) FLUSH((vf) ((u) << 16))

static inline __attribute__((always_inline)) KTARGET void KNAME(bf16_tile)(const uint32_t *w, unsigned kw,
                                                                          const uint32_t *x, size_t xs,
                                                                          const float *y0, size_t y0s, float *y,
                                                                          size_t ys, unsigned cols,
                                                                          const unsigned nb) {
        vf acc[KROWV][KNB];
        unsigned keep[KROWV];

        /* the lanes of each row vector below cols */
        for (unsigned v = 0; v < KROWV; v++)
                keep[v] = cols >= (v + 1) * KW ? KW : cols > v * KW ? cols - v * KW : 0;
        for (unsigned i = 0; i < nb; i++)
                for (unsigned v = 0; v < KROWV; v++) {
                        acc[v][i] = (vf) {};
                        if (y0)
                                memcpy(&acc[v][i], y0 + i * y0s + v * KW, keep[v] * sizeof(float));
                }

        for (unsigned k = 0; k < kw; k++, w += DA_PANEL) {
                vf hi[KROWV], lo[KROWV];

                for (unsigned v = 0; v < KROWV; v++) {
                        vu u = *(const vu *) (w + v * KW);

                        hi[v] = HIGH(u);
                        lo[v] = LOW(u);
                }
                for (unsigned i = 0; i < nb; i++) {
                        vu s = (vu) {} + x[i * xs + k];
                        vf sh = HIGH(s), sl = LOW(s);

                        for (unsigned v = 0; v < KROWV; v++) {
                                vf a = FLUSH(VFMA(hi[v], sh, acc[v][i]));

                                acc[v][i] = FLUSH(VFMA(lo[v], sl, a));
                        }
                }
        }

        for (unsigned i = 0; i < nb; i++)
                for (unsigned v = 0; v < KROWV; v++)
                        memcpy(y + i * ys + v * KW, &acc[v][i], keep[v] * sizeof(float));
}
#undef FLUSH
#undef HIGH
#undef LOW

/* bf16_bits() lane by lane */
static inline __attribute__((always_inline)) KTARGET vu KNAME(round_lanes)(vu u) {
        vu r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16, normal = (vu) ((u & 0x7f800000u) != 0);

        return (r & normal) | ((u >> 16) & 0x8000u & ~normal);
}

static KTARGET void KNAME(pair_rows)(const float *lo, const float *hi, unsigned n, uint32_t *d) {
        unsigned i = 0;

        for (; i + KW <= n; i += KW) {
                vu a, b = {};

                memcpy(&a, lo + i, sizeof(a));
                if (hi)
                        memcpy(&b, hi + i, sizeof(b));
                a = KNAME(round_lanes)(a) | KNAME(round_lanes)(b) << 16;
                memcpy(d + i, &a, sizeof(a));
        }
        for (; i < n; i++)
                d[i] = bf16_pair(lo[i], hi ? hi[i] : 0);
}

static KTARGET void KNAME(round_row)(const float *s, unsigned n, uint32_t *d) {
        unsigned k = 0;

        for (; k + 2 * KW <= n; k += 2 * KW) {
                vu a, b, w;

                memcpy(&a, s + k, sizeof(a));
                memcpy(&b, s + k + KW, sizeof(b));
                w = KNAME(round_lanes)(__builtin_shufflevector(a, b, EVEN_LANES)) |
                    KNAME(round_lanes)(__builtin_shufflevector(a, b, ODD_LANES)) << 16;
                memcpy(d + k / 2, &w, sizeof(w));
        }
        for (; k + 2 <= n; k += 2)
                d[k / 2] = bf16_pair(s[k], s[k + 1]);
        if (k < n)
                d[k / 2] = bf16_bits(s[k]);
}
#endif

static KTARGET void KNAME(gemm_bf16)(const da_packed *W, const uint32_t *Wb, const uint32_t *X, size_t xs,
                                     unsigned B, const float *Y0, size_t y0s, float *Y, size_t ys, unsigned cols) {
        unsigned words = bf16_words(W->cols), n = W->rows_padded / DA_PANEL, groups = (B + KNB - 1) / KNB;

        for (unsigned p = 0; p < n; p++)
                for (unsigned k0 = 0; k0 < words; k0 += KC_WORDS) {
                        unsigned kw = MIN(KC_WORDS, words - k0);

                        for (unsigned sub = 0; sub < DA_PANEL; sub += KROWV * KW) {
                                const uint32_t *w = Wb + ((size_t) p * words + k0) * DA_PANEL + sub;
                                unsigned b = 0, first = p * DA_PANEL + sub;
                                unsigned tile_cols = cols > first ? MIN(cols - first, KROWV * KW) : 0;

                                if (tile_cols == 0)
                                        continue;
                                /* groups as equal as they can be, so no window is left alone in a tile */
                                for (unsigned g = 0; g < groups; g++) {
                                        unsigned nb = (B - b) / (groups - g);
                                        const uint32_t *x = X + b * xs + k0;
                                        float *y = Y + b * ys + (size_t) p * DA_PANEL + sub;
                                        const float *y0 = Y0 ? Y0 + b * y0s + (size_t) p * DA_PANEL + sub : NULL;
                                        size_t y0s_ = y0s;

                                        /* column blocks after the first add to what the one before stored */
                                        if (k0 > 0) {
                                                y0 = y;
                                                y0s_ = ys;
                                        }

                                        switch (nb) {
#define TILE_CASE(c)                                                                              \
                                        case c:                                                   \
                                                KNAME(bf16_tile)(w, kw, x, xs, y0, y0s_, y, ys, tile_cols, c); \
                                                break;
                                        TILE_CASES
#undef TILE_CASE
                                        }
                                        b += nb;
                                }
                        }
                }
}
