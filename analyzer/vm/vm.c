/* The symbolic pickle VM: CPython 3.11's C unpickler (Modules/_pickle.c,
 * load() and the load_* functions) with every side effect replaced by a
 * symbolic value and an event.
 *
 * Stack effects, as CPython implements them ("|" is the fence: the top MARK;
 * nothing at or below it may be popped except by the opcodes that take a
 * mark; popping across it raises "unexpected MARK found", popping an empty
 * stack without marks "unpickling stack underflow"):
 *
 *   push a constant       INT BININT BININT1 BININT2 LONG LONG1 LONG4 STRING
 *                         BINSTRING SHORT_BINSTRING BINBYTES SHORT_BINBYTES
 *                         BINBYTES8 BYTEARRAY8 NONE NEWTRUE NEWFALSE UNICODE
 *                         SHORT_BINUNICODE BINUNICODE BINUNICODE8 FLOAT BINFLOAT
 *   push empty container  EMPTY_LIST EMPTY_TUPLE EMPTY_DICT EMPTY_SET
 *   MARK                  push a mark (fence = stack size)
 *   mark items -> x       LIST TUPLE DICT FROZENSET      (pops the mark)
 *   a b c -> (a, b, c)    TUPLE1 TUPLE2 TUPLE3
 *   list x -> list        APPEND      list mark items -> list   APPENDS
 *   dict k v -> dict      SETITEM     dict mark k v ... -> dict SETITEMS
 *   set mark items -> set ADDITEMS
 *   x ->                  POP (or pops the top mark if it sits at the top)
 *   mark items ->         POP_MARK
 *   x -> x x              DUP
 *   -> memo[i]            GET BINGET LONG_BINGET
 *   x -> x, memo[i] = x   PUT BINPUT LONG_BINPUT MEMOIZE (i = memo size)
 *   -> global             GLOBAL (two text lines)  EXT1 EXT2 EXT4 (registry)
 *   mod name -> global    STACK_GLOBAL
 *   f args -> f(*args)    REDUCE
 *   obj state -> obj      BUILD (obj.__setstate__(state) or __dict__/setattr)
 *   mark args -> cls(*a)  INST (class from two text lines)
 *   mark cls args -> obj  OBJ
 *   cls args -> new       NEWOBJ        cls args kw -> new   NEWOBJ_EX
 *   -> persistent_load(pid)       PERSID (text)   pid -> obj  BINPERSID
 *   -> buffer             NEXT_BUFFER (no buffers: error)
 *   x -> readonly(x)      READONLY_BUFFER
 *   PROTO n               sets the protocol (name resolution depends on it)
 *   FRAME n               n bytes must follow; CPython does not enforce the
 *                         frame boundary (brine reports crossing it)
 *   x -> STOP             the pickle's value; leftover stack and marks ignored
 *
 * Every opcode is accepted at every protocol, as CPython does.
 */
#include "vm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat_pickle.h"
#include "text.h"

const char *brine_op_name(uint8_t byte)
{
    switch (byte) {
#define BRINE_OP(name, b, arg, proto) \
    case b: return #name;
#include "opcodes.def"
#undef BRINE_OP
    default: return NULL;
    }
}

int brine_op_proto(uint8_t byte)
{
    switch (byte) {
#define BRINE_OP(name, b, arg, proto) \
    case b: return proto;
#include "opcodes.def"
#undef BRINE_OP
    default: return -1;
    }
}

const char *brine_evkind_name(brine_evkind k)
{
    static const char *const names[] = {"import", "dynamic_import", "call", "build", "items", "persid",
                                        "ext", "malformed", "limit", "trailing", "pickle", "anomaly", "nested"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

/* ---- VM state ----------------------------------------------------------- */

typedef struct memo_slot {
    int64_t key; /* -1: empty */
    brine_value *v;
} memo_slot;

typedef struct global_slot {
    brine_value *g;
} global_slot;

typedef struct vm {
    const uint8_t *data; /* the input, or NULL when it is read through win */
    size_t len, pos;     /* len: the stream's length in either case */
    brine_window *win;
    const brine_vm_config *cfg;
    const brine_settings *lim;
    brine_arena *a;
    brine_vm_result *res;

    brine_value **stack;
    size_t sp, scap, fence;
    int64_t *marks;
    size_t nmarks, mcap;

    memo_slot *memo;       /* sparse part: open addressing on the key */
    size_t mcount, memocap;
    brine_value **dense;   /* dense part: keys below dcap, as picklers write them */
    size_t dcap;
    global_slot *globals;
    size_t gcount, gcap;
    brine_work work;       /* hashing, comparing, probing: max_compare */

    int proto;
    uint64_t opindex, opoffset;
    uint8_t op;
    uint64_t frame_end; /* 0 when not inside a FRAME */
    size_t op_end;      /* end of the opcode's own bytes when a reader skipped more */
    bool any_call;      /* a call ran: copyreg.add_extension might have */
    bool stop;          /* reached STOP */
    bool failed;
    brine_value *none, *vtrue, *vfalse; /* immutable: one each per run */
    brine_value *small_int[256];        /* the same for ints 0..255, made on first use */
    bool plain;                         /* no window, no trace: step's inline fast paths apply */

    /* disassembly */
    char argbuf[160];
    int64_t trace_memo;
    bool trace_put;
} vm;

#define SCRATCH_RENDER 120

/* ---- errors, limits, events --------------------------------------------- */

static int emit(vm *m, brine_vm_event *ev)
{
    if (!m->cfg->on_event)
        return 0;
    ev->offset = m->opoffset;
    ev->opindex = m->opindex;
    ev->opcode = m->op;
    if (m->cfg->on_event(m->cfg->user, ev)) {
        m->res->callback_stopped = true;
        m->failed = true;
        return -1;
    }
    return 0;
}

static int fail_status(vm *m, brine_status st, brine_evkind kind, const char *msg)
{
    if (m->failed)
        return -1;
    m->res->status = st;
    m->res->error_offset = m->opoffset;
    m->res->error_opcode = m->op;
    m->res->error_message = msg;
    brine_vm_event ev = {.kind = kind, .message = msg};
    emit(m, &ev);
    m->failed = true;
    return -1;
}

/* CPython raises here: the pickle is malformed at the current opcode. */
static int malformed(vm *m, const char *msg)
{
    return fail_status(m, BRINE_STATUS_MALFORMED, BRINE_EV_MALFORMED, msg);
}

static int limit(vm *m, const char *which)
{
    return fail_status(m, BRINE_STATUS_INCONCLUSIVE, BRINE_EV_LIMIT, which);
}

static int arena_fail(vm *m)
{
    return limit(m, m->a->nomem ? "out of memory" : "max_bytes: retained values exceed the limit");
}

static int anomaly(vm *m, const char *msg)
{
    brine_vm_event ev = {.kind = BRINE_EV_ANOMALY, .message = msg};
    return emit(m, &ev);
}

/* The work budget of the stream (hashing, comparing, probing) ran out. */
static int work_fail(vm *m)
{
    return limit(m, "max_compare: hashing and comparing values took more work than the limit");
}

static int underflow(vm *m)
{
    return malformed(m, m->nmarks ? "unexpected MARK found" : "unpickling stack underflow");
}

#define TRY(x)            \
    do {                  \
        if ((x) < 0)      \
            return -1;    \
    } while (0)
#define NEWV(var, kind)                     \
    do {                                    \
        (var) = brine_value_new(m->a, kind); \
        if (!(var))                         \
            return arena_fail(m);           \
    } while (0)

/* ---- stack, marks, memo --------------------------------------------------- */

static int __attribute__((noinline)) push_slow(vm *m, brine_value *v);

/* inline: the common case is a test and a store (a call per push was 5% of
 * an object pickle's scan) */
static inline __attribute__((always_inline)) int push(vm *m, brine_value *v)
{
    if (__builtin_expect(v && m->sp < m->scap, 1)) {
        m->stack[m->sp++] = v;
        return 0;
    }
    return push_slow(m, v);
}

static int push_slow(vm *m, brine_value *v)
{
    if (!v)
        return arena_fail(m);
    if (m->sp == m->scap) {
        if (m->sp >= m->lim->max_stack)
            return limit(m, "max_stack: the VM stack is deeper than the limit");
        size_t nc = m->scap ? m->scap * 2 : 64;
        if (nc > m->lim->max_stack)
            nc = (size_t)m->lim->max_stack;
        brine_value **n = realloc(m->stack, nc * sizeof *n);
        if (!n)
            return limit(m, "out of memory");
        m->stack = n;
        m->scap = nc;
    }
    m->stack[m->sp++] = v;
    return 0;
}

/* &stack[i], for i <= sp. The stack is NULL until the first push, and NULL + 0
 * is undefined behaviour in C, so an empty range is given as NULL outright. */
static brine_value **stack_at(vm *m, size_t i)
{
    return m->stack ? m->stack + i : NULL;
}

static int pop(vm *m, brine_value **out)
{
    if (m->sp <= m->fence)
        return underflow(m);
    *out = m->stack[--m->sp];
    return 0;
}

/* marker(): pop the top mark, return its position */
static int marker(vm *m, size_t *out)
{
    if (m->nmarks < 1)
        return malformed(m, "could not find MARK");
    *out = (size_t)m->marks[--m->nmarks];
    m->fence = m->nmarks ? (size_t)m->marks[m->nmarks - 1] : 0;
    return 0;
}

static brine_value *memo_get(vm *m, int64_t key)
{
    if (key >= 0 && (uint64_t)key < m->dcap)
        return m->dense[key];
    if (!m->memocap || key < 0)
        return NULL;
    size_t mask = m->memocap - 1;
    for (size_t i = (size_t)((uint64_t)key * 0x9e3779b97f4a7c15ULL >> 20) & mask;; i = (i + 1) & mask) {
        if (!brine_work_spend(&m->work, 1))
            return NULL; /* the caller reports max_compare */
        if (m->memo[i].key == key)
            return m->memo[i].v;
        if (m->memo[i].key == -1) /* empty; -2 (moved to the dense part) goes on */
            return NULL;
    }
}

/* Grow the dense part to cover key when keys are dense enough (the memory is
 * bounded by twice the entry count, itself capped), moving sparse entries in. */
static bool memo_densify(vm *m, int64_t key)
{
    uint64_t want = (uint64_t)key + 1;
    if (want > 2 * (uint64_t)m->mcount + 1024 || want > 2 * m->lim->max_memo + 1024)
        return false;
    size_t nc = m->dcap ? m->dcap : 64; /* a small file zeroes little */
    while (nc < want)
        nc *= 2;
    brine_value **n = realloc(m->dense, nc * sizeof *n);
    if (!n)
        return false;
    memset(n + m->dcap, 0, (nc - m->dcap) * sizeof *n);
    for (size_t j = 0; j < m->memocap; j++) {
        int64_t k = m->memo[j].key;
        if (k >= 0 && (uint64_t)k < nc) {
            n[k] = m->memo[j].v;
            m->memo[j].key = -2; /* a tombstone keeps probe chains intact */
        }
    }
    m->dense = n;
    m->dcap = nc;
    return true;
}

static int memo_put(vm *m, int64_t key, brine_value *v)
{
    m->trace_memo = key;
    m->trace_put = true;
    if ((uint64_t)key < m->dcap || memo_densify(m, key)) {
        if (!m->dense[key]) {
            if (m->mcount >= m->lim->max_memo)
                return limit(m, "max_memo: more memo entries than the limit");
            m->mcount++;
        }
        m->dense[key] = v;
        return 0;
    }
    if ((m->mcount + 1) * 2 > m->memocap) {
        if (m->mcount >= m->lim->max_memo && !memo_get(m, key))
            return m->work.over ? work_fail(m) : limit(m, "max_memo: more memo entries than the limit");
        size_t nc = m->memocap ? m->memocap * 2 : 64;
        memo_slot *n = malloc(nc * sizeof *n);
        if (!n)
            return limit(m, "out of memory");
        for (size_t i = 0; i < nc; i++)
            n[i].key = -1;
        for (size_t j = 0; j < m->memocap; j++) {
            if (m->memo[j].key < 0)
                continue;
            size_t i = (size_t)((uint64_t)m->memo[j].key * 0x9e3779b97f4a7c15ULL >> 20) & (nc - 1);
            while (n[i].key >= 0) {
                if (!brine_work_spend(&m->work, 1)) {
                    free(n);
                    return work_fail(m);
                }
                i = (i + 1) & (nc - 1);
            }
            n[i] = m->memo[j];
        }
        free(m->memo);
        m->memo = n;
        m->memocap = nc;
    }
    size_t mask = m->memocap - 1;
    size_t i = (size_t)((uint64_t)key * 0x9e3779b97f4a7c15ULL >> 20) & mask, free_slot = SIZE_MAX;
    for (; m->memo[i].key != -1; i = (i + 1) & mask) {
        if (!brine_work_spend(&m->work, 1))
            return work_fail(m);
        if (m->memo[i].key == key) {
            m->memo[i].v = v;
            return 0;
        }
        if (m->memo[i].key == -2 && free_slot == SIZE_MAX)
            free_slot = i;
    }
    if (free_slot != SIZE_MAX)
        i = free_slot;
    if (m->mcount >= m->lim->max_memo)
        return limit(m, "max_memo: more memo entries than the limit");
    m->mcount++;
    m->memo[i].key = key;
    m->memo[i].v = v;
    return 0;
}

/* ---- reading the input ---------------------------------------------------- */

/* A window that could not give bytes the stream has: not analysed, never safe. */
static int window_fail(vm *m)
{
    if (m->win->nomem)
        m->a->nomem = true;
    return limit(m, m->win->error ? m->win->error : "window: the stream could not be read again");
}

static __attribute__((noinline)) int need_window(vm *m, size_t n, const uint8_t **out)
{
    if (!(*out = brine_window_get(m->win, m->pos, n)))
        return window_fail(m);
    m->pos += n;
    return 0;
}

static inline __attribute__((always_inline)) int need(vm *m, size_t n, const uint8_t **out)
{
    /* subtraction form: pos <= len always holds */
    if (n > m->len - m->pos)
        return malformed(m, "pickle data was truncated");
    if (m->win)
        return need_window(m, n, out);
    *out = m->data + m->pos;
    m->pos += n;
    return 0;
}

/* _Unpickler_Readline: the line including its '\n'. */
static int readline(vm *m, const uint8_t **line, size_t *len)
{
    if (m->win) {
        if (!(*line = brine_window_line(m->win, m->pos, len)))
            return m->win->error ? window_fail(m) : malformed(m, "pickle data was truncated");
        m->pos += *len;
        return 0;
    }
    const uint8_t *start = m->data + m->pos;
    const uint8_t *nl = memchr(start, '\n', m->len - m->pos);
    if (!nl)
        return malformed(m, "pickle data was truncated");
    *line = start;
    *len = (size_t)(nl - start) + 1;
    m->pos += *len;
    return 0;
}

/* The byte at pos < len, or -1 (after window_fail) when the window cannot give it. */
static __attribute__((noinline)) int byte_at_window(vm *m, size_t pos)
{
    const uint8_t *p = brine_window_get(m->win, pos, 1);
    return p ? *p : window_fail(m);
}

static inline __attribute__((always_inline)) int byte_at(vm *m, size_t pos)
{
    return m->win ? byte_at_window(m, pos) : m->data[pos];
}

/* Input bytes a value keeps: in window mode they are gone once the window
 * moves on, so the value gets a copy in the arena. NULL when that fails. */
static const uint8_t *keep(vm *m, const uint8_t *p, size_t n)
{
    if (!m->win)
        return p;
    uint8_t *c = brine_arena_alloc_input(m->a, n ? n : 1);
    if (c && n)
        memcpy(c, p, n);
    return c;
}

/* need() for n bytes a value keeps: in window mode they are copied into the
 * arena a piece at a time, so the window never has to hold them whole. */
static int take(vm *m, size_t n, const uint8_t **out)
{
    if (!m->win || n <= ((size_t)1 << 20))
        return need(m, n, out) ? -1 : (*out = keep(m, *out, n)) ? 0 : arena_fail(m);
    if (n > m->len - m->pos)
        return malformed(m, "pickle data was truncated");
    uint8_t *c = brine_arena_alloc_input(m->a, n);
    if (!c)
        return arena_fail(m);
    for (size_t done = 0; done < n;) {
        size_t k = n - done < ((size_t)1 << 20) ? n - done : (size_t)1 << 20;
        const uint8_t *p;
        TRY(need(m, k, &p));
        memcpy(c + done, p, k);
        done += k;
    }
    *out = c;
    return 0;
}

static int bad_readline(vm *m)
{
    return malformed(m, "pickle data was truncated");
}

static inline __attribute__((always_inline)) uint64_t le(const uint8_t *p, int n)
{
    if (n == 1) /* a constant at most calls, once inlined */
        return p[0];
    uint64_t x = 0;
    for (int i = 0; i < n; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

/* calc_binsize: unsigned little-endian size, -1 when above PY_SSIZE_T_MAX */
static int64_t binsize(const uint8_t *p, int n)
{
    uint64_t x = le(p, n);
    return x > (uint64_t)INT64_MAX ? -1 : (int64_t)x;
}

/* calc_binint: BININT/EXT4/LONG4/BINSTRING sizes are signed for 4 bytes */
static int64_t binint(const uint8_t *p, int n)
{
    uint64_t x = le(p, n);
    if (n == 4)
        return (int64_t)(int32_t)(uint32_t)x;
    return (int64_t)x;
}

/* ---- disassembly helpers -------------------------------------------------- */

static void trace_arg_text(vm *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* the argument text is made only when something traces */
#define trace_arg(m, ...)                \
    do {                                 \
        if ((m)->cfg->on_trace)          \
            trace_arg_text(m, __VA_ARGS__); \
    } while (0)
static void trace_arg_text(vm *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->argbuf, sizeof m->argbuf, fmt, ap);
    va_end(ap);
}

static void trace_value(vm *m, const brine_value *v)
{
    if (!m->cfg->on_trace || !v)
        return;
    brine_arena scratch;
    brine_arena_init(&scratch, 1 << 20);
    snprintf(m->argbuf, sizeof m->argbuf, "%s", brine_value_render(&scratch, v, 100));
    brine_arena_free(&scratch);
}

/* ---- values --------------------------------------------------------------- */

static brine_value *str_value(vm *m, const uint8_t *p, size_t n)
{
    brine_value *v = brine_value_new(m->a, BRINE_V_STR);
    if (v && !(p = keep(m, p, n)))
        v = NULL;
    if (v) {
        v->u.s.p = p;
        v->u.s.n = n;
    }
    return v;
}

static brine_value *cstr_value(vm *m, const char *s)
{
    return str_value(m, (const uint8_t *)s, strlen(s));
}

static int cmp_str(const brine_value *v, const char *s)
{
    size_t n = strlen(s);
    size_t k = v->u.s.n < n ? v->u.s.n : n;
    int c = memcmp(v->u.s.p, s, k);
    if (c)
        return c;
    return v->u.s.n < n ? -1 : v->u.s.n > n;
}

/* Binary search of a table sorted in strcmp order; cmp() compares the wanted
 * name with entry i. */
static size_t table_find(size_t n, int (*cmp)(const void *want, size_t i), const void *want)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = cmp(want, mid);
        if (!c)
            return mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return SIZE_MAX;
}

static int cmp_name_entry(const void *want, size_t i)
{
    brine_value *const *mn = want;
    int c = cmp_str(mn[0], brine_compat_names[i].module);
    return c ? c : cmp_str(mn[1], brine_compat_names[i].name);
}

static int cmp_module_entry(const void *want, size_t i)
{
    return cmp_str(want, brine_compat_modules[i].module);
}

/* _pickle.Unpickler.find_class name mapping for protocols below 3:
 * NAME_MAPPING on the pair first, else IMPORT_MAPPING on the module. */
static void compat_map(vm *m, brine_value **module, brine_value **name)
{
    brine_value *pair[2] = {*module, *name};
    size_t i = table_find(sizeof brine_compat_names / sizeof brine_compat_names[0], cmp_name_entry, pair);
    if (i != SIZE_MAX) {
        *module = cstr_value(m, brine_compat_names[i].to_module);
        *name = cstr_value(m, brine_compat_names[i].to_name);
        return;
    }
    i = table_find(sizeof brine_compat_modules / sizeof brine_compat_modules[0], cmp_module_entry, *module);
    if (i != SIZE_MAX)
        *module = cstr_value(m, brine_compat_modules[i].to_module);
}

/* From the values' own hashes, which long strings cache: a hostile file may
 * name one long module string a million times. */
static uint64_t name_hash(brine_arena *a, brine_value *mod, brine_value *name)
{
    uint64_t hm = 0, hn = 0;
    brine_value_hash(a, mod, &hm, 2);
    brine_value_hash(a, name, &hn, 2);
    return (hm * 0x9e3779b97f4a7c15ULL) ^ hn;
}

/* The interned global for (module, name): find_class returns the same object
 * for the same name, and identity matters for memo, dict keys and dump ids. */
static brine_value *intern_global(vm *m, brine_value *mod, brine_value *name)
{
    if ((m->gcount + 1) * 2 > m->gcap) {
        size_t nc = m->gcap ? m->gcap * 2 : 64;
        global_slot *n = calloc(nc, sizeof *n);
        if (!n) {
            m->a->nomem = true;
            return NULL;
        }
        for (size_t j = 0; j < m->gcap; j++) {
            brine_value *g = m->globals[j].g;
            if (!g)
                continue;
            size_t i = (size_t)name_hash(m->a, g->u.g.module, g->u.g.name) & (nc - 1);
            while (n[i].g) {
                if (!brine_work_spend(&m->work, 1)) {
                    free(n);
                    return NULL;
                }
                i = (i + 1) & (nc - 1);
            }
            n[i].g = g;
        }
        free(m->globals);
        m->globals = n;
        m->gcap = nc;
    }
    size_t mask = m->gcap - 1;
    size_t i = (size_t)name_hash(m->a, mod, name) & mask;
    for (; m->globals[i].g; i = (i + 1) & mask) {
        brine_value *g = m->globals[i].g;
        int rm = brine_value_eq(g->u.g.module, mod, 2, &m->work);
        int rn = rm == 1 ? brine_value_eq(g->u.g.name, name, 2, &m->work) : 0;
        if (m->work.over)
            return NULL;
        if (rn == 1)
            return g;
    }
    brine_value *g = brine_value_new(m->a, BRINE_V_GLOBAL);
    if (!g)
        return NULL;
    g->u.g.module = mod;
    g->u.g.name = name;
    g->interned = true;
    m->globals[i].g = g;
    m->gcount++;
    return g;
}

/* find_class(module, name) at the current protocol; emits the import event. */
static int find_class(vm *m, brine_value *mod, brine_value *name, brine_value **out)
{
    if (m->proto < 3)
        compat_map(m, &mod, &name);
    if (!mod || !name)
        return arena_fail(m);
    brine_value *g = intern_global(m, mod, name);
    if (!g)
        return m->work.over ? work_fail(m) : arena_fail(m);
    brine_vm_event ev = {.kind = BRINE_EV_IMPORT, .target = g};
    TRY(emit(m, &ev));
    if (m->proto >= 4) {
        /* get_dotted_path: a "<locals>" component raises AttributeError (the
         * scan costs the name's length, which may be repeated at every use) */
        if (!brine_work_spend(&m->work, name->u.s.n / 32))
            return work_fail(m);
        const uint8_t *p = name->u.s.p, *end = p + name->u.s.n;
        while (p <= end) {
            const uint8_t *dot = memchr(p, '.', (size_t)(end - p));
            const uint8_t *cend = dot ? dot : end;
            if (cend - p == 8 && memcmp(p, "<locals>", 8) == 0)
                return malformed(m, "Can't get local attribute");
            if (!dot)
                break;
            p = dot + 1;
        }
    }
    trace_value(m, g);
    *out = g;
    return 0;
}

/* ---- opcode families ------------------------------------------------------ */

static int op_text_int(vm *m, bool is_long)
{
    const uint8_t *line;
    size_t len;
    TRY(readline(m, &line, &len));
    if (len < 2)
        return bad_readline(m);
    brine_value *v = NULL;
    bool odd = false;
    const char *msg = NULL;
    brine_textres r = is_long ? brine_text_long(m->a, line, len, &v, &odd, &msg)
                              : brine_text_int(m->a, line, len, &v, &odd, &msg);
    if (r == BRINE_TEXT_NOMEM)
        return arena_fail(m);
    if (r == BRINE_TEXT_ERROR)
        return malformed(m, msg);
    trace_value(m, v);
    if (odd)
        TRY(anomaly(m, is_long ? "LONG literal a pickler never writes (read as CPython's C unpickler does)"
                               : "INT literal a pickler never writes (CPython's C and Python unpicklers may disagree)"));
    return push(m, v);
}

static int op_binint(vm *m, int width, bool is_signed)
{
    const uint8_t *p;
    TRY(need(m, (size_t)width, &p));
    int64_t i = is_signed ? binint(p, width) : (int64_t)le(p, width);
    /* an int has no identity a pickle can see (nor dump): the small ones,
     * which an object-heavy pickle is full of (sizes, flags, indices), are
     * one value each per run, like None and the bools */
    brine_value *v = (uint64_t)i < 256 ? m->small_int[i] : NULL;
    if (!v) {
        NEWV(v, BRINE_V_INT);
        v->u.i = i;
        if ((uint64_t)i < 256)
            m->small_int[i] = v;
    }
    trace_value(m, v);
    return push(m, v);
}

static int op_long_bin(vm *m, int width)
{
    const uint8_t *p;
    TRY(need(m, (size_t)width, &p));
    int64_t n = width == 1 ? (int64_t)p[0] : binint(p, 4);
    if (n < 0)
        return malformed(m, "LONG pickle has negative byte count");
    TRY(need(m, (size_t)n, &p));
    brine_value *v = brine_int_from_le(m->a, p, (size_t)n, !m->win);
    if (!v)
        return arena_fail(m);
    trace_value(m, v);
    return push(m, v);
}

static int op_float(vm *m, bool binary)
{
    brine_value *v;
    NEWV(v, BRINE_V_FLOAT);
    if (binary) {
        const uint8_t *p;
        TRY(need(m, 8, &p));
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++)
            bits = bits << 8 | p[i]; /* big-endian */
        memcpy(&v->u.f, &bits, 8);
    } else {
        const uint8_t *line;
        size_t len;
        const char *msg = NULL;
        TRY(readline(m, &line, &len));
        if (len < 2)
            return bad_readline(m);
        brine_textres r = (m->cfg->flags & BRINE_VM_PYTHON) ? brine_text_float_py(line, len, &v->u.f, &msg)
                                                            : brine_text_float(line, len, &v->u.f, &msg);
        if (r == BRINE_TEXT_NOMEM)
            return limit(m, "out of memory");
        if (r == BRINE_TEXT_ERROR) {
            m->res->retry |= BRINE_RETRY_FLOAT;
            return malformed(m, msg);
        }
    }
    trace_value(m, v);
    return push(m, v);
}

/* A constant that is itself a pickle will be loaded later by someone
 * (`pickle.loads(obj['model'])`): every bytes, bytearray and str constant that
 * could be one goes to the driver, which decides by what loading it would run
 * (analyzer/container/driver.c), not by its first bytes. Nothing runs in fewer
 * than two bytes. */
static int maybe_nested(vm *m, brine_value *v)
{
    if (!(m->cfg->flags & BRINE_VM_NESTED) || v->u.s.n < 2)
        return 0;
    brine_vm_event ev = {.kind = BRINE_EV_NESTED, .target = v};
    return emit(m, &ev);
}

static brine_str_encoding str_encoding(const vm *m)
{
    return (m->cfg->flags & BRINE_VM_STR_UTF8) ? BRINE_ENC_UTF8
           : (m->cfg->flags & BRINE_VM_STR_LATIN1) ? BRINE_ENC_LATIN1 : BRINE_ENC_ASCII;
}

/* Sized strings: BINSTRING, SHORT_BINSTRING (ASCII str), BINBYTES*, BYTEARRAY8,
 * BINUNICODE* (UTF-8 with surrogatepass). */
static int op_sized(vm *m, int width, brine_vkind kind, bool signed_size, bool is_ascii)
{
    const uint8_t *p;
    TRY(need(m, (size_t)width, &p));
    int64_t n = signed_size ? binint(p, width) : binsize(p, width);
    if (n < 0)
        return malformed(m, signed_size ? "BINSTRING pickle has negative byte count"
                                        : "size exceeds the system's maximum (PY_SSIZE_T_MAX)");
    TRY(take(m, (size_t)n, &p)); /* checked against what is left before use */
    if (kind == BRINE_V_STR && !is_ascii && !brine_utf8_valid(p, (size_t)n, true))
        return malformed(m, "'utf-8' codec can't decode bytes");
    brine_value *v;
    NEWV(v, kind);
    v->u.s.p = p;
    v->u.s.n = (size_t)n;
    if (is_ascii) { /* BINSTRING, SHORT_BINSTRING: the unpickler's encoding */
        const char *msg = NULL;
        brine_textres r = brine_text_decode(m->a, v, str_encoding(m), &msg);
        if (r == BRINE_TEXT_NOMEM)
            return arena_fail(m);
        if (r == BRINE_TEXT_ERROR) {
            m->res->retry |= BRINE_RETRY_STR;
            return malformed(m, msg);
        }
    }
    trace_value(m, v);
    TRY(maybe_nested(m, v));
    return push(m, v);
}

static int op_string(vm *m, bool unicode)
{
    const uint8_t *line;
    size_t len;
    TRY(readline(m, &line, &len));
    if (len < (unicode ? 1u : 1u))
        return bad_readline(m);
    if (!(line = keep(m, line, len))) /* the decoders keep plain text in place */
        return arena_fail(m);
    brine_value *v = NULL;
    const char *msg = NULL;
    brine_textres r = unicode ? brine_text_unicode(m->a, line, len, &v, &msg)
                              : brine_text_string(m->a, line, len, &v, str_encoding(m), &msg);
    if (r == BRINE_TEXT_NOMEM)
        return arena_fail(m);
    if (r == BRINE_TEXT_ERROR) {
        if (!unicode && msg && strstr(msg, "codec"))
            m->res->retry |= BRINE_RETRY_STR;
        return malformed(m, msg);
    }
    trace_value(m, v);
    TRY(maybe_nested(m, v));
    return push(m, v);
}

/* Pop items stack[start..sp) into a new sequence of the given kind. */
static brine_value *pop_seq(vm *m, size_t start, brine_vkind kind)
{
    brine_value *v = brine_value_new(m->a, kind);
    if (!v)
        return NULL;
    size_t n = m->sp - start;
    if (n > UINT32_MAX / 2) {
        brine_arena_refuse(m->a);
        return NULL;
    }
    if (n) {
        brine_value **items = brine_arena_alloc_raw(m->a, n * sizeof(brine_value *));
        if (!items)
            return NULL;
        brine_value *const *from = m->stack + start;
        if (n <= 3) { /* TUPLE1-3, most of an object pickle's: stores, not a memcpy call */
            items[0] = from[0];
            if (n > 1)
                items[1] = from[1];
            if (n > 2)
                items[2] = from[2];
        } else {
            memcpy(items, from, n * sizeof(brine_value *));
        }
        v->u.seq.items = items;
        v->u.seq.len = v->u.seq.cap = (uint32_t)n;
    }
    m->sp = start;
    return v;
}

static int hash_key(vm *m, brine_value *k, uint64_t *h)
{
    switch (brine_value_hash_quick(m->a, k, h, (unsigned)m->lim->max_depth)) {
    case BRINE_HASH_OK:
    case BRINE_HASH_UNKNOWN: /* an opaque object: hashable by identity under the stubs */
        return 0;
    case BRINE_HASH_DEPTH: return limit(m, "max_depth: a key is nested deeper than the limit");
    default: return malformed(m, "unhashable type");
    }
}

static int set_fill(vm *m, brine_value *s, brine_value *const *items, size_t n)
{
    if (!brine_vec_reserve(m->a, &s->u.seq, n))
        return arena_fail(m);
    for (size_t i = 0; i < n; i++) {
        uint64_t h;
        TRY(hash_key(m, items[i], &h));
        int r = brine_set_add(m->a, s, items[i], h, (unsigned)m->lim->max_depth, &m->work);
        if (r == BRINE_INS_DEPTH)
            return limit(m, "max_depth: a key is nested deeper than the limit");
        if (r == BRINE_INS_BUDGET)
            return work_fail(m);
        if (r < 0)
            return arena_fail(m);
    }
    return 0;
}

static int dict_fill(vm *m, brine_value *d, brine_value *const *items, size_t n)
{
    switch (brine_dict_set_pairs(m->a, d, items, n, (unsigned)m->lim->max_depth, &m->work)) {
    case 0: return 0;
    case BRINE_INS_DEPTH: return limit(m, "max_depth: a key is nested deeper than the limit");
    case BRINE_INS_BUDGET: return work_fail(m);
    case BRINE_INS_UNHASHABLE: return malformed(m, "unhashable type");
    default: return arena_fail(m);
    }
}

static int op_counted_tuple(vm *m, size_t n)
{
    /* load_counted_tuple: size check, then Pdata_poptuple checks the fence */
    if (m->sp < n)
        return underflow(m);
    if (m->sp - n < m->fence)
        return underflow(m);
    brine_value *t = pop_seq(m, m->sp - n, BRINE_V_TUPLE);
    return t ? push(m, t) : arena_fail(m);
}

static int op_mark_collect(vm *m, brine_vkind kind)
{
    size_t start;
    TRY(marker(m, &start));
    if (kind == BRINE_V_DICT) {
        size_t n = m->sp - start;
        if (n % 2)
            return malformed(m, "odd number of items for DICT");
        brine_value *d;
        NEWV(d, BRINE_V_DICT);
        TRY(dict_fill(m, d, stack_at(m, start), n));
        m->sp = start;
        return push(m, d);
    }
    if (kind == BRINE_V_FROZENSET) {
        brine_value *f;
        NEWV(f, BRINE_V_FROZENSET);
        TRY(set_fill(m, f, stack_at(m, start), m->sp - start));
        m->sp = start;
        return push(m, f);
    }
    brine_value *v = pop_seq(m, start, kind);
    return v ? push(m, v) : arena_fail(m);
}

/* A tuple value holding stack[start..sp) without popping (for events). */
static brine_value *peek_tuple(vm *m, size_t start)
{
    size_t save = m->sp;
    brine_value *t = pop_seq(m, start, BRINE_V_TUPLE);
    m->sp = save;
    return t;
}

static bool is_intlike(const brine_value *v)
{
    return v->kind == BRINE_V_BOOL || v->kind == BRINE_V_INT || v->kind == BRINE_V_BIGINT;
}

/* A bytearray about to be mutated gets its own copy (it may alias the input). */
static int bytearray_own(vm *m, brine_value *b, size_t extra)
{
    size_t need_cap = b->u.s.n + extra;
    if (b->u.ba.cap >= need_cap)
        return 0;
    size_t nc = need_cap * 2 + 16;
    uint8_t *p = brine_arena_alloc(m->a, nc);
    if (!p)
        return arena_fail(m);
    if (b->u.s.n)
        memcpy(p, b->u.s.p, b->u.s.n);
    b->u.s.p = p;
    b->u.ba.cap = nc;
    return 0;
}

static int byte_of(vm *m, const brine_value *v, uint8_t *out)
{
    if (!is_intlike(v))
        return brine_value_opaque(v) || v->kind == BRINE_V_GLOBAL ? 1 : malformed(m, "an integer is required");
    int64_t x = v->kind == BRINE_V_BOOL ? v->u.b : v->kind == BRINE_V_INT ? v->u.i : -1;
    if (x < 0 || x > 255)
        return malformed(m, "byte must be in range(0, 256)");
    *out = (uint8_t)x;
    return 0;
}

/* The target of APPEND(S)/SETITEM(S)/ADDITEMS is an object: its methods run. */
static int items_event(vm *m, brine_value *target, size_t start, brine_opkind kind)
{
    brine_value *items = peek_tuple(m, start);
    if (!items)
        return arena_fail(m);
    brine_vm_event ev = {.kind = BRINE_EV_ITEMS, .target = target, .args = items};
    TRY(emit(m, &ev));
    m->any_call = true;
    if (kind == BRINE_OPK_EXTEND) {
        brine_objop *op = brine_value_add_op(m->a, target, kind);
        if (!op)
            return arena_fail(m);
        op->items = items->u.seq;
    } else if (kind == BRINE_OPK_SETITEM) {
        for (size_t i = start; i + 1 < m->sp; i += 2) {
            brine_objop *op = brine_value_add_op(m->a, target, kind);
            if (!op)
                return arena_fail(m);
            op->a = m->stack[i];
            op->b = m->stack[i + 1];
        }
    } else {
        for (size_t i = start; i < m->sp; i++) {
            brine_objop *op = brine_value_add_op(m->a, target, kind);
            if (!op)
                return arena_fail(m);
            op->a = m->stack[i];
        }
    }
    m->sp = start;
    return 0;
}

/* do_append(x): items stack[x..sp) go into stack[x-1]. */
static int do_append(vm *m, size_t x)
{
    if (x > m->sp || x <= m->fence)
        return underflow(m);
    if (x == m->sp)
        return 0; /* nothing to do, whatever the target is */
    brine_value *list = m->stack[x - 1];
    if (list->kind == BRINE_V_LIST) {
        if (!brine_vec_reserve(m->a, &list->u.seq, m->sp - x))
            return arena_fail(m);
        for (size_t i = x; i < m->sp; i++)
            if (!brine_vec_push(m->a, &list->u.seq, m->stack[i]))
                return arena_fail(m);
        m->sp = x;
        return 0;
    }
    if (brine_value_is_object(list))
        return items_event(m, list, x, BRINE_OPK_EXTEND);
    if (list->kind == BRINE_V_BYTEARRAY) { /* bytearray.extend */
        if (list->exported) /* BufferError while a view is alive; it may have been freed */
            m->res->uncertain = true;
        TRY(bytearray_own(m, list, m->sp - x));
        uint8_t *buf = (uint8_t *)list->u.s.p;
        for (size_t i = x; i < m->sp; i++) {
            uint8_t b = 0;
            int r = byte_of(m, m->stack[i], &b);
            TRY(r);
            if (r > 0) {
                m->res->uncertain = true; /* an object with __index__ could do */
                continue;
            }
            buf[list->u.s.n++] = b;
        }
        m->sp = x;
        return 0;
    }
    return malformed(m, "object has no attribute 'append'");
}

/* do_setitems(x): pairs stack[x..sp) set into stack[x-1]. */
static int do_setitems(vm *m, size_t x)
{
    if (x > m->sp || x <= m->fence)
        return underflow(m);
    if (x == m->sp)
        return 0;
    if ((m->sp - x) % 2)
        return malformed(m, "odd number of items for SETITEMS");
    brine_value *d = m->stack[x - 1];
    if (d->kind == BRINE_V_DICT) {
        TRY(dict_fill(m, d, stack_at(m, x), m->sp - x));
        m->sp = x;
        return 0;
    }
    if (brine_value_is_object(d))
        return items_event(m, d, x, BRINE_OPK_SETITEM);
    if (d->kind == BRINE_V_LIST || d->kind == BRINE_V_BYTEARRAY) {
        for (size_t i = x; i + 1 < m->sp; i += 2) {
            brine_value *k = m->stack[i], *v = m->stack[i + 1];
            if (brine_value_is_object(k)) { /* __index__ or a slice: cannot tell */
                m->res->uncertain = true;
                continue;
            }
            if (!is_intlike(k))
                return malformed(m, "indices must be integers or slices");
            size_t n = d->kind == BRINE_V_LIST ? d->u.seq.len : d->u.s.n;
            int64_t idx = k->kind == BRINE_V_BOOL ? k->u.b : k->kind == BRINE_V_INT ? k->u.i : INT64_MIN;
            if (idx < 0 && idx != INT64_MIN)
                idx += (int64_t)n;
            if (idx < 0 || (uint64_t)idx >= n)
                return malformed(m, "assignment index out of range");
            if (d->kind == BRINE_V_LIST) {
                d->u.seq.items[idx] = v;
            } else {
                uint8_t b = 0;
                int r = byte_of(m, v, &b);
                TRY(r);
                if (r > 0) {
                    m->res->uncertain = true;
                    continue;
                }
                TRY(bytearray_own(m, d, 0));
                ((uint8_t *)d->u.s.p)[idx] = b;
            }
        }
        m->sp = x;
        return 0;
    }
    return malformed(m, "object does not support item assignment");
}

static int op_additems(vm *m)
{
    size_t mark;
    TRY(marker(m, &mark));
    if (mark > m->sp || mark <= m->fence)
        return underflow(m);
    if (mark == m->sp)
        return 0;
    brine_value *s = m->stack[mark - 1];
    if (s->kind == BRINE_V_SET) {
        TRY(set_fill(m, s, stack_at(m, mark), m->sp - mark));
        m->sp = mark;
        return 0;
    }
    if (brine_value_is_object(s))
        return items_event(m, s, mark, BRINE_OPK_ADD);
    return malformed(m, "object has no attribute 'add'");
}

/* The result of a call: a new opaque object, and the call event. */
static int call_event(vm *m, brine_value *callee, brine_value *args, brine_value *kwargs, brine_vkind rkind)
{
    brine_value *r;
    NEWV(r, rkind);
    r->u.c.callee = callee;
    r->u.c.args = args;
    r->u.c.kwargs = kwargs;
    brine_vm_event ev = {.kind = BRINE_EV_CALL, .target = callee, .args = args, .kwargs = kwargs, .result = r};
    TRY(emit(m, &ev));
    m->any_call = true;
    trace_value(m, callee);
    return push(m, r);
}

static int op_reduce(vm *m)
{
    brine_value *args = NULL, *callable = NULL;
    TRY(pop(m, &args));
    TRY(pop(m, &callable));
    if (!brine_value_is_object(callable))
        return malformed(m, "object is not callable");
    if (args->kind != BRINE_V_TUPLE) {
        if (!brine_value_opaque(args))
            return malformed(m, "argument list must be a tuple");
        m->res->uncertain = true; /* the stub's objects are not tuples; a real result may be */
    }
    return call_event(m, callable, args, NULL, BRINE_V_CALL);
}

static int op_newobj(vm *m, bool ex)
{
    brine_value *kwargs = NULL, *args = NULL, *cls = NULL;
    if (ex)
        TRY(pop(m, &kwargs));
    TRY(pop(m, &args));
    TRY(pop(m, &cls));
    if (!brine_value_is_object(cls))
        return malformed(m, ex ? "NEWOBJ_EX class argument must be a type" : "NEWOBJ class argument must be a type");
    if (args->kind != BRINE_V_TUPLE) {
        if (!brine_value_opaque(args))
            return malformed(m, "NEWOBJ args argument must be a tuple");
        m->res->uncertain = true;
    }
    if (ex && kwargs->kind != BRINE_V_DICT) {
        if (!brine_value_opaque(kwargs))
            return malformed(m, "NEWOBJ_EX kwargs argument must be a dict");
        m->res->uncertain = true;
    }
    if (ex && kwargs->kind == BRINE_V_DICT)
        for (uint32_t i = 0; i < kwargs->u.dict.keys.len; i++)
            if (kwargs->u.dict.keys.items[i]->kind != BRINE_V_STR)
                /* a Python __new__ raises "keywords must be strings"; a C
                 * type's tp_new (dict, say) takes them: the class decides */
                m->res->uncertain = true;
    return call_event(m, cls, args, kwargs, BRINE_V_NEW);
}

/* instantiate(cls, args) for INST and OBJ */
static int instantiate(vm *m, brine_value *cls, brine_value *args)
{
    if (!brine_value_is_object(cls))
        return malformed(m, "object is not callable");
    /* an empty argument tuple and a type without __getinitargs__ means
     * cls.__new__(cls): the stubbed CPython sees a type every time */
    return call_event(m, cls, args, NULL, args->u.seq.len ? BRINE_V_CALL : BRINE_V_NEW);
}

static int read_name_line(vm *m, bool utf8, brine_value **out)
{
    const uint8_t *line;
    size_t len;
    TRY(readline(m, &line, &len));
    if (len < 2)
        return bad_readline(m);
    if (utf8 ? !brine_utf8_valid(line, len - 1, false) : !brine_ascii_valid(line, len - 1))
        return malformed(m, utf8 ? "'utf-8' codec can't decode bytes" : "'ascii' codec can't decode byte");
    *out = str_value(m, line, len - 1);
    return *out ? 0 : arena_fail(m);
}

static int op_global(vm *m)
{
    brine_value *mod, *name;
    TRY(read_name_line(m, true, &mod));
    TRY(read_name_line(m, true, &name));
    brine_value *g;
    TRY(find_class(m, mod, name, &g));
    return push(m, g);
}

static int op_inst(vm *m)
{
    size_t start;
    TRY(marker(m, &start));
    brine_value *mod, *name;
    TRY(read_name_line(m, false, &mod));
    TRY(read_name_line(m, false, &name));
    brine_value *cls;
    TRY(find_class(m, mod, name, &cls));
    if (start < m->fence)
        return underflow(m);
    brine_value *args = pop_seq(m, start, BRINE_V_TUPLE);
    if (!args)
        return arena_fail(m);
    return instantiate(m, cls, args);
}

static int op_obj(vm *m)
{
    size_t i;
    TRY(marker(m, &i));
    if (m->sp - i < 1)
        return underflow(m);
    if (i + 1 < m->fence)
        return underflow(m);
    brine_value *args = pop_seq(m, i + 1, BRINE_V_TUPLE);
    if (!args)
        return arena_fail(m);
    brine_value *cls;
    TRY(pop(m, &cls));
    return instantiate(m, cls, args);
}

static int op_stack_global(vm *m)
{
    brine_value *name = NULL, *mod = NULL;
    if (m->sp <= m->fence)
        return malformed(m, "STACK_GLOBAL requires str");
    name = m->stack[--m->sp];
    if (m->sp <= m->fence)
        return malformed(m, "STACK_GLOBAL requires str");
    mod = m->stack[--m->sp];
    if (mod->kind == BRINE_V_STR && name->kind == BRINE_V_STR) {
        brine_value *g;
        TRY(find_class(m, mod, name, &g));
        return push(m, g);
    }
    if ((mod->kind != BRINE_V_STR && !brine_value_opaque(mod)) ||
        (name->kind != BRINE_V_STR && !brine_value_opaque(name)))
        return malformed(m, "STACK_GLOBAL requires str");
    /* A computed module or name: a real call could have returned a str. */
    m->res->uncertain = true;
    brine_value *g;
    NEWV(g, BRINE_V_GLOBAL);
    g->dynamic = true;
    g->u.g.module = mod;
    g->u.g.name = name;
    brine_vm_event ev = {.kind = BRINE_EV_DYNAMIC_IMPORT, .target = g};
    TRY(emit(m, &ev));
    trace_value(m, g);
    return push(m, g);
}

static int op_build(vm *m)
{
    brine_value *state = NULL;
    TRY(pop(m, &state));
    if (m->sp <= m->fence)
        return underflow(m);
    brine_value *inst = m->stack[m->sp - 1];
    if (brine_value_is_object(inst)) {
        brine_vm_event ev = {.kind = BRINE_EV_BUILD, .target = inst, .args = state};
        TRY(emit(m, &ev));
        m->any_call = true;
        brine_objop *op = brine_value_add_op(m->a, inst, BRINE_OPK_BUILD);
        if (!op)
            return arena_fail(m);
        op->a = state;
        trace_value(m, inst);
        if (m->cfg->after_build) {
            const char *msg = NULL;
            m->op_end = m->pos;
            brine_vm_input in = {.data = m->data, .len = m->len, .win = m->win};
            int64_t used = m->cfg->after_build(m->cfg->user, inst, state, &in, m->pos, &msg);
            if (m->win && m->win->error)
                return window_fail(m);
            if (used < 0)
                return malformed(m, msg ? msg : "data after BUILD is malformed");
            if ((uint64_t)used > m->len - m->pos)
                return malformed(m, "array data runs past the end of the stream");
            m->pos += (size_t)used;
        }
        return 0;
    }
    /* Plain data has no __setstate__ and no __dict__: only a None state (and
     * an empty slot state) passes. */
    brine_value *slot = NULL;
    if (state->kind == BRINE_V_TUPLE && state->u.seq.len == 2) {
        slot = state->u.seq.items[1];
        state = state->u.seq.items[0];
    }
    if (brine_value_opaque(state) || (slot && brine_value_opaque(slot))) {
        m->res->uncertain = true; /* could be None / {} in a real run */
        return 0;
    }
    if (state->kind != BRINE_V_NONE)
        return malformed(m, state->kind == BRINE_V_DICT ? "object has no attribute '__dict__'" : "state is not a dictionary");
    if (slot) {
        if (slot->kind != BRINE_V_DICT)
            return malformed(m, "slot state is not a dictionary");
        if (slot->u.dict.keys.len)
            return malformed(m, "object attribute is read-only");
    }
    return 0;
}

static int op_persid(vm *m, bool binary)
{
    brine_value *pid;
    if (binary) {
        TRY(pop(m, &pid));
    } else {
        const uint8_t *line;
        size_t len;
        TRY(readline(m, &line, &len));
        if (len < 1)
            return bad_readline(m);
        if (!brine_ascii_valid(line, len - 1))
            return malformed(m, "'ascii' codec can't decode byte");
        pid = str_value(m, line, len - 1);
        if (!pid)
            return arena_fail(m);
    }
    brine_value *r;
    NEWV(r, BRINE_V_PERSID);
    r->u.c.callee = pid;
    brine_vm_event ev = {.kind = BRINE_EV_PERSID, .target = pid, .result = r};
    TRY(emit(m, &ev));
    trace_value(m, pid);
    return push(m, r);
}

static int op_ext(vm *m, int width)
{
    const uint8_t *p;
    TRY(need(m, (size_t)width, &p));
    int64_t code = width == 4 ? binint(p, 4) : (int64_t)le(p, width);
    trace_arg(m, "%lld", (long long)code);
    if (code <= 0)
        return malformed(m, "EXT specifies code <= 0");
    brine_vm_event ev = {.kind = BRINE_EV_EXT, .number = code};
    TRY(emit(m, &ev));
    if (!m->any_call) /* nothing ran that could have called copyreg.add_extension */
        return malformed(m, "unregistered extension code");
    m->res->uncertain = true;
    brine_value *v;
    NEWV(v, BRINE_V_EXT);
    v->u.c.code = code;
    return push(m, v);
}

static int op_readonly_buffer(vm *m)
{
    if (m->sp <= m->fence)
        return underflow(m);
    brine_value *v = m->stack[m->sp - 1];
    switch (v->kind) {
    case BRINE_V_BYTES:
    case BRINE_V_MEMORYVIEW:
        return 0; /* already read-only */
    case BRINE_V_BYTEARRAY: {
        brine_value *mv;
        NEWV(mv, BRINE_V_MEMORYVIEW);
        mv->u.mv.base = v; /* a view: it sees later changes of the bytearray */
        v->exported = true;
        m->stack[m->sp - 1] = mv;
        return 0;
    }
    default:
        if (brine_value_opaque(v)) {
            m->res->uncertain = true;
            return 0;
        }
        return malformed(m, "a bytes-like object is required");
    }
}

/* The memo index of PUT/GET (a text line), BINPUT/BINGET (width 1) or
 * LONG_BINPUT/LONG_BINGET (width 4). PUT checks the stack between reading
 * its line and parsing it, as load_put does. */
static int memo_index(vm *m, int width, bool put, int64_t *idx)
{
    if (width == 0) {
        const uint8_t *line;
        size_t len;
        TRY(readline(m, &line, &len));
        if (len < 2)
            return bad_readline(m);
        if (put && m->sp <= m->fence)
            return underflow(m);
        bool neg;
        const char *msg = NULL;
        if (brine_text_index(line, len, idx, &neg, &msg) != BRINE_TEXT_OK)
            return malformed(m, msg);
        if (neg)
            return malformed(m, put ? "negative PUT argument" : "Memo value not found at index");
    } else {
        if (put && m->sp <= m->fence)
            return underflow(m);
        const uint8_t *p;
        TRY(need(m, (size_t)width, &p));
        *idx = (int64_t)le(p, width);
    }
    trace_arg(m, "%lld", (long long)*idx);
    return 0;
}

static int op_put(vm *m, int width)
{
    int64_t idx;
    if (width < 0) { /* MEMOIZE: the next index is the number of entries */
        if (m->sp <= m->fence)
            return underflow(m);
        idx = (int64_t)m->mcount;
        trace_arg(m, "%lld", (long long)idx);
    } else {
        TRY(memo_index(m, width, true, &idx));
    }
    return memo_put(m, idx, m->stack[m->sp - 1]);
}

static int op_get(vm *m, int width)
{
    int64_t idx;
    TRY(memo_index(m, width, false, &idx));
    m->trace_memo = idx;
    brine_value *v = memo_get(m, idx);
    if (!v)
        return m->work.over ? work_fail(m) : malformed(m, "Memo value not found at index");
    return push(m, v);
}

static int op_frame(vm *m)
{
    const uint8_t *p;
    TRY(need(m, 8, &p));
    int64_t n = binsize(p, 8);
    if (n < 0)
        return malformed(m, "FRAME length exceeds system's maximum");
    trace_arg(m, "%lld", (long long)n);
    if (m->frame_end && m->opoffset < m->frame_end)
        TRY(anomaly(m, "FRAME starts before the previous frame ended"));
    /* CPython reads the frame whole, then its opcodes from it: only whether
     * it is all there matters here (a window need not hold it) */
    if ((uint64_t)n > m->len - m->pos)
        return malformed(m, "pickle data was truncated");
    m->frame_end = m->pos + (uint64_t)n;
    return 0;
}

/* ---- the dispatch loop ---------------------------------------------------- */

/* A run of the commonest opcodes of an object pickle (BINGET, MEMOIZE and
 * BININT1 are two thirds of a RandomForest's; MARK, NONE and the booleans
 * another eighth), with the position, the stack pointer and the opcode count
 * in registers: step() did each with some 70 instructions of loads and checks
 * around a single store. Each case is the common case of step's handler
 * (op_get, op_put, op_binint, MARK's), with its conditions; anything else
 * stops the run and step() does it: another opcode, an opcode whose end
 * would reach a FRAME's end (step checks the crossing) or the input's, the
 * opcode limit, a full stack, a memo entry absent or taken. Only for a plain
 * run (no window, no trace, so nothing sees opcodes one by one). */
static void fast_run(vm *m)
{
    const uint8_t *d = m->data;
    size_t pos = m->pos, sp = m->sp, mcount = m->mcount;
    uint64_t ops = m->opindex;
    const uint64_t max_ops = m->lim->max_opcodes;
    const size_t scap = m->scap, dcap = m->dcap, max_memo = m->lim->max_memo;
    size_t fence = m->fence;
    brine_value **stack = m->stack, **dense = m->dense;
    /* an opcode may end at or before `end` (before a FRAME's end: step
     * checks what reaches it) */
    size_t end = m->len;
    if (m->frame_end && m->frame_end - 1 < end)
        end = (size_t)m->frame_end - 1;
    while (ops < max_ops && pos < end) {
        uint8_t op = d[pos];
        if (op == BRINE_OP_BINGET) {
            brine_value *v;
            if (pos + 2 > end || d[pos + 1] >= dcap || !(v = dense[d[pos + 1]]) || sp >= scap)
                break;
            stack[sp++] = v;
            pos += 2;
        } else if (op == BRINE_OP_MEMOIZE) {
            if (sp <= fence || mcount >= dcap || dense[mcount] || mcount >= max_memo)
                break;
            dense[mcount++] = stack[sp - 1];
            pos += 1;
        } else if (op == BRINE_OP_BININT1) {
            brine_value *v;
            if (pos + 2 > end || !(v = m->small_int[d[pos + 1]]) || sp >= scap)
                break;
            stack[sp++] = v;
            pos += 2;
        } else if (op == BRINE_OP_MARK) {
            if (m->nmarks >= m->lim->max_marks || m->nmarks >= m->mcap)
                break;
            m->marks[m->nmarks++] = (int64_t)sp;
            fence = sp;
            pos += 1;
        } else if (op == BRINE_OP_NONE || op == BRINE_OP_NEWFALSE || op == BRINE_OP_NEWTRUE) {
            /* the one value of each, once made */
            brine_value *v = op == BRINE_OP_NONE ? m->none : op == BRINE_OP_NEWFALSE ? m->vfalse : m->vtrue;
            if (!v || sp >= scap)
                break;
            stack[sp++] = v;
            pos += 1;
        } else if (op >= BRINE_OP_TUPLE1 && op <= BRINE_OP_TUPLE3) {
            /* op_counted_tuple's: what it would refuse (too few above the
             * mark) and a refused allocation (which every later one repeats)
             * are left to it */
            size_t n = (size_t)(op - BRINE_OP_TUPLE1) + 1;
            if (sp < n || sp - n < fence)
                break;
            brine_value *t = brine_value_new(m->a, BRINE_V_TUPLE);
            brine_value **items = t ? brine_arena_alloc_raw(m->a, n * sizeof *items) : NULL;
            if (!items)
                break;
            sp -= n;
            items[0] = stack[sp];
            if (n > 1)
                items[1] = stack[sp + 1];
            if (n > 2)
                items[2] = stack[sp + 2];
            t->u.seq.items = items;
            t->u.seq.len = t->u.seq.cap = (uint32_t)n;
            stack[sp++] = t;
            pos += 1;
        } else if (op == BRINE_OP_EMPTY_TUPLE || op == BRINE_OP_EMPTY_LIST || op == BRINE_OP_EMPTY_DICT ||
                   op == BRINE_OP_BINFLOAT) {
            if (sp >= scap || (op == BRINE_OP_BINFLOAT && pos + 9 > end))
                break;
            brine_value *v = brine_value_new(m->a, op == BRINE_OP_EMPTY_TUPLE  ? BRINE_V_TUPLE
                                                   : op == BRINE_OP_EMPTY_LIST ? BRINE_V_LIST
                                                   : op == BRINE_OP_EMPTY_DICT ? BRINE_V_DICT
                                                                               : BRINE_V_FLOAT);
            if (!v)
                break;
            if (op == BRINE_OP_BINFLOAT) { /* big-endian, as op_float reads it */
                uint64_t bits = 0;
                for (int i = 1; i <= 8; i++)
                    bits = bits << 8 | d[pos + i];
                memcpy(&v->u.f, &bits, 8);
                pos += 8;
            }
            stack[sp++] = v;
            pos += 1;
        } else {
            break;
        }
        ops++;
    }
    m->pos = pos;
    m->sp = sp;
    m->fence = fence;
    m->mcount = mcount;
    m->opindex = ops;
}

static int step(vm *m)
{
    m->opoffset = m->pos;
    if (m->pos >= m->len) {
        m->op = BRINE_OP_STOP;
        m->res->error_at_eof = true;
        return malformed(m, "Ran out of input");
    }
    int op = byte_at(m, m->pos);
    if (op < 0)
        return -1;
    m->op = (uint8_t)op;
    if (m->opindex >= m->lim->max_opcodes)
        return limit(m, "max_opcodes: more opcodes than the limit");
    m->pos++;
    m->op_end = SIZE_MAX;
    if (!m->plain && m->cfg->on_trace) { /* what the trace shows of the opcode */
        m->argbuf[0] = 0;
        m->trace_memo = -1;
        m->trace_put = false;
    }
    int r;
    switch ((brine_op)m->op) {
    case BRINE_OP_INT: r = op_text_int(m, false); break;
    case BRINE_OP_LONG: r = op_text_int(m, true); break;
    case BRINE_OP_BININT: r = op_binint(m, 4, true); break;
    case BRINE_OP_BININT1: r = op_binint(m, 1, false); break;
    case BRINE_OP_BININT2: r = op_binint(m, 2, false); break;
    case BRINE_OP_LONG1: r = op_long_bin(m, 1); break;
    case BRINE_OP_LONG4: r = op_long_bin(m, 4); break;
    case BRINE_OP_STRING: r = op_string(m, false); break;
    case BRINE_OP_UNICODE: r = op_string(m, true); break;
    case BRINE_OP_BINSTRING: r = op_sized(m, 4, BRINE_V_STR, true, true); break;
    case BRINE_OP_SHORT_BINSTRING: r = op_sized(m, 1, BRINE_V_STR, false, true); break;
    case BRINE_OP_BINBYTES: r = op_sized(m, 4, BRINE_V_BYTES, false, false); break;
    case BRINE_OP_SHORT_BINBYTES: r = op_sized(m, 1, BRINE_V_BYTES, false, false); break;
    case BRINE_OP_BINBYTES8: r = op_sized(m, 8, BRINE_V_BYTES, false, false); break;
    case BRINE_OP_BYTEARRAY8: r = op_sized(m, 8, BRINE_V_BYTEARRAY, false, false); break;
    case BRINE_OP_SHORT_BINUNICODE: r = op_sized(m, 1, BRINE_V_STR, false, false); break;
    case BRINE_OP_BINUNICODE: r = op_sized(m, 4, BRINE_V_STR, false, false); break;
    case BRINE_OP_BINUNICODE8: r = op_sized(m, 8, BRINE_V_STR, false, false); break;
    case BRINE_OP_NEXT_BUFFER:
        r = malformed(m, "pickle stream refers to out-of-band data but no *buffers* argument was given");
        break;
    case BRINE_OP_READONLY_BUFFER: r = op_readonly_buffer(m); break;
    case BRINE_OP_NONE:
        if (!m->none)
            m->none = brine_value_new(m->a, BRINE_V_NONE);
        r = push(m, m->none);
        break;
    case BRINE_OP_NEWTRUE:
    case BRINE_OP_NEWFALSE: {
        brine_value **slot = m->op == BRINE_OP_NEWTRUE ? &m->vtrue : &m->vfalse;
        if (!*slot && (*slot = brine_value_new(m->a, BRINE_V_BOOL)))
            (*slot)->u.b = m->op == BRINE_OP_NEWTRUE;
        r = push(m, *slot);
        break;
    }
    case BRINE_OP_FLOAT: r = op_float(m, false); break;
    case BRINE_OP_BINFLOAT: r = op_float(m, true); break;
    case BRINE_OP_EMPTY_LIST: r = push(m, brine_value_new(m->a, BRINE_V_LIST)); break;
    case BRINE_OP_EMPTY_TUPLE: r = push(m, brine_value_new(m->a, BRINE_V_TUPLE)); break;
    case BRINE_OP_EMPTY_DICT: r = push(m, brine_value_new(m->a, BRINE_V_DICT)); break;
    case BRINE_OP_EMPTY_SET: r = push(m, brine_value_new(m->a, BRINE_V_SET)); break;
    case BRINE_OP_APPEND:
        r = m->fence >= m->sp ? underflow(m) : do_append(m, m->sp - 1);
        break;
    case BRINE_OP_APPENDS: {
        size_t x;
        r = marker(m, &x);
        if (r == 0)
            r = do_append(m, x);
        break;
    }
    case BRINE_OP_LIST: r = op_mark_collect(m, BRINE_V_LIST); break;
    case BRINE_OP_TUPLE: r = op_mark_collect(m, BRINE_V_TUPLE); break;
    case BRINE_OP_DICT: r = op_mark_collect(m, BRINE_V_DICT); break;
    case BRINE_OP_FROZENSET: r = op_mark_collect(m, BRINE_V_FROZENSET); break;
    case BRINE_OP_TUPLE1: r = op_counted_tuple(m, 1); break;
    case BRINE_OP_TUPLE2: r = op_counted_tuple(m, 2); break;
    case BRINE_OP_TUPLE3: r = op_counted_tuple(m, 3); break;
    case BRINE_OP_SETITEM: r = m->sp < 2 ? underflow(m) : do_setitems(m, m->sp - 2); break;
    case BRINE_OP_SETITEMS: {
        size_t x;
        r = marker(m, &x);
        if (r == 0)
            r = do_setitems(m, x);
        break;
    }
    case BRINE_OP_ADDITEMS: r = op_additems(m); break;
    case BRINE_OP_POP:
        if (m->nmarks && (size_t)m->marks[m->nmarks - 1] == m->sp) {
            m->nmarks--;
            m->fence = m->nmarks ? (size_t)m->marks[m->nmarks - 1] : 0;
            r = 0;
        } else if (m->sp <= m->fence) {
            r = underflow(m);
        } else {
            m->sp--;
            r = 0;
        }
        break;
    case BRINE_OP_POP_MARK: {
        size_t x;
        r = marker(m, &x);
        if (r == 0)
            m->sp = x;
        break;
    }
    case BRINE_OP_DUP: r = m->sp <= m->fence ? underflow(m) : push(m, m->stack[m->sp - 1]); break;
    case BRINE_OP_MARK:
        if (m->nmarks >= m->lim->max_marks) {
            r = limit(m, "max_marks: more open MARKs than the limit");
            break;
        }
        if (m->nmarks == m->mcap) {
            size_t nc = m->mcap ? m->mcap * 2 : 32;
            int64_t *n = realloc(m->marks, nc * sizeof *n);
            if (!n) {
                r = limit(m, "out of memory");
                break;
            }
            m->marks = n;
            m->mcap = nc;
        }
        m->marks[m->nmarks++] = (int64_t)m->sp;
        m->fence = m->sp;
        r = 0;
        break;
    case BRINE_OP_GET: r = op_get(m, 0); break;
    case BRINE_OP_BINGET: r = op_get(m, 1); break; /* the common case: fast_run */
    case BRINE_OP_LONG_BINGET: r = op_get(m, 4); break;
    case BRINE_OP_PUT: r = op_put(m, 0); break;
    case BRINE_OP_BINPUT: r = op_put(m, 1); break;
    case BRINE_OP_LONG_BINPUT: r = op_put(m, 4); break;
    case BRINE_OP_MEMOIZE: r = op_put(m, -1); break; /* the common case: fast_run */
    case BRINE_OP_EXT1: r = op_ext(m, 1); break;
    case BRINE_OP_EXT2: r = op_ext(m, 2); break;
    case BRINE_OP_EXT4: r = op_ext(m, 4); break;
    case BRINE_OP_GLOBAL: r = op_global(m); break;
    case BRINE_OP_STACK_GLOBAL: r = op_stack_global(m); break;
    case BRINE_OP_REDUCE: r = op_reduce(m); break;
    case BRINE_OP_BUILD: r = op_build(m); break;
    case BRINE_OP_INST: r = op_inst(m); break;
    case BRINE_OP_OBJ: r = op_obj(m); break;
    case BRINE_OP_NEWOBJ: r = op_newobj(m, false); break;
    case BRINE_OP_NEWOBJ_EX: r = op_newobj(m, true); break;
    case BRINE_OP_PROTO: {
        const uint8_t *p;
        r = need(m, 1, &p);
        if (r == 0) {
            trace_arg(m, "%u", p[0]);
            if (p[0] > 5)
                r = malformed(m, "unsupported pickle protocol");
            else
                m->proto = p[0];
        }
        break;
    }
    case BRINE_OP_STOP: {
        brine_value *v;
        r = pop(m, &v);
        if (r == 0) {
            m->stop = true;
            if (m->res->pickles == 0)
                m->res->value = v;
        }
        break;
    }
    case BRINE_OP_FRAME: r = op_frame(m); break;
    case BRINE_OP_PERSID: r = op_persid(m, false); break;
    case BRINE_OP_BINPERSID: r = op_persid(m, true); break;
    default: {
        char *msg = m->res->error_buf;
        uint8_t c = m->op;
        if (c >= 0x20 && c <= 0x7e && c != '\'' && c != '\\')
            snprintf(msg, sizeof m->res->error_buf, "invalid load key, '%c'.", c);
        else
            snprintf(msg, sizeof m->res->error_buf, "invalid load key, '\\x%02x'.", c);
        r = malformed(m, msg);
    }
    }
    /* an opcode that ends before the frame does crosses nothing (op_end <= pos) */
    if (r == 0 && m->frame_end && m->pos >= m->frame_end) {
        size_t end = m->op_end != SIZE_MAX ? m->op_end : m->pos; /* skipped array data is no opcode */
        if (m->opoffset < m->frame_end && end > m->frame_end && m->op != BRINE_OP_FRAME)
            r = anomaly(m, "opcode crosses the end of a FRAME");
        if (m->pos >= m->frame_end && m->op != BRINE_OP_FRAME)
            m->frame_end = 0;
    }
    if (!m->plain && m->cfg->on_trace && !m->failed) {
        brine_vm_trace t = {m->opoffset, m->op, m->argbuf, m->sp, m->nmarks, m->trace_memo, m->trace_put, m->proto};
        if (m->cfg->on_trace(m->cfg->user, &t)) {
            m->res->callback_stopped = true;
            return -1;
        }
    }
    m->opindex++;
    return r;
}

/* Between pickles. Tables larger than RESET_KEEP entries are freed rather
 * than cleared: a hostile stream may fill a large memo once and follow it
 * with thousands of two-byte pickles, each of which would clear it again. */
#define RESET_KEEP 4096

static void reset(vm *m)
{
    m->sp = m->fence = m->nmarks = 0;
    if (m->memocap > RESET_KEEP) {
        free(m->memo);
        m->memo = NULL;
        m->memocap = 0;
    } else if (m->memo) {
        for (size_t i = 0; i < m->memocap; i++)
            m->memo[i].key = -1;
    }
    if (m->dcap > RESET_KEEP) {
        free(m->dense);
        m->dense = NULL;
        m->dcap = 0;
    } else if (m->dense) {
        memset(m->dense, 0, m->dcap * sizeof *m->dense);
    }
    m->mcount = 0;
    if (m->gcap > RESET_KEEP) {
        free(m->globals);
        m->globals = NULL;
        m->gcap = 0;
    } else if (m->globals) {
        memset(m->globals, 0, m->gcap * sizeof *m->globals);
    }
    m->gcount = 0;
    m->proto = 0;
    m->frame_end = 0;
    m->stop = false;
}

/* Does another pickle start at pos? One that CPython would reject at its very
 * first opcode is not a pickle but trailing data (a zip appended to a pickle
 * starts with 'P', PERSID, say); anything that gets further is a pickle, and
 * is analysed as one even if it breaks later. A silent run decides. */
static bool starts_pickle(const vm *m, size_t pos)
{
    /* only the first opcode decides: the run stops at the second one */
    brine_settings s = *m->lim;
    s.max_opcodes = 1;
    brine_arena a;
    brine_arena_init(&a, s.max_bytes);
    brine_vm_config cfg = {.settings = &s, .arena = &a, .flags = BRINE_VM_FIRST_ONLY, .start = pos,
                           .window = m->win};
    uint64_t pin = m->win ? m->win->pin : 0;
    if (m->win) /* the main run reads these bytes again */
        m->win->pin = pos;
    brine_vm_result r;
    brine_vm_run(m->data, m->len, &cfg, &r);
    if (m->win)
        m->win->pin = pin;
    brine_arena_free(&a);
    return !(r.status == BRINE_STATUS_MALFORMED && r.error_offset == pos);
}

int brine_vm_run(const uint8_t *data, size_t len, const brine_vm_config *cfg, brine_vm_result *res)
{
    vm m;
    memset(&m, 0, sizeof m);
    memset(res, 0, sizeof *res);
    if (cfg->window) {
        data = NULL;
        len = (size_t)cfg->window->src->len;
        m.win = cfg->window;
    }
    m.data = data;
    m.len = len;
    m.cfg = cfg;
    m.lim = cfg->settings;
    m.plain = !m.win && !cfg->on_trace;
    m.a = cfg->arena;
    m.res = res;
    m.work.left = brine_compare_budget(m.lim, len);
    res->status = BRINE_STATUS_COMPLETE;
    m.pos = cfg->start <= len ? cfg->start : len;
    /* a data-only first pickle needs no values: the kinds pass, when it can decide */
    bool first_done = false;
    unsigned not_kinds = BRINE_VM_FIRST_ONLY | BRINE_VM_STR_UTF8 | BRINE_VM_STR_LATIN1 | BRINE_VM_PYTHON;
    if ((cfg->flags & BRINE_VM_KINDS) && !(cfg->flags & not_kinds) && !cfg->on_trace &&
        /* after_build: only after a BUILD */
        (!(cfg->flags & BRINE_VM_NESTED) || cfg->constant_inert) && m.lim->max_depth >= 4) {
        uint64_t end, ops;
        /* through a window, the kinds pass reads a window of its own: when it
         * gives up, the full VM starts again from the start with this one */
        brine_window kw;
        brine_vm_config kcfg = *cfg;
        bool kok = !m.win || brine_window_open(&kw, m.win->src, 0, m.win->max, m.win->grain) == 0;
        if (m.win)
            kcfg.window = &kw;
        bool decided = kok && brine_vm_kinds(data, len, &kcfg, &end, &ops);
        if (m.win)
            brine_window_close(&kw);
        if (decided) {
            first_done = true;
            m.pos = (size_t)end;
            m.opoffset = end - 1;
            m.op = BRINE_OP_STOP;
            m.opindex = ops;
        }
    }
    for (;;) {
        reset(&m);
        if (!first_done) {
            while (!m.stop && !m.failed) {
                if (m.plain)
                    fast_run(&m);
                if (step(&m) < 0)
                    break;
            }
        }
        first_done = false;
        if (m.failed)
            break;
        brine_vm_event ev = {.kind = BRINE_EV_PICKLE, .number = (int64_t)res->pickles};
        if (emit(&m, &ev) < 0)
            break;
        if (res->pickles++ == 0)
            res->first_end = m.pos;
        res->last_end = m.pos;
        if (m.pos >= len || (cfg->flags & BRINE_VM_FIRST_ONLY))
            break;
        int next = byte_at(&m, m.pos);
        if (next < 0)
            break;
        if (!brine_op_name((uint8_t)next) || !starts_pickle(&m, m.pos)) {
            /* the rest does not start another pickle */
            m.opoffset = m.pos;
            m.op = BRINE_OP_STOP; /* reported against the STOP that ended the last pickle */
            brine_vm_event tr = {.kind = BRINE_EV_TRAILING, .number = (int64_t)(len - m.pos)};
            emit(&m, &tr);
            break;
        }
        if (res->pickles >= m.lim->max_pickles) {
            m.opoffset = m.pos;
            limit(&m, "max_pickles: more pickles in the stream than the limit");
            break;
        }
    }
    free(m.stack);
    free(m.marks);
    free(m.memo);
    free(m.dense);
    free(m.globals);
    return m.a->nomem ? BRINE_ERR_NOMEM : 0;
}
