/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <linux/uhid.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gazehid.h"

Gaze gaze_trajectory(unsigned k) {
        double t = (double) k / GAZEHID_RATE_HZ, w = 2 * M_PI;

        return (Gaze) {
                .point = { 0.20 * sin(w * 0.5 * t), 0.10 * cos(w * 0.4 * t) },
                .left = { -0.032 + 0.006 * sin(w * 0.3 * t), 0.015 + 0.002 * sin(w * 0.7 * t),
                          0.60 + 0.05 * sin(w * 0.2 * t) },
                .right = { 0.031 + 0.004 * cos(w * 0.35 * t), 0.014 + 0.002 * cos(w * 0.6 * t),
                           0.60 + 0.03 * cos(w * 0.25 * t) },
        };
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes) {
        for (unsigned i = 0; i < bytes; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static void put_um(uint8_t *p, double metres) {
        put_le(p, (uint32_t) (int32_t) lround(metres * 1e6), 4);
}

/* By GazeHid's layout (../shared/data/real/README.md). */
void gazehid_report(unsigned k, uint8_t report[static GAZEHID_REPORT_SIZE]) {
        Gaze g = gaze_trajectory(k);

        memset(report, 0, GAZEHID_REPORT_SIZE);
        report[0] = GAZEHID_REPORT_ID;
        put_le(report + 1, 1000000 + (uint64_t) k * (1000000 / GAZEHID_RATE_HZ), 8);
        put_um(report + 9, g.point[0]);
        put_um(report + 13, g.point[1]);
        for (unsigned i = 0; i < 3; i++) {
                put_um(report + 17 + 4 * i, g.left[i]);
                put_um(report + 29 + 4 * i, g.right[i]);
        }
}

static int write_event(int fd, const struct uhid_event *ev) {
        ssize_t l = write(fd, ev, sizeof *ev);

        if (l < 0)
                return -errno;
        return l == (ssize_t) sizeof *ev ? 0 : -EIO;
}

int uhid_create(const uint8_t *desc, size_t n, const char *name) {
        struct uhid_event ev = { .type = UHID_CREATE2 };
        int fd, r;

        if (n > sizeof ev.u.create2.rd_data)
                return -EINVAL;
        fd = open("/dev/uhid", O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        snprintf((char *) ev.u.create2.name, sizeof ev.u.create2.name, "%s", name);
        memcpy(ev.u.create2.rd_data, desc, n);
        ev.u.create2.rd_size = (uint16_t) n;
        ev.u.create2.bus = BUS_USB;
        ev.u.create2.vendor = 0x045e;
        ev.u.create2.product = 0x0dea;
        r = write_event(fd, &ev);
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

/* No reader of feature reports should wait for its timeout; this tracker has
 * none to give. */
void uhid_service(int fd) {
        struct uhid_event ev;

        while (read(fd, &ev, sizeof ev) > 0) {
                struct uhid_event reply = {};

                if (ev.type == UHID_GET_REPORT) {
                        reply.type = UHID_GET_REPORT_REPLY;
                        reply.u.get_report_reply.id = ev.u.get_report.id;
                        reply.u.get_report_reply.err = EIO;
                } else if (ev.type == UHID_SET_REPORT) {
                        reply.type = UHID_SET_REPORT_REPLY;
                        reply.u.set_report_reply.id = ev.u.set_report.id;
                } else
                        continue;
                (void) write_event(fd, &reply);
        }
}

int uhid_send(int fd, const uint8_t *report, size_t n) {
        struct uhid_event ev = { .type = UHID_INPUT2 };

        if (n > sizeof ev.u.input2.data)
                return -EINVAL;
        memcpy(ev.u.input2.data, report, n);
        ev.u.input2.size = (uint16_t) n;
        return write_event(fd, &ev);
}

int uhid_destroy(int fd) {
        struct uhid_event ev = { .type = UHID_DESTROY };
        int r = write_event(fd, &ev);

        close(fd);
        return r;
}
