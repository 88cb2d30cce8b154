/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs a fuzz target over its seed corpus without libFuzzer, so every build
 * (any compiler) replays the corpus in 'make check'. Arguments: files or
 * directories; without any, TEST_SRCDIR/fuzz-corpus/FUZZ_NAME.
 */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

#include "test-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size = 0;
        int r;

        r = test_read_file(path, &data, &size);
        if (r < 0) {
                fprintf(stderr, "%s: cannot read: %s\n", path, strerror(-r));
                return r;
        }
        LLVMFuzzerTestOneInput(data, size);
        return 0;
}

static int run_path(const char *path, unsigned *n) {
        struct stat st;
        DIR *dir;
        struct dirent *de;
        int r = 0;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        if (!S_ISDIR(st.st_mode)) {
                (*n)++;
                return run_file(path);
        }
        dir = opendir(path);
        if (!dir)
                return -errno;
        while ((de = readdir(dir))) {
                _cleanup_free_ char *p = NULL;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&p, "%s/%s", path, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = run_path(p, n);
                if (r < 0)
                        break;
        }
        closedir(dir);
        return r;
}

int main(int argc, char **argv) {
        unsigned n = 0;
        int r;

        if (argc > 1) {
                for (int i = 1; i < argc; i++)
                        if (run_path(argv[i], &n) < 0)
                                return 1;
        } else {
                r = run_path(TEST_SRCDIR "/fuzz-corpus/" FUZZ_NAME, &n);
                if (r < 0)
                        return 1;
        }
        if (n == 0) {
                fprintf(stderr, "no corpus files\n");
                return 1;
        }
        printf("%s: %u inputs ran cleanly\n", FUZZ_NAME, n);
        return 0;
}
