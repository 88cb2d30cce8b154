/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who may change state: root, or a caller polkit authorizes (asynchronously). */

#include <errno.h>

#include "bus-polkit.h"
#include "log.h"

/* Long enough for a user to answer an authentication dialog. */
#define POLKIT_TIMEOUT_USEC (5 * 60 * USEC_PER_SEC)

typedef struct AsyncAuth {
        Manager *manager;
        sd_bus_message *message;        /* the method call being authorized */
        bus_privileged_fn fn;
        char *action;
} AsyncAuth;

static void async_auth_free(void *userdata) {
        AsyncAuth *a = userdata;

        sd_bus_message_unref(a->message);
        free(a->action);
        free(a);
}

static int deny(sd_bus_message *message, const char *action, const char *why) {
        return sd_bus_reply_method_errorf(message, SD_BUS_ERROR_ACCESS_DENIED,
                                          "Permission denied: this needs root or the polkit action %s (%s). "
                                          "Run it as root, e.g. with sudo.", action, why);
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        AsyncAuth *a = userdata;
        int authorized = 0, challenge = 0, r;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                if (sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
                    sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        return deny(a->message, a->action, "polkit is not running on this bus");
                log_warning("polkit failed to check %s: %s", a->action, e->message ?: e->name);
                return deny(a->message, a->action, "polkit could not check it");
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0)
                return deny(a->message, a->action, "polkit's answer was malformed");
        if (!authorized)
                return deny(a->message, a->action,
                            challenge ? "polkit wants interactive authentication" : "polkit refused it");

        r = a->fn(a->message, a->manager, &error);
        if (r < 0)
                return sd_bus_reply_method_errno(a->message, r, &error);
        return 0;
}

int bus_verify_and_run(sd_bus_message *message, Manager *m, const char *action, bus_privileged_fn fn,
                       sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        sd_bus *bus = sd_bus_message_get_bus(message);
        sd_bus_slot *slot = NULL;
        const char *sender;
        AsyncAuth *a;
        int r;

        /* Root (or our own user) decides on what the bus vouches for: sd-bus
         * refuses credentials it could only read from /proc, where the
         * sender's PID may belong to another process by now. */
        r = sd_bus_query_sender_privilege(message, -1);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot tell who is calling: %m");
        if (r > 0)
                return fn(message, m, error);

        sender = sd_bus_message_get_sender(message);
        if (!sender)
                return deny(message, action, "the caller has no bus name to check");

        /* The bus name is polkit's race-free subject for a D-Bus caller. */
        r = sd_bus_message_new_method_call(bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", sender,
                                          action, 0,
                                          (uint32_t) sd_bus_message_get_allow_interactive_authorization(message),
                                          "");
        if (r < 0)
                return r;

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        *a = (AsyncAuth) {
                .manager = m,
                .message = sd_bus_message_ref(message),
                .fn = fn,
                .action = strdup(action),
        };
        if (!a->action) {
                async_auth_free(a);
                return -ENOMEM;
        }
        r = sd_bus_call_async(bus, &slot, call, on_polkit_reply, a, POLKIT_TIMEOUT_USEC);
        if (r < 0) {
                async_auth_free(a);
                return r;
        }
        /* The slot lives with the bus and frees a when it is done. */
        (void) sd_bus_slot_set_destroy_callback(slot, async_auth_free);
        (void) sd_bus_slot_set_floating(slot, 1);
        sd_bus_slot_unref(slot);
        return 1;
}
