/* Compressed streams, decompressed the way the Python readers that load them
 * do, which is not always the way libarchive's filters do:
 * - gzip (gzip.py): member after member; zero bytes between members are
 *   skipped (_read_eof); anything else after a member ends the read;
 * - bz2, xz and lzma-alone (bz2.py, lzma.py through _compression's
 *   DecompressReader): a new decompressor on the bytes after each stream,
 *   trailing bytes that are no stream are ignored; joblib's lzma reader is
 *   lzma.LZMAFile, the same;
 * - bare zlib (joblib's BinaryZlibFile): one stream;
 * zlib, libbz2 and liblzma are used directly for these, because libarchive's
 * filters stop early where the Python readers go on (padding between gzip
 * members, a second lzma-alone stream); zstd and lz4 frames go through
 * libarchive. The output is capped (max_decompressed, max_ratio) and what came
 * out before a cap or a corruption is still scanned: a payload at the start of
 * a bomb is reported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "lazylib.h"

typedef enum { COMP_NONE, COMP_GZIP, COMP_BZIP2, COMP_XZ, COMP_LZMA, COMP_ZSTD, COMP_LZ4, COMP_ZLIB, COMP_ZFILE } comp_kind;

static const char *const COMP_NAMES[] = {"", "gzip", "bz2", "xz", "lzma", "zstd", "lz4", "zlib", "joblib-zfile"};

static bool has(const uint8_t *d, size_t n, size_t off, const char *magic, size_t m)
{
    return n >= off + m && memcmp(d + off, magic, m) == 0;
}

/* joblib's old z-file (numpy_pickle_compat.read_zfile): "ZF", the length as 19
 * characters of hex, an optional space, then one zlib stream. Returns where
 * the zlib stream starts, or 0. */
static size_t zfile_start(const uint8_t *d, size_t n)
{
    if (n < 23 || d[0] != 'Z' || d[1] != 'F')
        return 0;
    size_t at = d[21] == ' ' ? 22 : 21;
    return n > at + 1 && d[at] == 0x78 && ((d[at] << 8) | d[at + 1]) % 31 == 0 ? at : 0;
}

static comp_kind kind_of(const uint8_t *d, size_t n)
{
    if (zfile_start(d, n))
        return COMP_ZFILE;
    if (has(d, n, 0, "\x1f\x8b", 2))
        return COMP_GZIP;
    if (has(d, n, 0, "BZh", 3) && n > 3 && d[3] >= '1' && d[3] <= '9')
        return COMP_BZIP2;
    if (has(d, n, 0, "\xfd" "7zXZ\x00", 6))
        return COMP_XZ;
    if (n >= 13 && d[0] == 0x5d && d[1] == 0x00 && d[2] == 0x00) /* lzma "alone": props 0x5d, dict size */
        return COMP_LZMA;
    if (has(d, n, 0, "\x28\xb5\x2f\xfd", 4))
        return COMP_ZSTD;
    if (has(d, n, 0, "\x04\x22\x4d\x18", 4))
        return COMP_LZ4;
    /* a zlib header with a 32K window (0x78), as joblib and zlib write it;
     * other windows would make "(S", a protocol 0 pickle's start, a header.
     * The raw reading of the file is scanned as well (driver.c), so a pickle
     * that happens to start like this is not lost. */
    if (n >= 2 && d[0] == 0x78 && ((d[0] << 8) | d[1]) % 31 == 0 && !(d[1] & 0x20))
        return COMP_ZLIB;
    return COMP_NONE;
}

bool brine_compress_probe(const uint8_t *d, size_t n)
{
    return kind_of(d, n) != COMP_NONE;
}

/* ---- incremental decoders ------------------------------------------------------------ */

/* One decompression, read forward in pieces: the first reading (capped, and
 * the one whose errors count) and every later one (a stream read through a
 * window is decompressed again for each reading) run the same code, so they
 * give the same bytes. */
typedef struct dec {
    comp_kind k;
    const uint8_t *d;
    size_t n, pos;     /* the compressed bytes, and how far they are consumed */
    bool live;         /* a stream or member is open */
    bool first;        /* the first one: its errors are the stream's */
    bool done;
    const char *error; /* why it ended early (static text) */
    bool inconclusive; /* not corruption: no library, no memory */
    bool nomem;
    uint64_t max_out; /* the most output the caps allow (bounds lzma's dictionary) */
    union {
        z_stream z;
        bz_stream bz;
        lzma_stream xz;
        struct archive *a;
    } s;
} dec;

static void dec_init(dec *x, comp_kind k, const uint8_t *d, size_t n)
{
    memset(x, 0, sizeof *x);
    x->k = k;
    x->d = d;
    x->n = n;
    x->first = true;
    x->max_out = UINT64_MAX;
    if (k == COMP_ZFILE)
        x->pos = zfile_start(d, n);
}

static int64_t dec_stop(dec *x, const char *error, bool inconclusive)
{
    x->done = true;
    if (error && !x->error) {
        x->error = error;
        x->inconclusive = inconclusive;
    }
    return 0;
}

static void dec_end(dec *x)
{
    if (!x->live)
        return;
    x->live = false;
    switch (x->k) {
    case COMP_ZLIB: case COMP_ZFILE: case COMP_GZIP: brine_libz_get()->inflateEnd(&x->s.z); break;
    case COMP_BZIP2: brine_libbz2_get()->BZ2_bzDecompressEnd(&x->s.bz); break;
    case COMP_XZ: case COMP_LZMA: brine_liblzma_get()->lzma_end(&x->s.xz); break;
    default: brine_libarchive_get()->archive_read_free(x->s.a); break;
    }
}

/* At most 1 GiB: what one call of zlib or libbz2 (unsigned counts) is given. */
static unsigned gig(size_t n)
{
    return n > (1u << 30) ? 1u << 30 : (unsigned)n;
}

/* zlib (one stream, joblib's zlib and z-file) and gzip (gzip.py: members back
 * to back, NULs between them skipped; anything else after a member ends the
 * read, as gzip.py raises there and what came before is what was read). */
static int64_t step_zlib(dec *x, uint8_t *out, size_t cap)
{
    const brine_libz *zl = brine_libz_get(); /* loaded on first need; without it nothing is read */
    bool gz = x->k == COMP_GZIP;
    if (!zl)
        return dec_stop(x, brine_libz_error(), true);
    if (!x->live) {
        if (gz && !x->first) {
            while (x->pos < x->n && x->d[x->pos] == 0)
                x->pos++;
            if (x->pos >= x->n || x->n - x->pos < 2 || x->d[x->pos] != 0x1f || x->d[x->pos + 1] != 0x8b)
                return dec_stop(x, NULL, false);
        }
        if (!gz && !x->first)
            return dec_stop(x, NULL, false);
        x->first = false;
        memset(&x->s.z, 0, sizeof x->s.z);
        int r = gz ? zl->inflateInit2_(&x->s.z, 16 + MAX_WBITS, ZLIB_VERSION, (int)sizeof(z_stream))
                   : zl->inflateInit_(&x->s.z, ZLIB_VERSION, (int)sizeof(z_stream));
        if (r != Z_OK)
            return dec_stop(x, "zlib: cannot initialise", true);
        x->live = true;
    }
    z_stream *z = &x->s.z;
    uInt chunk_in = gig(x->n - x->pos), room = gig(cap);
    z->next_in = (Bytef *)x->d + x->pos;
    z->avail_in = chunk_in;
    z->next_out = out;
    z->avail_out = room;
    int r = zl->inflate(z, Z_NO_FLUSH);
    x->pos += chunk_in - z->avail_in;
    int64_t got = (int64_t)(room - z->avail_out);
    if (r == Z_STREAM_END) {
        dec_end(x);
        return got;
    }
    if ((r != Z_OK && r != Z_BUF_ERROR) || (r == Z_BUF_ERROR && x->pos == x->n)) {
        dec_end(x);
        dec_stop(x, x->pos == x->n ? (gz ? "gzip: truncated stream" : "zlib: truncated stream")
                                   : (gz ? "gzip: corrupt stream" : "zlib: corrupt stream"), false);
    }
    return got;
}

/* bz2.py: stream after stream; bytes after a stream that are not one end it
 * (trailing garbage, ignored: only the first stream's errors count). */
static int64_t step_bz2(dec *x, uint8_t *out, size_t cap)
{
    const brine_libbz2 *bz = brine_libbz2_get(); /* loaded on first need; without it nothing is read */
    if (!bz)
        return dec_stop(x, brine_libbz2_error(), true);
    if (!x->live) {
        if (x->pos >= x->n)
            return dec_stop(x, NULL, false);
        memset(&x->s.bz, 0, sizeof x->s.bz);
        if (bz->BZ2_bzDecompressInit(&x->s.bz, 0, 0) != BZ_OK)
            return dec_stop(x, "bz2: cannot initialise", true);
        x->live = true;
    }
    bz_stream *z = &x->s.bz;
    unsigned chunk_in = gig(x->n - x->pos), room = gig(cap);
    z->next_in = (char *)x->d + x->pos;
    z->avail_in = chunk_in;
    z->next_out = (char *)out;
    z->avail_out = room;
    int r = bz->BZ2_bzDecompress(z);
    x->pos += chunk_in - z->avail_in;
    int64_t got = (int64_t)(room - z->avail_out);
    if (r == BZ_STREAM_END) {
        dec_end(x);
        x->first = false;
        return got;
    }
    if (r != BZ_OK || (x->pos == x->n && got == 0)) {
        bool first = x->first;
        dec_end(x);
        dec_stop(x, first ? (x->pos == x->n ? "bz2: truncated stream" : "bz2: corrupt stream") : NULL, false);
    }
    return got;
}

/* lzma.py (FORMAT_AUTO: xz or lzma-alone): stream after stream, the same
 * rule; xz streams may be followed by stream padding (NULs, in fours). */
static int64_t step_lzma(dec *x, uint8_t *out, size_t cap)
{
    const brine_liblzma *xz = brine_liblzma_get(); /* loaded on first need; without it nothing is read */
    if (!xz)
        return dec_stop(x, brine_liblzma_error(), true);
    if (!x->live) {
        if (x->pos >= x->n)
            return dec_stop(x, NULL, false);
        lzma_stream init = LZMA_STREAM_INIT;
        x->s.xz = init;
        /* a header may name a dictionary of up to 4 GiB, which liblzma
         * allocates whole: no more than the output may ever be, plus the
         * decoder's own (a larger one is refused: inconclusive, below) */
        uint64_t memlimit = x->max_out > UINT64_MAX - (64u << 20) ? UINT64_MAX : x->max_out + (64u << 20);
        if (xz->lzma_auto_decoder(&x->s.xz, memlimit, 0) != LZMA_OK)
            return dec_stop(x, "lzma: cannot initialise", true);
        x->live = true;
    }
    lzma_stream *z = &x->s.xz;
    z->next_in = x->d + x->pos;
    z->avail_in = x->n - x->pos;
    z->next_out = out;
    z->avail_out = cap;
    lzma_ret r = xz->lzma_code(z, z->avail_in ? LZMA_RUN : LZMA_FINISH);
    x->pos = (size_t)(z->next_in - x->d);
    int64_t got = (int64_t)(cap - z->avail_out);
    if (r == LZMA_STREAM_END) {
        dec_end(x);
        x->first = false;
        while (x->pos < x->n && x->d[x->pos] == 0)
            x->pos++;
        return got;
    }
    if (r == LZMA_MEM_ERROR || r == LZMA_MEMLIMIT_ERROR) {
        /* the dictionary a header asks for could not be had: lzma.py may well
         * get it, so this is not analysed rather than malformed */
        dec_end(x);
        x->nomem = r == LZMA_MEM_ERROR;
        dec_stop(x, r == LZMA_MEM_ERROR ? "lzma: out of memory for the dictionary the stream names"
                                        : "max_decompressed: the stream names an lzma dictionary larger than the limit",
                 true);
    } else if (r != LZMA_OK) {
        bool first = x->first;
        dec_end(x);
        dec_stop(x, first ? (r == LZMA_BUF_ERROR ? "lzma: truncated stream" : "lzma: corrupt stream") : NULL, false);
    }
    return got;
}

/* zstd and lz4 frames, through libarchive's raw format */
static int64_t step_libarchive(dec *x, uint8_t *out, size_t cap)
{
    /* loaded on the first zstd or lz4 stream; without it nothing is read: fail closed */
    const brine_libarchive *la = brine_libarchive_get();
    if (!la)
        return dec_stop(x, brine_libarchive_error(), true);
    if (!x->live) {
        if (!x->first)
            return dec_stop(x, NULL, false);
        x->first = false;
        struct archive *a = la->archive_read_new();
        if (!a) {
            x->nomem = true;
            return dec_stop(x, "out of memory", true);
        }
        la->archive_read_support_filter_all(a);
        la->archive_read_support_format_raw(a);
        struct archive_entry *e;
        if (la->archive_read_open_memory(a, x->d, x->n) != ARCHIVE_OK ||
            la->archive_read_next_header(a, &e) != ARCHIVE_OK) {
            la->archive_read_free(a);
            return dec_stop(x, "corrupt or unsupported compressed stream", false);
        }
        x->s.a = a;
        x->live = true;
    }
    la_ssize_t r = la->archive_read_data(x->s.a, out, cap);
    if (r <= 0) {
        dec_end(x);
        return dec_stop(x, r < 0 ? "corrupt or truncated compressed stream" : NULL, false);
    }
    return (int64_t)r;
}

/* Up to cap bytes (cap > 0) into out; 0 when the decompression has ended
 * (x->error says whether early). */
static int64_t dec_read(dec *x, uint8_t *out, size_t cap)
{
    while (!x->done) {
        int64_t got;
        switch (x->k) {
        case COMP_ZLIB: case COMP_ZFILE: case COMP_GZIP: got = step_zlib(x, out, cap); break;
        case COMP_BZIP2: got = step_bz2(x, out, cap); break;
        case COMP_XZ: case COMP_LZMA: got = step_lzma(x, out, cap); break;
        default: got = step_libarchive(x, out, cap); break;
        }
        if (got > 0)
            return got;
    }
    return 0;
}

/* ---- later readings: the same decompression again, clipped to what the first gave ---- */

typedef struct reread {
    dec x;
    uint64_t left; /* bytes the first reading gave that this one has not */
} reread;

typedef struct src_self {
    comp_kind k;
    const uint8_t *d;
    size_t n;
    uint64_t len;
    uint64_t max_out; /* the first reading's: the same dictionary limit */
} src_self;

static void *src_open(void *self)
{
    const src_self *ss = self;
    reread *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    dec_init(&r->x, ss->k, ss->d, ss->n);
    r->x.max_out = ss->max_out;
    r->left = ss->len;
    return r;
}

static int64_t src_read(void *reader, uint8_t *buf, size_t cap)
{
    reread *r = reader;
    if (!r->left)
        return 0;
    if (cap > r->left)
        cap = (size_t)r->left;
    int64_t got = dec_read(&r->x, buf, cap);
    if (got <= 0)
        return r->x.inconclusive ? -1 : 0;
    r->left -= (uint64_t)got;
    return got;
}

static void src_close(void *reader)
{
    reread *r = reader;
    dec_end(&r->x);
    free(r);
}

/* ---- the first reading ------------------------------------------------------------- */

/* The last TAIL bytes of the output, where a zip's end record would be. */
#define TAIL (65535 + 22 + 64)

typedef struct tailbuf {
    uint8_t b[TAIL];
    size_t n;
} tailbuf;

static void tail_push(tailbuf *t, const uint8_t *p, size_t n)
{
    if (n >= TAIL) {
        memcpy(t->b, p + n - TAIL, TAIL);
        t->n = TAIL;
        return;
    }
    if (t->n + n > TAIL) {
        size_t drop = t->n + n - TAIL;
        memmove(t->b, t->b + drop, t->n - drop);
        t->n -= drop;
    }
    memcpy(t->b + t->n, p, n);
    t->n += n;
}

/* Decompress for the first time. The output is held whole up to
 * max_buffered (o->buf); past that it is counted, capped and checked but only
 * its start (o->buf keeps max_buffered bytes, at least the sniffer's share)
 * and its end (*tail) are kept: *total says how long it was. */
static void first_reading(brine_drv *c, dec *x, brine_outbuf *o, uint64_t *total, tailbuf *tail, bool *windowed)
{
    const uint64_t keep = c->s->max_buffered > BRINE_SNIFF_BYTES ? c->s->max_buffered : BRINE_SNIFF_BYTES;
    uint8_t *scratch = NULL;
    bool draining = false; /* past keep: output is counted, not kept */
    *total = 0;
    for (;;) {
        if (!draining && o->len >= keep) {
            draining = true;
            scratch = brine_drv_fault(c) ? NULL : malloc(1 << 20);
            if (!scratch) {
                o->error = "out of memory";
                o->inconclusive = true;
                c->nomem = true;
                break;
            }
            tail_push(tail, o->buf + (o->len > TAIL ? o->len - TAIL : 0), o->len > TAIL ? TAIL : o->len);
        }
        uint8_t *dst;
        size_t room;
        if (!draining) {
            room = brine_outbuf_room(c, o, x->n, keep - o->len < (1 << 16) ? (size_t)(keep - o->len) : 1 << 16);
            dst = o->buf + o->len;
        } else {
            room = brine_outbuf_allowed(c, o, x->n, *total, 1 << 20);
            dst = scratch;
        }
        if (!room)
            break;
        int64_t got = dec_read(x, dst, room);
        if (got <= 0) {
            if (x->error) {
                o->error = x->error;
                o->inconclusive = x->inconclusive;
                c->nomem |= x->nomem;
            }
            break;
        }
        if (draining)
            tail_push(tail, dst, (size_t)got);
        else
            o->len += (size_t)got;
        *total += (uint64_t)got;
        c->decompressed += (uint64_t)got;
    }
    dec_end(x);
    free(scratch);
    if (!draining && o->len) /* (no buffer at all when its allocation failed) */
        tail_push(tail, o->buf + (o->len > TAIL ? o->len - TAIL : 0), o->len > TAIL ? TAIL : o->len);
    /* above max_buffered it is read through a window, even where it all fit
     * in what was kept (a max_buffered below the sniffer's share: tests) */
    *windowed = *total > c->s->max_buffered;
}

/* The content of a compression of the file itself is what pandas and joblib
 * unpickle: it is read as a file would be (the raw reading is a pickle). */
static bool reads_as_file(const brine_loc *l)
{
    while (l && !strcmp(l->kind, "decompressed"))
        l = l->parent;
    return l && !strcmp(l->kind, "file");
}

int brine_compress_walk(brine_drv *c, const uint8_t *d, size_t n, const brine_loc *loc, unsigned depth)
{
    comp_kind k = kind_of(d, n);
    char tag[16];
    int tn = snprintf(tag, sizeof tag, "<%s>", COMP_NAMES[k]);
    brine_loc *inner = brine_drv_loc(c, loc, "decompressed", COMP_NAMES[k], tag, (size_t)tn, 0);
    if (!inner)
        return brine_drv_fail(c, loc, COMP_NAMES[k], BRINE_STATUS_INCONCLUSIVE, "out of memory", 0);
    brine_outbuf o = {0};
    dec x;
    dec_init(&x, k, d, n);
    x.max_out = c->s->max_decompressed;
    uint64_t total;
    tailbuf *tail = brine_drv_fault(c) ? NULL : malloc(sizeof *tail);
    bool windowed = false;
    if (!tail) {
        o.error = "out of memory";
        o.inconclusive = true;
        c->nomem = true;
    } else {
        tail->n = 0;
        first_reading(c, &x, &o, &total, tail, &windowed);
    }
    int r = 0;
    if (o.error)
        r = o.inconclusive ? brine_drv_fail(c, inner, COMP_NAMES[k], BRINE_STATUS_INCONCLUSIVE, o.error, 0)
                           : brine_drv_stream(c, inner, COMP_NAMES[k], BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED,
                                              o.error, 0);
    brine_feed how = reads_as_file(inner) ? BRINE_FEED_TOP : BRINE_FEED_MEMBER;
    if (!windowed) {
        if (o.len && !c->stopped)
            r = brine_drv_feed(c, o.buf, o.len, inner, depth + 1, how);
    } else if (!c->stopped) {
        /* too large to hold: read forward through a window, decompressing
         * again for each reading; a container inside needs random access and
         * is read whole after all */
        src_self ss = {k, d, n, total, x.max_out};
        brine_vm_source src = {src_open, src_read, src_close, &ss, total};
        size_t headn = o.len < BRINE_SNIFF_BYTES ? o.len : BRINE_SNIFF_BYTES;
        uint8_t *head = o.len > headn ? realloc(o.buf, headn) : NULL; /* only the sniffer's share is needed now */
        if (head)
            o.buf = head;
        brine_big big = {&src, o.buf, headn, tail->b, tail->n};
        if (brine_drv_big_is_container(&big)) {
            uint8_t *whole = brine_drv_read_whole(c, &src);
            r = whole ? brine_drv_feed(c, whole, (size_t)total, inner, depth + 1, how)
                      : brine_drv_fail(c, inner, COMP_NAMES[k], BRINE_STATUS_INCONCLUSIVE, "out of memory", 0);
            free(whole);
        } else {
            r = brine_drv_feed_big(c, &big, inner, depth + 1, how);
        }
    }
    free(tail);
    free(o.buf);
    brine_loc_free(inner);
    return r;
}
