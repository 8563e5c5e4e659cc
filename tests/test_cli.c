/*
 * test_cli.c — runs the built `heapcaps` program and checks what it prints
 * and its exit status: the boot log of each chip, the heap table, the himem
 * figures, sdkconfig files, and the errors for bad command lines.
 *
 * The program is $HEAPCAPS_CLI, else tools/heapcaps in the build tree this
 * test was built in (its own directory's ../tools); every test fails with
 * that path when it is not there.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "heapcaps/emu.h"

#define MAX_ARGS 16

static char cli_path[4096];

/* What one run of the program gave. */
typedef struct {
    int status; /* exit status, or -1 when it did not exit normally */
    char *out;  /* stdout */
    char *err;  /* stderr */
} run_t;

static void find_cli(void)
{
    const char *from_environment = getenv("HEAPCAPS_CLI");
    if (from_environment && from_environment[0]) {
        snprintf(cli_path, sizeof(cli_path), "%s", from_environment);
        return;
    }
    char self[4096];
    ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (length <= 0) {
        return;
    }
    self[length] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) {
        *slash = '\0';
        int length_needed = snprintf(cli_path, sizeof(cli_path), "%s/../tools/heapcaps", self);
        if (length_needed < 0 || (size_t)length_needed >= sizeof(cli_path)) {
            cli_path[0] = '\0';
        }
    }
}

static int setup_cli(void **state)
{
    (void)state;
    if (!cli_path[0]) {
        find_cli();
    }
    if (!cli_path[0] || access(cli_path, X_OK) != 0) {
        fail_msg("the heapcaps program is not at %s (built with HEAPCAPS_BUILD_TOOLS=OFF?); "
                 "set HEAPCAPS_CLI to its path",
                 cli_path[0] ? cli_path : "tools/heapcaps");
    }
    return 0;
}

static char *read_all(FILE *file)
{
    fflush(file);
    long size = -1;
    if (fseek(file, 0, SEEK_END) != 0 || (size = ftell(file)) < 0) {
        fail_msg("cannot measure the captured output");
    }
    rewind(file);
    char *text = malloc((size_t)size + 1);
    assert_non_null(text);
    size_t got = fread(text, 1, (size_t)size, file);
    text[got] = '\0';
    return text;
}

/* Run the program with the NULL-terminated `args` (after argv[0]). */
static run_t run_cli(const char *const *args)
{
    char *argv[MAX_ARGS + 2] = {cli_path};
    size_t count = 0;
    while (args[count]) {
        assert_true(count < MAX_ARGS);
        argv[count + 1] = (char *)args[count];
        count++;
    }
    argv[count + 1] = NULL;

    FILE *out = tmpfile();
    FILE *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        if (dup2(fileno(out), STDOUT_FILENO) < 0 || dup2(fileno(err), STDERR_FILENO) < 0) {
            _exit(127);
        }
        execv(cli_path, argv);
        _exit(127);
    }
    int wait_status = 0;
    assert_true(waitpid(child, &wait_status, 0) == child);
    run_t run = {
        .status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1,
        .out = read_all(out),
        .err = read_all(err),
    };
    fclose(out);
    fclose(err);
    return run;
}

static void run_free(run_t *run)
{
    free(run->out);
    free(run->err);
}

/* Fail, showing everything the program printed, unless `needle` is in `text`. */
static void expect_text(const run_t *run, const char *text, const char *needle)
{
    if (!strstr(text, needle)) {
        fail_msg("'%s' not printed; status %d\nstdout:\n%s\nstderr:\n%s", needle, run->status,
                 run->out, run->err);
    }
}

static void expect_status(const run_t *run, int status)
{
    if (run->status != status) {
        fail_msg("exit status %d, expected %d\nstdout:\n%s\nstderr:\n%s", run->status, status,
                 run->out, run->err);
    }
}

/* The log lines of `out` ("X (<ms>) tag: text") with the milliseconds
 * removed ("X () tag: text"), one per line. */
static char *log_lines_without_time(const char *out)
{
    char *lines = malloc(strlen(out) + 1);
    assert_non_null(lines);
    char *write = lines;
    const char *line = out;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t length = end ? (size_t)(end - line) : strlen(line);
        size_t digits = 0;
        if (length > 3 && strchr("EWIDV", line[0]) && line[1] == ' ' && line[2] == '(') {
            while (line[3 + digits] >= '0' && line[3 + digits] <= '9') {
                digits++;
            }
        }
        if (digits > 0 && line[3 + digits] == ')') {
            write += sprintf(write, "%c ()%.*s\n", line[0], (int)(length - 4 - digits),
                             line + 4 + digits);
        }
        line += length + (end ? 1 : 0);
    }
    *write = '\0';
    return lines;
}

/* The four figures of the table row of `capability`. */
typedef struct {
    size_t total, free, largest, minimum;
} table_row_t;

static table_row_t table_row(const run_t *run, const char *capability)
{
    size_t name_length = strlen(capability);
    for (const char *line = run->out; line; line = strchr(line, '\n')) {
        line += *line == '\n';
        if (!strncmp(line, capability, name_length) && line[name_length] == ' ') {
            table_row_t row;
            int got = sscanf(line + name_length, "%zu %zu %zu %zu", &row.total, &row.free,
                             &row.largest, &row.minimum);
            assert_int_equal(got, 4);
            return row;
        }
    }
    fail_msg("no table row %s in:\n%s", capability, run->out);
    table_row_t none = {0};
    return none;
}

/* The figure on the summary line starting with `name`, e.g.
 * "esp_himem_get_phys_size()". */
static size_t summary_figure(const run_t *run, const char *name)
{
    size_t name_length = strlen(name);
    for (const char *line = run->out; line; line = strchr(line, '\n')) {
        line += *line == '\n';
        size_t figure = 0;
        if (!strncmp(line, name, name_length) && sscanf(line + name_length, "%zu", &figure) == 1) {
            return figure;
        }
    }
    fail_msg("no summary line %s in:\n%s", name, run->out);
    return 0;
}

/* A file in the temporary directory holding `text`; its path in `path`. */
static void write_temp_file(char *path, size_t path_size, const char *text)
{
    const char *directory = getenv("TMPDIR");
    snprintf(path, path_size, "%s/heapcaps-test-cli-XXXXXX",
             directory && directory[0] ? directory : "/tmp");
    int descriptor = mkstemp(path);
    assert_true(descriptor >= 0);
    FILE *file = fdopen(descriptor, "w");
    assert_non_null(file);
    assert_true(fputs(text, file) >= 0);
    assert_int_equal(fclose(file), 0);
}

/* ------------------------------------------------------------------ tests */

/* ESP32: the log of ESP-IDF's documentation. */
static const char esp32_documented_log[] =
    "I () heap_init: Initializing. RAM available for dynamic allocation:\n"
    "I () heap_init: At 3FFAE6E0 len 00001920 (6 KiB): DRAM\n"
    "I () heap_init: At 3FFB2EC8 len 0002D138 (180 KiB): DRAM\n"
    "I () heap_init: At 3FFE0440 len 00003AE0 (14 KiB): D/IRAM\n"
    "I () heap_init: At 3FFE4350 len 0001BCB0 (111 KiB): D/IRAM\n"
    "I () heap_init: At 4008944C len 00016BB4 (90 KiB): IRAM\n";

/* The program models a device in ESP-IDF's default heap configuration,
 * whatever debugging features the library under test was built with. */
static void test_version_names_the_modelled_configuration(void **state)
{
    (void)state;
    const char *args[] = {"--version", NULL};
    run_t run = run_cli(args);
    assert_int_equal(run.status, 0);
    expect_text(&run, run.out, "heapcaps ");
#ifdef HEAPCAPS_TEST_CLI_BUILD_CONFIG
    expect_text(&run, run.out, "heap configuration: poisoning ");
#else
    expect_text(&run, run.out, "heap configuration: poisoning basic\n");
#endif
    run_free(&run);
}

static void test_default_boot_prints_the_documented_esp32_log(void **state)
{
    (void)state;
    run_t run = run_cli((const char *const[]){"boot", NULL});
    expect_status(&run, 0);
    char *log = log_lines_without_time(run.out);
    assert_string_equal(log, esp32_documented_log);
    free(log);
    expect_text(&run, run.out, "Heaps of esp32 by capability");
    run_free(&run);
}

static void test_table_has_every_capability_row_and_the_system_figures(void **state)
{
    (void)state;
    static const char *const rows[] = {"DEFAULT", "INTERNAL", "8BIT",   "32BIT",
                                       "DMA",     "EXEC",     "SPIRAM", "RTCRAM"};
    run_t run = run_cli((const char *const[]){"boot", NULL});
    expect_status(&run, 0);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        table_row_t row = table_row(&run, rows[i]);
        assert_true(row.free <= row.total);
        assert_true(row.largest <= row.free);
        assert_true(row.minimum <= row.free);
    }
    table_row_t default_row = table_row(&run, "DEFAULT");
    assert_true(default_row.total > 0);
    assert_int_equal(table_row(&run, "SPIRAM").total, 0);
    expect_text(&run, run.out, "esp_get_free_heap_size()");
    const char *figure = strstr(run.out, "esp_get_free_heap_size()");
    size_t free_heap = 0;
    assert_int_equal(sscanf(figure + strlen("esp_get_free_heap_size()"), "%zu", &free_heap), 1);
    assert_int_equal(free_heap, default_row.free);
    expect_text(&run, run.out, "esp_get_minimum_free_heap_size()");
    run_free(&run);
}

static void test_every_target_boots(void **state)
{
    (void)state;
    const char *const *targets = heapcaps_emu_targets();
    assert_non_null(targets[0]);
    for (size_t i = 0; targets[i]; i++) {
        run_t run = run_cli((const char *const[]){"boot", "--target", targets[i], NULL});
        expect_status(&run, 0);
        expect_text(&run, run.out, "heap_init: Initializing. RAM available");
        expect_text(&run, run.out, "heap_init: At ");
        assert_true(table_row(&run, "DEFAULT").total > 0);
        run_free(&run);
    }
}

static void test_unknown_target_is_a_usage_error_naming_the_known_ones(void **state)
{
    (void)state;
    run_t run = run_cli((const char *const[]){"boot", "--target", "esp8266", NULL});
    expect_status(&run, 2);
    expect_text(&run, run.err, "esp8266");
    const char *const *targets = heapcaps_emu_targets();
    for (size_t i = 0; targets[i]; i++) {
        expect_text(&run, run.err, targets[i]);
    }
    assert_null(strstr(run.out, "heap_init"));
    run_free(&run);
}

static void test_bad_size_is_a_usage_error(void **state)
{
    (void)state;
    run_t run = run_cli((const char *const[]){"boot", "--psram", "3X", NULL});
    expect_status(&run, 2);
    expect_text(&run, run.err, "3X");
    run_free(&run);

    run = run_cli((const char *const[]){"boot", "--psram", NULL});
    expect_status(&run, 2);
    run_free(&run);

    run = run_cli((const char *const[]){"boot", "--static-dram", "-5", NULL});
    expect_status(&run, 2);
    run_free(&run);
}

static void test_unknown_option_and_bad_values_are_usage_errors(void **state)
{
    (void)state;
    static const char *const bad_lines[][4] = {
        {"boot", "--no-such-option", NULL},      {"boot", "stray", NULL},
        {"boot", "--memprot", "maybe", NULL},    {"boot", "--psram-use", "sometimes", NULL},
        {"boot", "--quiet=yes", NULL},           {"boot", "--always-internal", "200K", NULL},
        {"boot", "--himem", "maybe", NULL},      {"boot", "--himem-reserve", "0", NULL},
        {"boot", "--himem-reserve", "63", NULL}, {"nonsense", NULL},
    };
    for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
        run_t run = run_cli(bad_lines[i]);
        expect_status(&run, 2);
        assert_true(run.err[0] != '\0');
        run_free(&run);
    }
}

static void test_psram_on_esp32s3(void **state)
{
    (void)state;
    run_t run =
        run_cli((const char *const[]){"boot", "--psram", "2M", "--target", "esp32s3", NULL});
    expect_status(&run, 0);
    expect_text(&run, run.out, "esp_psram: Adding pool of 2048K of PSRAM memory to heap allocator");
    table_row_t spiram = table_row(&run, "SPIRAM");
    assert_int_equal(spiram.total, 2 * 1024 * 1024);
    assert_true(spiram.free > 0);
    run_free(&run);

    run = run_cli((const char *const[]){"boot", "--target=esp32s3", "--psram=8M", NULL});
    expect_status(&run, 0);
    assert_int_equal(table_row(&run, "SPIRAM").total, 8 * 1024 * 1024);
    run_free(&run);
}

static void test_psram_on_a_chip_without_is_a_boot_failure(void **state)
{
    (void)state;
    run_t run =
        run_cli((const char *const[]){"boot", "--target", "esp32c3", "--psram", "2M", NULL});
    expect_status(&run, 1);
    expect_text(&run, run.err, "ESP_ERR_INVALID_SIZE");
    run_free(&run);
}

/* ESP32 PSRAM beyond the 4 MiB it maps: himem by default, its window (8
 * pages) taken from the top of the PSRAM heap. */
static void test_esp32_8m_psram_uses_himem(void **state)
{
    (void)state;
    run_t run = run_cli((const char *const[]){"boot", "--target", "esp32", "--psram", "8M", NULL});
    expect_status(&run, 0);
    char *log = log_lines_without_time(run.out);
    expect_text(&run, log,
                "I () esp_himem: Initialized. Using last 8 32KB address blocks for bank switching "
                "on 4352 KB of physical memory.\n");
    free(log);
    expect_text(&run, run.out, "Adding pool of 3840K of PSRAM memory");
    assert_int_equal(table_row(&run, "SPIRAM").total, 4 * 1024 * 1024 - 8 * 32 * 1024);
    /* 4 MiB beyond the window plus the window's own 8 pages, all free. */
    assert_int_equal(summary_figure(&run, "esp_himem_get_phys_size()"), 4456448);
    assert_int_equal(summary_figure(&run, "esp_himem_get_free_size()"), 4456448);
    assert_int_equal(summary_figure(&run, "esp_himem_reserved_area_size()"), 262144);
    expect_text(&run, run.out, "(4352 KiB)");
    expect_text(&run, run.out, "(8 x 32 KiB window at 0x3FBC0000-0x3FC00000)");
    run_free(&run);
}

static void test_himem_off_keeps_the_whole_window_as_heap(void **state)
{
    (void)state;
    run_t run = run_cli((const char *const[]){"boot", "--target", "esp32", "--psram", "8M",
                                              "--himem", "off", NULL});
    expect_status(&run, 0);
    assert_null(strstr(run.out, "himem"));
    expect_text(&run, run.out, "Adding pool of 4096K of PSRAM memory");
    assert_int_equal(table_row(&run, "SPIRAM").total, 4 * 1024 * 1024);
    run_free(&run);

    /* Not in use by default with PSRAM the ESP32 maps whole. */
    run = run_cli((const char *const[]){"boot", "--psram", "4M", NULL});
    expect_status(&run, 0);
    assert_null(strstr(run.out, "himem"));
    run_free(&run);
}

static void test_himem_on_with_4m_psram_has_only_the_window_pages(void **state)
{
    (void)state;
    run_t run = run_cli(
        (const char *const[]){"boot", "--target", "esp32", "--psram", "4M", "--himem", "on", NULL});
    expect_status(&run, 0);
    expect_text(&run, run.out, "on 256 KB of physical memory.");
    assert_int_equal(summary_figure(&run, "esp_himem_get_phys_size()"), 256 * 1024);
    assert_int_equal(summary_figure(&run, "esp_himem_get_free_size()"), 256 * 1024);
    assert_int_equal(table_row(&run, "SPIRAM").total, 4 * 1024 * 1024 - 256 * 1024);
    run_free(&run);
}

static void test_himem_reserve_sets_the_window(void **state)
{
    (void)state;
    run_t run = run_cli((const char *const[]){"boot", "--target", "esp32", "--psram", "8M",
                                              "--himem-reserve", "16", NULL});
    expect_status(&run, 0);
    expect_text(&run, run.out, "Using last 16 32KB address blocks");
    assert_int_equal(summary_figure(&run, "esp_himem_reserved_area_size()"), 16 * 32 * 1024);
    assert_int_equal(summary_figure(&run, "esp_himem_get_phys_size()"), 4608 * 1024);
    expect_text(&run, run.out, "(16 x 32 KiB window at 0x3FB80000-0x3FC00000)");
    assert_int_equal(table_row(&run, "SPIRAM").total, 4 * 1024 * 1024 - 16 * 32 * 1024);
    run_free(&run);
}

static void test_bad_himem_values_name_the_option(void **state)
{
    (void)state;
    run_t run = run_cli((const char *const[]){"boot", "--himem", "maybe", NULL});
    expect_status(&run, 2);
    expect_text(&run, run.err, "--himem: 'maybe' is neither on nor off");
    run_free(&run);

    static const char *const reserves[] = {"0", "63", "8K", "-1"};
    for (size_t i = 0; i < sizeof(reserves) / sizeof(reserves[0]); i++) {
        run = run_cli((const char *const[]){"boot", "--himem-reserve", reserves[i], NULL});
        expect_status(&run, 2);
        expect_text(&run, run.err, "--himem-reserve: '");
        expect_text(&run, run.err, "from 1 to 62");
        assert_null(strstr(run.out, "heap_init"));
        run_free(&run);
    }
}

static void test_himem_on_another_chip_is_a_boot_failure(void **state)
{
    (void)state;
    run_t run = run_cli((const char *const[]){"boot", "--himem", "on", "--target", "esp32s3",
                                              "--psram", "2M", NULL});
    expect_status(&run, 1);
    expect_text(&run, run.err, "booting esp32s3 failed: ESP_ERR_INVALID_ARG");
    expect_text(&run, run.err, "himem (--himem on) exists only on the ESP32");
    run_free(&run);

    run = run_cli((const char *const[]){"boot", "--himem", "on", "--psram", "2M", NULL});
    expect_status(&run, 1);
    expect_text(&run, run.err, "ESP_ERR_INVALID_SIZE");
    expect_text(&run, run.err, "needs at least 4M of PSRAM");
    run_free(&run);
}

static void test_quiet_prints_only_the_table(void **state)
{
    (void)state;
    run_t run = run_cli((const char *const[]){"boot", "--quiet", NULL});
    expect_status(&run, 0);
    assert_null(strstr(run.out, "heap_init"));
    assert_true(table_row(&run, "DEFAULT").total > 0);
    run_free(&run);
}

/* The whole file at `path` (NUL-terminated), or fail. */
static char *read_whole_file(const char *path)
{
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    char *text = NULL;
    size_t length = 0, room = 0;
    int c;
    while ((c = fgetc(file)) != EOF) {
        if (length + 1 >= room) {
            room = room ? 2 * room : 4096;
            text = realloc(text, room);
            assert_non_null(text);
        }
        text[length++] = (char)c;
    }
    fclose(file);
    assert_true(length > 0);
    text[length] = '\0';
    return text;
}

static void test_boot_svg_draws_every_heap(void **state)
{
    (void)state;
    char path[512];
    write_temp_file(path, sizeof(path), "");
    run_t run = run_cli((const char *const[]){"boot", "--quiet", "--svg", path, NULL});
    expect_status(&run, 0);
    char *svg = read_whole_file(path);
    assert_non_null(strstr(svg, "<svg"));
    assert_non_null(strstr(svg, "</svg>"));
    /* ESP32's five heaps, each a group; the first is DRAM at 0x3ffae6e0. */
    size_t heaps = 0;
    for (const char *p = svg; (p = strstr(p, "class=\"heap\"")); p++) {
        heaps++;
    }
    assert_int_equal(heaps, 5);
    assert_non_null(strstr(svg, "data-start=\"0x3ffae6e0\""));
    free(svg);
    remove(path);
    run_free(&run);

    run =
        run_cli((const char *const[]){"boot", "--quiet", "--svg", "/nonexistent/dir/x.svg", NULL});
    expect_status(&run, 1);
    expect_text(&run, run.err, "cannot write /nonexistent/dir/x.svg");
    run_free(&run);
}

/* ------------------------------------------------------------ replay */

#ifndef HEAPCAPS_EXAMPLE_TRACES
#error "HEAPCAPS_EXAMPLE_TRACES: the directory of examples/traces (tests/CMakeLists.txt)"
#endif

/* A CSV trace that fragments ESP32-C3's heap: 80 blocks of 4 KiB (nearly all
 * of it), every other one freed, then 12 KiB asked for (about 160 KiB free in
 * 4 KiB holes), then 1 MiB (more than the chip has). */
static char *fragmenting_csv(void)
{
    size_t room = 64 * 1024, used = 0;
    char *text = malloc(room);
    assert_non_null(text);
    used += (size_t)snprintf(text + used, room - used,
                             "# built by the test\nop,id,size,caps,alignment,timestamp\n");
    for (int i = 0; i < 80; i++) {
        used += (size_t)snprintf(text + used, room - used, "malloc,b%d,4096,,,%d\n", i, i);
    }
    for (int i = 0; i < 80; i += 2) {
        used += (size_t)snprintf(text + used, room - used, "free,b%d,,,,%d\n", i, 100 + i);
    }
    used += (size_t)snprintf(text + used, room - used, "malloc,big,12288,,,200\n");
    used += (size_t)snprintf(text + used, room - used, "malloc,huge,1048576,,,201\n");
    assert_true(used < room);
    return text;
}

static void test_replay_tells_fragmentation_from_out_of_memory(void **state)
{
    (void)state;
    char path[512];
    char *csv = fragmenting_csv();
    write_temp_file(path, sizeof(path), csv);
    free(csv);
    run_t run = run_cli((const char *const[]){"replay", path, "--target", "esp32c3", NULL});
    expect_status(&run, 0);
    expect_text(&run, run.out, "122 operations on 82 blocks");
    expect_text(&run, run.out, "2 failed");
    expect_text(&run, run.out, "Failed requests: 2 (1 of them from fragmentation");
    expect_text(
        &run, run.out,
        "op 120 (line 123): malloc of 12288 bytes, caps 0x1000 (malloc() policy): FRAGMENTATION");
    expect_text(
        &run, run.out,
        "op 121 (line 124): malloc of 1048576 bytes, caps 0x1000 (malloc() policy): out of memory");
    /* The blocks between the holes are named by the line that allocated them. */
    expect_text(&run, run.out, "the live allocations that fragment the heap most");
    expect_text(&run, run.out, "malloc(4096) at line");
    run_free(&run);

    run = run_cli((const char *const[]){"replay", path, "--target", "esp32c3", "--json", NULL});
    expect_status(&run, 0);
    expect_text(&run, run.out, "\"cause\": \"fragmentation\"");
    expect_text(&run, run.out, "\"cause\": \"out of memory\"");
    expect_text(&run, run.out, "\"line\": 123, \"kind\": \"malloc\", \"size\": 12288");
    assert_int_equal(run.out[0], '{');
    run_free(&run);

    /* The same trace where there is room: the failures disappear. */
    run = run_cli((const char *const[]){"replay", path, "--target", "esp32c3", "--what-if",
                                        "target=esp32s3,psram=2M", NULL});
    expect_status(&run, 0);
    expect_text(&run, run.out,
                "What if target=esp32s3,psram=2M: 0 failed (was 2): 2 disappear, 0 new.");
    expect_text(&run, run.out, "succeeds now: op 120 (line 123), malloc of 12288 bytes");
    run_free(&run);
    remove(path);
}

static void test_replay_of_the_example_fragmented_trace_fails_from_fragmentation(void **state)
{
    (void)state;
    run_t run = run_cli((const char *const[]){"replay", HEAPCAPS_EXAMPLE_TRACES "/fragmented.csv",
                                              "--target", "esp32", NULL});
    expect_status(&run, 0);
    expect_text(&run, run.out, "Failed requests: 1 (1 of them from fragmentation");
    run_free(&run);
}

static void test_replay_of_a_device_dump_infers_the_frees(void **state)
{
    (void)state;
    const char *dump = HEAPCAPS_EXAMPLE_TRACES "/wifi_packets.dump.txt";
    run_t run =
        run_cli((const char *const[]){"replay", dump, "--target", "esp32", "--psram", "4M", NULL});
    expect_status(&run, 0);
    expect_text(&run, run.out, "(esp-idf-dump v5.5+): 590 operations on 324 blocks");
    expect_text(&run, run.out, "Free times are inferred");
    expect_text(&run, run.out, "placed at the end (--frees late)");
    run_free(&run);
    run = run_cli((const char *const[]){"replay", dump, "--target", "esp32", "--psram", "4M",
                                        "--frees", "early", "--json", NULL});
    expect_status(&run, 0);
    expect_text(&run, run.out, "\"frees_inferred\": true");
    expect_text(&run, run.out, "\"free_policy\": \"early\"");
    run_free(&run);
}

static void test_replay_draws_the_map_and_the_plot(void **state)
{
    (void)state;
    char map[512], plot[512], csv_path[512];
    char *csv = fragmenting_csv();
    write_temp_file(csv_path, sizeof(csv_path), csv);
    free(csv);
    write_temp_file(map, sizeof(map), "");
    write_temp_file(plot, sizeof(plot), "");
    run_t run = run_cli((const char *const[]){"replay", csv_path, "--target", "esp32c3", "--svg",
                                              map, "--plot", plot, "--top", "3", NULL});
    expect_status(&run, 0);
    char *svg = read_whole_file(map);
    assert_non_null(strstr(svg, "class=\"heap\""));
    assert_non_null(strstr(svg, "after operation 120 (the first failure)"));
    /* The three culprits are marked. */
    assert_non_null(strstr(svg, "data-label=\"#3\""));
    free(svg);
    svg = read_whole_file(plot);
    assert_non_null(strstr(svg, "class=\"series fragmentation\""));
    assert_non_null(strstr(svg, "class=\"failure\" data-op=\"120\""));
    free(svg);
    remove(map);
    remove(plot);
    remove(csv_path);
    run_free(&run);
}

static void test_replay_caps_map_gives_callers_their_caps(void **state)
{
    (void)state;
    char trace[512], map[512];
    write_temp_file(trace, sizeof(trace),
                    "op,id,size,caps,alignment,timestamp,callers\n"
                    "malloc,a,100,,,1,0x400d1234:0x400d0000\n"
                    "malloc,b,100,,,2,0x400d9999\n");
    write_temp_file(map, sizeof(map), "# caller caps\n0x400d1234 SPIRAM|8BIT\n");
    /* No PSRAM on an ESP32-C3: the mapped request fails, the other does not. */
    run_t run = run_cli(
        (const char *const[]){"replay", trace, "--target", "esp32c3", "--caps-map", map, NULL});
    expect_status(&run, 0);
    expect_text(&run, run.out,
                "op 0 (line 2): malloc of 100 bytes, caps 0x404 (by caller): out of memory");
    expect_text(&run, run.out, "1 failed");
    run_free(&run);
    write_temp_file(map, sizeof(map), "0x400d1234 NOT_A_CAP\n");
    run = run_cli((const char *const[]){"replay", trace, "--caps-map", map, NULL});
    expect_status(&run, 2);
    expect_text(&run, run.err, ":1: expected 'CALLER CAPS'");
    run_free(&run);
    remove(trace);
    remove(map);
}

static void test_replay_rejects_malformed_input_with_its_line(void **state)
{
    (void)state;
    char path[512];
    write_temp_file(path, sizeof(path),
                    "op,id,size,caps,alignment,timestamp\nmalloc,a,10,,,\nmalloc,b,ten,,,\n");
    run_t run = run_cli((const char *const[]){"replay", path, NULL});
    expect_status(&run, 2);
    expect_text(&run, run.err, "line 3");
    expect_text(&run, run.err, "'ten'");
    assert_int_equal(run.out[0], '\0');
    run_free(&run);
    write_temp_file(path, sizeof(path), "\x01\x02 this is no trace\n");
    run = run_cli((const char *const[]){"replay", path, NULL});
    expect_status(&run, 2);
    run_free(&run);
    remove(path);
    static const char *const bad[][6] = {
        {"replay", NULL},
        {"replay", "/nonexistent/trace.csv", NULL},
        {"replay", "a.csv", "--at", "sometime", NULL},
        {"replay", "a.csv", "--frees", "never", NULL},
        {"replay", "a.csv", "--what-if", "colour=blue", NULL},
        {"replay", "a.csv", "--top", "0", NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        run = run_cli(bad[i]);
        expect_status(&run, 2);
        assert_true(run.err[0] != '\0');
        run_free(&run);
    }
}

static const char sdkconfig_text[] = "#\n"
                                     "# Automatically generated file. DO NOT EDIT.\n"
                                     "#\n"
                                     "CONFIG_IDF_TARGET=\"esp32s3\"\n"
                                     "CONFIG_SPIRAM=y\n"
                                     "# CONFIG_SPIRAM_USE_MEMMAP is not set\n"
                                     "CONFIG_SPIRAM_USE_CAPS_ALLOC=y\n"
                                     "# CONFIG_SPIRAM_USE_MALLOC is not set\n"
                                     "CONFIG_SPIRAM_SIZE=4194304\n"
                                     "CONFIG_SPIRAM_MALLOC_ALWAYSINTERNAL=4096\n"
                                     "CONFIG_ESP_SYSTEM_MEMPROT=y\n"
                                     "# CONFIG_ESP_SYSTEM_ALLOW_RTC_FAST_MEM_AS_HEAP is not set\n"
                                     "# CONFIG_HEAP_ABORT_WHEN_ALLOCATION_FAILS is not set\n"
                                     "CONFIG_SOME_UNRELATED_OPTION=\"kept \\\"quoted\\\"\"\n"
                                     "\n";

static void test_sdkconfig_sets_target_psram_and_rtc_heap(void **state)
{
    (void)state;
    char path[4096];
    write_temp_file(path, sizeof(path), sdkconfig_text);
    run_t run = run_cli((const char *const[]){"boot", "--sdkconfig", path, NULL});
    unlink(path);
    expect_status(&run, 0);
    expect_text(&run, run.out, "Heaps of esp32s3");
    expect_text(&run, run.out, "Adding pool of 4096K of PSRAM memory");
    assert_null(strstr(run.out, "Reserving pool")); /* only with CONFIG_SPIRAM_USE_MALLOC */
    assert_null(strstr(run.out, "RTCRAM\n"));       /* no RTC heap in the log */
    assert_int_equal(table_row(&run, "RTCRAM").total, 0);
    assert_int_equal(table_row(&run, "SPIRAM").total, 4 * 1024 * 1024);
    run_free(&run);
}

static void test_command_line_wins_over_sdkconfig(void **state)
{
    (void)state;
    char path[4096];
    write_temp_file(path, sizeof(path), sdkconfig_text);
    run_t run = run_cli((const char *const[]){"boot", "--psram", "0", "--sdkconfig", path,
                                              "--target", "esp32c6", "--rtc-heap", "on", NULL});
    unlink(path);
    expect_status(&run, 0);
    expect_text(&run, run.out, "Heaps of esp32c6");
    assert_null(strstr(run.out, "esp_psram"));
    assert_true(table_row(&run, "RTCRAM").total > 0);
    run_free(&run);
}

static void test_sdkconfig_psram_auto_size_is_announced(void **state)
{
    (void)state;
    char path[4096];
    write_temp_file(path, sizeof(path),
                    "CONFIG_IDF_TARGET=\"esp32s3\"\nCONFIG_SPIRAM=y\nCONFIG_SPIRAM_SIZE=-1\n");
    run_t run = run_cli((const char *const[]){"boot", "--sdkconfig", path, NULL});
    unlink(path);
    expect_status(&run, 0);
    expect_text(&run, run.err, "auto-detection");
    expect_text(&run, run.out, "Adding pool of 2048K of PSRAM memory");
    expect_text(&run, run.out, "Reserving pool of 32K of internal memory");
    run_free(&run);
}

static void test_malformed_sdkconfig_line_names_file_and_line(void **state)
{
    (void)state;
    char path[4096];
    write_temp_file(path, sizeof(path),
                    "# comment\nCONFIG_IDF_TARGET=\"esp32\"\nSPIRAM=y\nCONFIG_SPIRAM=y\n");
    run_t run = run_cli((const char *const[]){"boot", "--sdkconfig", path, NULL});
    expect_status(&run, 2);
    char where[4200];
    snprintf(where, sizeof(where), "%s:3:", path);
    expect_text(&run, run.err, where);
    run_free(&run);
    unlink(path);

    write_temp_file(path, sizeof(path), "CONFIG_SPIRAM=y\nCONFIG_SPIRAM_SIZE=lots\n");
    run = run_cli((const char *const[]){"boot", "--sdkconfig", path, NULL});
    unlink(path);
    expect_status(&run, 2);
    snprintf(where, sizeof(where), "%s:2:", path);
    expect_text(&run, run.err, where);
    expect_text(&run, run.err, "CONFIG_SPIRAM_SIZE");
    run_free(&run);

    run = run_cli((const char *const[]){"boot", "--sdkconfig", "/nonexistent/sdkconfig", NULL});
    expect_status(&run, 2);
    expect_text(&run, run.err, "/nonexistent/sdkconfig");
    run_free(&run);
}

static void test_sdkconfig_himem_reserve_and_16m_psram(void **state)
{
    (void)state;
    char path[4096];
    write_temp_file(path, sizeof(path),
                    "CONFIG_IDF_TARGET=\"esp32\"\nCONFIG_SPIRAM=y\nCONFIG_SPIRAM_SIZE=16777216\n"
                    "CONFIG_SPIRAM_BANKSWITCH_ENABLE=y\nCONFIG_SPIRAM_BANKSWITCH_RESERVE=4\n");
    run_t run = run_cli((const char *const[]){"boot", "--sdkconfig", path, NULL});
    expect_status(&run, 0);
    expect_text(&run, run.out, "Using last 4 32KB address blocks for bank switching on 12416 KB");
    assert_int_equal(summary_figure(&run, "esp_himem_reserved_area_size()"), 4 * 32 * 1024);
    expect_text(&run, run.out, "(4 x 32 KiB window at 0x3FBE0000-0x3FC00000)");
    assert_int_equal(table_row(&run, "SPIRAM").total, 4 * 1024 * 1024 - 4 * 32 * 1024);
    run_free(&run);

    /* The command line wins over the file. */
    run = run_cli((const char *const[]){"boot", "--sdkconfig", path, "--himem-reserve", "2", NULL});
    expect_status(&run, 0);
    assert_int_equal(summary_figure(&run, "esp_himem_reserved_area_size()"), 2 * 32 * 1024);
    run_free(&run);
    run = run_cli((const char *const[]){"boot", "--himem", "off", "--sdkconfig", path, NULL});
    unlink(path);
    expect_status(&run, 0);
    assert_null(strstr(run.out, "himem"));
    run_free(&run);
}

static void test_sdkconfig_bankswitch_not_set_means_no_himem(void **state)
{
    (void)state;
    char path[4096];
    write_temp_file(path, sizeof(path),
                    "CONFIG_IDF_TARGET=\"esp32\"\nCONFIG_SPIRAM=y\nCONFIG_SPIRAM_SIZE=8388608\n"
                    "# CONFIG_SPIRAM_BANKSWITCH_ENABLE is not set\n");
    run_t run = run_cli((const char *const[]){"boot", "--sdkconfig", path, NULL});
    expect_status(&run, 0);
    assert_null(strstr(run.out, "himem"));
    assert_int_equal(table_row(&run, "SPIRAM").total, 4 * 1024 * 1024);
    run_free(&run);

    run = run_cli((const char *const[]){"boot", "--sdkconfig", path, "--himem", "on", NULL});
    unlink(path);
    expect_status(&run, 0);
    expect_text(&run, run.out, "esp_himem: Initialized.");
    run_free(&run);
}

static void test_sdkconfig_bad_himem_reserve_names_file_and_line(void **state)
{
    (void)state;
    char path[4096];
    write_temp_file(path, sizeof(path),
                    "CONFIG_SPIRAM=y\nCONFIG_SPIRAM_SIZE=8388608\n"
                    "CONFIG_SPIRAM_BANKSWITCH_RESERVE=63\n");
    run_t run = run_cli((const char *const[]){"boot", "--sdkconfig", path, NULL});
    expect_status(&run, 2);
    char where[4200];
    snprintf(where, sizeof(where), "%s:3: CONFIG_SPIRAM_BANKSWITCH_RESERVE: 63 is outside 1..62",
             path);
    expect_text(&run, run.err, where);
    run_free(&run);
    unlink(path);
}

static void test_help_exits_0(void **state)
{
    (void)state;
    run_t run = run_cli((const char *const[]){"boot", "--help", NULL});
    expect_status(&run, 0);
    expect_text(&run, run.out, "usage: heapcaps boot");
    expect_text(&run, run.out, "--sdkconfig");
    expect_text(&run, run.out, "--himem on|off");
    expect_text(&run, run.out, "--himem-reserve PAGES");
    run_free(&run);

    run = run_cli((const char *const[]){"--help", NULL});
    expect_status(&run, 0);
    expect_text(&run, run.out, "boot");
    run_free(&run);
}

static void test_demo_still_works(void **state)
{
    (void)state;
    run_t run = run_cli((const char *const[]){"demo", "--size", "32K", NULL});
    expect_status(&run, 0);
    expect_text(&run, run.out, "heap check: intact");
    run_free(&run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_version_names_the_modelled_configuration, setup_cli),
        cmocka_unit_test_setup(test_default_boot_prints_the_documented_esp32_log, setup_cli),
        cmocka_unit_test_setup(test_table_has_every_capability_row_and_the_system_figures,
                               setup_cli),
        cmocka_unit_test_setup(test_every_target_boots, setup_cli),
        cmocka_unit_test_setup(test_unknown_target_is_a_usage_error_naming_the_known_ones,
                               setup_cli),
        cmocka_unit_test_setup(test_bad_size_is_a_usage_error, setup_cli),
        cmocka_unit_test_setup(test_unknown_option_and_bad_values_are_usage_errors, setup_cli),
        cmocka_unit_test_setup(test_psram_on_esp32s3, setup_cli),
        cmocka_unit_test_setup(test_psram_on_a_chip_without_is_a_boot_failure, setup_cli),
        cmocka_unit_test_setup(test_esp32_8m_psram_uses_himem, setup_cli),
        cmocka_unit_test_setup(test_himem_off_keeps_the_whole_window_as_heap, setup_cli),
        cmocka_unit_test_setup(test_himem_on_with_4m_psram_has_only_the_window_pages, setup_cli),
        cmocka_unit_test_setup(test_himem_reserve_sets_the_window, setup_cli),
        cmocka_unit_test_setup(test_bad_himem_values_name_the_option, setup_cli),
        cmocka_unit_test_setup(test_himem_on_another_chip_is_a_boot_failure, setup_cli),
        cmocka_unit_test_setup(test_quiet_prints_only_the_table, setup_cli),
        cmocka_unit_test_setup(test_boot_svg_draws_every_heap, setup_cli),
        cmocka_unit_test_setup(test_replay_tells_fragmentation_from_out_of_memory, setup_cli),
        cmocka_unit_test_setup(test_replay_of_the_example_fragmented_trace_fails_from_fragmentation,
                               setup_cli),
        cmocka_unit_test_setup(test_replay_of_a_device_dump_infers_the_frees, setup_cli),
        cmocka_unit_test_setup(test_replay_draws_the_map_and_the_plot, setup_cli),
        cmocka_unit_test_setup(test_replay_caps_map_gives_callers_their_caps, setup_cli),
        cmocka_unit_test_setup(test_replay_rejects_malformed_input_with_its_line, setup_cli),
        cmocka_unit_test_setup(test_sdkconfig_sets_target_psram_and_rtc_heap, setup_cli),
        cmocka_unit_test_setup(test_command_line_wins_over_sdkconfig, setup_cli),
        cmocka_unit_test_setup(test_sdkconfig_psram_auto_size_is_announced, setup_cli),
        cmocka_unit_test_setup(test_malformed_sdkconfig_line_names_file_and_line, setup_cli),
        cmocka_unit_test_setup(test_sdkconfig_himem_reserve_and_16m_psram, setup_cli),
        cmocka_unit_test_setup(test_sdkconfig_bankswitch_not_set_means_no_himem, setup_cli),
        cmocka_unit_test_setup(test_sdkconfig_bad_himem_reserve_names_file_and_line, setup_cli),
        cmocka_unit_test_setup(test_help_exits_0, setup_cli),
        cmocka_unit_test_setup(test_demo_still_works, setup_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
