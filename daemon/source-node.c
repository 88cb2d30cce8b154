/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>

#include "device-watch.h"
#include "log.h"
#include "source-node.h"

typedef struct NodeSource {
        Source base;
        const NodeKind *kind;
        DeviceWatch *watch;
        LIST_HEAD(Node, nodes);
} NodeSource;

static bool has_prefix(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_listed(const Config *c, const char *devnode) {
        for (char **p = c->devices; p && *p; p++)
                if (streq(*p, devnode))
                        return true;
        return false;
}

static Node *node_free(Node *n) {
        NodeSource *s;
        const SourceSink *sink;

        if (!n)
                return NULL;
        s = (NodeSource *) n->source;
        sink = &s->base.context->sink;
        LIST_REMOVE(nodes, s->nodes, n);
        sd_event_source_disable_unref(n->io);
        if (n->device)
                sink->remove(sink->userdata, n->device);
        if (n->kind->done)
                n->kind->done(n);
        if (n->fd >= 0)
                close(n->fd);
        free(n->devnode);
        return mfree(n);
}

static Node *node_find(NodeSource *s, const char *devnode) {
        LIST_FOREACH(nodes, n, s->nodes)
                if (streq(n->devnode, devnode))
                        return n;
        return NULL;
}

static int on_readable(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Node *n = userdata;

        if (n->kind->read(n) < 0)
                node_free(n);
        return 0;
}

static int node_add(NodeSource *s, const char *devnode, const char *stable_id) {
        const SourceContext *ctx = s->base.context;
        _cleanup_free_ char *name = NULL;
        uint64_t channels = 0;
        Node *n;
        int r;

        if (node_find(s, devnode))
                return 0;

        n = calloc(1, s->kind->size);
        if (!n)
                return log_oom();
        n->source = &s->base;
        n->kind = s->kind;
        n->fd = -1;
        LIST_PREPEND(nodes, s->nodes, n);
        n->devnode = strdup(devnode);
        if (!n->devnode) {
                r = log_oom();
                goto fail;
        }
        n->fd = open(devnode, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (n->fd < 0) {
                r = log_warning_errno(errno, "Failed to open %s: %m", devnode);
                goto fail;
        }
        r = s->kind->setup(n, stable_id, &name, &channels);
        if (r < 0)
                goto fail;
        r = ctx->sink.add(ctx->sink.userdata, name, s->kind->vtable.name, channels, &n->device);
        if (r < 0)
                goto fail;
        r = sd_event_add_io(ctx->event, &n->io, n->fd, EPOLLIN, on_readable, n);
        if (r < 0) {
                log_error_errno(r, "Failed to watch %s: %m", devnode);
                goto fail;
        }
        log_info("Watching %s eye tracker %s (%s).", s->kind->label, devnode, name);
        return 0;
fail:
        node_free(n);
        return r;
}

static void on_action(sd_device *d, const char *devnode, sd_device_action_t action, void *userdata) {
        NodeSource *s = userdata;
        const Config *c = s->base.context->config;

        if (action == SD_DEVICE_REMOVE) {
                node_free(node_find(s, devnode));
                return;
        }
        if (action != SD_DEVICE_ADD || !d)
                return;
        if (sd_device_get_devname(d, &devnode) < 0 || !has_prefix(devnode, s->kind->prefix))
                return;
        if (!is_listed(c, devnode) && !(c->discover && (!s->kind->discover || s->kind->discover(d))))
                return;
        (void) node_add(s, devnode, s->kind->stable_id ? s->kind->stable_id(d) : NULL);
}

void node_source_free(Source *base) {
        NodeSource *s = (NodeSource *) base;

        while (s->nodes)
                node_free(s->nodes);
        device_watch_free(s->watch);
        free(s);
}

int node_source_new(const SourceContext *ctx, const NodeKind *kind, Source **ret) {
        NodeSource *s;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return log_oom();
        s->base.vtable = &kind->vtable;
        s->base.context = ctx;
        s->kind = kind;

        /* Without udevd nothing is tagged: only Devices= paths are watched. */
        r = device_watch_new(ctx->event, kind->subsystem, on_action, s, &s->watch);
        if (r < 0) {
                node_source_free(&s->base);
                return r;
        }

        /* Listed nodes udev does not know (no udev at all) are opened as is. */
        for (char **p = ctx->config->devices; p && *p; p++)
                if (has_prefix(*p, kind->prefix) && access(*p, F_OK) >= 0)
                        (void) node_add(s, *p, NULL);

        *ret = &s->base;
        return 0;
}
