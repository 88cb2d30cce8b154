/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Recordings turned into windows of derived features with a depth target,
 * one subject per file. Frames go through the featurizer and the
 * invalid-frame rule exactly as in stream.c, so the windows here are the
 * windows the daemon would evaluate on the same recording. */

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>

#include "dataset.h"
#include "util.h"

void da_dataset_options_init(da_dataset_options *o) {
        *o = (da_dataset_options) {
                .window = 10,
                .hop = 1,
                .target_min = 0.35,
                .target_max = 3.0,
                .format = DA_REC_AUTO,
                .min_windows = 1,
        };
}

static void subject_done(ds_subject *s) {
        free(s->name);
        free(s->rows);
        free(s->end);
        free(s->target);
        *s = (ds_subject) {};
}

da_dataset *da_dataset_free(da_dataset *ds) {
        if (!ds)
                return NULL;
        for (unsigned s = 0; s < ds->n_subjects; s++)
                subject_done(&ds->subject[s]);
        free(ds->subject);
        if (ds->names)
                for (unsigned f = 0; f < ds->F; f++)
                        free(ds->names[f]);
        free(ds->names);
        free(ds->index);
        for (unsigned i = 0; i < ds->n_skipped; i++)
                free(ds->skipped[i]);
        free(ds->skipped);
        return mfree(ds);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(da_dataset *, da_dataset_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(da_featurizer *, da_featurizer_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(da_column_map *, da_column_map_free);

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

unsigned da_dataset_n_subjects(const da_dataset *ds) {
        return ds->n_subjects;
}

const char *da_dataset_subject(const da_dataset *ds, unsigned s) {
        return s < ds->n_subjects ? ds->subject[s].name : NULL;
}

size_t da_dataset_n_windows(const da_dataset *ds, unsigned s) {
        return s < ds->n_subjects ? ds->subject[s].n_windows : 0;
}

unsigned da_dataset_n_features(const da_dataset *ds) {
        return ds->F;
}

const char *da_dataset_feature(const da_dataset *ds, unsigned f) {
        return f < ds->F ? ds->names[f] : NULL;
}

unsigned da_dataset_n_skipped(const da_dataset *ds) {
        return ds->n_skipped;
}

const char *da_dataset_skipped(const da_dataset *ds, unsigned i) {
        return i < ds->n_skipped ? ds->skipped[i] : NULL;
}

void da_dataset_stats_get(const da_dataset *ds, da_dataset_stats *ret) {
        *ret = ds->stats;
}

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);

        return n >= k && streq(s + n - k, suffix);
}

static bool is_recording_name(const char *name) {
        static const char *const ext[] = { ".tsv", ".csv", ".asc", ".tsv.gz", ".csv.gz", ".asc.gz" };

        if (name[0] == '.')
                return false;
        for (size_t i = 0; i < ELEMENTSOF(ext); i++)
                if (has_suffix(name, ext[i]))
                        return true;
        return false;
}

/* The subject's name: the base name without ".gz" and its format extension. */
static char *subject_name(const char *path) {
        const char *base = strrchr(path, '/');
        char *name, *dot;

        name = strdup(base ? base + 1 : path);
        if (!name)
                return NULL;
        if (has_suffix(name, ".gz"))
                name[strlen(name) - 3] = '\0';
        dot = strrchr(name, '.');
        if (dot && dot != name)
                *dot = '\0';
        return name;
}

typedef struct path_list {
        char **v;
        size_t n, cap;
} path_list;

static void path_list_done(path_list *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        free(l->v);
}

static int path_list_add(path_list *l, char *p) {
        if (!p)
                return -ENOMEM;
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 16;
                char **v = realloc(l->v, cap * sizeof(char *));

                if (!v) {
                        free(p);
                        return -ENOMEM;
                }
                l->v = v;
                l->cap = cap;
        }
        l->v[l->n++] = p;
        return 0;
}

static int cmp_version(const void *a, const void *b) {
        return strverscmp(*(char *const *) a, *(char *const *) b);
}

/* A directory contributes its recordings in version order (P2 before P10),
 * so subject order, and with it every seeded split, does not depend on the
 * file system. */
static int expand_path(const char *path, path_list *out, da_error *err) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct stat st;
        path_list found = {};
        struct dirent *de;
        int r = 0;

        if (stat(path, &st) < 0)
                return da_error_set(err, -errno, "%s: cannot open: %s", path, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return path_list_add(out, strdup(path));

        d = opendir(path);
        if (!d)
                return da_error_set(err, -errno, "%s: cannot read the directory: %s", path, strerror(errno));
        while ((de = readdir(d))) {
                char *p;

                if (!is_recording_name(de->d_name))
                        continue;
                if (asprintf(&p, "%s/%s", path, de->d_name) < 0) {
                        r = -ENOMEM;
                        goto finish;
                }
                r = path_list_add(&found, p);
                if (r < 0)
                        goto finish;
        }
        if (found.n == 0) {
                r = da_error_set(err, -ENOENT, "%s: the directory holds no recording (*.tsv, *.csv, *.asc, or .gz)",
                                 path);
                goto finish;
        }
        qsort(found.v, found.n, sizeof(char *), cmp_version);
        for (size_t i = 0; i < found.n; i++) {
                r = path_list_add(out, TAKE_PTR(found.v[i]));
                if (r < 0)
                        goto finish;
        }
finish:
        path_list_done(&found);
        return r;
}

static int grow(void **v, size_t *cap, size_t need, size_t elem) {
        size_t cap_new;
        void *p;

        if (need <= *cap)
                return 0;
        cap_new = MAX(*cap * 2, MAX(need, (size_t) 1024));
        p = realloc(*v, cap_new * elem);
        if (!p)
                return -ENOMEM;
        *v = p;
        *cap = cap_new;
        return 0;
}

static int add_skipped(da_dataset *ds, const char *fmt, ...) _printf_(2, 3);
static int add_skipped(da_dataset *ds, const char *fmt, ...) {
        char **v, *s;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        v = realloc(ds->skipped, (ds->n_skipped + 1) * sizeof(char *));
        if (!v) {
                free(s);
                return -ENOMEM;
        }
        ds->skipped = v;
        ds->skipped[ds->n_skipped++] = s;
        return 0;
}

/* The channels the data set's features need, and target.depth. */
static uint64_t needed_channels(const da_dataset *ds) {
        uint64_t need = UINT64_C(1) << DA_CH_TARGET_DEPTH;

        for (unsigned f = 0; f < ds->F; f++) {
                da_channel ch[_DA_CH_MAX];
                int n = da_feature_channels(ds->index[f], ch, ELEMENTSOF(ch));

                for (int i = 0; i < n && i < (int) ELEMENTSOF(ch); i++)
                        need |= UINT64_C(1) << ch[i];
        }
        return need;
}

static int open_recording(const char *path, const da_dataset_options *opt, da_reader **ret, da_error *err) {
        _cleanup_(da_column_map_freep) da_column_map *map = NULL;
        int r;

        if (!opt->column_map)
                r = da_reader_open(path, opt->format, ret, err);
        else {
                r = da_column_map_parse(opt->column_map, &map, err);
                if (r < 0)
                        return r;
                r = da_reader_open_csv(path, map, ret, err);
        }
        if (r < 0)
                return r;
        da_reader_set_drop_repeats(*ret, !opt->keep_repeats);
        return 0;
}

/* Reads one recording into s; a recording that lacks a needed channel
 * altogether is an error naming the channel, not a silent empty subject. */
static int load_subject(da_dataset *ds, const char *path, const da_dataset_options *opt, ds_subject *s,
                        da_dataset_stats *stats, da_error *err) {
        _cleanup_(da_reader_freep) da_reader *rd = NULL;
        _cleanup_(da_featurizer_freep) da_featurizer *fz = NULL;
        _cleanup_free_ float *row = NULL;
        size_t rows_cap = 0, end_cap = 0, target_cap = 0;
        uint64_t need = needed_channels(ds), seen = 0, valid = 0;
        da_frame fr;
        int r;

        r = open_recording(path, opt, &rd, err);
        if (r < 0)
                return r;
        r = da_featurizer_new(ds->index, ds->F, &fz);
        if (r < 0)
                return r;
        row = malloc(ds->F * sizeof(float));
        if (!row)
                return -ENOMEM;

        while ((r = da_reader_next(rd, &fr, err)) > 0) {
                float target = fr.ch[DA_CH_TARGET_DEPTH];
                bool ok = true;

                stats->frames++;
                for (unsigned c = 0; c < _DA_CH_MAX; c++)
                        if (isfinite(fr.ch[c]))
                                seen |= UINT64_C(1) << c;

                r = da_featurizer_push(fz, &fr, row);
                if (r < 0)
                        return r;
                for (unsigned f = 0; f < ds->F && ok; f++)
                        ok = isfinite(row[f]);
                if (!ok) {
                        stats->invalid++;
                        continue;
                }

                r = grow((void **) &s->rows, &rows_cap, (s->n_rows + 1) * ds->F, sizeof(float));
                if (r < 0)
                        return r;
                memcpy(s->rows + s->n_rows * ds->F, row, ds->F * sizeof(float));
                s->n_rows++;
                valid++;

                /* the stream's rule: a window every hop valid frames once T are in */
                if (valid < ds->T || (valid - ds->T) % ds->hop != 0)
                        continue;
                if (!isfinite(target) || target < opt->target_min || target > opt->target_max) {
                        stats->out_of_range++;
                        continue;
                }
                r = grow((void **) &s->end, &end_cap, s->n_windows + 1, sizeof(size_t));
                if (r < 0)
                        return r;
                r = grow((void **) &s->target, &target_cap, s->n_windows + 1, sizeof(float));
                if (r < 0)
                        return r;
                s->end[s->n_windows] = s->n_rows - 1;
                s->target[s->n_windows] = target;
                s->n_windows++;
        }
        if (r < 0)
                return r;

        if (stats->frames == 0)
                return da_error_set(err, -ENODATA, "%s: the recording holds no samples", path);
        if ((need & ~seen) != 0) {
                for (unsigned c = 0; c < _DA_CH_MAX; c++)
                        if ((need & ~seen) & (UINT64_C(1) << c))
                                return da_error_set(err, -ENODATA,
                                                    "%s: no sample has a value for channel '%s'%s (missing column?)",
                                                    path, da_channel_name(c),
                                                    c == DA_CH_TARGET_DEPTH ? ", the training target" :
                                                                              ", which the features need");
        }
        return 0;
}

static int resolve_features(da_dataset *ds, const da_dataset_options *opt, da_error *err) {
        unsigned n = opt->features ? opt->n_features : DA_FEATURES_ROBUSTVISION;

        if (n == 0)
                return da_error_set(err, -EINVAL, "the feature list is empty");
        ds->names = calloc(n, sizeof(char *));
        ds->index = calloc(n, sizeof(unsigned));
        if (!ds->names || !ds->index)
                return -ENOMEM;
        ds->F = n;
        for (unsigned f = 0; f < n; f++) {
                const char *name = opt->features ? opt->features[f] : da_feature_get(f)->name;
                int k = da_feature_from_name(name);

                if (k < 0)
                        return da_error_set(err, -ENOENT, "'%s' is not a feature this library derives "
                                            "(see deepactifctl features)", name);
                for (unsigned g = 0; g < f; g++)
                        if (ds->index[g] == (unsigned) k)
                                return da_error_set(err, -EINVAL, "feature '%s' is listed twice", name);
                ds->index[f] = (unsigned) k;
                ds->names[f] = strdup(name);
                if (!ds->names[f])
                        return -ENOMEM;
        }
        return 0;
}

int da_dataset_load(const char *const *paths, unsigned n_paths, const da_dataset_options *opt,
                    da_dataset **ret, da_error *err) {
        _cleanup_(da_dataset_freep) da_dataset *ds = NULL;
        da_dataset_options defaults;
        path_list files = {};
        int r;

        if (!paths || n_paths == 0 || !ret)
                return da_error_set(err, -EINVAL, "no recordings given");
        if (!opt) {
                da_dataset_options_init(&defaults);
                opt = &defaults;
        }
        if (opt->window == 0 || opt->window > 100000 || opt->hop == 0)
                return da_error_set(err, -EINVAL, "window and hop must be positive");
        if (!(opt->target_min <= opt->target_max))
                return da_error_set(err, -EINVAL, "the target range %g..%g is empty", opt->target_min,
                                    opt->target_max);

        ds = calloc(1, sizeof(*ds));
        if (!ds)
                return -ENOMEM;
        ds->T = opt->window;
        ds->hop = opt->hop;
        r = resolve_features(ds, opt, err);
        if (r < 0)
                return r;

        for (unsigned i = 0; i < n_paths; i++) {
                r = expand_path(paths[i], &files, err);
                if (r < 0)
                        goto finish;
        }
        ds->subject = calloc(files.n, sizeof(ds_subject));
        if (!ds->subject) {
                r = -ENOMEM;
                goto finish;
        }

        for (size_t i = 0; i < files.n; i++) {
                ds_subject *s = &ds->subject[ds->n_subjects];
                da_dataset_stats st = {};

                s->name = subject_name(files.v[i]);
                if (!s->name) {
                        r = -ENOMEM;
                        goto finish;
                }
                r = load_subject(ds, files.v[i], opt, s, &st, err);
                if (r < 0) {
                        subject_done(s);
                        goto finish;
                }
                if (s->n_windows < MAX(opt->min_windows, 1u)) {
                        r = add_skipped(ds, "%s: %zu window%s of %u frames with a target in %g..%g m, "
                                        "fewer than %u (%" PRIu64 " frames, %" PRIu64 " with a missing feature)",
                                        s->name, s->n_windows, s->n_windows == 1 ? "" : "s", ds->T,
                                        opt->target_min, opt->target_max, MAX(opt->min_windows, 1u),
                                        st.frames, st.invalid);
                        subject_done(s);
                        if (r < 0)
                                goto finish;
                        continue;
                }
                ds->stats.frames += st.frames;
                ds->stats.invalid += st.invalid;
                ds->stats.out_of_range += st.out_of_range;
                ds->stats.windows += s->n_windows;
                ds->n_subjects++;
        }
        if (ds->n_subjects == 0) {
                r = da_error_set(err, -ENODATA, "no recording yields a window: %s",
                                 ds->n_skipped > 0 ? ds->skipped[0] : "nothing given");
                goto finish;
        }
        *ret = TAKE_PTR(ds);
        r = 0;
finish:
        path_list_done(&files);
        return r;
}

/* A subject's rows as a stream bound to m would scale them: the model's
 * input columns picked by name. Windows of
 * this subject whose first row lies before *ret_first are not evaluated.
 * Each window's rows are the stream's rows (stream_scale_rows()). */
int ds_scaled_rows(const da_model *m, const da_dataset *ds, const ds_subject *s, float **ret_rows,
                   size_t *ret_first, da_error *err) {
        const da_arch *a = da_model_arch(m);
        _cleanup_free_ unsigned *cols = calloc(a->n_features, sizeof(unsigned));
        _cleanup_free_ float *rows = NULL;
        int r;

        if (!cols)
                return -ENOMEM;
        for (unsigned f = 0; f < a->n_features; f++) {
                const char *name = da_model_feature(m, f);
                unsigned k = 0;

                if (!name)
                        return da_error_set(err, -EINVAL, "the model names no input features");
                while (k < ds->F && !streq(ds->names[k], name))
                        k++;
                if (k == ds->F)
                        return da_error_set(err, -ENOENT, "model input '%s' is not among the data set's features",
                                            name);
                cols[f] = k;
        }
        rows = malloc((s->n_rows ? s->n_rows : 1) * a->n_features * sizeof(float));
        if (!rows)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_rows; i++)
                for (unsigned f = 0; f < a->n_features; f++)
                        rows[i * a->n_features + f] = s->rows[i * ds->F + cols[f]];
        r = stream_scale_rows(m->scaling, m->warmup, m->scaler_median, m->scaler_iqr, a->n_features, rows,
                              s->n_rows, ret_first);
        if (r < 0)
                return da_error_set(err, r, "cannot scale %s's features: %s", s->name, strerror(-r));
        *ret_rows = TAKE_PTR(rows);
        return 0;
}
