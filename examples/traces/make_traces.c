/*
 * make_traces.c — the example traces of examples/traces: firmware-like heap
 * workloads run on emulated chips with a fixed random seed while
 * heapcaps_recorder writes their CSV traces, and one ESP-IDF heap trace dump
 * (heap_trace_dump(), HEAP_TRACE_ALL) of the Wi-Fi workload.
 *
 *     make_traces OUT_DIR                  write the files into OUT_DIR
 *     make_traces OUT_DIR --compare DIR    then compare them with those in DIR
 *
 * Exit status: 0; 1 on an error or a difference; 77 when the emulator cannot
 * map the chips at their own addresses (the traces would hold host addresses).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L /* dup, dup2, fileno */

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "esp_heap_caps.h"
#include "esp_heap_trace.h"
#include "heapcaps/config.h"
#include "heapcaps/emu.h"
#include "heapcaps/esp_libc.h"
#include "heapcaps/log.h"
#include "heapcaps/recorder.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

#define DMA_INTERNAL     (MALLOC_CAP_DMA | MALLOC_CAP_INTERNAL)
#define CYCLES_PER_OP    1000u /* the virtual clock: each heap call takes this long */
#define EXIT_NOT_REAL    77
#define WIFI_BURSTS      150
#define WIFI_DUMP_BURSTS 22
#define DUMP_CAPACITY    600

static _Noreturn void fail(const char *format, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void fail(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("make_traces: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(1);
}

/* ------------------------------------------------------------ random numbers */

/* xorshift64: the same stream on every host. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Uniform in [lo, hi]. */
static size_t rng_range(size_t lo, size_t hi)
{
    return lo + (size_t)(rng_next() % (uint64_t)(hi - lo + 1));
}

static bool rng_percent(unsigned percent)
{
    return rng_next() % 100 < percent;
}

/* ------------------------------------------------------------ call sites */

/* Where the workloads allocate and free (for the device dump). */
typedef enum {
    SITE_WIFI_CTRL,
    SITE_WIFI_CTRL_GROW,
    SITE_WIFI_CTRL_FREE,
    SITE_WIFI_RX_ALLOC,
    SITE_WIFI_RX_FREE,
    SITE_WIFI_TX_ALLOC,
    SITE_WIFI_TX_DONE,
    SITE_PBUF_ALLOC_RX,
    SITE_PBUF_ALLOC_TX,
    SITE_PBUF_FREE,
    SITE_OTHER, /* the workloads without a dump */
} site_t;

/* ------------------------------------------------------------ heap calls */

/* Each heap call is an operation: the virtual clock (the traces' time
 * stamps) counts them. The allocations are also listed in order, with where
 * they were made and freed, for the dump. */
static uint64_t ops;

typedef struct {
    void *p;
    size_t size;
    uint32_t time;
    site_t alloc_site;
    int free_site; /* -1: alive */
} allocation_t;

static allocation_t *allocations;
static size_t allocation_count, allocation_room;

static uint64_t virtual_cycles(void)
{
    return ops * CYCLES_PER_OP;
}

static void note_alloc(void *p, size_t size, site_t site)
{
    if (allocation_count == allocation_room) {
        allocation_room = allocation_room ? 2 * allocation_room : 1024;
        allocations = realloc(allocations, allocation_room * sizeof(allocations[0]));
        if (!allocations) {
            fail("out of host memory");
        }
    }
    allocations[allocation_count++] = (allocation_t){p, size, (uint32_t)virtual_cycles(), site, -1};
}

/* The newest allocation at p that is alive. */
static void note_free(void *p, site_t site)
{
    for (size_t i = allocation_count; i-- > 0;) {
        if (allocations[i].p == p && allocations[i].free_site < 0) {
            allocations[i].free_site = (int)site;
            return;
        }
    }
    fail("free of %p, which is not allocated", p);
}

/* caps 0: malloc(), the firmware's own (the malloc() policy). */
static void *op_malloc(site_t site, size_t size, uint32_t caps)
{
    ops++;
    void *p = caps ? heap_caps_malloc(size, caps) : heapcaps_libc_malloc(size);
    if (p) {
        note_alloc(p, size, site);
    }
    return p;
}

static void *op_calloc(site_t site, size_t n, size_t size, uint32_t caps)
{
    ops++;
    void *p = caps ? heap_caps_calloc(n, size, caps) : heapcaps_libc_calloc(n, size);
    if (p) {
        note_alloc(p, n * size, site);
    }
    return p;
}

/* realloc of a live block (not NULL, size not 0); NULL leaves it as it was. */
static void *op_realloc(site_t site, void *old, size_t size, uint32_t caps)
{
    ops++;
    void *p = caps ? heap_caps_realloc(old, size, caps) : heapcaps_libc_realloc(old, size);
    if (p) {
        note_free(old, site);
        note_alloc(p, size, site);
    }
    return p;
}

static void op_free(site_t site, void *p)
{
    if (p) {
        ops++;
        note_free(p, site);
        heap_caps_free(p);
    }
}

/* ------------------------------------------------------------ output */

static FILE *out;
static const char *const *description; /* comment lines for the file's top */

/* The recorder's write callback. The description goes after the first
 * line, the recorder's "# heapcaps trace", before the header. */
static void write_out(const char *text, size_t length, void *context)
{
    (void)context;
    static const char first[] = "# heapcaps trace\n";
    if (description && length >= sizeof(first) - 1 && !memcmp(text, first, sizeof(first) - 1)) {
        fputs(first, out);
        for (const char *const *line = description; *line; ++line) {
            fprintf(out, "# %s\n", *line);
        }
        text += sizeof(first) - 1;
        length -= sizeof(first) - 1;
        description = NULL;
    }
    if (fwrite(text, 1, length, out) != length) {
        fail("write error");
    }
}

static char *path_of(const char *dir, const char *name)
{
    size_t length = strlen(dir) + strlen(name) + 2;
    char *path = malloc(length);
    if (!path) {
        fail("out of host memory");
    }
    snprintf(path, length, "%s/%s", dir, name);
    return path;
}

static void boot(const char *target, size_t psram)
{
    heapcaps_emu_options_t options = {0};
    options.quiet = true;
    options.psram_size = psram;
    esp_err_t err = heapcaps_emu_boot(target, &options);
    if (err != ESP_OK) {
        fail("cannot boot %s: error 0x%x", target, (unsigned)err);
    }
    if (!heapcaps_emu_real_addresses()) {
        fprintf(stderr, "make_traces: %s is not mapped at its own addresses here: skipped\n",
                target);
        exit(EXIT_NOT_REAL);
    }
    ops = 0;
    allocation_count = 0;
}

/* Boot, run setup (not recorded, may be NULL), record `workload` into
 * dir/name, shut down. */
static void record(const char *dir, const char *name, const char *target, size_t psram,
                   const char *const *lines, void (*setup)(void), void (*workload)(void))
{
    boot(target, psram);
    if (setup) {
        setup();
    }
    char *path = path_of(dir, name);
    out = fopen(path, "w");
    if (!out) {
        fail("cannot write %s", path);
    }
    description = lines;
    heapcaps_recorder_set_clock(virtual_cycles);
    esp_err_t err = heapcaps_recorder_start(write_out, NULL);
    if (err != ESP_OK) {
        fail("cannot start the recorder: error 0x%x", (unsigned)err);
    }
    workload();
    heapcaps_recorder_stop();
    if (heapcaps_recorder_dropped()) {
        fail("%s: the recorder dropped %zu events", name, heapcaps_recorder_dropped());
    }
    if (fclose(out) != 0) {
        fail("cannot write %s", path);
    }
    out = NULL;
    free(path);
    heapcaps_emu_shutdown();
}

/* ============================================================ Wi-Fi packets */

#define WIFI_CTRL_MAX 200

typedef struct {
    void *ctrl[WIFI_CTRL_MAX];
    size_t ctrl_size[WIFI_CTRL_MAX];
    void *rx[40];    /* driver RX buffers waiting (block-ack reordering) */
    void *tx[40];    /* TX buffers until their TX done */
    void *pbufs[96]; /* received packets the application has not read */
    size_t bursts;
} wifi_t;

static wifi_t wifi;

static void **free_slot(void **slots, size_t count)
{
    for (size_t i = 0; i < count; ++i) {
        if (!slots[i]) {
            return &slots[i];
        }
    }
    return NULL;
}

/* Release a random share of the blocks held in slots: out of order. */
static void release_some(void **slots, size_t count, unsigned percent, site_t site)
{
    size_t start = rng_range(0, count - 1);
    for (size_t k = 0; k < count; ++k) {
        void **slot = &slots[(start + k * 7) % count]; /* 7 is prime to the sizes */
        if (*slot && rng_percent(percent)) {
            op_free(site, *slot);
            *slot = NULL;
        }
    }
}

static void wifi_new_control(void)
{
    void **slot = free_slot(wifi.ctrl, WIFI_CTRL_MAX);
    if (!slot) {
        return;
    }
    /* netif, event handlers, timers, ARP and DHCP entries, sockets */
    size_t size = rng_percent(70) ? rng_range(20, 96) : rng_range(100, 420);
    *slot = op_malloc(SITE_WIFI_CTRL, size, 0);
    wifi.ctrl_size[slot - wifi.ctrl] = *slot ? size : 0;
}

/* A packet: a pbuf of lwIP (header and payload) from malloc(). */
static size_t packet_length(void)
{
    unsigned kind = (unsigned)rng_range(0, 9);
    return kind < 4 ? rng_range(40, 90) : kind < 7 ? rng_range(200, 600) : rng_range(1200, 1500);
}

static void wifi_rx_burst(void)
{
    size_t n = rng_range(2, 12);
    for (size_t i = 0; i < n; ++i) {
        void **slot = free_slot(wifi.rx, COUNT(wifi.rx));
        if (!slot) {
            break;
        }
        *slot = op_malloc(SITE_WIFI_RX_ALLOC, 1600, DMA_INTERNAL);
        if (!*slot) {
            break; /* no buffer: the frame is dropped */
        }
    }
    /* Delivered in order of reassembly: copied into pbufs, buffers given back. */
    for (size_t k = 0; k < COUNT(wifi.rx); ++k) {
        void **rx = &wifi.rx[(k * 11 + wifi.bursts) % COUNT(wifi.rx)];
        if (!*rx || rng_percent(25)) {
            continue; /* waits for a missing fragment */
        }
        void **pbuf = free_slot(wifi.pbufs, COUNT(wifi.pbufs));
        if (pbuf) {
            *pbuf = op_malloc(SITE_PBUF_ALLOC_RX, 16 + packet_length(), 0);
        }
        op_free(SITE_WIFI_RX_FREE, *rx);
        *rx = NULL;
    }
}

static void wifi_tx_burst(void)
{
    size_t n = rng_range(1, 8);
    for (size_t i = 0; i < n; ++i) {
        void **tx = free_slot(wifi.tx, COUNT(wifi.tx));
        if (!tx) {
            break;
        }
        void *pbuf = op_malloc(SITE_PBUF_ALLOC_TX, 16 + packet_length(), 0);
        if (!pbuf) {
            break;
        }
        *tx = op_malloc(SITE_WIFI_TX_ALLOC, 1600, DMA_INTERNAL);
        op_free(SITE_PBUF_FREE, pbuf);
        if (!*tx) {
            break;
        }
    }
}

static void wifi_burst(void)
{
    if (rng_percent(65)) {
        wifi_rx_burst();
    } else {
        wifi_tx_burst();
    }
    release_some(wifi.tx, COUNT(wifi.tx), 45, SITE_WIFI_TX_DONE);
    release_some(wifi.pbufs, COUNT(wifi.pbufs), 20, SITE_PBUF_FREE);
    /* Between the bursts: a long-lived object now and then, rarely one goes,
     * and a table (a list of stations, of sockets) grows. */
    if (rng_percent(45)) {
        wifi_new_control();
    }
    if (rng_percent(4)) {
        size_t i = rng_range(0, WIFI_CTRL_MAX - 1);
        op_free(SITE_WIFI_CTRL_FREE, wifi.ctrl[i]);
        wifi.ctrl[i] = NULL;
    }
    if (rng_percent(6)) {
        size_t i = rng_range(0, WIFI_CTRL_MAX - 1);
        if (wifi.ctrl[i] && wifi.ctrl_size[i] < 2000) {
            size_t size = wifi.ctrl_size[i] + wifi.ctrl_size[i] / 2;
            void *p = op_realloc(SITE_WIFI_CTRL_GROW, wifi.ctrl[i], size, 0);
            if (p) {
                wifi.ctrl[i] = p;
                wifi.ctrl_size[i] = size;
            }
        }
    }
    wifi.bursts++;
}

static void wifi_run(size_t bursts)
{
    memset(&wifi, 0, sizeof(wifi));
    rng_state = 0x5749464950414b54u;
    for (int i = 0; i < 48; ++i) { /* start-up */
        wifi_new_control();
    }
    for (size_t i = 0; i < bursts; ++i) {
        wifi_burst();
    }
    /* Traffic ends: the buffers go, the long-lived objects stay. */
    release_some(wifi.rx, COUNT(wifi.rx), 100, SITE_WIFI_RX_FREE);
    release_some(wifi.tx, COUNT(wifi.tx), 100, SITE_WIFI_TX_DONE);
    release_some(wifi.pbufs, COUNT(wifi.pbufs), 100, SITE_PBUF_FREE);
}

/* Setting up the tracer takes its hash map table from internal RAM: the
 * CSV's run does it too, so that the dump's blocks are at the addresses of
 * the CSV's first operations. */
#ifdef CONFIG_HEAP_TRACING_STANDALONE
static heap_trace_record_t trace_records[DUMP_CAPACITY];
#endif

static void wifi_setup(void)
{
#ifdef CONFIG_HEAP_TRACING_STANDALONE
    if (heap_trace_init_standalone(trace_records, DUMP_CAPACITY) != ESP_OK) {
        fail("heap_trace_init_standalone failed");
    }
#endif
}

static void wifi_workload(void)
{
    wifi_run(WIFI_BURSTS);
}

static const char *const wifi_description[] = {
    "wifi_packets.csv: Wi-Fi station traffic on an ESP32 with 4 MiB of PSRAM.",
    "Bursts of 1600-byte DMA-capable RX and TX buffers in internal RAM (caps 0x808),",
    "given back out of order (block-ack reordering, TX done), lwIP pbufs from",
    "malloc() for each packet, and small long-lived control objects allocated",
    "between the bursts, which leave internal RAM fragmented.",
    "replay: heapcaps replay wifi_packets.csv --target esp32 --psram 4M",
    "caps 0x1800: malloc() (MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL, its policy's choice).",
    "timestamp: the operation's number x 1000 (a virtual cycle counter).",
    NULL,
};

/* ============================================================ TLS sessions */

#define TLS_CA_BLOCKS 160
#define TLS_CACHE     6

static struct {
    void *ca[TLS_CA_BLOCKS]; /* the CA store and the configuration: for good */
    size_t ca_count;
    void *cache[TLS_CACHE][2]; /* session cache: session and ticket */
    size_t cache_next;
} tls;

/* mbedTLS allocates with calloc() only, through the malloc() policy. */
static void *tls_calloc(size_t size)
{
    void *p = op_calloc(SITE_OTHER, 1, size, 0);
    if (!p) {
        fail("tls_session: calloc(1, %zu) failed", size);
    }
    return p;
}

/* A parsed certificate: the mbedtls_x509_crt, its DER copy, name and
 * extension lists, the public key's numbers. Pushes its blocks onto list. */
static size_t parse_certificate(void **list, size_t room, bool rsa)
{
    size_t n = 0;
    list[n++] = tls_calloc(560);
    list[n++] = tls_calloc(rng_range(880, 1750));
    size_t names = rng_range(8, 22);
    for (size_t i = 0; i < names && n < room; ++i) {
        list[n++] = tls_calloc(rng_percent(60) ? 32 : rng_range(12, 120));
    }
    if (rsa) {
        list[n++] = tls_calloc(256); /* N */
        list[n++] = tls_calloc(8);   /* E */
    } else {
        for (int i = 0; i < 3 && n < room; ++i) {
            list[n++] = tls_calloc(36); /* X, Y, Z */
        }
    }
    return n;
}

/* Big-number arithmetic of a key exchange: numbers grow as they are
 * computed (calloc of the larger size, copy, free of the smaller), live a
 * few steps and go. */
static void key_exchange(void)
{
    void *numbers[24] = {0};
    size_t limbs[24] = {0};
    size_t steps = rng_range(60, 110);
    for (size_t s = 0; s < steps; ++s) {
        size_t i = rng_range(0, COUNT(numbers) - 1);
        if (!numbers[i]) {
            limbs[i] = rng_range(1, 9);
            numbers[i] = tls_calloc(4 * limbs[i]);
        } else if (rng_percent(55) && limbs[i] < 66) {
            limbs[i] = limbs[i] * 2 + rng_range(0, 2);
            void *grown = tls_calloc(4 * limbs[i]);
            op_free(SITE_OTHER, numbers[i]);
            numbers[i] = grown;
        } else {
            op_free(SITE_OTHER, numbers[i]);
            numbers[i] = NULL;
        }
    }
    for (size_t i = 0; i < COUNT(numbers); ++i) {
        op_free(SITE_OTHER, numbers[i]);
    }
}

static void tls_handshake(void)
{
    void *ssl = tls_calloc(488);
    void *in = tls_calloc(16717);        /* MBEDTLS_SSL_IN_BUFFER_LEN: PSRAM (> 16 KiB) */
    void *out_record = tls_calloc(4429); /* MBEDTLS_SSL_OUT_BUFFER_LEN: internal */
    void *handshake = tls_calloc(2264);
    void *transform = tls_calloc(1208);
    void *session = tls_calloc(176);
    void *chain[3 * 40];
    size_t chain_count = 0;
    size_t certificates = rng_range(2, 3);
    bool rsa = rng_percent(50);
    for (size_t i = 0; i < certificates; ++i) {
        chain_count += parse_certificate(chain + chain_count, COUNT(chain) - chain_count, rsa);
    }
    key_exchange();
    if (rsa) {
        key_exchange(); /* the signature check */
    }
    /* Handshake over: its parameters and the peer's chain go; the session
     * keeps a digest of the peer certificate. */
    void *digest = tls_calloc(48);
    for (size_t i = chain_count; i-- > 0;) {
        op_free(SITE_OTHER, chain[i]);
    }
    op_free(SITE_OTHER, handshake);
    /* The session goes into the cache, which evicts its oldest entry. */
    void **entry = tls.cache[tls.cache_next++ % TLS_CACHE];
    op_free(SITE_OTHER, entry[0]);
    op_free(SITE_OTHER, entry[1]);
    entry[0] = tls_calloc(176);
    entry[1] = tls_calloc(rng_range(180, 230)); /* the ticket */
    /* Application data: no allocation. Then the connection closes. */
    op_free(SITE_OTHER, digest);
    op_free(SITE_OTHER, session);
    op_free(SITE_OTHER, transform);
    op_free(SITE_OTHER, out_record);
    op_free(SITE_OTHER, in);
    op_free(SITE_OTHER, ssl);
}

static void tls_workload(void)
{
    memset(&tls, 0, sizeof(tls));
    rng_state = 0x544c5348414e4453u;
    tls.ca[tls.ca_count++] = tls_calloc(360); /* mbedtls_ssl_config */
    tls.ca[tls.ca_count++] = tls_calloc(424); /* entropy */
    tls.ca[tls.ca_count++] = tls_calloc(320); /* ctr_drbg */
    for (int i = 0; i < 4; ++i) {             /* the CA certificates */
        tls.ca_count +=
            parse_certificate(tls.ca + tls.ca_count, TLS_CA_BLOCKS - tls.ca_count, true);
    }
    for (int i = 0; i < 11; ++i) {
        tls_handshake();
    }
}

static const char *const tls_description[] = {
    "tls_session.csv: TLS client handshakes (mbedTLS-like) on an ESP32-S3 with 2 MiB of PSRAM.",
    "A CA store parsed once and kept; per connection a 16717-byte input record buffer",
    "(calloc: above the 16 KiB malloc() threshold, so in PSRAM, caps 0x1400), a 4429-byte",
    "output buffer and the handshake state in internal RAM, the peer's certificate chain",
    "parsed into many small blocks, big-number temporaries of the key exchange, and",
    "session-cache entries that stay.",
    "replay: heapcaps replay tls_session.csv --target esp32s3 --psram 2M",
    "caps 0x1800 / 0x1400: calloc() of the malloc() policy, internal / PSRAM.",
    "timestamp: the operation's number x 1000 (a virtual cycle counter).",
    NULL,
};

/* ============================================================ JSON parsing */

#define JSON_NODE 40 /* a cJSON node on a 32-bit chip */

typedef struct json_node {
    void *block;
    void *key;
    void *text;
    struct json_node *child, *next;
} json_node_t;

/* The parser's view of a node; the chip's memory holds its blocks. */
static json_node_t *json_nodes;
static size_t json_node_count, json_node_room;

static json_node_t *json_new_node(void)
{
    if (json_node_count == json_node_room) {
        fail("json: too many nodes");
    }
    json_node_t *n = &json_nodes[json_node_count++];
    memset(n, 0, sizeof(*n));
    n->block = op_malloc(SITE_OTHER, JSON_NODE, 0);
    if (!n->block) {
        fail("json: out of memory");
    }
    return n;
}

/* A string read character by character into a buffer that doubles, then
 * is cut to its length. */
static void *json_read_string(size_t length)
{
    size_t room = 16;
    void *buffer = op_malloc(SITE_OTHER, room, 0);
    while (buffer && room < length + 1) {
        room *= 2;
        buffer = op_realloc(SITE_OTHER, buffer, room, 0);
    }
    if (buffer && room > length + 1) {
        buffer = op_realloc(SITE_OTHER, buffer, length + 1, 0);
    }
    if (!buffer) {
        fail("json: out of memory");
    }
    return buffer;
}

static size_t json_string_length(void)
{
    return rng_percent(70)   ? rng_range(1, 14)
           : rng_percent(80) ? rng_range(15, 120)
                             : rng_range(121, 900);
}

/* A value; `budget` limits the nodes below it. */
static json_node_t *json_parse_value(int depth, size_t *budget)
{
    json_node_t *n = json_new_node();
    unsigned kind = depth ? (unsigned)rng_range(0, 9) : 0; /* a document is an object */
    if (depth < 5 && kind < 3 && *budget > 2) {            /* object or array */
        bool object = kind < 2;
        size_t members = rng_range(1, depth == 0 ? 12 : 7);
        json_node_t **link = &n->child;
        for (size_t i = 0; i<members && * budget> 0; ++i) {
            --*budget;
            json_node_t *child = json_parse_value(depth + 1, budget);
            if (object) {
                child->key = json_read_string(rng_range(3, 16));
            }
            *link = child;
            link = &child->next;
        }
    } else if (kind < 7) { /* string */
        n->text = json_read_string(json_string_length());
    }
    return n; /* numbers, true, false, null: the node alone */
}

static void json_delete(json_node_t *n)
{
    while (n) {
        json_delete(n->child);
        op_free(SITE_OTHER, n->text);
        op_free(SITE_OTHER, n->key);
        op_free(SITE_OTHER, n->block);
        n = n->next;
    }
}

/* cJSON_Print: an output buffer that doubles as the text grows. */
static void json_print(size_t length)
{
    size_t room = 256;
    void *buffer = op_malloc(SITE_OTHER, room, 0);
    while (buffer && room < length) {
        room *= 2;
        buffer = op_realloc(SITE_OTHER, buffer, room, 0);
    }
    if (!buffer) {
        fail("json: out of memory");
    }
    op_free(SITE_OTHER, buffer);
}

static void json_workload(void)
{
    rng_state = 0x4a534f4e50415253u;
    json_node_room = 4096;
    json_nodes = calloc(json_node_room, sizeof(json_nodes[0]));
    if (!json_nodes) {
        fail("out of host memory");
    }
    json_node_t *documents[3] = {NULL};
    for (size_t d = 0; d < 20; ++d) {
        json_node_t **slot = &documents[d % COUNT(documents)];
        json_delete(*slot); /* the oldest document is done with */
        size_t budget = rng_range(30, 150);
        size_t nodes_before = json_node_count;
        *slot = json_parse_value(0, &budget);
        if (rng_percent(60)) {
            json_print((json_node_count - nodes_before) * rng_range(12, 40));
        }
    }
    for (size_t i = 0; i < COUNT(documents); ++i) {
        json_delete(documents[i]);
    }
    free(json_nodes);
    json_nodes = NULL;
    json_node_count = 0;
}

static const char *const json_description[] = {
    "json_parsing.csv: JSON documents parsed (cJSON-like) on an ESP32-C3, no PSRAM.",
    "Each document becomes a tree of 40-byte nodes with keys and strings from malloc();",
    "strings are read into a 16-byte buffer that doubles by realloc and is then cut to",
    "length; some documents are printed into a doubling output buffer; up to three",
    "documents are alive, the oldest is freed when a new one is parsed.",
    "replay: heapcaps replay json_parsing.csv --target esp32c3",
    "caps 0x1800: malloc() (MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL, its policy's choice).",
    "timestamp: the operation's number x 1000 (a virtual cycle counter).",
    NULL,
};

/* ============================================================ fragmentation */

#define FRAG_BLOCK   4096
#define FRAG_REQUEST 12288
#define FRAG_MAX     256

static void fragmented_workload(void)
{
    static void *blocks[FRAG_MAX];
    size_t count = 0;
    /* Fill internal RAM with 4 KiB blocks until malloc() fails. */
    while (count < FRAG_MAX) {
        void *p = op_malloc(SITE_OTHER, FRAG_BLOCK, 0);
        if (!p) {
            break;
        }
        blocks[count++] = p;
    }
    if (count == FRAG_MAX) {
        fail("fragmented: internal RAM did not fill up");
    }
    /* Every other block goes: holes of 4 KiB between blocks that stay. */
    for (size_t i = 0; i < count; i += 2) {
        op_free(SITE_OTHER, blocks[i]);
        blocks[i] = NULL;
    }
    uint32_t caps = MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL;
    size_t free_bytes = heap_caps_get_free_size(caps);
    size_t largest = heap_caps_get_largest_free_block(caps);
    if (largest >= FRAG_REQUEST || free_bytes < 4 * FRAG_REQUEST) {
        fail("fragmented: %zu bytes free, largest block %zu", free_bytes, largest);
    }
    uint64_t time = (ops + 1) * CYCLES_PER_OP;
    if (op_malloc(SITE_OTHER, FRAG_REQUEST, 0)) {
        fail("fragmented: the request succeeded");
    }
    /* The recorder writes only allocations that succeed: this one by hand. */
    fprintf(out,
            "# Here %zu bytes of internal RAM are free, but in 4 KiB holes between the\n"
            "# blocks that stay: the largest free block has %zu bytes. malloc(%d) fails\n"
            "# (id 0x1: it never got a block). A replay must fail on the next line.\n",
            free_bytes, largest, FRAG_REQUEST);
    fprintf(out, "malloc,0x1,%d,0x%" PRIx32 ",,%" PRIu64 ",\n", FRAG_REQUEST, caps, time);
    for (size_t i = 1; i < count; i += 2) {
        op_free(SITE_OTHER, blocks[i]);
    }
}

static const char *const fragmented_description[] = {
    "fragmented.csv: an allocation that fails on an ESP32 only because of fragmentation.",
    "Internal RAM is filled with 4 KiB blocks from malloc(), every other one is freed,",
    "then malloc(12288) fails although several times that much memory is free: no",
    "hole is large enough. The failing request is the line after the comment below.",
    "replay: heapcaps replay fragmented.csv --target esp32",
    "caps 0x1800: malloc() (MALLOC_CAP_DEFAULT | MALLOC_CAP_INTERNAL, its policy's choice).",
    "timestamp: the operation's number x 1000 (a virtual cycle counter).",
    NULL,
};

/* ============================================================ the device dump */

#ifdef CONFIG_HEAP_TRACING_STANDALONE

/* The sites as the dump names them: fixed addresses in the ESP32's flash
 * code range (on the host, return addresses change with every build); each
 * site's caller is its task's loop. */
static const struct {
    uint32_t pc;
    uint32_t caller;
} sites[] = {
    [SITE_WIFI_CTRL] = {0x400d3a1c, 0x400d1f08},      /* wifi_ctrl_new, in app_main's loop */
    [SITE_WIFI_CTRL_GROW] = {0x400d3b40, 0x400d1f08}, /* wifi_ctrl_grow */
    [SITE_WIFI_CTRL_FREE] = {0x400d3b94, 0x400d1f08}, /* wifi_ctrl_delete */
    [SITE_WIFI_RX_ALLOC] = {0x40121c2c, 0x4011f7d0},  /* wifi_rx_buffer_alloc, in wifi_task */
    [SITE_WIFI_RX_FREE] = {0x40121d10, 0x4011f7d0},   /* wifi_rx_buffer_free */
    [SITE_WIFI_TX_ALLOC] = {0x40122480, 0x4011f7d0},  /* wifi_tx_buffer_alloc */
    [SITE_WIFI_TX_DONE] = {0x40122598, 0x4011f7d0},   /* wifi_tx_done */
    [SITE_PBUF_ALLOC_RX] = {0x400e8f3c, 0x400e5a44},  /* pbuf_alloc, in tcpip_thread */
    [SITE_PBUF_ALLOC_TX] = {0x400e8f3c, 0x400d2c60},  /* pbuf_alloc, from the app's send */
    [SITE_PBUF_FREE] = {0x400e9120, 0x400e5a44},      /* pbuf_free */
    [SITE_OTHER] = {0, 0},
};

/* heap_trace_dump() prints on standard output: into a temporary file. */
static FILE *capture_dump(void)
{
    FILE *text = tmpfile();
    if (!text) {
        fail("cannot create a temporary file");
    }
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    if (saved < 0 || dup2(fileno(text), STDOUT_FILENO) < 0) {
        fail("cannot redirect standard output");
    }
    heap_trace_dump();
    fflush(stdout);
    if (dup2(saved, STDOUT_FILENO) < 0) {
        fail("cannot restore standard output");
    }
    close(saved);
    rewind(text);
    return text;
}

static void print_chain(FILE *to, site_t site)
{
    fprintf(to, "0x%08" PRIx32 ":0x%08" PRIx32, sites[site].pc, sites[site].caller);
}

/* The dump as printed, with the host's clock and return addresses replaced
 * by the virtual clock and the sites' addresses. */
static void write_dump(const char *path)
{
    FILE *text = capture_dump();
    FILE *to = fopen(path, "w");
    if (!to) {
        fail("cannot write %s", path);
    }
    char line[512];
    size_t record = 0;
    const allocation_t *last = NULL;
    while (fgets(line, sizeof(line), text)) {
        char *ccount = strstr(line, ") allocated CPU ") ? strstr(line, " ccount 0x") : NULL;
        if (ccount) {
            if (record >= allocation_count) {
                fail("dump: more records than allocations");
            }
            last = &allocations[record++];
            unsigned size = 0, address = 0;
            if (sscanf(line, "%u bytes (@ 0x%x", &size, &address) != 2 || size != last->size ||
                address != (uint32_t)(uintptr_t)last->p) {
                fail("dump: record %zu is not allocation %p (%zu bytes)", record, last->p,
                     last->size);
            }
            bool callers = strstr(ccount, " caller ") != NULL;
            bool freed = strstr(ccount, " freed\n") != NULL;
            *ccount = '\0';
            fprintf(to, "%s ccount 0x%08" PRIx32, line, last->time);
            if (callers) {
                fputs(" caller ", to);
                print_chain(to, last->alloc_site);
            }
            fputs(freed ? " freed\n" : "\n", to);
        } else if (!strncmp(line, "freed by ", 9) && last && last->free_site >= 0) {
            fputs("freed by ", to);
            print_chain(to, (site_t)last->free_site);
            fputc('\n', to);
        } else {
            fputs(line, to);
        }
    }
    if (record != allocation_count) {
        fail("dump: %zu records for %zu allocations", record, allocation_count);
    }
    fclose(text);
    if (fclose(to) != 0) {
        fail("cannot write %s", path);
    }
}

/* The first bursts of the Wi-Fi workload, traced by the standalone tracer. */
static void dump_wifi(const char *dir)
{
    boot("esp32", 4 * 1024 * 1024);
    wifi_setup();
    if (heap_trace_start(HEAP_TRACE_ALL) != ESP_OK) {
        fail("cannot start heap tracing");
    }
    wifi_run(WIFI_DUMP_BURSTS);
    heap_trace_stop();
    if (allocation_count > DUMP_CAPACITY) {
        fail("dump: %zu allocations for %d records", allocation_count, DUMP_CAPACITY);
    }
    char *path = path_of(dir, "wifi_packets.dump.txt");
    write_dump(path);
    free(path);
    heapcaps_emu_shutdown();
}
#endif

/* ============================================================ main */

static const char *const outputs[] = {
    "wifi_packets.csv",      "tls_session.csv", "json_parsing.csv", "fragmented.csv",
#ifdef CONFIG_HEAP_TRACING_STANDALONE
    "wifi_packets.dump.txt",
#endif
};

static char *read_all(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    size_t room = 1 << 16, used = 0;
    char *text = malloc(room);
    size_t got;
    while (text && (got = fread(text + used, 1, room - used, f)) > 0) {
        used += got;
        if (used == room) {
            room *= 2;
            text = realloc(text, room);
        }
    }
    fclose(f);
    if (!text) {
        fail("out of host memory");
    }
    *length = used;
    return text;
}

/* Byte for byte; says where the first difference is. */
static bool same_file(const char *dir, const char *committed, const char *name)
{
    char *a_path = path_of(dir, name), *b_path = path_of(committed, name);
    size_t a_length = 0, b_length = 0;
    char *a = read_all(a_path, &a_length), *b = read_all(b_path, &b_length);
    bool same = a && b && a_length == b_length && !memcmp(a, b, a_length);
    if (!b) {
        fprintf(stderr, "make_traces: %s is missing\n", b_path);
    } else if (!same) {
        size_t at = 0, line = 1;
        while (at < a_length && at < b_length && a[at] == b[at]) {
            line += a[at++] == '\n';
        }
        fprintf(stderr, "make_traces: %s differs from %s from line %zu on\n", b_path, a_path, line);
    }
    free(a);
    free(b);
    free(a_path);
    free(b_path);
    return same;
}

int main(int argc, char **argv)
{
    const char *compare = NULL;
    if (argc == 4 && !strcmp(argv[2], "--compare")) {
        compare = argv[3];
    } else if (argc != 2) {
        fprintf(stderr, "usage: make_traces OUT_DIR [--compare COMMITTED_DIR]\n");
        return 2;
    }
    const char *dir = argv[1];
    heapcaps_log_set_enabled(false); /* the tracer's set-up message */
    record(dir, "wifi_packets.csv", "esp32", 4 * 1024 * 1024, wifi_description, wifi_setup,
           wifi_workload);
    record(dir, "tls_session.csv", "esp32s3", 2 * 1024 * 1024, tls_description, NULL, tls_workload);
    record(dir, "json_parsing.csv", "esp32c3", 0, json_description, NULL, json_workload);
    record(dir, "fragmented.csv", "esp32", 0, fragmented_description, NULL, fragmented_workload);
#ifdef CONFIG_HEAP_TRACING_STANDALONE
    dump_wifi(dir);
#else
    fprintf(stderr, "make_traces: no heap tracing in this build: wifi_packets.dump.txt "
                    "not written\n");
#endif
    free(allocations);
    if (compare) {
        bool same = true;
        for (size_t i = 0; i < COUNT(outputs); ++i) {
            same = same_file(dir, compare, outputs[i]) && same;
        }
        if (!same) {
            fprintf(stderr,
                    "make_traces: the example traces are stale; write them again "
                    "with: make_traces %s\n",
                    compare);
            return 1;
        }
    }
    return 0;
}
