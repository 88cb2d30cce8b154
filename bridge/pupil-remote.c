/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "pupil-remote.h"
#include "util.h"

struct PupilRemote {
        void *ctx;
        void *req, *sub;
        char *address;                  /* tcp://HOST:PORT */
        char *host;                     /* tcp://HOST */
        char *topic;
        unsigned sub_port;
        int64_t offset_us;
        zmq_msg_t payload;
};

uint64_t now_monotonic_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

int pupil_remote_new(const char *address, const char *topic, PupilRemote **ret) {
        PupilRemote *p;
        const char *colon;
        char *end;
        unsigned long port;

        if (strncmp(address, "tcp://", 6) != 0)
                return -EINVAL;
        colon = strrchr(address, ':');
        if (!colon || colon < address + 7)
                return -EINVAL;
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (colon[1] == '\0' || *end != '\0' || errno != 0 || port == 0 || port > 65535)
                return -EINVAL;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        zmq_msg_init(&p->payload);
        p->address = strdup(address);
        p->host = strndup(address, (size_t) (colon - address));
        p->topic = strdup(topic);
        p->ctx = zmq_ctx_new();
        if (!p->address || !p->host || !p->topic || !p->ctx) {
                pupil_remote_free(p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

PupilRemote *pupil_remote_free(PupilRemote *p) {
        if (!p)
                return NULL;
        pupil_remote_disconnect(p);
        zmq_msg_close(&p->payload);
        if (p->ctx)
                zmq_ctx_term(p->ctx);
        free(p->address);
        free(p->host);
        free(p->topic);
        return mfree(p);
}

void pupil_remote_disconnect(PupilRemote *p) {
        if (p->req)
                zmq_close(p->req);
        if (p->sub)
                zmq_close(p->sub);
        p->req = p->sub = NULL;
}

bool pupil_remote_connected(const PupilRemote *p) {
        return p->sub;
}

unsigned pupil_remote_sub_port(const PupilRemote *p) {
        return p->sub_port;
}

int64_t pupil_remote_offset_us(const PupilRemote *p) {
        return p->offset_us;
}

static int set_timeouts(void *s, int timeout_ms) {
        int linger = 0;

        if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
            zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms) < 0 ||
            zmq_setsockopt(s, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms) < 0)
                return -errno;
        return 0;
}

/* One request and its answer as a NUL-terminated string. */
static int request(PupilRemote *p, const char *what, char *ret, size_t size) {
        int n;

        if (zmq_send(p->req, what, strlen(what), 0) < 0)
                return -errno;
        n = zmq_recv(p->req, ret, size - 1, 0);
        if (n < 0)
                return -errno;
        ret[MIN((size_t) n, size - 1)] = '\0';
        return 0;
}

/* Pupil time now, as the midpoint of the round trip on CLOCK_MONOTONIC. */
static int pupil_time(PupilRemote *p, int64_t *ret_offset_us) {
        char buf[64], *end;
        uint64_t t0, t1;
        double t;
        int r;

        t0 = now_monotonic_us();
        r = request(p, "t", buf, sizeof buf);
        if (r < 0)
                return r;
        t1 = now_monotonic_us();
        errno = 0;
        t = strtod(buf, &end);
        if (end == buf || *end != '\0' || errno != 0 || !isfinite(t) || fabs(t) > 1e12)
                return -EBADMSG;
        if (ret_offset_us)
                *ret_offset_us = (int64_t) (t0 + (t1 - t0) / 2) - llround(t * 1e6);
        return 0;
}

int pupil_remote_ping(PupilRemote *p, int timeout_ms) {
        char buf[64], *end;
        unsigned long port;
        int r;

        if (!p->req)
                return -ENOTCONN;
        if (set_timeouts(p->req, timeout_ms) < 0)
                return -errno;
        r = request(p, "SUB_PORT", buf, sizeof buf);
        if (r < 0)
                return r;
        /* A restarted Pupil Capture answers on the same address but
         * publishes on a new port, where our subscription is not. */
        errno = 0;
        port = strtoul(buf, &end, 10);
        if (buf[0] == '\0' || *end != '\0' || errno != 0 || port != p->sub_port)
                return -ESTALE;
        return 0;
}

int pupil_remote_connect(PupilRemote *p, int timeout_ms) {
        _cleanup_free_ char *sub_address = NULL;
        char buf[64], *end;
        unsigned long port;
        int r;

        pupil_remote_disconnect(p);
        p->req = zmq_socket(p->ctx, ZMQ_REQ);
        if (!p->req)
                return -errno;
        r = set_timeouts(p->req, timeout_ms);
        if (r >= 0 && zmq_connect(p->req, p->address) < 0)
                r = -errno;
        if (r >= 0)
                r = request(p, "SUB_PORT", buf, sizeof buf);
        if (r < 0)
                goto fail;
        errno = 0;
        port = strtoul(buf, &end, 10);
        if (buf[0] == '\0' || *end != '\0' || errno != 0 || port == 0 || port > 65535) {
                r = -EBADMSG;
                goto fail;
        }
        p->sub_port = (unsigned) port;
        if (asprintf(&sub_address, "%s:%u", p->host, p->sub_port) < 0) {
                r = -ENOMEM;
                goto fail;
        }

        p->sub = zmq_socket(p->ctx, ZMQ_SUB);
        if (!p->sub) {
                r = -errno;
                goto fail;
        }
        r = set_timeouts(p->sub, timeout_ms);
        if (r >= 0 && (zmq_setsockopt(p->sub, ZMQ_SUBSCRIBE, p->topic, strlen(p->topic)) < 0 ||
                       zmq_connect(p->sub, sub_address) < 0))
                r = -errno;
        if (r >= 0)
                r = pupil_time(p, &p->offset_us);
        if (r < 0)
                goto fail;
        return 0;
fail:
        pupil_remote_disconnect(p);
        return r;
}

int pupil_remote_receive(PupilRemote *p, int timeout_ms, char *topic, size_t topic_size,
                         const void **ret_payload, size_t *ret_size) {
        zmq_pollitem_t item = { .socket = p->sub, .events = ZMQ_POLLIN };
        zmq_msg_t part;
        int more = 0, n, r;
        size_t more_size = sizeof more;

        if (!p->sub)
                return -ENOTCONN;
        r = zmq_poll(&item, 1, timeout_ms);
        if (r < 0)
                return -errno;
        if (r == 0)
                return 0;

        n = zmq_recv(p->sub, topic, topic_size - 1, ZMQ_DONTWAIT);
        if (n < 0)
                return errno == EAGAIN ? 0 : -errno;
        topic[MIN((size_t) n, topic_size - 1)] = '\0';

        if (zmq_getsockopt(p->sub, ZMQ_RCVMORE, &more, &more_size) < 0)
                return -errno;
        zmq_msg_close(&p->payload);
        zmq_msg_init(&p->payload);
        if (more && zmq_msg_recv(&p->payload, p->sub, 0) < 0)
                return -errno;
        /* Pupil may append raw-data frames; they are not used here. A
         * topic without payload gives an empty one. */
        more = more && zmq_msg_more(&p->payload);
        while (more) {
                zmq_msg_init(&part);
                r = zmq_msg_recv(&part, p->sub, 0);
                r = r < 0 ? -errno : 0;
                more = r >= 0 && zmq_msg_more(&part);
                zmq_msg_close(&part);
                if (r < 0)
                        return r;
        }
        *ret_payload = zmq_msg_data(&p->payload);
        *ret_size = zmq_msg_size(&p->payload);
        return 1;
}
