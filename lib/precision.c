/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reduced-precision weights: rounding the LSTM's matrices to bf16, f16 or
 * int8 with a scale per row, and the packed panels the GEMV streams at that
 * width. A step of a large model is bound by reading its weights; half or a
 * quarter of the bytes is that much less to read. */

#include <math.h>

#include "model.h"
#include "util.h"

static const char *const precision_names[_DA_PRECISION_MAX] = {
        [DA_PRECISION_F32] = "f32",
        [DA_PRECISION_BF16] = "bf16",
        [DA_PRECISION_F16] = "f16",
        [DA_PRECISION_I8] = "i8",
};

const char *da_precision_to_string(da_precision p) {
        return (unsigned) p < _DA_PRECISION_MAX ? precision_names[p] : NULL;
}

int da_precision_from_string(const char *s) {
        for (unsigned i = 0; i < _DA_PRECISION_MAX; i++)
                if (s && streq(s, precision_names[i]))
                        return (int) i;
        return -EINVAL;
}

size_t da_precision_bytes(da_precision p) {
        switch (p) {
        case DA_PRECISION_BF16:
        case DA_PRECISION_F16:
                return 2;
        case DA_PRECISION_I8:
                return 1;
        default:
                return 4;
        }
}

da_precision da_model_precision(const da_model *m) {
        return m->precision;
}

static uint32_t float_bits(float f) {
        uint32_t u;

        memcpy(&u, &f, 4);
        return u;
}

static float bits_float(uint32_t u) {
        float f;

        memcpy(&f, &u, 4);
        return f;
}

float bf16_to_float(uint16_t h) {
        return bits_float((uint32_t) h << 16);
}

/* finite input; a result past the bf16 range comes out infinite */
uint16_t float_to_bf16(float f) {
        uint32_t u = float_bits(f);

        u += 0x7fff + ((u >> 16) & 1);
        return (uint16_t) (u >> 16);
}

/* The exponent moves by 127 − 15 = 112: shifting the 15 bits into place and
 * multiplying by 2^112 is exact for normal and subnormal halves alike (the
 * kernels widen whole vectors the same way). Weights are finite, so the
 * half's infinities and NaNs need no case. */
float half_to_float(uint16_t h) {
        float mag = bits_float((uint32_t) (h & 0x7fff) << 13) * 0x1p112f;

        return (h & 0x8000) ? -mag : mag;
}

/* After F. Giesen's float_to_half_fast3_rtne: subnormal results by one
 * float addition that rounds in hardware, normal ones by adding the
 * rounding bias to the bits. Past the half's range: infinity. */
uint16_t float_to_half(float f) {
        uint32_t u = float_bits(f), sign = u & 0x80000000u;
        uint16_t o;

        u ^= sign;
        if (u >= (uint32_t) (127 + 16) << 23)
                o = 0x7c00;
        else if (u < (uint32_t) 113 << 23) {
                const float magic = bits_float((uint32_t) ((127 - 15) + (23 - 10) + 1) << 23);

                o = (uint16_t) (float_bits(bits_float(u) + magic) - float_bits(magic));
        } else {
                uint32_t odd = (u >> 13) & 1;

                u += ((uint32_t) (15 - 127) << 23) + 0xfff + odd;
                o = (uint16_t) (u >> 13);
        }
        return (uint16_t) (o | (sign >> 16));
}

/* ---- rounding the model's weights ---------------------------------------- */

static float round_to(da_precision p, float w) {
        switch (p) {
        case DA_PRECISION_BF16:
                return bf16_to_float(float_to_bf16(w));
        case DA_PRECISION_F16:
                return half_to_float(float_to_half(w));
        default:
                return w;
        }
}

/* Whether every weight rounds to a finite value (i8 always does). */
static bool fits(da_precision p, const float *w, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (p == DA_PRECISION_BF16 && (float_to_bf16(w[i]) & 0x7f80) == 0x7f80)
                        return false;
                if (p == DA_PRECISION_F16 && (float_to_half(w[i]) & 0x7c00) == 0x7c00)
                        return false;
        }
        return true;
}

/* Symmetric per-row int8: scale max|w|/127, w becomes q·scale. */
static void quantize_rows(float *w, unsigned rows, unsigned cols, float *ret_scale) {
        for (unsigned r = 0; r < rows; r++) {
                float *row = w + (size_t) r * cols, mx = 0, s;

                for (unsigned c = 0; c < cols; c++)
                        mx = fmaxf(mx, fabsf(row[c]));
                s = mx / 127.0f;
                for (unsigned c = 0; c < cols; c++)
                        /* through an integer: a zero step is +0, as the file stores it */
                        row[c] = s > 0 ? (float) (int) nearbyintf(row[c] / s) * s : 0;
                ret_scale[r] = s;
        }
}

int da_model_set_precision(da_model *m, da_precision p) {
        unsigned H = m->arch.hidden;

        if ((unsigned) p >= _DA_PRECISION_MAX)
                return -EINVAL;
        if (p == m->precision)
                return 0;
        for (unsigned l = 0; l < m->arch.layers; l++) {
                const da_lstm_layer *L = &m->layer[l];

                if (!fits(p, L->w_ih, (size_t) 4 * H * L->in) || !fits(p, L->w_hh, (size_t) 4 * H * H))
                        return -ERANGE;
        }
        if (p == DA_PRECISION_I8)
                for (unsigned l = 0; l < m->arch.layers; l++) {
                        da_lstm_layer *L = &m->layer[l];

                        if (!L->s_ih)
                                L->s_ih = calloc((size_t) 4 * H, sizeof(float));
                        if (!L->s_hh)
                                L->s_hh = calloc((size_t) 4 * H, sizeof(float));
                        if (!L->s_ih || !L->s_hh)
                                return -ENOMEM;
                }

        for (unsigned l = 0; l < m->arch.layers; l++) {
                da_lstm_layer *L = &m->layer[l];

                if (p == DA_PRECISION_I8) {
                        quantize_rows(L->w_ih, 4 * H, L->in, L->s_ih);
                        quantize_rows(L->w_hh, 4 * H, H, L->s_hh);
                        continue;
                }
                for (size_t i = 0; i < (size_t) 4 * H * L->in; i++)
                        L->w_ih[i] = round_to(p, L->w_ih[i]);
                for (size_t i = 0; i < (size_t) 4 * H * H; i++)
                        L->w_hh[i] = round_to(p, L->w_hh[i]);
        }
        m->precision = p;
        return model_pack(m);
}

/* ---- packed panels at reduced width --------------------------------------- */

void packed_reduced_free(da_packed *P) {
        P->reduced = mfree(P->reduced);
        P->scale = mfree(P->scale);
        P->precision = DA_PRECISION_F32;
}

static void *alloc64(size_t bytes) {
        void *p;

        bytes = (bytes + 63) & ~(size_t) 63;
        if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
                return NULL;
        memset(p, 0, bytes ? bytes : 64);
        return p;
}

/* From P's float panels, whose values are already rounded to p (so the
 * conversions here are exact); scales are the i8 row scales of the gate
 * rows in PyTorch order (4H), NULL otherwise. */
int packed_reduce(da_packed *P, da_precision p, const float *scales, unsigned H, unsigned Hp) {
        unsigned cols = P->cols, n = P->rows_padded / DA_PANEL;
        size_t panel = (size_t) cols * DA_PANEL;

        packed_reduced_free(P);
        if (p == DA_PRECISION_F32)
                return 0;
        /* bf16 pads an odd column count to the pair */
        P->reduced = alloc64((size_t) n * (cols + (cols & 1)) * DA_PANEL * da_precision_bytes(p));
        if (!P->reduced)
                return -ENOMEM;

        if (p == DA_PRECISION_I8) {
                int8_t *d = P->reduced;

                P->scale = alloc64((size_t) P->rows_padded * sizeof(float));
                if (!P->scale) {
                        packed_reduced_free(P);
                        return -ENOMEM;
                }
                for (unsigned r = 0; r < P->rows_padded; r++) {
                        unsigned q = r / Hp, j = r % Hp;

                        P->scale[r] = j < H ? scales[q * H + j] : 0;
                }
                for (size_t i = 0; i < n * panel; i++) {
                        float s = P->scale[(i / panel) * DA_PANEL + i % DA_PANEL];

                        /* exact for weights that are q·s; clamped all the same */
                        d[i] = (int8_t) (s > 0 ? fmaxf(-128.0f, fminf(127.0f, nearbyintf(P->data[i] / s))) : 0);
                }
        } else if (p == DA_PRECISION_F16) {
                uint16_t *d = P->reduced;

                for (size_t i = 0; i < n * panel; i++)
                        d[i] = float_to_half(P->data[i]);
        } else {
                /* a panel's column pair k, k+1 of lane i shares word
                 * (k/2)·DA_PANEL + i: column k in the low half; an odd last
                 * column pairs with a zero */
                uint32_t *d = P->reduced;

                for (unsigned pn = 0; pn < n; pn++)
                        for (unsigned k = 0; k < cols; k++)
                                for (unsigned i = 0; i < DA_PANEL; i++) {
                                        uint32_t b = float_to_bf16(P->data[pn * panel + (size_t) k * DA_PANEL + i]);

                                        d[pn * (panel + (cols & 1) * DA_PANEL) / 2 + (size_t) (k / 2) * DA_PANEL + i] |=
                                                (k & 1) ? b << 16 : b;
                                }
        }
        P->precision = p;
        return 0;
}
