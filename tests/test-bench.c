/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `deepactifctl bench --quick` (each case run once): the JSON array the
 * performance goals are read from has every benchmark for every hidden
 * size, each a finite positive time and the precision of its weights (the
 * step and its read floor at each); the table and its summary lines come
 * without --json. Timings are figures, not pass/fail: they are neither
 * asserted nor taken here (run `deepactifctl bench` for them). */

#include <math.h>
#include <sys/wait.h>

#include "test-util.h"

#define CTL TOP_BUILDDIR "/client/deepactifctl"

static char *run(const char *args) {
        _cleanup_free_ char *cmd = NULL;
        char *out = malloc(1 << 16);
        size_t n;
        FILE *p;
        int status;

        ck_assert_ptr_nonnull(out);
        ck_assert(asprintf(&cmd, "%s bench %s", CTL, args) > 0);
        p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        n = fread(out, 1, (1 << 16) - 1, p);
        out[n] = 0;
        status = pclose(p);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "'%s' failed", cmd);
        return out;
}

static const char *const every_size[] = { "lstm-step", "user-scaler", "weights-read", "lstm-window" };
static const char *const every_precision[] = { "lstm-step", "weights-read" };
static const char *const precisions[] = { "f32", "bf16", "f16", "i8" };
static const char *const attributed[] = {
        "deepactif-window", "lstm-recording", "deepactif-recording", "ig-50", "deeplift",
};

static unsigned count(json_object *a, const char *name, unsigned hidden, const char *precision) {
        unsigned n = 0;

        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *o = json_object_array_get_idx(a, i), *v;

                ck_assert(json_object_object_get_ex(o, "name", &v));
                if (!streq(json_object_get_string(v), name))
                        continue;
                ck_assert(json_object_object_get_ex(o, "precision", &v));
                if (!streq(json_object_get_string(v), precision))
                        continue;
                ck_assert(json_object_object_get_ex(o, "hidden", &v));
                if ((unsigned) json_object_get_int(v) == hidden)
                        n++;
        }
        return n;
}

START_TEST(test_bench_json) {
        _cleanup_free_ char *out = NULL;
        json_object *a;

        if (access(CTL, X_OK) < 0)
                ck_abort_msg("%s is not built", CTL);
        out = run("--json --quick");
        a = json_tokener_parse(out);
        ck_assert_msg(a && json_object_is_type(a, json_type_array), "not a JSON array: %s", out);

        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *o = json_object_array_get_idx(a, i), *v;
                bool health, train, peak;

                ck_assert_int_eq(json_object_object_length(o), 6);
                ck_assert(json_object_object_get_ex(o, "name", &v));
                /* the kernels on 40 random inputs; the per-frame health checks and training on the 38
                 * Robust Vision features */
                health = streq(json_object_get_string(v), "input-health");
                train = streq(json_object_get_string(v), "train-window");
                /* the core's multiply-add peak has no model */
                peak = streq(json_object_get_string(v), "fma-peak");
                ck_assert_int_eq(json_object_object_length(o), 6);
                ck_assert(json_object_object_get_ex(o, "features", &v));
                ck_assert_int_eq(json_object_get_int(v), peak ? 0 : health || train ? 38 : 40);
                ck_assert(json_object_object_get_ex(o, "window", &v));
                /* the LSTM's window, one frame for the health checks, or the
                 * rolling ranking's windows */
                ck_assert(json_object_get_int(v) == (peak ? 0 : health ? 1 : 10) || json_object_get_int(v) == 1000);
                ck_assert(json_object_object_get_ex(o, "us", &v));
                ck_assert(json_object_is_type(v, json_type_double));
                ck_assert(isfinite(json_object_get_double(v)) && json_object_get_double(v) > 0);
        }
        for (unsigned h = 0; h < 3; h++) {
                unsigned hidden = (unsigned[]) { 64, 128, 1435 }[h];

                for (size_t i = 0; i < ELEMENTSOF(every_size); i++)
                        ck_assert_msg(count(a, every_size[i], hidden, "f32") == 1, "%s H=%u", every_size[i], hidden);
                for (size_t i = 0; i < ELEMENTSOF(every_precision); i++)
                        for (size_t p = 1; p < ELEMENTSOF(precisions); p++)
                                ck_assert_msg(count(a, every_precision[i], hidden, precisions[p]) == 1, "%s H=%u %s",
                                              every_precision[i], hidden, precisions[p]);
                for (size_t i = 0; i < ELEMENTSOF(attributed); i++)
                        ck_assert_msg(count(a, attributed[i], hidden, "f32") == (hidden != 128), "%s H=%u",
                                      attributed[i], hidden);
                /* and IG-50 with the model at bf16 */
                ck_assert_msg(count(a, "ig-50", hidden, "bf16") == (hidden != 128), "ig-50 bf16 H=%u", hidden);
        }
        ck_assert_uint_eq(count(a, "input-health", 0, "f32"), 1);
        /* one training epoch at H = 32, 64 and 1435, at f32 and at bf16 */
        for (unsigned h = 0; h < 3; h++)
                for (size_t p = 0; p < 2; p++)
                        ck_assert_msg(count(a, "train-window", (unsigned[]) { 32, 64, 1435 }[h], precisions[p]) == 1,
                                      "train-window #%u %s", h, precisions[p]);
        ck_assert_msg(count(a, "rolling-push", 0, "f32") == 1 && count(a, "rolling-scores", 0, "f32") == 1,
                      "no rolling benchmark");
        ck_assert_msg(count(a, "fma-peak", 0, "f32") == 1, "no multiply-add peak");
        ck_assert_uint_eq(json_object_array_length(a),
                          3 * (ELEMENTSOF(every_size) + (ELEMENTSOF(precisions) - 1) * ELEMENTSOF(every_precision)) +
                          2 * (ELEMENTSOF(attributed) + 1) + 1 + 2 * 3 + 2 + 1);
        json_object_put(a);
}
END_TEST

START_TEST(test_bench_table) {
        _cleanup_free_ char *out = NULL;

        if (access(CTL, X_OK) < 0)
                ck_abort_msg("%s is not built", CTL);
        out = run("--quick");
        ck_assert_msg(strstr(out, "BENCHMARK") && strstr(out, "MEDIAN"), "%s", out);
        ck_assert_msg(strstr(out, "H=128, f32: a step multiplies 336 KiB of weights"), "%s", out);
        ck_assert_msg(strstr(out, "H=128, bf16: a step multiplies 168 KiB of weights"), "%s", out);
        ck_assert_msg(strstr(out, "H=1435, i8: a step multiplies"), "%s", out);
        ck_assert_msg(strstr(out, "H=64: DeepACTIF's trace adds"), "%s", out);
        ck_assert_msg(strstr(out, "H=128: per-user scaling (online median/IQR of 40 features) adds"), "%s", out);
        ck_assert_msg(strstr(out, "H=1435: DeepACTIF's trace adds"), "%s", out);
        ck_assert_msg(strstr(out, "Input health costs"), "%s", out);
        ck_assert_msg(strstr(out, "H=1435: one training epoch of the FOVAL model takes"), "%s", out);
}
END_TEST

int main(void) {
        Suite *s = suite_create("bench");
        TCase *tc = tcase_create("bench");

        tcase_set_timeout(tc, 600);
        tcase_add_test(tc, test_bench_json);
        tcase_add_test(tc, test_bench_table);
        suite_add_tcase(s, tc);
        return test_run(s);
}
