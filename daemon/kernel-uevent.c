/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include "kernel-uevent.h"
#include "log.h"
#include "util.h"

/* The kernel's multicast group; udevd re-broadcasts on group 2. */
#define UEVENT_GROUP_KERNEL 1u
/* The kernel's UEVENT_BUFFER_SIZE is 2048; leave room. */
#define UEVENT_MAX 8192

struct KernelUevent {
        int fd;
        sd_event_source *io;
        char *subsystem;
        kernel_uevent_handler_t handler;
        void *userdata;
};

bool kernel_uevent_udev_running(void) {
        return access("/run/udev/control", F_OK) >= 0;
}

KernelUevent *kernel_uevent_free(KernelUevent *k) {
        if (!k)
                return NULL;
        sd_event_source_disable_unref(k->io);
        if (k->fd >= 0)
                close(k->fd);
        free(k->subsystem);
        return mfree(k);
}

/* "ACTION@DEVPATH\0KEY=VALUE\0..." */
static void dispatch(KernelUevent *k, const char *buf, size_t n) {
        const char *action = NULL, *subsystem = NULL, *devname = NULL;
        _cleanup_free_ char *devnode = NULL;
        size_t i = strnlen(buf, n) + 1;

        if (!memchr(buf, '@', i > n ? n : i))
                return;
        while (i < n) {
                const char *kv = buf + i;
                size_t l = strnlen(kv, n - i);

                if (i + l >= n)
                        break;          /* unterminated: ignore the tail */
                if (has_prefix(kv, "ACTION="))
                        action = kv + strlen("ACTION=");
                else if (has_prefix(kv, "SUBSYSTEM="))
                        subsystem = kv + strlen("SUBSYSTEM=");
                else if (has_prefix(kv, "DEVNAME="))
                        devname = kv + strlen("DEVNAME=");
                i += l + 1;
        }
        if (!action || !subsystem || !devname || !streq(subsystem, k->subsystem))
                return;
        if (asprintf(&devnode, "/dev/%s", devname) < 0) {
                log_oom();
                return;
        }
        if (streq(action, "add"))
                k->handler(SD_DEVICE_ADD, devnode, k->userdata);
        else if (streq(action, "remove"))
                k->handler(SD_DEVICE_REMOVE, devnode, k->userdata);
}

static int on_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        KernelUevent *k = userdata;
        char buf[UEVENT_MAX + 1];

        for (;;) {
                struct sockaddr_nl sender = {};
                struct iovec iov = { .iov_base = buf, .iov_len = UEVENT_MAX };
                struct msghdr mh = { .msg_name = &sender, .msg_namelen = sizeof sender, .msg_iov = &iov, .msg_iovlen = 1 };
                ssize_t l = recvmsg(fd, &mh, MSG_DONTWAIT);

                if (l < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        /* ENOBUFS: events were lost; the nodes' own reads still notice removal. */
                        if (errno == ENOBUFS)
                                continue;
                        log_warning_errno(errno, "Failed to read kernel uevents, hotplug disabled: %m");
                        k->io = sd_event_source_disable_unref(k->io);
                        return 0;
                }
                /* Only the kernel itself (port 0) speaks on this group. */
                if (sender.nl_pid != 0 || (mh.msg_flags & MSG_TRUNC))
                        continue;
                buf[l] = '\0';
                dispatch(k, buf, (size_t) l);
        }
}

int kernel_uevent_new(sd_event *event, const char *subsystem, kernel_uevent_handler_t handler, void *userdata,
                      KernelUevent **ret) {
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = UEVENT_GROUP_KERNEL };
        _cleanup_(kernel_uevent_freep) KernelUevent *k = NULL;
        int r;

        k = calloc(1, sizeof *k);
        if (!k)
                return -ENOMEM;
        k->fd = -1;
        k->handler = handler;
        k->userdata = userdata;
        k->subsystem = strdup(subsystem);
        if (!k->subsystem)
                return -ENOMEM;
        k->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
        if (k->fd < 0)
                return -errno;
        if (bind(k->fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        r = sd_event_add_io(event, &k->io, k->fd, EPOLLIN, on_readable, k);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}
