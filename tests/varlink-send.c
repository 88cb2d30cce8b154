/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A raw varlink client for the tests: varlink-send SOCKET REPLIES MESSAGE...
 * sends each MESSAGE as given plus a NUL ("@N" sends N bytes of 'x' and no
 * NUL), then prints up to REPLIES messages, one a line, and "EOF" when the
 * server closes the connection first. Exit 0 unless I/O fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd, want, got = 0;
        char c;
        size_t n = 0;
        static char line[1 << 20];

        if (argc < 3 || strlen(argv[1]) >= sizeof sa.sun_path) {
                fprintf(stderr, "usage: varlink-send SOCKET REPLIES MESSAGE...\n");
                return 2;
        }
        strcpy(sa.sun_path, argv[1]);
        want = atoi(argv[2]);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                perror("connect");
                return 1;
        }
        for (int i = 3; i < argc; i++) {
                if (argv[i][0] == '@') {
                        size_t k = strtoul(argv[i] + 1, NULL, 10);
                        char *x = malloc(k);

                        memset(x, 'x', k);
                        if (send(fd, x, k, MSG_NOSIGNAL) < 0) {
                                free(x);
                                break;  /* the server may close before all of it is sent */
                        }
                        free(x);
                } else if (send(fd, argv[i], strlen(argv[i]) + 1, MSG_NOSIGNAL) < 0)
                        break;
        }
        while (got < want) {
                ssize_t k = recv(fd, &c, 1, 0);

                if (k <= 0) {
                        if (n > 0)
                                printf("%.*s\n", (int) n, line);
                        puts("EOF");
                        return 0;
                }
                if (c == '\0') {
                        printf("%.*s\n", (int) n, line);
                        n = 0;
                        got++;
                } else if (n < sizeof line)
                        line[n++] = c;
        }
        close(fd);
        return 0;
}
