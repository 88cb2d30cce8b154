/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A varlink server (https://varlink.org) on an sd-event loop: a Unix stream
 * socket, NUL-terminated JSON messages, one interface plus
 * org.varlink.service (GetInfo, GetInterfaceDescription).
 *
 * Each connection handles one call at a time, in order; a call with
 * "more": true stays pending while the method streams replies with
 * varlink_notify(), until varlink_reply()/varlink_error() or the client
 * hangs up. Writes never block: each connection has its own output buffer.
 *
 * A message that is not valid varlink (bad JSON, no method, oversized) gets
 * PROTOCOL_ERROR and the connection is closed once the error is written;
 * MethodNotFound, InterfaceNotFound and InvalidParameter leave the
 * connection usable, as the varlink specification intends.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "util.h"

#define VARLINK_MESSAGE_MAX_DEFAULT (64u * 1024u)
#define VARLINK_CLIENTS_MAX_DEFAULT 256u
/* A client that reads slower than we write is disconnected once this much
 * waits for it: a bound on what each connection may cost. */
#define VARLINK_OUTPUT_MAX_DEFAULT (1024u * 1024u)
/* A connection without a pending call is closed after this long without
 * traffic; when all slots are taken, the longest idle one makes room. */
#define VARLINK_IDLE_TIMEOUT_USEC_DEFAULT (60u * 1000000u)

#define VARLINK_ERROR_INTERFACE_NOT_FOUND "org.varlink.service.InterfaceNotFound"
#define VARLINK_ERROR_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define VARLINK_ERROR_INVALID_PARAMETER "org.varlink.service.InvalidParameter"

typedef struct VarlinkServer VarlinkServer;
typedef struct VarlinkCall VarlinkCall;

/* A method's implementation. It answers with varlink_reply() or
 * varlink_error(), now or later (the call stays pending until then), and
 * returns 0; a negative return makes the server answer with the
 * interface's error for internal failures. parameters is always an object. */
typedef int (*varlink_method_fn)(VarlinkCall *call, json_object *parameters, void *userdata);

typedef struct VarlinkMethod {
        const char *name;               /* without the interface, e.g. "GetStatus" */
        varlink_method_fn fn;
} VarlinkMethod;

typedef struct VarlinkInterface {
        const char *name;               /* e.g. "io.deepactif.Daemon" */
        const char *description;        /* the interface description text */
        const VarlinkMethod *methods;   /* terminated by { NULL } */
        const char *protocol_error;     /* sent for malformed messages, e.g. "….ProtocolError" */
        const char *internal_error;     /* sent when a method returns < 0 */
} VarlinkInterface;

typedef struct VarlinkInfo {
        const char *vendor, *product, *version, *url;
} VarlinkInfo;

/* ---- the message parser (no I/O; fuzzed) -------------------------------- */

typedef struct VarlinkMessage {
        char *method;                   /* fully qualified: "interface.Method" */
        json_object *parameters;        /* an object, never NULL */
        bool more, oneway;
} VarlinkMessage;

void varlink_message_done(VarlinkMessage *m);
/* Parses one message (without its NUL terminator). On failure returns
 * -EBADMSG and, when ret_reason is given, a static text saying why. */
int varlink_message_parse(const char *data, size_t size, VarlinkMessage *ret, const char **ret_reason);

/* ---- the server --------------------------------------------------------- */

int varlink_server_new(sd_event *event, const VarlinkInterface *iface, const VarlinkInfo *info,
                       void *userdata, VarlinkServer **ret);
VarlinkServer *varlink_server_free(VarlinkServer *s);

void varlink_server_set_limits(VarlinkServer *s, size_t max_clients, size_t max_message);
/* Bytes that may wait for one client; 0 restores the default. */
void varlink_server_set_output_max(VarlinkServer *s, size_t max_output);
/* 0 restores the default. */
void varlink_server_set_idle_timeout(VarlinkServer *s, uint64_t usec);

/* Connections the server closed on its own, by cause. */
typedef enum VarlinkDrop {
        VARLINK_DROP_OVERFLOW,          /* did not read what it asked for */
        VARLINK_DROP_IDLE,              /* no call and no traffic for the idle timeout */
        VARLINK_DROP_EVICTED,           /* the longest idle one, to let a newcomer in */
} VarlinkDrop;

typedef struct VarlinkStats {
        uint64_t overflows, idle_closed, evicted;
} VarlinkStats;

void varlink_server_get_stats(const VarlinkServer *s, VarlinkStats *ret);
/* Called for each connection the server closes on its own, for logging. */
typedef void (*varlink_drop_fn)(VarlinkServer *s, VarlinkDrop why, uid_t uid, void *userdata);
void varlink_server_set_drop_callback(VarlinkServer *s, varlink_drop_fn fn, void *userdata);

/* Serves a listening socket; the server owns fd afterwards, even on failure. */
int varlink_server_listen_fd(VarlinkServer *s, int fd);
/* The group listen_path() gives the socket file ((gid_t) -1: the
 * process's), set before the socket listens. */
void varlink_server_set_socket_group(VarlinkServer *s, gid_t gid);
/* Binds path (replacing a stale socket there) with mode, creating the
 * parent directory; the socket file is removed again by _free(). The mode
 * and group are in place before anyone can connect. */
int varlink_server_listen_path(VarlinkServer *s, const char *path, mode_t mode);
/* The socket systemd passed (sd_listen_fds, a stream socket bound to path
 * or the only one passed) when there is one, else listen_path(). */
int varlink_server_listen_auto(VarlinkServer *s, const char *path, mode_t mode);

unsigned varlink_server_n_clients(const VarlinkServer *s);

/* Calls fn for every pending call of method (fully qualified) that asked
 * for "more"; fn may reply or notify. */
typedef void (*varlink_call_fn)(VarlinkCall *call, json_object *parameters, void *userdata);
void varlink_server_foreach_pending(VarlinkServer *s, const char *method, varlink_call_fn fn, void *userdata);

/* ---- answering a call --------------------------------------------------- */

/* All take ownership of parameters (NULL means {}). reply and error end the
 * call; notify sends {"continues": true} and is only valid with "more". */
int varlink_reply(VarlinkCall *call, json_object *parameters);
int varlink_notify(VarlinkCall *call, json_object *parameters);
int varlink_error(VarlinkCall *call, const char *error, json_object *parameters);
/* The same notification for many calls (a Watch fan-out): serialized once
 * by varlink_notification_format() (parameters stay the caller's; *ret is
 * freed with free()), queued as is by varlink_notify_text(). */
int varlink_notification_format(json_object *parameters, char **ret);
int varlink_notify_text(VarlinkCall *call, const char *text);
int varlink_error_invalid_parameter(VarlinkCall *call, const char *parameter);

bool varlink_call_more(const VarlinkCall *call);

/* For a reply streamed in parts ("more"): fn is called each time the
 * connection has written everything queued, until the call ends; it queues
 * the next part with varlink_notify() or ends the call. So a slow reader
 * slows the producer instead of growing the queue. destroy (may be NULL)
 * frees userdata when the call ends or the client goes away. */
typedef void (*varlink_drain_fn)(VarlinkCall *call, void *userdata);
void varlink_call_set_drain(VarlinkCall *call, varlink_drain_fn fn, void *userdata, void (*destroy)(void *userdata));
/* SO_PEERCRED of the caller's connection. */
int varlink_call_get_peer_uid(const VarlinkCall *call, uid_t *ret);

DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkServer *, varlink_server_free);
