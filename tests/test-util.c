/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <sys/stat.h>

#include "test-util.h"

char *test_path(const char *rel) {
        char *p;

        if (asprintf(&p, "%s/%s", TEST_SRCDIR, rel) < 0)
                abort();
        return p;
}

json_object *test_load_json(const char *path) {
        return json_object_from_file(path);
}

static void flatten(json_object *a, double **v, size_t *n, size_t *cap) {
        if (json_object_is_type(a, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(a); i++)
                        flatten(json_object_array_get_idx(a, i), v, n, cap);
                return;
        }
        if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 256;
                *v = realloc(*v, *cap * sizeof(double));
                ck_assert_ptr_nonnull(*v);
        }
        (*v)[(*n)++] = json_object_get_double(a);
}

size_t test_json_doubles(json_object *a, double **ret) {
        size_t n = 0, cap = 0;
        double *v = NULL;

        flatten(a, &v, &n, &cap);
        *ret = v;
        return n;
}

size_t test_json_floats(json_object *a, float **ret) {
        double *d = NULL;
        size_t n = test_json_doubles(a, &d);
        float *f = malloc((n ? n : 1) * sizeof(float));

        ck_assert_ptr_nonnull(f);
        for (size_t i = 0; i < n; i++)
                f[i] = (float) d[i];
        free(d);
        *ret = f;
        return n;
}

char *test_mkdtemp(void) {
        char *p = strdup("/tmp/deepactif-test.XXXXXX");

        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_nonnull(mkdtemp(p));
        return p;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

void test_rmdir_r(const char *path) {
        if (path)
                (void) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int test_read_file(const char *path, uint8_t **ret, size_t *ret_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        uint8_t *buf;

        if (fd < 0 || fstat(fd, &st) < 0)
                return -errno;
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        if (read(fd, buf, (size_t) st.st_size) != st.st_size) {
                free(buf);
                return -EIO;
        }
        *ret = buf;
        *ret_size = (size_t) st.st_size;
        return 0;
}

int test_write_file(const char *path, const void *data, size_t size) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0)
                return -errno;
        if (write(fd, data, size) != (ssize_t) size)
                return -EIO;
        return 0;
}

double test_rel_error(const float *a, const double *b, size_t n) {
        double num = 0, den = 0;

        for (size_t i = 0; i < n; i++) {
                num = fmax(num, fabs((double) a[i] - b[i]));
                den = fmax(den, fabs(b[i]));
        }
        return den > 0 ? num / den : num;
}

int test_run(Suite *s) {
        SRunner *sr = srunner_create(s);
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

char *test_write_temp(const char *text) {
        char *path = strdup("/tmp/deepactif-test.XXXXXX");
        int fd;

        ck_assert_ptr_nonnull(path);
        fd = mkostemp(path, O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        return path;
}

int test_read_counts(const char *path, da_recording_format format, test_counts *c, da_error *err) {
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        da_frame f;
        int k;

        memset(c, 0, sizeof(*c));
        c->increasing = true;
        k = da_reader_open(path, DA_REC_AUTO, &r, err);
        if (k < 0)
                return k;
        ck_assert_int_eq(da_reader_format(r), format);
        while ((k = da_reader_next(r, &f, err)) > 0) {
                if (c->frames == 0) {
                        c->first = f;
                        c->first_us = f.time_us;
                } else if (f.time_us <= c->last_us)
                        c->increasing = false;
                if (c->frames == 1)
                        c->second_us = f.time_us;
                c->last_us = f.time_us;
                for (unsigned i = 0; i < _DA_CH_MAX; i++)
                        c->nan[i] += isnan(f.ch[i]);
                c->frames++;
        }
        return k;
}
