/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"

static int max_level = LOG_INFO;
static bool prefix = true;

void log_setup(void) {
        /* systemd sets JOURNAL_STREAM when stderr is connected to the
         * journal; a terminal gets plain lines for people. */
        prefix = getenv("JOURNAL_STREAM") || !isatty(STDERR_FILENO);
}

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) {
        char buf[2048];
        va_list ap;
        int saved = errno;

        /* %m in format names error, not whatever errno happens to hold. */
        errno = abs(error);
        va_start(ap, format);
        vsnprintf(buf, sizeof buf, format, ap);
        va_end(ap);

        if (prefix)
                fprintf(stderr, "<%i>%s\n", LOG_PRI(level), buf);
        else if (max_level >= LOG_DEBUG)
                fprintf(stderr, "%s:%i (%s): %s\n", file, line, func, buf);
        else
                fprintf(stderr, "%s\n", buf);

        errno = saved;
        return -abs(error);
}
