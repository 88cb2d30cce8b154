/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for deepactifd.conf: the input as a configuration file
 * (and its drop-in directory, empty) through config_load(). A bad file must
 * leave the result untouched; a good one must hold sane values.
 */
#include <stdio.h>
#include <sys/stat.h>

/* the daemon's, not the build's config.h of the same name */
#include "../daemon/config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static char dir[] = "/tmp/fuzz-config.XXXXXX";
        static bool ready;
        char path[sizeof(dir) + 32];
        Config c;
        FILE *f;
        int r;

        if (!ready) {
                if (!mkdtemp(dir))
                        abort();
                log_set_max_level(LOG_CRIT);    /* every bad line is logged: keep the fuzzer quiet */
                ready = true;
        }
        snprintf(path, sizeof(path), "%s/deepactifd.conf", dir);
        f = fopen(path, "we");
        if (!f)
                abort();
        fwrite(data, 1, size, f);
        fclose(f);

        config_init(&c);
        c.rolling_windows = 7;  /* a marker: a failed load must leave it */
        r = config_load(path, &c);
        if (r < 0 && c.rolling_windows != 7)
                abort();
        if (r >= 0 && (c.rolling_windows == 0 || c.ranking_interval_usec == 0 || c.flush_interval_usec == 0))
                abort();
        config_done(&c);
        return 0;
}
