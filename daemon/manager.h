/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon's state: the event loop, configuration, the model, the store,
 * the devices and their sources. main.c parses options and runs it.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "device.h"
#include "source.h"
#include "store.h"
#include "util.h"

typedef struct ManagerOptions {
        const char *config_path;        /* NULL: CONFIG_DEFAULT_PATH */
        const char *model_path;         /* overrides Model= */
        const char *database_path;      /* overrides Database= */
        char **replay_paths;            /* --replay, repeatable: one device each; NULL-terminated */
        da_recording_format replay_format;
        ReplayKind replay_kind;         /* --format evemu, hid-recorder, or any other */
        ReplaySpeed speed;
        double speed_factor;
        bool loop;
        bool user_bus;
        bool no_bus;
        const char *varlink_path;       /* NULL: VARLINK_ADDRESS_DEFAULT */
        bool no_varlink;
} ManagerOptions;

/* Called after each snapshot is queued; where the D-Bus and varlink
 * interfaces announce RankingChanged. */
typedef void (*ranking_changed_cb)(Device *d, void *userdata);
/* Called for each event a device raises; the store, journal, D-Bus and
 * varlink all get this one value. */
typedef void (*event_raised_cb)(Device *d, const DeviceEvent *e, void *userdata);
/* Called after a device was told of a new user (manager_reset_user()). */
typedef void (*user_reset_cb)(Device *d, void *userdata);

typedef struct Manager Manager;

struct Manager {
        sd_event *event;
        ManagerOptions options;
        Config config;

        da_model *model;
        char *model_path;
        char *model_identity;           /* "size:…,mtime:…" */
        uint64_t model_generation;      /* bumped by each (re)load */

        store *store;
        char *database_path;
        bool store_failing;             /* the last flush failed: log only the change */
        bool metrics_failing;           /* writing MetricsFile= failed: log only the change */
        uint64_t last_retention_us;

        /* The devices and what they read from the manager (kept current). */
        DeviceEnv device_env;
        LIST_HEAD(Device, devices);
        unsigned n_devices;
        /* The newest snapshot of a device that went away, so that the
         * newest of all is still answered from memory. */
        store_record *last_gone;

        /* The frame sources: one per replayed recording, or the live evdev
         * and hidraw ones. */
        SourceContext source_context;
        Source **sources;
        unsigned n_sources;
        unsigned replays_finished;

        sd_event_source *flush_timer;
        sd_event_source *sigterm, *sigint, *sighup;

        /* READY=1 is sent once the store is open and every hold is released:
         * the bus name acquisition takes one (issue 7). */
        unsigned ready_holds;
        bool ready;

        ranking_changed_cb ranking_changed;
        void *ranking_changed_userdata;
        event_raised_cb event_raised;
        void *event_raised_userdata;
        user_reset_cb user_reset;
        void *user_reset_userdata;
        /* Called after each periodic flush, once the sources have started,
         * and at exit: where the metrics are written (metrics.h). */
        void (*flushed)(Manager *m);

        /* The D-Bus and varlink interfaces (bus.h, varlink-manager.h). */
        sd_bus *bus;
        bool bus_name_owned;            /* no signal goes out before */
        const char *bus_state_sent;     /* the State last announced */
        struct VarlinkServer *varlink;

        int exit_code;
};

int manager_new(const ManagerOptions *options, Manager **ret);
Manager *manager_free(Manager *m);

/* Loads config, model, store and starts sources. */
int manager_startup(Manager *m);
int manager_run(Manager *m);

/* SIGHUP: configuration and model again; on failure the old ones stay. */
int manager_reload(Manager *m);
/* A new person uses the live device of that name (device_reset_user());
 * -ENOENT when there is none. */
int manager_reset_user(Manager *m, const char *name);
/* Final snapshots of all devices, then one flush. */
int manager_flush(Manager *m, bool final);
void manager_exit(Manager *m, int code);

void manager_ready_hold(Manager *m);
void manager_ready_release(Manager *m);

/* Sends STATUS= with the device and frame counts. */
void manager_update_status(Manager *m);

/* "starting", "running" or "degraded", as D-Bus and varlink report it. */
const char *manager_state_to_string(const Manager *m);
/* Flushes what is queued so a query sees the newest snapshots. */
void manager_flush_for_query(Manager *m);
/* The live device of that name, or NULL. */
Device *manager_find_device(Manager *m, const char *name);
/* Live, or with snapshots in the store. */
bool manager_knows_device(Manager *m, const char *name);
/* The newest snapshot of a device (NULL: of any) taken with method (NULL:
 * any), from memory: the live devices' and the last one gone. NULL when
 * there is none and the store must be asked. */
const store_record *manager_latest_snapshot(Manager *m, const char *device, const char *method);

/* D-Bus signals only go out once the name is owned. */
static inline bool manager_bus_ready(const Manager *m) {
        return m->bus && m->bus_name_owned;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
