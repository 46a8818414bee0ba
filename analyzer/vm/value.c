/* Symbolic values: arena, containers, Python-compatible hashing and equality. */
#include "value.h"

#include <math.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ------------------------------------------------------------- */

struct brine_arena_block {
    struct brine_arena_block *next;
    size_t size, used;
    size_t mapped;   /* bytes mapped with mmap, 0 for malloc */
    bool fresh;      /* mapped and never used: its pages are zero */
    _Alignas(16) unsigned char data[];
};

/* Blocks grow with the arena: 64 KiB first (a small pickle touches little),
 * then half of what is in use, up to 4 MiB. Blocks from 256 KiB are a
 * brine_big_alloc's (mapped, their pages made at once below 2 MiB, huge pages
 * from there): a data-heavy pickle then takes one page fault per 2 MiB rather
 * than per 4 KiB, and what they hand out needs no zeroing. */
#define BRINE_ARENA_BLOCK (64 * 1024)
#define BRINE_ARENA_BLOCK_MAX (4 * 1024 * 1024)

void brine_arena_init(brine_arena *a, uint64_t limit)
{
    memset(a, 0, sizeof *a);
    a->limit = limit;
}

void *brine_arena_alloc_input(brine_arena *a, size_t size)
{
    uint64_t charged = ((uint64_t)size + 15) & ~(uint64_t)15;
    if (a->exhausted || a->limit > UINT64_MAX - charged - 16)
        return brine_arena_alloc_raw(a, size);
    a->limit += charged ? charged : 16; /* the values' budget stays what it was */
    void *p = brine_arena_alloc_raw(a, size);
    if (!p)
        a->limit -= charged ? charged : 16;
    return p;
}

#define BIG_MAP ((size_t)2 << 20) /* from here brine_big_alloc maps huge pages */
/* from here to BIG_MAP, brine_big_alloc maps memory with its pages made at once
 * (MAP_POPULATE): a 1.7 MB pickle read into malloc'd memory took a page fault
 * for each page read() filled, 420 of them, and values filling arena blocks
 * of malloc's memory 200 more, each a microsecond or more in a VM */
#define BIG_POPULATE ((size_t)256 << 10)

void *brine_map_huge(size_t n)
{
    /* mapped 2 MiB more, then cut to a 2 MiB boundary: a huge page needs one
     * (the kernel does not align every mapping) */
    size_t huge = (size_t)2 << 20, page = (size_t)sysconf(_SC_PAGESIZE);
    size_t rn = (n + page - 1) & ~(page - 1); /* what munmap(p, n) will unmap */
    size_t len = rn + huge;
    uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uint8_t *a = (uint8_t *)(((uintptr_t)m + huge - 1) & ~(uintptr_t)(huge - 1));
    size_t tail = len - (size_t)(a - m) - rn; /* both ends page-aligned: munmap takes them */
    if (a > m)
        munmap(m, (size_t)(a - m));
    if (tail)
        munmap(a + rn, tail);
#ifdef MADV_HUGEPAGE
    madvise(a, n, MADV_HUGEPAGE);
#endif
    return a;
}

/* n bytes mapped, their pages made at once */
static void *map_populated(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *brine_big_alloc(size_t n)
{
    if (n < BIG_POPULATE)
        return malloc(n ? n : 1);
    if (n >= BIG_MAP)
        return brine_map_huge(n);
    return map_populated(n);
}

void brine_big_free(void *p, size_t n)
{
    if (n < BIG_POPULATE)
        free(p);
    else if (p)
        munmap(p, n);
}

void *brine_table_grow(void *p, size_t old_bytes, size_t new_bytes)
{
    if (new_bytes < BIG_POPULATE) {
        uint8_t *n = realloc(p, new_bytes);
        if (n && new_bytes > old_bytes)
            memset(n + old_bytes, 0, new_bytes - old_bytes);
        return n;
    }
    void *n = brine_big_alloc(new_bytes); /* fresh mapped pages are zero */
    if (!n)
        return NULL;
    if (old_bytes)
        memcpy(n, p, old_bytes);
    brine_big_free(p, old_bytes);
    return n;
}

/* A mapped arena block's memory given back: munmap, whichever way it was
 * mapped (brine_big_free would free() one under BIG_POPULATE, which
 * block_new maps itself). */
static void block_unmap(struct brine_arena_block *b)
{
    munmap(b, b->mapped);
}

/* The cache's smallest block of at least total bytes, taken out of it. */
static struct brine_arena_block *cache_take(brine_arena_cache *c, size_t total)
{
    struct brine_arena_block **best = NULL;
    for (struct brine_arena_block **p = &c->blocks; *p; p = &(*p)->next)
        if ((*p)->mapped >= total && (!best || (*p)->mapped < (*best)->mapped))
            best = p;
    if (!best)
        return NULL;
    struct brine_arena_block *b = *best;
    *best = b->next;
    c->bytes -= b->mapped;
    b->next = NULL;
    b->size = b->mapped - sizeof *b;
    b->used = 0;
    b->fresh = false; /* what the last scan left: zeroed allocations are cleared */
    return b;
}

void brine_arena_cache_free(brine_arena_cache *c)
{
    while (c && c->blocks) {
        struct brine_arena_block *b = c->blocks;
        c->blocks = b->next;
        block_unmap(b);
    }
    if (c)
        c->bytes = 0;
}

static struct brine_arena_block *block_new(brine_arena *a, size_t bs)
{
    size_t total = sizeof(struct brine_arena_block) + bs;
    struct brine_arena_block *b;
    size_t mapped = 0;
    /* the stream's first block from malloc (a small pickle touches a page or
     * two of it); every later one mapped with its pages made at once: values
     * filling malloc'd 64-128 KiB blocks took a page fault per 4 KiB, 190 of
     * a RandomForest's 326 */
    if (total >= BIG_POPULATE || a->head) {
        if (a->cache && (b = cache_take(a->cache, total)))
            return b;
        /* mapped (zero: nothing to clear) by brine_big_alloc; from 2 MiB on a
         * 2 MiB boundary, since a block mapped anywhere held no whole aligned
         * 2 MiB for a huge page and faulted 4 KiB at a time (32,000 faults for
         * 24 state-dict pickles of 2-5 MB) */
        mapped = (total + 4095) & ~(size_t)4095;
        if (!(b = mapped >= BIG_POPULATE ? brine_big_alloc(mapped) : map_populated(mapped)))
            return NULL;
    } else {
        b = malloc(total);
        if (!b)
            return NULL;
    }
    b->size = bs;
    b->used = 0;
    b->mapped = mapped;
    b->fresh = mapped != 0;
    return b;
}

/* The inline path's cursor and room from the head block (see brine_arena). */
static void arena_sync(brine_arena *a)
{
    struct brine_arena_block *h = a->head;
    a->cur = h->data + h->used;
    a->fresh = h->fresh;
    size_t left = h->size - h->used;
    uint64_t under = a->limit - a->used; /* used never passes the limit */
    a->room = a->exhausted ? 0 : left < under ? left : under;
}

/* brine_arena_alloc(_raw)'s other cases: a size of 0 or one that would wrap,
 * the limit, or a new block */
void *brine_arena_alloc_slow(brine_arena *a, size_t size, bool zero)
{
    if (a->head)
        a->head->used = (size_t)(a->cur - a->head->data);
    if (size > SIZE_MAX - 15) {
        brine_arena_refuse(a);
        return NULL;
    }
    size = size ? (size + 15) & ~(size_t)15 : 16;
    if (a->exhausted || size > a->limit || a->used > a->limit - size) {
        brine_arena_refuse(a);
        return NULL;
    }
    struct brine_arena_block *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t grow = a->used / 2 < BRINE_ARENA_BLOCK ? BRINE_ARENA_BLOCK
                      : a->used / 2 > BRINE_ARENA_BLOCK_MAX ? BRINE_ARENA_BLOCK_MAX : (size_t)(a->used / 2);
        size_t bs = size > grow / 4 ? size : grow;
        b = block_new(a, bs);
        if (!b) {
            a->nomem = true;
            brine_arena_refuse(a);
            return NULL;
        }
        if (bs == size && a->head) {
            /* a big block: keep the current small block as the head */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += size;
    a->used += size;
    if (zero && !b->fresh)
        memset(p, 0, size);
    arena_sync(a);
    return p;
}

void brine_arena_free(brine_arena *a)
{
    struct brine_arena_block *b = a->head;
    while (b) {
        struct brine_arena_block *n = b->next;
        if (b->mapped && a->cache && a->cache->bytes + b->mapped <= BRINE_ARENA_CACHE_MAX) {
            b->next = a->cache->blocks;
            a->cache->blocks = b;
            a->cache->bytes += b->mapped;
        } else if (b->mapped) {
            block_unmap(b);
        } else {
            free(b);
        }
        b = n;
    }
    a->head = NULL;
    a->used = 0;
    a->cur = NULL;
    a->room = 0;
}

void brine_arena_reset(brine_arena *a)
{
    struct brine_arena_block *keep = a->head;
    if (!keep) { /* no block yet: a refusal (its first block's malloc failed) is forgotten too */
        a->exhausted = a->nomem = false;
        return;
    }
    if (!keep->next && a->cur == keep->data && !a->exhausted)
        return; /* nothing was handed out */
    a->head = keep->next;
    keep->next = NULL;
    brine_arena_free(a);
    keep->used = 0;
    keep->fresh = false; /* what was handed out is no longer zero */
    a->head = keep;
    a->exhausted = a->nomem = false;
    arena_sync(a);
}

/* ---- basics ------------------------------------------------------------ */


static void *grow(brine_arena *a, void *old, size_t oldbytes, size_t newbytes)
{
    void *p = brine_arena_alloc_raw(a, newbytes);
    if (p && oldbytes)
        memcpy(p, old, oldbytes);
    return p;
}

bool brine_vec_reserve(brine_arena *a, brine_vec *v, size_t n)
{
    if (n <= (size_t)(v->cap - v->len))
        return true;
    if (n > UINT32_MAX / 2 - v->len) {
        brine_arena_refuse(a);
        return false;
    }
    uint32_t nc = v->len + (uint32_t)n;
    if (v->cap && nc < v->cap * 2 && v->cap < UINT32_MAX / 4)
        nc = v->cap * 2; /* geometric, or appending in batches would be quadratic */
    brine_value **items = grow(a, v->items, v->len * sizeof *items, nc * sizeof *items);
    if (!items)
        return false;
    v->items = items;
    v->cap = nc;
    return true;
}

bool brine_vec_push_grow(brine_arena *a, brine_vec *v, brine_value *x)
{
    if (v->len == v->cap) {
        if (v->cap >= UINT32_MAX / 2) {
            brine_arena_refuse(a);
            return false;
        }
        uint32_t nc = v->cap ? v->cap * 2 : 4;
        brine_value **n = grow(a, v->items, v->len * sizeof *n, nc * sizeof *n);
        if (!n)
            return false;
        v->items = n;
        v->cap = nc;
    }
    v->items[v->len++] = x;
    return true;
}

brine_objop *brine_value_add_op(brine_arena *a, brine_value *obj, brine_opkind kind)
{
    brine_objop *op = brine_arena_alloc(a, sizeof *op);
    if (!op)
        return NULL;
    op->kind = kind;
    if (!obj->x && !(obj->x = brine_arena_alloc(a, sizeof *obj->x)))
        return NULL;
    if (!obj->x->ops_tail)
        obj->x->ops_tail = &obj->x->ops;
    *obj->x->ops_tail = op;
    obj->x->ops_tail = &op->next;
    return op;
}

/* ---- big integers ------------------------------------------------------ */

brine_value *brine_int_from_le(brine_arena *a, const uint8_t *p, size_t n, bool alias)
{
    while (n > 1 && ((p[n - 1] == 0x00 && !(p[n - 2] & 0x80)) || (p[n - 1] == 0xff && (p[n - 2] & 0x80))))
        n--;
    if (n <= 8) {
        brine_value *v = brine_value_new(a, BRINE_V_INT);
        if (!v)
            return NULL;
        uint64_t x = 0;
        for (size_t i = 0; i < n; i++)
            x |= (uint64_t)p[i] << (8 * i);
        if (n > 0 && n < 8 && (p[n - 1] & 0x80))
            x |= ~(uint64_t)0 << (8 * n);
        v->u.i = (int64_t)x;
        return v;
    }
    brine_value *v = brine_value_new(a, BRINE_V_BIGINT);
    if (!v)
        return NULL;
    if (alias) {
        v->u.s.p = p;
    } else {
        uint8_t *c = brine_arena_alloc(a, n);
        if (!c)
            return NULL;
        memcpy(c, p, n);
        v->u.s.p = c;
    }
    v->u.s.n = n;
    return v;
}

const char *brine_bigint_hex(brine_arena *a, const uint8_t *p, size_t n)
{
    bool neg = n && (p[n - 1] & 0x80);
    uint8_t *mag = brine_arena_alloc(a, n ? n : 1);
    char *out = mag ? brine_arena_alloc(a, 2 * n + 4) : NULL;
    if (!out)
        return NULL;
    unsigned carry = 1;
    for (size_t i = 0; i < n; i++) {
        if (neg) {
            unsigned x = (unsigned)(uint8_t)~p[i] + carry;
            mag[i] = (uint8_t)x;
            carry = x >> 8;
        } else {
            mag[i] = p[i];
        }
    }
    size_t top = n;
    while (top > 0 && mag[top - 1] == 0)
        top--;
    char *o = out;
    if (neg)
        *o++ = '-';
    *o++ = '0';
    *o++ = 'x';
    static const char hx[] = "0123456789abcdef";
    if (top == 0)
        *o++ = '0';
    for (size_t i = top; i-- > 0;) {
        if (i == top - 1 && mag[i] < 16) {
            *o++ = hx[mag[i]];
        } else {
            *o++ = hx[mag[i] >> 4];
            *o++ = hx[mag[i] & 15];
        }
    }
    *o = 0;
    return out;
}

/* The magnitude of a bigint as a double; exact when the value is representable. */
static double bigint_to_double(const uint8_t *p, size_t n)
{
    bool neg = n && (p[n - 1] & 0x80);
    /* magnitude, most significant byte first; negation on the fly is awkward,
     * so compute the two's complement negation into a small buffer per byte. */
    double d = 0;
    if (!neg) {
        for (size_t i = n; i-- > 0;)
            d = d * 256.0 + p[i];
        return d;
    }
    /* -x = ~x + 1: the +1 carries only through trailing 0xff bytes of ~x,
     * i.e. trailing 0x00 bytes of x. */
    size_t firstnz = 0;
    while (firstnz < n && p[firstnz] == 0)
        firstnz++;
    for (size_t i = n; i-- > 0;) {
        unsigned b;
        if (i > firstnz)
            b = (uint8_t)~p[i];
        else if (i == firstnz)
            b = (uint8_t)(~p[i] + 1);
        else
            b = 0;
        d = d * 256.0 + b;
    }
    return -d;
}

/* Exact comparison of an integral double (|f| >= 2**63) with a bigint:
 * write f out as two's complement bytes and compare with sign extension. */
static bool double_eq_bigint(double f, const uint8_t *p, size_t n)
{
    if (!isfinite(f) || f != floor(f))
        return false;
    int e;
    double fr = frexp(fabs(f), &e); /* |f| = fr * 2**e, fr in [0.5, 1) */
    uint64_t m = (uint64_t)ldexp(fr, 53);
    int shift = e - 53; /* >= 11 here */
    uint8_t buf[144] = {0};
    if (shift < 0 || (size_t)(shift + 64) / 8 + 2 > sizeof buf)
        return false;
    for (int i = 0; i < 64; i++)
        if ((m >> i) & 1)
            buf[(i + shift) / 8] |= (uint8_t)(1u << ((i + shift) % 8));
    bool neg = f < 0;
    if (neg) {
        unsigned carry = 1;
        for (size_t i = 0; i < sizeof buf; i++) {
            unsigned x = (unsigned)(uint8_t)~buf[i] + carry;
            buf[i] = (uint8_t)x;
            carry = x >> 8;
        }
    }
    if (n > sizeof buf)
        return false;
    uint8_t ext = (n && (p[n - 1] & 0x80)) ? 0xff : 0x00;
    for (size_t i = 0; i < sizeof buf; i++)
        if (buf[i] != (i < n ? p[i] : ext))
            return false;
    return true;
}

/* ---- hashing and equality ---------------------------------------------- */

static bool is_number(const brine_value *v)
{
    return v->kind == BRINE_V_BOOL || v->kind == BRINE_V_INT || v->kind == BRINE_V_BIGINT ||
           v->kind == BRINE_V_FLOAT;
}

static double number_as_double(const brine_value *v)
{
    switch (v->kind) {
    case BRINE_V_BOOL: return v->u.b ? 1.0 : 0.0;
    case BRINE_V_INT: return (double)v->u.i;
    case BRINE_V_BIGINT: return bigint_to_double(v->u.s.p, v->u.s.n);
    default: return v->u.f;
    }
}

static bool hash_cacheable(const brine_value *v)
{
    switch (v->kind) {
    case BRINE_V_STR: case BRINE_V_BYTES: case BRINE_V_BIGINT: case BRINE_V_MEMORYVIEW:
    case BRINE_V_TUPLE: case BRINE_V_FROZENSET:
        return true;
    default:
        return false;
    }
}

static brine_hashres hash_rec(brine_arena *a, brine_value *v, uint64_t *out, unsigned depth, uint64_t *cost);

static brine_hashres hash_uncached(brine_arena *a, brine_value *v, uint64_t *out, unsigned depth, uint64_t *cost)
{
    switch ((brine_vkind)v->kind) {
    case BRINE_V_NONE:
        *out = 0x9e3779b97f4a7c15ULL;
        return BRINE_HASH_OK;
    case BRINE_V_BOOL:
    case BRINE_V_INT:
    case BRINE_V_BIGINT:
    case BRINE_V_FLOAT: {
        if (v->kind == BRINE_V_BIGINT)
            *cost += v->u.s.n / 32;
        double d = number_as_double(v);
        /* NaN: equal only to itself */
        *out = isnan(d) ? brine_hash_mix((uint64_t)(uintptr_t)v) : brine_hash_number(d);
        return BRINE_HASH_OK;
    }
    case BRINE_V_STR:
        *cost += v->u.s.n / 32;
        *out = brine_bytes_hash(v->u.s.p, v->u.s.n, 1);
        return BRINE_HASH_OK;
    case BRINE_V_BYTES:
    case BRINE_V_MEMORYVIEW: /* a read-only memoryview hashes and compares as its bytes */
        *cost += brine_value_buffer(v)->u.s.n / 32;
        *out = brine_bytes_hash(brine_value_buffer(v)->u.s.p, brine_value_buffer(v)->u.s.n, 2);
        return BRINE_HASH_OK;
    case BRINE_V_TUPLE: {
        uint64_t h = 0x345678;
        brine_hashres worst = BRINE_HASH_OK;
        for (uint32_t i = 0; i < v->u.seq.len; i++) {
            uint64_t x;
            brine_hashres r = hash_rec(a, v->u.seq.items[i], &x, depth - 1, cost);
            if (r == BRINE_HASH_UNHASHABLE || r == BRINE_HASH_DEPTH)
                return r;
            if (r == BRINE_HASH_UNKNOWN)
                worst = r;
            h = brine_hash_mix(h ^ x) + i;
        }
        *out = h;
        return worst;
    }
    case BRINE_V_FROZENSET: {
        uint64_t h = 0x51ed270b;
        *cost += v->u.seq.len;
        for (uint32_t i = 0; i < v->u.seq.len; i++)
            h += brine_hash_mix(v->x->hashes[i]);
        *out = h;
        return BRINE_HASH_OK;
    }
    case BRINE_V_GLOBAL:
        /* find_class returns the same object for the same name; brine interns
         * globals per name, so identity is the pointer */
        *out = brine_hash_mix((uint64_t)(uintptr_t)v);
        return v->dynamic ? BRINE_HASH_UNKNOWN : BRINE_HASH_OK;
    case BRINE_V_CALL:
    case BRINE_V_NEW:
    case BRINE_V_PERSID:
    case BRINE_V_EXT:
        *out = brine_hash_mix((uint64_t)(uintptr_t)v);
        return BRINE_HASH_UNKNOWN;
    case BRINE_V_BYTEARRAY:
    case BRINE_V_LIST:
    case BRINE_V_DICT:
    case BRINE_V_SET:
        return BRINE_HASH_UNHASHABLE;
    }
    return BRINE_HASH_UNHASHABLE;
}

/* CPython caches the hash of str, bytes and memoryview objects, and a tuple's
 * hash is a function of its items' hashes, all of them fixed once computed
 * (a tuple holding something unhashable fails every time, and the opaque
 * objects hash by identity), so caching changes no result. */
static brine_hashres hash_rec(brine_arena *a, brine_value *v, uint64_t *out, unsigned depth, uint64_t *cost)
{
    (*cost)++;
    if (v->x && v->x->hashres) {
        *out = v->x->hash;
        return (brine_hashres)(v->x->hashres - 1);
    }
    if (depth == 0)
        return BRINE_HASH_DEPTH;
    uint64_t mine = 0;
    brine_hashres r = hash_uncached(a, v, out, depth, &mine);
    *cost += mine;
    if ((r == BRINE_HASH_OK || r == BRINE_HASH_UNKNOWN) && hash_cacheable(v) &&
        (v->x || mine >= BRINE_HASH_CACHE_MIN) && (v->x || (v->x = brine_arena_alloc(a, sizeof *v->x)))) {
        v->x->hash = *out;
        v->x->hashres = (uint8_t)(r + 1);
    }
    return r;
}

brine_hashres brine_value_hash(brine_arena *a, brine_value *v, uint64_t *out, unsigned depth)
{
    uint64_t cost = 0;
    return hash_rec(a, v, out, depth, &cost);
}

static int set_contains(const brine_value *s, const brine_value *x, uint64_t h, unsigned depth, brine_work *w);

int brine_value_eq(const brine_value *a, const brine_value *b, unsigned depth, brine_work *w)
{
    if (a == b)
        return 1; /* identity first, as PyObject_RichCompare users in dict/tuple do */
    if (depth == 0)
        return BRINE_EQ_DEPTH;
    if (w && !brine_work_spend(w, 1))
        return BRINE_EQ_BUDGET;
    if (is_number(a) && is_number(b)) {
        if (a->kind == BRINE_V_FLOAT && b->kind == BRINE_V_FLOAT)
            return a->u.f == b->u.f;
        if (a->kind == BRINE_V_FLOAT || b->kind == BRINE_V_FLOAT) {
            const brine_value *f = a->kind == BRINE_V_FLOAT ? a : b;
            const brine_value *n = f == a ? b : a;
            double d = f->u.f;
            if (!isfinite(d) || d != floor(d))
                return 0;
            if (n->kind == BRINE_V_BIGINT)
                return fabs(d) >= 9223372036854775808.0 && double_eq_bigint(d, n->u.s.p, n->u.s.n);
            if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
                return 0;
            int64_t i = n->kind == BRINE_V_BOOL ? n->u.b : n->u.i;
            return (int64_t)d == i;
        }
        if (a->kind == BRINE_V_BIGINT || b->kind == BRINE_V_BIGINT) {
            if (a->kind != b->kind)
                return 0; /* normalised: a bigint never fits in int64 */
            if (a->u.s.n != b->u.s.n)
                return 0;
            if (w && !brine_work_spend(w, a->u.s.n / 32))
                return BRINE_EQ_BUDGET;
            return memcmp(a->u.s.p, b->u.s.p, a->u.s.n) == 0;
        }
        int64_t x = a->kind == BRINE_V_BOOL ? a->u.b : a->u.i;
        int64_t y = b->kind == BRINE_V_BOOL ? b->u.b : b->u.i;
        return x == y;
    }
    bool abytes = a->kind == BRINE_V_BYTES || a->kind == BRINE_V_MEMORYVIEW || a->kind == BRINE_V_BYTEARRAY;
    bool bbytes = b->kind == BRINE_V_BYTES || b->kind == BRINE_V_MEMORYVIEW || b->kind == BRINE_V_BYTEARRAY;
    if (abytes && bbytes) {
        a = brine_value_buffer(a);
        b = brine_value_buffer(b);
        if (a->u.s.n != b->u.s.n)
            return 0;
        if (w && !brine_work_spend(w, a->u.s.n / 32))
            return BRINE_EQ_BUDGET;
        return a->u.s.n == 0 || memcmp(a->u.s.p, b->u.s.p, a->u.s.n) == 0;
    }
    bool aset = a->kind == BRINE_V_SET || a->kind == BRINE_V_FROZENSET;
    bool bset = b->kind == BRINE_V_SET || b->kind == BRINE_V_FROZENSET;
    if (aset && bset) {
        if (a->u.seq.len != b->u.seq.len)
            return 0;
        for (uint32_t i = 0; i < a->u.seq.len; i++) {
            int r = set_contains(b, a->u.seq.items[i], a->x->hashes[i], depth - 1, w);
            if (r != 1)
                return r;
        }
        return 1;
    }
    if (a->kind != b->kind)
        return 0;
    switch ((brine_vkind)a->kind) {
    case BRINE_V_NONE: return 1;
    case BRINE_V_STR:
        if (a->u.s.n != b->u.s.n)
            return 0;
        if (w && !brine_work_spend(w, a->u.s.n / 32))
            return BRINE_EQ_BUDGET;
        return a->u.s.n == 0 || memcmp(a->u.s.p, b->u.s.p, a->u.s.n) == 0;
    case BRINE_V_TUPLE:
    case BRINE_V_LIST:
        if (a->u.seq.len != b->u.seq.len)
            return 0;
        for (uint32_t i = 0; i < a->u.seq.len; i++) {
            int r = brine_value_eq(a->u.seq.items[i], b->u.seq.items[i], depth - 1, w);
            if (r != 1)
                return r;
        }
        return 1;
    default:
        return 0; /* identity objects, compared above */
    }
}

/* ---- hash index for dicts and sets -------------------------------------- */

static brine_vec *keys_of(brine_value *c)
{
    return c->kind == BRINE_V_DICT ? &c->u.dict.keys : &c->u.seq;
}

static const brine_vec *ckeys_of(const brine_value *c)
{
    return c->kind == BRINE_V_DICT ? &c->u.dict.keys : &c->u.seq;
}

/* Position of an equal key, -1 if absent, -2 if the depth limit was hit, -3
 * if the work budget ran out (each probe costs a unit: the hashes are not
 * keyed, so a hostile file can make every key land in one probe chain). */
static inline __attribute__((always_inline)) int64_t index_find(const brine_value *c, const brine_value *k, uint64_t h,
                                                               unsigned depth, brine_work *w)
{
    const brine_vec *keys = ckeys_of(c);
    if (!c->x)
        return -1;
    if (!c->x->tcap) { /* small: no table, the hashes are scanned */
        if (w && !brine_work_spend(w, 1)) /* at most SMALL_INDEX hashes compared */
            return -3;
        for (uint32_t j = 0; j < keys->len; j++) {
            if (c->x->hashes[j] != h)
                continue;
            int r = brine_value_eq(keys->items[j], k, depth, w);
            if (r < 0)
                return r == BRINE_EQ_BUDGET ? -3 : -2;
            if (r)
                return j;
        }
        return -1;
    }
    uint32_t mask = c->x->tcap - 1;
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        if (w && !brine_work_spend(w, 1))
            return -3;
        uint32_t slot = c->x->table[i];
        if (!slot)
            return -1;
        if (c->x->hashes[slot - 1] == h) {
            int r = brine_value_eq(keys->items[slot - 1], k, depth, w);
            if (r < 0)
                return r == BRINE_EQ_BUDGET ? -3 : -2;
            if (r)
                return slot - 1;
        }
    }
}

static int set_contains(const brine_value *s, const brine_value *x, uint64_t h, unsigned depth, brine_work *w)
{
    int64_t r = index_find(s, x, h, depth, w);
    return r == -3 ? BRINE_EQ_BUDGET : r == -2 ? BRINE_EQ_DEPTH : r >= 0;
}

#define SMALL_INDEX 8 /* containers this small are searched without a table */

/* A table of nc slots for c's first n keys (their hashes are in c->hashes):
 * 0, -1 on arena exhaustion, BRINE_INS_BUDGET when probing ran out of work. */
static int table_build(brine_arena *a, brine_vext *c, uint32_t n, uint32_t nc, brine_work *w)
{
    uint32_t *t = brine_arena_alloc(a, (size_t)nc * sizeof *t); /* zeroed: 0 = empty */
    if (!t)
        return -1;
    for (uint32_t j = 0; j < n; j++) {
        uint32_t i = (uint32_t)c->hashes[j] & (nc - 1);
        while (t[i]) {
            if (w && !brine_work_spend(w, 1))
                return BRINE_INS_BUDGET;
            i = (i + 1) & (nc - 1);
        }
        t[i] = j + 1;
    }
    c->table = t;
    c->tcap = nc;
    return 0;
}

/* The table size for n keys, grown from tcap: doubled until at most half
 * full; 0 past 2^31 slots (positions are 32-bit; a 32-bit size doubled
 * there would wrap to 0 and never stop). */
static uint32_t table_size_for(uint64_t n, uint32_t tcap)
{
    uint64_t nc = tcap ? (uint64_t)tcap * 2 : 8;
    while (n * 2 > nc)
        nc *= 2;
    return nc > ((uint64_t)1 << 31) ? 0 : (uint32_t)nc;
}

/* 0, -1 on arena exhaustion, BRINE_INS_BUDGET when probing ran out of work
 * (the table then lacks the new key, which only a lookup could notice, and
 * none follows: the stream ends there). */
static inline __attribute__((always_inline)) int index_insert(brine_arena *a, brine_value *cv, uint64_t h, brine_work *w)
{
    brine_vec *keys = keys_of(cv);
    if (!cv->x && !(cv->x = brine_arena_alloc(a, sizeof *cv->x)))
        return -1;
    brine_vext *c = cv->x;
    uint32_t n = keys->len; /* the new key is already at n - 1 */
    if (c->hcap < n) {
        uint32_t nc = keys->cap;
        uint64_t *nh = grow(a, c->hashes, (size_t)(n - 1) * sizeof *nh, (size_t)nc * sizeof *nh);
        if (!nh)
            return -1;
        c->hashes = nh;
        c->hcap = nc;
    }
    c->hashes[n - 1] = h;
    if (n <= SMALL_INDEX && !c->tcap)
        return 0;
    if ((uint64_t)n * 2 > c->tcap) {
        uint32_t nc = table_size_for(n, c->tcap);
        if (!nc) {
            brine_arena_refuse(a);
            return -1;
        }
        return table_build(a, c, n, nc, w);
    }
    uint32_t mask = c->tcap - 1;
    uint32_t i = (uint32_t)h & mask;
    while (c->table[i]) /* as long as the failed lookup's chain, already paid for */
        i = (i + 1) & mask;
    c->table[i] = n;
    return 0;
}

/* Dict insertion with Python semantics (first key object kept, value
 * replaced): 0, -1 on arena exhaustion, BRINE_INS_DEPTH or BRINE_INS_BUDGET. */
static inline __attribute__((always_inline)) int dict_set(brine_arena *a, brine_value *d, brine_value *k, brine_value *v,
                                                         uint64_t h, unsigned depth, brine_work *w)
{
    int64_t at = index_find(d, k, h, depth, w);
    if (at == -2)
        return BRINE_INS_DEPTH;
    if (at == -3)
        return BRINE_INS_BUDGET;
    if (at >= 0) {
        d->u.dict.vals.items[at] = v;
        return 0;
    }
    if (!brine_vec_push(a, &d->u.dict.keys, k) || !brine_vec_push(a, &d->u.dict.vals, v))
        return -1;
    return index_insert(a, d, h, w);
}

int brine_dict_set_pairs(brine_arena *a, brine_value *d, brine_value *const *items, size_t n, unsigned depth,
                         brine_work *w)
{
    size_t pairs = n / 2;
    if (!brine_vec_reserve(a, &d->u.dict.keys, pairs) || !brine_vec_reserve(a, &d->u.dict.vals, pairs))
        return -1;
    /* The table is not made ahead at the size the pairs would grow it to:
     * repeated keys would be charged for a table of all of them (400,000
     * pairs of one key, 4 MB more against max_bytes), and a first key that
     * is unhashable would end the stream on that allocation or its probing
     * instead of CPython's TypeError. */
    for (size_t i = 0; i + 1 < n; i += 2) {
        uint64_t h;
        brine_hashres hr = brine_value_hash_quick(a, items[i], &h, depth);
        if (hr == BRINE_HASH_DEPTH)
            return BRINE_INS_DEPTH;
        if (hr == BRINE_HASH_UNHASHABLE)
            return BRINE_INS_UNHASHABLE;
        int r = dict_set(a, d, items[i], items[i + 1], h, depth, w);
        if (r)
            return r;
    }
    return 0;
}

int brine_set_add(brine_arena *a, brine_value *s, brine_value *x, uint64_t h, unsigned depth, brine_work *w)
{
    int64_t at = index_find(s, x, h, depth, w);
    if (at == -2)
        return BRINE_INS_DEPTH;
    if (at == -3)
        return BRINE_INS_BUDGET;
    if (at >= 0)
        return 0;
    if (!brine_vec_push(a, &s->u.seq, x))
        return -1;
    return index_insert(a, s, h, w);
}
