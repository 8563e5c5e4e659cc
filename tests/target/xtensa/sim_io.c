/*
 * sim_io.c — the C library's console and exit on QEMU's xtensa "sim"
 * machine, through the simulator calls (simcall: a2 = call number, a3..a5 =
 * arguments; SYS_exit = 1, SYS_write = 4), the POSIX calls the C library's
 * objects refer to (only writing to the console works; files fail with
 * ENOSYS; a signal ends the program), and the C entry point: picolibc's own
 * start-up code ignores main's result, so the tests enter here instead.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

enum { SIM_EXIT = 1, SIM_WRITE = 4 };

static int simcall(int call, int a, int b, int c)
{
    register int a2 __asm__("a2") = call;
    register int a3 __asm__("a3") = a;
    register int a4 __asm__("a4") = b;
    register int a5 __asm__("a5") = c;
    __asm__ volatile("simcall" : "+r"(a2), "+r"(a3) : "r"(a4), "r"(a5) : "memory");
    return a2;
}

static int sim_putc(char c, FILE *file)
{
    (void)file;
    simcall(SIM_WRITE, 1, (int)(intptr_t)&c, 1);
    return (unsigned char)c;
}

static FILE sim_console = FDEV_SETUP_STREAM(sim_putc, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdout = &sim_console;
FILE *const stderr = &sim_console;
FILE *const stdin = NULL;

void _exit(int status)
{
    for (;;) {
        simcall(SIM_EXIT, status, 0, 0);
    }
}

ssize_t write(int fd, const void *data, size_t length)
{
    if (fd != 1 && fd != 2) {
        errno = EBADF;
        return -1;
    }
    return simcall(SIM_WRITE, 1, (int)(intptr_t)data, (int)length);
}

ssize_t read(int fd, void *data, size_t length)
{
    (void)fd, (void)data, (void)length;
    errno = ENOSYS;
    return -1;
}

int open(const char *path, int flags, ...)
{
    (void)path, (void)flags;
    errno = ENOSYS;
    return -1;
}

int close(int fd)
{
    (void)fd;
    errno = ENOSYS;
    return -1;
}

off_t lseek(int fd, off_t offset, int whence)
{
    (void)fd, (void)offset, (void)whence;
    errno = ENOSYS;
    return -1;
}

pid_t getpid(void)
{
    return 1;
}

int kill(pid_t pid, int signal)
{
    (void)pid;
    _exit(128 + signal);
}

extern char __bss_start[], __bss_end[];
extern void __libc_init_array(void);
extern int main(int argc, char **argv);
void target_xtensa_start(void);

void target_xtensa_start(void)
{
    memset(__bss_start, 0, (size_t)(__bss_end - __bss_start));
    __libc_init_array();
    static char name[] = "test";
    static char *argv[] = {name, NULL};
    exit(main(1, argv));
}
