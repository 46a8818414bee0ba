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

static void inflate_zlib(brine_drv *c, const uint8_t *d, size_t n, brine_outbuf *o)
{
    const brine_libz *zl = brine_libz_get(); /* loaded on first need; without it nothing is read */
    if (!zl) {
        o->error = brine_libz_error();
        o->inconclusive = true;
        return;
    }
    z_stream z;
    memset(&z, 0, sizeof z);
    if (zl->inflateInit_(&z, ZLIB_VERSION, (int)sizeof(z_stream)) != Z_OK) {
        o->error = "zlib: cannot initialise";
        o->inconclusive = true;
        return;
    }
    z.next_in = (Bytef *)d;
    size_t left = n;
    int r = Z_OK;
    while (r != Z_STREAM_END) {
        size_t room = brine_outbuf_room(c, o, n, 1 << 16);
        if (!room)
            break;
        uInt chunk_in = left > (1u << 30) ? (1u << 30) : (uInt)left;
        z.avail_in = chunk_in;
        z.next_out = o->buf + o->len;
        z.avail_out = (uInt)room;
        uInt before_out = z.avail_out;
        r = zl->inflate(&z, Z_NO_FLUSH);
        left -= chunk_in - z.avail_in;
        z.next_in = (Bytef *)d + (n - left);
        o->len += before_out - z.avail_out;
        c->decompressed += before_out - z.avail_out;
        if (r == Z_STREAM_END)
            break;
        if (r != Z_OK && r != Z_BUF_ERROR) {
            o->error = "zlib: corrupt stream";
            break;
        }
        if (r == Z_BUF_ERROR && left == 0) {
            o->error = "zlib: truncated stream";
            break;
        }
    }
    zl->inflateEnd(&z);
}


/* gzip.py: members back to back, NULs between them skipped. */
static void inflate_gzip(brine_drv *c, const uint8_t *d, size_t n, brine_outbuf *o)
{
    const brine_libz *zl = brine_libz_get(); /* loaded on first need; without it nothing is read */
    if (!zl) {
        o->error = brine_libz_error();
        o->inconclusive = true;
        return;
    }
    size_t pos = 0;
    bool first = true;
    while (pos < n) {
        if (!first) {
            while (pos < n && d[pos] == 0)
                pos++;
            if (pos >= n || n - pos < 2 || d[pos] != 0x1f || d[pos + 1] != 0x8b)
                return; /* gzip.py raises here: what came before is what was read */
        }
        first = false;
        z_stream z;
        memset(&z, 0, sizeof z);
        if (zl->inflateInit2_(&z, 16 + MAX_WBITS, ZLIB_VERSION, (int)sizeof(z_stream)) != Z_OK) {
            o->error = "zlib: cannot initialise";
            o->inconclusive = true;
            return;
        }
        int r = Z_OK;
        size_t left = n - pos;
        while (r != Z_STREAM_END) {
            size_t room = brine_outbuf_room(c, o, n, 1 << 16);
            if (!room)
                break;
            uInt chunk_in = left > (1u << 30) ? (1u << 30) : (uInt)left;
            z.next_in = (Bytef *)d + (n - left);
            z.avail_in = chunk_in;
            z.next_out = o->buf + o->len;
            z.avail_out = (uInt)room;
            r = zl->inflate(&z, Z_NO_FLUSH);
            left -= chunk_in - z.avail_in;
            size_t got = room - z.avail_out;
            o->len += got;
            c->decompressed += got;
            if (r == Z_STREAM_END)
                break;
            if ((r != Z_OK && r != Z_BUF_ERROR) || (r == Z_BUF_ERROR && left == 0)) {
                o->error = left == 0 ? "gzip: truncated stream" : "gzip: corrupt stream";
                break;
            }
        }
        zl->inflateEnd(&z);
        if (r != Z_STREAM_END)
            return;
        pos = n - left;
    }
}

/* bz2.py: stream after stream; bytes after a stream that are not one end it. */
static void decompress_bz2(brine_drv *c, const uint8_t *d, size_t n, brine_outbuf *o)
{
    const brine_libbz2 *bz = brine_libbz2_get(); /* loaded on first need; without it nothing is read */
    if (!bz) {
        o->error = brine_libbz2_error();
        o->inconclusive = true;
        return;
    }
    size_t pos = 0;
    bool first = true;
    while (pos < n) {
        bz_stream z;
        memset(&z, 0, sizeof z);
        if (bz->BZ2_bzDecompressInit(&z, 0, 0) != BZ_OK) {
            o->error = "bz2: cannot initialise";
            o->inconclusive = true;
            return;
        }
        int r = BZ_OK;
        size_t left = n - pos;
        while (r != BZ_STREAM_END) {
            size_t room = brine_outbuf_room(c, o, n, 1 << 16);
            if (!room)
                break;
            unsigned chunk_in = left > (1u << 30) ? (1u << 30) : (unsigned)left;
            z.next_in = (char *)d + (n - left);
            z.avail_in = chunk_in;
            z.next_out = (char *)o->buf + o->len;
            z.avail_out = (unsigned)(room > (1u << 30) ? (1u << 30) : room);
            unsigned before = z.avail_out;
            r = bz->BZ2_bzDecompress(&z);
            left -= chunk_in - z.avail_in;
            o->len += before - z.avail_out;
            c->decompressed += before - z.avail_out;
            if (r == BZ_STREAM_END)
                break;
            if (r != BZ_OK || (left == 0 && before == z.avail_out)) {
                /* a later stream that is not one is trailing garbage, ignored */
                if (first)
                    o->error = left == 0 ? "bz2: truncated stream" : "bz2: corrupt stream";
                break;
            }
        }
        bz->BZ2_bzDecompressEnd(&z);
        if (r != BZ_STREAM_END)
            return;
        first = false;
        pos = n - left;
    }
}

/* lzma.py (FORMAT_AUTO: xz or lzma-alone): stream after stream, the same rule. */
static void decompress_lzma(brine_drv *c, const uint8_t *d, size_t n, brine_outbuf *o)
{
    const brine_liblzma *xz = brine_liblzma_get(); /* loaded on first need; without it nothing is read */
    if (!xz) {
        o->error = brine_liblzma_error();
        o->inconclusive = true;
        return;
    }
    size_t pos = 0;
    bool first = true;
    while (pos < n) {
        lzma_stream z = LZMA_STREAM_INIT;
        if (xz->lzma_auto_decoder(&z, UINT64_MAX, 0) != LZMA_OK) {
            o->error = "lzma: cannot initialise";
            o->inconclusive = true;
            return;
        }
        z.next_in = d + pos;
        z.avail_in = n - pos;
        lzma_ret r = LZMA_OK;
        while (r != LZMA_STREAM_END) {
            size_t room = brine_outbuf_room(c, o, n, 1 << 16);
            if (!room)
                break;
            z.next_out = o->buf + o->len;
            z.avail_out = room;
            r = xz->lzma_code(&z, z.avail_in ? LZMA_RUN : LZMA_FINISH);
            size_t got = room - z.avail_out;
            o->len += got;
            c->decompressed += got;
            if (r == LZMA_STREAM_END)
                break;
            if (r != LZMA_OK) {
                if (first)
                    o->error = r == LZMA_BUF_ERROR ? "lzma: truncated stream" : "lzma: corrupt stream";
                break;
            }
        }
        size_t used = (size_t)(z.next_in - (d + pos));
        xz->lzma_end(&z);
        if (r != LZMA_STREAM_END)
            return;
        first = false;
        pos += used;
        /* xz streams may be followed by stream padding (NULs, in fours) */
        while (pos < n && d[pos] == 0)
            pos++;
    }
}

static void decompress_libarchive(brine_drv *c, const uint8_t *d, size_t n, brine_outbuf *o)
{
    /* loaded on the first zstd or lz4 stream; without it nothing is read: fail closed */
    const brine_libarchive *la = brine_libarchive_get();
    if (!la) {
        o->error = brine_libarchive_error();
        o->inconclusive = true;
        return;
    }
    struct archive *a = la->archive_read_new();
    if (!a) {
        o->error = "out of memory";
        o->inconclusive = true;
        c->nomem = true;
        return;
    }
    la->archive_read_support_filter_all(a);
    la->archive_read_support_format_raw(a);
    struct archive_entry *e;
    if (la->archive_read_open_memory(a, d, n) != ARCHIVE_OK || la->archive_read_next_header(a, &e) != ARCHIVE_OK) {
        o->error = "corrupt or unsupported compressed stream";
        la->archive_read_free(a);
        return;
    }
    for (;;) {
        size_t room = brine_outbuf_room(c, o, n, 1 << 16);
        if (!room)
            break;
        la_ssize_t r = la->archive_read_data(a, o->buf + o->len, room);
        if (r == 0)
            break;
        if (r < 0) {
            o->error = "corrupt or truncated compressed stream";
            break;
        }
        o->len += (size_t)r;
        c->decompressed += (uint64_t)r;
    }
    la->archive_read_free(a);
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
    switch (k) {
    case COMP_ZLIB: inflate_zlib(c, d, n, &o); break;
    case COMP_ZFILE: {
        size_t at = zfile_start(d, n);
        inflate_zlib(c, d + at, n - at, &o);
        break;
    }
    case COMP_GZIP: inflate_gzip(c, d, n, &o); break;
    case COMP_BZIP2: decompress_bz2(c, d, n, &o); break;
    case COMP_XZ:
    case COMP_LZMA: decompress_lzma(c, d, n, &o); break;
    default: decompress_libarchive(c, d, n, &o); break;
    }
    int r = 0;
    if (o.error)
        r = o.inconclusive ? brine_drv_fail(c, inner, COMP_NAMES[k], BRINE_STATUS_INCONCLUSIVE, o.error, 0)
                           : brine_drv_stream(c, inner, COMP_NAMES[k], BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED,
                                              o.error, 0);
    if (o.len && !c->stopped)
        r = brine_drv_feed(c, o.buf, o.len, inner, depth + 1,
                           reads_as_file(inner) ? BRINE_FEED_TOP : BRINE_FEED_MEMBER);
    free(o.buf);
    brine_loc_free(inner);
    return r;
}
