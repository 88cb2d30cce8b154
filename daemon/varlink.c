/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A varlink server on sd-event; see varlink.h. */

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "json-util.h"
#include "list.h"
#include "varlink.h"

#define SERVICE_INTERFACE "org.varlink.service"

static const char service_description[] =
        "# The Varlink Service Interface is provided by every varlink service. It\n"
        "# describes the service and the interfaces it implements.\n"
        "interface org.varlink.service\n"
        "\n"
        "# Get a list of all the interfaces a service provides and information\n"
        "# about the implementation.\n"
        "method GetInfo() -> (\n"
        "  vendor: string,\n"
        "  product: string,\n"
        "  version: string,\n"
        "  url: string,\n"
        "  interfaces: []string\n"
        ")\n"
        "\n"
        "# Get the description of an interface that is implemented by this service.\n"
        "method GetInterfaceDescription(interface: string) -> (description: string)\n"
        "\n"
        "# The requested interface was not found.\n"
        "error InterfaceNotFound (interface: string)\n"
        "\n"
        "# The requested method was not found\n"
        "error MethodNotFound (method: string)\n"
        "\n"
        "# The interface defines the requested method, but the service does not\n"
        "# implement it.\n"
        "error MethodNotImplemented (method: string)\n"
        "\n"
        "# One of the passed parameters is invalid.\n"
        "error InvalidParameter (parameter: string)\n";

typedef struct Connection Connection;

struct VarlinkCall {
        Connection *connection;
        bool pending, more, oneway;
        char *method;
        json_object *parameters;
        varlink_drain_fn drain;
        void *drain_userdata;
        void (*drain_destroy)(void *userdata);
};

struct Connection {
        VarlinkServer *server;
        LIST_FIELDS(Connection, connections);
        int fd;
        sd_event_source *io;
        uid_t uid;
        bool have_uid;

        char *in;                       /* max_message + 1 bytes: a message and its NUL */
        size_t in_size;
        char *out;
        size_t out_size, out_alloc, out_done;

        VarlinkCall call;
        bool closing;                   /* write what is queued, then close */
        bool eof;                       /* the client shut down its sending side */
        uint64_t active_usec;           /* CLOCK_MONOTONIC of the last traffic */
};

struct VarlinkServer {
        sd_event *event;
        const VarlinkInterface *iface;
        VarlinkInfo info;
        void *userdata;

        int listen_fd;
        sd_event_source *listen_source;
        char *socket_path;              /* bound by us: unlinked by _free() */
        gid_t socket_gid;

        LIST_HEAD(Connection, connections);
        unsigned n_connections;
        size_t max_clients, max_message, max_output;

        /* Frees connections that are done but get no more I/O events: a
         * client that does not read never makes its socket writable. */
        sd_event_source *reaper;
        sd_event_source *idle_timer;
        uint64_t idle_timeout_usec;

        VarlinkStats stats;
        varlink_drop_fn drop_cb;
        void *drop_userdata;
};

/* ---- messages ----------------------------------------------------------- */

void varlink_message_done(VarlinkMessage *m) {
        m->method = mfree(m->method);
        json_object_put(m->parameters);
        m->parameters = NULL;
}

static bool method_name_valid(const char *s) {
        const char *dot = strrchr(s, '.');

        /* "interface.Method": a reverse-domain interface, then a name that
         * starts with an upper-case letter and is alphanumeric. */
        if (!dot || dot == s || dot[1] < 'A' || dot[1] > 'Z')
                return false;
        for (const char *p = dot + 1; *p; p++)
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
                        return false;
        for (const char *p = s; p < dot; p++)
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                      *p == '.' || *p == '-'))
                        return false;
        return s[0] != '.' && dot[-1] != '.';
}

/* The keys of the outer object in JSON text that json-c accepted; json-c
 * keeps the last of duplicated keys, so counting is how to see them. */
static size_t count_top_level_keys(const char *data, size_t size) {
        size_t keys = 0;
        int depth = 0;
        bool in_string = false;

        for (size_t i = 0; i < size; i++) {
                char ch = data[i];

                if (in_string) {
                        if (ch == '\\')
                                i++;
                        else if (ch == '"')
                                in_string = false;
                        continue;
                }
                if (ch == '"') {
                        in_string = true;
                        /* A key is a string that opens the object or follows a comma in it. */
                        if (depth == 1) {
                                size_t j = i;

                                while (j > 0 && strchr(" \t\r\n", data[j - 1]))
                                        j--;
                                if (j > 0 && (data[j - 1] == '{' || data[j - 1] == ','))
                                        keys++;
                        }
                } else if (ch == '{' || ch == '[')
                        depth++;
                else if (ch == '}' || ch == ']')
                        depth--;
        }
        return keys;
}

static int bad_message(const char **ret_reason, const char *reason) {
        if (ret_reason)
                *ret_reason = reason;
        return -EBADMSG;
}

int varlink_message_parse(const char *data, size_t size, VarlinkMessage *ret, const char **ret_reason) {
        _cleanup_(json_object_putp) json_object *o = NULL, *params = NULL;
        _cleanup_free_ char *method = NULL;
        json_tokener *tok;
        json_object *v;
        bool more = false, oneway = false;
        size_t consumed;

        if (size == 0)
                return bad_message(ret_reason, "empty message");
        if (memchr(data, '\0', size))
                return bad_message(ret_reason, "NUL byte inside a message");
        if (size > INT32_MAX)
                return bad_message(ret_reason, "message too large");

        tok = json_tokener_new_ex(32);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, data, (int) size);
        consumed = json_tokener_get_parse_end(tok);
        if (!o || json_tokener_get_error(tok) != json_tokener_success) {
                json_tokener_free(tok);
                return bad_message(ret_reason, "not valid JSON");
        }
        json_tokener_free(tok);
        for (size_t i = consumed; i < size; i++)
                if (!strchr(" \t\r\n", data[i]))
                        return bad_message(ret_reason, "trailing data after the JSON object");

        if (!json_object_is_type(o, json_type_object))
                return bad_message(ret_reason, "message is not a JSON object");
        if (count_top_level_keys(data, consumed) != (size_t) json_object_object_length(o))
                return bad_message(ret_reason, "duplicate key in the message");
        if (!json_object_object_get_ex(o, "method", &v) || !json_object_is_type(v, json_type_string))
                return bad_message(ret_reason, "\"method\" is missing or not a string");
        if (!method_name_valid(json_object_get_string(v)))
                return bad_message(ret_reason, "\"method\" is not a qualified method name");
        method = strdup(json_object_get_string(v));
        if (!method)
                return -ENOMEM;

        if (json_object_object_get_ex(o, "parameters", &v) && !json_object_is_type(v, json_type_null)) {
                if (!json_object_is_type(v, json_type_object))
                        return bad_message(ret_reason, "\"parameters\" is not an object");
                params = json_object_get(v);
        }
        if (json_object_object_get_ex(o, "more", &v)) {
                if (!json_object_is_type(v, json_type_boolean))
                        return bad_message(ret_reason, "\"more\" is not a boolean");
                more = json_object_get_boolean(v);
        }
        if (json_object_object_get_ex(o, "oneway", &v)) {
                if (!json_object_is_type(v, json_type_boolean))
                        return bad_message(ret_reason, "\"oneway\" is not a boolean");
                oneway = json_object_get_boolean(v);
        }
        if (json_object_object_get_ex(o, "upgrade", &v) && json_object_get_boolean(v))
                return bad_message(ret_reason, "\"upgrade\" is not supported");
        if (more && oneway)
                return bad_message(ret_reason, "\"more\" and \"oneway\" exclude each other");
        if (!params) {
                params = json_object_new_object();
                if (!params)
                        return -ENOMEM;
        }

        *ret = (VarlinkMessage) {
                .method = TAKE_PTR(method),
                .parameters = TAKE_PTR(params),
                .more = more,
                .oneway = oneway,
        };
        return 0;
}

/* ---- connections -------------------------------------------------------- */

static void call_end(VarlinkCall *call) {
        if (call->drain_destroy)
                call->drain_destroy(call->drain_userdata);
        call->drain = NULL;
        call->drain_userdata = NULL;
        call->drain_destroy = NULL;
        call->pending = false;
        call->more = call->oneway = false;
        call->method = mfree(call->method);
        json_object_put(call->parameters);
        call->parameters = NULL;
}

static Connection *connection_free(Connection *c) {
        VarlinkServer *s;

        if (!c)
                return NULL;
        s = c->server;
        LIST_REMOVE(connections, s->connections, c);
        s->n_connections--;

        call_end(&c->call);
        sd_event_source_disable_unref(c->io);
        if (c->fd >= 0)
                close(c->fd);
        free(c->in);
        free(c->out);
        return mfree(c);
}

static bool connection_has_output(const Connection *c) {
        return c->out_size > c->out_done;
}

static int connection_update_events(Connection *c) {
        uint32_t events = 0;

        if (c->closing && !connection_has_output(c)) {
                /* Nothing more will come for it from epoll: free it soon. */
                (void) sd_event_source_set_enabled(c->server->reaper, SD_EVENT_ONESHOT);
                return sd_event_source_set_io_events(c->io, 0);
        }
        if (!c->closing && !c->eof && c->in_size <= c->server->max_message)
                events |= EPOLLIN;
        /* Also when a whole message waits and no call is pending (a call
         * ended outside our I/O handler), or a streaming call wants its next
         * part: the socket is writable at once, which wakes us. Never for
         * half a message: that would wake us for nothing until it completes. */
        if (connection_has_output(c) ||
            (!c->closing && !c->call.pending && c->in_size > 0 && memchr(c->in, '\0', c->in_size)) ||
            (!c->closing && c->call.pending && c->call.drain))
                events |= EPOLLOUT;
        return sd_event_source_set_io_events(c->io, events);
}

static void connection_drop(Connection *c, VarlinkDrop why) {
        VarlinkServer *s = c->server;

        switch (why) {
        case VARLINK_DROP_OVERFLOW:
                s->stats.overflows++;
                break;
        case VARLINK_DROP_IDLE:
                s->stats.idle_closed++;
                break;
        case VARLINK_DROP_EVICTED:
                s->stats.evicted++;
                break;
        }
        if (s->drop_cb)
                s->drop_cb(s, why, c->have_uid ? c->uid : (uid_t) -1, s->drop_userdata);
}

static const char *message_text(json_object *message) {
        return json_object_to_json_string_ext(message, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static int connection_queue_text(Connection *c, const char *text) {
        size_t n = strlen(text) + 1;    /* with its NUL terminator */

        if (c->out_size - c->out_done + n > c->server->max_output) {
                /* A client that does not read its stream: stop serving it. */
                if (!c->closing)
                        connection_drop(c, VARLINK_DROP_OVERFLOW);
                c->closing = true;
                c->out_size = c->out_done = 0;
                (void) connection_update_events(c);
                return -ENOBUFS;
        }
        if (c->out_done > 0 && c->out_done == c->out_size)
                c->out_size = c->out_done = 0;
        if (c->out_size + n > c->out_alloc) {
                size_t a = MAX(c->out_alloc * 2, c->out_size + n);
                char *p;

                if (c->out_done > 0) {
                        memmove(c->out, c->out + c->out_done, c->out_size - c->out_done);
                        c->out_size -= c->out_done;
                        c->out_done = 0;
                }
                p = realloc(c->out, a);
                if (!p)
                        return -ENOMEM;
                c->out = p;
                c->out_alloc = a;
        }
        memcpy(c->out + c->out_size, text, n);
        c->out_size += n;
        return connection_update_events(c);
}

static int connection_queue(Connection *c, json_object *message) {
        const char *text = message_text(message);

        return text ? connection_queue_text(c, text) : -ENOMEM;
}

/* {"error"?, "parameters", "continues"?}, taking parameters (NULL: {}). */
static json_object *message_new(const char *error, json_object *parameters, bool continues) {
        _cleanup_(json_object_putp) json_object *m = NULL, *p = parameters;
        int r;

        if (!p) {
                p = json_object_new_object();
                if (!p)
                        return NULL;
        }
        m = json_object_new_object();
        if (!m)
                return NULL;
        if (error) {
                r = json_object_object_add(m, "error", json_object_new_string(error));
                if (r < 0)
                        return NULL;
        }
        r = json_object_object_add(m, "parameters", TAKE_PTR(p));
        if (r >= 0 && continues)
                r = json_object_object_add(m, "continues", json_object_new_boolean(true));
        if (r < 0)
                return NULL;
        return TAKE_PTR(m);
}

static int connection_send(Connection *c, const char *error, json_object *parameters, bool continues) {
        _cleanup_(json_object_putp) json_object *m = message_new(error, parameters, continues);

        return m ? connection_queue(c, m) : -ENOMEM;
}

static void connection_protocol_error(Connection *c, const char *reason) {
        json_object *p = json_object_new_object();

        if (p)
                (void) json_object_object_add(p, "reason", json_object_new_string(reason));
        (void) connection_send(c, c->server->iface->protocol_error, p, false);
        c->closing = true;
        (void) connection_update_events(c);
}

/* ---- answering ---------------------------------------------------------- */

int varlink_reply(VarlinkCall *call, json_object *parameters) {
        int r = 0;

        if (!call->pending) {
                json_object_put(parameters);
                return -EALREADY;
        }
        if (call->oneway)
                json_object_put(parameters);
        else
                r = connection_send(call->connection, NULL, parameters, false);
        call_end(call);
        (void) connection_update_events(call->connection);
        return r;
}

int varlink_notify(VarlinkCall *call, json_object *parameters) {
        if (!call->pending || !call->more) {
                json_object_put(parameters);
                return -EINVAL;
        }
        return connection_send(call->connection, NULL, parameters, true);
}

int varlink_notification_format(json_object *parameters, char **ret) {
        _cleanup_(json_object_putp) json_object *m = message_new(NULL, json_object_get(parameters), true);
        const char *text = m ? message_text(m) : NULL;
        char *copy = text ? strdup(text) : NULL;

        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

int varlink_notify_text(VarlinkCall *call, const char *text) {
        if (!call->pending || !call->more)
                return -EINVAL;
        return connection_queue_text(call->connection, text);
}

int varlink_error(VarlinkCall *call, const char *error, json_object *parameters) {
        int r = 0;

        if (!call->pending) {
                json_object_put(parameters);
                return -EALREADY;
        }
        if (call->oneway)
                json_object_put(parameters);
        else
                r = connection_send(call->connection, error, parameters, false);
        call_end(call);
        (void) connection_update_events(call->connection);
        return r;
}

int varlink_error_invalid_parameter(VarlinkCall *call, const char *parameter) {
        json_object *p = json_object_new_object();

        if (!p || json_object_object_add(p, "parameter", json_object_new_string(parameter)) < 0) {
                json_object_put(p);
                return -ENOMEM;
        }
        return varlink_error(call, VARLINK_ERROR_INVALID_PARAMETER, p);
}

bool varlink_call_more(const VarlinkCall *call) {
        return call->more;
}

void varlink_call_set_drain(VarlinkCall *call, varlink_drain_fn fn, void *userdata, void (*destroy)(void *userdata)) {
        if (call->drain_destroy)
                call->drain_destroy(call->drain_userdata);
        call->drain = fn;
        call->drain_userdata = userdata;
        call->drain_destroy = destroy;
        (void) connection_update_events(call->connection);
}

int varlink_call_get_peer_uid(const VarlinkCall *call, uid_t *ret) {
        if (!call->connection->have_uid)
                return -ENODATA;
        *ret = call->connection->uid;
        return 0;
}

static int error_with_string(VarlinkCall *call, const char *error, const char *key, const char *value) {
        json_object *p = json_object_new_object();

        if (!p || json_object_object_add(p, key, json_object_new_string(value)) < 0) {
                json_object_put(p);
                return -ENOMEM;
        }
        return varlink_error(call, error, p);
}

/* ---- org.varlink.service ------------------------------------------------ */

static int service_get_info(VarlinkCall *call, VarlinkServer *s) {
        json_object *p, *ifaces;

        p = json_object_new_object();
        ifaces = json_object_new_array();
        if (!p || !ifaces) {
                json_object_put(p);
                json_object_put(ifaces);
                return -ENOMEM;
        }
        json_object_object_add(p, "vendor", json_object_new_string(s->info.vendor ?: ""));
        json_object_object_add(p, "product", json_object_new_string(s->info.product ?: ""));
        json_object_object_add(p, "version", json_object_new_string(s->info.version ?: ""));
        json_object_object_add(p, "url", json_object_new_string(s->info.url ?: ""));
        json_object_array_add(ifaces, json_object_new_string(SERVICE_INTERFACE));
        json_object_array_add(ifaces, json_object_new_string(s->iface->name));
        json_object_object_add(p, "interfaces", ifaces);
        return varlink_reply(call, p);
}

static int service_get_interface_description(VarlinkCall *call, json_object *params, VarlinkServer *s) {
        json_object *v, *p;
        const char *name, *text;

        if (!json_object_object_get_ex(params, "interface", &v) || !json_object_is_type(v, json_type_string))
                return varlink_error_invalid_parameter(call, "interface");
        name = json_object_get_string(v);
        if (streq(name, SERVICE_INTERFACE))
                text = service_description;
        else if (streq(name, s->iface->name))
                text = s->iface->description;
        else
                return error_with_string(call, VARLINK_ERROR_INTERFACE_NOT_FOUND, "interface", name);

        p = json_object_new_object();
        if (!p || json_object_object_add(p, "description", json_object_new_string(text)) < 0) {
                json_object_put(p);
                return -ENOMEM;
        }
        return varlink_reply(call, p);
}

/* ---- dispatch ----------------------------------------------------------- */

static int connection_dispatch(Connection *c, VarlinkMessage *msg) {
        VarlinkServer *s = c->server;
        VarlinkCall *call = &c->call;
        const char *member;
        size_t iface_len;
        int r;

        *call = (VarlinkCall) {
                .connection = c,
                .pending = true,
                .more = msg->more,
                .oneway = msg->oneway,
                .method = TAKE_PTR(msg->method),
                .parameters = TAKE_PTR(msg->parameters),
        };
        member = strrchr(call->method, '.') + 1;       /* the parser checked there is one */
        iface_len = (size_t) (member - 1 - call->method);

        if (iface_len == strlen(SERVICE_INTERFACE) && strncmp(call->method, SERVICE_INTERFACE, iface_len) == 0) {
                if (streq(member, "GetInfo"))
                        r = service_get_info(call, s);
                else if (streq(member, "GetInterfaceDescription"))
                        r = service_get_interface_description(call, call->parameters, s);
                else
                        r = error_with_string(call, VARLINK_ERROR_METHOD_NOT_FOUND, "method", call->method);
        } else if (iface_len == strlen(s->iface->name) && strncmp(call->method, s->iface->name, iface_len) == 0) {
                const VarlinkMethod *m;

                for (m = s->iface->methods; m->name; m++)
                        if (streq(m->name, member))
                                break;
                if (m->name)
                        r = m->fn(call, call->parameters, s->userdata);
                else
                        r = error_with_string(call, VARLINK_ERROR_METHOD_NOT_FOUND, "method", call->method);
        } else {
                _cleanup_free_ char *iface = strndup(call->method, iface_len);

                r = iface ? error_with_string(call, VARLINK_ERROR_INTERFACE_NOT_FOUND, "interface", iface) : -ENOMEM;
        }

        if (r < 0 && call->pending)
                r = error_with_string(call, s->iface->internal_error, "reason", strerror(-r));
        return r;
}

/* Handles complete messages in the input buffer, one call at a time. */
static void connection_process(Connection *c) {
        while (!c->call.pending && !c->closing && c->in_size > 0) {
                VarlinkMessage msg = {};
                const char *reason = NULL;
                char *nul;
                size_t len;
                int r;

                nul = memchr(c->in, '\0', c->in_size);
                if (!nul) {
                        if (c->in_size > c->server->max_message)
                                connection_protocol_error(c, "message exceeds the size limit");
                        else if (c->eof)
                                connection_protocol_error(c, "connection closed inside a message");
                        break;
                }
                len = (size_t) (nul - c->in);
                r = varlink_message_parse(c->in, len, &msg, &reason);
                memmove(c->in, nul + 1, c->in_size - len - 1);
                c->in_size -= len + 1;
                if (r == -ENOMEM) {
                        c->closing = true;
                        break;
                }
                if (r < 0) {
                        connection_protocol_error(c, reason);
                        break;
                }
                (void) connection_dispatch(c, &msg);
                varlink_message_done(&msg);
        }
        (void) connection_update_events(c);
}

static bool connection_finished(const Connection *c) {
        if (c->out_size > c->out_done)
                return false;
        if (c->closing)
                return true;
        /* After the client's EOF: done once everything it sent is answered. */
        return c->eof && !c->call.pending && c->in_size == 0;
}

static void connection_touch(Connection *c) {
        (void) sd_event_now(c->server->event, CLOCK_MONOTONIC, &c->active_usec);
}

/* Writes what the socket takes; false when the client is gone (freed). */
static bool connection_write(Connection *c) {
        while (connection_has_output(c)) {
                ssize_t n = send(c->fd, c->out + c->out_done, c->out_size - c->out_done, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        connection_free(c);     /* EPIPE, ECONNRESET: the client is gone */
                        return false;
                }
                c->out_done += (size_t) n;
                connection_touch(c);
        }
        if (c->out_done == c->out_size)
                c->out_done = c->out_size = 0;
        return true;
}

static int on_connection_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Connection *c = userdata;

        if (revents & EPOLLIN) {
                size_t room = c->server->max_message + 1 - c->in_size;
                ssize_t n = room > 0 ? recv(fd, c->in + c->in_size, room, MSG_DONTWAIT) : 0;

                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        connection_free(c);
                        return 0;
                }
                if (n == 0 && room > 0)
                        c->eof = true;
                if (n > 0) {
                        c->in_size += (size_t) n;
                        connection_touch(c);
                }
        }

        connection_process(c);
        if (!connection_write(c))
                return 0;
        /* One part of a streamed reply per wakeup, so other clients and
         * sources get their turn between parts. */
        if (c->call.pending && c->call.drain && !c->closing && !connection_has_output(c)) {
                c->call.drain(&c->call, c->call.drain_userdata);
                if (!connection_write(c))
                        return 0;
        }

        if (connection_finished(c) || ((revents & (EPOLLHUP | EPOLLERR)) && !(revents & EPOLLIN))) {
                connection_free(c);
                return 0;
        }
        (void) connection_update_events(c);
        return 0;
}

static int on_reap(sd_event_source *source, void *userdata) {
        VarlinkServer *s = userdata;

        LIST_FOREACH_SAFE(connections, c, next, s->connections)
                if (c->closing && !connection_has_output(c))
                        connection_free(c);
        return 0;
}

static bool connection_idle(const Connection *c) {
        return !c->call.pending;
}

static int on_idle_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        VarlinkServer *s = userdata;

        LIST_FOREACH_SAFE(connections, c, next, s->connections)
                if (connection_idle(c) && c->active_usec + s->idle_timeout_usec <= usec) {
                        connection_drop(c, VARLINK_DROP_IDLE);
                        connection_free(c);
                }
        /* Checked a few times per timeout: closed within 1¼ of it. */
        (void) sd_event_source_set_time(source, usec + MAX(s->idle_timeout_usec / 4, (uint64_t) 1000));
        return 0;
}

/* The connection without a call that was quiet the longest, or NULL. */
static Connection *longest_idle(VarlinkServer *s) {
        Connection *best = NULL;

        LIST_FOREACH(connections, c, s->connections)
                if (connection_idle(c) && (!best || c->active_usec < best->active_usec))
                        best = c;
        return best;
}

static void reject_client(VarlinkServer *s, int fd) {
        _cleanup_free_ char *text = NULL;

        /* Best effort on a fresh socket buffer: one short error, then close. */
        if (asprintf(&text, "{\"error\":\"%s\",\"parameters\":{\"reason\":\"too many clients\"}}",
                     s->iface->protocol_error) >= 0)
                (void) send(fd, text, strlen(text) + 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        close(fd);
}

static int on_listen(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        VarlinkServer *s = userdata;
        _cleanup_close_ int cfd = -1;
        Connection *c;
        struct ucred cred;
        socklen_t len = sizeof cred;
        int r;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
                return 0;       /* EAGAIN, ECONNABORTED, EMFILE: try again on the next wakeup */
        if (s->n_connections >= s->max_clients) {
                Connection *idle = longest_idle(s);

                if (!idle) {
                        reject_client(s, TAKE_FD(cfd));
                        return 0;
                }
                connection_drop(idle, VARLINK_DROP_EVICTED);
                connection_free(idle);
        }

        c = calloc(1, sizeof *c);
        if (!c)
                return 0;
        c->in = malloc(s->max_message + 1);
        if (!c->in) {
                free(c);
                return 0;
        }
        c->server = s;
        c->fd = TAKE_FD(cfd);
        if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) >= 0) {
                c->uid = cred.uid;
                c->have_uid = true;
        }
        connection_touch(c);
        LIST_PREPEND(connections, s->connections, c);
        s->n_connections++;

        r = sd_event_add_io(s->event, &c->io, c->fd, EPOLLIN, on_connection_io, c);
        if (r < 0)
                connection_free(c);
        return 0;
}

/* ---- the server --------------------------------------------------------- */

int varlink_server_new(sd_event *event, const VarlinkInterface *iface, const VarlinkInfo *info,
                       void *userdata, VarlinkServer **ret) {
        VarlinkServer *s;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->iface = iface;
        if (info)
                s->info = *info;
        s->userdata = userdata;
        s->listen_fd = -1;
        s->socket_gid = (gid_t) -1;
        s->max_clients = VARLINK_CLIENTS_MAX_DEFAULT;
        s->max_message = VARLINK_MESSAGE_MAX_DEFAULT;
        s->max_output = VARLINK_OUTPUT_MAX_DEFAULT;
        s->idle_timeout_usec = VARLINK_IDLE_TIMEOUT_USEC_DEFAULT;

        r = sd_event_add_defer(event, &s->reaper, on_reap, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->reaper, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &s->idle_timer, CLOCK_MONOTONIC, s->idle_timeout_usec / 4,
                                               0, on_idle_timer, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->idle_timer, SD_EVENT_ON);
        if (r < 0) {
                varlink_server_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

VarlinkServer *varlink_server_free(VarlinkServer *s) {
        if (!s)
                return NULL;
        while (s->connections)
                connection_free(s->connections);
        sd_event_source_disable_unref(s->reaper);
        sd_event_source_disable_unref(s->idle_timer);
        sd_event_source_disable_unref(s->listen_source);
        if (s->listen_fd >= 0)
                close(s->listen_fd);
        if (s->socket_path) {
                (void) unlink(s->socket_path);
                free(s->socket_path);
        }
        sd_event_unref(s->event);
        return mfree(s);
}

void varlink_server_set_limits(VarlinkServer *s, size_t max_clients, size_t max_message) {
        /* Buffers of existing connections keep their size, so the message
         * limit only changes before the first client. */
        if (max_clients > 0)
                s->max_clients = max_clients;
        if (max_message > 0 && s->n_connections == 0)
                s->max_message = max_message;
}

void varlink_server_set_output_max(VarlinkServer *s, size_t max_output) {
        s->max_output = max_output > 0 ? max_output : VARLINK_OUTPUT_MAX_DEFAULT;
}

void varlink_server_set_idle_timeout(VarlinkServer *s, uint64_t usec) {
        s->idle_timeout_usec = usec > 0 ? usec : VARLINK_IDLE_TIMEOUT_USEC_DEFAULT;
        (void) sd_event_source_set_time_relative(s->idle_timer, MAX(s->idle_timeout_usec / 4, (uint64_t) 1000));
}

void varlink_server_get_stats(const VarlinkServer *s, VarlinkStats *ret) {
        *ret = s->stats;
}

void varlink_server_set_drop_callback(VarlinkServer *s, varlink_drop_fn fn, void *userdata) {
        s->drop_cb = fn;
        s->drop_userdata = userdata;
}

void varlink_server_set_socket_group(VarlinkServer *s, gid_t gid) {
        s->socket_gid = gid;
}

unsigned varlink_server_n_clients(const VarlinkServer *s) {
        return s->n_connections;
}

int varlink_server_listen_fd(VarlinkServer *s, int fd) {
        int r, flags;

        if (s->listen_fd >= 0) {
                close(fd);
                return -EBUSY;
        }
        s->listen_fd = fd;
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        r = sd_event_add_io(s->event, &s->listen_source, fd, EPOLLIN, on_listen, s);
        if (r < 0)
                return r;
        return 0;
}

static int mkdir_parent(const char *path) {
        _cleanup_free_ char *dir = strdup(path);
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int varlink_server_listen_path(VarlinkServer *s, const char *path, mode_t mode) {
        union {
                struct sockaddr sa;
                struct sockaddr_un un;
        } sa = { .un.sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *p = NULL;
        mode_t old_umask;
        int r;

        if (strlen(path) >= sizeof sa.un.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.un.sun_path, path);
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        r = mkdir_parent(path);
        if (r < 0)
                return r;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* A socket left by a previous instance would make bind() fail. */
        (void) unlink(path);
        /* The file is created with mode (the umask of this single-threaded
         * process is ours for the call), and nobody can connect before
         * listen(), so the group is in place first too. */
        old_umask = umask(~mode & 0777);
        r = bind(fd, &sa.sa, sizeof sa.un);
        umask(old_umask);
        if (r < 0)
                return -errno;
        if ((s->socket_gid != (gid_t) -1 && fchownat(AT_FDCWD, path, (uid_t) -1, s->socket_gid, AT_SYMLINK_NOFOLLOW) < 0) ||
            listen(fd, SOMAXCONN) < 0) {
                r = -errno;
                (void) unlink(path);
                return r;
        }
        s->socket_path = TAKE_PTR(p);
        return varlink_server_listen_fd(s, TAKE_FD(fd));
}

int varlink_server_listen_auto(VarlinkServer *s, const char *path, mode_t mode) {
        int n, fd = -1;

        n = sd_listen_fds(true);
        if (n < 0)
                return n;
        for (int i = 0; i < n; i++) {
                int f = SD_LISTEN_FDS_START + i;

                if (sd_is_socket_unix(f, SOCK_STREAM, 1, path, 0) > 0 ||
                    (n == 1 && sd_is_socket_unix(f, SOCK_STREAM, 1, NULL, 0) > 0)) {
                        fd = f;
                        break;
                }
        }
        if (fd >= 0) {
                /* Other passed descriptors are not ours to keep open. */
                for (int i = 0; i < n; i++)
                        if (SD_LISTEN_FDS_START + i != fd)
                                close(SD_LISTEN_FDS_START + i);
                (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
                return varlink_server_listen_fd(s, fd);
        }
        return varlink_server_listen_path(s, path, mode);
}

void varlink_server_foreach_pending(VarlinkServer *s, const char *method, varlink_call_fn fn, void *userdata) {
        LIST_FOREACH_SAFE(connections, c, next, s->connections)
                if (c->call.pending && c->call.more && !c->closing && streq(c->call.method, method))
                        fn(&c->call, c->call.parameters, userdata);
}
