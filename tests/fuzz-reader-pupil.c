/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the Pupil Player export reader (gaze_positions.csv):
 * the input as a file, opened as "pupil" and as "auto", read to the end.
 * Times must not go back; every failure names its problem; a channel is a
 * finite value or NaN.
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <sys/mman.h>

#include "deepactif.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_all(da_reader *r) {
        da_frame fr;
        da_error err = {};
        uint64_t last = 0;
        int k;

        while ((k = da_reader_next(r, &fr, &err)) > 0) {
                if (fr.time_us < last)
                        abort();
                last = fr.time_us;
                for (unsigned c = 0; c < _DA_CH_MAX; c++)
                        if (isinf(fr.ch[c]))
                                abort();
        }
        if (k < 0 && err.message[0] == 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const da_recording_format formats[] = { DA_REC_PUPIL, DA_REC_AUTO };
        _cleanup_close_ int fd = -1;
        char path[64];

        fd = memfd_create("fuzz-reader-pupil", MFD_CLOEXEC);
        if (fd < 0 || write(fd, data, size) != (ssize_t) size)
                return 0;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                da_reader *r = NULL;
                da_error err = {};

                if (da_reader_open(path, formats[i], &r, &err) >= 0) {
                        read_all(r);
                        da_reader_free(r);
                } else if (err.message[0] == 0 && formats[i] == DA_REC_PUPIL && size > 0)
                        abort();
        }
        return 0;
}
