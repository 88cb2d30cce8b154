/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The bridge's Pupil gaze decoder on messages packed with msgpack-c as
 * Pupil Capture packs them: eye keys as integers and as strings, float32,
 * float64 and integer numbers, pupil diameters from base_data; and each
 * kind of malformed message refused with its problem named. */

#include <check.h>
#include <math.h>
#include <msgpack.h>

#include "pupil-gaze.h"
#include "test-util.h"

typedef struct Msg {
        msgpack_sbuffer sb;
        msgpack_packer pk;
} Msg;

static void msg_init(Msg *m) {
        msgpack_sbuffer_init(&m->sb);
        msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

static void str(Msg *m, const char *s) {
        msgpack_pack_str(&m->pk, strlen(s));
        msgpack_pack_str_body(&m->pk, s, strlen(s));
}

static void vec(Msg *m, double x, double y, double z) {
        msgpack_pack_array(&m->pk, 3);
        msgpack_pack_double(&m->pk, x);
        msgpack_pack_float(&m->pk, (float) y);
        msgpack_pack_double(&m->pk, z);
}

static void eye_key(Msg *m, int eye, bool strings) {
        if (strings)
                str(m, eye ? "1" : "0");
        else
                msgpack_pack_int(&m->pk, eye);
}

typedef enum Break {
        GOOD,
        NAN_NORMAL,
        NO_EYE1,
        SHORT_POINT,
        STRING_TIMESTAMP,
        NO_CONFIDENCE,
        CONFIDENCE_2,
        DUPLICATE_TIMESTAMP,
        BAD_EYE_KEY,
} Break;

/* A binocular datum with right eye (0) centre (30, 1, 20) mm, left (-30, 2, 21). */
static void pack_datum(Msg *m, bool string_keys, Break b) {
        unsigned n = 7 + (b == DUPLICATE_TIMESTAMP) - (b == NO_CONFIDENCE);

        msg_init(m);
        msgpack_pack_map(&m->pk, n);
        str(m, "topic");
        str(m, "gaze.3d.01.");
        str(m, "timestamp");
        if (b == STRING_TIMESTAMP)
                str(m, "now");
        else
                msgpack_pack_double(&m->pk, 1234.5678);
        if (b == DUPLICATE_TIMESTAMP) {
                str(m, "timestamp");
                msgpack_pack_double(&m->pk, 1.0);
        }
        if (b != NO_CONFIDENCE) {
                str(m, "confidence");
                if (b == CONFIDENCE_2)
                        msgpack_pack_int(&m->pk, 2);
                else
                        msgpack_pack_double(&m->pk, 0.95);
        }
        str(m, "gaze_point_3d");
        if (b == SHORT_POINT) {
                msgpack_pack_array(&m->pk, 2);
                msgpack_pack_int(&m->pk, 1);
                msgpack_pack_int(&m->pk, 2);
        } else {
                msgpack_pack_array(&m->pk, 3);
                msgpack_pack_int(&m->pk, -10);          /* integers are numbers too */
                msgpack_pack_unsigned_int(&m->pk, 20);
                msgpack_pack_double(&m->pk, 500.25);
        }
        str(m, "eye_centers_3d");
        msgpack_pack_map(&m->pk, b == NO_EYE1 ? 1 : 2);
        eye_key(m, 0, string_keys);
        vec(m, 30, 1, 20);
        if (b != NO_EYE1) {
                if (b == BAD_EYE_KEY)
                        str(m, "left");
                else
                        eye_key(m, 1, string_keys);
                vec(m, -30, 2, 21);
        }
        str(m, "gaze_normals_3d");
        msgpack_pack_map(&m->pk, 2);
        eye_key(m, 1, string_keys);                     /* any order */
        vec(m, 0.1, 0.2, 0.97);
        eye_key(m, 0, string_keys);
        vec(m, b == NAN_NORMAL ? NAN : -0.1, 0.25, 0.96);
        str(m, "base_data");
        msgpack_pack_array(&m->pk, 2);
        msgpack_pack_map(&m->pk, 2);
        str(m, "id");
        msgpack_pack_int(&m->pk, 1);
        str(m, "diameter_3d");
        msgpack_pack_double(&m->pk, 3.5);
        msgpack_pack_map(&m->pk, 1);                    /* 2-D detection: no diameter */
        str(m, "id");
        msgpack_pack_int(&m->pk, 0);
}

static int decode(Msg *m, PupilGaze *g, PupilProblem *p, char *detail) {
        int r = pupil_gaze_decode(m->sb.data, m->sb.size, g, p, detail, 160);

        msgpack_sbuffer_destroy(&m->sb);
        return r;
}

START_TEST(test_good) {
        for (int strings = 0; strings < 2; strings++) {
                PupilProblem p;
                PupilGaze g;
                char detail[160];
                Msg m;

                pack_datum(&m, strings, GOOD);
                ck_assert_int_eq(decode(&m, &g, &p, detail), 0);
                ck_assert_int_eq(p, PUPIL_OK);
                ck_assert_double_eq(g.timestamp, 1234.5678);
                ck_assert_double_eq(g.confidence, 0.95);
                ck_assert_double_eq(g.point[0], -10);
                ck_assert_double_eq(g.point[1], 20);
                ck_assert_double_eq(g.point[2], 500.25);
                /* eye 0 is the right eye */
                ck_assert_double_eq(g.center[PUPIL_EYE_RIGHT][0], 30);
                ck_assert_double_eq(g.center[PUPIL_EYE_LEFT][0], -30);
                ck_assert_double_eq(g.center[PUPIL_EYE_LEFT][1], 2);   /* was a float32 */
                ck_assert_double_eq(g.normal[PUPIL_EYE_RIGHT][0], -0.1);
                ck_assert_double_eq(g.normal[PUPIL_EYE_LEFT][2], 0.97);
                ck_assert_double_eq(g.diameter[PUPIL_EYE_LEFT], 3.5);
                ck_assert(isnan(g.diameter[PUPIL_EYE_RIGHT]));
        }
}
END_TEST

START_TEST(test_malformed) {
        static const struct {
                Break b;
                PupilProblem p;
                const char *needle;
        } cases[] = {
                { NAN_NORMAL,          PUPIL_NOT_FINITE,    "'gaze_normals_3d' is not finite" },
                { NO_EYE1,             PUPIL_MISSING_KEY,   "'eye_centers_3d' has no eye 1" },
                { SHORT_POINT,         PUPIL_WRONG_LENGTH,  "'gaze_point_3d' has 2 elements" },
                { STRING_TIMESTAMP,    PUPIL_WRONG_TYPE,    "'timestamp' is not a number" },
                { NO_CONFIDENCE,       PUPIL_MISSING_KEY,   "no 'confidence'" },
                { CONFIDENCE_2,        PUPIL_OUT_OF_RANGE,  "outside 0..1" },
                { DUPLICATE_TIMESTAMP, PUPIL_DUPLICATE_KEY, "'timestamp' appears twice" },
                { BAD_EYE_KEY,         PUPIL_WRONG_TYPE,    "other than the eyes" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                PupilProblem p;
                PupilGaze g;
                char detail[160] = "";
                Msg m;

                pack_datum(&m, i % 2, cases[i].b);
                ck_assert_int_eq(decode(&m, &g, &p, detail), -EBADMSG);
                ck_assert_msg(p == cases[i].p, "case %zu: %s", i, pupil_problem_to_string(p));
                ck_assert_msg(strstr(detail, cases[i].needle), "case %zu: %s", i, detail);
        }
}
END_TEST

START_TEST(test_not_msgpack) {
        static const struct {
                const char *bytes;
                size_t size;
                PupilProblem p;
        } cases[] = {
                { "", 0, PUPIL_NOT_MSGPACK },
                { "\xc1", 1, PUPIL_NOT_MSGPACK },                       /* never used */
                { "\x81\xa1x", 3, PUPIL_NOT_MSGPACK },                  /* truncated map */
                { "\xdd\xff\xff\xff\xff\x01", 6, PUPIL_NOT_MSGPACK },   /* 2^32 elements declared */
                { "\xdf\x00\x01\x00\x00\x01\x02", 7, PUPIL_NOT_MSGPACK },
                { "\xdb\xff\xff\xff\xf0", 5, PUPIL_NOT_MSGPACK },       /* string longer than the data */
                { "\x80\x80", 2, PUPIL_NOT_MSGPACK },                   /* two values */
                { "\x91\x01", 2, PUPIL_NOT_MAP },
                { "\x80", 1, PUPIL_MISSING_KEY },
                { "\x81\xad" "eye_center_3d" "\x93\x01\x02\x03", 19, PUPIL_MONOCULAR },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                PupilProblem p;
                PupilGaze g;
                char detail[160] = "";

                ck_assert_int_eq(pupil_gaze_decode(cases[i].bytes, cases[i].size, &g, &p, detail, sizeof detail),
                                 -EBADMSG);
                ck_assert_msg(p == cases[i].p, "case %zu: %s (%s)", i, pupil_problem_to_string(p), detail);
                ck_assert_msg(detail[0] != '\0', "case %zu names no problem", i);
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("pupil-gaze");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_good);
        tcase_add_test(tc, test_malformed);
        tcase_add_test(tc, test_not_msgpack);
        suite_add_tcase(s, tc);
        return test_run(s);
}
