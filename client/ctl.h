/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "deepactif.h"
#include "i18n.h"
#include "json-util.h"
#include "util.h"


/* Every command's entry point: argv[0] is the command's name. Returns the
 * process exit status. */
typedef int (*ctl_verb)(int argc, char **argv);

int verb_model(int argc, char **argv);
int verb_predict(int argc, char **argv);
int verb_bench(int argc, char **argv);
int verb_rank(int argc, char **argv);
int verb_attribute(int argc, char **argv);
int verb_features(int argc, char **argv);
int verb_train(int argc, char **argv);
int verb_score(int argc, char **argv);
int verb_evaluate(int argc, char **argv);
/* ctl-daemon.c: status, devices, top, watch, history, export, reload. */
int verb_daemon(int argc, char **argv);

/* Prints "deepactifctl: <message>" to stderr; returns EXIT_FAILURE. */
int ctl_fail(const char *fmt, ...) _printf_(1, 2);
/* Loads a model, printing one line naming the file and the problem on failure. */
int ctl_load_model(const char *path, da_model **ret);
/* Reads a window file: T rows of F comma-separated numbers, no header. */
int ctl_read_window(const char *path, unsigned F, float **ret_x, unsigned *ret_T);
/* Prints a JSON value on stdout, pretty when stdout is a terminal. */
void ctl_print_json(json_object *o);
