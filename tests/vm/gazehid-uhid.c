/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * gazehid-uhid DESCRIPTOR: plugs in a uhid eye tracker with the GazeHid
 * report descriptor read from DESCRIPTOR and sends the trajectory of
 * gazehid.h at 100 Hz until SIGTERM or SIGINT, then unplugs it. The system
 * test (tests/vm-system/guest-test.sh) plugs and unplugs trackers with it.
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gazehid.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
        (void) sig;
        stop = 1;
}

int main(int argc, char *argv[]) {
        const struct timespec period = { .tv_nsec = 1000000000L / GAZEHID_RATE_HZ };
        struct sigaction sa = { .sa_handler = on_signal };
        uint8_t desc[4096], report[GAZEHID_REPORT_SIZE];
        size_t n;
        FILE *f;
        int fd, r;

        if (argc != 2) {
                fprintf(stderr, "Usage: %s DESCRIPTOR\n", argv[0]);
                return EXIT_FAILURE;
        }
        f = fopen(argv[1], "re");
        if (!f) {
                fprintf(stderr, "Failed to open '%s': %m\n", argv[1]);
                return EXIT_FAILURE;
        }
        n = fread(desc, 1, sizeof desc, f);
        fclose(f);

        /* No SA_RESTART: the signal ends the sleep. */
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        fd = uhid_create(desc, n, "deepactif-vm GazeHid");
        if (fd < 0) {
                fprintf(stderr, "Failed to create the uhid device: %s\n", strerror(-fd));
                return EXIT_FAILURE;
        }
        for (unsigned k = 0; !stop; k++) {
                gazehid_report(k, report);
                r = uhid_send(fd, report, sizeof report);
                if (r < 0) {
                        fprintf(stderr, "Failed to send report %u: %s\n", k, strerror(-r));
                        uhid_destroy(fd);
                        return EXIT_FAILURE;
                }
                uhid_service(fd);
                nanosleep(&period, NULL);
        }
        r = uhid_destroy(fd);
        if (r < 0) {
                fprintf(stderr, "Failed to destroy the uhid device: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
