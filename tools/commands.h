/*
 * commands.h — the commands of the heapcaps program. Each takes the words
 * after its name and returns the process exit status: 0 done, 1 the work
 * failed, 2 the command line (or a file it names) is wrong.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef HEAPCAPS_TOOLS_COMMANDS_H
#define HEAPCAPS_TOOLS_COMMANDS_H

#include <stdio.h>

/* Exit statuses shared by all commands. */
enum {
    EXIT_STATUS_OK = 0,
    EXIT_STATUS_FAILED = 1,
    EXIT_STATUS_USAGE = 2,
};

/* `heapcaps boot [options]`: boot an emulated chip, print its startup log
 * and the heap table (boot_command.c). */
int boot_command(int argc, char **argv);
void boot_command_usage(FILE *out);

/* `heapcaps replay FILE [options]`: replay a heap trace on an emulated chip
 * and report how the heap fared (replay_command.c). */
int replay_command(int argc, char **argv);
void replay_command_usage(FILE *out);

/* `heapcaps demo [--size BYTES]`: one heap, a few allocations, the figures
 * after each step (demo_command.c). */
int demo_command(int argc, char **argv);

#endif /* HEAPCAPS_TOOLS_COMMANDS_H */
