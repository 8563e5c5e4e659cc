/*
 * emu_map.c — putting a chip's RAM into this process: memfd memory objects
 * (so that an IRAM alias can show the same pages as its DRAM range), mapped
 * at the chip's own addresses when the host leaves them free, else inside
 * one host-chosen window at a constant offset; a forked child gets a copy.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE /* memfd_create, MAP_FIXED_NOREPLACE */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emu_memory.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000 /* Linux 4.17; older kernels treat it as a hint */
#endif

static const char *const object_names[EMU_OBJECT_COUNT] = {"ram", "psram"};

/* The booted chip's memory, for the fork handler. */
static emu_memory_t *mapped_memory;

/* Guards the remap table: tasks map himem banks at once, and a fork must
 * see the table whole (taken around fork() by the handlers). */
static pthread_mutex_t remap_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t span_length(const emu_span_t *span)
{
    return (size_t)(span->chip_high - span->chip_low);
}

static char *span_host(const emu_memory_t *memory, const emu_span_t *span)
{
    return (char *)(uintptr_t)(span->chip_low + (uintptr_t)memory->address_offset);
}

static void *map_span(const emu_memory_t *memory, const emu_span_t *span, void *host, int how)
{
    return mmap(host, span_length(span), PROT_READ | PROT_WRITE, MAP_SHARED | how,
                memory->fd[span->object], (off_t)span->offset);
}

static void close_objects(emu_memory_t *memory)
{
    for (size_t i = 0; i < EMU_OBJECT_COUNT; i++) {
        if (memory->fd[i] >= 0) {
            close(memory->fd[i]);
        }
        memory->fd[i] = -1;
    }
}

static bool create_objects(const emu_plan_t *plan, const char *name, emu_memory_t *memory)
{
    for (size_t i = 0; i < EMU_OBJECT_COUNT; i++) {
        if (plan->object_size[i] == 0) {
            continue;
        }
        char label[64];
        snprintf(label, sizeof(label), "heapcaps-%s-%s", name, object_names[i]);
        memory->fd[i] = memfd_create(label, MFD_CLOEXEC);
        if (memory->fd[i] < 0 || (uint64_t)(off_t)plan->object_size[i] != plan->object_size[i] ||
            ftruncate(memory->fd[i], (off_t)plan->object_size[i]) != 0) {
            close_objects(memory);
            return false;
        }
        memory->object_size[i] = plan->object_size[i];
    }
    return true;
}

static bool write_all(int fd, const char *data, size_t length, off_t offset)
{
    while (length > 0) {
        ssize_t done = pwrite(fd, data, length, offset);
        if (done < 0 && errno == EINTR) {
            continue;
        }
        if (done <= 0) {
            return false;
        }
        data += done;
        length -= (size_t)done;
        offset += done;
    }
    return true;
}

/* Copy [start, end) of object `from` into object `to`: in the kernel
 * (copy_file_range: no pass through the process's memory, so tools watching
 * the chip's memory, such as the sanitizer view, see nothing), or where the
 * kernel cannot, through a static buffer (no malloc in a forked child of a
 * threaded process). */
static bool copy_range(int from, int to, off_t start, off_t end)
{
    static char buffer[64 * 1024];
    loff_t in = start, out = start; /* 64-bit even where off_t is not */
    while (in < end) {
        ssize_t done = copy_file_range(from, &in, to, &out, (size_t)(end - in), 0);
        if (done > 0 || (done < 0 && errno == EINTR)) {
            continue;
        }
        size_t chunk = (size_t)(end - in) < sizeof(buffer) ? (size_t)(end - in) : sizeof(buffer);
        ssize_t got = pread(from, buffer, chunk, (off_t)in);
        if (got <= 0 || !write_all(to, buffer, (size_t)got, (off_t)in)) {
            return false;
        }
        in += got;
        out = in;
    }
    return true;
}

/* Copy the pages of [start, end) of object `from` that hold data (holes stay
 * holes: an untouched PSRAM costs nothing) into object `to`. */
static bool copy_data(int from, int to, off_t start, off_t end)
{
    off_t position = start;
    while (position < end) {
        off_t data = lseek(from, position, SEEK_DATA);
        off_t hole = end;
        if (data < 0 && errno == ENXIO) {
            break; /* no data from here on */
        }
        if (data < 0) {
            data = position; /* SEEK_DATA unsupported: copy everything */
        } else if (data >= end) {
            break;
        } else {
            hole = lseek(from, data, SEEK_HOLE);
            if (hole < 0 || hole > end) {
                hole = end;
            }
        }
        if (!copy_range(from, to, data, hole)) {
            return false;
        }
        position = hole;
    }
    return true;
}

/*
 * After fork(): the mappings are MAP_SHARED (the aliases need it), so without
 * this the child would write into the parent's chip, e.g. a death test that
 * corrupts a heap before aborting. Each object is copied into a new one and
 * the child's mappings are switched over, which gives fork's usual
 * copy semantics (aliases still share pages within the child).
 */
static void give_child_its_own_memory(void)
{
    emu_memory_t *memory = mapped_memory;
    if (!memory) {
        pthread_mutex_unlock(&remap_lock);
        return;
    }
    for (size_t object = 0; object < EMU_OBJECT_COUNT; object++) {
        int parent_fd = memory->fd[object];
        if (parent_fd < 0) {
            continue;
        }
        int copy = memfd_create("heapcaps-forked", MFD_CLOEXEC);
        bool ok = copy >= 0 && ftruncate(copy, (off_t)memory->object_size[object]) == 0;
        /* All of the object's data (its holes stay holes): the spans show
         * it, and himem's remapped pages show parts of it elsewhere. */
        ok = ok && copy_data(parent_fd, copy, 0, (off_t)memory->object_size[object]);
        for (size_t i = 0; ok && i < memory->span_count; i++) {
            const emu_span_t *span = &memory->spans[i];
            char *host = span_host(memory, span);
            ok = span->object != object ||
                 mmap(host, span_length(span), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, copy,
                      (off_t)span->offset) == host;
        }
        for (size_t i = 0; ok && i < memory->remap_count; i++) {
            const emu_span_t *remap = &memory->remaps[i];
            char *host = span_host(memory, remap);
            ok = remap->object != object ||
                 mmap(host, span_length(remap), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                      copy, (off_t)remap->offset) == host;
        }
        if (!ok) {
            static const char message[] =
                "heapcaps: a forked child cannot get its own copy of the emulated chip's RAM\n";
            if (write(STDERR_FILENO, message, sizeof(message) - 1) < 0) {
                /* nothing else to tell it with */
            }
            abort();
        }
        close(parent_fd);
        memory->fd[object] = copy;
    }
    pthread_mutex_unlock(&remap_lock);
}

static void take_remap_lock(void)
{
    pthread_mutex_lock(&remap_lock);
}

static void give_remap_lock(void)
{
    pthread_mutex_unlock(&remap_lock);
}

static void install_fork_handler(void)
{
    pthread_atfork(take_remap_lock, give_remap_lock, give_child_its_own_memory);
}

/* Every span at its chip address, or none: a span the host already uses
 * makes the whole chip fall back (one offset for all addresses). */
static bool map_at_chip_addresses(emu_memory_t *memory)
{
    for (size_t i = 0; i < memory->span_count; i++) {
        const emu_span_t *span = &memory->spans[i];
        void *wanted = (void *)(uintptr_t)span->chip_low;
        void *got = MAP_FAILED;
        if (span->chip_high - 1 <= UINTPTR_MAX) {
            got = map_span(memory, span, wanted, MAP_FIXED_NOREPLACE);
        }
        if (got != wanted) {
            if (got != MAP_FAILED) {
                munmap(got, span_length(span)); /* a kernel that took the address as a hint */
            }
            for (size_t j = 0; j < i; j++) {
                munmap((void *)(uintptr_t)memory->spans[j].chip_low,
                       span_length(&memory->spans[j]));
            }
            return false;
        }
    }
    return true;
}

static void *reserve_window(uint64_t low, uint64_t high)
{
    if (high <= low || high - low > SIZE_MAX) {
        return MAP_FAILED;
    }
    return mmap(NULL, (size_t)(high - low), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                -1, 0);
}

static void announce_fallback(const char *name, intptr_t offset)
{
    static atomic_flag announced = ATOMIC_FLAG_INIT;
    if (atomic_flag_test_and_set(&announced)) {
        return;
    }
    uintmax_t magnitude = offset < 0 ? -(uintmax_t)offset : (uintmax_t)offset;
    fprintf(stderr,
            "heapcaps: %s RAM at host addresses (the chip's addresses are not free in this "
            "process): chip address %c 0x%" PRIxMAX " = host address\n",
            name, offset < 0 ? '-' : '+', magnitude);
}

/* One PROT_NONE window over the chip's address facts (else just over the
 * spans), the spans mapped into it: chip address + offset = host address. */
static bool map_in_window(const emu_plan_t *plan, emu_memory_t *memory)
{
    uint64_t low = plan->facts_low, high = plan->facts_high;
    void *window = reserve_window(low, high);
    if (window == MAP_FAILED) {
        low = plan->spans[0].chip_low;
        high = plan->spans[plan->span_count - 1].chip_high;
        window = reserve_window(low, high);
    }
    if (window == MAP_FAILED) {
        return false;
    }
    memory->window = window;
    memory->window_size = (size_t)(high - low);
    memory->window_chip_low = low;
    for (size_t i = 0; i < memory->span_count; i++) {
        const emu_span_t *span = &memory->spans[i];
        void *host = (char *)window + (span->chip_low - low);
        if (map_span(memory, span, host, MAP_FIXED) != host) {
            munmap(window, memory->window_size);
            memory->window = NULL;
            return false;
        }
    }
    /* Unsigned difference, then converted: the window may lie below the chip's addresses. */
    memory->address_offset = (intptr_t)((uintptr_t)window - (uintptr_t)low);
    return true;
}

esp_err_t emu_memory_map(const emu_plan_t *plan, const char *name, emu_memory_t *memory)
{
    memset(memory, 0, sizeof(*memory));
    for (size_t i = 0; i < EMU_OBJECT_COUNT; i++) {
        memory->fd[i] = -1;
    }
    if (plan->span_count == 0) {
        return ESP_ERR_NO_MEM;
    }
    memcpy(memory->spans, plan->spans, plan->span_count * sizeof(plan->spans[0]));
    memory->span_count = plan->span_count;
    if (!create_objects(plan, name, memory)) {
        return ESP_ERR_NO_MEM;
    }
    if (map_at_chip_addresses(memory)) {
        memory->real_addresses = true;
    } else if (map_in_window(plan, memory)) {
        announce_fallback(name, memory->address_offset);
    } else {
        close_objects(memory);
        return ESP_ERR_NO_MEM;
    }
    static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;
    pthread_once(&fork_handler_once, install_fork_handler);
    mapped_memory = memory;
    return ESP_OK;
}

void emu_memory_unmap(emu_memory_t *memory)
{
    if (mapped_memory == memory) {
        mapped_memory = NULL;
    }
    if (memory->window) {
        munmap(memory->window, memory->window_size);
    } else if (memory->real_addresses) {
        for (size_t i = 0; i < memory->span_count; i++) {
            munmap((void *)(uintptr_t)memory->spans[i].chip_low, span_length(&memory->spans[i]));
        }
    }
    close_objects(memory);
    memset(memory, 0, sizeof(*memory));
    for (size_t i = 0; i < EMU_OBJECT_COUNT; i++) {
        memory->fd[i] = -1;
    }
}

esp_err_t emu_memory_remap(emu_memory_t *memory, uint64_t chip_low, uint64_t length,
                           emu_object_t object, uint64_t offset)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (object >= EMU_OBJECT_COUNT || memory->fd[object] < 0 || length == 0 || chip_low % page ||
        length % page || offset % page || offset + length > memory->object_size[object]) {
        return ESP_ERR_INVALID_ARG;
    }
    const emu_span_t *inside = NULL;
    for (size_t i = 0; i < memory->span_count; i++) {
        const emu_span_t *span = &memory->spans[i];
        if (chip_low >= span->chip_low && chip_low + length <= span->chip_high) {
            inside = span;
        }
    }
    if (!inside) {
        return ESP_ERR_INVALID_ARG;
    }
    pthread_mutex_lock(&remap_lock);
    esp_err_t err = ESP_OK;
    /* The table keeps what is in force: a range mapped again is replaced
     * (callers remap whole pages of their own size, never parts of one). */
    size_t slot = memory->remap_count;
    for (size_t i = 0; i < memory->remap_count; i++) {
        if (memory->remaps[i].chip_low == chip_low && span_length(&memory->remaps[i]) == length) {
            slot = i;
        }
    }
    emu_span_t remap = {chip_low, chip_low + length, object, offset};
    char *host = span_host(memory, &remap);
    if (slot == EMU_MAX_REMAPS || map_span(memory, &remap, host, MAP_FIXED) != host) {
        err = ESP_ERR_NO_MEM;
    } else {
        memory->remaps[slot] = remap;
        if (slot == memory->remap_count) {
            memory->remap_count++;
        }
    }
    pthread_mutex_unlock(&remap_lock);
    return err;
}

bool emu_memory_contains(const emu_memory_t *memory, uintptr_t host)
{
    uintptr_t chip = host - (uintptr_t)memory->address_offset;
    for (size_t i = 0; i < memory->span_count; i++) {
        if (chip >= memory->spans[i].chip_low && chip < memory->spans[i].chip_high) {
            return true;
        }
    }
    return false;
}
