/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <strings.h>

#include "config.h"
#include "i18n.h"
#include "log.h"

void config_init(Config *c) {
        *c = (Config) {
                .ranking_interval_usec = 1 * USEC_PER_SEC,
                .flush_interval_usec = 5 * USEC_PER_SEC,
                .rolling_windows = 600,
                .location = DA_TRACE_GATE,
                .aggregation = DA_AGG_DEFAULT,
                .discover = true,
                .events = true,
                .precision = -1,
        };
        da_shift_options_init(&c->shift);
        da_health_options_init(&c->health);
}

static char **strv_free(char **l) {
        for (char **i = l; i && *i; i++)
                free(*i);
        return mfree(l);
}

void config_done(Config *c) {
        c->model = mfree(c->model);
        c->database = mfree(c->database);
        c->devices = strv_free(c->devices);
        c->metrics_file = mfree(c->metrics_file);
}

int parse_size(const char *s, uint64_t *ret_bytes) {
        static const struct {
                char suffix;
                unsigned shift;
        } units[] = { { 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 } };
        unsigned long long v;
        unsigned shift = 0;
        char *end;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || s[0] == '-')
                return -EINVAL;
        if (*end) {
                size_t i;

                for (i = 0; i < ELEMENTSOF(units); i++)
                        if (*end == units[i].suffix)
                                break;
                if (i == ELEMENTSOF(units) || (end[1] && !streq(end + 1, "B") && !streq(end + 1, "iB")))
                        return -EINVAL;
                shift = units[i].shift;
        }
        if (v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret_bytes = (uint64_t) v << shift;
        return 0;
}

int parse_timespan(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                double usec;
        } units[] = {
                /* longest first, so "ms" is not read as "m" + "s" */
                { "usec", 1 }, { "us", 1 }, { "msec", 1e3 }, { "ms", 1e3 },
                { "seconds", 1e6 }, { "second", 1e6 }, { "sec", 1e6 }, { "s", 1e6 },
                { "minutes", 60e6 }, { "minute", 60e6 }, { "min", 60e6 }, { "m", 60e6 },
                { "hours", 3600e6 }, { "hour", 3600e6 }, { "hr", 3600e6 }, { "h", 3600e6 },
                { "days", 86400e6 }, { "day", 86400e6 }, { "d", 86400e6 },
                { "weeks", 604800e6 }, { "week", 604800e6 }, { "w", 604800e6 },
        };
        double total = 0;
        bool any = false;

        while (*s) {
                char *end;
                double v;
                size_t i;

                while (isspace((unsigned char) *s))
                        s++;
                if (!*s)
                        break;
                if (*s == '-' || *s == '+')
                        return -EINVAL;
                errno = 0;
                v = strtod(s, &end);
                if (errno != 0 || end == s || !isfinite(v))
                        return -EINVAL;
                s = end;
                while (isspace((unsigned char) *s))
                        s++;
                for (i = 0; i < ELEMENTSOF(units); i++) {
                        size_t n = strlen(units[i].suffix);

                        if (strncmp(s, units[i].suffix, n) == 0 && !isalpha((unsigned char) s[n]))
                                break;
                }
                if (i < ELEMENTSOF(units)) {
                        total += v * units[i].usec;
                        s += strlen(units[i].suffix);
                } else if (!*s && !any)
                        total += v * 1e6;
                else
                        return -EINVAL;
                any = true;
        }
        if (!any || total >= (double) UINT64_MAX)
                return -EINVAL;
        *ret_usec = (uint64_t) llround(total);
        return 0;
}

static int parse_boolean(const char *v) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

/* A number in [lo, hi]. */
static int parse_double(const char *s, double lo, double hi, double *ret) {
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end || !(v >= lo && v <= hi))
                return -EINVAL;
        *ret = v;
        return 0;
}

/* The event detectors' keys; 0 when name is not one of them. */
static int parse_event_key(Config *c, const char *name, const char *value) {
        static const struct {
                const char *name;
                size_t offset;
        } spans[] = {
                { "ShiftHold",    offsetof(Config, shift.hold_usec) },
                { "ShiftRecover", offsetof(Config, shift.recover_usec) },
                { "ShiftWarmup",  offsetof(Config, shift.warmup_usec) },
                { "FrozenAfter",  offsetof(Config, health.frozen_usec) },
                { "MissingSpan",  offsetof(Config, health.missing_usec) },
                { "RangeSpan",    offsetof(Config, health.range_usec) },
                { "BaselineSpan", offsetof(Config, health.baseline_usec) },
                { "DriftSpan",    offsetof(Config, health.drift_usec) },
                { "DriftHold",    offsetof(Config, health.drift_hold_usec) },
                { "NoiseSpan",    offsetof(Config, health.noise_usec) },
        };
        static const struct {
                const char *name;
                size_t offset;
                double lo, hi;
        } numbers[] = {
                { "ShiftKendall", offsetof(Config, shift.tau_min), -1, 1 },
                { "ShiftOverlap", offsetof(Config, shift.overlap_min), 0, 1 },
                { "MissingShare", offsetof(Config, health.missing_share), 0.01, 1 },
                { "RangeIQRs",    offsetof(Config, health.range_iqr), 0, 1e6 },
                { "RangeShare",   offsetof(Config, health.range_share), 0.01, 1 },
                { "DriftOffset",  offsetof(Config, health.drift_offset), 0, 2 },
                { "NoiseFactor",  offsetof(Config, health.noise_factor), 0, 1e6 },
        };
        uint64_t u;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(spans); i++)
                if (streq(name, spans[i].name)) {
                        r = parse_timespan(value, &u);
                        /* A hold may be 0 (fire on the first bad snapshot); spans may not. */
                        if (r >= 0 && u == 0 && strncmp(name, "Shift", 5) != 0)
                                r = -ERANGE;
                        if (r >= 0)
                                *(uint64_t *) ((uint8_t *) c + spans[i].offset) = u;
                        return r < 0 ? r : 1;
                }
        for (size_t i = 0; i < ELEMENTSOF(numbers); i++)
                if (streq(name, numbers[i].name)) {
                        double v;

                        r = parse_double(value, numbers[i].lo, numbers[i].hi, &v);
                        /* A factor of 1 or less would call every channel noisy; 0 is off. */
                        if (r >= 0 && streq(name, "NoiseFactor") && v > 0 && v <= 1)
                                r = -ERANGE;
                        if (r >= 0)
                                *(double *) ((uint8_t *) c + numbers[i].offset) = v;
                        return r < 0 ? r : 1;
                }
        if (streq(name, "ShiftTopK")) {
                char *end;
                unsigned long v;

                errno = 0;
                v = strtoul(value, &end, 10);
                if (errno != 0 || end == value || *end || value[0] == '-' || v == 0 || v > 4096)
                        return -EINVAL;
                c->shift.top_k = (unsigned) v;
                return 1;
        }
        if (streq(name, "Events")) {
                r = parse_boolean(value);
                if (r < 0)
                        return r;
                c->events = r;
                return 1;
        }
        return 0;
}

typedef struct ParseState {
        Config *config;
        const char *file;
        FILE *f;
        unsigned line;
        int error;
} ParseState;

static char *count_lines(char *str, int num, void *stream) {
        ParseState *s = stream;
        char *l = fgets(str, num, s->f);

        if (l)
                s->line++;
        return l;
}

static int strv_extend_words(char ***l, const char *value) {
        _cleanup_free_ char *copy = strdup(value);
        size_t n = 0;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        /* An empty assignment resets the list, as in systemd's unit files. */
        if (!*value) {
                *l = strv_free(*l);
                return 0;
        }
        for (char **i = *l; i && *i; i++)
                n++;
        for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                char **nl = realloc(*l, (n + 2) * sizeof(char *));

                if (!nl)
                        return -ENOMEM;
                *l = nl;
                nl[n] = strdup(w);
                if (!nl[n])
                        return -ENOMEM;
                nl[++n] = NULL;
        }
        return 0;
}

static int set_string(char **field, const char *value) {
        char *v = NULL;

        if (*value) {
                v = strdup(value);
                if (!v)
                        return -ENOMEM;
        }
        free(*field);
        *field = v;
        return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
        ParseState *s = user;
        Config *c = s->config;
        uint64_t u;
        int r = 0;

        if (!streq(section, "Daemon")) {
                log_warning(_("%s:%u: Unknown section [%s], ignoring key %s=."), s->file, s->line, section, name);
                return 1;
        }

        if (streq(name, "Model"))
                r = set_string(&c->model, value);
        else if (streq(name, "Database"))
                r = set_string(&c->database, value);
        else if (streq(name, "RankingInterval") || streq(name, "FlushInterval")) {
                r = parse_timespan(value, &u);
                if (r >= 0 && u == 0)
                        r = -ERANGE;
                if (r >= 0)
                        *(streq(name, "RankingInterval") ? &c->ranking_interval_usec
                                                         : &c->flush_interval_usec) = u;
        } else if (streq(name, "RetentionAge"))
                r = parse_timespan(value, &c->retention_age_usec);
        else if (streq(name, "DatabaseMaxSize"))
                r = parse_size(value, &c->database_max_size);
        else if (streq(name, "RollingWindows") || streq(name, "RetentionSnapshots")) {
                char *end;
                unsigned long long v;

                errno = 0;
                v = strtoull(value, &end, 10);
                if (errno != 0 || end == value || *end || value[0] == '-')
                        r = -EINVAL;
                else if (streq(name, "RollingWindows")) {
                        if (v == 0 || v > 1000000)
                                r = -ERANGE;
                        else
                                c->rolling_windows = (unsigned) v;
                } else
                        c->retention_snapshots = v;
        } else if (streq(name, "Location")) {
                r = da_trace_location_from_string(value);
                if (r >= 0)
                        c->location = r;
        } else if (streq(name, "Aggregation")) {
                r = da_aggregation_from_string(value);
                if (r >= 0)
                        c->aggregation = r;
        } else if ((r = parse_event_key(c, name, value)) != 0) {
                if (r > 0)
                        r = 0;
        } else if (streq(name, "Devices"))
                r = strv_extend_words(&c->devices, value);
        else if (streq(name, "MetricsFile")) {
                if (*value && value[0] != '/')
                        r = -EINVAL;
                else
                        r = set_string(&c->metrics_file, value);
        } else if (streq(name, "Precision")) {
                if (!*value)
                        c->precision = -1;
                else {
                        r = da_precision_from_string(value);
                        if (r >= 0)
                                c->precision = r;
                }
        } else if (streq(name, "Discover")) {
                r = parse_boolean(value);
                if (r >= 0)
                        c->discover = r;
        } else {
                log_warning(_("%s:%u: Unknown key %s=, ignoring."), s->file, s->line, name);
                return 1;
        }

        if (r == -ENOMEM) {
                s->error = log_oom();
                return 0;
        }
        if (r < 0) {
                log_error(_("%s:%u: Invalid value for %s=: '%s'."), s->file, s->line, name, value);
                if (s->error == 0)
                        s->error = -EINVAL;
                return 0;
        }
        return 1;
}

static int parse_file(const char *path, Config *c, bool must_exist) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        ParseState s = { .config = c, .file = path };
        int r;

        if (!f) {
                if (errno == ENOENT && !must_exist)
                        return 0;
                return log_error_errno(errno, _("Failed to open configuration file '%s': %m"), path);
        }
        s.f = f;
        r = ini_parse_stream(count_lines, &s, handler, &s);
        if (s.error < 0)
                return s.error;
        if (r < 0)
                return log_error_errno(ENOMEM, _("Failed to parse '%s': %m"), path);
        if (r > 0)
                return log_error_errno(EINVAL, _("%s:%i: Syntax error."), path, r);
        return 0;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int parse_dropins(const char *path, Config *c) {
        _cleanup_free_ char *dir = NULL;
        DIR *d;
        char **names = NULL;
        size_t n = 0;
        int r = 0;

        if (asprintf(&dir, "%s.d", path) < 0)
                return log_oom();
        d = opendir(dir);
        if (!d) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                return log_error_errno(errno, _("Failed to open drop-in directory '%s': %m"), dir);
        }
        for (struct dirent *de; (de = readdir(d)); ) {
                size_t l = strlen(de->d_name);
                char **nn;

                if (de->d_name[0] == '.' || l < 6 || !streq(de->d_name + l - 5, ".conf"))
                        continue;
                nn = realloc(names, (n + 1) * sizeof(char *));
                if (!nn) {
                        r = log_oom();
                        goto finish;
                }
                names = nn;
                if (asprintf(&names[n], "%s/%s", dir, de->d_name) < 0) {
                        r = log_oom();
                        goto finish;
                }
                n++;
        }
        qsort(names, n, sizeof(char *), compare_strings);
        for (size_t i = 0; i < n && r >= 0; i++)
                r = parse_file(names[i], c, true);
finish:
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        closedir(d);
        return r;
}

int config_load(const char *path, Config *ret) {
        Config c;
        int r;

        config_init(&c);
        /* The default file is optional; one named on the command line is not. */
        r = parse_file(path ?: CONFIG_DEFAULT_PATH, &c, !!path);
        if (!path)
                path = CONFIG_DEFAULT_PATH;
        if (r >= 0)
                r = parse_dropins(path, &c);
        if (r < 0) {
                config_done(&c);
                return r;
        }
        config_done(ret);
        *ret = c;
        return 0;
}
