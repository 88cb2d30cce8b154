/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One binocular 3-D gaze datum of Pupil Capture's Network API (topic
 * "gaze.3d.01."), decoded from its msgpack payload with msgpack-c. Every
 * field read is checked for type, length and finiteness. Pupil's eye 0 is
 * the right eye, eye 1 the left; the eye keys of eye_centers_3d and
 * gaze_normals_3d are the integers 0/1 in some Pupil versions and the
 * strings "0"/"1" in others, and both are accepted. Lengths in millimetres
 * in Pupil's world-camera coordinates.
 */

#include <stddef.h>

enum {
        PUPIL_EYE_RIGHT = 0,    /* Pupil's eye 0 */
        PUPIL_EYE_LEFT = 1,     /* Pupil's eye 1 */
};

/* Payloads larger than this are not gaze data (a datum is a few hundred
 * bytes, a few KiB with its base data). */
#define PUPIL_GAZE_MAX_SIZE (256u * 1024u)

typedef struct PupilGaze {
        double timestamp;               /* Pupil time, seconds */
        double confidence;              /* 0..1 */
        double point[3];                /* gaze_point_3d, mm */
        double center[2][3];            /* eye_centers_3d[eye], mm */
        double normal[2][3];            /* gaze_normals_3d[eye], unit vectors */
        double diameter[2];             /* base_data[].diameter_3d by eye id, mm; NaN if absent */
} PupilGaze;

/* Kinds of malformed input, so each is logged once. */
typedef enum PupilProblem {
        PUPIL_OK,
        PUPIL_NOT_MSGPACK,              /* not one well-formed msgpack value */
        PUPIL_NOT_MAP,                  /* the datum is not a map */
        PUPIL_MONOCULAR,                /* a monocular datum (eye_center_3d) */
        PUPIL_MISSING_KEY,
        PUPIL_WRONG_TYPE,
        PUPIL_WRONG_LENGTH,
        PUPIL_NOT_FINITE,
        PUPIL_OUT_OF_RANGE,
        PUPIL_DUPLICATE_KEY,
        _PUPIL_PROBLEM_MAX,
} PupilProblem;

/* 0 and the datum, or -EBADMSG with *ret_problem and ret_detail (a short
 * text naming the field, size ≥ 128) saying what is wrong. */
int pupil_gaze_decode(const void *data, size_t size, PupilGaze *ret, PupilProblem *ret_problem,
                      char *ret_detail, size_t detail_size);

const char *pupil_problem_to_string(PupilProblem p);
