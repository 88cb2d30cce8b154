/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* deepactif-bridge's readiness as deepactif-bridge@.service (Type=notify)
 * sees it, through a test-owned NOTIFY_SOCKET: no READY=1 while Pupil
 * Capture is not there, READY=1 once the bridge has connected to the Pupil
 * Capture stand-in (tests/pupil-standin, real ZeroMQ on 127.0.0.1, replaying
 * Robust Vision P14's first samples, CC BY 4.0, Hosp et al.), STOPPING=1
 * and exit status 0 on SIGTERM. */

#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "test-util.h"

#define BRIDGE TOP_BUILDDIR "/bridge/deepactif-bridge"
#define STANDIN TOP_BUILDDIR "/tests/pupil-standin"
#define RECORDING TEST_SRCDIR "/fixtures/robustvision/P14-head.tsv"

static char *dir;

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static char *tmp(const char *name) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        return p;
}

static int notify_socket(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        ck_assert_uint_lt(strlen(path), sizeof sa.sun_path);
        strcpy(sa.sun_path, path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        return fd;
}

/* Waits up to timeout_ms for a datagram holding a line starting with prefix. */
static bool wait_notify(int fd, const char *prefix, int timeout_ms) {
        uint64_t deadline = now_ms() + (uint64_t) timeout_ms;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                uint64_t now = now_ms();
                char buf[4096];
                ssize_t n;

                if (now >= deadline || poll(&p, 1, (int) (deadline - now)) <= 0)
                        return false;
                n = recv(fd, buf, sizeof buf - 1, 0);
                if (n <= 0)
                        continue;
                buf[n] = '\0';
                for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
                        if (strncmp(l, prefix, strlen(prefix)) == 0)
                                return true;
        }
}

/* A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
static unsigned free_port(void) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof sa;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &sa, &len), 0);
        close(fd);
        return ntohs(sa.sin_port);
}

static pid_t spawn(char *const argv[], const char *notify, const char *log) {
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

                if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
                        _exit(126);
                unsetenv("NOTIFY_SOCKET");
                if (notify)
                        setenv("NOTIFY_SOCKET", notify, 1);
                execv(argv[0], argv);
                _exit(127);
        }
        return pid;
}

START_TEST(test_ready_when_connected) {
        _cleanup_free_ char *top = dir = test_mkdtemp();
        _cleanup_free_ char *sock = tmp("notify"), *evemu = tmp("gaze.evemu"), *blog = tmp("bridge.log"),
                            *slog = tmp("standin.log"), *address = NULL, *port_arg = NULL;
        unsigned port = free_port();
        pid_t bridge, standin;
        int fd = notify_socket(sock), status;

        ck_assert_int_ge(asprintf(&address, "tcp://127.0.0.1:%u", port), 0);
        ck_assert_int_ge(asprintf(&port_arg, "%u", port), 0);
        {
                char *argv[] = { (char *) BRIDGE, "--pupil", address, "--evemu", evemu, NULL };

                bridge = spawn(argv, sock, blog);
        }
        /* Pupil Capture is not running: the bridge waits, not ready. */
        ck_assert_msg(!wait_notify(fd, "READY=1", 1500), "READY=1 before Pupil Capture was there");
        ck_assert_int_eq(waitpid(bridge, &status, WNOHANG), 0);
        {
                char *argv[] = { (char *) STANDIN, "--recording", (char *) RECORDING, "--port", port_arg, NULL };

                standin = spawn(argv, NULL, slog);
        }
        ck_assert_msg(wait_notify(fd, "READY=1", 20000), "no READY=1 after Pupil Capture came up");
        ck_assert_int_eq(kill(bridge, SIGTERM), 0);
        ck_assert_msg(wait_notify(fd, "STOPPING=1", 10000), "no STOPPING=1 on SIGTERM");
        ck_assert_int_eq(waitpid(bridge, &status, 0), bridge);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the bridge did not exit 0 on SIGTERM");
        kill(standin, SIGTERM);
        waitpid(standin, &status, 0);
        close(fd);
        test_rmdir_r(top);
}
END_TEST

int main(void) {
        Suite *s = suite_create("bridge-notify");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_ready_when_connected);
        tcase_set_timeout(tc, 120);
        suite_add_tcase(s, tc);
        return test_run(s);
}
