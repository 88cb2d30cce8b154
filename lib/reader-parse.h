/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Token parsing shared by the recording readers. Every parser takes a whole
 * token and rejects trailing garbage; numbers always use '.' as the decimal
 * point, whatever locale the program using the library has set. */

#include <stdint.h>

/* A non-negative decimal such as "2154556.5" in units of 10^exp10 µs
 * (0: µs, 3: ms, 6: s), converted exactly (digits beyond µs round half up);
 * -EINVAL for anything else, -ERANGE beyond 64 bits. */
int parse_time_us(const char *s, unsigned exp10, uint64_t *ret);

/* A floating-point number; "nan", "NaN", "NA" and "null" give NaN. */
int parse_double(const char *s, double *ret);

/* Removes leading and trailing blanks (spaces, tabs, '\r') in place. */
char *strip_blanks(char *s);

/* Splits s in place at each sep, stripping blanks off every field; stores
 * at most n_max field pointers and returns the number of fields found. */
unsigned split_fields(char *s, char sep, char **fields, unsigned n_max);
