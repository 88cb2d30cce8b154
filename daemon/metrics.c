/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Prometheus metrics: the text exposition format, named by Prometheus's
 * conventions (deepactif_ prefix, base units in the name, _total for
 * counters, an _info gauge for identities). */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "time-util.h"
#include "varlink.h"

static void update_rates(Manager *m) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        LIST_FOREACH(devices, d, m->devices) {
                if (d->rate_at_usec > 0 && now > d->rate_at_usec)
                        d->frame_rate = (double) (d->frames_processed - d->rate_frames) * USEC_PER_SEC /
                                        (double) (now - d->rate_at_usec);
                d->rate_frames = d->frames_processed;
                d->rate_at_usec = now;
        }
}

/* A label value: backslash, double quote and newline escaped. */
static void put_label(FILE *f, const char *s) {
        fputc('"', f);
        for (; s && *s; s++) {
                if (*s == '\\' || *s == '"')
                        fputc('\\', f);
                if (*s == '\n') {
                        fputs("\\n", f);
                        continue;
                }
                fputc(*s, f);
        }
        fputc('"', f);
}

static void header(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_double(FILE *f, double v) {
        if (isnan(v))
                fputs("NaN", f);
        else if (isinf(v))
                fputs(v > 0 ? "+Inf" : "-Inf", f);
        else
                fprintf(f, "%.15g", v);
}

/* One sample per device: name{device="…"} value. */
#define PER_DEVICE(f, m, metric, expr)                                          \
        LIST_FOREACH(devices, d, (m)->devices) {                                \
                fputs(metric "{device=", f);                                    \
                put_label(f, d->name);                                          \
                fputs("} ", f);                                                 \
                put_double(f, (double) (expr));                                 \
                fputc('\n', f);                                                 \
        }

static uint64_t file_size(const char *path, const char *suffix) {
        _cleanup_free_ char *p = NULL;
        struct stat st;

        if (asprintf(&p, "%s%s", path, suffix) < 0 || stat(p, &st) < 0)
                return 0;
        return (uint64_t) st.st_size;
}

/* The top features of each device's last snapshot, as their score or
 * their rank (1 = most important). */
static void device_features(FILE *f, const Manager *m, bool rank) {
        const char *name = rank ? "deepactif_device_feature_rank" : "deepactif_device_feature_score";

        if (rank)
                header(f, name, "gauge", "Rank of the device's top features in its last ranking snapshot (1: most important).");
        else
                header(f, name, "gauge",
                       "DeepACTIF score of the device's top features in its last ranking snapshot (0..1 for the INV aggregation).");
        LIST_FOREACH(devices, d, m->devices) {
                const store_record *snap = d->snapshot;

                if (!snap)
                        continue;
                /* the snapshot's scores come best first */
                for (size_t k = 0; k < METRICS_TOP_FEATURES && k < snap->n_scores; k++) {
                        fprintf(f, "%s{device=", name);
                        put_label(f, d->name);
                        fputs(",feature=", f);
                        put_label(f, snap->scores[k].name);
                        fputs("} ", f);
                        put_double(f, rank ? (double) snap->scores[k].rank : snap->scores[k].score);
                        fputc('\n', f);
                }
        }
}

int metrics_format(Manager *m, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        uint64_t now_rt = now_usec(CLOCK_REALTIME);
        store_stats st = {};
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        if (m->store)
                store_get_stats(m->store, &st);

        header(f, "deepactif_build_info", "gauge", "The daemon's version.");
        fputs("deepactif_build_info{version=", f);
        put_label(f, PACKAGE_VERSION);
        fputs("} 1\n", f);
        header(f, "deepactif_up", "gauge", "1 when the daemon runs normally, 0 when degraded (the store fails).");
        fprintf(f, "deepactif_up %d\n", streq(manager_state_to_string(m), "running"));
        header(f, "deepactif_devices", "gauge", "Devices the daemon reads.");
        fprintf(f, "deepactif_devices %u\n", m->n_devices);
        header(f, "deepactif_varlink_clients", "gauge", "Open varlink connections.");
        fprintf(f, "deepactif_varlink_clients %u\n", m->varlink ? varlink_server_n_clients(m->varlink) : 0);
        header(f, "deepactif_store_size_bytes", "gauge", "Size of the SQLite database and its write-ahead log.");
        fprintf(f, "deepactif_store_size_bytes %" PRIu64 "\n",
                m->database_path ? file_size(m->database_path, "") + file_size(m->database_path, "-wal") : 0);
        header(f, "deepactif_store_queued_snapshots", "gauge", "Ranking snapshots waiting for the next flush.");
        fprintf(f, "deepactif_store_queued_snapshots %zu\n", st.queued);
        header(f, "deepactif_store_snapshots_written_total", "counter", "Ranking snapshots written to the database.");
        fprintf(f, "deepactif_store_snapshots_written_total %" PRIu64 "\n", st.written);
        header(f, "deepactif_store_snapshots_dropped_total", "counter",
               "Ranking snapshots dropped from a full queue, never written.");
        fprintf(f, "deepactif_store_snapshots_dropped_total %" PRIu64 "\n", st.dropped);
        header(f, "deepactif_store_flush_failures_total", "counter", "Flushes to the database that failed.");
        fprintf(f, "deepactif_store_flush_failures_total %" PRIu64 "\n", st.failed_flushes);

        header(f, "deepactif_device_info", "gauge",
               "A device, its source, whether the model can run on it, and the model it runs (path, identity, weight precision).");
        LIST_FOREACH(devices, d, m->devices) {
                fputs("deepactif_device_info{device=", f);
                put_label(f, d->name);
                fputs(",source=", f);
                put_label(f, d->source);
                fprintf(f, ",supported=\"%s\",model=", d->supported ? "true" : "false");
                put_label(f, d->supported ? m->model_path : "");
                fputs(",model_identity=", f);
                put_label(f, d->supported ? m->model_identity : "");
                fputs(",precision=", f);
                put_label(f, d->supported && m->model ? da_precision_to_string(da_model_precision(m->model)) : "");
                fputs("} 1\n", f);
        }
        header(f, "deepactif_device_frames_total", "counter", "Frames the device's pipeline processed.");
        PER_DEVICE(f, m, "deepactif_device_frames_total", d->frames_processed);
        header(f, "deepactif_device_frames_dropped_total", "counter",
               "Frames lost before decoding (SYN_DROPPED, short reads, bad lines).");
        PER_DEVICE(f, m, "deepactif_device_frames_dropped_total", d->frames_dropped);
        header(f, "deepactif_device_frames_invalid_total", "counter",
               "Frames decoded but unusable (a model feature missing).");
        PER_DEVICE(f, m, "deepactif_device_frames_invalid_total", device_frames_invalid(d));
        header(f, "deepactif_device_warming_up", "gauge",
               "1 while the model's per-user scaling still gathers the device's first frames (no prediction yet), else 0.");
        PER_DEVICE(f, m, "deepactif_device_warming_up", device_warming_up(d, NULL));
        header(f, "deepactif_device_warmup_frames_remaining", "gauge",
               "Valid frames the device still needs before its per-user scaling is warm (0 when warm or not per-user).");
        LIST_FOREACH(devices, d, m->devices) {
                uint64_t remaining = 0;

                (void) device_warming_up(d, &remaining);
                fputs("deepactif_device_warmup_frames_remaining{device=", f);
                put_label(f, d->name);
                fprintf(f, "} %" PRIu64 "\n", remaining);
        }
        header(f, "deepactif_device_windows_total", "counter", "Windows the model evaluated.");
        PER_DEVICE(f, m, "deepactif_device_windows_total", d->windows);
        header(f, "deepactif_device_snapshots_total", "counter", "Ranking snapshots taken.");
        PER_DEVICE(f, m, "deepactif_device_snapshots_total", d->snapshots);
        header(f, "deepactif_device_frame_rate_hertz", "gauge", "Frames processed per second over the last flush interval.");
        PER_DEVICE(f, m, "deepactif_device_frame_rate_hertz", d->frame_rate);
        header(f, "deepactif_device_prediction", "gauge",
               "The model's output for the device's last window, in the model's unit; NaN before the first.");
        PER_DEVICE(f, m, "deepactif_device_prediction", d->last_prediction);
        header(f, "deepactif_device_last_snapshot_timestamp_seconds", "gauge",
               "When the device's last ranking snapshot was taken (0: none yet).");
        PER_DEVICE(f, m, "deepactif_device_last_snapshot_timestamp_seconds", (double) d->last_snapshot_us / 1e6);
        header(f, "deepactif_device_snapshot_age_seconds", "gauge",
               "Age of the device's last ranking snapshot when these metrics were written; NaN before the first.");
        PER_DEVICE(f, m, "deepactif_device_snapshot_age_seconds",
                   d->last_snapshot_us == 0 ? NAN
                   : (double) (now_rt > d->last_snapshot_us ? now_rt - d->last_snapshot_us : 0) / 1e6);
        device_features(f, m, false);
        device_features(f, m, true);

        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Writes MetricsFile= when set: a temporary file next to it renamed over
 * it, so a scrape never sees half a file. Logs a failure once until it
 * works again. */
static int metrics_write(Manager *m) {
        _cleanup_free_ char *text = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -1;
        const char *path = m->config.metrics_file;
        size_t n, done = 0;
        int r;

        if (!path)
                return 0;
        r = metrics_format(m, &text);
        if (r < 0)
                return log_oom();
        /* the collector reads only *.prom files: the temporary name is not one */
        if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return log_oom();
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                goto fail;
        }
        n = strlen(text);
        while (done < n) {
                ssize_t k = write(fd, text + done, n - done);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        goto fail;
                }
                done += (size_t) k;
        }
        /* node-exporter runs as another user: the file is world-readable */
        if (fchmod(fd, 0644) < 0 || rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }
        if (m->metrics_failing)
                log_notice("Writing metrics to '%s' works again.", path);
        m->metrics_failing = false;
        return 0;

fail:
        if (fd >= 0)
                (void) unlink(tmp);
        if (!m->metrics_failing)
                log_warning_errno(r, "Failed to write metrics to '%s', will retry: %m", path);
        m->metrics_failing = true;
        return r;
}

void metrics_flushed(Manager *m) {
        update_rates(m);
        (void) metrics_write(m);
}
