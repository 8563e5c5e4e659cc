/*
 * heapcaps.c — the heapcaps command-line program: picks the command and runs
 * it (boot_command.c, replay_command.c, demo_command.c).
 *
 *   heapcaps boot [options]     boot an emulated chip, print its startup log and heaps
 *   heapcaps replay FILE [...]  replay a heap trace on an emulated chip and report
 *   heapcaps demo [--size N]    one heap, a few allocations, the figures after each
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include "heapcaps/config.h"

#include "commands.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: heapcaps <command> [options]\n"
            "\n"
            "commands:\n"
            "  boot [options]        boot an emulated chip (default esp32): print the startup\n"
            "                        log a device prints and the heaps by capability\n"
            "                        (heapcaps boot --help lists the options)\n"
            "  replay FILE [options] replay a heap trace (a device's heap_trace_dump(), or\n"
            "                        CSV/JSONL) on an emulated chip: peak use, failures\n"
            "                        and why, fragmentation, pictures (--help)\n"
            "  demo [--size BYTES]   register one heap (default 65536 bytes), allocate,\n"
            "                        free, and print the heap figures after each step\n"
            "  --help                show this text\n"
            "  --version             print the version\n"
            "\n"
            "Sizes accept a K or M suffix (1K = 1024).\n");
}

/* The heap configuration the program models (heapcaps/config.h of the
 * library it is linked with: ESP-IDF's default unless the build said
 * otherwise). */
static const char *configuration(void)
{
    return "poisoning "
#if defined(CONFIG_HEAP_POISONING_COMPREHENSIVE)
           "comprehensive"
#elif defined(CONFIG_HEAP_POISONING_LIGHT)
           "light"
#else
           "basic"
#endif
#ifdef CONFIG_HEAP_TRACING_STANDALONE
           ", tracing"
#endif
#ifdef CONFIG_HEAP_USE_HOOKS
           ", hooks"
#endif
#ifdef CONFIG_HEAP_TASK_TRACKING
           ", task tracking"
#endif
        ;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_STATUS_USAGE : EXIT_STATUS_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("heapcaps %s\nheap configuration: %s\n", HEAPCAPS_VERSION, configuration());
        return EXIT_STATUS_OK;
    }
    if (!strcmp(argv[1], "boot")) {
        return boot_command(argc - 2, argv + 2);
    }
    if (!strcmp(argv[1], "replay")) {
        return replay_command(argc - 2, argv + 2);
    }
    if (!strcmp(argv[1], "demo")) {
        return demo_command(argc - 2, argv + 2);
    }
    fprintf(stderr, "heapcaps: unknown command '%s' (see heapcaps --help)\n", argv[1]);
    return EXIT_STATUS_USAGE;
}
