/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's bus connection: objects, the name, and the introspection XML. */

#include <errno.h>
#include <sys/socket.h>

#include "bus-device.h"
#include "bus-manager.h"
#include "bus.h"
#include "log.h"

static int on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        uint32_t result = 0;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                log_error("Failed to own the bus name %s: %s. The D-Bus policy "
                          "(dbus-1/system.d/%s.conf) must let this user own it.",
                          BUS_NAME, e->message ?: e->name, BUS_NAME);
                manager_exit(m, EXIT_FAILURE);
                return 0;
        }
        if (sd_bus_message_read(reply, "u", &result) < 0 || (result != 1 && result != 4)) {
                log_error("The bus name %s is taken: another deepactifd is running on this bus.", BUS_NAME);
                manager_exit(m, EXIT_FAILURE);
                return 0;
        }
        m->bus_name_owned = true;
        log_debug("Acquired the bus name %s.", BUS_NAME);
        manager_ready_release(m);
        bus_manager_send_state_changed(m);
        return 0;
}

int manager_bus_connect(Manager *m) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *which = m->options.user_bus ? "session" : "system";
        int r;

        r = m->options.user_bus ? sd_bus_open_user_with_description(&bus, "deepactifd")
                                : sd_bus_open_system_with_description(&bus, "deepactifd");
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the %s bus: %m%s", which,
                                       m->options.user_bus ? " (is DBUS_SESSION_BUS_ADDRESS set?)"
                                                           : "; use --no-bus to run without D-Bus.");

        r = sd_bus_add_object_vtable(bus, NULL, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, bus_manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the manager object: %m");
        m->bus = bus;   /* bus_device_register() registers on m->bus */
        r = bus_device_register(m);
        m->bus = NULL;
        if (r < 0)
                return log_error_errno(r, "Failed to register the device objects: %m");
        r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        /* Asynchronous, so the loop runs meanwhile; READY=1 waits for it. */
        r = sd_bus_request_name_async(bus, NULL, BUS_NAME, 0, on_name_acquired, m);
        if (r < 0)
                return log_error_errno(r, "Failed to request the bus name %s: %m", BUS_NAME);
        manager_ready_hold(m);
        m->bus = TAKE_PTR(bus);
        return 0;
}

void manager_bus_disconnect(Manager *m) {
        m->bus = sd_bus_flush_close_unref(m->bus);
        m->bus_name_owned = false;
}

/* ---- introspection ------------------------------------------------------ */

static int on_introspect_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        *(sd_bus_message **) userdata = sd_bus_message_ref(reply);
        return 0;
}

/* Introspects path on server through client, both in this process. */
static int introspect_path(sd_bus *server, sd_bus *client, const char *path, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *xml;
        int r;

        r = sd_bus_call_method_async(client, NULL, NULL, path, "org.freedesktop.DBus.Introspectable",
                                     "Introspect", on_introspect_reply, &reply, NULL);
        if (r < 0)
                return r;
        for (unsigned i = 0; !reply; i++) {
                int a, b;

                if (i > 10000)
                        return -ETIMEDOUT;
                a = sd_bus_process(server, NULL);
                b = sd_bus_process(client, NULL);
                if (a < 0)
                        return a;
                if (b < 0)
                        return b;
                if (a == 0 && b == 0) {
                        (void) sd_bus_wait(server, 1000);
                        (void) sd_bus_wait(client, 1000);
                }
        }
        if (sd_bus_message_is_method_error(reply, NULL))
                return -sd_bus_message_get_errno(reply) ?: -EIO;
        r = sd_bus_message_read(reply, "s", &xml);
        if (r < 0)
                return r;
        *ret = strdup(xml);
        return *ret ? 0 : -ENOMEM;
}

/* Appends the <interface name="iface"> element of xml to f. */
static int copy_interface(FILE *f, const char *xml, const char *iface) {
        _cleanup_free_ char *open = NULL;
        const char *start, *end;

        if (asprintf(&open, "<interface name=\"%s\">", iface) < 0)
                return -ENOMEM;
        start = strstr(xml, open);
        end = start ? strstr(start, "</interface>") : NULL;
        if (!end)
                return -EBADMSG;
        fprintf(f, " %.*s</interface>\n", (int) (end - start), start);
        return 0;
}

int bus_introspect_xml(char **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *server = NULL, *client = NULL;
        _cleanup_free_ char *manager_xml = NULL, *device_xml = NULL, *buf = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        sd_id128_t id;
        size_t size = 0;
        int fds[2], r;

        /* sd-bus has no public call that renders a vtable as XML, so ask it
         * the way a client would, over a private socket pair. */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
                return -errno;
        r = sd_bus_new(&server);
        if (r < 0) {
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        r = sd_bus_set_fd(server, fds[0], fds[0]);
        if (r < 0) {
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        r = sd_bus_new(&client);
        if (r >= 0)
                r = sd_bus_set_fd(client, fds[1], fds[1]);
        if (r < 0) {
                close(fds[1]);
                return r;
        }
        r = sd_id128_randomize(&id);
        if (r >= 0)
                r = sd_bus_set_server(server, true, id);
        if (r >= 0)
                r = sd_bus_set_anonymous(server, true);
        if (r >= 0)
                r = sd_bus_set_anonymous(client, true);
        if (r >= 0)
                r = sd_bus_add_object_vtable(server, NULL, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                                             bus_manager_vtable, NULL);
        if (r >= 0)
                r = sd_bus_add_object_vtable(server, NULL, BUS_DEVICE_PREFIX "/example", BUS_DEVICE_INTERFACE,
                                             bus_device_vtable, NULL);
        if (r >= 0)
                r = sd_bus_start(server);
        if (r >= 0)
                r = sd_bus_start(client);
        if (r >= 0)
                r = introspect_path(server, client, BUS_MANAGER_PATH, &manager_xml);
        if (r >= 0)
                r = introspect_path(server, client, BUS_DEVICE_PREFIX "/example", &device_xml);
        if (r < 0)
                return r;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fputs("<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n"
              "\"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n"
              "<!-- Rendered by sd-bus from deepactifd's vtables; documented in io.deepactif.Daemon1(5). -->\n"
              "<node>\n", f);
        r = copy_interface(f, manager_xml, BUS_MANAGER_INTERFACE);
        if (r >= 0)
                r = copy_interface(f, device_xml, BUS_DEVICE_INTERFACE);
        if (r < 0)
                return r;
        fputs("</node>\n", f);
        if (fflush(f) != 0 || ferror(f))
                return -ENOMEM;
        fclose(TAKE_PTR(f));
        *ret = TAKE_PTR(buf);
        return 0;
}
