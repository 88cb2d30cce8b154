/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the recording readers: the input as a file (readers
 * take paths; gzip is sniffed), read to the end as every format, and as a
 * generic CSV through a column map. Every frame's time must not go back.
 */
#include <fcntl.h>
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
        }
        if (k < 0 && err.message[0] == 0)
                abort();        /* every failure names its line */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const da_recording_format formats[] = {
                DA_REC_AUTO, DA_REC_ROBUSTVISION, DA_REC_TOBII, DA_REC_EYELINK,
        };
        static da_column_map *map;
        _cleanup_close_ int fd = -1;
        char path[64];

        if (!map && da_column_map_parse("time=t:ms,gaze.point.x=x,gaze.point.y=y:cm,target.depth=d", &map, NULL) < 0)
                abort();

        fd = memfd_create("fuzz-reader", MFD_CLOEXEC);
        if (fd < 0 || write(fd, data, size) != (ssize_t) size)
                return 0;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                da_reader *r = NULL;

                if (da_reader_open(path, formats[i], &r, NULL) >= 0) {
                        read_all(r);
                        da_reader_free(r);
                }
        }
        {
                da_reader *r = NULL;

                if (da_reader_open_csv(path, map, &r, NULL) >= 0) {
                        read_all(r);
                        da_reader_free(r);
                }
        }
        return 0;
}
