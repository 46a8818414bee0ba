/* A structure-aware mutator for zip archives (LLVMFuzzerCustomMutator) for the
 * scan target. Byte flips almost never keep a zip's three views (central
 * directory, local headers, end records) consistent, so the reader's deeper
 * checks (readers that disagree, duplicates, hidden members, zip64, prefix
 * shifts, CRCs, data descriptors) are rarely reached. When the input parses as
 * a zip, one mutation is applied that keeps the records parseable and the
 * offsets right (or breaks exactly one thing on purpose):
 *   - in place (the rest of the file kept byte for byte): a central, local or
 *     end-record field, or the same field in both headers, set to an
 *     interesting value;
 *   - by rebuilding the archive from its members (prefix, local blobs, central
 *     records, optional zip64 end records, end record, comment, trailing data)
 *     with every offset and size recomputed: duplicate, delete, reorder or add
 *     members, rename (central, local or both), prefix or trailing bytes, a
 *     pickle payload, stored <-> deflate (raw deflate in stored blocks, so no
 *     zlib is linked), zip64 end records and extra fields, data descriptors.
 * Half of the calls (and every input that is not a zip) go to libFuzzer's own
 * LLVMFuzzerMutate. BRINE_ZIPMUT=0 in the environment turns the zip mutations
 * off (for comparing campaigns). zm_last_kind tells the unit test which
 * mutation the last call applied. Included by fuzz_scan.c only when built for
 * libFuzzer, and by test/unit/test_zip_mutator.c with a stub LLVMFuzzerMutate. */
#ifndef BRINE_ZIP_MUTATOR_H
#define BRINE_ZIP_MUTATOR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

enum {
    ZM_K_LIBFUZZER, /* delegated */
    ZM_K_CEN_FIELD,
    ZM_K_LOC_FIELD,
    ZM_K_BOTH_FIELD,
    ZM_K_EOCD_FIELD,
    ZM_K_DUP,
    ZM_K_DUP_CEN,
    ZM_K_DELETE,
    ZM_K_DELETE_CEN,
    ZM_K_REORDER,
    ZM_K_ADD_MEMBER,
    ZM_K_RENAME,
    ZM_K_PREFIX,
    ZM_K_TRAIL,
    ZM_K_PAYLOAD,
    ZM_K_METHOD,
    ZM_K_ZIP64_EOCD,
    ZM_K_ZIP64_EXTRA,
    ZM_K_DESCRIPTOR,
    ZM_K_COUNT
};

static int zm_last_kind;

#define ZM_MAX 256

static const uint8_t zm_pickle[] = "\x80\x02"
                                   "cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.";
#define ZM_PICKLE_LEN (sizeof zm_pickle - 1)

typedef struct zm_slice {
    uint8_t *p;
    size_t n;
} zm_slice;

typedef struct zm_model {
    uint8_t *base; /* private copy of the input: slices point into it, at the input's offsets */
    zm_slice prefix, comment, trail;
    /* members by local header, in the directory's order: the header, the
     * body (data and data descriptor), and how much of the body is data */
    zm_slice lh[ZM_MAX], lb[ZM_MAX];
    size_t ld[ZM_MAX];
    zm_slice cen[ZM_MAX];
    int cen_loc[ZM_MAX]; /* which loc a central record points at, -1 for none */
    size_t nloc, ncen;
    size_t eocd, cd_start;
    bool z64, absolute; /* absolute: the offsets count the prefix (miniz's view), else zipfile's */
    bool complete;      /* every central record is in the model: rebuilding loses no member */
    uint8_t *arena;     /* what the mutations write: new records, payloads, re-encoded data */
    size_t used, cap;
} zm_model;

static uint16_t zm_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t zm_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t zm_u64(const uint8_t *p)
{
    return (uint64_t)zm_u32(p) | (uint64_t)zm_u32(p + 4) << 32;
}

static void zm_put(uint8_t *p, uint64_t v, int w)
{
    for (int i = 0; i < w; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t zm_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Bitwise CRC-32: only ever run on the small payloads the mutator writes. */
static uint32_t zm_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c >> 1 ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

static uint8_t *zm_alloc(zm_model *m, size_t n)
{
    if (n > m->cap - m->used)
        return NULL;
    uint8_t *p = m->arena + m->used;
    m->used += n;
    return p;
}

/* Where a central record keeps its local-header offset: the zip64 extra when
 * the 32-bit field says 0xffffffff and the extra has it, else the field. */
static uint8_t *zm_cen_off_field(uint8_t *rec, size_t len, int *w)
{
    *w = 4;
    if (zm_u32(rec + 42) != 0xffffffffu)
        return rec + 42;
    size_t nlen = zm_u16(rec + 28), xlen = zm_u16(rec + 30), i = 46 + nlen;
    size_t xend = 46 + nlen + xlen > len ? len : 46 + nlen + xlen;
    while (i + 4 <= xend) {
        size_t id = zm_u16(rec + i), l = zm_u16(rec + i + 2);
        if (i + 4 + l > xend)
            break;
        if (id == 1) {
            size_t at = i + 4 + (zm_u32(rec + 24) == 0xffffffffu ? 8 : 0) + (zm_u32(rec + 20) == 0xffffffffu ? 8 : 0);
            if (at + 8 <= i + 4 + l) {
                *w = 8;
                return rec + at;
            }
            break;
        }
        i += 4 + l;
    }
    return rec + 42;
}

/* The central record's compressed size, through its zip64 extra if needed. */
static uint64_t zm_cen_csize(const uint8_t *rec, size_t len)
{
    uint64_t cs = zm_u32(rec + 20);
    if (cs != 0xffffffffu)
        return cs;
    size_t nlen = zm_u16(rec + 28), xlen = zm_u16(rec + 30), i = 46 + nlen;
    size_t xend = 46 + nlen + xlen > len ? len : 46 + nlen + xlen;
    while (i + 4 <= xend) {
        size_t id = zm_u16(rec + i), l = zm_u16(rec + i + 2);
        if (i + 4 + l > xend)
            break;
        if (id == 1) {
            size_t at = i + 4 + (zm_u32(rec + 24) == 0xffffffffu ? 8 : 0);
            return at + 8 <= i + 4 + l ? zm_u64(rec + at) : cs;
        }
        i += 4 + l;
    }
    return cs;
}

/* Parse data into m (m->base is a copy of data). False when no end record and
 * directory can be found: the caller falls back to libFuzzer. Broken pieces
 * are tolerated: a record that does not parse ends the directory, a local
 * header that is not there leaves its member without one. */
static bool zm_parse(zm_model *m, size_t size)
{
    uint8_t *d = m->base;
    if (size < 22)
        return false;
    size_t lo = size > 22 + 65535 ? size - 22 - 65535 : 0, eocd = SIZE_MAX;
    for (size_t i = size - 22 + 1; i-- > lo;)
        if (zm_u32(d + i) == 0x06054b50u) {
            eocd = i;
            break;
        }
    if (eocd == SIZE_MAX)
        return false;
    uint64_t entries = zm_u16(d + eocd + 10), cd_size = zm_u32(d + eocd + 12), cd_off = zm_u32(d + eocd + 16);
    size_t dir_end = eocd;
    m->z64 = false;
    if (eocd >= 20 && zm_u32(d + eocd - 20) == 0x07064b50u) {
        size_t at = SIZE_MAX;
        if (eocd - 20 >= 56 && zm_u32(d + eocd - 76) == 0x06064b50u)
            at = eocd - 76;
        else if (zm_u64(d + eocd - 12) < size && size - zm_u64(d + eocd - 12) >= 56 &&
                 zm_u32(d + zm_u64(d + eocd - 12)) == 0x06064b50u)
            at = (size_t)zm_u64(d + eocd - 12);
        if (at != SIZE_MAX && at < eocd) {
            m->z64 = true;
            entries = zm_u64(d + at + 32);
            cd_size = zm_u64(d + at + 40);
            cd_off = zm_u64(d + at + 48);
            dir_end = at;
        }
    }
    /* zipfile's placement first (the directory ends where the end records
     * begin), then the offsets as written */
    size_t cd_start = SIZE_MAX, shift = 0;
    if (cd_size <= dir_end && cd_off <= dir_end - cd_size && dir_end - cd_size + 46 <= size &&
        zm_u32(d + dir_end - cd_size) == 0x02014b50u) {
        cd_start = dir_end - (size_t)cd_size;
        shift = cd_start - (size_t)cd_off;
    } else if (cd_off < size && size - cd_off >= 46 && zm_u32(d + cd_off) == 0x02014b50u) {
        cd_start = (size_t)cd_off;
    } else if (cd_size == 0 && entries == 0) {
        cd_start = dir_end; /* an empty archive: members can still be added */
        shift = cd_off <= cd_start ? cd_start - (size_t)cd_off : 0;
    } else {
        return false;
    }
    m->eocd = eocd;
    m->cd_start = cd_start;
    m->nloc = m->ncen = 0;
    m->complete = true;
    m->used = 0;
    size_t p = cd_start, first = cd_start;
    while (p + 46 <= dir_end && zm_u32(d + p) == 0x02014b50u) {
        size_t rl = 46 + (size_t)zm_u16(d + p + 28) + zm_u16(d + p + 30) + zm_u16(d + p + 32);
        if (rl > dir_end - p)
            break;
        if (m->ncen == ZM_MAX) {
            m->complete = false;
            break;
        }
        size_t c = m->ncen++;
        m->cen[c] = (zm_slice){d + p, rl};
        m->cen_loc[c] = -1;
        int w;
        const uint8_t *of = zm_cen_off_field(d + p, rl, &w);
        uint64_t lh = (w == 8 ? zm_u64(of) : zm_u32(of)) + shift;
        p += rl;
        if (lh >= size || size - lh < 30 || zm_u32(d + lh) != 0x04034b50u)
            continue;
        for (size_t k = 0; k < m->nloc; k++)
            if (m->lh[k].p == d + lh)
                m->cen_loc[c] = (int)k;
        if (m->cen_loc[c] >= 0)
            continue;
        size_t hl = 30 + (size_t)zm_u16(d + lh + 26) + zm_u16(d + lh + 28);
        if (hl > size - lh)
            continue;
        uint64_t cs = zm_cen_csize(m->cen[c].p, rl);
        size_t len = hl + (cs <= size - lh - hl ? (size_t)cs : size - lh - hl);
        if (zm_u16(d + lh + 6) & 8 && cs <= size - lh - hl) {
            /* a data descriptor, with or without its signature */
            size_t dl = size - lh - len >= 16 && zm_u32(d + lh + len) == 0x08074b50u ? 16 : 12;
            if (dl <= size - lh - len)
                len += dl;
        }
        m->lh[m->nloc] = (zm_slice){d + lh, hl};
        m->lb[m->nloc] = (zm_slice){d + lh + hl, len - hl};
        m->ld[m->nloc] = cs <= size - lh - hl ? (size_t)cs : size - lh - hl;
        m->cen_loc[c] = (int)m->nloc++;
        if (lh < first)
            first = (size_t)lh;
    }
    m->prefix = (zm_slice){d, first};
    m->absolute = shift == 0;
    size_t cl = zm_u16(d + eocd + 20), cend = eocd + 22 + (cl <= size - eocd - 22 ? cl : size - eocd - 22);
    m->comment = (zm_slice){d + eocd + 22, cend - eocd - 22};
    m->trail = (zm_slice){d + cend, size - cend};
    return true;
}

static bool zm_emit(uint8_t *out, size_t *pos, size_t max, const void *src, size_t n)
{
    if (n > max - *pos)
        return false;
    if (n)
        memcpy(out + *pos, src, n);
    *pos += n;
    return true;
}

/* Write the model as an archive into out: every offset and size recomputed.
 * Returns the size, or 0 if it does not fit max. */
static size_t zm_write(zm_model *m, uint8_t *out, size_t max)
{
    size_t pos = 0, locpos[ZM_MAX];
    if (!zm_emit(out, &pos, max, m->prefix.p, m->prefix.n))
        return 0;
    size_t base = m->absolute ? 0 : m->prefix.n;
    for (size_t i = 0; i < m->nloc; i++) {
        locpos[i] = pos;
        if (!zm_emit(out, &pos, max, m->lh[i].p, m->lh[i].n) || !zm_emit(out, &pos, max, m->lb[i].p, m->lb[i].n))
            return 0;
    }
    size_t cd = pos;
    for (size_t i = 0; i < m->ncen; i++) {
        size_t at = pos;
        if (!zm_emit(out, &pos, max, m->cen[i].p, m->cen[i].n))
            return 0;
        if (m->cen_loc[i] >= 0) {
            int w;
            uint8_t *f = zm_cen_off_field(out + at, m->cen[i].n, &w);
            zm_put(f, locpos[m->cen_loc[i]] - base, w);
        }
    }
    size_t cd_size = pos - cd, n = m->ncen;
    uint8_t rec[56 + 20 + 22];
    size_t rl = 0;
    if (m->z64) {
        uint8_t *r = rec;
        memset(r, 0, 76);
        zm_put(r, 0x06064b50u, 4);
        zm_put(r + 4, 44, 8);
        zm_put(r + 12, 45, 2);
        zm_put(r + 14, 45, 2);
        zm_put(r + 24, n, 8);
        zm_put(r + 32, n, 8);
        zm_put(r + 40, cd_size, 8);
        zm_put(r + 48, cd - base, 8);
        zm_put(r + 56, 0x07064b50u, 4);
        zm_put(r + 64, pos - base, 8);
        zm_put(r + 72, 1, 4);
        rl = 76;
    }
    uint8_t *e = rec + rl;
    memcpy(e, m->base + m->eocd, 22); /* disk numbers and comment length as they were */
    zm_put(e + 8, n > 0xffff ? 0xffff : n, 2);
    zm_put(e + 10, n > 0xffff ? 0xffff : n, 2);
    zm_put(e + 12, cd_size, 4);
    zm_put(e + 16, m->z64 && cd - base > 0xffffffffu ? 0xffffffffu : cd - base, 4);
    zm_put(e + 20, m->comment.n, 2);
    rl += 22;
    if (!zm_emit(out, &pos, max, rec, rl) || !zm_emit(out, &pos, max, m->comment.p, m->comment.n) ||
        !zm_emit(out, &pos, max, m->trail.p, m->trail.n))
        return 0;
    return pos;
}

/* An interesting value for a field of w bytes that holds old; other is the
 * same field of another record. */
static uint64_t zm_value(uint32_t *rs, uint64_t old, uint64_t other, int w)
{
    uint64_t maxv = w == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * w)) - 1;
    static const uint16_t methods[] = {0, 8, 12, 14, 1, 99};
    static const uint16_t flags[] = {0, 1, 8, 0x800, 0x808, 0x41, 0x2000};
    switch (zm_rand(rs) % 9) {
    case 0: return 0;
    case 1: return 1;
    case 2: return maxv;
    case 3: return (old + 1) & maxv;
    case 4: return (old - 1) & maxv;
    case 5: return other;
    case 6: return w == 2 ? methods[zm_rand(rs) % 6] : maxv - 1;
    case 7: return w == 2 ? flags[zm_rand(rs) % 7] : old ^ (1u << (zm_rand(rs) % 32));
    default: return zm_rand(rs) & maxv;
    }
}

/* Field offsets and widths: central record, local header, end record. */
static const uint8_t zm_cen_fields[][2] = {{4, 2},  {6, 2},  {8, 2},  {10, 2}, {12, 2}, {16, 4},
                                           {20, 4}, {24, 4}, {34, 2}, {36, 2}, {38, 4}, {42, 4}};
static const uint8_t zm_loc_fields[][2] = {{4, 2}, {6, 2}, {8, 2}, {10, 2}, {14, 4}, {18, 4}, {22, 4}};
/* the central fields that have a local twin: central offset, local offset */
static const uint8_t zm_twin_fields[][3] = {{6, 4, 2}, {8, 6, 2}, {10, 8, 2}, {16, 14, 4}, {20, 18, 4}, {24, 22, 4}};
static const uint8_t zm_eocd_fields[][2] = {{4, 2}, {6, 2}, {8, 2}, {10, 2}, {12, 4}, {16, 4}, {20, 2}};


static uint64_t zm_get(const uint8_t *p, int w)
{
    return w == 2 ? zm_u16(p) : w == 4 ? zm_u32(p) : zm_u64(p);
}

/* One field (offset, width) of the header at hdr, chosen from fields, set to
 * an interesting value; other is another header of the same kind, whose value
 * is one of the candidates. */
static void zm_field(uint32_t *rs, uint8_t *hdr, const uint8_t *other, const uint8_t (*fields)[2], size_t nfields)
{
    const uint8_t *f = fields[zm_rand(rs) % nfields];
    zm_put(hdr + f[0], zm_value(rs, zm_get(hdr + f[0], f[1]), zm_get(other + f[0], f[1]), f[1]), f[1]);
}

/* A copy of record s (the central record: name at 46, its length at 28; a
 * local header: 30 and 26) with another name, in the arena. */
static bool zm_rename(zm_model *m, zm_slice *s, size_t fixed, size_t lenf, const uint8_t *name, size_t nl)
{
    if (s->n < fixed)
        return false;
    size_t ol = zm_u16(s->p + lenf);
    if (ol > s->n - fixed)
        return false;
    uint8_t *r = zm_alloc(m, s->n - ol + nl);
    if (!r)
        return false;
    memcpy(r, s->p, fixed);
    zm_put(r + lenf, nl, 2);
    memcpy(r + fixed, name, nl);
    memcpy(r + fixed + nl, s->p + fixed + ol, s->n - fixed - ol);
    *s = (zm_slice){r, s->n - ol + nl};
    return true;
}

/* A stored member holding src (header, body and central record in the arena). */
static bool zm_new_member(zm_model *m, const uint8_t *name, size_t nl, const uint8_t *src, size_t n, zm_slice *lh,
                          zm_slice *lb, zm_slice *cen)
{
    uint8_t *l = zm_alloc(m, 30 + nl), *c = zm_alloc(m, 46 + nl), *b = zm_alloc(m, n);
    if (!l || !c || !b)
        return false;
    memset(l, 0, 30);
    memset(c, 0, 46);
    uint32_t crc = zm_crc32(src, n);
    zm_put(l, 0x04034b50u, 4);
    zm_put(l + 4, 20, 2);
    zm_put(l + 14, crc, 4);
    zm_put(l + 18, n, 4);
    zm_put(l + 22, n, 4);
    zm_put(l + 26, nl, 2);
    memcpy(l + 30, name, nl);
    zm_put(c, 0x02014b50u, 4);
    zm_put(c + 4, 20, 2);
    zm_put(c + 6, 20, 2);
    zm_put(c + 16, crc, 4);
    zm_put(c + 20, n, 4);
    zm_put(c + 24, n, 4);
    zm_put(c + 28, nl, 2);
    memcpy(c + 46, name, nl);
    memcpy(b, src, n);
    *lh = (zm_slice){l, 30 + nl};
    *lb = (zm_slice){b, n};
    *cen = (zm_slice){c, 46 + nl};
    return true;
}

/* A writable copy of a slice, so that a mutation never edits bytes another
 * record (a duplicate) shares. */
static bool zm_own(zm_model *m, zm_slice *s)
{
    uint8_t *p = zm_alloc(m, s->n);
    if (!p)
        return false;
    memcpy(p, s->p, s->n);
    s->p = p;
    return true;
}

/* Raw deflate in stored blocks (BTYPE 00): a valid method-8 stream with no
 * compressor linked. */
static size_t zm_deflate_stored(const uint8_t *src, size_t n, uint8_t *out)
{
    size_t o = 0, i = 0;
    do {
        size_t k = n - i > 65535 ? 65535 : n - i;
        out[o++] = i + k == n; /* BFINAL on the last block */
        zm_put(out + o, k, 2);
        zm_put(out + o + 2, ~k & 0xffff, 2);
        memcpy(out + o + 4, src + i, k);
        o += 4 + k;
        i += k;
    } while (i < n);
    return o;
}

/* The inverse, for streams made only of stored blocks; SIZE_MAX otherwise. */
static size_t zm_inflate_stored(const uint8_t *src, size_t n, uint8_t *out)
{
    size_t i = 0, o = 0;
    for (;;) {
        if (n - i < 5 || (src[i] & 6) != 0)
            return SIZE_MAX;
        bool last = src[i] & 1;
        size_t k = zm_u16(src + i + 1);
        if (zm_u16(src + i + 3) != (~k & 0xffff) || k > n - i - 5)
            return SIZE_MAX;
        memcpy(out + o, src + i + 5, k);
        o += k;
        i += 5 + k;
        if (last)
            return o;
    }
}

static const char *const zm_names[] = {
    "archive/data.pkl", "data.pkl", "archive/data/0",  "archive/code/x.py", "x.npy", "a.pickle",
    "../../x.pkl",      "",         "archive/version", "/data.pkl"};

/* One mutation of kind k on the parsed m; the result goes to data. 0 when the
 * kind does not apply to this archive (the caller tries another). */
static size_t zm_apply(zm_model *m, int k, uint8_t *data, size_t size, size_t max_size, uint32_t *rs)
{
    size_t nc = m->ncen, nl = m->nloc;
    size_t i = nc ? zm_rand(rs) % nc : 0, j = nc ? zm_rand(rs) % nc : 0;
    int li = nc ? m->cen_loc[i] : -1;
    size_t ki = nl ? zm_rand(rs) % nl : 0, kj = nl ? zm_rand(rs) % nl : 0;
    switch (k) {
    /* ---- in place: the rest of the file stays as it was ---- */
    case ZM_K_CEN_FIELD:
        if (!nc)
            return 0;
        zm_field(rs, data + (m->cen[i].p - m->base), m->cen[j].p, zm_cen_fields,
                 sizeof zm_cen_fields / sizeof zm_cen_fields[0]);
        return size;
    case ZM_K_LOC_FIELD:
        if (!nl)
            return 0;
        zm_field(rs, data + (m->lh[ki].p - m->base), m->lh[kj].p, zm_loc_fields,
                 sizeof zm_loc_fields / sizeof zm_loc_fields[0]);
        return size;
    case ZM_K_BOTH_FIELD: {
        /* the same value in both headers: the readers agree on something new */
        if (li < 0)
            return 0;
        const uint8_t *f = zm_twin_fields[zm_rand(rs) % (sizeof zm_twin_fields / sizeof zm_twin_fields[0])];
        uint8_t *c = data + (m->cen[i].p - m->base) + f[0], *l = data + (m->lh[li].p - m->base) + f[1];
        uint64_t v = zm_value(rs, zm_get(c, f[2]), zm_get(m->cen[j].p + f[0], f[2]), f[2]);
        zm_put(c, v, f[2]);
        zm_put(l, v, f[2]);
        return size;
    }
    case ZM_K_EOCD_FIELD: {
        const uint8_t *f = zm_eocd_fields[zm_rand(rs) % (sizeof zm_eocd_fields / sizeof zm_eocd_fields[0])];
        uint8_t *p = data + m->eocd + f[0];
        uint64_t old = zm_get(p, f[1]);
        zm_put(p, zm_value(rs, old, f[0] == 8 || f[0] == 10 ? nc : old, f[1]), f[1]);
        return size;
    }
    /* ---- rebuilt: members change, every offset is recomputed ---- */
    case ZM_K_DUP:
    case ZM_K_DUP_CEN:
    case ZM_K_ADD_MEMBER: {
        if (!m->complete || nc >= ZM_MAX || nl >= ZM_MAX || (k != ZM_K_ADD_MEMBER && !nc))
            return 0;
        zm_slice cen;
        int to = -1;
        if (k == ZM_K_ADD_MEMBER) {
            /* a pickle under a name the loaders load, another member's name, or a
             * torch data.pkl next to another member's directory */
            uint8_t name[80];
            size_t n = 0;
            uint32_t r = zm_rand(rs) % 4;
            if (r == 0 && nc) {
                n = zm_u16(m->cen[j].p + 28);
                n = n > sizeof name ? sizeof name : n;
                n = n > m->cen[j].n - 46 ? m->cen[j].n - 46 : n;
                memcpy(name, m->cen[j].p + 46, n);
            } else if (r == 1 && nc) {
                size_t on = zm_u16(m->cen[j].p + 28);
                on = on > m->cen[j].n - 46 ? m->cen[j].n - 46 : on;
                const uint8_t *sl = memchr(m->cen[j].p + 46, '/', on);
                n = sl ? (size_t)(sl - (m->cen[j].p + 46)) : 0;
                n = n > sizeof name - 9 ? sizeof name - 9 : n;
                memcpy(name, m->cen[j].p + 46, n);
                memcpy(name + n, "/data.pkl", 9);
                n += 9;
            } else {
                const char *s = zm_names[zm_rand(rs) % (sizeof zm_names / sizeof zm_names[0])];
                n = strlen(s);
                memcpy(name, s, n);
            }
            if (!zm_new_member(m, name, n, zm_pickle, ZM_PICKLE_LEN, &m->lh[nl], &m->lb[nl], &cen))
                return 0;
            m->ld[nl] = ZM_PICKLE_LEN;
            to = (int)m->nloc++;
        } else {
            cen = m->cen[i];
            to = li;
            if (k == ZM_K_DUP && li >= 0) { /* a second copy of the member: the same name twice */
                m->lh[nl] = m->lh[li];
                m->lb[nl] = m->lb[li];
                m->ld[nl] = m->ld[li];
                to = (int)m->nloc++;
            } /* else two directory records for one local header: overlapping members */
        }
        size_t at = zm_rand(rs) % (nc + 1);
        memmove(&m->cen[at + 1], &m->cen[at], (nc - at) * sizeof m->cen[0]);
        memmove(&m->cen_loc[at + 1], &m->cen_loc[at], (nc - at) * sizeof m->cen_loc[0]);
        m->cen[at] = cen;
        m->cen_loc[at] = to;
        m->ncen++;
        break;
    }
    case ZM_K_DELETE:
    case ZM_K_DELETE_CEN: {
        if (!m->complete || !nc)
            return 0;
        bool shared = false;
        for (size_t c = 0; c < nc; c++)
            shared |= c != i && m->cen_loc[c] == li;
        /* the local header stays when another record uses it, or on purpose
         * (DELETE_CEN: a member only the local headers show) */
        if (k == ZM_K_DELETE && li >= 0 && !shared)
            m->lh[li].n = m->lb[li].n = 0;
        memmove(&m->cen[i], &m->cen[i + 1], (nc - i - 1) * sizeof m->cen[0]);
        memmove(&m->cen_loc[i], &m->cen_loc[i + 1], (nc - i - 1) * sizeof m->cen_loc[0]);
        m->ncen--;
        break;
    }
    case ZM_K_REORDER: {
        if (!m->complete || (nc < 2 && nl < 2))
            return 0;
        if (zm_rand(rs) % 2 && nc >= 2) { /* the directory's order */
            zm_slice t = m->cen[i];
            int tl = m->cen_loc[i];
            m->cen[i] = m->cen[j], m->cen_loc[i] = m->cen_loc[j];
            m->cen[j] = t, m->cen_loc[j] = tl;
        } else if (nl >= 2) { /* the order of the data: the directory follows */
            zm_slice th = m->lh[ki], tb = m->lb[ki];
            size_t td = m->ld[ki];
            m->lh[ki] = m->lh[kj], m->lb[ki] = m->lb[kj], m->ld[ki] = m->ld[kj];
            m->lh[kj] = th, m->lb[kj] = tb, m->ld[kj] = td;
            for (size_t c = 0; c < nc; c++)
                m->cen_loc[c] = m->cen_loc[c] == (int)ki ? (int)kj : m->cen_loc[c] == (int)kj ? (int)ki : m->cen_loc[c];
        } else {
            return 0;
        }
        break;
    }
    case ZM_K_RENAME: {
        if (!m->complete || !nc)
            return 0;
        uint8_t name[80];
        size_t n;
        uint32_t r = zm_rand(rs) % 3;
        size_t on = zm_u16(m->cen[i].p + 28);
        on = on > m->cen[i].n - 46 ? m->cen[i].n - 46 : on;
        if (r == 0) { /* another member's name */
            n = zm_u16(m->cen[j].p + 28);
            n = n > m->cen[j].n - 46 ? m->cen[j].n - 46 : n;
            n = n > sizeof name ? sizeof name : n;
            memcpy(name, m->cen[j].p + 46, n);
        } else if (r == 1 && on) { /* the same name, one byte off, or a byte longer */
            n = on > sizeof name - 1 ? sizeof name - 1 : on;
            memcpy(name, m->cen[i].p + 46, n);
            if (zm_rand(rs) % 2)
                name[zm_rand(rs) % n] ^= 1 << zm_rand(rs) % 7;
            else
                name[n++] = zm_rand(rs) % 2 ? '/' : 'x';
        } else {
            const char *s = zm_names[zm_rand(rs) % (sizeof zm_names / sizeof zm_names[0])];
            n = strlen(s);
            memcpy(name, s, n);
        }
        /* central only, local only (the two disagree), or both */
        uint32_t where = zm_rand(rs) % 3;
        if (where != 1 && !zm_rename(m, &m->cen[i], 46, 28, name, n))
            return 0;
        if (where != 0 && (li < 0 || !zm_rename(m, &m->lh[li], 30, 26, name, n)))
            return 0;
        break;
    }
    case ZM_K_PREFIX: {
        if (!m->complete)
            return 0;
        uint32_t r = zm_rand(rs) % 4;
        if (r == 0 && m->prefix.n) { /* no prefix any more */
            m->prefix.n = 0;
            m->absolute = true;
            break;
        }
        /* bytes before the archive: a pickle (the file reads as both) or junk;
         * the offsets either count them (miniz's view) or not (zipfile's) */
        size_t add = r == 1 ? 1 + zm_rand(rs) % 64 : ZM_PICKLE_LEN;
        uint8_t *p = zm_alloc(m, add + m->prefix.n);
        if (!p)
            return 0;
        if (r == 1)
            for (size_t x = 0; x < add; x++)
                p[x] = (uint8_t)zm_rand(rs);
        else
            memcpy(p, zm_pickle, add);
        memcpy(p + add, m->prefix.p, m->prefix.n);
        m->prefix = (zm_slice){p, add + m->prefix.n};
        m->absolute = zm_rand(rs) % 2;
        break;
    }
    case ZM_K_TRAIL: {
        if (!m->complete)
            return 0;
        uint32_t r = zm_rand(rs) % 5;
        if (r == 0 && (m->trail.n || m->comment.n)) {
            m->trail.n = m->comment.n = 0;
            break;
        }
        if (r == 1) { /* a pickle as the archive comment */
            m->comment = (zm_slice){(uint8_t *)zm_pickle, ZM_PICKLE_LEN};
            break;
        }
        /* after the end record: a pickle, a second end record, or junk */
        size_t add = r == 2 ? ZM_PICKLE_LEN : r == 3 ? 22 : 1 + zm_rand(rs) % 32;
        uint8_t *p = zm_alloc(m, add);
        if (!p)
            return 0;
        if (r == 2)
            memcpy(p, zm_pickle, add);
        else if (r == 3)
            memcpy(p, m->base + m->eocd, 22), zm_put(p + 20, 0, 2);
        else
            for (size_t x = 0; x < add; x++)
                p[x] = (uint8_t)zm_rand(rs);
        if (m->trail.n + add <= 4096 && zm_rand(rs) % 2) {
            uint8_t *q = zm_alloc(m, m->trail.n + add);
            if (!q)
                return 0;
            memcpy(q, m->trail.p, m->trail.n);
            memcpy(q + m->trail.n, p, add);
            p = q, add += m->trail.n;
        }
        m->trail = (zm_slice){p, add};
        break;
    }
    case ZM_K_PAYLOAD:
    case ZM_K_METHOD:
    case ZM_K_DESCRIPTOR: {
        if (!m->complete || li < 0 || !zm_own(m, &m->cen[i]) || !zm_own(m, &m->lh[li]))
            return 0;
        uint8_t *c = m->cen[i].p, *l = m->lh[li].p;
        size_t dn = m->ld[li];
        const uint8_t *src = m->lb[li].p;
        if (k == ZM_K_DESCRIPTOR) {
            if (zm_u16(l + 6) & 8) { /* the sizes back in the header, no descriptor */
                zm_put(l + 6, zm_u16(l + 6) & ~8u, 2);
                zm_put(c + 8, zm_u16(c + 8) & ~8u, 2);
                memcpy(l + 14, c + 16, 12);
                m->lb[li].n = dn;
                break;
            }
            uint8_t *b = zm_alloc(m, dn + 16);
            if (!b)
                return 0;
            memcpy(b, src, dn);
            bool sig = zm_rand(rs) % 2;
            size_t at = dn;
            if (sig)
                zm_put(b + at, 0x08074b50u, 4), at += 4;
            memcpy(b + at, c + 16, 12);
            zm_put(l + 6, zm_u16(l + 6) | 8, 2);
            if (zm_rand(rs) % 4) /* the directory usually says so too */
                zm_put(c + 8, zm_u16(c + 8) | 8, 2);
            if (zm_rand(rs) % 4) /* sizes and CRC only in the descriptor */
                memset(l + 14, 0, 12);
            m->lb[li] = (zm_slice){b, at + 12};
            break;
        }
        uint8_t *b;
        size_t bn, un;
        uint16_t method;
        if (k == ZM_K_PAYLOAD) {
            bool deflate = zm_rand(rs) % 3 == 0;
            if (!(b = zm_alloc(m, ZM_PICKLE_LEN + 5)))
                return 0;
            bn = deflate ? zm_deflate_stored(zm_pickle, ZM_PICKLE_LEN, b)
                         : (memcpy(b, zm_pickle, ZM_PICKLE_LEN), ZM_PICKLE_LEN);
            un = ZM_PICKLE_LEN;
            method = deflate ? 8 : 0;
            uint32_t crc = zm_rand(rs) % 4 ? zm_crc32(zm_pickle, ZM_PICKLE_LEN) : zm_u32(c + 16); /* or stale */
            zm_put(c + 16, crc, 4);
        } else if (zm_u16(c + 10) == 0) { /* stored -> deflate */
            if (!(b = zm_alloc(m, dn + 5 * (dn / 65535 + 1))))
                return 0;
            bn = zm_deflate_stored(src, dn, b);
            un = dn;
            method = 8;
        } else if (zm_u16(c + 10) == 8) { /* deflate -> stored, when it is made of stored blocks */
            if (!(b = zm_alloc(m, dn)) || (un = zm_inflate_stored(src, dn, b)) == SIZE_MAX)
                return 0;
            bn = un;
            method = 0;
        } else {
            return 0;
        }
        /* both headers agree, the data descriptor goes (its sizes would be stale) */
        zm_put(c + 8, zm_u16(c + 8) & ~8u, 2);
        zm_put(c + 10, method, 2);
        zm_put(c + 20, bn, 4);
        zm_put(c + 24, un, 4);
        zm_put(l + 6, zm_u16(l + 6) & ~8u, 2);
        memcpy(l + 8, c + 10, 2);
        memcpy(l + 14, c + 16, 12);
        m->lb[li] = (zm_slice){b, bn};
        m->ld[li] = bn;
        break;
    }
    case ZM_K_ZIP64_EOCD:
        if (!m->complete)
            return 0;
        m->z64 = !m->z64;
        break;
    case ZM_K_ZIP64_EXTRA: {
        if (!m->complete || !nc)
            return 0;
        zm_slice *s = &m->cen[i];
        size_t nlen = zm_u16(s->p + 28), xlen = zm_u16(s->p + 30);
        if (46 + nlen + xlen > s->n)
            return 0;
        int w;
        zm_cen_off_field(s->p, s->n, &w);
        if (w == 8) {
            /* drop the zip64 extra (only when the 32-bit sizes are real) */
            if (zm_u32(s->p + 20) == 0xffffffffu || zm_u32(s->p + 24) == 0xffffffffu)
                return 0;
            size_t xo = 46 + nlen, at = xo, xl = 0;
            while (at + 4 <= xo + xlen && zm_u16(s->p + at) != 1)
                at += 4 + zm_u16(s->p + at + 2);
            if (at + 4 > xo + xlen)
                return 0;
            xl = 4 + (size_t)zm_u16(s->p + at + 2);
            uint8_t *r = zm_alloc(m, s->n - xl);
            if (!r)
                return 0;
            memcpy(r, s->p, at);
            memcpy(r + at, s->p + at + xl, s->n - at - xl);
            zm_put(r + 30, xlen - xl, 2);
            zm_put(r + 42, 0, 4); /* the writer puts the offset back */
            *s = (zm_slice){r, s->n - xl};
            break;
        }
        /* a zip64 extra first in the record's extras: the offset alone, or
         * both sizes and the offset, with 0xffffffff in their 32-bit fields */
        bool sizes = zm_rand(rs) % 2;
        size_t xl = 4 + (sizes ? 24 : 8);
        if (xlen + xl > 0xffff)
            return 0;
        uint8_t *r = zm_alloc(m, s->n + xl);
        if (!r)
            return 0;
        size_t xo = 46 + nlen;
        memcpy(r, s->p, xo);
        zm_put(r + xo, 1, 2);
        zm_put(r + xo + 2, xl - 4, 2);
        size_t at = xo + 4;
        if (sizes) {
            zm_put(r + at, zm_u32(s->p + 24), 8);
            zm_put(r + at + 8, zm_u32(s->p + 20), 8);
            zm_put(r + 20, 0xffffffffu, 4);
            zm_put(r + 24, 0xffffffffu, 4);
            at += 16;
        }
        zm_put(r + at, zm_u32(s->p + 42), 8);
        zm_put(r + 42, 0xffffffffu, 4);
        memcpy(r + xo + xl, s->p + xo, s->n - xo);
        zm_put(r + 30, xlen + xl, 2);
        *s = (zm_slice){r, s->n + xl};
        break;
    }
    default: return 0;
    }
    uint8_t *out = malloc(max_size);
    size_t n = out ? zm_write(m, out, max_size) : 0;
    if (n)
        memcpy(data, out, n);
    free(out);
    return n;
}

static bool zm_enabled(void)
{
    static int on = -1; /* read once: the environment does not change during a campaign */
    if (on < 0) {
        const char *e = getenv("BRINE_ZIPMUT");
        on = !(e && !strcmp(e, "0"));
    }
    return on;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    uint32_t rs = seed | 1;
    zm_last_kind = ZM_K_LIBFUZZER;
    if (!zm_enabled() || zm_rand(&rs) % 2 || size < 22 || size > max_size)
        return LLVMFuzzerMutate(data, size, max_size);
    zm_model *m = malloc(sizeof *m);
    size_t r = 0;
    if (m) {
        m->cap = 2 * size + 65536;
        m->base = malloc(size);
        m->arena = malloc(m->cap);
        if (m->base && m->arena) {
            memcpy(m->base, data, size);
            if (zm_parse(m, size)) {
                /* a few tries: not every kind applies to every archive */
                for (int t = 0; t < 4 && !r; t++) {
                    int k = 1 + (int)(zm_rand(&rs) % (ZM_K_COUNT - 1));
                    m->used = 0;
                    if (!zm_parse(m, size)) /* a failed kind may have edited the model */
                        break;
                    if ((r = zm_apply(m, k, data, size, max_size, &rs)))
                        zm_last_kind = k;
                }
            }
        }
        free(m->base);
        free(m->arena);
    }
    free(m);
    if (!r)
        return LLVMFuzzerMutate(data, size, max_size);
    return r;
}
#endif
