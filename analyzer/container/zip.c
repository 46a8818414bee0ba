/* Zip archives (PyTorch checkpoints, npz, pandas zip pickles), read by hand.
 *
 * Why not libarchive: different readers see different files in one zip, and
 * the tricks live exactly there. Python's zipfile reads the central directory
 * and corrects every offset by the bytes found before the archive; PyTorch's
 * reader (miniz) takes the offsets as written; a streaming reader walks the
 * local headers. brine needs all three views and every point where they
 * disagree (names, sizes, flags, CRCs, encryption, duplicates, overlaps,
 * bytes before or after), which a general-purpose extractor hides.
 *
 * Members that cannot hold a pickle (the tensor storages under
 * <prefix>/data/ of a torch archive) are never read: a multi-gigabyte
 * checkpoint costs its directory and its pickles.
 */
#define _GNU_SOURCE /* memrchr */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "lazylib.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_Z64_LOCATOR 0x07064b50u
#define SIG_Z64_EOCD 0x06064b50u

static uint16_t u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t u64(const uint8_t *p)
{
    return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32;
}

typedef struct entry {
    const uint8_t *name;
    size_t namelen;
    uint16_t flags, method;
    uint32_t crc;
    uint64_t csize, usize, offset; /* offset as written in the central directory */
    uint64_t data;                 /* where the data starts (Python's view) */
    bool bad;                      /* its local header is unusable */
    int64_t shift;                 /* what the reading that found it adds to offsets (zipfile's concat) */
} entry;

typedef struct zipread {
    brine_drv *c;
    const uint8_t *d;
    size_t n;
    const brine_loc *loc;
    unsigned depth;
} zipread;

bool brine_zip_probe(const uint8_t *d, size_t n)
{
    /* a local header at the start, or an end-of-central-directory record near
     * the end (a pickle with a zip appended is a zip too: both are scanned) */
    if (n >= 4 && u32(d) == SIG_LOCAL)
        return true;
    if (n < 22)
        return false;
    size_t lo = n > 22 + 65535 ? n - 22 - 65535 : 0;
    /* backwards from the last place a record fits, by memrchr on its first byte */
    for (size_t end = n - 22 + 1; end > lo;) {
        const uint8_t *p = memrchr(d + lo, 'P', end - lo);
        if (!p)
            break;
        size_t i = (size_t)(p - d);
        if (u32(d + i) == SIG_EOCD && i + 22 + u16(d + i + 20) <= n)
            return true;
        end = i;
    }
    return false;
}

static int finding(zipread *z, uint64_t off, brine_verdict v, brine_severity sev, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int finding(zipread *z, uint64_t off, brine_verdict v, brine_severity sev, const char *rule, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char id[64]; /* "zip readers disagree" -> "zip-readers-disagree" */
    size_t k = 0;
    for (; rule[k] && k < sizeof id - 1; k++)
        id[k] = rule[k] == ' ' ? '-' : rule[k];
    id[k] = 0;
    return brine_drv_finding(z->c, z->loc, off, v, sev, "container", id, rule, msg);
}

static brine_loc *member_location(zipread *z, const entry *e)
{
    return brine_drv_loc(z->c, z->loc, "member", "zip", e->name, e->namelen, e->offset);
}

/* Parse the zip64 extra field of a central directory entry. */
static void zip64_extra(entry *e, const uint8_t *x, size_t xlen)
{
    size_t i = 0;
    while (i + 4 <= xlen) {
        uint16_t id = u16(x + i), len = u16(x + i + 2);
        if (i + 4 + len > xlen)
            return;
        if (id == 0x0001) {
            const uint8_t *p = x + i + 4, *end = p + len;
            if (e->usize == 0xffffffffu && p + 8 <= end)
                e->usize = u64(p), p += 8;
            if (e->csize == 0xffffffffu && p + 8 <= end)
                e->csize = u64(p), p += 8;
            if (e->offset == 0xffffffffu && p + 8 <= end)
                e->offset = u64(p);
            return;
        }
        i += 4 + (size_t)len;
    }
}

static bool is_tensor_member(const entry *e, const uint8_t *prefix, size_t plen)
{
    /* <prefix>/data/<key>: raw storage bytes of a torch archive */
    return plen && e->namelen > plen + 6 && !memcmp(e->name, prefix, plen) && !memcmp(e->name + plen, "/data/", 6);
}

static bool name_ends(const entry *e, const char *suffix)
{
    size_t k = strlen(suffix);
    return e->namelen >= k && !memcmp(e->name + e->namelen - k, suffix, k);
}

/* Decompress a member the way zipfile's ZipExtFile does: deflate (8), bzip2
 * (12) and lzma (14), and never more than the directory's file size (it
 * hands out data[:self._left]); capped like every decompression. Returns what
 * was produced (possibly less than usize, with *err set: corrupt or
 * truncated data, which is still scanned, since a loader reads up to there). */
/* The member's header names the LZMA dictionary size (up to 4 GiB), and
 * liblzma allocates it whole before decoding a byte. No match reaches further
 * back than what was produced, and at most usize bytes are, so a dictionary
 * of usize decodes those bytes the same: the allocation is bounded by the
 * output the caps already allow. */
static bool clamp_dict(void *options, uint64_t usize)
{
    lzma_options_lzma *o = options;
    if (!o)
        return false;
    uint64_t enough = usize < LZMA_DICT_SIZE_MIN ? LZMA_DICT_SIZE_MIN : usize;
    if (o->dict_size > enough)
        o->dict_size = (uint32_t)enough;
    return true;
}

static uint8_t *decompress_member(zipread *z, uint16_t method, const uint8_t *src, size_t csize, uint64_t usize,
                                  size_t *out_len, const char **err)
{
    brine_drv *c = z->c;
    *out_len = 0;
    if (usize > c->s->max_decompressed - c->decompressed || usize > (uint64_t)csize * c->s->max_ratio + 4096) {
        *err = usize > c->s->max_decompressed - c->decompressed ? "max_decompressed: member too large"
                                                                 : "max_ratio: member decompression ratio exceeds the limit";
        return NULL;
    }
    /* the library of the method, loaded on first need; without it nothing is read */
    const brine_libz *zl = method == 8 ? brine_libz_get() : NULL;
    const brine_libbz2 *bz = method == 12 ? brine_libbz2_get() : NULL;
    const brine_liblzma *xz = method == 14 ? brine_liblzma_get() : NULL;
    if (!zl && !bz && !xz) {
        *err = method == 8 ? brine_libz_error() : method == 12 ? brine_libbz2_error() : brine_liblzma_error();
        return NULL;
    }
    uint8_t *buf = brine_drv_fault(c) ? NULL : malloc(usize ? (size_t)usize : 1);
    if (!buf) {
        *err = "out of memory";
        return NULL;
    }
    size_t got = 0;
    bool ended = false, corrupt = false;
    if (method == 8) {
        z_stream s;
        memset(&s, 0, sizeof s);
        if (zl->inflateInit2_(&s, -MAX_WBITS, ZLIB_VERSION, (int)sizeof(z_stream)) != Z_OK) {
            free(buf);
            *err = "out of memory";
            return NULL;
        }
        s.next_in = (Bytef *)src;
        s.avail_in = (uInt)(csize > UINT32_MAX ? UINT32_MAX : csize);
        s.next_out = buf;
        s.avail_out = (uInt)(usize > UINT32_MAX ? UINT32_MAX : usize);
        int r = zl->inflate(&s, Z_FINISH);
        got = (size_t)s.total_out;
        ended = r == Z_STREAM_END || got == usize;
        corrupt = r == Z_DATA_ERROR || r == Z_STREAM_ERROR || r == Z_MEM_ERROR;
        zl->inflateEnd(&s);
    } else if (method == 12) {
        bz_stream s;
        memset(&s, 0, sizeof s);
        if (bz->BZ2_bzDecompressInit(&s, 0, 0) != BZ_OK) {
            free(buf);
            *err = "out of memory";
            return NULL;
        }
        s.next_in = (char *)src;
        s.avail_in = (unsigned)(csize > UINT32_MAX ? UINT32_MAX : csize);
        s.next_out = (char *)buf;
        s.avail_out = (unsigned)(usize > UINT32_MAX ? UINT32_MAX : usize);
        int r = bz->BZ2_bzDecompress(&s);
        got = (size_t)(s.avail_out <= usize ? usize - s.avail_out : 0);
        ended = r == BZ_STREAM_END || got == usize;
        corrupt = r < 0;
        bz->BZ2_bzDecompressEnd(&s);
    } else { /* 14: a 2-byte version, 2-byte properties size, LZMA1 properties, raw LZMA1 data */
        lzma_filter filters[2] = {{.id = LZMA_FILTER_LZMA1, .options = NULL}, {.id = LZMA_VLI_UNKNOWN, .options = NULL}};
        lzma_stream s = LZMA_STREAM_INIT;
        size_t psize = csize >= 4 ? (size_t)(src[2] | src[3] << 8) : 0;
        if (csize < 4 || psize != 5 || csize - 4 < psize ||
            xz->lzma_properties_decode(&filters[0], NULL, src + 4, psize) != LZMA_OK ||
            !clamp_dict(filters[0].options, usize) || xz->lzma_raw_decoder(&s, filters) != LZMA_OK) {
            free(filters[0].options);
            free(buf);
            *err = "corrupt lzma member header";
            return NULL;
        }
        s.next_in = src + 4 + psize;
        s.avail_in = csize - 4 - psize;
        s.next_out = buf;
        s.avail_out = (size_t)usize;
        lzma_ret r = xz->lzma_code(&s, LZMA_RUN);
        if (r == LZMA_OK && s.avail_out)
            r = xz->lzma_code(&s, LZMA_FINISH);
        got = (size_t)usize - s.avail_out;
        ended = r == LZMA_STREAM_END || got == usize;
        corrupt = r != LZMA_OK && r != LZMA_STREAM_END && r != LZMA_BUF_ERROR;
        xz->lzma_end(&s);
        free(filters[0].options);
    }
    c->decompressed += got;
    if (!ended || got != usize)
        *err = corrupt ? "corrupt compressed member data" : "compressed member shorter than its declared size";
    *out_len = got;
    return buf;
}

/* Read one member and hand it to the driver, which judges it by content. */
static int scan_member(zipread *z, const entry *e, const char *why_hidden)
{
    brine_drv *c = z->c;
    brine_loc *mloc = member_location(z, e);
    if (!mloc)
        return brine_drv_fail(c, z->loc, "zip", BRINE_STATUS_INCONCLUSIVE, "out of memory", e->offset);
    int r = 0;
    if (why_hidden)
        finding(z, e->offset, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_HIGH, "zip readers disagree", "%s: %s",
                mloc->text, why_hidden);
    if (e->flags & 1) {
        r = brine_drv_fail(c, mloc, "zip-member", BRINE_STATUS_INCONCLUSIVE,
                           "encrypted member: its content cannot be checked", e->offset);
    } else if (e->method != 0 && e->method != 8 && e->method != 12 && e->method != 14) {
        r = brine_drv_fail(c, mloc, "zip-member", BRINE_STATUS_INCONCLUSIVE,
                           "member compressed with a method brine does not read", e->offset);
    } else if (e->data > z->n || e->csize > z->n - e->data) {
        r = brine_drv_stream(c, mloc, "zip-member", BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED,
                             "member data runs past the end of the file", e->offset);
    } else {
        const uint8_t *p = z->d + e->data;
        size_t len = (size_t)e->csize;
        uint8_t *owned = NULL;
        const char *err = NULL;
        if (e->method != 0) {
            owned = decompress_member(z, e->method, p, len, e->usize, &len, &err);
            p = owned;
        } else if (e->csize > e->usize) {
            len = (size_t)e->usize; /* zipfile hands out at most the file size */
        } else if (e->csize < e->usize) {
            err = "stored member shorter than its declared size";
        }
        if (err && (!p || !strncmp(err, "max_", 4) || !strcmp(err, "out of memory") || brine_lazy_is_load_error(err))) {
            r = strncmp(err, "max_", 4) && strcmp(err, "out of memory") && !brine_lazy_is_load_error(err)
                    ? brine_drv_stream(c, mloc, "zip-member", BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED, err,
                                       e->offset)
                    : brine_drv_fail(c, mloc, "zip-member", BRINE_STATUS_INCONCLUSIVE, err, e->offset);
        } else {
            if (err) /* a loader reads up to the damage: what came before it is scanned */
                brine_drv_stream(c, mloc, "zip-member", BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED, err, e->offset);
            /* zipfile checks the CRC when it reads a member; a loader that
             * does not reads the same bytes anyway */
            const brine_libz *zl = brine_libz_get();
            uLong crc = zl ? zl->crc32(0L, Z_NULL, 0) : 0;
            for (size_t off = 0; zl && off < len; off += 1u << 30)
                crc = zl->crc32(crc, p + off, (uInt)(len - off > (1u << 30) ? (1u << 30) : len - off));
            if (!zl) /* the CRC cannot be checked: fail closed */
                brine_drv_fail(c, mloc, "zip-member", BRINE_STATUS_INCONCLUSIVE, brine_libz_error(), e->offset);
            else if ((uint32_t)crc != e->crc)
                finding(z, e->offset, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, "zip CRC",
                        "%s: CRC-32 does not match the directory (zipfile refuses it, other readers may not)",
                        mloc->text);
            /* what the loaders load by name is read whatever it holds; any
             * other member is judged by its content */
            bool loaded = name_ends(e, ".pkl") || name_ends(e, ".pickle") || name_ends(e, ".npy");
            r = brine_drv_feed(c, p, len, mloc, z->depth + 1, loaded ? BRINE_FEED_LOADED : BRINE_FEED_MEMBER);
        }
        free(owned);
    }
    brine_loc_free(mloc);
    return r;
}

/* Fill the data offset of an entry from its local header; compare the two. */
static void check_local(zipread *z, entry *e, int64_t concat)
{
    uint64_t lh = e->offset + (uint64_t)concat;
    brine_loc *mloc = member_location(z, e);
    if (!mloc) /* fail closed: the comparison below was not made */
        brine_drv_fail(z->c, z->loc, "zip", BRINE_STATUS_INCONCLUSIVE, "out of memory", e->offset);
    const char *where = mloc ? mloc->text : z->loc->text;
    if (lh > z->n || z->n - lh < 30 || u32(z->d + lh) != SIG_LOCAL) {
        finding(z, lh, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, "zip structure",
                "%s: the directory points at no local header", where);
        e->bad = true;
        brine_loc_free(mloc);
        return;
    }
    const uint8_t *h = z->d + lh;
    uint16_t flags = u16(h + 6), method = u16(h + 8), nlen = u16(h + 26), xlen = u16(h + 28);
    uint32_t csize = u32(h + 18), usize = u32(h + 22);
    if (z->n - lh - 30 < (size_t)nlen + xlen) {
        e->bad = true;
        brine_loc_free(mloc);
        return;
    }
    if (nlen != e->namelen || memcmp(h + 30, e->name, nlen))
        finding(z, lh, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_HIGH, "zip readers disagree",
                "%s: the local header names another file (%.*s): zipfile refuses it, offset readers load it", where,
                nlen > 100 ? 100 : nlen, (const char *)(h + 30));
    if (flags != e->flags)
        finding(z, lh, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_LOW, "zip readers disagree",
                "%s: flags differ between the local header (0x%x) and the directory (0x%x)", where, flags, e->flags);
    if (method != e->method)
        finding(z, lh, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_HIGH, "zip readers disagree",
                "%s: compression method differs between the local header and the directory", where);
    if (!(flags & 8) && csize != 0xffffffffu && (csize != e->csize || usize != e->usize))
        finding(z, lh, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, "zip readers disagree",
                "%s: sizes differ between the local header and the directory", where);
    if ((flags & ~0x0808u) & 0xfff7u)
        finding(z, lh, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_LOW, "zip flags",
                "%s: unusual flag bits 0x%x (encryption, patches or strong encryption)", where, flags);
    e->data = lh + 30 + nlen + xlen;
    brine_loc_free(mloc);
}

static int cmp_range(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* ---- an index of the members, so that every check is linear --------------------------
 * A hostile directory may list the limit's worth of members; comparing each
 * with each would be quadratic. Open addressing over entry indices, keyed by
 * the member's absolute local-header offset and (optionally) its name. */
typedef struct zindex {
    uint32_t *slot; /* entry index + 1; 0 is empty */
    size_t mask;
    size_t used;
} zindex;

static uint64_t zmix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static uint64_t zname_hash(const entry *e)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < e->namelen; i++)
        h = (h ^ e->name[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t zabs(const entry *e)
{
    return e->offset + (uint64_t)e->shift;
}

/* kinds of key: 0 offset, 1 offset and name, 2 name */
static uint64_t zkey(const entry *e, int kind)
{
    return kind == 0 ? zmix(zabs(e)) : kind == 1 ? zmix(zabs(e)) ^ zname_hash(e) : zname_hash(e);
}

static bool zsame(const entry *a, const entry *b, int kind)
{
    /* an empty name may be NULL (the local walk's probe entry): memcmp wants valid pointers */
    bool name = a->namelen == b->namelen && (!a->namelen || !memcmp(a->name, b->name, a->namelen));
    return kind == 0 ? zabs(a) == zabs(b) : kind == 1 ? zabs(a) == zabs(b) && name : name;
}

/* Find an entry equal to e (kind), or insert e (index i) when insert is set.
 * Returns the index of the equal entry, or SIZE_MAX. */
static size_t zfind(zindex *x, const entry *ents, const entry *e, size_t i, int kind, bool insert)
{
    for (size_t s = (size_t)zkey(e, kind) & x->mask;; s = (s + 1) & x->mask) {
        if (!x->slot[s]) {
            if (insert) {
                x->slot[s] = (uint32_t)(i + 1);
                x->used++;
            }
            return SIZE_MAX;
        }
        if (zsame(&ents[x->slot[s] - 1], e, kind))
            return x->slot[s] - 1;
    }
}

/* Room for n entries (rebuilt from ents[0..have) when it grows). */
static bool zreserve(brine_drv *c, zindex *x, const entry *ents, size_t have, size_t n, int kind)
{
    if (x->slot && n * 2 <= x->mask + 1)
        return true;
    size_t cap = 64;
    while (cap < n * 2 + 2)
        cap *= 2;
    uint32_t *ns = brine_drv_fault(c) ? NULL : calloc(cap, sizeof *ns);
    if (!ns)
        return false;
    free(x->slot);
    x->slot = ns;
    x->mask = cap - 1;
    x->used = 0;
    for (size_t i = 0; i < have; i++)
        zfind(x, ents, &ents[i], i, kind, true);
    return true;
}

int brine_zip_walk(brine_drv *c, const uint8_t *d, size_t n, const brine_loc *loc, unsigned depth)
{
    zindex seen_idx = {0};
    zipread z = {c, d, n, loc, depth};
    int r = 0;
    /* The end-of-central-directory record. zipfile takes the last signature in
     * the last 64 KiB with 22 bytes after it (rfind; a comment longer than
     * what is left is cut short) and miniz does too; another reader may take
     * the one whose comment ends the file. Every such record is read, and
     * each directory in two placements: zipfile's (the directory ends where
     * the end records begin, and every offset shifts by the bytes before it)
     * and miniz's (the directory and the members where the offsets say).
     * Members are the union of every reading, each scanned once. */
    size_t lo = n > 22 + 65535 ? n - 22 - 65535 : 0, eocd = SIZE_MAX;
    size_t cands[8];
    size_t ncand = 0;
    for (size_t i = n >= 22 ? n - 22 + 1 : 0; i-- > lo && ncand < 8;)
        if (u32(d + i) == SIG_EOCD)
            cands[ncand++] = i;
    if (ncand == 0) {
        /* local headers but no directory: a streamed or truncated zip;
         * zipfile and miniz cannot open it; the driver also reads the file
         * as a pickle from offset 0 */
        return brine_drv_stream(c, loc, "zip", BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED,
                                "zip local header without a central directory", 0);
    }
    eocd = cands[0];
    entry *ents = NULL;
    size_t ne = 0, cap = 0, primary_end = 0;
    int64_t concat = -1; /* the primary reading's shift */
    bool over = false;
    for (size_t ci = 0; ci < ncand && !over; ci++) {
        const uint8_t *e = d + cands[ci];
        /* the directories this end record names: its own fields, and with a
         * zip64 locator before it, the zip64 record right before the locator
         * (zipfile) and the one the locator points at (miniz) */
        struct { uint64_t entries, cd_size, cd_off; size_t dir_end; } dirs[3];
        size_t nd = 0;
        dirs[nd].entries = u16(e + 10);
        dirs[nd].cd_size = u32(e + 12);
        dirs[nd].cd_off = u32(e + 16);
        dirs[nd++].dir_end = cands[ci];
        if (cands[ci] >= 20 && u32(d + cands[ci] - 20) == SIG_Z64_LOCATOR) {
            size_t at[2] = {cands[ci] - 20 >= 56 ? cands[ci] - 20 - 56 : SIZE_MAX, SIZE_MAX};
            uint64_t z64 = u64(d + cands[ci] - 20 + 8);
            if (z64 < n && n - z64 >= 56 && z64 != at[0])
                at[1] = (size_t)z64;
            nd = 0; /* a zip64 archive: its 16- and 32-bit fields are placeholders */
            for (int k = 0; k < 2; k++)
                if (at[k] != SIZE_MAX && u32(d + at[k]) == SIG_Z64_EOCD) {
                    dirs[nd].entries = u64(d + at[k] + 32);
                    dirs[nd].cd_size = u64(d + at[k] + 40);
                    dirs[nd].cd_off = u64(d + at[k] + 48);
                    dirs[nd++].dir_end = at[k];
                }
            if (nd == 0) {
                dirs[0].entries = u16(e + 10);
                dirs[0].cd_size = u32(e + 12);
                dirs[0].cd_off = u32(e + 16);
                dirs[0].dir_end = cands[ci];
                nd = 1;
            }
        }
        for (size_t di = 0; di < nd && !over; di++) {
            for (int placement = 0; placement < 2 && !over; placement++) {
                /* offsets are hostile (64 bits in zip64): compare before
                 * subtracting, so that every position stays inside the file */
                size_t cd_start;
                int64_t shift;
                if (dirs[di].cd_size > dirs[di].dir_end)
                    continue;
                if (placement == 0) {
                    cd_start = dirs[di].dir_end - (size_t)dirs[di].cd_size;
                    if (dirs[di].cd_off > (uint64_t)cd_start)
                        continue;
                    shift = (int64_t)((uint64_t)cd_start - dirs[di].cd_off);
                } else {
                    if (dirs[di].cd_off > n || dirs[di].cd_size > n - dirs[di].cd_off ||
                        dirs[di].cd_off == dirs[di].dir_end - dirs[di].cd_size)
                        continue;
                    cd_start = (size_t)dirs[di].cd_off;
                    shift = 0;
                }
                size_t cd_end = cd_start + (size_t)dirs[di].cd_size;
                if (concat < 0) {
                    concat = shift;
                    eocd = cands[ci];
                    primary_end = cd_end;
                }
                /* zipfile reads entries while they fit the directory's size,
                 * miniz reads the record's count: both */
                size_t p = cd_start;
                for (uint64_t i = 0; i < dirs[di].entries || p < cd_end; i++) {
                    if (p > n || n - p < 46 || u32(d + p) != SIG_CENTRAL)
                        break;
                    uint16_t nlen = u16(d + p + 28), xlen = u16(d + p + 30), clen = u16(d + p + 32);
                    if (n - p - 46 < (size_t)nlen + xlen + clen)
                        break;
                    entry en = {.name = d + p + 46, .namelen = nlen, .flags = u16(d + p + 8),
                                .method = u16(d + p + 10), .crc = u32(d + p + 16), .csize = u32(d + p + 20),
                                .usize = u32(d + p + 24), .offset = u32(d + p + 42), .shift = shift};
                    zip64_extra(&en, d + p + 46 + nlen, xlen);
                    p += 46 + (size_t)nlen + xlen + clen;
                    /* the same member seen by another reading */
                    if (ne && zfind(&seen_idx, ents, &en, 0, 1, false) != SIZE_MAX)
                        continue;
                    if (ne >= c->s->max_members) {
                        over = true;
                        break;
                    }
                    if (ne == cap) {
                        size_t nc = cap ? cap * 2 : 16;
                        entry *ng = brine_drv_fault(c) ? NULL : realloc(ents, nc * sizeof *ng);
                        if (!ng) {
                            free(seen_idx.slot);
                            free(ents);
                            return brine_drv_fail(c, loc, "zip", BRINE_STATUS_INCONCLUSIVE, "out of memory",
                                                  cands[ci]);
                        }
                        ents = ng;
                        cap = nc;
                    }
                    if (!zreserve(c, &seen_idx, ents, ne, ne + 1, 1)) {
                        free(seen_idx.slot);
                        free(ents);
                        return brine_drv_fail(c, loc, "zip", BRINE_STATUS_INCONCLUSIVE, "out of memory", cands[ci]);
                    }
                    if (shift != concat || cands[ci] != eocd)
                        finding(&z, cands[ci], BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_HIGH, "zip readers disagree",
                                "%.*s: a member only another reading of the archive lists (directory at 0x%zx, "
                                "end record at 0x%zx): zipfile, PyTorch's reader and others load different files",
                                (int)(nlen > 100 ? 100 : nlen), (const char *)en.name, cd_start, cands[ci]);
                    ents[ne] = en;
                    zfind(&seen_idx, ents, &ents[ne], ne, 1, true);
                    ne++;
                }
            }
        }
    }
    free(seen_idx.slot);
    if (over) {
        free(ents);
        return brine_drv_fail(c, loc, "zip", BRINE_STATUS_INCONCLUSIVE, "max_members: more zip members than the limit",
                              eocd);
    }
    if (concat < 0) {
        free(ents);
        return brine_drv_stream(c, loc, "zip", BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED,
                                "zip central directory outside the file", eocd);
    }
    (void)primary_end;
    const uint8_t *e = d + eocd;
    size_t tail = eocd + 22 + u16(e + 20);
    if (tail < n) {
        finding(&z, tail, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, "zip trailing data",
                "%zu bytes after the end of the zip archive", n - tail);
        if (brine_drv_would_run(c, d + tail, n - tail)) {
            brine_loc *tl = brine_drv_loc(c, loc, "region", "zip", NULL, 0, tail);
            if (tl)
                brine_drv_pickle(c, d, n, tail, tl, depth, 0, NULL);
            else
                brine_drv_fail(c, loc, "zip", BRINE_STATUS_INCONCLUSIVE, "out of memory", tail);
            brine_loc_free(tl);
        }
    }
    if (!ents && !(ents = calloc(1, sizeof *ents)))
        return brine_drv_fail(c, loc, "zip", BRINE_STATUS_INCONCLUSIVE, "out of memory", eocd);
    c->members += ne;
    if (concat > 0) {
        finding(&z, 0, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_HIGH, "zip readers disagree",
                "%" PRId64 " bytes before the zip archive: Python's zipfile shifts every offset by them, PyTorch's reader "
                "does not",
                concat);
        /* the other reading of the same file: whatever precedes the archive */
        if (!c->zip_prefix_scanned && ((concat >= 2 && d[0] == 0x80 && d[1] <= 5) ||
                                       brine_drv_would_run(c, d, (size_t)concat))) {
            brine_loc *pl = brine_drv_loc(c, loc, "member", "zip", "<before-zip>", 12, 0);
            if (pl)
                brine_drv_pickle(c, d, (size_t)concat, 0, pl, depth, 0, NULL);
            else
                brine_drv_fail(c, loc, "zip", BRINE_STATUS_INCONCLUSIVE, "out of memory", 0);
            brine_loc_free(pl);
        }
    }
    /* the torch layout: <prefix>/data.pkl names the prefix whose data/ holds tensors */
    const uint8_t *prefix = NULL;
    size_t plen = 0;
    bool torchscript = false;
    for (size_t i = 0; i < ne; i++) {
        const uint8_t *slash = memchr(ents[i].name, '/', ents[i].namelen);
        if (slash && ents[i].namelen - (size_t)(slash - ents[i].name) == 9 && !memcmp(slash, "/data.pkl", 9)) {
            prefix = ents[i].name;
            plen = (size_t)(slash - ents[i].name);
        }
        if (slash && ents[i].namelen - (size_t)(slash - ents[i].name) > 6 && !memcmp(slash, "/code/", 6))
            torchscript = true;
    }
    /* duplicates, and an index by offset for the local-header walk */
    zindex by_name = {0}, by_off = {0};
    if (!zreserve(c, &by_name, ents, 0, ne, 2) || !zreserve(c, &by_off, ents, 0, ne, 0)) {
        free(by_name.slot);
        free(by_off.slot);
        free(ents);
        return brine_drv_fail(c, loc, "zip", BRINE_STATUS_INCONCLUSIVE, "out of memory", eocd);
    }
    for (size_t k = 0; k < ne; k++) {
        zfind(&by_off, ents, &ents[k], k, 0, true);
        size_t i = zfind(&by_name, ents, &ents[k], k, 2, true);
        if (i != SIZE_MAX) {
            brine_loc *ml = member_location(&z, &ents[i]);
            if (!ml)
                brine_drv_fail(c, loc, "zip", BRINE_STATUS_INCONCLUSIVE, "out of memory", ents[k].offset);
            finding(&z, ents[k].offset, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_HIGH, "zip readers disagree",
                    "%s: the name appears twice; readers differ on which one they load", ml ? ml->text : "?");
            brine_loc_free(ml);
        }
    }
    free(by_name.slot);
    for (size_t i = 0; i < ne; i++)
        check_local(&z, &ents[i], ents[i].shift);
    /* overlapping members */
    uint64_t *ranges = calloc(ne ? ne * 2 : 2, sizeof *ranges);
    if (!ranges)
        brine_drv_fail(c, loc, "zip", BRINE_STATUS_INCONCLUSIVE, "out of memory", 0);
    else {
        size_t k = 0;
        for (size_t i = 0; i < ne; i++)
            if (!ents[i].bad) {
                ranges[2 * k] = ents[i].offset + (uint64_t)ents[i].shift;
                ranges[2 * k + 1] = ents[i].data + ents[i].csize;
                k++;
            }
        qsort(ranges, k, 2 * sizeof *ranges, cmp_range);
        for (size_t i = 1; i < k; i++)
            if (ranges[2 * i] < ranges[2 * i - 1]) {
                finding(&z, ranges[2 * i], BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_HIGH, "zip structure",
                        "members overlap (several names share bytes: a zip bomb or a reader trick)");
                break;
            }
        free(ranges);
    }
    if (torchscript)
        finding(&z, 0, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_HIGH, "TorchScript code",
                "a TorchScript archive: its code/ members are Python code that torch.jit.load (and torch.load, which "
                "forwards to it) compiles and runs");
    for (size_t i = 0; i < ne && !c->stopped; i++) {
        entry *en = &ents[i];
        if (en->bad)
            continue;
        /* tensor storages are raw bytes torch never unpickles: skipped, unless
         * compressed (torch stores them) or an npy array (numpy.load reads an
         * archive as an npz and takes every member with the npy magic) */
        if (is_tensor_member(en, prefix, plen) && en->method == 0 &&
            !(en->data <= n && n - en->data >= 6 && !memcmp(d + en->data, "\x93NUMPY", 6)))
            continue;
        if (torchscript && plen && en->namelen > plen + 6 && !memcmp(en->name + plen, "/code/", 6))
            continue; /* reported above as code */
        r = scan_member(&z, en, NULL);
    }
    /* the local-header view: walk the headers from the start of the archive */
    size_t w = (size_t)concat;
    while (!c->stopped && w <= n - 30 && n >= 30 && u32(d + w) == SIG_LOCAL) {
        const uint8_t *h = d + w;
        uint16_t flags = u16(h + 6), nlen = u16(h + 26), xlen = u16(h + 28);
        uint64_t csize = u32(h + 18);
        if (n - w - 30 < (size_t)nlen + xlen)
            break;
        entry probe = {.offset = w, .shift = 0};
        bool known = ne && zfind(&by_off, ents, &probe, 0, 0, false) != SIZE_MAX;
        if (!known) {
            entry hidden = {h + 30, nlen, flags, u16(h + 8), u32(h + 14), csize, u32(h + 22), w - (size_t)concat,
                            w + 30 + nlen + xlen, false, concat};
            r = scan_member(&z, &hidden, "a member only the local headers show (central-directory readers skip it)");
        }
        if (flags & 8 && csize == 0)
            break; /* sizes in a data descriptor: the walk cannot go on */
        uint64_t next = w + 30 + (uint64_t)nlen + xlen + csize;
        if (next > n)
            break;
        w = (size_t)next;
        if (flags & 8) /* data descriptor, with or without its signature */
            w += (n - w >= 4 && u32(d + w) == 0x08074b50u) ? 16 : 12;
    }
    free(by_off.slot);
    free(ents);
    if (!c->stopped)
        brine_drv_stream(c, loc, prefix ? "torch-zip" : "zip", BRINE_VERDICT_SAFE, BRINE_STATUS_COMPLETE, NULL, 0);
    return c->stopped ? BRINE_ERR_CALLBACK : r;
}
