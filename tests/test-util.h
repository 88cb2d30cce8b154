/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <check.h>
#include <json-c/json.h>

#include "util.h"

/* Path of a file under tests/ in the source tree. */
char *test_path(const char *rel);
/* The whole JSON document of a fixture, or NULL. */
json_object *test_load_json(const char *path);
/* A JSON array of numbers (or of arrays of numbers, flattened) as floats/doubles. */
size_t test_json_floats(json_object *a, float **ret);
size_t test_json_doubles(json_object *a, double **ret);
/* A fresh temporary directory, removed by test_rmdir_r(). */
char *test_mkdtemp(void);
void test_rmdir_r(const char *path);
/* Reads a whole file. */
int test_read_file(const char *path, uint8_t **ret, size_t *ret_size);
int test_write_file(const char *path, const void *data, size_t size);
/* A file with these contents in /tmp; the caller unlinks and frees the path. */
char *test_write_temp(const char *text);

/* What a reader gave over a whole recording. */
typedef struct test_counts {
        unsigned frames;
        unsigned nan[_DA_CH_MAX];       /* frames with the channel NaN */
        uint64_t first_us, second_us, last_us;
        bool increasing;                /* time strictly increasing */
        da_frame first;
} test_counts;
/* Reads every frame of path, asserting it is sniffed as format; returns
 * da_reader_next()'s final value (or da_reader_open()'s error). */
int test_read_counts(const char *path, da_recording_format format, test_counts *c, da_error *err);

/* max_k |a_k − b_k| / max_k |b_k|: relative error of a whole vector. */
double test_rel_error(const float *a, const double *b, size_t n);
/* Runs a suite and returns the process exit code. */
int test_run(Suite *s);
