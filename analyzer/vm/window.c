/* A stream read forward through a window (vm.h). The window holds the bytes
 * from the earliest position still needed (the one asked for, or the pin) to
 * the furthest one asked for; asking for bytes further on drops what lies
 * before, reading on from the source. It never holds more than max bytes, so
 * what a stream costs is the largest single opcode, not the stream. */
#include <stdlib.h>
#include <string.h>

#include "vm.h"

#define WINDOW_CHUNK ((size_t)1 << 20) /* read at least this much at a time */

int brine_window_open(brine_window *w, const brine_vm_source *src, uint64_t at, size_t max, size_t grain)
{
    memset(w, 0, sizeof *w);
    w->src = src;
    w->grain = grain;
    w->pin = UINT64_MAX;
    w->max = max < WINDOW_CHUNK ? WINDOW_CHUNK : max;
    w->reader = src->open(src->self);
    if (!w->reader) {
        w->error = "out of memory";
        w->nomem = true;
        return -1;
    }
    if (at && at <= src->len && !brine_window_fill(w, at, 0))
        return -1;
    return 0;
}

void brine_window_close(brine_window *w)
{
    if (w->reader)
        w->src->close(w->reader);
    free(w->buf);
    memset(w, 0, sizeof *w);
}

static const uint8_t *window_fail(brine_window *w, const char *why)
{
    if (!w->error)
        w->error = why;
    return NULL;
}

/* Read from the source into buf[have..want) (want <= cap): false when it ends
 * early or fails, which cannot happen for bytes the first reading produced
 * unless memory ran out. */
static bool read_to(brine_window *w, size_t want)
{
    while (w->have < want) {
        size_t ask = w->cap - w->have;
        if (w->grain && ask > w->grain)
            ask = w->grain;
        int64_t got = w->src->read(w->reader, w->buf + w->have, ask);
        if (got <= 0) {
            w->nomem = got < 0;
            return false;
        }
        w->have += (size_t)got;
    }
    return true;
}

const uint8_t *brine_window_fill(brine_window *w, uint64_t pos, size_t n)
{
    if (w->error)
        return NULL;
    if (pos > w->src->len || n > w->src->len - pos)
        return window_fail(w, "read past the end of the stream");
    if (!w->buf) { /* a pointer is the answer even for no bytes */
        w->buf = malloc(WINDOW_CHUNK);
        if (!w->buf) {
            w->nomem = true;
            return window_fail(w, "out of memory");
        }
        w->cap = WINDOW_CHUNK;
    }
    uint64_t keep = pos < w->pin ? pos : w->pin;
    if (keep < w->base) /* the VM only goes forward, and pins what it will come back to */
        return window_fail(w, "window: bytes already dropped were asked for");
    /* drop what lies before keep */
    uint64_t drop = keep - w->base;
    if (drop >= w->have) {
        uint64_t skip = drop - w->have; /* bytes to read and throw away */
        w->base += w->have;
        w->have = 0;
        while (skip) {
            size_t want = skip < w->cap ? (size_t)skip : w->cap;
            if (!read_to(w, want))
                return window_fail(w, w->nomem ? "out of memory" : "decompression gave fewer bytes than before");
            /* read_to may have read more than want: keep the excess */
            size_t used = want;
            memmove(w->buf, w->buf + used, w->have - used);
            w->have -= used;
            w->base += used;
            skip -= used;
        }
    } else if (drop) {
        memmove(w->buf, w->buf + drop, w->have - (size_t)drop);
        w->have -= (size_t)drop;
        w->base += drop;
    }
    uint64_t want64 = pos + n - w->base;
    if (want64 > w->max)
        return window_fail(w, "max_bytes: one opcode's bytes are larger than the limit, in a stream read through a "
                              "window");
    size_t want = (size_t)want64;
    if (want > w->cap) {
        size_t nc = w->cap ? w->cap : WINDOW_CHUNK;
        while (nc < want)
            nc = nc > w->max / 2 ? w->max : nc * 2;
        uint8_t *nb = realloc(w->buf, nc);
        if (!nb) {
            w->nomem = true;
            return window_fail(w, "out of memory");
        }
        w->buf = nb;
        w->cap = nc;
    }
    if (!read_to(w, want))
        return window_fail(w, w->nomem ? "out of memory" : "decompression gave fewer bytes than before");
    return w->buf + (pos - w->base);
}

const uint8_t *brine_window_line(brine_window *w, uint64_t pos, size_t *len)
{
    uint64_t left = w->src->len > pos ? w->src->len - pos : 0;
    size_t n = 0; /* bytes from pos already searched */
    size_t ask = left < 4096 ? (size_t)left : 4096;
    for (;;) {
        const uint8_t *p = brine_window_get(w, pos, ask);
        if (!p)
            return NULL;
        const uint8_t *nl = memchr(p + n, '\n', ask - n);
        if (nl) {
            *len = (size_t)(nl - p) + 1;
            return p;
        }
        if (ask == left)
            return NULL; /* no newline before the end: the VM reports it truncated */
        n = ask;
        uint64_t more = (uint64_t)ask * 2;
        ask = more < left ? (size_t)more : (size_t)left;
        if (ask > w->max) {
            ask = w->max;
            if (ask <= n)
                return window_fail(w, "max_bytes: a line longer than the limit, in a stream read through a window");
        }
    }
}
