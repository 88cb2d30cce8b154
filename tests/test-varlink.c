/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The varlink server against a fake interface, driven by raw socket clients
 * in the same process: each client step runs the event loop until the
 * client's answer (one NUL-terminated message, or EOF) arrives.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "test-util.h"
#include "varlink.h"

static const char fake_description[] =
        "interface io.example.Fake\n"
        "method Echo(text: string) -> (text: string)\n"
        "method Fail() -> ()\n"
        "method Stream() -> (n: int)\n"
        "error Protocol (reason: string)\n"
        "error Internal (reason: string)\n";

static int echo(VarlinkCall *call, json_object *params, void *userdata) {
        json_object *v;

        if (!json_object_object_get_ex(params, "text", &v) || !json_object_is_type(v, json_type_string))
                return varlink_error_invalid_parameter(call, "text");
        return varlink_reply(call, json_object_get(params));
}

static int always_fail(VarlinkCall *call, json_object *params, void *userdata) {
        return -EIO;
}

static int stream(VarlinkCall *call, json_object *params, void *userdata) {
        if (!varlink_call_more(call))
                return varlink_error_invalid_parameter(call, "more");
        return 0;       /* answered later through foreach_pending */
}

static const VarlinkMethod fake_methods[] = {
        { "Echo", echo },
        { "Fail", always_fail },
        { "Stream", stream },
        {}
};

static const VarlinkInterface fake_iface = {
        .name = "io.example.Fake",
        .description = fake_description,
        .methods = fake_methods,
        .protocol_error = "io.example.Fake.Protocol",
        .internal_error = "io.example.Fake.Internal",
};

static sd_event *event;
static VarlinkServer *server;
static char *dir, *path;

static void setup(void) {
        ck_assert_int_ge(sd_event_new(&event), 0);
        ck_assert_int_ge(varlink_server_new(event, &fake_iface,
                                            &(VarlinkInfo) { "Example", "fake", "1.0", "https://example.org" },
                                            NULL, &server), 0);
        dir = test_mkdtemp();
        ck_assert_ptr_nonnull(dir);
        ck_assert_int_ge(asprintf(&path, "%s/sub/io.example.Fake", dir), 0);
}

static void teardown(void) {
        server = varlink_server_free(server);
        event = sd_event_unref(event);
        test_rmdir_r(dir);
        dir = mfree(dir);
        path = mfree(path);
}

static int client_connect(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(connect(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        return fd;
}

static void client_send(int fd, const char *data, size_t n) {
        ck_assert_int_eq(send(fd, data, n, MSG_NOSIGNAL), (ssize_t) n);
}

static void client_call(int fd, const char *json) {
        client_send(fd, json, strlen(json) + 1);
}

/* The next message for fd, parsed; NULL on EOF. Runs the loop meanwhile. */
static json_object *client_recv(int fd) {
        char buf[256 * 1024];
        size_t n = 0;

        for (int i = 0; i < 2000; i++) {
                ssize_t k;

                /* One byte at a time keeps later messages in the socket. */
                while ((k = recv(fd, buf + n, 1, MSG_DONTWAIT)) == 1) {
                        if (buf[n] == '\0')
                                return json_tokener_parse(buf);
                        ck_assert_uint_lt(++n, sizeof buf);
                }
                if (k == 0)
                        return NULL;
                ck_assert_int_ge(sd_event_run(event, 1000), 0);
        }
        ck_abort_msg("no answer from the server");
        return NULL;
}

static const char *error_of(json_object *o) {
        json_object *v;

        return json_object_object_get_ex(o, "error", &v) ? json_object_get_string(v) : NULL;
}

static const char *param_of(json_object *o, const char *key) {
        json_object *p, *v;

        if (!json_object_object_get_ex(o, "parameters", &p) || !json_object_object_get_ex(p, key, &v))
                return NULL;
        return json_object_get_string(v);
}

static void run_until_clients(unsigned n) {
        for (int i = 0; i < 2000 && varlink_server_n_clients(server) != n; i++)
                ck_assert_int_ge(sd_event_run(event, 1000), 0);
        ck_assert_uint_eq(varlink_server_n_clients(server), n);
}

START_TEST(test_get_info_and_description) {
        json_object *o, *p, *v;
        struct stat st;
        int fd;

        ck_assert_int_eq(varlink_server_listen_path(server, path, 0660), 0);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert(S_ISSOCK(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 07777, 0660);
        fd = client_connect();

        client_call(fd, "{\"method\":\"org.varlink.service.GetInfo\"}");
        o = client_recv(fd);
        ck_assert_ptr_null(error_of(o));
        ck_assert_str_eq(param_of(o, "vendor"), "Example");
        ck_assert_str_eq(param_of(o, "product"), "fake");
        ck_assert(json_object_object_get_ex(o, "parameters", &p));
        ck_assert(json_object_object_get_ex(p, "interfaces", &v));
        ck_assert_uint_eq(json_object_array_length(v), 2);
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)), "org.varlink.service");
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 1)), "io.example.Fake");
        json_object_put(o);

        client_call(fd, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
                        "\"parameters\":{\"interface\":\"io.example.Fake\"}}");
        o = client_recv(fd);
        ck_assert_str_eq(param_of(o, "description"), fake_description);
        json_object_put(o);

        client_call(fd, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
                        "\"parameters\":{\"interface\":\"org.varlink.service\"}}");
        o = client_recv(fd);
        ck_assert_ptr_nonnull(strstr(param_of(o, "description"), "interface org.varlink.service\n"));
        json_object_put(o);

        client_call(fd, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
                        "\"parameters\":{\"interface\":\"com.example.None\"}}");
        o = client_recv(fd);
        ck_assert_str_eq(error_of(o), "org.varlink.service.InterfaceNotFound");
        ck_assert_str_eq(param_of(o, "interface"), "com.example.None");
        json_object_put(o);

        client_call(fd, "{\"method\":\"org.varlink.service.GetInterfaceDescription\"}");
        o = client_recv(fd);
        ck_assert_str_eq(error_of(o), "org.varlink.service.InvalidParameter");
        ck_assert_str_eq(param_of(o, "parameter"), "interface");
        json_object_put(o);
        close(fd);

        /* The socket file goes with the server. */
        server = varlink_server_free(server);
        ck_assert_int_lt(stat(path, &st), 0);
}
END_TEST

START_TEST(test_unknown_methods_keep_connection) {
        json_object *o;
        int fd;

        ck_assert_int_eq(varlink_server_listen_path(server, path, 0666), 0);
        fd = client_connect();

        client_call(fd, "{\"method\":\"io.example.Fake.Nope\"}");
        o = client_recv(fd);
        ck_assert_str_eq(error_of(o), "org.varlink.service.MethodNotFound");
        ck_assert_str_eq(param_of(o, "method"), "io.example.Fake.Nope");
        json_object_put(o);

        client_call(fd, "{\"method\":\"com.example.Other.Echo\"}");
        o = client_recv(fd);
        ck_assert_str_eq(error_of(o), "org.varlink.service.InterfaceNotFound");
        ck_assert_str_eq(param_of(o, "interface"), "com.example.Other");
        json_object_put(o);

        client_call(fd, "{\"method\":\"io.example.Fake.Echo\",\"parameters\":{\"text\":5}}");
        o = client_recv(fd);
        ck_assert_str_eq(error_of(o), "org.varlink.service.InvalidParameter");
        ck_assert_str_eq(param_of(o, "parameter"), "text");
        json_object_put(o);

        client_call(fd, "{\"method\":\"io.example.Fake.Fail\"}");
        o = client_recv(fd);
        ck_assert_str_eq(error_of(o), "io.example.Fake.Internal");
        ck_assert_str_eq(param_of(o, "reason"), strerror(EIO));
        json_object_put(o);

        /* Still usable after all of these. */
        client_call(fd, "{\"method\":\"io.example.Fake.Echo\",\"parameters\":{\"text\":\"ok\"}}");
        o = client_recv(fd);
        ck_assert_ptr_null(error_of(o));
        ck_assert_str_eq(param_of(o, "text"), "ok");
        json_object_put(o);
        close(fd);
        run_until_clients(0);
}
END_TEST

static const char *const malformed[] = {
        "{\"method\":",                                         /* truncated JSON */
        "[1,2,3]",                                              /* not an object */
        "{\"parameters\":{}}",                                  /* no method */
        "{\"method\":42}",
        "{\"method\":\"NoInterface\"}",
        "{\"method\":\"io.example.Fake.echo\"}",                /* member must start upper-case */
        "{\"method\":\"io.example.Fake.Echo\",\"parameters\":[]}",
        "{\"method\":\"io.example.Fake.Echo\",\"more\":\"yes\"}",
        "{\"method\":\"io.example.Fake.Echo\",\"more\":true,\"oneway\":true}",
        "{\"method\":\"io.example.Fake.Echo\"} trailing",
        "{\"method\":\"io.example.Fake.Echo\",\"method\":\"io.example.Fake.Fail\"}",     /* which one? */
        "{\"method\":\"io.example.Fake.Echo\",\"parameters\":{\"text\":\"\xff\xfe\"}}",  /* not UTF-8 */
        "",
};

START_TEST(test_malformed_closes_only_that_connection) {
        json_object *o;
        int bystander, fd;

        ck_assert_int_eq(varlink_server_listen_path(server, path, 0666), 0);
        bystander = client_connect();
        fd = client_connect();
        client_call(fd, malformed[_i]);
        o = client_recv(fd);
        ck_assert_msg(o, "no error for '%s'", malformed[_i]);
        ck_assert_str_eq(error_of(o), "io.example.Fake.Protocol");
        ck_assert_ptr_nonnull(param_of(o, "reason"));
        json_object_put(o);
        ck_assert_ptr_null(client_recv(fd));    /* then EOF */
        close(fd);

        client_call(bystander, "{\"method\":\"io.example.Fake.Echo\",\"parameters\":{\"text\":\"still here\"}}");
        o = client_recv(bystander);
        ck_assert_str_eq(param_of(o, "text"), "still here");
        json_object_put(o);
        close(bystander);
        run_until_clients(0);
}
END_TEST

START_TEST(test_oversized_message) {
        char big[4096];
        json_object *o;
        int fd, ok;

        varlink_server_set_limits(server, 0, 1024);
        ck_assert_int_eq(varlink_server_listen_path(server, path, 0666), 0);

        /* Exactly at the limit: 1024 bytes of JSON, then the NUL. */
        fd = client_connect();
        memset(big, ' ', sizeof big);
        memcpy(big, "{\"method\":\"io.example.Fake.Echo\",\"parameters\":{\"text\":\"x\"}}", 59);
        big[1024] = '\0';
        client_send(fd, big, 1025);
        o = client_recv(fd);
        ck_assert_str_eq(param_of(o, "text"), "x");
        json_object_put(o);
        close(fd);

        ok = client_connect();
        fd = client_connect();
        memset(big, 'a', sizeof big);
        client_send(fd, big, sizeof big);       /* no NUL within 1025 bytes */
        o = client_recv(fd);
        ck_assert_str_eq(error_of(o), "io.example.Fake.Protocol");
        ck_assert_str_eq(param_of(o, "reason"), "message exceeds the size limit");
        json_object_put(o);
        ck_assert_ptr_null(client_recv(fd));
        close(fd);

        client_call(ok, "{\"method\":\"io.example.Fake.Echo\",\"parameters\":{\"text\":\"fine\"}}");
        o = client_recv(ok);
        ck_assert_str_eq(param_of(o, "text"), "fine");
        json_object_put(o);
        close(ok);
        run_until_clients(0);
}
END_TEST

START_TEST(test_pipelined_and_oneway) {
        const char two[] =
                "{\"method\":\"io.example.Fake.Echo\",\"parameters\":{\"text\":\"a\"},\"oneway\":true}\0"
                "{\"method\":\"io.example.Fake.Echo\",\"parameters\":{\"text\":\"b\"}}\0"
                "{\"method\":\"io.example.Fake.Echo\",\"parameters\":{\"text\":\"c\"}}";
        json_object *o;
        int fd;

        ck_assert_int_eq(varlink_server_listen_path(server, path, 0666), 0);
        fd = client_connect();
        client_send(fd, two, sizeof two);       /* sizeof includes the last NUL */
        o = client_recv(fd);
        ck_assert_str_eq(param_of(o, "text"), "b");     /* "a" was oneway: no reply */
        json_object_put(o);
        o = client_recv(fd);
        ck_assert_str_eq(param_of(o, "text"), "c");
        json_object_put(o);

        /* A message split over several writes. */
        client_send(fd, "{\"method\":\"io.exa", 17);
        ck_assert_int_ge(sd_event_run(event, 10000), 0);
        client_call(fd, "mple.Fake.Echo\",\"parameters\":{\"text\":\"d\"}}");
        o = client_recv(fd);
        ck_assert_str_eq(param_of(o, "text"), "d");
        json_object_put(o);
        close(fd);
        run_until_clients(0);
}
END_TEST

static void notify_n(VarlinkCall *call, json_object *params, void *userdata) {
        int *n = userdata;
        json_object *p = json_object_new_object();

        json_object_object_add(p, "n", json_object_new_int(*n));
        ck_assert_int_eq(varlink_notify(call, p), 0);
}

static void count_pending(VarlinkCall *call, json_object *params, void *userdata) {
        (*(unsigned *) userdata)++;
}

static void finish(VarlinkCall *call, json_object *params, void *userdata) {
        ck_assert_int_eq(varlink_reply(call, NULL), 0);
}

START_TEST(test_stream_and_disconnect_mid_stream) {
        json_object *o, *v;
        unsigned pending = 0;
        int a, b;

        ck_assert_int_eq(varlink_server_listen_path(server, path, 0666), 0);
        a = client_connect();
        b = client_connect();
        client_call(a, "{\"method\":\"io.example.Fake.Stream\",\"more\":true}");
        client_call(b, "{\"method\":\"io.example.Fake.Stream\",\"more\":true}");
        for (int i = 0; i < 20; i++)
                ck_assert_int_ge(sd_event_run(event, 10000), 0);

        for (int n = 1; n <= 3; n++) {
                varlink_server_foreach_pending(server, "io.example.Fake.Stream", notify_n, &n);
                for (int c = 0; c < 2; c++) {
                        o = client_recv(c ? b : a);
                        ck_assert_int_eq(atoi(param_of(o, "n")), n);
                        ck_assert(json_object_object_get_ex(o, "continues", &v));
                        ck_assert(json_object_get_boolean(v));
                        json_object_put(o);
                }
        }

        /* b hangs up mid-stream: only a is left to notify. */
        close(b);
        run_until_clients(1);
        varlink_server_foreach_pending(server, "io.example.Fake.Stream", count_pending, &pending);
        ck_assert_uint_eq(pending, 1);

        varlink_server_foreach_pending(server, "io.example.Fake.Stream", finish, NULL);
        o = client_recv(a);
        ck_assert_ptr_null(error_of(o));
        ck_assert(!json_object_object_get_ex(o, "continues", &v));
        json_object_put(o);

        /* Without "more" the method refuses to stream. */
        client_call(a, "{\"method\":\"io.example.Fake.Stream\"}");
        o = client_recv(a);
        ck_assert_str_eq(error_of(o), "org.varlink.service.InvalidParameter");
        json_object_put(o);
        close(a);
        run_until_clients(0);
}
END_TEST

START_TEST(test_many_clients_and_client_limit) {
        enum { N = 150 };
        int fds[N + 1];
        json_object *o;

        varlink_server_set_limits(server, N, 0);
        ck_assert_int_eq(varlink_server_listen_path(server, path, 0666), 0);
        for (int i = 0; i < N; i++)
                fds[i] = client_connect();
        run_until_clients(N);

        /* Every client's call in flight at once, answered by the one loop. */
        for (int i = 0; i < N; i++) {
                char msg[128];

                snprintf(msg, sizeof msg, "{\"method\":\"io.example.Fake.Echo\",\"parameters\":{\"text\":\"%d\"}}", i);
                client_call(fds[i], msg);
        }
        for (int i = N - 1; i >= 0; i--) {
                o = client_recv(fds[i]);
                ck_assert_int_eq(atoi(param_of(o, "text")), i);
                json_object_put(o);
        }

        /* Busy clients (a pending call each) are not evicted for a newcomer. */
        for (int i = 0; i < N; i++)
                client_call(fds[i], "{\"method\":\"io.example.Fake.Stream\",\"more\":true}");
        for (int i = 0; i < 20; i++)
                ck_assert_int_ge(sd_event_run(event, 10000), 0);
        fds[N] = client_connect();
        o = client_recv(fds[N]);
        ck_assert_str_eq(error_of(o), "io.example.Fake.Protocol");
        ck_assert_str_eq(param_of(o, "reason"), "too many clients");
        json_object_put(o);
        ck_assert_ptr_null(client_recv(fds[N]));
        ck_assert_uint_eq(varlink_server_n_clients(server), N);

        for (int i = 0; i <= N; i++)
                close(fds[i]);
        run_until_clients(0);
}
END_TEST

START_TEST(test_socket_activation) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_free_ char *pid = NULL, *sub = NULL;
        struct stat st;
        json_object *o;
        int lfd, fd, saved;

        /* What systemd-socket-activate hands over: a listening socket as fd
         * 3. Whatever Check keeps there is moved away meanwhile. */
        saved = fcntl(SD_LISTEN_FDS_START, F_DUPFD_CLOEXEC, 100);
        ck_assert_int_ge(asprintf(&sub, "%s/sub", dir), 0);
        ck_assert_int_eq(mkdir(sub, 0755), 0);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        strcpy(sa.sun_path, path);
        ck_assert_int_eq(bind(lfd, (struct sockaddr *) &sa, sizeof sa), 0);
        ck_assert_int_eq(listen(lfd, 16), 0);
        if (lfd != SD_LISTEN_FDS_START) {
                ck_assert_int_eq(dup2(lfd, SD_LISTEN_FDS_START), SD_LISTEN_FDS_START);
                close(lfd);
        }
        ck_assert_int_ge(asprintf(&pid, "%d", (int) getpid()), 0);
        setenv("LISTEN_PID", pid, 1);
        setenv("LISTEN_FDS", "1", 1);

        ck_assert_int_eq(varlink_server_listen_auto(server, path, 0600), 0);
        ck_assert_ptr_null(getenv("LISTEN_FDS"));
        fd = client_connect();
        client_call(fd, "{\"method\":\"org.varlink.service.GetInfo\"}");
        o = client_recv(fd);
        ck_assert_str_eq(param_of(o, "product"), "fake");
        json_object_put(o);
        close(fd);

        /* systemd owns the socket file: the server leaves it in place. */
        server = varlink_server_free(server);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_lt(fcntl(SD_LISTEN_FDS_START, F_GETFD), 0);
        if (saved >= 0)
                ck_assert_int_eq(dup3(saved, SD_LISTEN_FDS_START, O_CLOEXEC), SD_LISTEN_FDS_START);
}
END_TEST

/* A message without its NUL yet: nothing to do until more bytes come, so
 * the loop must go to sleep instead of waking for a writable socket. */
START_TEST(test_partial_message_sleeps) {
        unsigned busy = 0;
        json_object *o;
        int fd;

        ck_assert_int_eq(varlink_server_listen_path(server, path, 0666), 0);
        fd = client_connect();
        client_send(fd, "{\"method\":\"io.exa", 17);
        for (int i = 0; i < 20; i++)
                ck_assert_int_ge(sd_event_run(event, 0), 0);
        for (int i = 0; i < 1000; i++) {
                int r = sd_event_run(event, 0);

                ck_assert_int_ge(r, 0);
                busy += r > 0;
        }
        ck_assert_msg(busy == 0, "%u of 1000 idle iterations dispatched something", busy);

        client_call(fd, "mple.Fake.Echo\",\"parameters\":{\"text\":\"whole\"}}");
        o = client_recv(fd);
        ck_assert_str_eq(param_of(o, "text"), "whole");
        json_object_put(o);
        close(fd);
        run_until_clients(0);
}
END_TEST

static void notify_big(VarlinkCall *call, json_object *params, void *userdata) {
        json_object *p = json_object_new_object();

        json_object_object_add(p, "text", json_object_new_string(userdata));
        (void) varlink_notify(call, p);
}

/* A streaming client that never reads: its queue is bounded, it is
 * disconnected and freed, counted once, and others are served. */
START_TEST(test_slow_reader_dropped) {
        char *text = malloc(64 * 1024 + 1);
        VarlinkStats stats;
        json_object *o;
        int slow, ok;

        memset(text, 'z', 64 * 1024);
        text[64 * 1024] = 0;
        varlink_server_set_output_max(server, 1024 * 1024);
        ck_assert_int_eq(varlink_server_listen_path(server, path, 0666), 0);
        slow = client_connect();
        ok = client_connect();
        client_call(slow, "{\"method\":\"io.example.Fake.Stream\",\"more\":true}");
        for (int i = 0; i < 20; i++)
                ck_assert_int_ge(sd_event_run(event, 10000), 0);

        /* Far more than the bound and the socket buffers hold. */
        for (int i = 0; i < 200 && varlink_server_n_clients(server) == 2; i++) {
                varlink_server_foreach_pending(server, "io.example.Fake.Stream", notify_big, text);
                for (int k = 0; k < 4; k++)
                        ck_assert_int_ge(sd_event_run(event, 0), 0);
        }
        run_until_clients(1);
        varlink_server_get_stats(server, &stats);
        ck_assert_uint_eq(stats.overflows, 1);

        client_call(ok, "{\"method\":\"io.example.Fake.Echo\",\"parameters\":{\"text\":\"served\"}}");
        o = client_recv(ok);
        ck_assert_str_eq(param_of(o, "text"), "served");
        json_object_put(o);
        close(ok);
        close(slow);
        run_until_clients(0);
        free(text);
}
END_TEST

/* A full server makes room for a newcomer by closing its longest idle
 * connection; connections idle longer than the timeout are closed. */
START_TEST(test_idle_connections_make_room) {
        enum { N = 8 };
        VarlinkStats stats;
        int fds[N], late, busy;
        json_object *o;

        varlink_server_set_limits(server, N, 0);
        ck_assert_int_eq(varlink_server_listen_path(server, path, 0666), 0);
        for (int i = 0; i < N; i++)
                fds[i] = client_connect();
        run_until_clients(N);

        late = client_connect();
        client_call(late, "{\"method\":\"io.example.Fake.Echo\",\"parameters\":{\"text\":\"let in\"}}");
        o = client_recv(late);
        ck_assert_ptr_null(error_of(o));
        ck_assert_str_eq(param_of(o, "text"), "let in");
        json_object_put(o);
        ck_assert_ptr_null(client_recv(fds[0]));        /* the oldest idle one went */
        varlink_server_get_stats(server, &stats);
        ck_assert_uint_eq(stats.evicted, 1);
        for (int i = 0; i < N; i++)
                close(fds[i]);
        close(late);
        run_until_clients(0);

        /* With a short idle timeout only the connection without a call goes. */
        varlink_server_set_idle_timeout(server, 50 * 1000);
        late = client_connect();
        busy = client_connect();
        client_call(busy, "{\"method\":\"io.example.Fake.Stream\",\"more\":true}");
        client_send(late, "{\"method\":", 10);     /* half a message is no call */
        run_until_clients(1);
        ck_assert_ptr_null(client_recv(late));
        varlink_server_get_stats(server, &stats);
        ck_assert_uint_eq(stats.idle_closed, 1);
        close(late);
        close(busy);
        run_until_clients(0);
}
END_TEST

/* The socket file has its group and mode from the start, whatever the
 * umask: nobody can connect while they would still be the defaults. */
START_TEST(test_socket_group_and_mode) {
        gid_t groups[64], gid = (gid_t) -1;
        struct stat st;
        mode_t old;
        int n;

        if (geteuid() == 0)
                gid = 65534;
        else {
                n = getgroups(ELEMENTSOF(groups), groups);
                for (int i = 0; i < n && gid == (gid_t) -1; i++)
                        if (groups[i] != getegid())
                                gid = groups[i];
        }
        if (gid == (gid_t) -1) {
                fprintf(stderr, "test_socket_group_and_mode: group part skipped: not root and no second group\n");
                gid = getegid();
        }
        varlink_server_set_socket_group(server, gid);
        old = umask(0);
        ck_assert_int_eq(varlink_server_listen_path(server, path, 0660), 0);
        umask(old);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0660);
        ck_assert_uint_eq(st.st_gid, gid);
}
END_TEST

START_TEST(test_duplicate_key_refused) {
        VarlinkMessage m = {};
        const char *reason = NULL;
        const char *text = "{\"method\":\"io.example.Fake.Echo\",\"method\":\"io.example.Fake.Fail\"}";
        const char *nested = "{\"method\":\"io.example.Fake.Echo\",\"parameters\":{\"text\":\"a\",\"x\":{\"method\":1}}}";

        ck_assert_int_eq(varlink_message_parse(text, strlen(text), &m, &reason), -EBADMSG);
        ck_assert_ptr_nonnull(reason);
        ck_assert_ptr_nonnull(strstr(reason, "duplicate"));
        ck_assert_int_eq(varlink_message_parse(nested, strlen(nested), &m, &reason), 0);
        varlink_message_done(&m);
}
END_TEST

static Suite *varlink_suite(void) {
        Suite *s = suite_create("varlink");
        TCase *tc = tcase_create("server");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_get_info_and_description);
        tcase_add_test(tc, test_unknown_methods_keep_connection);
        tcase_add_loop_test(tc, test_malformed_closes_only_that_connection, 0, ELEMENTSOF(malformed));
        tcase_add_test(tc, test_oversized_message);
        tcase_add_test(tc, test_pipelined_and_oneway);
        tcase_add_test(tc, test_stream_and_disconnect_mid_stream);
        tcase_add_test(tc, test_many_clients_and_client_limit);
        tcase_add_test(tc, test_socket_activation);
        tcase_add_test(tc, test_partial_message_sleeps);
        tcase_add_test(tc, test_slow_reader_dropped);
        tcase_add_test(tc, test_idle_connections_make_room);
        tcase_add_test(tc, test_duplicate_key_refused);
        tcase_add_test(tc, test_socket_group_and_mode);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run(varlink_suite());
}
