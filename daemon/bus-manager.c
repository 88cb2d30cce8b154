/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manager object; bus-manager.h. */

#include <errno.h>
#include <math.h>

#include "bus-device.h"
#include "bus-manager.h"
#include "bus-polkit.h"
#include "export-pipe.h"
#include "log.h"
#include "metrics.h"

/* One reply is one D-Bus message: bound the snapshots GetHistory returns. */
#define HISTORY_MAX 10000u

void bus_manager_send_state_changed(Manager *m) {
        const char *state = manager_state_to_string(m);

        if (!manager_bus_ready(m) || streq_ptr(m->bus_state_sent, state))
                return;
        m->bus_state_sent = state;
        (void) sd_bus_emit_properties_changed(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "State", NULL);
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", manager_state_to_string(userdata));
}

static int property_get_api_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "u", BUS_API_VERSION);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int method_list_devices(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssbo)");
        if (r < 0)
                return r;
        LIST_FOREACH(devices, d, m->devices) {
                _cleanup_free_ char *path = NULL;

                r = bus_device_path(d, &path);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "(ssbo)", d->name, d->source, d->supported, path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The fields of one snapshot: "ssssstua(sud)". */
static int append_record(sd_bus_message *reply, const store_record *rec, size_t top_k) {
        int r;

        r = sd_bus_message_append(reply, "ssssstu", rec->device, rec->model, rec->method, rec->location ?: "",
                                  rec->aggregation, rec->time_us, rec->windows);
        if (r < 0)
                return r;
        return bus_append_scores(reply, rec, top_k);
}

static int query_failed(Manager *m, int r, const char *device, const da_error *err, sd_bus_error *error) {
        if (r == -ENOENT && device && !manager_knows_device(m, device))
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_DEVICE,
                                         "No device '%s'; 'deepactifctl devices' lists them.", device);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_RANKING,
                                         "No ranking stored yet%s%s; one is taken every RankingInterval.",
                                         device ? " for " : "", device ?: "");
        return sd_bus_error_setf(error, BUS_ERROR_FAILED, "Failed to read the database: %s",
                                 err->message[0] ? err->message : strerror(-r));
}

static int method_get_ranking(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(store_record_freep) store_record *stored = NULL;
        const store_record *rec;
        Manager *m = userdata;
        const char *device, *method;
        da_error err = {};
        uint32_t top_k;
        int r;

        r = sd_bus_message_read(message, "ssu", &device, &method, &top_k);
        if (r < 0)
                return r;

        /* The newest snapshot of a live device is in memory; the store is
         * asked only for devices gone. */
        rec = manager_latest_snapshot(m, device[0] ? device : NULL, method[0] ? method : NULL);
        if (!rec) {
                manager_flush_for_query(m);
                r = store_get_latest(m->store, &(store_query) {
                                .device = device[0] ? device : NULL,
                                .method = method[0] ? method : NULL,
                                .top_k = top_k,
                        }, &stored, &err);
                if (r < 0)
                        return query_failed(m, r, device[0] ? device : NULL, &err, error);
                rec = stored;
        }

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = append_record(reply, rec, top_k);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_history(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        store_record **recs = NULL;
        const char *device;
        uint64_t since, until;
        uint32_t limit;
        da_error err = {};
        size_t n = 0;
        int r;

        r = sd_bus_message_read(message, "sttu", &device, &since, &until, &limit);
        if (r < 0)
                return r;
        if (until != 0 && until < since)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "'until' (%" PRIu64 ") lies before 'since' (%" PRIu64 ").", until, since);
        if (device[0] && !manager_knows_device(m, device))
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_DEVICE,
                                         "No device '%s'; 'deepactifctl devices' lists them.", device);

        manager_flush_for_query(m);
        r = store_get_history(m->store, &(store_query) {
                        .device = device[0] ? device : NULL,
                        .since_us = since,
                        .until_us = until,
                        .limit = limit == 0 || limit > HISTORY_MAX ? HISTORY_MAX : limit,
                }, &recs, &n, &err);
        if (r < 0)
                return query_failed(m, r, NULL, &err, error);

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssssstua(sud))");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_open_container(reply, 'r', "ssssstua(sud)");
                if (r >= 0)
                        r = append_record(reply, recs[i], 0);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        store_record_array_free(recs, n);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* One event: "(ttsssass)" of time, stream time, device, kind, channel
 * ("" for ranking events), features (empty for channel events), detail. */
static int append_event(const store_event *e, void *userdata) {
        sd_bus_message *reply = userdata;
        _cleanup_free_ char *copy = e->features ? strdup(e->features) : NULL;
        int r;

        if (e->features && !copy)
                return -ENOMEM;
        r = sd_bus_message_open_container(reply, 'r', "ttsssass");
        if (r >= 0)
                r = sd_bus_message_append(reply, "ttsss", e->time_us, e->stream_time_us, e->device, e->kind,
                                          e->channel ?: "");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "s");
        for (char *save = NULL, *f = copy ? strtok_r(copy, "\n", &save) : NULL; r >= 0 && f;
             f = strtok_r(NULL, "\n", &save))
                r = sd_bus_message_append(reply, "s", f);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", e->detail);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int method_get_events(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        const char *device;
        uint64_t since;
        uint32_t limit;
        da_error err = {};
        int r;

        r = sd_bus_message_read(message, "stu", &device, &since, &limit);
        if (r < 0)
                return r;
        if (device[0] && !manager_knows_device(m, device))
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_DEVICE,
                                         "No device '%s'; 'deepactifctl devices' lists them.", device);
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ttsssass)");
        if (r >= 0) {
                r = store_foreach_event(m->store, device[0] ? device : NULL, since,
                                        limit == 0 || limit > HISTORY_MAX ? HISTORY_MAX : limit, append_event, reply,
                                        &err);
                if (r < 0 && err.message[0])
                        return sd_bus_error_setf(error, BUS_ERROR_FAILED, "Failed to read the database: %s",
                                                 err.message);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_metrics(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = metrics_format(userdata, &text);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "s", text);
}

static int method_export(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *format, *device;
        uint64_t since, until;
        int f, fd = -1, r;

        r = sd_bus_message_read(message, "sstt", &format, &device, &since, &until);
        if (r < 0)
                return r;
        f = store_export_format_from_string(format);
        if (f < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown export format '%s'; use csv or json.",
                                         format);
        if (until != 0 && until < since)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "'until' (%" PRIu64 ") lies before 'since' (%" PRIu64 ").", until, since);
        if (device[0] && !manager_knows_device(m, device))
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_DEVICE,
                                         "No device '%s'; 'deepactifctl devices' lists them.", device);

        manager_flush_for_query(m);
        /* What is stored now: an export of a live store ends. */
        if (until == 0) {
                struct timespec ts;

                clock_gettime(CLOCK_REALTIME, &ts);
                until = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
        }
        r = export_pipe_start(m->event, m->store, &(store_query) {
                        .device = device[0] ? device : NULL,
                        .since_us = since,
                        .until_us = until,
                        .oldest_first = true,
                }, f, &fd);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to start the export: %m");
        r = sd_bus_reply_method_return(message, "h", fd);
        close(fd);      /* the reply holds its own copy */
        return r;
}

static int reload_now(sd_bus_message *message, Manager *m, sd_bus_error *error) {
        int r;

        r = manager_reload(m);
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_FAILED,
                                         "Reload failed, the previous configuration and model stay: %s; "
                                         "see the daemon's log.", strerror(-r));
        return sd_bus_reply_method_return(message, NULL);
}

static int method_reload(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return bus_verify_and_run(message, userdata, POLKIT_ACTION_MANAGE, reload_now, error);
}

static int reset_user_now(sd_bus_message *message, Manager *m, sd_bus_error *error) {
        const char *device;
        int r;

        r = sd_bus_message_read(message, "s", &device);
        if (r < 0)
                return r;
        r = manager_reset_user(m, device);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_DEVICE,
                                         "No live device '%s'; 'deepactifctl devices' lists them.", device);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to start a new user on '%s': %m", device);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_reset_user(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return bus_verify_and_run(message, userdata, POLKIT_ACTION_MANAGE, reset_user_now, error);
}

const sd_bus_vtable bus_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("APIVersion", "u", property_get_api_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("ListDevices",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ssbo)", devices),
                                method_list_devices, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetRanking",
                                SD_BUS_ARGS("s", device, "s", method, "u", top_k),
                                SD_BUS_RESULT("s", device, "s", model, "s", method, "s", location,
                                              "s", aggregation, "t", time, "u", windows, "a(sud)", ranking),
                                method_get_ranking, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetHistory",
                                SD_BUS_ARGS("s", device, "t", since, "t", until, "u", limit),
                                SD_BUS_RESULT("a(ssssstua(sud))", snapshots),
                                method_get_history, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetEvents",
                                SD_BUS_ARGS("s", device, "t", since, "u", limit),
                                SD_BUS_RESULT("a(ttsssass)", events),
                                method_get_events, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetMetrics",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("s", text),
                                method_get_metrics, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Export",
                                SD_BUS_ARGS("s", format, "s", device, "t", since, "t", until),
                                SD_BUS_RESULT("h", data),
                                method_export, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResetUser",
                                SD_BUS_ARGS("s", device),
                                SD_BUS_NO_RESULT,
                                method_reset_user, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};
