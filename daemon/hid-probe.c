/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * deepactif-hid-probe: a udev helper for 70-deepactif.rules. udev cannot
 * read a HID report descriptor itself; given the sysfs path of a hidraw or
 * evdev node, this walks up to the HID device, parses its report_descriptor
 * and prints ID_DEEPACTIF_EYETRACKER=1 when an application collection lies
 * on the Eye and Head Trackers usage page (0x12, HUTRR74).
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hid-descriptor.h"

#define HID_USAGE_PAGE_EYE_HEAD_TRACKERS 0x12
#define PROBE_MAX_DESCRIPTOR 4096       /* the kernel's HID_MAX_DESCRIPTOR_SIZE */
#define PROBE_MAX_LEVELS 16

static bool descriptor_is_eyetracker(const HidDescriptor *d) {
        for (size_t i = 0; i < d->n_collections; i++)
                if (d->collections[i].type == HID_COLLECTION_APPLICATION &&
                    HID_USAGE_PAGE(d->collections[i].usage) == HID_USAGE_PAGE_EYE_HEAD_TRACKERS)
                        return true;
        return false;
}

/* The nearest report_descriptor at or above the node's sysfs directory. */
static int open_descriptor(const char *syspath) {
        char dir[PATH_MAX], path[PATH_MAX + 32];

        if (strlen(syspath) >= sizeof dir)
                return -ENAMETOOLONG;
        strcpy(dir, syspath);
        for (unsigned level = 0; level < PROBE_MAX_LEVELS; level++) {
                char *slash;
                int fd;

                snprintf(path, sizeof path, "%s/report_descriptor", dir);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd >= 0)
                        return fd;
                if (errno != ENOENT)
                        return -errno;
                slash = strrchr(dir, '/');
                if (!slash || slash == dir)
                        break;
                *slash = '\0';
        }
        return -ENOENT;
}

static int probe(const char *syspath, bool *ret) {
        _cleanup_(hid_descriptor_freep) HidDescriptor *d = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint8_t buf[PROBE_MAX_DESCRIPTOR + 1];
        size_t n = 0;
        da_error err = {};
        int r;

        fd = open_descriptor(syspath);
        if (fd < 0)
                return fd;
        for (;;) {
                ssize_t l = read(fd, buf + n, sizeof buf - n);

                if (l < 0)
                        return -errno;
                if (l == 0)
                        break;
                n += (size_t) l;
                if (n > PROBE_MAX_DESCRIPTOR)
                        return -EFBIG;
        }
        r = hid_descriptor_parse(buf, n, &d, &err);
        if (r < 0)
                return r;
        *ret = descriptor_is_eyetracker(d);
        return 0;
}

int main(int argc, char *argv[]) {
        bool yes = false;
        int r;

        if (argc != 2) {
                fprintf(stderr, "Usage: %s SYSFS-PATH\n", program_invocation_short_name);
                return EXIT_FAILURE;
        }
        r = probe(argv[1], &yes);
        /* Not a HID device, or a descriptor we cannot parse: not ours, and
         * nothing for udev to log. */
        if (r < 0)
                return EXIT_SUCCESS;
        if (yes)
                puts("ID_DEEPACTIF_EYETRACKER=1");
        return EXIT_SUCCESS;
}
