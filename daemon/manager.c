/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "manager.h"

/* How often retention runs, at most. */
#define RETENTION_INTERVAL_USEC (60 * USEC_PER_SEC)

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata);

static void on_device_ranking_changed(Device *d, void *userdata) {
        Manager *m = userdata;

        if (m->ranking_changed)
                m->ranking_changed(d, m->ranking_changed_userdata);
}

static void on_device_event(Device *d, const DeviceEvent *e, void *userdata) {
        Manager *m = userdata;

        if (m->event_raised)
                m->event_raised(d, e, m->event_raised_userdata);
}

static void drop_device(Manager *m, Device *d) {
        if (d->snapshot && (!m->last_gone || d->snapshot->time_us >= m->last_gone->time_us)) {
                store_record_free(m->last_gone);
                m->last_gone = TAKE_PTR(d->snapshot);
        }
        LIST_REMOVE(devices, m->devices, d);
        m->n_devices--;
        device_free(d);
}

static int free_and_strdup(char **p, const char *s) {
        char *c = strdup(s);

        if (!c)
                return -ENOMEM;
        free(*p);
        *p = c;
        return 0;
}

int manager_new(const ManagerOptions *options, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        sigset_t mask;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return log_oom();
        m->options = *options;
        config_init(&m->config);
        m->device_env = (DeviceEnv) {
                .config = &m->config,
                .ranking_changed = on_device_ranking_changed,
                .event_raised = on_device_event,
                .userdata = m,
        };

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");

        /* sd-event delivers these through a signalfd; they must be blocked. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        r = sd_event_add_signal(m->event, &m->sigterm, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, &m->sigint, SIGINT, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, &m->sighup, SIGHUP, on_signal, m);
        if (r < 0)
                return log_error_errno(r, "Failed to install signal handlers: %m");

        /* Pings the service manager at half WATCHDOG_USEC when it is set. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to enable the watchdog: %m");

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        for (unsigned i = m->n_sources; i > 0; i--)
                m->sources[i - 1] = source_free(m->sources[i - 1]);
        m->n_sources = 0;
        m->sources = mfree(m->sources);
        while (m->devices)
                drop_device(m, m->devices);
        store_record_free(m->last_gone);
        sd_event_source_unref(m->flush_timer);
        sd_event_source_unref(m->sigterm);
        sd_event_source_unref(m->sigint);
        sd_event_source_unref(m->sighup);
        store_free(m->store);
        da_model_free(m->model);
        free(m->model_path);
        free(m->model_identity);
        free(m->database_path);
        config_done(&m->config);
        sd_event_unref(m->event);
        return mfree(m);
}

/* The previous model is handed back in ret_old, to be freed once no device
 * stream refers to it any more. */
/* precision: Precision=, -1 to keep the file's */
static int load_model(Manager *m, const char *path, int precision, da_model **ret_old) {
        _cleanup_(da_model_freep) da_model *model = NULL;
        _cleanup_free_ char *p = NULL, *identity = NULL;
        da_error err = {};
        struct stat st;
        int r;

        r = da_model_load(path, &model, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to load model '%s': %s", path,
                                       err.message[0] ? err.message : strerror(-r));
        if (precision >= 0) {
                r = da_model_set_precision(model, precision);
                if (r < 0)
                        return log_error_errno(r, "Failed to convert model '%s' to %s: %s", path,
                                               da_precision_to_string(precision),
                                               r == -ERANGE ? "weights out of range" : strerror(-r));
        }
        /* Cheap identity: enough to tell a replaced file from the old one. */
        if (stat(path, &st) < 0)
                return log_error_errno(errno, "Failed to stat model '%s': %m", path);
        if (asprintf(&identity, "size:%jd,mtime:%" PRIu64, (intmax_t) st.st_size,
                     (uint64_t) st.st_mtim.tv_sec * USEC_PER_SEC + (uint64_t) st.st_mtim.tv_nsec / 1000) < 0)
                return log_oom();
        p = strdup(path);
        if (!p)
                return log_oom();

        *ret_old = m->model;
        m->model = TAKE_PTR(model);
        free(m->model_path);
        m->model_path = TAKE_PTR(p);
        free(m->model_identity);
        m->model_identity = TAKE_PTR(identity);
        m->model_generation++;
        m->device_env.model = m->model;
        m->device_env.model_path = m->model_path;
        m->device_env.model_identity = m->model_identity;
        log_info("Loaded model '%s': %u features, window %u, hop %u.", m->model_path,
                 da_model_arch(m->model)->n_features, da_model_arch(m->model)->window,
                 da_model_arch(m->model)->hop);
        return 0;
}

static int apply_size_limit(Manager *m) {
        da_error err = {};
        int r;

        r = store_set_size_limit(m->store, m->config.database_max_size, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to limit database '%s' to %" PRIu64 " bytes: %s",
                                       m->database_path, m->config.database_max_size, err.message);
        return 0;
}

static int open_store(Manager *m, const char *path) {
        da_error err = {};
        int r;

        r = store_open(path, 0, &m->store, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to open database '%s': %s", path,
                                       err.message[0] ? err.message : strerror(-r));
        m->device_env.store = m->store;
        m->database_path = strdup(path);
        if (!m->database_path)
                return log_oom();
        return apply_size_limit(m);
}

static void check_ready(Manager *m) {
        if (m->ready || m->ready_holds > 0 || !m->store)
                return;
        m->ready = true;
        (void) sd_notify(false, "READY=1");
        manager_update_status(m);
}

void manager_ready_hold(Manager *m) {
        m->ready_holds++;
}

void manager_ready_release(Manager *m) {
        if (m->ready_holds > 0)
                m->ready_holds--;
        check_ready(m);
}

void manager_update_status(Manager *m) {
        uint64_t frames = 0, windows = 0;
        unsigned unsupported = 0;

        LIST_FOREACH(devices, d, m->devices) {
                frames += d->frames_processed;
                windows += d->windows;
                unsupported += !d->supported;
        }
        (void) sd_notifyf(false, "STATUS=%u device(s)%s%.0u%s, %" PRIu64 " frames, %" PRIu64 " windows%s",
                          m->n_devices, unsupported ? " (" : "", unsupported,
                          unsupported ? " unsupported)" : "", frames, windows,
                          m->store_failing ? "; database writes failing, retrying" : "");
}

const char *manager_state_to_string(const Manager *m) {
        if (!m->ready)
                return "starting";
        if (m->store_failing)
                return "degraded";
        return "running";
}

void manager_flush_for_query(Manager *m) {
        store_stats st;

        if (!m->store)
                return;
        store_get_stats(m->store, &st);
        if (st.queued > 0)
                (void) manager_flush(m, false);
}

Device *manager_find_device(Manager *m, const char *name) {
        LIST_FOREACH(devices, d, m->devices)
                if (streq(d->name, name))
                        return d;
        return NULL;
}

int manager_reset_user(Manager *m, const char *name) {
        Device *d = manager_find_device(m, name);
        uint64_t remaining;

        if (!d)
                return -ENOENT;
        device_reset_user(d);
        if (device_warming_up(d, &remaining))
                log_info("%s: a new user; per-user statistics start over (no prediction for the next %" PRIu64
                         " valid frames), and so do the event baselines and the rolling ranking.", d->name, remaining);
        else
                log_info("%s: a new user; the event baselines and the rolling ranking start over.", d->name);
        if (m->user_reset)
                m->user_reset(d, m->user_reset_userdata);
        return 0;
}

bool manager_knows_device(Manager *m, const char *name) {
        store_device *devs = NULL;
        size_t n = 0;
        bool found = false;

        if (manager_find_device(m, name))
                return true;
        if (store_list_devices(m->store, &devs, &n, NULL) < 0)
                return false;
        for (size_t i = 0; i < n && !found; i++)
                found = streq(devs[i].name, name);
        store_device_array_free(devs, n);
        return found;
}

static bool snapshot_matches(const store_record *s, const char *device, const char *method) {
        return s && (!device || streq(s->device, device)) && (!method || streq(s->method, method));
}

const store_record *manager_latest_snapshot(Manager *m, const char *device, const char *method) {
        const store_record *best = NULL;

        LIST_FOREACH(devices, d, m->devices)
                if (snapshot_matches(d->snapshot, device, method) && (!best || d->snapshot->time_us > best->time_us))
                        best = d->snapshot;
        if (snapshot_matches(m->last_gone, device, method) && (!best || m->last_gone->time_us > best->time_us))
                best = m->last_gone;
        return best;
}

static void apply_retention(Manager *m) {
        uint64_t now = now_usec(CLOCK_REALTIME), deleted = 0;
        da_error err = {};
        int r;

        if (m->config.retention_age_usec == 0 && m->config.retention_snapshots == 0)
                return;
        if (m->last_retention_us != 0 && now - m->last_retention_us < RETENTION_INTERVAL_USEC)
                return;
        m->last_retention_us = now;
        r = store_apply_retention(m->store, now, m->config.retention_age_usec, m->config.retention_snapshots,
                                  &deleted, &err);
        if (r < 0)
                log_warning_errno(r, "Failed to apply retention: %s", err.message);
        else if (deleted > 0)
                log_debug("Retention deleted %" PRIu64 " snapshots.", deleted);
}

/* Snapshots dropped from a full queue are lost for good: say so, with how
 * many since the last message, at most once a minute. */
static void log_dropped(Manager *m) {
        static uint64_t reported, last_usec;
        uint64_t now = 0;
        store_stats st;

        store_get_stats(m->store, &st);
        if (st.dropped == reported)
                return;
        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        if (last_usec != 0 && now < last_usec + 60 * USEC_PER_SEC)
                return;
        log_warning("Dropped %" PRIu64 " ranking snapshots not written to database '%s' in time: the queue of "
                    "unwritten snapshots was full (%" PRIu64 " dropped since start).",
                    st.dropped - reported, m->database_path, st.dropped);
        reported = st.dropped;
        last_usec = now;
}

int manager_flush(Manager *m, bool final) {
        da_error err = {};
        int r;

        LIST_FOREACH(devices, d, m->devices)
                if (final)
                        (void) device_snapshot(d, true);
        if (!m->store)
                return 0;

        r = store_flush(m->store, &err);
        log_dropped(m);
        if (r < 0) {
                /* The queue is kept and the next flush retries: log the
                 * change of state, not every retry. */
                if (!m->store_failing || final)
                        log_error_errno(r, "Failed to write to database '%s', will retry: %s",
                                        m->database_path, err.message);
                m->store_failing = true;
                return r;
        }
        if (m->store_failing)
                log_notice("Writing to database '%s' works again.", m->database_path);
        m->store_failing = false;
        apply_retention(m);
        return r;
}

static int on_flush_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        (void) manager_flush(m, false);
        if (m->flushed)
                m->flushed(m);
        manager_update_status(m);
        (void) sd_event_source_set_time(s, usec + m->config.flush_interval_usec);
        return 0;
}

void manager_exit(Manager *m, int code) {
        m->exit_code = code;
        (void) sd_event_exit(m->event, code);
}

static void manager_shutdown(Manager *m, int code) {
        (void) sd_notify(false, "STOPPING=1");
        LIST_FOREACH(devices, d, m->devices)
                if (d->session) {
                        (void) device_snapshot(d, true);
                        store_session_end(m->store, d->session, now_usec(CLOCK_REALTIME));
                        d->session = NULL;
                }
        if (manager_flush(m, true) < 0 && code == 0)
                code = 1;
        if (m->flushed)
                m->flushed(m);
        manager_exit(m, code);
}

static void on_replay_finished(void *userdata, int error) {
        Manager *m = userdata;
        uint64_t frames = 0;
        struct rusage ru = {};
        double cpu;

        /* with several replays, the daemon exits after the last one (or
         * the first that fails) */
        if (error < 0)
                log_error("A replay ended early; exiting.");
        else if (++m->replays_finished < m->n_sources)
                return;
        LIST_FOREACH(devices, d, m->devices)
                frames += d->frames_processed;
        /* The benchmark figures: frames per CPU second and peak memory. */
        (void) getrusage(RUSAGE_SELF, &ru);
        cpu = (double) ru.ru_utime.tv_sec + (double) ru.ru_stime.tv_sec +
                ((double) ru.ru_utime.tv_usec + (double) ru.ru_stime.tv_usec) / 1e6;
        log_info("Replay of %u recording(s) finished: %" PRIu64 " frames in %.3f s of CPU time (%.0f frames/s), "
                 "peak RSS %ld KiB.", m->n_sources, frames, cpu, cpu > 0 ? (double) frames / cpu : 0.0,
                 ru.ru_maxrss);
        manager_shutdown(m, error < 0 ? 1 : 0);
}

static int on_device_added(void *userdata, const char *name, const char *kind, uint64_t channels, Device **ret) {
        _cleanup_free_ char *unique = NULL;
        Manager *m = userdata;
        Device *d;
        int r;

        if (manager_find_device(m, name)) {
                /* one recording replayed as several devices: replay:NAME#2, … */
                if (strncmp(name, "replay:", 7) != 0)
                        return log_error_errno(EEXIST, "Device %s already exists.", name);
                for (unsigned n = 2; !unique || manager_find_device(m, unique); n++) {
                        unique = mfree(unique);
                        if (asprintf(&unique, "%s#%u", name, n) < 0)
                                return log_oom();
                }
                name = unique;
        }
        r = device_new(&m->device_env, name, kind, channels, &d);
        if (r < 0)
                return r;
        LIST_PREPEND(devices, m->devices, d);
        m->n_devices++;
        manager_update_status(m);
        *ret = d;
        return 0;
}

static void on_device_removed(void *userdata, Device *d) {
        Manager *m = userdata;

        log_info("Device %s removed.", d->name);
        if (d->session)
                (void) device_snapshot(d, true);
        drop_device(m, d);
        manager_update_status(m);
}

static int load_config(Manager *m, Config *ret) {
        int r;

        r = config_load(m->options.config_path, ret);
        if (r < 0)
                return r;
        if (m->options.model_path && free_and_strdup(&ret->model, m->options.model_path) < 0)
                return log_oom();
        if (m->options.database_path && free_and_strdup(&ret->database, m->options.database_path) < 0)
                return log_oom();
        return 0;
}

int manager_reload(Manager *m) {
        _cleanup_(da_model_freep) da_model *old = NULL;
        Config c;
        int r;

        (void) sd_notify(false, "RELOADING=1");
        config_init(&c);
        r = load_config(m, &c);
        if (r < 0) {
                config_done(&c);
                log_error("Reloading failed; keeping the previous configuration and model.");
                goto finish;
        }
        if (!streq_ptr(c.database ?: CONFIG_DEFAULT_DATABASE, m->database_path))
                log_warning("Database= changed; the new path takes effect on restart.");

        /* Take what is in scope now under the old model before rebinding. */
        LIST_FOREACH(devices, d, m->devices)
                (void) device_snapshot(d, false);

        r = load_model(m, c.model ?: CONFIG_DEFAULT_MODEL, c.precision, &old);
        if (r < 0) {
                config_done(&c);
                log_error("Reloading failed; keeping the previous configuration and model.");
                goto finish;
        }
        config_done(&m->config);
        m->config = c;
        (void) apply_size_limit(m);
        LIST_FOREACH(devices, d, m->devices)
                (void) device_bind(d);
        (void) sd_event_source_set_time_relative(m->flush_timer, m->config.flush_interval_usec);
        log_info("Reloaded configuration and model.");
finish:
        (void) sd_notify(false, "READY=1");
        manager_update_status(m);
        return r;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        switch (si->ssi_signo) {
        case SIGHUP:
                log_info("Received SIGHUP, reloading.");
                (void) manager_reload(m);
                break;
        default:
                log_info("Received %s, flushing and exiting.", strsignal((int) si->ssi_signo));
                manager_shutdown(m, 0);
        }
        return 0;
}

static int start_sources(Manager *m) {
        const ReplayOptions replay = {
                .speed = m->options.speed,
                .speed_factor = m->options.speed_factor,
                .loop = m->options.loop,
        };
        size_t n = 0;
        int r;

        m->source_context = (SourceContext) {
                .event = m->event,
                .config = &m->config,
                .sink = {
                        .add = on_device_added,
                        .remove = on_device_removed,
                        .finished = on_replay_finished,
                        .userdata = m,
                },
        };
        while (m->options.replay_paths && m->options.replay_paths[n])
                n++;
        /* one per recording, or the two live ones */
        m->sources = calloc(MAX(n, (size_t) 2), sizeof(Source *));
        if (!m->sources)
                return log_oom();
        for (char **p = m->options.replay_paths; p && *p; p++) {
                const char *path = *p;
                Source **s = &m->sources[m->n_sources];

                switch (m->options.replay_kind) {
                case REPLAY_EVEMU:
                        r = evemu_source_new(&m->source_context, path, &replay, s);
                        break;
                case REPLAY_HID_RECORDER:
                        r = hid_recorder_source_new(&m->source_context, path, &replay, s);
                        break;
                default:
                        r = replay_source_new(&m->source_context, path, m->options.replay_format, &replay, s);
                }
                if (r < 0)
                        return r;
                m->n_sources++;
        }
        if (!m->options.replay_paths && (m->config.discover || m->config.devices)) {
                r = hidraw_source_new(&m->source_context, &m->sources[m->n_sources]);
                if (r < 0)
                        return r;
                m->n_sources++;
                r = evdev_source_new(&m->source_context, &m->sources[m->n_sources]);
                if (r < 0)
                        return r;
                m->n_sources++;
        }
        return 0;
}

int manager_startup(Manager *m) {
        da_model *old = NULL;
        int r;

        r = load_config(m, &m->config);
        if (r < 0)
                return r;
        r = load_model(m, m->config.model ?: CONFIG_DEFAULT_MODEL, m->config.precision, &old);
        if (r < 0)
                return r;
        r = open_store(m, m->config.database ?: CONFIG_DEFAULT_DATABASE);
        if (r < 0)
                return r;

        r = sd_event_add_time_relative(m->event, &m->flush_timer, CLOCK_MONOTONIC,
                                       m->config.flush_interval_usec, 0, on_flush_timer, m);
        if (r < 0)
                return log_error_errno(r, "Failed to arm the flush timer: %m");
        (void) sd_event_source_set_enabled(m->flush_timer, SD_EVENT_ON);

        r = start_sources(m);
        if (r < 0)
                return r;
        if (m->flushed)
                m->flushed(m);

        /* The D-Bus/varlink code (issue 7) holds READY here until its name
         * is owned: manager_ready_hold() before, _release() once acquired. */
        check_ready(m);
        return 0;
}

int manager_run(Manager *m) {
        int r;

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return m->exit_code;
}
