/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for deepactif-bridge's Pupil gaze decoder (msgpack-c
 * underneath): any payload is decoded or refused with a named problem; a
 * decoded datum is finite with a confidence in 0..1.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "pupil-gaze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        PupilProblem p = _PUPIL_PROBLEM_MAX;
        PupilGaze g;
        char detail[160] = "";

        if (pupil_gaze_decode(data, size, &g, &p, detail, sizeof detail) < 0) {
                if (p == PUPIL_OK || !pupil_problem_to_string(p) || detail[0] == '\0')
                        abort();
                return 0;
        }
        if (p != PUPIL_OK || !isfinite(g.timestamp) || !(g.confidence >= 0 && g.confidence <= 1))
                abort();
        for (int e = 0; e < 2; e++)
                for (int i = 0; i < 3; i++)
                        if (!isfinite(g.center[e][i]) || !isfinite(g.normal[e][i]) || !isfinite(g.point[i]))
                                abort();
        return 0;
}
