/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Attribution methods, IG rules and trace locations by name: apart from the
 * methods themselves, so what only names them (the model file's reference
 * ranking, configuration) does not pull them in. */

#include "util.h"

static const char *const method_names[_DA_METHOD_MAX] = {
        [DA_METHOD_DEEPACTIF] = "deepactif",
        [DA_METHOD_IG] = "ig",
        [DA_METHOD_DEEPLIFT] = "deeplift",
        [DA_METHOD_GRADSHAP] = "gradshap",
        [DA_METHOD_KERNELSHAP] = "kernelshap",
        [DA_METHOD_ABLATION] = "ablation",
        [DA_METHOD_NEFLAG] = "neflag",
};

static const char *const rule_names[_DA_IG_RULE_MAX] = {
        [DA_IG_GAUSS_LEGENDRE] = "gausslegendre",
        [DA_IG_RIEMANN_LEFT] = "riemann_left",
        [DA_IG_RIEMANN_RIGHT] = "riemann_right",
        [DA_IG_RIEMANN_MIDDLE] = "riemann_middle",
        [DA_IG_RIEMANN_TRAPEZOID] = "riemann_trapezoid",
};

static const char *const location_names[_DA_TRACE_MAX] = {
        [DA_TRACE_INPUT] = "input",
        [DA_TRACE_GATE] = "gate",
};

static int lookup(const char *const *names, unsigned n, const char *s) {
        if (!s)
                return -EINVAL;
        for (unsigned i = 0; i < n; i++)
                if (streq(names[i], s))
                        return (int) i;
        return -EINVAL;
}

const char *da_method_to_string(da_method m) {
        return (unsigned) m < _DA_METHOD_MAX ? method_names[m] : NULL;
}

int da_method_from_string(const char *s) {
        return lookup(method_names, _DA_METHOD_MAX, s);
}

const char *da_ig_rule_to_string(da_ig_rule r) {
        return (unsigned) r < _DA_IG_RULE_MAX ? rule_names[r] : NULL;
}

int da_ig_rule_from_string(const char *s) {
        return lookup(rule_names, _DA_IG_RULE_MAX, s);
}

const char *da_trace_location_to_string(da_trace_location l) {
        return (unsigned) l < _DA_TRACE_MAX ? location_names[l] : NULL;
}

int da_trace_location_from_string(const char *s) {
        return lookup(location_names, _DA_TRACE_MAX, s);
}
