/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "source.h"

Source *source_free(Source *s) {
        if (s)
                s->vtable->free(s);
        return NULL;
}

uint64_t replay_due_usec(const ReplayOptions *o, uint64_t start_mono_us, uint64_t first_frame_us, uint64_t frame_us) {
        double factor = o->speed == REPLAY_SPEED_FACTOR ? o->speed_factor : 1.0;
        uint64_t dt = frame_us > first_frame_us ? frame_us - first_frame_us : 0;

        return start_mono_us + (uint64_t) ((double) dt / factor);
}
