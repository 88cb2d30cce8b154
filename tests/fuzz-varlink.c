/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the varlink message parser. The input is split at
 * NUL bytes as the server splits its input stream; every piece is parsed.
 */
#include <errno.h>
#include <stdlib.h>

#include "varlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *p = (const char *) data, *end = p + size;

        while (p < end) {
                const char *nul = memchr(p, '\0', (size_t) (end - p));
                size_t n = nul ? (size_t) (nul - p) : (size_t) (end - p);
                VarlinkMessage m = {};
                const char *reason = NULL;
                int r;

                r = varlink_message_parse(p, n, &m, &reason);
                if (r == 0) {
                        /* What dispatch relies on: a qualified name, an object. */
                        if (!m.method || !strrchr(m.method, '.') ||
                            !json_object_is_type(m.parameters, json_type_object) || (m.more && m.oneway))
                                abort();
                        varlink_message_done(&m);
                } else if (r != -ENOMEM && (r != -EBADMSG || !reason || !reason[0]))
                        abort();        /* every rejection says why */
                p += n + 1;
        }
        return 0;
}
