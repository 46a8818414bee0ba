/* tar and 7z archives, read with libarchive; every member that carries data
 * is judged by its content, whatever its recorded type (Python's tarfile
 * returns the data of unknown type flags as a regular file's). The old
 * PyTorch tar layout (sys_info, pickle, tensors, storages) is recognised by
 * its member names, which torch.load itself looks up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "driver.h"
#include "lazylib.h"

static bool has(const uint8_t *d, size_t n, size_t off, const char *magic, size_t m)
{
    return n >= off + m && memcmp(d + off, magic, m) == 0;
}

/* ---- Python's tarfile, block by block ---------------------------------------------------
 *
 * libarchive reads most tar files, but not the way tarfile does: tarfile
 * treats every type flag it does not know (GNU M, D, V, vendor letters) as a
 * regular file whose data extractfile() returns (tarfile.py, SUPPORTED_TYPES
 * and _proc_builtin), reads header numbers with int(s.strip(), 8) (so '_'
 * separators pass), and accepts any header whose checksum is right, with or
 * without the ustar magic. torch's legacy loader opens its tar with tarfile.
 * So brine walks the headers the way tarfile does, as a second reading, and
 * scans every member that reading returns and libarchive's did not. */

/* The whitespace str.strip() and int() remove from ASCII text: the C locale's
 * isspace() set and the four information separators 0x1c-0x1f. */
static bool py_space(uint8_t ch)
{
    return ch == ' ' || (ch >= '\t' && ch <= '\r') || (ch >= 0x1c && ch <= 0x1f);
}

/* What int(s, base) makes of ASCII text, for base 8 or 10: whitespace around
 * it, a sign, for base 8 a 0o (0O) prefix and one '_' right after it, digits
 * with single '_' between them. 1 with the value, 0 where int() raises
 * (empty text too), -1 for a value past 2**63 - 1 (Python's ints have no
 * bound; no tar number comes near it). */
static int py_int(const uint8_t *p, size_t n, unsigned base, int64_t *out)
{
    size_t b = 0, e = n;
    while (b < e && py_space(p[b]))
        b++;
    while (e > b && py_space(p[e - 1]))
        e--;
    bool neg = false;
    if (b < e && (p[b] == '+' || p[b] == '-'))
        neg = p[b++] == '-';
    bool prefix = base == 8 && e - b >= 2 && p[b] == '0' && (p[b + 1] == 'o' || p[b + 1] == 'O');
    if (prefix)
        b += 2;
    const uint8_t top = (uint8_t)('0' + base - 1);
    uint64_t v = 0;
    bool prev_digit = prefix; /* what may stand before a '_' */
    size_t digits = 0;
    for (size_t i = b; i < e; i++) {
        if (p[i] == '_' && prev_digit && i + 1 < e && p[i + 1] >= '0' && p[i + 1] <= top) {
            prev_digit = false;
            continue;
        }
        if (p[i] < '0' || p[i] > top)
            return 0;
        if (v > ((uint64_t)INT64_MAX - (uint64_t)(p[i] - '0')) / base)
            return -1;
        v = v * base + (uint64_t)(p[i] - '0');
        prev_digit = true;
        digits++;
    }
    if (!digits)
        return 0;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 1;
}

/* tarfile's nti(): base-256 after 0x80 (positive) or 0xff (negative:
 * -(256**(len-1) - n)), else int(s.strip() or "0", 8) of the text up to the
 * first NUL. Signed, as tarfile's numbers are: a negative size or checksum
 * is one tarfile accepts. False where nti raises (or the value does not fit
 * in 63 bits, which no real archive has). */
static bool tar_number(const uint8_t *f, size_t len, int64_t *out)
{
    if (f[0] == 0x80 || f[0] == 0xff) {
        unsigned __int128 v = 0;
        for (size_t i = 1; i < len; i++)
            v = v << 8 | f[i];
        if (f[0] == 0x80) {
            if (v > (unsigned __int128)INT64_MAX)
                return false;
            *out = (int64_t)v;
        } else {
            unsigned __int128 mag = ((unsigned __int128)1 << (8 * (len - 1))) - v; /* len is 8 or 12 */
            if (mag > (unsigned __int128)INT64_MAX)
                return false;
            *out = -(int64_t)mag;
        }
        return true;
    }
    size_t e = 0;
    while (e < len && f[e])
        e++;
    size_t b = 0;
    while (b < e && py_space(f[b]))
        b++;
    if (b == e) { /* nothing but whitespace: "0" */
        *out = 0;
        return true;
    }
    return py_int(f, e, 8, out) == 1;
}

/* A pax record's number as _apply_pax_info reads it: int() of the text (a
 * ValueError makes the value 0). 1 with the value, 0 for what int()
 * refuses, -1 for text with non-ASCII bytes, whose Unicode digits int() also
 * reads (brine does not model those: the caller fails closed), or past 2**63. */
static int pax_number(const uint8_t *p, size_t n, int64_t *out)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 0x80)
            return -1;
    return py_int(p, n, 10, out);
}

/* calc_chksums: the header summed with the checksum field as spaces, unsigned or signed */
static bool tar_checksum_ok(const uint8_t *h)
{
    int64_t want;
    if (!tar_number(h + 148, 8, &want))
        return false;
    /* The unsigned sum first, sixteen bytes a step (psadbw sums each half's
     * bytes; every large bytes constant a model holds is probed, and a byte
     * at a time was a twentieth of a scan). The signed sum is the unsigned
     * one less 256 for each byte from 0x80, so it can equal want only when
     * the unsigned sum exceeds want by a multiple of 256: only then are the
     * high bytes counted (want is 0 for most data, whose field starts with a
     * NUL). The checksum field is counted as eight spaces. */
    int64_t field = 0, field_high = 0;
    for (int i = 148; i < 156; i++) {
        field += h[i];
        field_high += h[i] >> 7;
    }
#if defined(__SSE2__)
    __m128i zero = _mm_setzero_si128(), acc = zero;
    for (int i = 0; i < 512; i += 16)
        acc = _mm_add_epi64(acc, _mm_sad_epu8(_mm_loadu_si128((const __m128i *)(const void *)(h + i)), zero));
    int64_t u = _mm_cvtsi128_si64(acc) + _mm_cvtsi128_si64(_mm_unpackhi_epi64(acc, acc));
#else
    const uint64_t m16 = 0x00ff00ff00ff00ffull;
    uint64_t acc = 0; /* 16-bit lanes: 64 words of at most 510 a lane */
    for (int i = 0; i < 512; i += 8) {
        uint64_t w;
        memcpy(&w, h + i, 8);
        acc += (w & m16) + ((w >> 8) & m16);
    }
    int64_t u = (int64_t)((acc & 0xffff) + ((acc >> 16) & 0xffff) + ((acc >> 32) & 0xffff) + (acc >> 48));
#endif
    u += 8 * ' ' - field;
    if (u == want)
        return true;
    if (want > u || (u - want) % 256)
        return false;
    int64_t nhigh = 0;
    for (int i = 0; i < 512; i++)
        nhigh += h[i] >> 7;
    return u - 256 * (nhigh - field_high) == want;
}

static bool is_zero_block(const uint8_t *h)
{
    for (int i = 0; i < 512; i++)
        if (h[i])
            return false;
    return true;
}

bool brine_archive_probe(const uint8_t *d, size_t n)
{
    return has(d, n, 257, "ustar", 5) || has(d, n, 0, "7z\xbc\xaf\x27\x1c", 6) ||
           (n >= 512 && !is_zero_block(d) && tar_checksum_ok(d)); /* a v7 tar: no magic */
}

/* what libarchive's reading returned, to scan only what it missed: a hash set
 * of (name, size), so that a million-member tar costs linear time */
typedef struct seen_member {
    char *name;
    uint64_t size;
} seen_member;

typedef struct seen_set {
    seen_member *m; /* open addressing; name NULL is empty */
    size_t mask, used;
} seen_set;

static uint64_t seen_hash(const char *name, uint64_t size)
{
    uint64_t h = 0xcbf29ce484222325ull ^ size;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

static bool seen_has(const seen_set *s, const char *name, uint64_t size)
{
    if (!s || !s->m)
        return false;
    for (size_t i = (size_t)seen_hash(name, size) & s->mask; s->m[i].name; i = (i + 1) & s->mask)
        if (s->m[i].size == size && !strcmp(s->m[i].name, name))
            return true;
    return false;
}

/* Add (name, size); false on allocation failure. */
static bool seen_add(brine_drv *c, seen_set *s, const char *name, uint64_t size)
{
    if ((s->used + 1) * 2 > (s->m ? s->mask + 1 : 0)) {
        size_t cap = s->m ? (s->mask + 1) * 2 : 64;
        seen_member *nm = brine_drv_fault(c) ? NULL : calloc(cap, sizeof *nm);
        if (!nm)
            return false;
        for (size_t i = 0; s->m && i <= s->mask; i++)
            if (s->m[i].name) {
                size_t k = (size_t)seen_hash(s->m[i].name, s->m[i].size) & (cap - 1);
                while (nm[k].name)
                    k = (k + 1) & (cap - 1);
                nm[k] = s->m[i];
            }
        free(s->m);
        s->m = nm;
        s->mask = cap - 1;
    }
    if (seen_has(s, name, size))
        return true;
    char *copy = strdup(name);
    if (!copy)
        return false;
    size_t k = (size_t)seen_hash(name, size) & s->mask;
    while (s->m[k].name)
        k = (k + 1) & s->mask;
    s->m[k].name = copy;
    s->m[k].size = size;
    s->used++;
    return true;
}

static void seen_free(seen_set *s)
{
    for (size_t i = 0; s->m && i <= s->mask; i++)
        free(s->m[i].name);
    free(s->m);
}

static bool type_supported(uint8_t t)
{
    return t && strchr("01234567LKS", t);
}

static int tarfile_view(brine_drv *c, const uint8_t *d, size_t n, const brine_loc *loc, unsigned depth,
                        const seen_set *seen)
{
    size_t pos = 0;
    char longname[4096];
    bool have_long = false;
    bool have_pax_size = false; /* a pax 'size' for the next header */
    int64_t pax_size = 0;
    int r = 0;
    uint64_t members = 0;
    while (!c->stopped && n - pos >= 512) {
        const uint8_t *h = d + pos;
        if (is_zero_block(h) || !tar_checksum_ok(h))
            break; /* the end, or tarfile stops with an invalid header */
        int64_t ssize;
        if (!tar_number(h + 124, 12, &ssize))
            break;
        /* a negative size: no data, and tarfile's next header is at
         * offset_data + _block(size), which is offset_data itself from -511
         * to -1, and an earlier header from -512 down: read again and again */
        if (have_pax_size)
            ssize = pax_size;
        if (ssize <= -512) {
            r = brine_drv_fail(c, loc, "tar", BRINE_STATUS_INCONCLUSIVE,
                               "a tar member's size is -512 or less: Python's tarfile reads an earlier header "
                               "again, and again",
                               pos);
            break;
        }
        uint64_t size = ssize < 0 ? 0 : (uint64_t)ssize;
        uint8_t type = h[156];
        size_t data = pos + 512;
        uint64_t blocks = size / 512 + (size % 512 ? 1 : 0);
        if (blocks > (n - data) / 512 + 1)
            blocks = (n - data) / 512 + 1; /* truncated: what is there */
        size_t avail = size < n - data ? (size_t)size : n - data;
        if (type == 'L' || type == 'K') { /* GNU long name: the next header's name */
            if (type == 'L') {
                size_t k = avail < sizeof longname - 1 ? avail : sizeof longname - 1;
                memcpy(longname, d + data, k);
                longname[k] = 0;
                have_long = true;
            }
        } else if (type == 'x' || type == 'g' || type == 'X') { /* pax: "len key=value\n" records */
            size_t q = data, end = data + avail;
            while (type == 'x' && q < end) {
                size_t rl = 0, s0 = q;
                while (q < end && d[q] >= '0' && d[q] <= '9' && rl < (1u << 24))
                    rl = rl * 10 + (size_t)(d[q++] - '0');
                if (!rl || rl > end - s0 || q >= end || d[q] != ' ')
                    break;
                const uint8_t *kv = d + q + 1;
                size_t kvlen = s0 + rl - (q + 1);
                if (kvlen >= 5 && !memcmp(kv, "size=", 5)) {
                    /* the value: the record less its last byte, newline or not (_proc_pax) */
                    size_t vl = kvlen >= 6 ? kvlen - 6 : 0;
                    int pr = pax_number(kv + 5, vl, &pax_size);
                    if (pr < 0) {
                        r = brine_drv_fail(c, loc, "tar", BRINE_STATUS_INCONCLUSIVE,
                                           "a pax size brine cannot read as Python's int() does (non-ASCII or "
                                           "beyond 2**63)",
                                           pos);
                        return r;
                    }
                    if (pr == 0)
                        pax_size = 0; /* tarfile: a ValueError makes it 0 */
                    have_pax_size = true;
                } else if (kvlen > 5 && !memcmp(kv, "path=", 5)) {
                    size_t k = kvlen - 6 < sizeof longname - 1 ? kvlen - 6 : sizeof longname - 1;
                    memcpy(longname, kv + 5, k);
                    longname[k] = 0;
                    have_long = true;
                }
                q = s0 + rl;
            }
            pos = data + (size_t)blocks * 512;
            if (pos > n)
                break;
            continue; /* the pax values apply to the next header */
        } else {
            if (++members > c->s->max_members) {
                r = brine_drv_fail(c, loc, "tar", BRINE_STATUS_INCONCLUSIVE,
                                   "max_members: more archive members than the limit", pos);
                break;
            }
            char name[4096];
            if (have_long) {
                snprintf(name, sizeof name, "%s", longname);
            } else {
                size_t k = 0;
                if (has(h, 512, 257, "ustar\0", 6) && h[345]) { /* POSIX prefix */
                    while (k < 155 && h[345 + k])
                        k++;
                    memcpy(name, h + 345, k);
                    name[k++] = '/';
                }
                size_t m = 0;
                while (m < 100 && h[m])
                    m++;
                memcpy(name + k, h, m);
                name[k + m] = 0;
            }
            have_long = false;
            have_pax_size = false;
            /* regular files and types tarfile does not know carry data that
             * extractfile() returns; the other known types carry none */
            bool regular = type == '0' || type == 0 || type == '7' || type == 'S' || !type_supported(type);
            size_t nl = strlen(name);
            if (type == 0 && nl && name[nl - 1] == '/')
                regular = false; /* an old-style directory */
            if (regular) {
                if (!seen_has(seen, name, size) && avail) {
                    brine_loc *mloc = brine_drv_loc(c, loc, "member", "tar", name, nl, pos);
                    if (!mloc) {
                        r = brine_drv_fail(c, loc, "tar", BRINE_STATUS_INCONCLUSIVE, "out of memory", pos);
                        break;
                    }
                    char msg[160];
                    snprintf(msg, sizeof msg,
                             "type flag '%c': Python's tarfile returns this member's data, libarchive does not",
                             type >= 0x20 && type < 0x7f ? type : '?');
                    brine_drv_finding(c, mloc, pos, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_HIGH, "container",
                                      "tar-readers-disagree", "tar readers disagree", msg);
                    r = brine_drv_feed(c, d + data, avail, mloc, depth + 1, BRINE_FEED_MEMBER);
                    brine_loc_free(mloc);
                }
            } else {
                blocks = 0; /* tarfile does not skip data of a known non-regular type */
            }
        }
        pos = data + (size_t)blocks * 512;
        if (pos > n)
            break;
    }
    return r;
}

/* Read one member's data into o (capped like every decompression). */
static void read_member(brine_drv *c, const brine_libarchive *la, struct archive *a, uint64_t in_len,
                        brine_outbuf *o)
{
    for (;;) {
        size_t room = brine_outbuf_room(c, o, in_len, 1 << 16);
        if (!room)
            break;
        la_ssize_t got = la->archive_read_data(a, o->buf + o->len, room);
        if (got == 0)
            break;
        if (got < 0) {
            o->error = "corrupt archive member";
            break;
        }
        o->len += (size_t)got;
        c->decompressed += (uint64_t)got;
    }
}

int brine_archive_walk(brine_drv *c, const uint8_t *d, size_t n, const brine_loc *loc, unsigned depth)
{
    const char *fmt = has(d, n, 0, "7z", 2) ? "7z" : "tar";
    /* loaded on the first archive; without it nothing is read: fail closed */
    const brine_libarchive *la = brine_libarchive_get();
    if (!la)
        return brine_drv_fail(c, loc, fmt, BRINE_STATUS_INCONCLUSIVE, brine_libarchive_error(), 0);
    struct archive *a = la->archive_read_new();
    if (!a)
        return brine_drv_fail(c, loc, fmt, BRINE_STATUS_INCONCLUSIVE, "out of memory", 0);
    la->archive_read_support_format_tar(a);
    la->archive_read_support_format_7zip(a);
    la->archive_read_support_filter_all(a);
    int r = 0;
    if (la->archive_read_open_memory(a, d, n) != ARCHIVE_OK) {
        la->archive_read_free(a);
        if (!strcmp(fmt, "tar"))
            tarfile_view(c, d, n, loc, depth, NULL);
        return brine_drv_stream(c, loc, fmt, BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED, "unreadable archive", 0);
    }
    struct archive_entry *e;
    int h;
    bool legacy_torch = false;
    seen_set seen = {0};
    while (!c->stopped && (h = la->archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        if (++c->members > c->s->max_members) {
            brine_drv_fail(c, loc, fmt, BRINE_STATUS_INCONCLUSIVE, "max_members: more archive members than the limit",
                           0);
            break;
        }
        const char *name = la->archive_entry_pathname(e);
        if (!name)
            name = "?";
        mode_t type = la->archive_entry_filetype(e);
        int64_t size = la->archive_entry_size_is_set(e) ? la->archive_entry_size(e) : -1;
        /* links, directories and devices carry no data of their own; any
         * other type with data is read like a regular file */
        if (type != AE_IFREG && size <= 0 && type != 0)
            continue;
        brine_loc *mloc = brine_drv_loc(c, loc, "member", fmt, name, strlen(name), 0);
        if (!mloc) {
            brine_drv_fail(c, loc, fmt, BRINE_STATUS_INCONCLUSIVE, "out of memory", 0);
            break;
        }
        if (la->archive_entry_is_encrypted(e)) {
            brine_drv_fail(c, mloc, fmt, BRINE_STATUS_INCONCLUSIVE, "encrypted member: its content cannot be checked",
                           0);
            brine_loc_free(mloc);
            continue;
        }
        brine_outbuf o = {0};
        read_member(c, la, a, n, &o);
        if (!strcmp(fmt, "tar") && o.len && !seen_add(c, &seen, name, (uint64_t)o.len)) {
            brine_drv_fail(c, loc, fmt, BRINE_STATUS_INCONCLUSIVE, "out of memory", 0);
            free(o.buf);
            brine_loc_free(mloc);
            break;
        }
        if (!strcmp(name, "sys_info") || !strcmp(name, "pickle"))
            legacy_torch = true;
        if (o.error)
            brine_drv_fail(c, mloc, fmt, o.inconclusive ? BRINE_STATUS_INCONCLUSIVE : BRINE_STATUS_MALFORMED, o.error,
                           0);
        else if (type != AE_IFREG && size > 0 && (int64_t)o.len < size)
            brine_drv_fail(c, mloc, fmt, BRINE_STATUS_INCONCLUSIVE,
                           type == 0 ? "member of an unknown type whose data libarchive does not return"
                                     : "member of a non-regular type whose data libarchive does not return",
                           0);
        else if (legacy_torch && (!strcmp(name, "storages") || !strcmp(name, "tensors")))
            brine_torch_tar_member(c, o.buf, o.len, mloc, depth + 1, !strcmp(name, "storages"));
        else if (o.len)
            brine_drv_feed(c, o.buf, o.len, mloc, depth + 1,
                           legacy_torch && !strcmp(name, "pickle") ? BRINE_FEED_LOADED : BRINE_FEED_MEMBER);
        free(o.buf);
        brine_loc_free(mloc);
    }
    bool corrupt = !c->stopped && h != ARCHIVE_EOF && h != ARCHIVE_OK;
    la->archive_read_free(a);
    if (!strcmp(fmt, "tar") && !c->stopped)
        r = tarfile_view(c, d, n, loc, depth, &seen);
    seen_free(&seen);
    if (corrupt)
        brine_drv_stream(c, loc, fmt, BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED, "corrupt archive", 0);
    else if (!c->stopped)
        brine_drv_stream(c, loc, fmt, BRINE_VERDICT_SAFE, BRINE_STATUS_COMPLETE, NULL, 0);
    return c->stopped ? BRINE_ERR_CALLBACK : r;
}
