/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "export-pipe.h"

/* Snapshots formatted per wakeup: a few hundred KiB, then the loop's turn. */
#define PART_SNAPSHOTS 100

typedef struct ExportPipe {
        store_exporter *exporter;
        sd_event_source *source;
        int fd;
        char *buf;
        size_t size, done;
        bool finished;
} ExportPipe;

static void export_pipe_free(void *userdata) {
        ExportPipe *p = userdata;

        store_exporter_free(p->exporter);
        if (p->fd >= 0)
                close(p->fd);
        free(p->buf);
        free(p);
}

/* Ends the writer: the reader sees EOF. The destroy callback frees p. */
static int export_pipe_end(ExportPipe *p) {
        sd_event_source *s = p->source;

        /* Take the loop's reference back (set_floating(false) drops the
         * loop's one), then drop it: the source goes, p with it. */
        sd_event_source_ref(s);
        (void) sd_event_source_set_floating(s, false);
        sd_event_source_disable_unref(s);
        return 0;
}

static int next_part(ExportPipe *p) {
        da_error err = {};
        FILE *f;
        int r;

        p->buf = mfree(p->buf);
        p->size = p->done = 0;
        f = open_memstream(&p->buf, &p->size);
        if (!f)
                return -errno;
        r = store_exporter_next(p->exporter, PART_SNAPSHOTS, f, &err);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r == 0)
                p->finished = true;
        return r;
}

static int on_writable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ExportPipe *p = userdata;
        ssize_t n;

        if (p->done == p->size) {
                if (p->finished || next_part(p) < 0)
                        return export_pipe_end(p);
        }
        n = write(fd, p->buf + p->done, p->size - p->done);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : export_pipe_end(p);
        p->done += (size_t) n;
        if (p->done == p->size && p->finished)
                return export_pipe_end(p);
        return 0;
}

int export_pipe_start(sd_event *event, store *s, const store_query *q, store_export_format format, int *ret_fd) {
        ExportPipe *p;
        int fds[2], r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->fd = -1;
        r = store_exporter_new(s, q, format, &p->exporter);
        if (r < 0) {
                export_pipe_free(p);
                return r;
        }
        if (pipe2(fds, O_CLOEXEC) < 0) {
                r = -errno;
                export_pipe_free(p);
                return r;
        }
        p->fd = fds[1];
        if (fcntl(p->fd, F_SETFL, O_NONBLOCK) < 0) {
                r = -errno;
                close(fds[0]);
                export_pipe_free(p);
                return r;
        }
        r = sd_event_add_io(event, &p->source, p->fd, EPOLLOUT, on_writable, p);
        if (r < 0) {
                close(fds[0]);
                export_pipe_free(p);
                return r;
        }
        /* The event loop owns the writer from now on. */
        (void) sd_event_source_set_destroy_callback(p->source, export_pipe_free);
        (void) sd_event_source_set_floating(p->source, true);
        sd_event_source_unref(p->source);
        *ret_fd = fds[0];
        return 0;
}
