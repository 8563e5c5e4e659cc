/*
 * test_host.h — test helpers that need a POSIX host: running a piece of a
 * test in a forked child (for the paths that end the program: abort
 * messages are read from the child's stderr, its end from its wait status)
 * and capturing what a call prints.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TEST_HOST_H
#define HEAPCAPS_TEST_HOST_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run fn(context) in a child with its stderr captured into out (room
 * bytes, NUL-terminated); return the child's wait status. A child that
 * returns from fn exits with status 0. */
static inline int run_forked(void (*fn)(void *), void *context, char *out, size_t room)
{
    int fds[2];
    if (pipe(fds) != 0) {
        return -1;
    }
    fflush(NULL);
    pid_t child = fork();
    if (child < 0) {
        return -1;
    }
    if (child == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        fn(context);
        _exit(0);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t got;
    while (used < room - 1 && (got = read(fds[0], out + used, room - 1 - used)) > 0) {
        used += (size_t)got;
    }
    out[used] = '\0';
    close(fds[0]);
    int status = 0;
    return waitpid(child, &status, 0) == child ? status : -1;
}

/* True when the child ended by abort(). */
static inline bool child_aborted(int status)
{
    return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

/* Run fn(context) with file descriptor fd (1 or 2) captured into out (room
 * bytes, NUL-terminated). */
static inline void capture_output(int fd, void (*fn)(void *), void *context, char *out, size_t room)
{
    fflush(NULL);
    FILE *tmp = tmpfile();
    if (!tmp) {
        out[0] = '\0';
        return;
    }
    int saved = dup(fd);
    dup2(fileno(tmp), fd);
    fn(context);
    fflush(NULL);
    dup2(saved, fd);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, room - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
}

#endif /* HEAPCAPS_TEST_HOST_H */
