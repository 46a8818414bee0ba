/* Symbolic values of the VM, and the arena they live in.
 *
 * A value is a constant (a slice of the input whenever the input holds its
 * bytes verbatim, otherwise a decoded copy in the arena), a container, a
 * reference to a global, or the opaque result of a call, build or persistent
 * load. Nothing here imports or runs anything.
 *
 * Strings are kept as "surrogate-preserving UTF-8": the encoding CPython's
 * 'surrogatepass' handler produces, so a lone surrogate is three bytes
 * ED A0..BF xx. Two str values are equal exactly when their bytes are equal.
 * Integers that fit in int64 are BRINE_V_INT; the others are BRINE_V_BIGINT,
 * stored as minimal little-endian two's complement bytes.
 */
#ifndef BRINE_VALUE_H
#define BRINE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- arena ------------------------------------------------------------- */

/* Mapped blocks an arena gave back, for the next arena to take: a scanner
 * keeps one (one thread), so that file after file reuses the same memory
 * instead of mapping, faulting in and unmapping it (and, with threads,
 * interrupting the other cores to flush their TLBs at each unmapping). */
typedef struct brine_arena_cache {
    struct brine_arena_block *blocks;
    size_t bytes; /* what they map, at most BRINE_ARENA_CACHE_MAX */
} brine_arena_cache;
#define BRINE_ARENA_CACHE_MAX ((size_t)16 << 20)
void brine_arena_cache_free(brine_arena_cache *c);

typedef struct brine_arena {
    /* The head block's next free byte, and how much of it the inline path
     * may hand out with no other test: the lesser of the block's room and
     * the limit's, 0 before the first block and once exhausted (the head's
     * own count of what it used is brought up to date in the slow path). */
    unsigned char *cur;
    uint64_t room;
    bool fresh;      /* the head block's unused part is zero (mapped, never reused) */
    bool exhausted;  /* an allocation was refused: the scan is inconclusive */
    bool nomem;      /* malloc itself failed */
    struct brine_arena_block *head;
    uint64_t used;   /* bytes handed out, counted against the limit */
    uint64_t limit;  /* max_bytes */
    brine_arena_cache *cache; /* where mapped blocks come from and go back to (or NULL) */
} brine_arena;

void brine_arena_init(brine_arena *a, uint64_t limit);
/* Refuse every allocation from now on (the scan is inconclusive). */
static inline void brine_arena_refuse(brine_arena *a)
{
    a->exhausted = true;
    a->room = 0;
}
/* What the inline allocators leave to a call: a new block, the limit, a
 * size of 0 or one that rounding to 16 would wrap. */
void *brine_arena_alloc_slow(brine_arena *a, size_t size, bool zero);
/* Unzeroed memory (for arrays filled right away), or NULL (with exhausted or
 * nomem set) when over the limit. Inline: a test and three stores, where a
 * call per value was a twentieth of an object pickle's scan. */
static inline void *brine_arena_alloc_raw(brine_arena *a, size_t size)
{
    size_t r = (size + 15) & ~(size_t)15; /* 0 for 0 and for a size that wraps: the slow path */
    if (__builtin_expect(r - 1 < a->room, 1)) {
        void *p = a->cur;
        a->cur += r;
        a->room -= r;
        a->used += r;
        return p;
    }
    return brine_arena_alloc_slow(a, size, false);
}
/* The same, zeroed. */
static inline void *brine_arena_alloc(brine_arena *a, size_t size)
{
    size_t r = (size + 15) & ~(size_t)15;
    if (__builtin_expect(r - 1 < a->room, 1)) {
        void *p = a->cur;
        a->cur += r;
        a->room -= r;
        a->used += r;
        if (!a->fresh)
            memset(p, 0, r);
        return p;
    }
    return brine_arena_alloc_slow(a, size, true);
}
/* Unzeroed memory for a copy of input bytes (a stream read through a window)
 * that is not counted against the limit: held whole, the same bytes would be
 * referenced in place and cost the values nothing. The input's own length
 * (max_decompressed) bounds it. */
void *brine_arena_alloc_input(brine_arena *a, size_t size);
void brine_arena_free(brine_arena *a);
/* Everything handed out taken back, and the exhaustion forgotten, keeping
 * one block for what comes next (an arena used afresh for each event). */
void brine_arena_reset(brine_arena *a);

/* n bytes of zeroed memory mapped on a 2 MiB boundary with transparent huge
 * pages (a few faults for megabytes, not one per 4 KiB page); munmap(p, n). */
void *brine_map_huge(size_t n);
/* n bytes: below 256 KiB unzeroed (malloc); from there zeroed and mapped,
 * with its pages made at once (MAP_POPULATE) below 2 MiB and brine_map_huge'd
 * from 2 MiB. Freed with brine_big_free and the same n (0: memory from malloc). */
void *brine_big_alloc(size_t n);
void brine_big_free(void *p, size_t n);
/* A table that grows by doubling (the memo's): the part past old_bytes comes
 * zeroed; from 256 KiB it is a brine_big_alloc (a memo of a million entries
 * took a thousand page faults). NULL on failure (p is then still valid).
 * Freed with brine_big_free and its size. */
void *brine_table_grow(void *p, size_t old_bytes, size_t new_bytes);

/* ---- values ------------------------------------------------------------ */

typedef enum brine_vkind {
    BRINE_V_NONE,
    BRINE_V_BOOL,
    BRINE_V_INT,
    BRINE_V_BIGINT,
    BRINE_V_FLOAT,
    BRINE_V_STR,
    BRINE_V_BYTES,
    BRINE_V_BYTEARRAY,
    BRINE_V_MEMORYVIEW, /* READONLY_BUFFER over a bytearray */
    BRINE_V_TUPLE,
    BRINE_V_LIST,
    BRINE_V_DICT,
    BRINE_V_SET,
    BRINE_V_FROZENSET,
    BRINE_V_GLOBAL,  /* find_class result (or a dynamic import) */
    BRINE_V_CALL,    /* callable(*args): REDUCE, INST/OBJ with arguments */
    BRINE_V_NEW,     /* cls.__new__(cls, *args, **kwargs): NEWOBJ(_EX), INST/OBJ without */
    BRINE_V_PERSID,  /* persistent_load(pid) */
    BRINE_V_EXT      /* an extension code that might have been registered */
} brine_vkind;

typedef struct brine_value brine_value;

typedef struct brine_vec {
    brine_value **items;
    uint32_t len, cap;
} brine_vec;

/* Operations applied to an opaque object, in order (for dump and the policy). */
typedef enum brine_opkind { BRINE_OPK_BUILD, BRINE_OPK_EXTEND, BRINE_OPK_SETITEM, BRINE_OPK_ADD } brine_opkind;
typedef struct brine_objop {
    brine_opkind kind;
    brine_value *a, *b;     /* build: a = state; setitem: a, b; add: a */
    brine_vec items;        /* extend */
    struct brine_objop *next;
} brine_objop;

/* What only containers with a hash index (dict, set, frozenset) and objects
 * with operations (global, call, new, persid, ext) need, allocated on first
 * use so that the common value stays small (48 bytes). */
typedef struct brine_vext {
    brine_objop *ops, **ops_tail;  /* objects: operations in the order they ran */
    uint64_t *hashes;              /* containers: hashes of the keys (items) in order */
    uint32_t *table;               /* containers: open addressing, positions + 1 (0 = empty) */
    uint32_t tcap, hcap;
    /* immutable values (tuple, frozenset, str, bytes, bigint, read-only
     * memoryview): the structural hash once computed, so that a large key used
     * many times is hashed once (a hostile file may use one a million times) */
    uint64_t hash;
    uint8_t hashres;               /* 0: not cached, else brine_hashres + 1 */
} brine_vext;

struct brine_value {
    uint8_t kind;        /* brine_vkind */
    bool dynamic;        /* GLOBAL: module or name not a constant str */
    bool exported;       /* BYTEARRAY: a memoryview of it exists */
    bool interned;       /* GLOBAL: the VM's one value for its name, alive (and the
                          * only value at its address) until the stream ends */
    union {
        bool b;
        int64_t i;
        double f;
        /* STR, BYTES, BIGINT, BYTEARRAY; hash and hash_tag: a short STR's
         * hash and the (p, n) it was computed for (brine_value_hash_quick) */
        struct { const uint8_t *p; size_t n; uint64_t hash, hash_tag; } s;
        struct { const uint8_t *p; size_t n; size_t cap; } ba; /* BYTEARRAY: cap 0 while p aliases input */
        struct { struct brine_value *base; } mv;   /* MEMORYVIEW: the bytearray it views */
        brine_vec seq;                             /* TUPLE, LIST, SET, FROZENSET */
        struct { brine_vec keys, vals; } dict;
        struct { brine_value *module, *name; } g;  /* STR values (or anything when dynamic) */
        struct {
            brine_value *callee;                   /* CALL: callable, NEW: class, PERSID: pid */
            brine_value *args, *kwargs;            /* kwargs for NEWOBJ_EX only */
            int64_t code;                          /* EXT */
        } c;
    } u;
    brine_vext *x;
};
_Static_assert(sizeof(brine_value) == 48, "a value is six words: the str hash cache fits in the union's largest member");

/* The bytes of a BYTES/BYTEARRAY/MEMORYVIEW value as they are now (a view
 * follows later changes of its bytearray, as in CPython). */
static inline const struct brine_value *brine_value_buffer(const struct brine_value *v)
{
    return v->kind == BRINE_V_MEMORYVIEW ? v->u.mv.base : v;
}

bool brine_vec_push_grow(brine_arena *a, brine_vec *v, brine_value *x);
/* Append x (false on arena exhaustion); the common case, room, inline. */
static inline bool brine_vec_push(brine_arena *a, brine_vec *v, brine_value *x)
{
    if (__builtin_expect(v->len < v->cap, 1)) {
        v->items[v->len++] = x;
        return true;
    }
    return brine_vec_push_grow(a, v, x);
}
/* Make room for n more items (a hint; false on arena exhaustion). */
bool brine_vec_reserve(brine_arena *a, brine_vec *v, size_t n);

static inline brine_value *brine_value_new(brine_arena *a, brine_vkind kind)
{
    brine_value *v = (brine_value *)brine_arena_alloc_raw(a, sizeof *v);
    if (v)
        *v = (brine_value){.kind = (uint8_t)kind}; /* a few stores, not a memset call */
    return v;
}

/* True for the opaque kinds: results whose behaviour brine cannot know. */
static inline bool brine_value_opaque(const brine_value *v)
{
    return v->kind == BRINE_V_CALL || v->kind == BRINE_V_NEW || v->kind == BRINE_V_PERSID ||
           v->kind == BRINE_V_EXT || (v->kind == BRINE_V_GLOBAL && v->dynamic);
}
/* Globals and opaque results: anything that is not plain Python data. */
static inline bool brine_value_is_object(const brine_value *v)
{
    return v->kind >= BRINE_V_GLOBAL;
}

/* Hashing and equality with Python's semantics (1 == 1.0 == True, NaN unequal
 * unless the same object, frozensets by content). */
typedef enum brine_hashres {
    BRINE_HASH_OK,
    BRINE_HASH_UNHASHABLE, /* CPython raises TypeError */
    BRINE_HASH_UNKNOWN,    /* contains an opaque value: hashed by identity, uncertain */
    BRINE_HASH_DEPTH       /* nested deeper than the limit */
} brine_hashres;

/* Work spent on hashing, comparing and probing hash tables, per stream. The
 * cost of one such step may depend on the sizes of the values involved; a
 * hostile file can make every SETITEM compare two large equal values or
 * probe a long collision chain, so the total is bounded by a budget (the
 * derived limit max_compare, see brine_compare_budget in api.c) and the
 * stream ends inconclusive when it runs out. */
typedef struct brine_work {
    uint64_t left;
    bool over; /* ran out */
} brine_work;

/* Spend n units; false (and over set) when the budget is exhausted. */
static inline bool brine_work_spend(brine_work *w, uint64_t n)
{
    if (w->over || w->left < n) {
        w->over = true;
        w->left = 0;
        return false;
    }
    w->left -= n;
    return true;
}

/* The hash of v. Immutable values cache it (in v->x, allocated from a; when
 * the arena refuses, the hash is still returned, just not cached), so the
 * work over a whole stream stays proportional to the values built. */
brine_hashres brine_value_hash(brine_arena *a, brine_value *v, uint64_t *out, unsigned depth);

/* A computed hash is cached in the value once computing it cost this many
 * units (one per node, one per 32 bytes of text); cheaper values are hashed
 * again each time, which costs at most this much, and saves the 48 bytes of a
 * brine_vext on every short dict key. */
#define BRINE_HASH_CACHE_MIN 16

static inline uint64_t brine_hash_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* The hash of a number that is not NaN (an int, bool or float that equal
 * each other hash alike, as Python's do, and 0.0 == -0.0) */
static inline uint64_t brine_hash_number(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return d == 0 ? 0 : brine_hash_mix(bits);
}

/* The hash of a str's or bytes' content: eight bytes a step (a byte a step,
 * FNV-1a, was a third of inserting a dict's short string keys), then the
 * bytes left; mixed with the length and a seed per kind. Not keyed, as
 * before: the probes it costs a hostile file are counted (brine_work). */
static inline uint64_t brine_bytes_hash(const uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t h = (seed * 0x9e3779b97f4a7c15ULL) ^ n;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    if (n) { /* 1-7 bytes: a load of four, two and one as the length has them */
        uint64_t w = 0;
        unsigned sh = 0;
        if (n & 4) {
            uint32_t x;
            memcpy(&x, p, 4);
            w = x;
            p += 4;
            sh = 32;
        }
        if (n & 2) {
            uint16_t x;
            memcpy(&x, p, 2);
            w |= (uint64_t)x << sh;
            p += 2;
            sh += 16;
        }
        if (n & 1)
            w |= (uint64_t)p[0] << sh;
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    }
    return brine_hash_mix(h);
}

/* brine_value_hash, with the commonest keys inline: a str too short for its
 * hash to be cached (the same hash as brine_value_hash's, which it computes
 * again each time too) and an int (hashed as the float it equals, as
 * 1 == 1.0 == True requires). */
static inline brine_hashres brine_value_hash_quick(brine_arena *a, brine_value *v, uint64_t *out, unsigned depth)
{
    if (__builtin_expect(depth > 0, 1)) {
        if (v->kind == BRINE_V_STR && v->u.s.n < (size_t)BRINE_HASH_CACHE_MIN * 32) {
            /* a key used again (a BINGET of the same attribute name in every
             * object's state) hashed once: kept with the (p, n) it is the
             * hash of, so that a value whose text is re-pointed, or memory
             * reused for another value, never finds a stale one (str text
             * itself never changes) */
            uintptr_t at = (uintptr_t)v->u.s.p;
            if (at >> 48) { /* the tag is exact only for p in 48 bits (n is in 9) */
                *out = brine_bytes_hash(v->u.s.p, v->u.s.n, 1);
                return BRINE_HASH_OK;
            }
            uint64_t tag = (uint64_t)at | ((uint64_t)v->u.s.n << 48) | (1ull << 63);
            if (v->u.s.hash_tag == tag) {
                *out = v->u.s.hash;
                return BRINE_HASH_OK;
            }
            *out = brine_bytes_hash(v->u.s.p, v->u.s.n, 1);
            v->u.s.hash = *out;
            v->u.s.hash_tag = tag;
            return BRINE_HASH_OK;
        }
        if (v->kind == BRINE_V_INT) {
            *out = brine_hash_number((double)v->u.i);
            return BRINE_HASH_OK;
        }
    }
    return brine_value_hash(a, v, out, depth);
}

#define BRINE_EQ_DEPTH (-1)  /* nested deeper than the depth limit */
#define BRINE_EQ_BUDGET (-2) /* the work budget ran out */
/* 1 or 0, or BRINE_EQ_DEPTH / BRINE_EQ_BUDGET. w may be NULL (no budget:
 * only for comparisons whose cost the caller has bounded). */
int brine_value_eq(const brine_value *a, const brine_value *b, unsigned depth, brine_work *w);

/* Set insertion with Python semantics (first key object kept). Returns 0;
 * -1 on arena exhaustion; BRINE_INS_DEPTH or BRINE_INS_BUDGET. The caller has
 * checked hashability. (Dicts: brine_dict_set_pairs.) */
#define BRINE_INS_DEPTH (-2)
#define BRINE_INS_BUDGET (-3)
int brine_set_add(brine_arena *a, brine_value *s, brine_value *x, uint64_t h, unsigned depth, brine_work *w);
/* SETITEMS: the pairs items[0..n) (key, value, key, value, ...) set into dict
 * d in order, each key hashed (as brine_value_hash_quick; an opaque one is
 * hashable by identity) and then set. 0, or the first failure, the pairs
 * before it set: -1 (arena), BRINE_INS_DEPTH (a key nested deeper than depth),
 * BRINE_INS_BUDGET, BRINE_INS_UNHASHABLE (CPython's TypeError). */
#define BRINE_INS_UNHASHABLE (-4)
int brine_dict_set_pairs(brine_arena *a, brine_value *d, brine_value *const *items, size_t n, unsigned depth,
                         brine_work *w);

/* Operations on opaque objects. */
static inline const brine_objop *brine_value_ops(const brine_value *v)
{
    return v->x ? v->x->ops : NULL;
}
brine_objop *brine_value_add_op(brine_arena *a, brine_value *obj, brine_opkind kind);

/* Big integers: minimal LE two's complement in, text out. */
const char *brine_bigint_hex(brine_arena *a, const uint8_t *p, size_t n);
/* Normalise LE two's complement bytes into an INT or BIGINT value (copied or aliased). */
brine_value *brine_int_from_le(brine_arena *a, const uint8_t *p, size_t n, bool alias);

#endif
