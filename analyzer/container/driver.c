/* Finding the pickles in a file: the reader table, compressed streams
 * (libarchive's filters, zlib for joblib's bare zlib streams), tar and 7z
 * archives (libarchive), legacy PyTorch files, and brine_scan_buffer().
 * Zip and npy have readers of their own (zip.c, npy.c). */
#include <archive.h>
#include <archive_entry.h>
#include <inttypes.h>
#include <magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "container.h"
#include "vm.h"

/* ---- the context ------------------------------------------------------------------ */

char *brine_loc_join(const char *parent, const char *sep, const char *child)
{
    size_t a = strlen(parent), b = strlen(sep), n = strlen(child);
    char *s = malloc(a + b + n + 1);
    if (!s)
        return NULL;
    memcpy(s, parent, a);
    memcpy(s + a, sep, b);
    memcpy(s + a + b, child, n + 1);
    return s;
}

static int status_rank(brine_status s)
{
    return s == BRINE_STATUS_COMPLETE ? 0 : s == BRINE_STATUS_MALFORMED ? 1 : 2;
}

void brine_ctx_merge(brine_ctx *c, brine_verdict v, brine_status st, const char *error, uint64_t error_offset)
{
    if (v > c->verdict)
        c->verdict = v;
    if (status_rank(st) > status_rank(c->status)) {
        c->status = st;
        c->error = error;
        c->error_offset = error_offset;
    }
}

int brine_ctx_finding(brine_ctx *c, const char *location, uint64_t offset, brine_verdict v, brine_severity sev,
                      const char *kind, const char *rule, const char *message)
{
    brine_ctx_merge(c, v, BRINE_STATUS_COMPLETE, NULL, 0);
    c->findings++;
    if (!c->cb || !c->cb->finding || c->stopped)
        return 0;
    brine_finding f = {location, offset, 0, "-", kind, v, sev, "", "", rule, message};
    if (c->cb->finding(c->user, &f))
        c->stopped = true;
    return c->stopped ? BRINE_ERR_CALLBACK : 0;
}

int brine_ctx_stream(brine_ctx *c, const char *location, const char *format, brine_verdict v, brine_status st,
                     const char *error, uint64_t error_offset)
{
    brine_ctx_merge(c, v, st, error, error_offset);
    brine_stream_result sr = {location, format, v, st, error, error_offset, 0, 0, 0};
    if (c->cb && c->cb->stream && !c->stopped && c->cb->stream(c->user, &sr))
        c->stopped = true;
    return c->stopped ? BRINE_ERR_CALLBACK : 0;
}

/* ---- sniffers --------------------------------------------------------------------- */

static bool has(const uint8_t *d, size_t n, size_t off, const char *magic, size_t m)
{
    return n >= off + m && memcmp(d + off, magic, m) == 0;
}

bool brine_looks_like_pickle(const uint8_t *d, size_t n)
{
    if (n >= 2 && d[0] == 0x80 && d[1] <= 5)
        return true;
    /* protocol 0/1 pickles as picklers start them, ending in STOP */
    return n >= 2 && d[n - 1] == '.' && strchr("(c]}NIVSl", d[0]) && d[0];
}

/* 0x80 0x02 LONG1 of the legacy magic number 0x1950a86a20f9469cfc6c, STOP */
static const uint8_t TORCH_LEGACY_MAGIC[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                             0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};

static bool torch_legacy_probe(const uint8_t *d, size_t n)
{
    return has(d, n, 0, (const char *)TORCH_LEGACY_MAGIC, sizeof TORCH_LEGACY_MAGIC);
}

typedef enum { COMP_NONE, COMP_GZIP, COMP_BZIP2, COMP_XZ, COMP_LZMA, COMP_ZSTD, COMP_LZ4, COMP_ZLIB } comp_kind;

static comp_kind compression_probe(const uint8_t *d, size_t n)
{
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
     * No magic here is an opcode that can start a valid pickle ('B' of "BZh"
     * and ']' of lzma are followed by bytes that make the pickle reading fail
     * at once). */
    if (n >= 2 && d[0] == 0x78 && ((d[0] << 8) | d[1]) % 31 == 0 && !(d[1] & 0x20))
        return COMP_ZLIB;
    return COMP_NONE;
}

static const char *const COMP_NAMES[] = {"", "gzip", "bz2", "xz", "lzma", "zstd", "lz4", "zlib"};

/* ---- decompression: streamed into a capped buffer ---------------------------------- */

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    const char *error; /* a cap was hit or the stream is corrupt */
    bool inconclusive; /* a cap (not corruption) */
} outbuf;

static bool out_room(brine_ctx *c, outbuf *o, size_t in_len, size_t want)
{
    uint64_t limit_ratio = (uint64_t)in_len * c->s->max_ratio + 4096;
    if (c->decompressed + want > c->s->max_decompressed) {
        o->error = "max_decompressed: decompressed data exceeds the limit";
        o->inconclusive = true;
        return false;
    }
    if (o->len + want > limit_ratio) {
        o->error = "max_ratio: decompression ratio exceeds the limit (a decompression bomb?)";
        o->inconclusive = true;
        return false;
    }
    if (o->len + want > o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 1 << 16;
        while (nc < o->len + want)
            nc *= 2;
        uint8_t *nb = realloc(o->buf, nc);
        if (!nb) {
            o->error = "out of memory";
            o->inconclusive = true;
            return false;
        }
        o->buf = nb;
        o->cap = nc;
    }
    return true;
}

static void inflate_zlib(brine_ctx *c, const uint8_t *d, size_t n, outbuf *o)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) {
        o->error = "zlib: cannot initialise";
        return;
    }
    z.next_in = (Bytef *)d;
    size_t left = n;
    int r = Z_OK;
    while (r != Z_STREAM_END) {
        if (!out_room(c, o, n, 1 << 16))
            break;
        uInt chunk_in = left > (1u << 30) ? (1u << 30) : (uInt)left;
        z.avail_in = chunk_in;
        z.next_out = o->buf + o->len;
        z.avail_out = (uInt)(o->cap - o->len > (1u << 30) ? (1u << 30) : o->cap - o->len);
        uInt before_out = z.avail_out;
        r = inflate(&z, Z_NO_FLUSH);
        left -= chunk_in - z.avail_in;
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
    inflateEnd(&z);
}

static void decompress_libarchive(brine_ctx *c, const uint8_t *d, size_t n, outbuf *o)
{
    struct archive *a = archive_read_new();
    if (!a) {
        o->error = "out of memory";
        return;
    }
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    struct archive_entry *e;
    if (archive_read_open_memory(a, d, n) != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK) {
        o->error = archive_error_string(a) ? "corrupt compressed stream" : "unsupported compressed stream";
        archive_read_free(a);
        return;
    }
    for (;;) {
        if (!out_room(c, o, n, 1 << 16))
            break;
        la_ssize_t r = archive_read_data(a, o->buf + o->len, o->cap - o->len);
        if (r == 0)
            break;
        if (r < 0) {
            o->error = "corrupt or truncated compressed stream";
            break;
        }
        o->len += (size_t)r;
        c->decompressed += (uint64_t)r;
    }
    archive_read_free(a);
}

static int scan_compressed(brine_ctx *c, const uint8_t *d, size_t n, const char *loc, unsigned depth, comp_kind k)
{
    char tag[16];
    snprintf(tag, sizeof tag, "<%s>", COMP_NAMES[k]);
    char *inner = brine_loc_join(loc, "!", tag);
    if (!inner)
        return BRINE_ERR_NOMEM;
    outbuf o = {0};
    if (k == COMP_ZLIB)
        inflate_zlib(c, d, n, &o);
    else
        decompress_libarchive(c, d, n, &o);
    int r = 0;
    if (o.error) {
        /* what was decompressed before the cap is still scanned: a payload at
         * the start of a bomb is reported */
        r = brine_ctx_stream(c, inner, COMP_NAMES[k], BRINE_VERDICT_SAFE,
                             o.inconclusive ? BRINE_STATUS_INCONCLUSIVE : BRINE_STATUS_MALFORMED, o.error, 0);
    }
    if (o.len && !c->stopped)
        r = brine_scan_blob(c, o.buf, o.len, inner, depth + 1, true);
    free(o.buf);
    free(inner);
    return r;
}

/* ---- tar and 7z (libarchive) ------------------------------------------------------------ */

static bool archive_probe(const uint8_t *d, size_t n)
{
    return has(d, n, 257, "ustar", 5) || has(d, n, 0, "7z\xbc\xaf\x27\x1c", 6);
}

static int scan_archive(brine_ctx *c, const uint8_t *d, size_t n, const char *loc, unsigned depth)
{
    const char *fmt = has(d, n, 0, "7z", 2) ? "7z" : "tar";
    struct archive *a = archive_read_new();
    if (!a)
        return BRINE_ERR_NOMEM;
    archive_read_support_format_tar(a);
    archive_read_support_format_7zip(a);
    archive_read_support_filter_all(a);
    int r = 0;
    if (archive_read_open_memory(a, d, n) != ARCHIVE_OK) {
        r = brine_ctx_stream(c, loc, fmt, BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED, "unreadable archive", 0);
        archive_read_free(a);
        return r;
    }
    struct archive_entry *e;
    int h;
    bool legacy_torch = false;
    while (!c->stopped && (h = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        if (++c->members > c->s->max_members) {
            brine_ctx_stream(c, loc, fmt, BRINE_VERDICT_SAFE, BRINE_STATUS_INCONCLUSIVE,
                             "max_members: more archive members than the limit", 0);
            break;
        }
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        const char *name = archive_entry_pathname(e);
        char *mloc = brine_loc_join(loc, "!", name ? name : "?");
        if (!mloc)
            break;
        if (archive_entry_is_encrypted(e)) {
            brine_ctx_stream(c, mloc, fmt, BRINE_VERDICT_SAFE, BRINE_STATUS_INCONCLUSIVE, "encrypted member", 0);
            free(mloc);
            continue;
        }
        outbuf o = {0};
        for (;;) {
            if (!out_room(c, &o, n, 1 << 16))
                break;
            la_ssize_t got = archive_read_data(a, o.buf + o.len, o.cap - o.len);
            if (got == 0)
                break;
            if (got < 0) {
                o.error = "corrupt archive member";
                break;
            }
            o.len += (size_t)got;
            c->decompressed += (uint64_t)got;
        }
        if (name && (!strcmp(name, "sys_info") || !strcmp(name, "pickle")))
            legacy_torch = true;
        if (o.error)
            brine_ctx_stream(c, mloc, fmt, BRINE_VERDICT_SAFE,
                             o.inconclusive ? BRINE_STATUS_INCONCLUSIVE : BRINE_STATUS_MALFORMED, o.error, 0);
        else if (legacy_torch && name && !strcmp(name, "storages"))
            /* torch < 0.4 tar layout: a count pickle, then (pickle, raw storage
             * data) per storage. The first pickle is scanned; the raw data is
             * not modelled, so the member is not fully analysed. */
            {
                size_t end = 0;
                brine_scan_pickle(c, o.buf, o.len, 0, mloc, depth + 1, BRINE_PICKLE_FIRST_ONLY, &end);
                brine_ctx_stream(c, mloc, "torch-tar-storages", BRINE_VERDICT_SAFE, BRINE_STATUS_INCONCLUSIVE,
                                 "legacy torch tar 'storages' member: raw storage data is not modelled", end);
            }
        else
            brine_scan_blob(c, o.buf, o.len, mloc, depth + 1, false);
        free(o.buf);
        free(mloc);
    }
    if (!c->stopped && h != ARCHIVE_EOF && h != ARCHIVE_OK)
        brine_ctx_stream(c, loc, fmt, BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED, "corrupt archive", 0);
    archive_read_free(a);
    return r;
}

/* ---- legacy PyTorch: five pickles, then the storages' raw bytes ------------------------- */

typedef struct {
    const uint8_t *d;
    size_t n;
    /* root key -> element size, from the persistent ids of the main pickle */
    struct { const uint8_t *key; size_t keylen; unsigned elsize; } *keys;
    size_t nkeys, cap;
} legacy_ctx;

static unsigned storage_elsize(const brine_value *cls)
{
    static const struct { const char *name; unsigned size; } sizes[] = {
        {"DoubleStorage", 8}, {"FloatStorage", 4}, {"HalfStorage", 2}, {"BFloat16Storage", 2}, {"LongStorage", 8},
        {"IntStorage", 4}, {"ShortStorage", 2}, {"CharStorage", 1}, {"ByteStorage", 1}, {"BoolStorage", 1},
        {"ComplexFloatStorage", 8}, {"ComplexDoubleStorage", 16}, {"QUInt8Storage", 1}, {"QInt8Storage", 1},
        {"QInt32Storage", 4}, {"QUInt4x2Storage", 1}, {"QUInt2x4Storage", 1}, {"UntypedStorage", 1}};
    if (cls->kind != BRINE_V_GLOBAL || cls->dynamic)
        return 0;
    const brine_value *name = cls->u.g.name;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (name->u.s.n == strlen(sizes[i].name) && !memcmp(name->u.s.p, sizes[i].name, name->u.s.n))
            return sizes[i].size;
    return 0;
}

static int legacy_persid(void *user, const brine_vm_event *ev)
{
    legacy_ctx *l = user;
    if (ev->kind != BRINE_EV_PERSID)
        return 0;
    const brine_value *t = ev->target;
    if (t->kind != BRINE_V_TUPLE || t->u.seq.len < 5 || t->u.seq.items[2]->kind != BRINE_V_STR)
        return 0;
    if (l->nkeys == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        void *nk = realloc(l->keys, nc * sizeof *l->keys);
        if (!nk)
            return 0;
        l->keys = nk;
        l->cap = nc;
    }
    l->keys[l->nkeys].key = t->u.seq.items[2]->u.s.p;
    l->keys[l->nkeys].keylen = t->u.seq.items[2]->u.s.n;
    l->keys[l->nkeys].elsize = storage_elsize(t->u.seq.items[1]);
    l->nkeys++;
    return 0;
}

static int scan_torch_legacy(brine_ctx *c, const uint8_t *d, size_t n, const char *loc, unsigned depth)
{
    size_t pos = 0;
    int r = 0;
    legacy_ctx saved = {0}; /* the persistent ids of pickle 3, used at pickle 4 */
    /* magic, protocol version, sys_info, the object, the storage keys */
    for (int i = 0; i < 5 && !c->stopped; i++) {
        size_t end = pos;
        char tag[24];
        snprintf(tag, sizeof tag, "@0x%zx", pos);
        char *ploc = brine_loc_join(loc, "", i ? tag : "");
        if (!ploc)
            return BRINE_ERR_NOMEM;
        r = brine_scan_pickle(c, d, n, pos, ploc, depth, BRINE_PICKLE_FIRST_ONLY, &end);
        free(ploc);
        if (end <= pos) {
            free(saved.keys);
            return r; /* malformed or inconclusive: already reported */
        }
        if (i == 3 || i == 4) {
            /* read the values brine needs: element sizes, and the keys' order */
            legacy_ctx l = {d, n, NULL, 0, 0};
            brine_arena a;
            brine_arena_init(&a, c->s->max_bytes);
            brine_vm_config cfg = {.settings = c->s, .arena = &a, .flags = BRINE_VM_FIRST_ONLY, .start = pos,
                                   .on_event = i == 3 ? legacy_persid : NULL, .user = &l};
            brine_vm_result res;
            brine_vm_run(d, n, &cfg, &res);
            if (i == 3) {
                free(saved.keys);
                saved = l;
            } else {
                /* pickle 4: the storage keys; each storage is an 8-byte element
                 * count and count * element size bytes, in this order */
                const brine_value *keys = res.value;
                size_t at = end;
                bool ok = keys && keys->kind == BRINE_V_LIST;
                for (uint32_t k = 0; ok && k < keys->u.seq.len; k++) {
                    const brine_value *key = keys->u.seq.items[k];
                    unsigned el = 0;
                    for (size_t s = 0; key->kind == BRINE_V_STR && s < saved.nkeys; s++)
                        if (saved.keys[s].keylen == key->u.s.n && !memcmp(saved.keys[s].key, key->u.s.p, key->u.s.n))
                            el = saved.keys[s].elsize;
                    if (!el || n - at < 8) {
                        ok = false;
                        break;
                    }
                    uint64_t count = 0;
                    for (int b = 0; b < 8; b++)
                        count |= (uint64_t)d[at + b] << (8 * b);
                    at += 8;
                    if (count > (n - at) / el) {
                        ok = false;
                        break;
                    }
                    at += (size_t)(count * el);
                }
                free(saved.keys);
                memset(&saved, 0, sizeof saved);
                brine_arena_free(&a);
                if (!ok)
                    return brine_ctx_stream(c, loc, "torch-legacy", BRINE_VERDICT_SAFE, BRINE_STATUS_INCONCLUSIVE,
                                            "legacy torch storages do not match their keys", end);
                if (at < n) {
                    char *tloc = brine_loc_join(loc, "", "");
                    r = brine_ctx_finding(c, tloc ? tloc : loc, at, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM,
                                          "trailing", "trailing data",
                                          "bytes after the last storage of a legacy torch file: torch.load never reads "
                                          "them, another reader might");
                    free(tloc);
                    if (brine_looks_like_pickle(d + at, n - at)) {
                        snprintf(tag, sizeof tag, "@0x%zx", at);
                        char *xloc = brine_loc_join(loc, "", tag);
                        if (xloc)
                            brine_scan_pickle(c, d, n, at, xloc, depth, 0, NULL);
                        free(xloc);
                    }
                }
                return r;
            }
            brine_arena_free(&a);
        }
        pos = end;
    }
    return r;
}

bool brine_looks_like_container(const uint8_t *d, size_t n)
{
    return brine_zip_probe(d, n) || brine_npy_probe(d, n) || torch_legacy_probe(d, n) || archive_probe(d, n) ||
           compression_probe(d, n) != COMP_NONE;
}

/* ---- the reader table --------------------------------------------------------------------- */

typedef struct brine_reader {
    const char *name;
    bool (*probe)(const uint8_t *d, size_t n);
    int (*scan)(brine_ctx *c, const uint8_t *d, size_t n, const char *loc, unsigned depth);
} brine_reader;

static const brine_reader READERS[] = {
    {"torch-legacy", torch_legacy_probe, scan_torch_legacy},
    {"zip", brine_zip_probe, brine_zip_scan}, /* also torch zip, npz, pandas zip */
    {"npy", brine_npy_probe, brine_npy_scan},
    {"archive", archive_probe, scan_archive}, /* tar, 7z */
};

/* libmagic's description of content no reader knows: only a hint in reports. */
static const char *magic_hint(const uint8_t *d, size_t n, char *buf, size_t size)
{
    magic_t m = magic_open(MAGIC_NONE);
    if (!m)
        return NULL;
    const char *r = NULL;
    if (magic_load(m, NULL) == 0) {
        const char *t = magic_buffer(m, d, n > 65536 ? 65536 : n);
        if (t) {
            snprintf(buf, size, "%s", t);
            r = buf;
        }
    }
    magic_close(m);
    return r;
}

int brine_scan_blob(brine_ctx *c, const uint8_t *d, size_t n, const char *loc, unsigned depth, bool top)
{
    if (c->stopped)
        return BRINE_ERR_CALLBACK;
    if (depth > c->s->max_archive_depth)
        return brine_ctx_stream(c, loc, "?", BRINE_VERDICT_SAFE, BRINE_STATUS_INCONCLUSIVE,
                                "max_archive_depth: containers nested deeper than the limit", 0);
    if (torch_legacy_probe(d, n))
        return scan_torch_legacy(c, d, n, loc, depth);
    if (n >= 2 && d[0] == 0x80 && d[1] <= 5) {
        /* it starts as a pickle: that is one reading. A zip whose end record
         * lies after the pickle's STOP (a zip appended) is another one, read
         * too; a zip inside the pickle's own bytes is a constant, and the
         * nested scan takes it. */
        size_t end = 0;
        int r = brine_scan_pickle(c, d, n, 0, loc, depth, BRINE_PICKLE_JOBLIB, &end);
        if (end && end < n && brine_zip_probe(d + end, n - end) && !c->stopped) {
            c->zip_prefix_scanned = true;
            r = brine_zip_scan(c, d, n, loc, depth);
            c->zip_prefix_scanned = false;
        }
        return r;
    }
    for (size_t i = 0; i < sizeof READERS / sizeof READERS[0]; i++)
        if (READERS[i].probe(d, n))
            return READERS[i].scan(c, d, n, loc, depth);
    comp_kind k = compression_probe(d, n);
    if (k != COMP_NONE)
        return scan_compressed(c, d, n, loc, depth, k);
    if (top || brine_looks_like_pickle(d, n)) {
        size_t end = 0;
        int r = brine_scan_pickle(c, d, n, 0, loc, depth, BRINE_PICKLE_JOBLIB, &end);
        if (top && depth == 0 && c->pickles == 0 && c->status == BRINE_STATUS_MALFORMED && n) {
            char buf[200];
            const char *hint = magic_hint(d, n, buf, sizeof buf);
            if (hint) {
                snprintf(c->hint, sizeof c->hint, "not a pickle or a known container (libmagic: %s)", hint);
                c->error = c->hint;
            }
        }
        return r;
    }
    return 0; /* data inside a container: nothing to load */
}

int brine_scan_buffer(const brine_policy *policy, const brine_settings *settings, const uint8_t *data, size_t len,
                      const char *location, const brine_scan_callbacks *cb, void *user, brine_stream_result *out)
{
    brine_settings def;
    settings = brine_settings_or_default(settings, &def);
    if (!policy || (!data && len))
        return BRINE_ERR_INVALID;
    brine_ctx c = {.policy = policy, .s = settings, .cb = cb, .user = user};
    const char *loc = location ? location : "";
    brine_scan_blob(&c, data, len, loc, 0, true);
    if (out) {
        brine_stream_result r = {loc, "file", c.verdict, c.status, c.error, c.error_offset, c.pickles, c.findings,
                                 c.streams};
        if (c.error == c.hint)
            r.error = "not a pickle or a known container"; /* the hint's buffer dies here */
        *out = r;
    }
    if (c.nomem)
        return BRINE_ERR_NOMEM;
    return c.stopped ? BRINE_ERR_CALLBACK : 0;
}
