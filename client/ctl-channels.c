/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* deepactifctl channels: the raw channel names a column map (--column-map)
 * may name, with the SI unit each is stored in. */

#include <getopt.h>

#include "ctl.h"

int verb_channels(int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        _cleanup_(json_object_putp) json_object *list = NULL;
        bool json = false;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'h':
                        printf(_("Usage: deepactifctl channels [--json]\n"
                                 "List the raw channels recordings provide and column maps name, with their units.\n"));
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }

        if (json) {
                list = json_object_new_array();
                if (!list)
                        return ctl_fail("%s", strerror(ENOMEM));
        }
        for (unsigned i = 0; i < _DA_CH_MAX; i++) {
                if (json) {
                        json_object *e = json_object_new_object();

                        json_object_object_add(e, "name", json_object_new_string(da_channel_name(i)));
                        json_object_object_add(e, "unit", json_object_new_string(da_channel_unit(i)));
                        json_object_array_add(list, e);
                } else
                        printf("%-24s %s\n", da_channel_name(i), da_channel_unit(i));
        }
        if (json)
                ctl_print_json(list);
        return EXIT_SUCCESS;
}
