/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The device objects; bus-device.h. */

#include <errno.h>
#include <math.h>

#include "bus-device.h"
#include "device-events.h"
#include "log.h"

int bus_device_path(const Device *d, char **ret) {
        return sd_bus_path_encode(BUS_DEVICE_PREFIX, d->name, ret);
}

static int device_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                       void **ret_found, sd_bus_error *error) {
        _cleanup_free_ char *name = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_path_decode(path, BUS_DEVICE_PREFIX, &name);
        if (r <= 0)
                return r;
        *ret_found = manager_find_device(m, name);
        return !!*ret_found;
}

static int device_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes,
                            sd_bus_error *error) {
        Manager *m = userdata;
        char **nodes;
        size_t n = 0;
        int r;

        nodes = calloc(m->n_devices + 1, sizeof(char *));
        if (!nodes)
                return -ENOMEM;
        LIST_FOREACH(devices, d, m->devices) {
                r = bus_device_path(d, &nodes[n]);
                if (r < 0) {
                        for (size_t i = 0; i < n; i++)
                                free(nodes[i]);
                        free(nodes);
                        return r;
                }
                n++;
        }
        *ret_nodes = nodes;
        return 0;
}

static int property_get_model(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Device *d = userdata;

        return sd_bus_message_append(reply, "s", d->supported ? d->env->model_path : "");
}

static int property_get_missing(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Device *d = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        for (unsigned c = 0; r >= 0 && c < 64; c++)
                if (d->missing & (UINT64_C(1) << c))
                        r = sd_bus_message_append(reply, "s", da_channel_name((da_channel) c));
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int property_get_supported(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Device *d = userdata;

        return sd_bus_message_append(reply, "b", d->supported);
}

static int property_get_frames_invalid(sd_bus *bus, const char *path, const char *interface,
                                       const char *property, sd_bus_message *reply, void *userdata,
                                       sd_bus_error *error) {
        return sd_bus_message_append(reply, "t", device_frames_invalid(userdata));
}

static int property_get_warming_up(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", device_warming_up(userdata, NULL));
}

static int property_get_warmup_remaining(sd_bus *bus, const char *path, const char *interface,
                                         const char *property, sd_bus_message *reply, void *userdata,
                                         sd_bus_error *error) {
        uint64_t remaining;

        (void) device_warming_up(userdata, &remaining);
        return sd_bus_message_append(reply, "t", remaining);
}

int bus_append_scores(sd_bus_message *m, const store_record *rec, size_t top_k) {
        size_t n = top_k > 0 ? MIN(top_k, rec->n_scores) : rec->n_scores;
        int r;

        r = sd_bus_message_open_container(m, 'a', "(sud)");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(m, "(sud)", rec->scores[i].name, rec->scores[i].rank, rec->scores[i].score);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

/* PropertiesChanged for names on the device's object, and its path for a
 * signal to follow. */
static int properties_changed(Manager *m, const Device *d, char **names, char **ret_path) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = bus_device_path(d, &path);
        if (r < 0)
                return r;
        r = sd_bus_emit_properties_changed_strv(m->bus, path, BUS_DEVICE_INTERFACE, names);
        if (r < 0)
                return r;
        if (ret_path)
                *ret_path = TAKE_PTR(path);
        return 0;
}

void bus_device_send_ranking_changed(Manager *m, Device *d) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *signal = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        if (!manager_bus_ready(m) || !d->snapshot)
                return;
        r = properties_changed(m, d, (char *[]) { "Model", "Supported", "MissingChannels", "FramesProcessed",
                                                  "FramesDropped", "FramesInvalid", "WarmingUp", "WarmupRemaining",
                                                  "LastPrediction", "UpdatedAt", NULL }, &path);
        if (r < 0)
                goto fail;
        r = sd_bus_message_new_signal(m->bus, &signal, path, BUS_DEVICE_INTERFACE, "RankingChanged");
        if (r >= 0)
                r = sd_bus_message_append(signal, "tss", d->snapshot->time_us, d->snapshot->location ?: "",
                                          d->snapshot->aggregation);
        if (r >= 0)
                r = bus_append_scores(signal, d->snapshot, 0);
        if (r >= 0)
                r = sd_bus_send(m->bus, signal, NULL);
        if (r >= 0)
                return;
fail:
        log_debug_errno(r, "Failed to send RankingChanged for %s: %m", d->name);
}

void bus_device_send_user_reset(Manager *m, Device *d) {
        int r;

        if (!manager_bus_ready(m))
                return;
        r = properties_changed(m, d, (char *[]) { "WarmingUp", "WarmupRemaining", "LastPrediction", NULL }, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to announce the new user of %s: %m", d->name);
}

void bus_device_send_event(Manager *m, Device *d, const DeviceEvent *e) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *signal = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        if (!manager_bus_ready(m))
                return;
        r = properties_changed(m, d, (char *[]) { "OpenEvents", NULL }, &path);
        if (r >= 0)
                r = sd_bus_message_new_signal(m->bus, &signal, path, BUS_DEVICE_INTERFACE, "Event");
        if (r >= 0)
                r = sd_bus_message_append(signal, "ttss", e->time_us, e->stream_time_us,
                                          da_event_kind_to_string(e->kind), e->channel ?: "");
        if (r >= 0)
                r = sd_bus_message_append_strv(signal, e->features ?: (char *[]) { NULL });
        if (r >= 0)
                r = sd_bus_message_append(signal, "s", e->detail);
        if (r >= 0)
                r = sd_bus_send(m->bus, signal, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to send Event for %s: %m", d->name);
}

static int property_get_open_events(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append_strv(reply, (char **) device_events_open(&((Device *) userdata)->events));
}

int bus_device_register(Manager *m) {
        int r;

        r = sd_bus_add_fallback_vtable(m->bus, NULL, BUS_DEVICE_PREFIX, BUS_DEVICE_INTERFACE, bus_device_vtable,
                                       device_find, m);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(m->bus, NULL, BUS_DEVICE_PREFIX, device_enumerate, m);
}

const sd_bus_vtable bus_device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", NULL, offsetof(Device, name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Source", "s", NULL, offsetof(Device, source), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Model", "s", property_get_model, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Supported", "b", property_get_supported, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MissingChannels", "as", property_get_missing, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FramesProcessed", "t", NULL, offsetof(Device, frames_processed),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FramesDropped", "t", NULL, offsetof(Device, frames_dropped),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FramesInvalid", "t", property_get_frames_invalid, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("WarmingUp", "b", property_get_warming_up, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("WarmupRemaining", "t", property_get_warmup_remaining, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastPrediction", "d", NULL, offsetof(Device, last_prediction),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("UpdatedAt", "t", NULL, offsetof(Device, last_snapshot_us),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("OpenEvents", "as", property_get_open_events, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_SIGNAL_WITH_ARGS("Event",
                                SD_BUS_ARGS("t", time, "t", stream_time, "s", kind, "s", channel, "as", features,
                                            "s", detail),
                                0),
        SD_BUS_SIGNAL_WITH_ARGS("RankingChanged",
                                SD_BUS_ARGS("t", time, "s", location, "s", aggregation, "a(sud)", ranking),
                                0),
        SD_BUS_VTABLE_END
};
