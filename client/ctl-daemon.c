/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * deepactifctl's daemon commands: status, devices, top, watch, history,
 * export, metrics, reload, over D-Bus (system bus, or --user) or varlink (--varlink).
 * Both transports are read into the same JSON shapes, printed by one set of
 * formatters.
 */

#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "ctl.h"
#include "names.h"

#define BAR_WIDTH 30

typedef struct Options {
        bool json, user;
        const char *varlink;
        const char *device, *method;
        unsigned top_k;
        uint64_t since, until;
        unsigned count;                 /* watch: stop after this many updates; 0 = never */
        const char *format;
        bool events;                    /* watch: events too */
} Options;

typedef struct Client {
        const Options *o;
        sd_bus *bus;
        int fd;                         /* varlink */
        char *buf;                      /* varlink input */
        size_t size, used;
} Client;

/* ---- failures: one line naming the step and the fix --------------------- */

static int fail_bus(const Options *o, const char *step, const sd_bus_error *e, int r) {
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
            sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER) || r == -ENOENT || r == -ECONNREFUSED)
                return ctl_fail(_("%s: deepactifd is not running on the %s bus. Start it with %s."), step,
                                o->user ? _("session") : _("system"),
                                o->user ? "'deepactifd --user'" : "'systemctl start deepactifd'");
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED) || r == -EACCES || r == -EPERM)
                return ctl_fail(_("%s: permission denied (%s). Join group 'deepactif' to read "
                                  "(usermod -aG deepactif $USER), or run as root to change state."),
                                step, e && e->message ? e->message : strerror(-r));
        return ctl_fail(_("%s failed: %s"), step, e && e->message ? e->message : strerror(r < 0 ? -r : EIO));
}

static int fail_varlink(const Options *o, const char *step, json_object *reply) {
        static const char *const keys[] = { "reason", "device", "parameter", "method", "interface" };
        json_object *p = json_object_object_get(reply, "parameters");
        const char *error = json_object_get_string(json_object_object_get(reply, "error"));
        const char *detail = "";

        for (size_t i = 0; i < ELEMENTSOF(keys) && !detail[0]; i++)
                detail = json_object_get_string(json_object_object_get(p, keys[i])) ?: "";
        if (error && strstr(error, "PermissionDenied"))
                return ctl_fail(_("%s: permission denied (%s). Run as root to change state."), step, detail);
        if (error && strstr(error, "NoSuchDevice"))
                return ctl_fail(_("%s: no device '%s'; 'deepactifctl devices' lists them."), step, detail);
        if (error && strstr(error, "NoRanking"))
                return ctl_fail(_("%s: no ranking stored yet; one is taken every RankingInterval."), step);
        return ctl_fail(_("%s failed: %s %s"), step, error ?: "?", detail);
}

/* ---- varlink ------------------------------------------------------------ */

static int varlink_connect(Client *c) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (strlen(c->o->varlink) >= sizeof sa.sun_path)
                return ctl_fail(_("Varlink socket path '%s' is too long."), c->o->varlink), -ENAMETOOLONG;
        strcpy(sa.sun_path, c->o->varlink);
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0 || connect(c->fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;

                if (r == -EACCES)
                        ctl_fail(_("Connecting to '%s': permission denied. Join group 'deepactif' "
                                   "(usermod -aG deepactif $USER)."), c->o->varlink);
                else
                        ctl_fail(_("Connecting to '%s': %s. Is deepactifd running with this --varlink path? "
                                   "Start it with 'systemctl start deepactifd'."), c->o->varlink, strerror(-r));
                return r;
        }
        return 0;
}

static int varlink_send(Client *c, const char *method, json_object *params, bool more) {
        _cleanup_(json_object_putp) json_object *m = json_object_new_object();
        const char *text;
        size_t n;

        json_object_object_add(m, "method", json_object_new_string(method));
        json_object_object_add(m, "parameters", params ?: json_object_new_object());
        if (more)
                json_object_object_add(m, "more", json_object_new_boolean(true));
        text = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN);
        n = strlen(text) + 1;
        if (send(c->fd, text, n, MSG_NOSIGNAL) != (ssize_t) n)
                return ctl_fail(_("Sending to '%s': %m. The daemon went away."), c->o->varlink), -EPIPE;
        return 0;
}

static int varlink_recv(Client *c, json_object **ret) {
        for (;;) {
                char *nul = c->used ? memchr(c->buf, '\0', c->used) : NULL;
                ssize_t k;

                if (nul) {
                        size_t len = (size_t) (nul - c->buf) + 1;

                        *ret = json_tokener_parse(c->buf);
                        memmove(c->buf, c->buf + len, c->used - len);
                        c->used -= len;
                        if (!*ret)
                                return ctl_fail(_("Reading from '%s': the daemon sent malformed JSON."),
                                                c->o->varlink), -EBADMSG;
                        return 0;
                }
                if (c->used == c->size) {
                        char *b = realloc(c->buf, c->size ? c->size * 2 : 65536);

                        if (!b)
                                return -ENOMEM;
                        c->buf = b;
                        c->size = c->size ? c->size * 2 : 65536;
                }
                k = recv(c->fd, c->buf + c->used, c->size - c->used, 0);
                if (k <= 0)
                        return ctl_fail(_("Reading from '%s': the daemon closed the connection."),
                                        c->o->varlink), -ECONNRESET;
                c->used += (size_t) k;
        }
}

/* The reply's parameters, or a printed failure. */
static int varlink_call(Client *c, const char *step, const char *method, json_object *params, json_object **ret) {
        _cleanup_(json_object_putp) json_object *reply = NULL;
        int r;

        r = varlink_send(c, method, params, false);
        if (r < 0)
                return r;
        r = varlink_recv(c, &reply);
        if (r < 0)
                return r;
        if (json_object_object_get(reply, "error"))
                return fail_varlink(c->o, step, reply), -EIO;
        *ret = json_object_get(json_object_object_get(reply, "parameters"));
        return 0;
}

/* ---- D-Bus -------------------------------------------------------------- */

static int bus_connect(Client *c) {
        int r;

        r = c->o->user ? sd_bus_open_user(&c->bus) : sd_bus_open_system(&c->bus);
        if (r < 0)
                return fail_bus(c->o, _("Connecting to the bus"), NULL, r), r;
        return 0;
}

static json_object *read_ranking_array(sd_bus_message *m, int *r) {
        json_object *a = json_object_new_array();
        const char *feature;
        uint32_t rank;
        double score;

        *r = sd_bus_message_enter_container(m, 'a', "(sud)");
        while (*r >= 0 && (*r = sd_bus_message_read(m, "(sud)", &feature, &rank, &score)) > 0) {
                json_object *s = json_object_new_object();

                json_object_object_add(s, "rank", json_object_new_uint64(rank));
                json_object_object_add(s, "feature", json_object_new_string(feature));
                json_object_object_add(s, "score", isfinite(score) ? json_object_new_double(score) : NULL);
                json_object_array_add(a, s);
        }
        if (*r >= 0)
                *r = sd_bus_message_exit_container(m);
        return a;
}

/* "ssssstua(sud)" into the shape varlink's Ranking has. */
static json_object *read_record(sd_bus_message *m, int *r) {
        const char *device, *model, *method, *location, *aggregation;
        json_object *o;
        uint64_t time;
        uint32_t windows;

        *r = sd_bus_message_read(m, "ssssstu", &device, &model, &method, &location, &aggregation, &time, &windows);
        if (*r <= 0)
                return NULL;
        o = json_object_new_object();
        json_object_object_add(o, "device", json_object_new_string(device));
        json_object_object_add(o, "model", json_object_new_string(model));
        json_object_object_add(o, "method", json_object_new_string(method));
        json_object_object_add(o, "location", location[0] ? json_object_new_string(location) : NULL);
        json_object_object_add(o, "aggregation", json_object_new_string(aggregation));
        json_object_object_add(o, "time", json_object_new_uint64(time));
        json_object_object_add(o, "windows", json_object_new_uint64(windows));
        json_object_object_add(o, "scores", read_ranking_array(m, r));
        return o;
}

/* ---- the operations, over either transport ------------------------------ */

static int op_status(Client *c, json_object **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *version = NULL, *state = NULL;
        uint32_t api = 0;
        json_object *o;
        int r;

        if (c->o->varlink)
                return varlink_call(c, _("Reading the daemon's status"), VARLINK_INTERFACE ".GetStatus", NULL, ret);
        r = sd_bus_get_property_string(c->bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Version", &e, &version);
        if (r >= 0)
                r = sd_bus_get_property_string(c->bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "State", &e, &state);
        if (r >= 0)
                r = sd_bus_get_property_trivial(c->bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "APIVersion", &e, 'u', &api);
        if (r < 0)
                return fail_bus(c->o, _("Reading the daemon's status"), &e, r), r;
        o = json_object_new_object();
        json_object_object_add(o, "version", json_object_new_string(version));
        json_object_object_add(o, "apiVersion", json_object_new_uint64(api));
        json_object_object_add(o, "state", json_object_new_string(state));
        *ret = o;
        return 0;
}

static json_object *read_open_events(Client *c, const char *path) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        json_object *a = json_object_new_array();
        char **open = NULL;

        if (sd_bus_get_property_strv(c->bus, BUS_NAME, path, BUS_DEVICE_INTERFACE, "OpenEvents", &e, &open) >= 0)
                for (char **i = open; a && i && *i; i++)
                        json_object_array_add(a, json_object_new_string(*i));
        for (char **i = open; i && *i; i++)
                free(*i);
        free(open);
        return a;
}

/* {"text": the Prometheus exposition text} */
static int op_metrics(Client *c, json_object **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *step = _("Reading the metrics"), *text;
        json_object *o;
        int r;

        if (c->o->varlink)
                return varlink_call(c, step, VARLINK_INTERFACE ".GetMetrics", NULL, ret);
        r = sd_bus_call_method(c->bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "GetMetrics", &e, &reply, NULL);
        if (r >= 0)
                r = sd_bus_message_read(reply, "s", &text);
        if (r < 0)
                return fail_bus(c->o, step, &e, r), r;
        o = json_object_new_object();
        json_object_object_add(o, "text", json_object_new_string(text));
        *ret = o;
        return 0;
}

static int op_devices(Client *c, json_object **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *step = _("Listing devices"), *name, *source, *path;
        json_object *p, *a;
        int supported, r;

        if (c->o->varlink) {
                r = varlink_call(c, step, VARLINK_INTERFACE ".ListDevices", NULL, &p);
                if (r < 0)
                        return r;
                *ret = json_object_get(json_object_object_get(p, "devices"));
                json_object_put(p);
                return 0;
        }
        r = sd_bus_call_method(c->bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "ListDevices", &e, &reply, NULL);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ssbo)");
        if (r < 0)
                return fail_bus(c->o, step, &e, r), r;
        a = json_object_new_array();
        while ((r = sd_bus_message_read(reply, "(ssbo)", &name, &source, &supported, &path)) > 0) {
                json_object *d = json_object_new_object();
                uint64_t processed = 0, dropped = 0, updated = 0, remaining = 0;
                double prediction = NAN;
                int warming = 0;

                (void) sd_bus_get_property_trivial(c->bus, BUS_NAME, path, BUS_DEVICE_INTERFACE, "FramesProcessed", NULL, 't', &processed);
                (void) sd_bus_get_property_trivial(c->bus, BUS_NAME, path, BUS_DEVICE_INTERFACE, "FramesDropped", NULL, 't', &dropped);
                (void) sd_bus_get_property_trivial(c->bus, BUS_NAME, path, BUS_DEVICE_INTERFACE, "LastPrediction", NULL, 'd', &prediction);
                (void) sd_bus_get_property_trivial(c->bus, BUS_NAME, path, BUS_DEVICE_INTERFACE, "UpdatedAt", NULL, 't', &updated);
                json_object_object_add(d, "openEvents", read_open_events(c, path));
                (void) sd_bus_get_property_trivial(c->bus, BUS_NAME, path, BUS_DEVICE_INTERFACE, "WarmingUp", NULL, 'b', &warming);
                (void) sd_bus_get_property_trivial(c->bus, BUS_NAME, path, BUS_DEVICE_INTERFACE, "WarmupRemaining", NULL,
                                                   't', &remaining);
                json_object_object_add(d, "name", json_object_new_string(name));
                json_object_object_add(d, "source", json_object_new_string(source));
                json_object_object_add(d, "supported", json_object_new_boolean(supported));
                json_object_object_add(d, "framesProcessed", json_object_new_uint64(processed));
                json_object_object_add(d, "framesDropped", json_object_new_uint64(dropped));
                json_object_object_add(d, "lastPrediction", isfinite(prediction) ? json_object_new_double(prediction) : NULL);
                json_object_object_add(d, "updatedAt", updated ? json_object_new_uint64(updated) : NULL);
                json_object_object_add(d, "warmingUp", json_object_new_boolean(warming));
                json_object_object_add(d, "warmupRemaining", json_object_new_uint64(remaining));
                json_object_array_add(a, d);
        }
        *ret = a;
        return r < 0 ? (fail_bus(c->o, step, NULL, r), r) : 0;
}

static int op_ranking(Client *c, json_object **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *step = _("Reading the ranking");
        json_object *p;
        int r;

        if (c->o->varlink) {
                p = json_object_new_object();
                if (c->o->device)
                        json_object_object_add(p, "device", json_object_new_string(c->o->device));
                if (c->o->method)
                        json_object_object_add(p, "method", json_object_new_string(c->o->method));
                if (c->o->top_k)
                        json_object_object_add(p, "topK", json_object_new_uint64(c->o->top_k));
                r = varlink_call(c, step, VARLINK_INTERFACE ".GetRanking", p, &p);
                if (r < 0)
                        return r;
                *ret = json_object_get(json_object_object_get(p, "ranking"));
                json_object_put(p);
                return 0;
        }
        r = sd_bus_call_method(c->bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "GetRanking", &e, &reply, "ssu",
                               c->o->device ?: "", c->o->method ?: "", c->o->top_k);
        if (r < 0)
                return fail_bus(c->o, step, &e, r), r;
        *ret = read_record(reply, &r);
        return r < 0 ? (fail_bus(c->o, step, NULL, r), r) : 0;
}

/* The fields of one event after its times and device, into the shape of
 * varlink's Event: kind, then "channel" or "features", then detail. D-Bus
 * GetEvents' records and the Event signal share them. */
static int read_event_rest(sd_bus_message *m, json_object *o) {
        const char *kind, *channel, *detail;
        char **features = NULL;
        int r;

        r = sd_bus_message_read(m, "ss", &kind, &channel);
        if (r > 0)
                r = sd_bus_message_read_strv(m, &features);
        if (r > 0)
                r = sd_bus_message_read(m, "s", &detail);
        if (r > 0) {
                json_object_object_add(o, "kind", json_object_new_string(kind));
                if (channel[0])
                        json_object_object_add(o, "channel", json_object_new_string(channel));
                else {
                        json_object *a = json_object_new_array();

                        for (char **i = features; a && i && *i; i++)
                                json_object_array_add(a, json_object_new_string(*i));
                        json_object_object_add(o, "features", a);
                }
                json_object_object_add(o, "detail", json_object_new_string(detail));
        }
        for (char **i = features; i && *i; i++)
                free(*i);
        free(features);
        return r < 0 ? r : 0;
}

/* The varlink parameters of a query over stored records: the device when
 * one was named, and the time span (with its end when until is set). */
static json_object *span_params(const Client *c, bool until) {
        json_object *p = json_object_new_object();

        if (c->o->device)
                json_object_object_add(p, "device", json_object_new_string(c->o->device));
        json_object_object_add(p, "since", json_object_new_uint64(c->o->since));
        if (until)
                json_object_object_add(p, "until", json_object_new_uint64(c->o->until));
        return p;
}

static int op_events(Client *c, json_object **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *step = _("Reading the events");
        json_object *p, *a;
        int r;

        if (c->o->varlink) {
                p = span_params(c, false);
                r = varlink_call(c, step, VARLINK_INTERFACE ".GetEvents", p, &p);
                if (r < 0)
                        return r;
                *ret = json_object_get(json_object_object_get(p, "events"));
                json_object_put(p);
                return 0;
        }
        r = sd_bus_call_method(c->bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "GetEvents", &e, &reply, "stu",
                               c->o->device ?: "", c->o->since, 0);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ttsssass)");
        if (r < 0)
                return fail_bus(c->o, step, &e, r), r;
        a = json_object_new_array();
        while ((r = sd_bus_message_enter_container(reply, 'r', "ttsssass")) > 0) {
                const char *device;
                uint64_t t0, t1;
                json_object *o;

                r = sd_bus_message_read(reply, "tts", &t0, &t1, &device);
                if (r < 0)
                        break;
                o = json_object_new_object();
                json_object_object_add(o, "time", json_object_new_uint64(t0));
                json_object_object_add(o, "streamTime", json_object_new_uint64(t1));
                json_object_object_add(o, "device", json_object_new_string(device));
                r = read_event_rest(reply, o);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                json_object_array_add(a, o);
                if (r < 0)
                        break;
        }
        *ret = a;
        return r < 0 ? (fail_bus(c->o, step, NULL, r), r) : 0;
}

static int op_history(Client *c, json_object **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *step = _("Reading the history");
        json_object *p, *a;
        int r;

        if (c->o->varlink) {
                p = span_params(c, true);
                /* In parts: a long history does not fit in one reply. */
                r = varlink_send(c, VARLINK_INTERFACE ".GetHistory", p, true);
                a = json_object_new_array();
                while (r >= 0) {
                        _cleanup_(json_object_putp) json_object *m = NULL;
                        json_object *part;

                        r = varlink_recv(c, &m);
                        if (r < 0)
                                break;
                        if (json_object_object_get(m, "error")) {
                                fail_varlink(c->o, step, m);
                                r = -EIO;
                                break;
                        }
                        part = json_object_object_get(json_object_object_get(m, "parameters"), "rankings");
                        for (size_t i = 0; i < json_object_array_length(part); i++)
                                json_object_array_add(a, json_object_get(json_object_array_get_idx(part, i)));
                        if (!json_object_get_boolean(json_object_object_get(m, "continues")))
                                break;
                }
                if (r < 0) {
                        json_object_put(a);
                        return r;
                }
                *ret = a;
                return 0;
        }
        r = sd_bus_call_method(c->bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "GetHistory", &e, &reply, "sttu",
                               c->o->device ?: "", c->o->since, c->o->until, 0);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ssssstua(sud))");
        if (r < 0)
                return fail_bus(c->o, step, &e, r), r;
        a = json_object_new_array();
        while ((r = sd_bus_message_enter_container(reply, 'r', "ssssstua(sud)")) > 0) {
                json_object_array_add(a, read_record(reply, &r));
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        break;
        }
        *ret = a;
        return r < 0 ? (fail_bus(c->o, step, NULL, r), r) : 0;
}

static int op_reload(Client *c) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *step = _("Reloading the daemon");
        json_object *p = NULL;
        int r;

        if (c->o->varlink) {
                r = varlink_call(c, step, VARLINK_INTERFACE ".Reload", NULL, &p);
                json_object_put(p);
                return r;
        }
        r = sd_bus_call_method(c->bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Reload", &e, NULL, NULL);
        if (r < 0)
                return fail_bus(c->o, step, &e, r), r;
        return 0;
}

static int op_reset_user(Client *c) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *step = _("Starting a new user");
        int r;

        if (c->o->varlink) {
                json_object *p = json_object_new_object(), *reply = NULL;

                if (!p)
                        return -ENOMEM;
                json_object_object_add(p, "device", json_object_new_string(c->o->device));
                /* the call takes p */
                r = varlink_call(c, step, VARLINK_INTERFACE ".ResetUser", p, &reply);
                json_object_put(reply);
                return r;
        }
        r = sd_bus_call_method(c->bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "ResetUser", &e, NULL, "s",
                               c->o->device);
        if (r < 0)
                return fail_bus(c->o, step, &e, r), r;
        return 0;
}

/* ---- output ------------------------------------------------------------- */

static const char *str(json_object *o, const char *key) {
        return json_object_get_string(json_object_object_get(o, key)) ?: "-";
}

static void format_time(uint64_t us, char *buf, size_t n) {
        time_t t = (time_t) (us / 1000000);
        struct tm tm;

        if (us == 0 || !localtime_r(&t, &tm) || strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, n, "-");
}

static void print_ranking(json_object *r) {
        json_object *scores = json_object_object_get(r, "scores");
        size_t n = json_object_array_length(scores);
        double lo = INFINITY, hi = -INFINITY;
        char when[64];

        format_time(json_object_get_uint64(json_object_object_get(r, "time")), when, sizeof when);
        /* RankingChanged carries no window count; stored snapshots do */
        if (json_object_object_get_ex(r, "windows", NULL))
                printf(_("Device %s, %s (%s, %s) over %s windows, %s\n"), str(r, "device"), str(r, "method"),
                       str(r, "location"), str(r, "aggregation"), str(r, "windows"), when);
        else
                printf(_("Device %s, %s (%s, %s), %s\n"), str(r, "device"), str(r, "method"),
                       str(r, "location"), str(r, "aggregation"), when);
        for (size_t i = 0; i < n; i++) {
                double v = json_object_get_double(json_object_object_get(json_object_array_get_idx(scores, i), "score"));

                if (isfinite(v)) {
                        lo = MIN(lo, v);
                        hi = MAX(hi, v);
                }
        }
        /* Bars span the scores shown, lowest to highest: INV scores crowd
         * near ½ when one feature dominates, and absolute bars would all look full. */
        for (size_t i = 0; i < n; i++) {
                json_object *s = json_object_array_get_idx(scores, i);
                double v = json_object_get_double(json_object_object_get(s, "score"));
                int w = hi > lo && isfinite(v) ? 1 + (int) lround((BAR_WIDTH - 1) * (v - lo) / (hi - lo)) : 1;

                printf("%4s  %-36s %10.6f  ", str(s, "rank"), str(s, "feature"), v);
                for (int k = 0; k < w; k++)
                        fputs("█", stdout);
                putchar('\n');
        }
}

/* ---- verbs -------------------------------------------------------------- */

static int parse_uint(const char *s, uint64_t *ret) {
        char *end;

        errno = 0;
        *ret = strtoull(s, &end, 10);
        return errno || end == s || *end || s[0] == '-' ? -EINVAL : 0;
}

static void daemon_verb_help(const char *verb) {
        static const struct {
                const char *verb, *usage;
        } usages[] = {
                { "status",  N_("status                  The daemon's version and state") },
                { "devices", N_("devices                 The devices it reads and their counters") },
                { "top",     N_("top [-k N] [--device D] [--method M]\n"
                                "                        The newest ranking, with score bars") },
                { "watch",   N_("watch [-k N] [--device D] [-n COUNT] [--events]\n"
                                "                        Redraw the ranking on every RankingChanged; with\n"
                                "                        --events, print each event as it comes too") },
                { "events",  N_("events [--device D] [--since US]\n"
                                "                        Ranking-shift and input-health events, oldest first") },
                { "history", N_("history [--device D] [--since US] [--until US]\n"
                                "                        Stored rankings, newest first") },
                { "export",  N_("export [--format csv|json]\n"
                                "                        Stored rankings for other tools") },
                { "reload",  N_("reload                  Reload configuration and model (root)") },
                { "reset-user", N_("reset-user --device D   A new person uses D: its per-user statistics warm\n"
                                   "                        up again, events and ranking start over (root)") },
                { "metrics", N_("metrics                 The Prometheus metrics MetricsFile= receives") },
        };

        for (size_t i = 0; i < ELEMENTSOF(usages); i++)
                if (streq(usages[i].verb, verb))
                        printf(_("Usage: deepactifctl %s\n"), _(usages[i].usage));
        printf(_("\n"
                 "  --json                  Print JSON\n"
                 "  --system                Talk to the system daemon over D-Bus (default)\n"
                 "  --user                  Talk to a daemon on the session bus (deepactifd --user)\n"
                 "  --varlink PATH          Talk varlink on the Unix socket PATH\n"
                 "  -h --help               Show this help\n"));
}

/* Options shared by the daemon commands: 1 to go on, 0 when help was
 * printed, negative on a bad option (already reported). */
static int parse_options(int argc, char **argv, Options *o) {
        enum { ARG_JSON = 0x100, ARG_USER, ARG_SYSTEM, ARG_VARLINK, ARG_SINCE, ARG_UNTIL, ARG_FORMAT, ARG_METHOD,
               ARG_EVENTS };
        static const struct option options[] = {
                { "json",    no_argument,       NULL, ARG_JSON    },
                { "user",    no_argument,       NULL, ARG_USER    },
                { "system",  no_argument,       NULL, ARG_SYSTEM  },
                { "varlink", required_argument, NULL, ARG_VARLINK },
                { "device",  required_argument, NULL, 'd'         },
                { "method",  required_argument, NULL, ARG_METHOD  },
                { "top",     required_argument, NULL, 'k'         },
                { "since",   required_argument, NULL, ARG_SINCE   },
                { "until",   required_argument, NULL, ARG_UNTIL   },
                { "format",  required_argument, NULL, ARG_FORMAT  },
                { "count",   required_argument, NULL, 'n'         },
                { "events",  no_argument,       NULL, ARG_EVENTS  },
                { "help",    no_argument,       NULL, 'h'         },
                {}
        };
        uint64_t v;
        int c;

        while ((c = getopt_long(argc, argv, "k:d:n:h", options, NULL)) >= 0)
                switch (c) {
                case ARG_JSON:
                        o->json = true;
                        break;
                case ARG_EVENTS:
                        o->events = true;
                        break;
                case ARG_USER:
                        o->user = true;
                        break;
                case ARG_SYSTEM:
                        o->user = false;
                        break;
                case ARG_VARLINK:
                        o->varlink = optarg;
                        break;
                case 'd':
                        o->device = optarg;
                        break;
                case ARG_METHOD:
                        o->method = optarg;
                        break;
                case 'k':
                case 'n':
                        if (parse_uint(optarg, &v) < 0 || v > UINT32_MAX)
                                return ctl_fail(_("Invalid number '%s' for -%c."), optarg, c), -EINVAL;
                        if (c == 'k')
                                o->top_k = (unsigned) v;
                        else
                                o->count = (unsigned) v;
                        break;
                case ARG_SINCE:
                case ARG_UNTIL:
                        /* Microseconds since the epoch, as the daemon stores them. */
                        if (parse_uint(optarg, &v) < 0)
                                return ctl_fail(_("Invalid time '%s': give microseconds since the epoch."), optarg), -EINVAL;
                        *(c == ARG_SINCE ? &o->since : &o->until) = v;
                        break;
                case ARG_FORMAT:
                        if (!streq(optarg, "csv") && !streq(optarg, "json"))
                                return ctl_fail(_("Unknown export format '%s'; use csv or json."), optarg), -EINVAL;
                        o->format = optarg;
                        break;
                case 'h':
                        daemon_verb_help(argv[0]);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return ctl_fail(_("'%s' takes no arguments; see deepactifctl --help."), argv[0]), -EINVAL;
        return 1;
}

static int client_open(Client *c, const Options *o) {
        *c = (Client) { .o = o, .fd = -1 };
        return o->varlink ? varlink_connect(c) : bus_connect(c);
}

static void client_close(Client *c) {
        c->bus = sd_bus_flush_close_unref(c->bus);
        if (c->fd >= 0)
                close(c->fd);
        free(c->buf);
}

/* The daemon's exporter (store-export.c) streamed to stdout: in parts over
 * varlink, through a pipe it hands over on D-Bus. */
static int op_export(Client *c) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *step = _("Exporting the stored rankings");
        char buf[65536];
        int fd, r;

        if (c->o->varlink) {
                json_object *p = span_params(c, true);

                json_object_object_add(p, "format", json_object_new_string(c->o->format));
                r = varlink_send(c, VARLINK_INTERFACE ".Export", p, true);
                while (r >= 0) {
                        _cleanup_(json_object_putp) json_object *m = NULL;
                        json_object *data;

                        r = varlink_recv(c, &m);
                        if (r < 0)
                                break;
                        if (json_object_object_get(m, "error"))
                                return fail_varlink(c->o, step, m), -EIO;
                        data = json_object_object_get(json_object_object_get(m, "parameters"), "data");
                        if (fwrite(json_object_get_string(data), 1, (size_t) json_object_get_string_len(data), stdout) !=
                            (size_t) json_object_get_string_len(data))
                                return ctl_fail(_("%s: writing to standard output: %m"), step), -EIO;
                        if (!json_object_get_boolean(json_object_object_get(m, "continues")))
                                break;
                }
                return r < 0 ? r : (fflush(stdout) == 0 ? 0 : -EIO);
        }

        r = sd_bus_call_method(c->bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Export", &e, &reply, "sstt", c->o->format,
                               c->o->device ?: "", c->o->since, c->o->until);
        if (r >= 0)
                r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0)
                return fail_bus(c->o, step, &e, r), r;
        fflush(stdout);
        for (;;) {
                ssize_t n = read(fd, buf, sizeof buf);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return ctl_fail(_("%s: reading from the daemon: %m"), step), -errno;
                if (n == 0)
                        return 0;
                if (fwrite(buf, 1, (size_t) n, stdout) != (size_t) n || fflush(stdout) != 0)
                        return ctl_fail(_("%s: writing to standard output: %m"), step), -EIO;
        }
}

static int watch(Client *c, const Options *o);
static void print_event(json_object *e) {
        char when[64];

        format_time(json_object_get_uint64(json_object_object_get(e, "time")), when, sizeof when);
        printf("%s  %-30s %-21s %s\n", when, str(e, "device"), str(e, "kind"), str(e, "detail"));
}

static void print_open_events(json_object *d) {
        json_object *a = json_object_object_get(d, "openEvents");

        for (size_t i = 0; i < json_object_array_length(a); i++)
                printf(_("  open: %s\n"), json_object_get_string(json_object_array_get_idx(a, i)));
}

/* status: the open events of every device, when there are any. */
static void print_status_events(Client *c) {
        _cleanup_(json_object_putp) json_object *devices = NULL;

        if (op_devices(c, &devices) < 0)
                return;
        for (size_t i = 0; i < json_object_array_length(devices); i++) {
                json_object *d = json_object_array_get_idx(devices, i), *a = json_object_object_get(d, "openEvents");

                for (size_t k = 0; k < json_object_array_length(a); k++)
                        printf(_("Open event: %s: %s\n"), str(d, "name"), json_object_get_string(json_object_array_get_idx(a, k)));
        }
}


int verb_daemon(int argc, char **argv) {
        _cleanup_(json_object_putp) json_object *out = NULL;
        Options o = { .format = "csv" };
        Client c;
        int r;

        r = parse_options(argc, argv, &o);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (streq(argv[0], "reset-user") && !o.device)
                return ctl_fail(_("reset-user needs --device NAME; 'deepactifctl devices' lists them."));
        if (client_open(&c, &o) < 0)
                return EXIT_FAILURE;

        if (streq(argv[0], "status"))
                r = op_status(&c, &out);
        else if (streq(argv[0], "devices"))
                r = op_devices(&c, &out);
        else if (streq(argv[0], "top"))
                r = op_ranking(&c, &out);
        else if (streq(argv[0], "history"))
                r = op_history(&c, &out);
        else if (streq(argv[0], "events"))
                r = op_events(&c, &out);
        else if (streq(argv[0], "export"))
                r = op_export(&c);
        else if (streq(argv[0], "reload"))
                r = op_reload(&c);
        else if (streq(argv[0], "reset-user"))
                r = op_reset_user(&c);
        else if (streq(argv[0], "metrics"))
                r = op_metrics(&c, &out);
        else
                r = watch(&c, &o);
        if (r < 0) {
                client_close(&c);
                return EXIT_FAILURE;
        }

        if (streq(argv[0], "export")) {
                /* written as it came */
        } else if (streq(argv[0], "reload")) {
                if (o.json)
                        puts("{}");
                else
                        puts(_("Reloaded the configuration and the model."));
        } else if (streq(argv[0], "reset-user")) {
                if (o.json)
                        puts("{}");
                else
                        printf(_("%s: a new user; its per-user statistics warm up again.\n"), o.device);
        } else if (streq(argv[0], "watch")) {
                /* printed as it came */
        } else if (streq(argv[0], "metrics") && !o.json)
                fputs(str(out, "text"), stdout);
        else if (o.json)
                ctl_print_json(out);
        else if (streq(argv[0], "status")) {
                printf(_("State: %s\nVersion: %s\nAPI version: %s\n"), str(out, "state"), str(out, "version"),
                       str(out, "apiVersion"));
                if (json_object_object_get(out, "devices"))
                        printf(_("Devices: %s\nModel: %s\nDatabase: %s\n"), str(out, "devices"), str(out, "model"),
                               str(out, "database"));
                print_status_events(&c);
        } else if (streq(argv[0], "devices")) {
                printf("%-40s %-8s %-9s %12s %9s %12s  %s\n", _("NAME"), _("SOURCE"), _("SUPPORTED"), _("FRAMES"),
                       _("DROPPED"), _("PREDICTION"), _("STATE"));
                for (size_t i = 0; i < json_object_array_length(out); i++) {
                        json_object *d = json_object_array_get_idx(out, i);
                        char state[64];

                        if (json_object_get_boolean(json_object_object_get(d, "warmingUp")))
                                snprintf(state, sizeof state, _("warming up (%s frames to go)"),
                                         str(d, "warmupRemaining"));
                        else
                                snprintf(state, sizeof state, "%s", _("running"));
                        printf("%-40s %-8s %-9s %12s %9s %12s  %s\n", str(d, "name"), str(d, "source"),
                               json_object_get_boolean(json_object_object_get(d, "supported")) ? _("yes") : _("no"),
                               str(d, "framesProcessed"), str(d, "framesDropped"), str(d, "lastPrediction"),
                               json_object_get_boolean(json_object_object_get(d, "supported")) ? state : "-");
                        print_open_events(d);
                }
        } else if (streq(argv[0], "top"))
                print_ranking(out);
        else if (streq(argv[0], "events"))
                for (size_t i = 0; i < json_object_array_length(out); i++)
                        print_event(json_object_array_get_idx(out, i));
        else
                for (size_t i = 0; i < json_object_array_length(out); i++) {
                        json_object *rec = json_object_array_get_idx(out, i), *s = json_object_object_get(rec, "scores");
                        char when[64];

                        format_time(json_object_get_uint64(json_object_object_get(rec, "time")), when, sizeof when);
                        printf("%s  %-30s", when, str(rec, "device"));
                        for (size_t k = 0; k < MIN(json_object_array_length(s), (size_t) 3); k++)
                                printf("  %s", str(json_object_array_get_idx(s, k), "feature"));
                        putchar('\n');
                }
        client_close(&c);
        return EXIT_SUCCESS;
}

/* ---- watch -------------------------------------------------------------- */

typedef struct WatchState {
        const Options *o;
        unsigned seen;
        int error;
} WatchState;

static void show_update(WatchState *w, json_object *ranking) {
        if (w->o->json) {
                puts(json_object_to_json_string_ext(ranking, JSON_C_TO_STRING_PLAIN));
        } else {
                if (isatty(STDOUT_FILENO))
                        fputs("\033[H\033[2J", stdout);         /* redraw in place */
                print_ranking(ranking);
        }
        fflush(stdout);
        w->seen++;
}

static int on_ranking_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        _cleanup_free_ char *device = NULL;
        WatchState *w = userdata;
        json_object *o, *scores;
        const char *location, *aggregation;
        uint64_t time;
        int r;

        if (sd_bus_path_decode(sd_bus_message_get_path(m), BUS_MANAGER_PATH "/device", &device) <= 0)
                return 0;
        if (w->o->device && !streq(w->o->device, device))
                return 0;
        r = sd_bus_message_read(m, "tss", &time, &location, &aggregation);
        if (r < 0)
                return 0;
        scores = read_ranking_array(m, &r);
        if (w->o->top_k)
                while (json_object_array_length(scores) > w->o->top_k)
                        json_object_array_del_idx(scores, json_object_array_length(scores) - 1, 1);
        o = json_object_new_object();
        json_object_object_add(o, "device", json_object_new_string(device));
        json_object_object_add(o, "method", json_object_new_string("deepactif"));
        json_object_object_add(o, "location", json_object_new_string(location));
        json_object_object_add(o, "aggregation", json_object_new_string(aggregation));
        json_object_object_add(o, "time", json_object_new_uint64(time));
        json_object_object_add(o, "scores", scores);
        show_update(w, o);
        json_object_put(o);
        return 0;
}

static void show_event(WatchState *w, json_object *event) {
        if (w->o->json)
                puts(json_object_to_json_string_ext(event, JSON_C_TO_STRING_PLAIN));
        else
                print_event(event);
        fflush(stdout);
        w->seen++;
}

static int on_event(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *device = NULL;
        WatchState *w = userdata;
        uint64_t time, stream_time;

        if (sd_bus_path_decode(sd_bus_message_get_path(m), BUS_DEVICE_PREFIX, &device) <= 0)
                return 0;
        if (w->o->device && !streq(w->o->device, device))
                return 0;
        if (sd_bus_message_read(m, "tt", &time, &stream_time) < 0)
                return 0;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "time", json_object_new_uint64(time));
        json_object_object_add(o, "streamTime", json_object_new_uint64(stream_time));
        json_object_object_add(o, "device", json_object_new_string(device));
        if (read_event_rest(m, o) < 0)
                return 0;
        show_event(w, o);
        return 0;
}

static int watch(Client *c, const Options *o) {
        WatchState w = { .o = o };
        int r;

        if (o->varlink) {
                json_object *p = json_object_new_object();

                if (o->device)
                        json_object_object_add(p, "device", json_object_new_string(o->device));
                if (o->top_k)
                        json_object_object_add(p, "topK", json_object_new_uint64(o->top_k));
                if (o->events)
                        json_object_object_add(p, "events", json_object_new_boolean(true));
                r = varlink_send(c, VARLINK_INTERFACE ".Watch", p, true);
                while (r >= 0 && (o->count == 0 || w.seen < o->count)) {
                        _cleanup_(json_object_putp) json_object *reply = NULL;

                        r = varlink_recv(c, &reply);
                        if (r < 0)
                                break;
                        if (json_object_object_get(reply, "error"))
                                return fail_varlink(o, _("Watching rankings"), reply), -EIO;
                        p = json_object_object_get(reply, "parameters");
                        if (json_object_object_get(p, "event"))
                                show_event(&w, json_object_object_get(p, "event"));
                        else
                                show_update(&w, json_object_object_get(p, "ranking"));
                }
                return r;
        }

        r = sd_bus_match_signal(c->bus, NULL, BUS_NAME, NULL, BUS_DEVICE_INTERFACE, "RankingChanged", on_ranking_changed, &w);
        if (r < 0)
                return fail_bus(o, _("Subscribing to RankingChanged"), NULL, r), r;
        if (o->events) {
                r = sd_bus_match_signal(c->bus, NULL, BUS_NAME, NULL, BUS_DEVICE_INTERFACE, "Event", on_event, &w);
                if (r < 0)
                        return fail_bus(o, _("Subscribing to Event"), NULL, r), r;
        }
        /* Fail early, naming the fix, when the daemon is not there. */
        {
                _cleanup_(json_object_putp) json_object *status = NULL;

                r = op_status(c, &status);
                if (r < 0)
                        return r;
        }
        while (o->count == 0 || w.seen < o->count) {
                r = sd_bus_process(c->bus, NULL);
                if (r < 0)
                        return fail_bus(o, _("Watching rankings"), NULL, r), r;
                if (r == 0) {
                        r = sd_bus_wait(c->bus, UINT64_MAX);
                        if (r < 0)
                                return fail_bus(o, _("Watching rankings"), NULL, r), r;
                }
        }
        return 0;
}
