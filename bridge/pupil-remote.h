/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Pupil Capture's Network API through libzmq: Pupil Remote, a REQ socket at
 * tcp://HOST:PORT, answers "SUB_PORT" with the port of its IPC backbone's
 * PUB socket and "t" with the current Pupil time; a SUB socket on
 * tcp://HOST:SUB_PORT then receives multipart messages [topic, msgpack
 * payload, ...]. A REQ socket left without an answer cannot be used again,
 * so any failure closes both sockets and the next connect starts over.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct PupilRemote PupilRemote;

/* address is tcp://HOST:PORT; -EINVAL for anything else. */
int pupil_remote_new(const char *address, const char *topic, PupilRemote **ret);
PupilRemote *pupil_remote_free(PupilRemote *p);

/* Asks for SUB_PORT, subscribes, and measures the offset from Pupil time to
 * CLOCK_MONOTONIC with a "t" request; each request waits at most
 * timeout_ms. On failure everything is closed again. */
int pupil_remote_connect(PupilRemote *p, int timeout_ms);
void pupil_remote_disconnect(PupilRemote *p);
bool pupil_remote_connected(const PupilRemote *p);
unsigned pupil_remote_sub_port(const PupilRemote *p);
/* CLOCK_MONOTONIC µs minus Pupil time µs, as measured at connect. */
int64_t pupil_remote_offset_us(const PupilRemote *p);

/* A "SUB_PORT" round trip: 0 when Pupil Remote answers within timeout_ms
 * with the port we subscribe on, -ESTALE when it names another one (Pupil
 * Capture restarted). */
int pupil_remote_ping(PupilRemote *p, int timeout_ms);

/* Waits up to timeout_ms for a message: 1 with the topic (NUL-terminated,
 * truncated to topic_size) and the payload, which stays valid until the
 * next call; 0 on timeout; -EINTR when a signal came; other negative errno
 * on failure. Frames after the payload are discarded. */
int pupil_remote_receive(PupilRemote *p, int timeout_ms, char *topic, size_t topic_size,
                         const void **ret_payload, size_t *ret_size);

uint64_t now_monotonic_us(void);
