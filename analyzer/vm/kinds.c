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

#define INERT_CACHE 1024
#define INERT_MAX_LEN 64

typedef struct kvm {
    const uint8_t *data;
    size_t len, pos;
    const brine_vm_config *cfg;
    const brine_settings *lim;
    uint32_t *stack;
    size_t sp, scap, fence;
    size_t *marks;
    size_t nmarks, mcap;
    uint32_t *memo;
    size_t mcount, dcap;
    uint64_t frame_end;
    unsigned key_depth; /* deepest key this pass decides itself */
    /* short constants found inert, by content: a data file repeats its
     * strings (column names, keys, labels), and the answer depends only on
     * the bytes and their kind */
    struct { const uint8_t *p; uint32_t n, hash; uint8_t kind; } inert[INERT_CACHE];
} kvm;

#define GIVE_UP (-1)

static inline __attribute__((always_inline)) int kpush(kvm *k, uint32_t c)
{
    if (k->sp == k->scap) {
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
    }
    k->stack[k->sp++] = c;
    return 0;
}

static inline __attribute__((always_inline)) int kneed(kvm *k, size_t n, const uint8_t **out)
{
    if (n > k->len - k->pos)
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
    if (ascii) {
        for (size_t i = 0; i < n; i++)
            if (p[i] & 0x80)
                return GIVE_UP; /* the unpickler's encoding decides: the full VM */
    } else if (vkind == BRINE_V_STR && !brine_utf8_valid(p, (size_t)n, true)) {
        return GIVE_UP;
    }
    if ((k->cfg->flags & BRINE_VM_NESTED) && n >= 2) {
        size_t slot = INERT_CACHE;
        uint32_t h = 2166136261u ^ vkind;
        if (n <= INERT_MAX_LEN) {
            for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * 16777619u;
            slot = h & (INERT_CACHE - 1);
            if (k->inert[slot].p && k->inert[slot].hash == h && k->inert[slot].n == n &&
                k->inert[slot].kind == vkind && memcmp(k->inert[slot].p, p, (size_t)n) == 0)
                goto inert;
        }
        brine_value v = {.kind = vkind};
        v.u.s.p = p;
        v.u.s.n = (size_t)n;
        if (!k->cfg->constant_inert(k->cfg->user, &v))
            return GIVE_UP;
        if (slot < INERT_CACHE) {
            k->inert[slot].p = p;
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
        size_t nc = k->dcap ? k->dcap : 1024;
        while (nc <= key)
            nc *= 2;
        uint32_t *n = realloc(k->memo, nc * sizeof *n);
        if (!n)
            return GIVE_UP;
        memset(n + k->dcap, 0, (nc - k->dcap) * sizeof *n);
        k->memo = n;
        k->dcap = nc;
    }
    if (!k->memo[key]) {
        if (k->mcount >= k->lim->max_memo)
            return GIVE_UP;
        k->mcount++;
    }
    k->memo[key] = k->stack[k->sp - 1] | K_PRESENT;
    return 0;
}

static int kmemo_get(kvm *k, uint64_t key)
{
    if (key >= k->dcap || !k->memo[key])
        return GIVE_UP;
    return kpush(k, k->memo[key] & ~K_PRESENT);
}

/* APPEND(S) into stack[x-1] of items stack[x..sp). */
static int kappend(kvm *k, size_t x)
{
    if (x > k->sp || x <= k->fence)
        return GIVE_UP;
    if (x == k->sp)
        return 0;
    if (K_KIND(k->stack[x - 1]) != K_LIST)
        return GIVE_UP;
    k->sp = x;
    return 0;
}

/* SETITEM(S) into stack[x-1] of pairs stack[x..sp). */
static int ksetitems(kvm *k, size_t x)
{
    if (x > k->sp || x <= k->fence)
        return GIVE_UP;
    if (x == k->sp)
        return 0;
    if ((k->sp - x) % 2 || K_KIND(k->stack[x - 1]) != K_DICT)
        return GIVE_UP;
    for (size_t i = x; i < k->sp; i += 2)
        if (!khashable(k, k->stack[i]))
            return GIVE_UP;
    k->sp = x;
    return 0;
}

static int kstep(kvm *k)
{
    size_t opoffset = k->pos;
    if (k->pos >= k->len)
        return GIVE_UP;
    uint8_t op = k->data[k->pos++];
    const uint8_t *p;
    size_t x;
    int r = 0;
    switch ((brine_op)op) {
    case BRINE_OP_BININT: r = kneed(k, 4, &p) ? GIVE_UP : kpush(k, K_MAKE(K_SCALAR, 0, 0)); break;
    case BRINE_OP_BININT1: r = kneed(k, 1, &p) ? GIVE_UP : kpush(k, K_MAKE(K_SCALAR, 0, 0)); break;
    case BRINE_OP_BININT2: r = kneed(k, 2, &p) ? GIVE_UP : kpush(k, K_MAKE(K_SCALAR, 0, 0)); break;
    case BRINE_OP_BINFLOAT: r = kneed(k, 8, &p) ? GIVE_UP : kpush(k, K_MAKE(K_SCALAR, 0, 0)); break;
    case BRINE_OP_LONG1:
    case BRINE_OP_LONG4: {
        int w = op == BRINE_OP_LONG1 ? 1 : 4;
        if (kneed(k, (size_t)w, &p))
            return GIVE_UP;
        uint64_t n = kle(p, w);
        if ((w == 4 && (n & 0x80000000u)) || kneed(k, (size_t)n, &p))
            return GIVE_UP;
        r = kpush(k, K_MAKE(K_SCALAR, 0, 0));
        break;
    }
    case BRINE_OP_SHORT_BINSTRING: r = ksized(k, 1, BRINE_V_STR, true, false); break;
    case BRINE_OP_BINSTRING: r = ksized(k, 4, BRINE_V_STR, true, true); break;
    case BRINE_OP_SHORT_BINBYTES: r = ksized(k, 1, BRINE_V_BYTES, false, false); break;
    case BRINE_OP_BINBYTES: r = ksized(k, 4, BRINE_V_BYTES, false, false); break;
    case BRINE_OP_BINBYTES8: r = ksized(k, 8, BRINE_V_BYTES, false, false); break;
    case BRINE_OP_BYTEARRAY8: r = ksized(k, 8, BRINE_V_BYTEARRAY, false, false); break;
    case BRINE_OP_SHORT_BINUNICODE: r = ksized(k, 1, BRINE_V_STR, false, false); break;
    case BRINE_OP_BINUNICODE: r = ksized(k, 4, BRINE_V_STR, false, false); break;
    case BRINE_OP_BINUNICODE8: r = ksized(k, 8, BRINE_V_STR, false, false); break;
    case BRINE_OP_NONE:
    case BRINE_OP_NEWTRUE:
    case BRINE_OP_NEWFALSE: r = kpush(k, K_MAKE(K_SCALAR, 0, 0)); break;
    case BRINE_OP_EMPTY_TUPLE: r = kpush(k, K_MAKE(K_TUPLE, 0, 1)); break;
    case BRINE_OP_EMPTY_LIST: r = kpush(k, K_MAKE(K_LIST, 1, 0)); break;
    case BRINE_OP_EMPTY_DICT: r = kpush(k, K_MAKE(K_DICT, 1, 0)); break;
    case BRINE_OP_EMPTY_SET: r = kpush(k, K_MAKE(K_SET, 1, 0)); break;
    case BRINE_OP_APPEND: r = k->fence >= k->sp ? GIVE_UP : kappend(k, k->sp - 1); break;
    case BRINE_OP_APPENDS: r = kmarker(k, &x) ? GIVE_UP : kappend(k, x); break;
    case BRINE_OP_SETITEM: r = k->sp < 2 ? GIVE_UP : ksetitems(k, k->sp - 2); break;
    case BRINE_OP_SETITEMS: r = kmarker(k, &x) ? GIVE_UP : ksetitems(k, x); break;
    case BRINE_OP_ADDITEMS:
        if (kmarker(k, &x) || x > k->sp || x <= k->fence)
            return GIVE_UP;
        if (x == k->sp)
            break;
        if (K_KIND(k->stack[x - 1]) != K_SET)
            return GIVE_UP;
        for (size_t i = x; i < k->sp; i++)
            if (!khashable(k, k->stack[i]))
                return GIVE_UP;
        k->sp = x;
        break;
    case BRINE_OP_TUPLE1:
    case BRINE_OP_TUPLE2:
    case BRINE_OP_TUPLE3: {
        size_t n = (size_t)(op - BRINE_OP_TUPLE1 + 1);
        if (k->sp < n || k->sp - n < k->fence)
            return GIVE_UP;
        uint32_t c = kseq(k, k->sp - n, K_TUPLE);
        k->sp -= n;
        r = kpush(k, c);
        break;
    }
    case BRINE_OP_TUPLE:
    case BRINE_OP_LIST:
    case BRINE_OP_DICT:
    case BRINE_OP_FROZENSET: {
        if (kmarker(k, &x))
            return GIVE_UP;
        uint32_t c;
        if (op == BRINE_OP_TUPLE) {
            c = kseq(k, x, K_TUPLE);
        } else if (op == BRINE_OP_FROZENSET) {
            for (size_t i = x; i < k->sp; i++)
                if (!khashable(k, k->stack[i]))
                    return GIVE_UP;
            c = kseq(k, x, K_FROZENSET);
        } else if (op == BRINE_OP_DICT) {
            if ((k->sp - x) % 2)
                return GIVE_UP;
            for (size_t i = x; i < k->sp; i += 2)
                if (!khashable(k, k->stack[i]))
                    return GIVE_UP;
            c = K_MAKE(K_DICT, 1, 0);
        } else {
            c = K_MAKE(K_LIST, 1, 0);
        }
        k->sp = x;
        r = kpush(k, c);
        break;
    }
    case BRINE_OP_POP:
        if (k->nmarks && k->marks[k->nmarks - 1] == k->sp) {
            k->nmarks--;
            k->fence = k->nmarks ? k->marks[k->nmarks - 1] : 0;
        } else if (k->sp <= k->fence) {
            return GIVE_UP;
        } else {
            k->sp--;
        }
        break;
    case BRINE_OP_POP_MARK:
        if (kmarker(k, &x))
            return GIVE_UP;
        k->sp = x;
        break;
    case BRINE_OP_DUP: r = k->sp <= k->fence ? GIVE_UP : kpush(k, k->stack[k->sp - 1]); break;
    case BRINE_OP_MARK:
        if (k->nmarks >= k->lim->max_marks)
            return GIVE_UP;
        if (k->nmarks == k->mcap) {
            size_t nc = k->mcap ? k->mcap * 2 : 32;
            size_t *n = realloc(k->marks, nc * sizeof *n);
            if (!n)
                return GIVE_UP;
            k->marks = n;
            k->mcap = nc;
        }
        k->marks[k->nmarks++] = k->sp;
        k->fence = k->sp;
        break;
    case BRINE_OP_BINGET: r = kneed(k, 1, &p) ? GIVE_UP : kmemo_get(k, p[0]); break;
    case BRINE_OP_LONG_BINGET: r = kneed(k, 4, &p) ? GIVE_UP : kmemo_get(k, kle(p, 4)); break;
    case BRINE_OP_BINPUT:
        r = k->sp <= k->fence || kneed(k, 1, &p) ? GIVE_UP : kmemo_put(k, p[0]);
        break;
    case BRINE_OP_LONG_BINPUT:
        r = k->sp <= k->fence || kneed(k, 4, &p) ? GIVE_UP : kmemo_put(k, kle(p, 4));
        break;
    case BRINE_OP_MEMOIZE: r = kmemo_put(k, k->mcount); break;
    case BRINE_OP_PROTO:
        if (kneed(k, 1, &p) || p[0] > 5)
            return GIVE_UP;
        break;
    case BRINE_OP_FRAME: {
        if (kneed(k, 8, &p))
            return GIVE_UP;
        uint64_t n = kle(p, 8);
        if (n > (uint64_t)INT64_MAX || (k->frame_end && opoffset < k->frame_end) || n > k->len - k->pos)
            return GIVE_UP; /* malformed, or the anomaly of a frame inside a frame */
        k->frame_end = k->pos + n;
        return 0; /* the frame-crossing check does not apply to FRAME itself */
    }
    case BRINE_OP_STOP:
        if (k->sp <= k->fence)
            return GIVE_UP;
        k->sp--;
        return 1;
    default:
        return GIVE_UP; /* code, text opcodes, buffers, extensions, persistent ids, bad bytes */
    }
    if (r)
        return r;
    if (k->frame_end) {
        if (opoffset < k->frame_end && k->pos > k->frame_end)
            return GIVE_UP; /* the full VM reports the crossing */
        if (k->pos >= k->frame_end)
            k->frame_end = 0;
    }
    return 0;
}

bool brine_vm_kinds(const uint8_t *data, size_t len, const brine_vm_config *cfg, uint64_t *end, uint64_t *opcodes)
{
    kvm k;
    memset(&k, 0, sizeof k);
    k.data = data;
    k.len = len;
    k.cfg = cfg;
    k.lim = cfg->settings;
    k.pos = cfg->start <= len ? cfg->start : len;
    k.key_depth = k.lim->max_depth / 2 < K_MAX_KEY_DEPTH ? (unsigned)(k.lim->max_depth / 2) : K_MAX_KEY_DEPTH;
    uint64_t n = 0;
    int r = 0;
    while (r == 0) {
        if (n >= k.lim->max_opcodes) {
            r = GIVE_UP;
            break;
        }
        n++;
        r = kstep(&k);
    }
    free(k.stack);
    free(k.marks);
    free(k.memo);
    if (r != 1)
        return false;
    *end = k.pos;
    *opcodes = n;
    return true;
}
