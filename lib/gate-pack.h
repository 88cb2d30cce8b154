/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Packing transposes into the panels gemm_panels() multiplies with
 * (model.h's da_packed), into memory the caller owns, so a trainer can
 * repack what changes every step without allocating. The forward gate
 * panels are model.h's pack_gates_into(). */

#include "model.h"

/* w (4H × in, gate-major) as panels of its transpose: row k (an input),
 * column q·Hp + j; padding is zero. ret->data holds
 * round_up(in, DA_PANEL) × 4Hp floats; the shape is set. */
void pack_gates_transposed(const float *w, unsigned H, unsigned Hp, unsigned in, da_packed *ret);

/* The same two layouts rounded to bf16 (gemm-bf16.h): the forward gate
 * panels (4Hp rows × cols) and the transposed ones (round_up(in, DA_PANEL)
 * rows × 4Hp), straight from w, as gemm_bf16() reads them. */
void pack_gates_bf16(const float *w, unsigned H, unsigned Hp, unsigned cols, uint32_t *d);
void pack_gates_transposed_bf16(const float *w, unsigned H, unsigned Hp, unsigned in, uint32_t *d);

/* The transpose of n rows of X (cols floats each, xs apart): panel row k,
 * column i holds X[i][k], rows beyond cols zero. ret->data holds
 * round_up(cols, DA_PANEL) × n floats; the shape is set. */
void pack_rows_transposed(const float *X, size_t xs, unsigned n, unsigned cols, da_packed *ret);
