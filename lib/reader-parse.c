/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <locale.h>
#include <math.h>
#include <pthread.h>

#include "reader-parse.h"
#include "util.h"

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void) {
        c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t) 0);
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

int parse_time_us(const char *s, unsigned exp10, uint64_t *ret) {
        uint64_t v = 0, scale = 1;
        const char *p = s;

        if (!s || exp10 > 6)
                return -EINVAL;
        for (unsigned i = 0; i < exp10; i++)
                scale *= 10;

        if (!is_digit(*p))
                return -EINVAL;
        for (; is_digit(*p); p++) {
                if (v > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        if (v > UINT64_MAX / scale)
                return -ERANGE;
        v *= scale;

        if (*p == '.') {
                uint64_t frac = 0, place = scale;
                bool round_up = false, any = false;

                for (p++; is_digit(*p); p++) {
                        any = true;
                        if (place > 1) {
                                place /= 10;
                                frac += (uint64_t) (*p - '0') * place;
                        } else if (place == 1) {
                                /* the first digit below 1 µs decides the rounding */
                                round_up = *p >= '5';
                                place = 0;
                        }
                }
                if (!any)
                        return -EINVAL;
                if (frac + round_up > UINT64_MAX - v)
                        return -ERANGE;
                v += frac + round_up;
        }
        if (*p != '\0')
                return -EINVAL;

        *ret = v;
        return 0;
}

int parse_double(const char *s, double *ret) {
        char *end;
        double v;

        if (!s || *s == '\0')
                return -EINVAL;
        if (strcasecmp(s, "nan") == 0 || streq(s, "NA") || streq(s, "null")) {
                *ret = NAN;
                return 0;
        }

        pthread_once(&c_locale_once, c_locale_init);
        if (!c_locale)
                return -ENOMEM;

        errno = 0;
        v = strtod_l(s, &end, c_locale);
        if (end == s || *end != '\0')
                return -EINVAL;
        /* underflow to a denormal or zero is fine; overflow is not */
        if (errno == ERANGE && isinf(v))
                return -ERANGE;

        *ret = v;
        return 0;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r';
}

char *strip_blanks(char *s) {
        size_t n;

        while (is_blank(*s))
                s++;
        n = strlen(s);
        while (n > 0 && is_blank(s[n - 1]))
                s[--n] = '\0';
        return s;
}

unsigned split_fields(char *s, char sep, char **fields, unsigned n_max) {
        unsigned n = 0;

        for (;;) {
                char *e = strchr(s, sep);

                if (e)
                        *e = '\0';
                if (n < n_max)
                        fields[n] = strip_blanks(s);
                n++;
                if (!e)
                        return n;
                s = e + 1;
        }
}
