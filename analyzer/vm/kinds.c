/* The kinds pass: the first pickle of a stream run with values reduced to
 * what a data-only pickle's outcome depends on.
 *
 * A pickle that imports, calls or builds nothing can only end in one of two
 * ways under CPython: it loads, or it raises. Whether it raises depends on the
 * kind of each value (APPEND needs a list, a dict key must be hashable, STOP
 * needs a value) and never on its content, except where brine models content
 * (an index into a list, a byte into a bytearray, a key nested deep enough to
 * hit max_depth). So this pass keeps one 32-bit cell per value: its kind, for
 * tuples and frozensets whether they are hashable and how deep they nest. It
 * allocates nothing per value, so a data file costs its decoding and memory
 * stays at a few bytes per stack slot and memo entry.
 *
 * It is exactly as strict as the full VM because it decides nothing that
 * could differ: at the first opcode that could run code (GLOBAL, REDUCE,
 * BUILD, PERSID, EXT, ...), any error or limit, anything it does not model
 * (protocol 0 text opcodes, a list or bytearray changed by index or byte, a
 * key nested deeper than it tracks, a FRAME anomaly, a constant that the
 * driver would scan as a nested pickle or container), it gives up and the
 * full VM runs the stream from the start. It emits no event, so giving up
 * costs only the time spent. test/unit/test_kinds.c checks both agree on the
 * corpus, the fuzz corpora and mutations of them.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "vm.h"

enum {
    K_SCALAR,    /* None, bool, int, float, str, bytes: hashable */
    K_TUPLE,
    K_FROZENSET,
    K_LIST,
    K_DICT,
    K_SET,
    K_BYTEARRAY,
};
#define K_KIND(c) ((c) & 7u)
#define K_UNHASHABLE 8u
#define K_DEPTH(c) (((c) >> 8) & 0xffu)
#define K_MAKE(kind, unhashable, depth) ((uint32_t)(kind) | ((unhashable) ? K_UNHASHABLE : 0u) | ((uint32_t)(depth) << 8))
#define K_PRESENT 0x80000000u /* memo: an entry is here */
/* keys nested deeper than this are left to the full VM (its max_depth) */
#define K_MAX_KEY_DEPTH 64u

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define K_LITTLE_ENDIAN 1 /* a word loaded from memory is the bytes in order, low first */
#else
#define K_LITTLE_ENDIAN 0
#endif

#define INERT_CACHE 1024
#define INERT_MAX_LEN 64

typedef struct kvm {
    const uint8_t *data;
    size_t len, pos; /* through a window: the window's bytes, and positions within them */
    brine_window *win;
    uint64_t base;   /* window: the stream offset of data[0]; else 0 */
    uint64_t total;  /* the stream's length */
    size_t op_at;    /* where the current opcode starts (the window keeps it) */
    size_t fe;       /* where the current FRAME ends; SIZE_MAX: outside any */
    size_t moved;    /* how far positions moved since the last LOAD() */
    bool refilled;   /* data and len changed since the last LOAD() */
    uint8_t (*ibytes)[INERT_MAX_LEN]; /* window: the inert cache's own copies */
    const brine_vm_config *cfg;
    const brine_settings *lim;
    uint32_t *stack;
    size_t sp, scap, fence;
    size_t *marks;
    size_t nmarks, mcap;
    uint32_t *memo;
    size_t mcount, dcap;
    size_t mfast; /* the smaller of dcap and max_memo: a MEMOIZE below it is the common case */
    unsigned key_depth; /* deepest key this pass decides itself */
    size_t imask;       /* the inert cache's slots in use, less one (a power of two, by the input's size) */
    /* short constants found inert, by content: a data file repeats its
     * strings (column names, keys, labels), and the answer depends only on
     * the bytes and their kind */
    struct { const uint8_t *p; uint64_t word; uint32_t n, hash; uint8_t kind; } inert[INERT_CACHE];
} kvm;

#define GIVE_UP (-1)

/* Room for one more cell (the stack grows by doubling up to max_stack). */
static int kgrow(kvm *k)
{
    if (k->sp >= k->lim->max_stack)
        return GIVE_UP;
    size_t nc = k->scap ? k->scap * 2 : 256;
    if (nc > k->lim->max_stack)
        nc = (size_t)k->lim->max_stack;
    uint32_t *n = realloc(k->stack, nc * sizeof *n);
    if (!n)
        return GIVE_UP;
    k->stack = n;
    k->scap = nc;
    return 0;
}

static inline __attribute__((always_inline)) int kpush(kvm *k, uint32_t c)
{
    if (k->sp == k->scap && kgrow(k))
        return GIVE_UP;
    k->stack[k->sp++] = c;
    return 0;
}

/* Through a window: make n bytes at k->pos available, keeping the current
 * opcode's own bytes; positions shift by what was dropped (k->moved). */
static int krefill(kvm *k, size_t n)
{
    if (!k->win)
        return GIVE_UP;
    uint64_t at = k->base + k->op_at, abs = k->base + k->pos;
    if (n > k->total - abs) /* truncated: the full VM says so */
        return GIVE_UP;
    if (!brine_window_fill(k->win, at, (size_t)(abs - at) + n))
        return GIVE_UP;
    size_t shift = (size_t)(k->win->base - k->base);
    k->base = k->win->base;
    k->data = k->win->buf;
    k->len = k->win->have;
    k->pos -= shift;
    k->op_at -= shift;
    if (k->fe != SIZE_MAX)
        k->fe -= shift;
    k->moved += shift;
    k->refilled = true;
    return 0;
}

static inline __attribute__((always_inline)) int kneed(kvm *k, size_t n, const uint8_t **out)
{
    /* past the frame's end: the full VM's anomaly of an opcode that crosses it */
    if (k->fe != SIZE_MAX && n > k->fe - k->pos)
        return GIVE_UP;
    if (n > k->len - k->pos && krefill(k, n))
        return GIVE_UP;
    *out = k->data + k->pos;
    k->pos += n;
    return 0;
}

static uint64_t kle(const uint8_t *p, int n)
{
    uint64_t x = 0;
    for (int i = 0; i < n; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

static int kmarker(kvm *k, size_t *out)
{
    if (!k->nmarks)
        return GIVE_UP;
    *out = k->marks[--k->nmarks];
    k->fence = k->nmarks ? k->marks[k->nmarks - 1] : 0;
    return 0;
}

/* A key or set member the pass can vouch for: hashable, and shallow. */
static bool khashable(const kvm *k, uint32_t c)
{
    return !(c & K_UNHASHABLE) && K_DEPTH(c) <= k->key_depth;
}

/* An immutable sequence of the cells stack[start..sp): its cell. */
static uint32_t kseq(const kvm *k, size_t start, unsigned kind)
{
    bool unhashable = false;
    unsigned depth = 0;
    for (size_t i = start; i < k->sp; i++) {
        uint32_t c = k->stack[i];
        unhashable |= (c & K_UNHASHABLE) != 0;
        if (K_DEPTH(c) > depth)
            depth = K_DEPTH(c);
    }
    if (depth < 255)
        depth++;
    return K_MAKE(kind, unhashable, depth);
}

/* n <= 8 bytes at p as one little-endian word, loaded at once (8 bytes from
 * p must be readable; the ones past n are masked off). */
static inline __attribute__((always_inline)) uint64_t kword8(const uint8_t *p, size_t n)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w & (n == 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * n)) - 1);
}

/* The inert cache's key of a short constant (its bytes w, n of them, kind
 * vkind; never 0) and, in *h, its hash. */
static inline __attribute__((always_inline)) uint64_t kshort_key(uint64_t w, size_t n, uint8_t vkind, uint32_t *h)
{
    w ^= (uint64_t)n << 56 ^ (uint64_t)vkind << 60;
    *h = (uint32_t)((w * 0x9e3779b97f4a7c15ULL) >> 32);
    return w;
}

/* Is the short constant of key w in either way of its slot? */
static inline __attribute__((always_inline)) bool kshort_hit(const kvm *k, uint64_t w, size_t slot)
{
    return (k->inert[slot].p && k->inert[slot].word == w) || (k->inert[slot ^ 1].p && k->inert[slot ^ 1].word == w);
}

/* A sized constant: BINSTRING (ASCII), BINBYTES*, BYTEARRAY8, BINUNICODE*. */
static int ksized(kvm *k, int width, uint8_t vkind, bool ascii, bool signed_size)
{
    const uint8_t *p;
    if (kneed(k, (size_t)width, &p))
        return GIVE_UP;
    uint64_t n = kle(p, width);
    if (signed_size && width == 4 && (n & 0x80000000u))
        return GIVE_UP;
    if (n > (uint64_t)INT64_MAX || kneed(k, (size_t)n, &p))
        return GIVE_UP;
    /* up to 8 bytes as one little-endian word, loaded at once where the
     * input has 8 bytes from p on (the bytes past n are masked off) */
    uint64_t w = 0;
    bool have_word = false;
    if (n <= 8) {
        if (K_LITTLE_ENDIAN && k->len - (size_t)(p - k->data) >= 8) {
            w = kword8(p, (size_t)n);
            have_word = true;
        }
        if (!have_word)
            for (size_t i = 0; i < n; i++) /* not memcpy: a call for a variable length */
                w |= (uint64_t)p[i] << (8 * i);
    }
    if (ascii) {
        if (n <= 8 ? (w & 0x8080808080808080ULL) != 0 : !brine_ascii_valid(p, (size_t)n))
            return GIVE_UP; /* the unpickler's encoding decides: the full VM */
    } else if (vkind == BRINE_V_STR) {
        /* ASCII is valid UTF-8: most strings need no decoder */
        bool plain = n <= 8 ? (w & 0x8080808080808080ULL) == 0 : n <= 64 && brine_ascii_valid(p, (size_t)n);
        if (!plain && !brine_utf8_valid(p, (size_t)n, true))
            return GIVE_UP;
    }
    if ((k->cfg->flags & BRINE_VM_NESTED) && n >= 2) {
        /* a short constant's key is its bytes as one word (n and the kind in
         * the top byte, so never 0); a longer one's is its FNV hash, length,
         * kind and bytes (its word is 0, so the two kinds of entry never meet).
         * Two ways: a constant may sit in its slot or the one next to it, so
         * that two constants that share a slot do not evict each other in
         * turn (a list of records alternating between them would miss at
         * every record). */
        size_t slot = INERT_CACHE;
        uint32_t h = 2166136261u ^ vkind;
        if (n <= 8) {
            w = kshort_key(w, (size_t)n, vkind, &h);
            slot = h & k->imask;
            if (kshort_hit(k, w, slot))
                goto inert;
        } else if (n <= INERT_MAX_LEN) {
            w = 0;
            for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * 16777619u;
            slot = h & k->imask;
            for (size_t way = 0; way < 2; way++) {
                size_t sl = slot ^ way;
                if (k->inert[sl].p && !k->inert[sl].word && k->inert[sl].hash == h && k->inert[sl].n == n &&
                    k->inert[sl].kind == vkind && memcmp(k->inert[sl].p, p, (size_t)n) == 0)
                    goto inert;
            }
        }
        brine_value v = {.kind = vkind};
        v.u.s.p = p;
        v.u.s.n = (size_t)n;
        if (!k->cfg->constant_inert(k->cfg->user, &v))
            return GIVE_UP;
        if (slot < INERT_CACHE) {
            /* into a free way; else the slot's entry moves to the other way */
            if (k->inert[slot].p && !k->inert[slot ^ 1].p) {
                slot ^= 1;
            } else if (k->inert[slot].p) {
                k->inert[slot ^ 1] = k->inert[slot];
                if (k->ibytes) {
                    memcpy(k->ibytes[slot ^ 1], k->ibytes[slot], INERT_MAX_LEN);
                    k->inert[slot ^ 1].p = k->ibytes[slot ^ 1];
                }
            }
            if (k->ibytes) { /* the window moves on: keep the bytes */
                memcpy(k->ibytes[slot], p, (size_t)n);
                p = k->ibytes[slot];
            }
            k->inert[slot].p = p;
            k->inert[slot].word = w;
            k->inert[slot].hash = h;
            k->inert[slot].n = (uint32_t)n;
            k->inert[slot].kind = vkind;
        }
    }
inert:
    return kpush(k, vkind == BRINE_V_BYTEARRAY ? K_MAKE(K_BYTEARRAY, 1, 0) : K_MAKE(K_SCALAR, 0, 0));
}

static int kmemo_put(kvm *k, uint64_t key)
{
    if (k->sp <= k->fence)
        return GIVE_UP;
    if (key >= k->dcap) {
        /* as dense as picklers write them; a sparse memo is the full VM's */
        if (key > 2 * (uint64_t)k->mcount + 1024 || key > 2 * k->lim->max_memo + 1024)
            return GIVE_UP;
        size_t nc = k->dcap ? k->dcap : 64; /* a small file zeroes little */
        while (nc <= key)
            nc *= 2;
        /* a file in memory whose memo passes 64K entries (a large one, then):
         * room at once for a MEMOIZE per byte, up to 64M entries (mapped with
         * huge pages, so pages it never reaches cost nothing and nothing more
         * is copied or zeroed; a small memo stays in a small block) */
        size_t room = k->len < k->lim->max_memo ? k->len + 1 : (size_t)k->lim->max_memo + 1;
        if (!k->win && nc >= ((size_t)64 << 10) && room > nc && room * sizeof *k->memo >= ((size_t)2 << 20))
            nc = room < ((size_t)64 << 20) ? room : (size_t)64 << 20;
        uint32_t *n = brine_table_grow(k->memo, k->dcap * sizeof *n, nc * sizeof *n);
        if (!n)
            return GIVE_UP;
        k->memo = n;
        k->dcap = nc;
        k->mfast = nc < k->lim->max_memo ? nc : (size_t)k->lim->max_memo;
    }
    if (!k->memo[key]) {
        if (k->mcount >= k->lim->max_memo)
            return GIVE_UP;
        k->mcount++;
    }
    k->memo[key] = k->stack[k->sp - 1] | K_PRESENT;
    return 0;
}

/* APPEND(S), SETITEM(S), ADDITEMS: the items stack[x..sp) go into stack[x-1],
 * which must be of kind `into`; with `keyed`, every stride-th item (the dict
 * keys, the set members) must be hashable. */
static int kitems(kvm *k, size_t x, unsigned into, size_t stride, bool keyed)
{
    if (x > k->sp || x <= k->fence)
        return GIVE_UP;
    if (x == k->sp)
        return 0; /* nothing to do, whatever the target is */
    if ((k->sp - x) % stride || K_KIND(k->stack[x - 1]) != into)
        return GIVE_UP;
    for (size_t i = x; keyed && i < k->sp; i += stride)
        if (!khashable(k, k->stack[i]))
            return GIVE_UP;
    k->sp = x;
    return 0;
}


/* The loop, with one indirect jump per handler (labels as values, a GCC and
 * clang extension): the branch predictor then learns which opcode tends to
 * follow which. The input position and the stack depth live in locals (the
 * build's -fno-strict-aliasing would otherwise reload them from k after every
 * store to the stack); they are written back (SYNC) around every helper that
 * reads them from k and read again (LOAD) after it. Returns 1 at STOP,
 * GIVE_UP otherwise. */
/* Bytes of the opcodes that push a scalar and nothing else (opcode and
 * argument), 0 for the others. */
static const uint8_t SCALAR_WIDTH[256] = {
    [BRINE_OP_BININT] = 5,  [BRINE_OP_BININT1] = 2,  [BRINE_OP_BININT2] = 3, [BRINE_OP_BINFLOAT] = 9,
    [BRINE_OP_NONE] = 1,    [BRINE_OP_NEWTRUE] = 1,  [BRINE_OP_NEWFALSE] = 1,
};

/* gcc would merge the handlers' identical tails (NEXT) back into one jump */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-crossjumping")))
#endif
static int krun(kvm *k, uint64_t *count)
{
    const void *table[256];
    for (int i = 0; i < 256; i++)
        table[i] = &&L_default;
    table[BRINE_OP_BININT] = &&L_BININT;
    table[BRINE_OP_BININT1] = &&L_BININT1;
    table[BRINE_OP_BININT2] = &&L_BININT2;
    table[BRINE_OP_BINFLOAT] = &&L_BINFLOAT;
    table[BRINE_OP_LONG1] = &&L_LONG1;
    table[BRINE_OP_LONG4] = &&L_LONG4;
    table[BRINE_OP_SHORT_BINSTRING] = &&L_SHORT_BINSTRING;
    table[BRINE_OP_BINSTRING] = &&L_BINSTRING;
    table[BRINE_OP_SHORT_BINBYTES] = &&L_SHORT_BINBYTES;
    table[BRINE_OP_BINBYTES] = &&L_BINBYTES;
    table[BRINE_OP_BINBYTES8] = &&L_BINBYTES8;
    table[BRINE_OP_BYTEARRAY8] = &&L_BYTEARRAY8;
    table[BRINE_OP_SHORT_BINUNICODE] = &&L_SHORT_BINUNICODE;
    table[BRINE_OP_BINUNICODE] = &&L_BINUNICODE;
    table[BRINE_OP_BINUNICODE8] = &&L_BINUNICODE8;
    table[BRINE_OP_NONE] = &&L_SCALAR;
    table[BRINE_OP_NEWTRUE] = &&L_SCALAR;
    table[BRINE_OP_NEWFALSE] = &&L_SCALAR;
    table[BRINE_OP_EMPTY_TUPLE] = &&L_EMPTY_TUPLE;
    table[BRINE_OP_EMPTY_LIST] = &&L_EMPTY_LIST;
    table[BRINE_OP_EMPTY_DICT] = &&L_EMPTY_DICT;
    table[BRINE_OP_EMPTY_SET] = &&L_EMPTY_SET;
    table[BRINE_OP_APPEND] = &&L_APPEND;
    table[BRINE_OP_APPENDS] = &&L_APPENDS;
    table[BRINE_OP_SETITEM] = &&L_SETITEM;
    table[BRINE_OP_SETITEMS] = &&L_SETITEMS;
    table[BRINE_OP_ADDITEMS] = &&L_ADDITEMS;
    table[BRINE_OP_TUPLE1] = &&L_TUPLE1;
    table[BRINE_OP_TUPLE2] = &&L_TUPLE2;
    table[BRINE_OP_TUPLE3] = &&L_TUPLE3;
    table[BRINE_OP_TUPLE] = &&L_COLLECT;
    table[BRINE_OP_LIST] = &&L_COLLECT;
    table[BRINE_OP_DICT] = &&L_COLLECT;
    table[BRINE_OP_FROZENSET] = &&L_COLLECT;
    table[BRINE_OP_POP] = &&L_POP;
    table[BRINE_OP_POP_MARK] = &&L_POP_MARK;
    table[BRINE_OP_DUP] = &&L_DUP;
    table[BRINE_OP_MARK] = &&L_MARK;
    table[BRINE_OP_BINGET] = &&L_BINGET;
    table[BRINE_OP_LONG_BINGET] = &&L_LONG_BINGET;
    table[BRINE_OP_BINPUT] = &&L_BINPUT;
    table[BRINE_OP_LONG_BINPUT] = &&L_LONG_BINPUT;
    table[BRINE_OP_MEMOIZE] = &&L_MEMOIZE;
    table[BRINE_OP_PROTO] = &&L_PROTO;
    table[BRINE_OP_FRAME] = &&L_FRAME;
    table[BRINE_OP_STOP] = &&L_STOP;
    const uint8_t *data = k->data;
    size_t len = k->len;
    const uint64_t max_ops = k->lim->max_opcodes;
    const bool nested = (k->cfg->flags & BRINE_VM_NESTED) != 0;
    uint8_t last_scalar = 0; /* the last scalar opcode seen (SCALAR_OP) */
    size_t pos = k->pos, sp = k->sp;
    size_t fe = k->fe; /* where the current FRAME ends; SIZE_MAX: outside any */
    /* Bounds, so that each opcode makes one test: NEED reads up to nlim
     * (the bytes at hand, and no further than the frame: an opcode that would
     * cross its end is the full VM's anomaly), and dispatch runs up to dlim,
     * nlim or guard, the position before which the opcode limit cannot be
     * reached (every opcode takes a byte at least), and the position before
     * which the stack cannot fill: no opcode pushes more than one cell, nor
     * more cells than it takes bytes (a run of scalars checks its own room),
     * so from (pos, sp) the stack has room for every opcode that starts
     * before pos + (scap - sp), and PUSH makes no test. At dlim the slow
     * path leaves a frame that ended, checks the opcode limit, grows the
     * stack and moves the window on. */
    size_t nlim, dlim, guard;
    const uint8_t *p;
    size_t x;
    size_t opoffset;
    uint8_t op;
    uint64_t ops = 0;
#define SYNC() (k->pos = pos, k->sp = sp, k->op_at = opoffset, k->fe = fe)
#define RELIM()                                 \
    do {                                        \
        nlim = fe < len ? fe : len;             \
        dlim = guard < nlim ? guard : nlim;     \
        if (dlim > pos && k->scap - sp < dlim - pos) \
            dlim = pos + (k->scap - sp);        \
    } while (0)
#define LOAD()                                  \
    do {                                        \
        pos = k->pos, sp = k->sp, fe = k->fe;   \
        if (k->refilled) { /* a window moved */  \
            data = k->data, len = k->len;       \
            opoffset -= k->moved;               \
            guard -= k->moved;                  \
            k->moved = 0;                       \
            k->refilled = false;                \
            RELIM();                            \
        }                                       \
    } while (0)
#define NEED(n)                                   \
    do {                                          \
        if ((size_t)(n) > nlim - pos) {           \
            if (fe != SIZE_MAX && (size_t)(n) > fe - pos) \
                goto give_up; /* crosses the frame */     \
            SYNC();                               \
            int r_ = krefill(k, (size_t)(n));     \
            LOAD();                               \
            if (r_)                               \
                goto give_up;                     \
        }                                         \
        p = data + pos;                           \
        pos += (size_t)(n);                       \
    } while (0)
/* room is there: see dlim */
#define PUSH(c)                    \
    do {                           \
        uint32_t c_ = (c);         \
        k->stack[sp++] = c_;       \
    } while (0)
/* a helper that reads and writes k->pos / k->sp */
#define CALL(expr)          \
    do {                    \
        SYNC();             \
        int r_ = (expr);    \
        LOAD();             \
        if (r_)             \
            goto give_up;   \
    } while (0)
    guard = max_ops - ops < SIZE_MAX - pos ? pos + (size_t)(max_ops - ops) : SIZE_MAX;
    RELIM();
/* the next opcode: each handler ends with its own copy of the common case
 * (one bound test, the count, the jump), the rest is dispatch's */
#define NEXT()                                      \
    do {                                            \
        opoffset = pos;                             \
        if (__builtin_expect(pos >= dlim, 0))       \
            goto dispatch;                          \
        ops++;                                      \
        op = data[pos++];                           \
        goto *table[op];                            \
    } while (0)
/* NEXT after a push that protocol 4 memoizes (a string, a record tuple):
 * a MEMOIZE that follows, inside the bytes the bound test allows, in its
 * common case (a fresh entry of the dense memo), is done here without its
 * dispatch; the opcode is counted and the bound test covers its byte (no
 * opcode takes less than one) */
#define NEXT_MEMOIZED()                                                                  \
    do {                                                                                 \
        if (pos < dlim && data[pos] == BRINE_OP_MEMOIZE) {                               \
            x = k->mcount;                                                               \
            if (x < k->mfast && sp > k->fence && !k->memo[x]) {                          \
                ops++;                                                                   \
                pos++;                                                                   \
                k->mcount = x + 1;                                                       \
                k->memo[x] = k->stack[sp - 1] | K_PRESENT;                               \
            }                                                                            \
        }                                                                                \
        NEXT();                                                                          \
    } while (0)
dispatch:
    opoffset = pos;
    if (pos >= dlim) {
        if (pos >= fe) /* the frame ended where the last opcode did */
            fe = SIZE_MAX;
        if (pos >= guard) {
            if (ops >= max_ops)
                goto give_up;
            guard = max_ops - ops < SIZE_MAX - pos ? pos + (size_t)(max_ops - ops) : SIZE_MAX;
        }
        if (pos >= len) {
            SYNC();
            int r_ = krefill(k, 1);
            LOAD();
            if (r_)
                goto give_up;
        }
        /* room for the next stretch of opcodes (a full stack at max_stack: the full VM's) */
        while (k->scap - sp < 4096 && k->scap < k->lim->max_stack) {
            SYNC();
            if (kgrow(k))
                goto give_up;
        }
        if (k->scap == sp)
            goto give_up;
        RELIM();
    }
    ops++;
    op = data[pos++];
    goto *table[op];
    {
    /* a run of the same scalar opcode (a list of numbers is mostly one) is
     * pushed at once: each pushes the same cell. A run is looked for from
     * the second scalar opcode in a row that is the same as the last one
     * (a record of mixed scalars goes one at a time, at the cost of one
     * compare). */
#define SCALAR_OP(w)                                               \
    do {                                                           \
        if (op == last_scalar)                                     \
            goto scalar_run;                                       \
        last_scalar = op;                                          \
        NEED((w) - 1);                                             \
        PUSH(K_MAKE(K_SCALAR, 0, 0));                              \
        NEXT();                                                 \
    } while (0)
    L_BININT: SCALAR_OP(5);
    L_BININT1: SCALAR_OP(2);
    L_BININT2: SCALAR_OP(3);
    L_BINFLOAT: SCALAR_OP(9);
#undef SCALAR_OP
    scalar_run: {
        /* the run within the bytes at hand and the current frame, and within
         * the opcode and stack limits */
        size_t w = SCALAR_WIDTH[op], end = nlim;
        uint64_t room = max_ops - ops + 1; /* this opcode is counted already */
        if (k->lim->max_stack - sp < room)
            room = k->lim->max_stack > sp ? k->lim->max_stack - sp : 0;
        size_t q = opoffset, cnt = 0;
        /* four at a time while four fit (one bound test for them), then one by one */
        while (room - cnt >= 4 && 4 * w <= end - q && data[q] == op && data[q + w] == op &&
               data[q + 2 * w] == op && data[q + 3 * w] == op) {
            q += 4 * w;
            cnt += 4;
        }
        while (cnt < room && w <= end - q && data[q] == op) {
            q += w;
            cnt++;
        }
        if (!cnt) { /* not even this one: the checks of one at a time */
            NEED(w - 1);
            PUSH(K_MAKE(K_SCALAR, 0, 0));
            NEXT();
        }
        while (k->scap - sp < cnt) {
            SYNC();
            if (kgrow(k))
                goto give_up;
        }
        uint32_t *st = k->stack + sp;
        for (size_t i = 0; i < cnt; i++)
            st[i] = K_MAKE(K_SCALAR, 0, 0);
        sp += cnt;
        ops += cnt - 1;
        pos = q;
        opoffset = q - w;
        NEXT();
    }
    L_LONG1:
    L_LONG4: {
        int w = op == BRINE_OP_LONG1 ? 1 : 4;
        NEED(w);
        uint64_t n = kle(p, w);
        if (w == 4 && (n & 0x80000000u))
            goto give_up;
        NEED(n);
        PUSH(K_MAKE(K_SCALAR, 0, 0));
        NEXT();
    }
    L_SHORT_BINSTRING: CALL(ksized(k, 1, BRINE_V_STR, true, false)); NEXT();
    L_BINSTRING: CALL(ksized(k, 4, BRINE_V_STR, true, true)); NEXT();
    L_SHORT_BINBYTES: CALL(ksized(k, 1, BRINE_V_BYTES, false, false)); NEXT();
    L_BINBYTES: CALL(ksized(k, 4, BRINE_V_BYTES, false, false)); NEXT();
    L_BINBYTES8: CALL(ksized(k, 8, BRINE_V_BYTES, false, false)); NEXT();
    L_BYTEARRAY8: CALL(ksized(k, 8, BRINE_V_BYTEARRAY, false, false)); NEXT();
    L_SHORT_BINUNICODE:
        /* ksized's common case inline: up to 8 bytes of ASCII, a cache hit
         * (the word as ksized makes it: little-endian only) */
        /* nine bytes inside the frame and the bytes at hand (nlim <= len), so a
         * length up to 8 fits and the 8-byte load stays inside */
        if (K_LITTLE_ENDIAN && nlim - pos >= 9 && data[pos] <= 8) {
            size_t n = data[pos];
            uint64_t w = kword8(data + pos + 1, n);
            if (!(w & 0x8080808080808080ULL)) {
                if (n < 2 || !nested) {
                    pos += 1 + n;
                    PUSH(K_MAKE(K_SCALAR, 0, 0));
                    NEXT_MEMOIZED();
                }
                uint32_t h;
                w = kshort_key(w, n, BRINE_V_STR, &h);
                if (kshort_hit(k, w, h & k->imask)) {
                    pos += 1 + n;
                    PUSH(K_MAKE(K_SCALAR, 0, 0));
                    NEXT_MEMOIZED();
                }
            }
        }
        CALL(ksized(k, 1, BRINE_V_STR, false, false));
        NEXT();
    L_BINUNICODE: CALL(ksized(k, 4, BRINE_V_STR, false, false)); NEXT();
    L_BINUNICODE8: CALL(ksized(k, 8, BRINE_V_STR, false, false)); NEXT();
    L_SCALAR: PUSH(K_MAKE(K_SCALAR, 0, 0)); NEXT(); /* NONE, NEWTRUE, NEWFALSE */
    L_EMPTY_TUPLE: PUSH(K_MAKE(K_TUPLE, 0, 1)); NEXT();
    L_EMPTY_LIST: PUSH(K_MAKE(K_LIST, 1, 0)); NEXT();
    L_EMPTY_DICT: PUSH(K_MAKE(K_DICT, 1, 0)); NEXT();
    L_EMPTY_SET: PUSH(K_MAKE(K_SET, 1, 0)); NEXT();
    L_APPEND:
        if (k->fence >= sp)
            goto give_up;
        CALL(kitems(k, k->sp - 1, K_LIST, 1, false));
        NEXT();
    L_APPENDS:
        if (kmarker(k, &x))
            goto give_up;
        CALL(kitems(k, x, K_LIST, 1, false));
        NEXT();
    L_SETITEM:
        if (sp < 2)
            goto give_up;
        CALL(kitems(k, k->sp - 2, K_DICT, 2, true));
        NEXT();
    L_SETITEMS:
        if (kmarker(k, &x))
            goto give_up;
        CALL(kitems(k, x, K_DICT, 2, true));
        NEXT();
    L_ADDITEMS:
        if (kmarker(k, &x))
            goto give_up;
        CALL(kitems(k, x, K_SET, 1, true));
        NEXT();
    /* TUPLE1, TUPLE2, TUPLE3: kseq unrolled for each count (depths compared
     * in place, bits 8-15 of the cell) */
#define K_DBITS(c) ((c) & 0xff00u)
#define K_DMAX(a, b) ((a) > (b) ? (a) : (b))
#define TUPLE_OF(n, uh, dm)                                                          \
    do {                                                                             \
        uint32_t d_ = (dm);                                                          \
        sp -= (n);                                                                   \
        /* the stack held n >= 1 cells: there is room */                             \
        k->stack[sp++] = K_TUPLE | ((uh) & K_UNHASHABLE) | (d_ < 0xff00u ? d_ + 0x100u : d_); \
        NEXT_MEMOIZED();                                                             \
    } while (0)
    L_TUPLE1: {
        if (sp < 1 || sp - 1 < k->fence)
            goto give_up;
        uint32_t c0 = k->stack[sp - 1];
        TUPLE_OF(1, c0, K_DBITS(c0));
    }
    L_TUPLE2: {
        if (sp < 2 || sp - 2 < k->fence)
            goto give_up;
        uint32_t c0 = k->stack[sp - 1], c1 = k->stack[sp - 2];
        if (!(c0 | c1)) /* two scalars */
            TUPLE_OF(2, 0u, 0u);
        TUPLE_OF(2, c0 | c1, K_DMAX(K_DBITS(c0), K_DBITS(c1)));
    }
    L_TUPLE3: {
        if (sp < 3 || sp - 3 < k->fence)
            goto give_up;
        uint32_t c0 = k->stack[sp - 1], c1 = k->stack[sp - 2], c2 = k->stack[sp - 3];
        if (!(c0 | c1 | c2)) /* three scalars (a record): a hashable tuple of depth 1 */
            TUPLE_OF(3, 0u, 0u);
        TUPLE_OF(3, c0 | c1 | c2, K_DMAX(K_DMAX(K_DBITS(c0), K_DBITS(c1)), K_DBITS(c2)));
    }
#undef TUPLE_OF
#undef K_DMAX
#undef K_DBITS
    L_COLLECT: { /* TUPLE, LIST, DICT, FROZENSET */
        if (kmarker(k, &x))
            goto give_up;
        uint32_t c;
        if (op == BRINE_OP_TUPLE) {
            SYNC();
            c = kseq(k, x, K_TUPLE);
        } else if (op == BRINE_OP_FROZENSET) {
            for (size_t i = x; i < sp; i++)
                if (!khashable(k, k->stack[i]))
                    goto give_up;
            SYNC();
            c = kseq(k, x, K_FROZENSET);
        } else if (op == BRINE_OP_DICT) {
            if ((sp - x) % 2)
                goto give_up;
            for (size_t i = x; i < sp; i += 2)
                if (!khashable(k, k->stack[i]))
                    goto give_up;
            c = K_MAKE(K_DICT, 1, 0);
        } else {
            c = K_MAKE(K_LIST, 1, 0);
        }
        sp = x;
        PUSH(c);
        NEXT();
    }
    L_POP:
        if (k->nmarks && k->marks[k->nmarks - 1] == sp) {
            k->nmarks--;
            k->fence = k->nmarks ? k->marks[k->nmarks - 1] : 0;
        } else if (sp <= k->fence) {
            goto give_up;
        } else {
            sp--;
        }
        NEXT();
    L_POP_MARK:
        if (kmarker(k, &x))
            goto give_up;
        sp = x;
        NEXT();
    L_DUP:
        if (sp <= k->fence)
            goto give_up;
        PUSH(k->stack[sp - 1]);
        NEXT();
    L_MARK:
        if (k->nmarks >= k->lim->max_marks)
            goto give_up;
        if (k->nmarks == k->mcap) {
            size_t nc = k->mcap ? k->mcap * 2 : 32;
            size_t *n = realloc(k->marks, nc * sizeof *n);
            if (!n)
                goto give_up;
            k->marks = n;
            k->mcap = nc;
        }
        k->marks[k->nmarks++] = sp;
        k->fence = sp;
        NEXT();
    L_BINGET: NEED(1); x = p[0]; goto get;
    L_LONG_BINGET: NEED(4); x = (size_t)kle(p, 4); goto get;
    get:
        if (x >= k->dcap || !k->memo[x])
            goto give_up;
        PUSH(k->memo[x] & ~K_PRESENT);
        NEXT();
    L_BINPUT:
        if (sp <= k->fence)
            goto give_up;
        NEED(1);
        x = p[0];
        goto put;
    L_LONG_BINPUT:
        if (sp <= k->fence)
            goto give_up;
        NEED(4);
        x = (size_t)kle(p, 4);
        goto put;
    L_MEMOIZE:
        x = k->mcount;
        if (x < k->mfast && sp > k->fence && !k->memo[x]) { /* mcount < max_memo, x < dcap */
            k->mcount = x + 1;
            k->memo[x] = k->stack[sp - 1] | K_PRESENT;
            NEXT();
        }
    put:
        if (sp <= k->fence)
            goto give_up;
        if (x < k->dcap && !k->memo[x] && k->mcount < k->lim->max_memo) { /* the common case */
            k->mcount++;
            k->memo[x] = k->stack[sp - 1] | K_PRESENT;
            NEXT();
        }
        CALL(kmemo_put(k, x));
        NEXT();
    L_PROTO:
        NEED(1);
        if (p[0] > 5)
            goto give_up;
        NEXT();
    L_FRAME: {
        NEED(8);
        uint64_t n = kle(p, 8);
        if (n > (uint64_t)INT64_MAX || (fe != SIZE_MAX && opoffset < fe) || n > k->total - (k->base + pos))
            goto give_up; /* malformed, or the anomaly of a frame inside a frame */
        fe = pos + n;
        RELIM();
        goto dispatch;
    }
    L_STOP:
        if (sp <= k->fence)
            goto give_up;
        sp--;
        goto stop;
    }
L_default:
    goto give_up; /* code, text opcodes, buffers, extensions, persistent ids, bad bytes */
stop:
    SYNC();
    *count = ops;
    return 1;
give_up:
    SYNC();
    *count = ops;
    return GIVE_UP;
#undef SYNC
#undef LOAD
#undef NEED
#undef PUSH
#undef CALL
#undef NEXT
}

bool brine_vm_kinds(const uint8_t *data, size_t len, const brine_vm_config *cfg, uint64_t *end, uint64_t *opcodes)
{
    kvm k;
    /* the inert cache is cleared only as far as it is used: a 50-byte file
     * does not pay for zeroing 32 KB (a tenth of a small file's scan) */
    memset(&k, 0, offsetof(kvm, inert));
    size_t slots = 16;
    while (slots < INERT_CACHE && (cfg->window || slots * 16 < len))
        slots *= 2;
    memset(k.inert, 0, slots * sizeof k.inert[0]);
    k.imask = slots - 1;
    k.data = data;
    k.len = len;
    k.total = len;
    k.cfg = cfg;
    k.lim = cfg->settings;
    k.pos = cfg->start <= len ? cfg->start : len;
    k.fe = SIZE_MAX;
    if (cfg->window) { /* positions are relative to the window's base */
        k.win = cfg->window;
        k.total = k.win->src->len;
        k.ibytes = malloc(sizeof *k.ibytes * INERT_CACHE);
        if (!k.ibytes)
            return false;
        uint64_t at = cfg->start <= k.total ? cfg->start : k.total;
        if (!brine_window_fill(k.win, at, 0)) {
            free(k.ibytes);
            return false;
        }
        k.base = k.win->base;
        k.data = k.win->buf;
        k.len = k.win->have;
        k.pos = (size_t)(at - k.base);
    }
    k.key_depth = k.lim->max_depth / 2 < K_MAX_KEY_DEPTH ? (unsigned)(k.lim->max_depth / 2) : K_MAX_KEY_DEPTH;
    uint64_t n = 0;
    int r = krun(&k, &n);
    free(k.stack);
    free(k.marks);
    brine_big_free(k.memo, k.dcap * sizeof *k.memo);
    free(k.ibytes);
    if (r != 1)
        return false;
    *end = k.base + k.pos;
    *opcodes = n;
    return true;
}
