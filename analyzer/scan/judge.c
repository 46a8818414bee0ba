/* The judge: the consumer of pickle streams for `scan`. Every event of the VM
 * is judged against the compiled policy; findings go to the callbacks with
 * the stream's structured location and the rule that fired. The driver
 * (analyzer/container/) decides which streams there are. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "policy.h"

const char *brine_event_detail(brine_arena *scratch, const brine_vm_event *ev, char *num, size_t numlen);

/* ---- judging ---------------------------------------------------------------------- */

typedef struct judge {
    const brine_policy *p;
    brine_drv *d;
    const brine_loc *loc;
    brine_location where;            /* the public form of loc, made once per stream */
    brine_location_step steps[64];
    uint64_t report_from; /* a second reading reports only findings from here on */
    uint64_t base;        /* the stream's start: finding offsets are relative to it */
    const brine_scan_callbacks *cb;
    void *user;
    brine_arena scratch;
    brine_verdict verdict;
    uint64_t findings;
    /* (kind, name) already reported for imports, to keep reports readable */
    uint64_t *seen;
    size_t nseen, cap;
    bool stopped;
    int depth;            /* calls judged on behalf of a functools.partial */
    struct verdict_cache *cache; /* what the policy says of each distinct name */
    size_t cache_mask, cache_used;
    /* the VM interns globals (one value per distinct name in a stream), so an
     * interned value's address finds its entry without hashing or comparing
     * the name: only interned values are entered, and no other value can
     * have their address while the stream lasts. Cleared when the cache
     * grows (entries move). */
    struct { const brine_value *g; struct verdict_cache *vc; } by_addr[64];
    /* node visits left for matching constraints in this stream (max_compare):
     * when it runs out, no constraint matches (fail closed) */
    uint64_t match_left;
} judge;

/* The policy's answer for one (module, name): computed once per stream, so a
 * pickle of a million objects of one class asks the deny list once. */
typedef struct verdict_cache {
    const uint8_t *mod, *name;
    size_t modn, namen;
    uint64_t hash;
    const brine_deny *deny;
    const char *dunder;
    const brine_allow *allow;
    char *text; /* the rendered name, made on first use by the inventory */
    bool used;
    /* as a callee: 0 not yet asked, 1 plain (none of the names judged apart,
     * not denied, allowed with call: only its call constraints are left to
     * check), 2 anything else (judge_call's whole path) */
    uint8_t callee;
    /* as the maker of an object given state or items: 0 not yet asked, 1 not
     * functools.partial (judge_made_by at once), 2 partial */
    uint8_t maker;
    uint8_t told; /* the uses (1 << brine_use) given to a global_once callback */
} verdict_cache;


static const verdict_cache *policy_says_by_name(judge *j, const brine_value *g) __attribute__((noinline));

/* The cached answer for global g; the cache keeps its own copy of the name.
 * Inline, the lookup by address (most calls: judging an event asks three to
 * five times); by name out of line. */
static inline const verdict_cache *policy_says(judge *j, const brine_value *g)
{
    size_t ai = ((uintptr_t)g >> 4) & 63;
    /* a value made for one event (a getattr target, in the judge's scratch
     * arena) may live where another lived before: those are looked up by name */
    if (g->interned && j->by_addr[ai].g == g)
        return j->by_addr[ai].vc;
    return policy_says_by_name(j, g);
}

static const verdict_cache *policy_says_by_name(judge *j, const brine_value *g)
{
    const brine_value *m = g->u.g.module, *n = g->u.g.name;
    size_t ai = ((uintptr_t)g >> 4) & 63;
    uint64_t h = brine_policy_name_hash(m->u.s.p, m->u.s.n, n->u.s.p, n->u.s.n);
    if (!j->cache || (j->cache_used + 1) * 2 > j->cache_mask + 1) {
        memset(j->by_addr, 0, sizeof j->by_addr);
        size_t cap = j->cache ? (j->cache_mask + 1) * 2 : 64;
        verdict_cache *nc = calloc(cap, sizeof *nc);
        if (!nc)
            return NULL; /* the caller asks the policy itself */
        for (size_t i = 0; j->cache && i <= j->cache_mask; i++)
            if (j->cache[i].used) {
                size_t k = (size_t)j->cache[i].hash & (cap - 1);
                while (nc[k].used)
                    k = (k + 1) & (cap - 1);
                nc[k] = j->cache[i];
            }
        free(j->cache);
        j->cache = nc;
        j->cache_mask = cap - 1;
    }
    size_t k = (size_t)h & j->cache_mask;
    for (; j->cache[k].used; k = (k + 1) & j->cache_mask) {
        verdict_cache *c = &j->cache[k];
        if (c->hash == h && c->modn == m->u.s.n && c->namen == n->u.s.n && !memcmp(c->mod, m->u.s.p, c->modn) &&
            !memcmp(c->name, n->u.s.p, c->namen)) {
            if (g->interned) {
                j->by_addr[ai].g = g;
                j->by_addr[ai].vc = c;
            }
            return c;
        }
    }
    uint8_t *copy = malloc(m->u.s.n + n->u.s.n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, m->u.s.p, m->u.s.n);
    memcpy(copy + m->u.s.n, n->u.s.p, n->u.s.n);
    verdict_cache fresh = {copy, copy + m->u.s.n, m->u.s.n, n->u.s.n, h,
                           brine_policy_denied(j->p, m->u.s.p, m->u.s.n, n->u.s.p, n->u.s.n),
                           brine_policy_dunder(j->p, m->u.s.p, m->u.s.n, n->u.s.p, n->u.s.n),
                           brine_policy_find(j->p, m->u.s.p, m->u.s.n, n->u.s.p, n->u.s.n), NULL, true, 0, 0, 0};
    j->cache[k] = fresh;
    j->cache_used++;
    if (g->interned) {
        j->by_addr[ai].g = g;
        j->by_addr[ai].vc = &j->cache[k];
    }
    return &j->cache[k];
}

/* The allow entry for g (cached), or NULL. */
static const brine_allow *allowed(judge *j, const brine_value *g)
{
    const verdict_cache *vc = policy_says(j, g);
    const brine_value *m = g->u.g.module, *n = g->u.g.name;
    return vc ? vc->allow : brine_policy_find(j->p, m->u.s.p, m->u.s.n, n->u.s.p, n->u.s.n);
}

/* brine_policy_global_allows through the cache. */
static bool global_allows(judge *j, const brine_value *g, int perm)
{
    if (g->kind != BRINE_V_GLOBAL || g->dynamic)
        return false;
    const verdict_cache *vc = policy_says(j, g);
    if (!vc)
        return brine_policy_global_allows(j->p, g, perm);
    return !vc->deny && !vc->dunder && vc->allow && (vc->allow->perms & perm) == perm;
}

static bool allows_cb(void *user, const brine_value *g, int perm)
{
    return global_allows(user, g, perm);
}

/* A constraint, its `global:` parts answered through the cache. */
static bool match_constraint(judge *j, const brine_constraint *c, const brine_value *v)
{
    if (c->kind == BRINE_C_TYPE) /* the commonest, without the matcher's setup */
        return brine_constraint_type_ok(c, v);
    if (c->kind == BRINE_C_TUPLE) {
        /* a tuple of types (an array's BUILD state) the same way; in the
         * matcher too, a tuple's test and its types' spend no budget, and a
         * tuple fails at its first kid that fails */
        if (v->kind != BRINE_V_TUPLE || v->u.seq.len != c->nkids)
            return false;
        size_t i = 0;
        for (; i < c->nkids && c->kids[i]->kind == BRINE_C_TYPE; i++)
            if (!brine_constraint_type_ok(c->kids[i], v->u.seq.items[i]))
                return false;
        if (i == c->nkids)
            return true;
    }
    return brine_constraint_match_with(j->p, c, v, &j->match_left, allows_cb, j);
}

static void cache_free(judge *j)
{
    for (size_t i = 0; j->cache && i <= j->cache_mask; i++)
        if (j->cache[i].used) {
            free((void *)j->cache[i].mod);
            free(j->cache[i].text);
        }
    free(j->cache);
}

static bool seen_before(judge *j, uint64_t h)
{
    for (size_t i = 0; i < j->nseen; i++)
        if (j->seen[i] == h)
            return true;
    if (j->nseen == j->cap) {
        size_t nc = j->cap ? j->cap * 2 : 32;
        uint64_t *n = realloc(j->seen, nc * sizeof *n);
        if (!n)
            return false;
        j->seen = n;
        j->cap = nc;
    }
    if (j->nseen < 4096)
        j->seen[j->nseen++] = h;
    return false;
}

static const char *fmt(judge *j, const char *f, ...) __attribute__((format(printf, 2, 3)));
static const char *fmt(judge *j, const char *f, ...)
{
    char *buf = brine_arena_alloc(&j->scratch, 600);
    if (!buf)
        return "";
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, 600, f, ap);
    va_end(ap);
    return buf;
}

static int report(judge *j, const brine_vm_event *ev, const char *rule_id, const brine_where *w, brine_verdict v,
                  brine_severity sev, const char *name, const char *call, const char *rule, const char *message)
{
    if (ev->offset < j->report_from) /* the first reading reported it */
        return 0;
    if (v > j->verdict)
        j->verdict = v;
    j->findings++;
    j->d->findings++;
    if (!j->cb || !j->cb->finding || j->stopped)
        return 0;
    brine_finding f = {.location = j->loc->text, .offset = ev->offset - j->base, .opindex = ev->opindex,
                       .opcode = brine_op_name(ev->opcode), .kind = brine_evkind_name(ev->kind), .verdict = v,
                       .severity = sev, .name = name ? name : "", .call = call ? call : "", .rule = rule,
                       .message = message, .where = &j->where, .rule_id = rule_id,
                       .rule_pack = w ? w->pack : "", .rule_file = w ? w->file : "", .rule_line = w ? w->line : 0};
    if (!f.opcode)
        f.opcode = "?";
    if (j->cb->finding(j->user, &f)) {
        j->stopped = j->d->stopped = true;
        return -1;
    }
    return 0;
}

static const char *deny_rule(judge *j, const brine_deny *d)
{
    return fmt(j, "deny %s%s%s%s (%s, %s:%u)", d->name ? "" : "module ", d->module, d->name ? ":" : "",
               d->name ? d->name : (d->submodules ? " and submodules" : ""), d->where.pack, d->where.file,
               d->where.line);
}

static const char *render(judge *j, const brine_value *v)
{
    return brine_value_render(&j->scratch, v, 200);
}

static const char *call_text(judge *j, const brine_vm_event *ev)
{
    if (!ev->args)
        return "";
    return fmt(j, "%s%s", render(j, ev->target), render(j, ev->args));
}

/* A persistent id whose loader returns one of its elements (torch's legacy
 * ('module', <class>, file, source) returns the class): that global. */
static const brine_value *resolve_persid(judge *j, const brine_value *v)
{
    if (v->kind != BRINE_V_PERSID)
        return v;
    for (const brine_persid_rule *r = j->p->persids; r; r = r->next)
        if (r->resolves_to >= 0 && match_constraint(j, r->match, v->u.c.callee))
            return v->u.c.callee->u.seq.items[r->resolves_to];
    return v;
}

/* Name checks shared by imports and by calls of globals: deny and dunder.
 * Returns 1 if a finding was made. */
static int name_red_flags(judge *j, const brine_vm_event *ev, const brine_value *g, const char *name,
                          const char *call, const char *what)
{
#define NAMETXT (name ? name : render(j, g))
#define CALLTXT (call ? call : call_text(j, ev))
    const brine_value *m = g->u.g.module, *n = g->u.g.name;
    const verdict_cache *vc = policy_says(j, g);
    const brine_deny *d = vc ? vc->deny : brine_policy_denied(j->p, m->u.s.p, m->u.s.n, n->u.s.p, n->u.s.n);
    if (d) {
        if (report(j, ev, "deny", &d->where, BRINE_VERDICT_DANGEROUS, d->severity, NAMETXT, CALLTXT, deny_rule(j, d),
                   fmt(j, "%s %s: %s", what, NAMETXT, d->reason)) < 0)
            return -1;
        return 1;
    }
    const char *du = vc ? vc->dunder : brine_policy_dunder(j->p, m->u.s.p, m->u.s.n, n->u.s.p, n->u.s.n);
    if (du) {
        if (report(j, ev, "dunder", NULL, BRINE_VERDICT_DANGEROUS, BRINE_SEVERITY_CRITICAL, NAMETXT, CALLTXT,
                   fmt(j, "dunder_components: %s", du),
                   fmt(j, "%s %s: the component %s reaches interpreter internals", what, NAMETXT, du)) < 0)
            return -1;
        return 1;
    }
    return 0;
#undef CALLTXT
#undef NAMETXT
}

/* Why a constraint may have failed: the stream's matching budget ran out. */
static const char *over_budget(const judge *j)
{
    return j->match_left ? "" : " (max_compare: matching constraints took more work than the stream's budget)";
}

/* Which rule of a call entry admits these arguments? NULL if one does, else why not. */
static const char *call_mismatch(judge *j, const brine_allow *e, const brine_vm_event *ev)
{
    if (!e->calls)
        return NULL;
    const brine_value *args = ev->args;
    bool kw = ev->kwargs && !(ev->kwargs->kind == BRINE_V_DICT && ev->kwargs->u.dict.keys.len == 0);
    /* why the last rule tried refused, rendered only if no rule admits the
     * call (a later rule often does: the text cost more than the match) */
    const char *why = "the arguments are not a tuple";
    const brine_callrule *arity = NULL; /* refused by its arity */
    size_t bad_arg = 0;                 /* refused by this argument (1-based), 0: not */
    const char *budget = "";
    for (const brine_callrule *r = e->calls; r; r = r->next) {
        if (kw && !r->kwargs) {
            why = "keyword arguments are not allowed";
            arity = NULL, bad_arg = 0;
            continue;
        }
        if (args->kind != BRINE_V_TUPLE)
            continue;
        int64_t n = args->u.seq.len;
        if (r->arity_min >= 0 && (n < r->arity_min || n > r->arity_max)) {
            arity = r, bad_arg = 0;
            continue;
        }
        bool ok = true;
        for (size_t i = 0; i < r->nargs && i < (size_t)n && ok; i++) {
            if (!match_constraint(j, r->args[i], args->u.seq.items[i])) {
                arity = NULL, bad_arg = i + 1;
                budget = over_budget(j);
                ok = false;
            }
        }
        if (ok)
            return NULL;
    }
    if (arity)
        return fmt(j, "%" PRId64 " arguments where the policy allows %" PRId64 "%s", (int64_t)args->u.seq.len,
                   arity->arity_min, arity->arity_max != arity->arity_min ? fmt(j, " to %" PRId64, arity->arity_max) : "");
    if (bad_arg)
        return fmt(j, "argument %zu (%s) does not satisfy the policy%s", bad_arg, render(j, args->u.seq.items[bad_arg - 1]),
                   budget);
    return why;
}

/* torch.storage._load_from_bytes(b) is torch.load(io.BytesIO(b)): what
 * pickle.dumps(tensor) and pickle.dumps(module) write for each storage. With
 * b a constant, the driver scans b as the torch file it is (a nested
 * stream, judged by its content, whose verdict is the file's too), so the call
 * adds nothing; with anything else (b computed at load time) the deny stands.
 * Importing the name does nothing by itself: judged where it is used. */
static bool is_nested_torch_load(const brine_value *g)
{
    static const char mod[] = "torch.storage", name[] = "_load_from_bytes";
    return g->kind == BRINE_V_GLOBAL && !g->dynamic && g->u.g.module->u.s.n == sizeof mod - 1 &&
           !memcmp(g->u.g.module->u.s.p, mod, sizeof mod - 1) && g->u.g.name->u.s.n == sizeof name - 1 &&
           !memcmp(g->u.g.name->u.s.p, name, sizeof name - 1);
}

/* Always inlined: s is a literal at every call, so its length is a constant
 * (a strlen call per check was a tenth of judging an allowed call). */
static inline __attribute__((always_inline)) bool str_is(const brine_value *v, const char *s)
{
    return v->kind == BRINE_V_STR && v->u.s.n == strlen(s) && !memcmp(v->u.s.p, s, v->u.s.n);
}

/* A bytes constant, or what protocols 0-2 write for one: _codecs.encode(<str
 * constant>, 'latin1'); the driver scanned either as a nested stream. */
static bool constant_bytes(const brine_value *b)
{
    if (b->kind == BRINE_V_BYTES)
        return true;
    if (b->kind != BRINE_V_CALL || b->u.c.callee->kind != BRINE_V_GLOBAL || b->u.c.callee->dynamic ||
        !str_is(b->u.c.callee->u.g.module, "_codecs") || !str_is(b->u.c.callee->u.g.name, "encode") ||
        b->u.c.args->kind != BRINE_V_TUPLE || b->u.c.args->u.seq.len != 2)
        return false;
    const brine_value *s = b->u.c.args->u.seq.items[0], *enc = b->u.c.args->u.seq.items[1];
    return s->kind == BRINE_V_STR && (str_is(enc, "latin1") || str_is(enc, "latin-1"));
}

static bool constant_bytes_call(const brine_vm_event *ev)
{
    const brine_value *a = ev->args;
    bool kw = ev->kwargs && !(ev->kwargs->kind == BRINE_V_DICT && ev->kwargs->u.dict.keys.len == 0);
    return !kw && a && a->kind == BRINE_V_TUPLE && a->u.seq.len == 1 && constant_bytes(a->u.seq.items[0]);
}

static inline __attribute__((always_inline)) bool global_is(const brine_value *g, const char *mod, const char *name)
{
    return g && g->kind == BRINE_V_GLOBAL && !g->dynamic && str_is(g->u.g.module, mod) && str_is(g->u.g.name, name);
}

/* getattr(<global>, 'attr') is the global <module>:<qualname>.attr, judged as
 * that name (denies, dunder rules and allow entries apply to it, so
 * getattr(os, 'system') is os:system); getattr(<object made by a global
 * class>, 'attr') is that class's attribute <module>:<Class>.attr, judged by
 * an allow entry for it (a bound method). CPython 3.11 pickles enum members
 * as getattr(EnumClass, 'MEMBER') and zoneinfo as getattr(ZoneInfo,
 * '_unpickle')(key, 1). Returns the synthesized global (in the scratch arena),
 * or NULL if the call is no such constant lookup. */
static const brine_value *getattr_target(judge *j, const brine_value *callee, const brine_value *args,
                                         const brine_value *kwargs)
{
    if (!global_is(callee, "builtins", "getattr") || !args || args->kind != BRINE_V_TUPLE || args->u.seq.len != 2 ||
        (kwargs && !(kwargs->kind == BRINE_V_DICT && kwargs->u.dict.keys.len == 0)))
        return NULL;
    const brine_value *base = args->u.seq.items[0], *attr = args->u.seq.items[1];
    if (attr->kind != BRINE_V_STR)
        return NULL;
    if ((base->kind == BRINE_V_CALL || base->kind == BRINE_V_NEW) && base->u.c.callee->kind == BRINE_V_GLOBAL)
        base = base->u.c.callee; /* an object: its class's attribute */
    if (base->kind != BRINE_V_GLOBAL || base->dynamic)
        return NULL;
    const brine_value *m = base->u.g.module, *n = base->u.g.name;
    brine_value *g = brine_arena_alloc(&j->scratch, sizeof *g);
    brine_value *name = brine_arena_alloc(&j->scratch, sizeof *name);
    uint8_t *text = brine_arena_alloc(&j->scratch, n->u.s.n + 1 + attr->u.s.n + 1);
    if (!g || !name || !text)
        return NULL;
    memcpy(text, n->u.s.p, n->u.s.n);
    text[n->u.s.n] = '.';
    memcpy(text + n->u.s.n + 1, attr->u.s.p, attr->u.s.n);
    name->kind = BRINE_V_STR;
    name->u.s.p = text;
    name->u.s.n = n->u.s.n + 1 + attr->u.s.n;
    g->kind = BRINE_V_GLOBAL;
    g->u.g.module = (brine_value *)m;
    g->u.g.name = name;
    return g;
}

/* scipy's uarray pickles its multimethods (scipy.fft.fft, ...) as
 * scipy._lib._uarray._backend.unpickle_function(module, qualname, None):
 * importlib.import_module(module), then getattr along qualname, which is
 * find_class at protocol 4. With constant strings and no bound self it is the
 * global module:qualname, judged as that name; anything else is judged as the
 * call it is (not allowed). */
static bool is_unpickle_function(const brine_value *g)
{
    return global_is(g, "scipy._lib._uarray._backend", "unpickle_function");
}

static const brine_value *unpickle_function_target(judge *j, const brine_value *callee, const brine_value *args,
                                                   const brine_value *kwargs)
{
    if (!is_unpickle_function(callee) || !args || args->kind != BRINE_V_TUPLE || args->u.seq.len != 3 ||
        (kwargs && !(kwargs->kind == BRINE_V_DICT && kwargs->u.dict.keys.len == 0)))
        return NULL;
    const brine_value *m = args->u.seq.items[0], *q = args->u.seq.items[1], *self = args->u.seq.items[2];
    if (m->kind != BRINE_V_STR || q->kind != BRINE_V_STR || self->kind != BRINE_V_NONE || !m->u.s.n || !q->u.s.n)
        return NULL;
    brine_value *g = brine_arena_alloc(&j->scratch, sizeof *g);
    if (!g)
        return NULL;
    g->kind = BRINE_V_GLOBAL;
    g->u.g.module = (brine_value *)m;
    g->u.g.name = (brine_value *)q;
    return g;
}

/* A callee or a maker as the policy sees it: a getattr lookup resolved. */
static const brine_value *as_global(judge *j, const brine_value *v)
{
    if (v->kind == BRINE_V_CALL) {
        const brine_value *g = getattr_target(j, v->u.c.callee, v->u.c.args, NULL);
        if (!g)
            g = unpickle_function_target(j, v->u.c.callee, v->u.c.args, v->u.c.kwargs);
        if (g)
            return g;
    }
    return v;
}

/* ---- functools.partial --------------------------------------------------------------
 * Making a partial object runs nothing: partial(f, *args, **kw) stores f and the
 * arguments, and partial.__setstate__((f, args, kw, dict)) (what pickle writes
 * for one, after partial(f)) replaces them. It is dangerous when it is called,
 * by the pickle (REDUCE with the partial as callable) or by the application
 * later. So partial is judged where it is used, as the call it stands for:
 * - made or given state with arguments bound: judged as the call f(*args,
 *   **kw), by f's allow entry and its constraints (partial(os.system, 'id') is
 *   a call of os.system);
 * - with no arguments bound: f is a value the application may call, judged as
 *   an import of f;
 * - called: judged as the call of f with the bound arguments then the call's;
 *   f and the bound arguments are the latest BUILD state's, if any;
 * - f computed at load time, or state brine cannot read: dangerous.
 * protocols 2-3 write NEWOBJ_EX as partial(C.__new__, C, *args, **kw)() (the
 * __new__ found by getattr): C.__new__(C, ...) is judged as a call of C, which
 * is what NEWOBJ_EX is. */

static bool is_partial_type(const brine_value *g)
{
    return global_is(g, "functools", "partial") || global_is(g, "_functools", "partial");
}

static bool same_global(const brine_value *a, const brine_value *b)
{
    return a->kind == BRINE_V_GLOBAL && b->kind == BRINE_V_GLOBAL && !a->dynamic && !b->dynamic &&
           brine_value_eq(a->u.g.module, b->u.g.module, 2, NULL) == 1 &&
           brine_value_eq(a->u.g.name, b->u.g.name, 2, NULL) == 1;
}

static bool no_kwargs(const brine_value *kw)
{
    return !kw || kw->kind == BRINE_V_NONE || (kw->kind == BRINE_V_DICT && kw->u.dict.keys.len == 0);
}

/* getattr(C, '__new__') with C a global: C, else NULL. */
static const brine_value *new_base(judge *j, const brine_value *f)
{
    f = resolve_persid(j, f);
    if (f->kind != BRINE_V_CALL || !global_is(f->u.c.callee, "builtins", "getattr") || !f->u.c.args ||
        f->u.c.args->kind != BRINE_V_TUPLE || f->u.c.args->u.seq.len != 2 || !no_kwargs(f->u.c.kwargs) ||
        !str_is(f->u.c.args->u.seq.items[1], "__new__"))
        return NULL;
    const brine_value *c = f->u.c.args->u.seq.items[0];
    return c->kind == BRINE_V_GLOBAL && !c->dynamic ? c : NULL;
}

/* f(*args) where f is C.__new__ and args[0] is C: C, the class NEWOBJ makes. */
static const brine_value *new_of(judge *j, const brine_value *f, const brine_value *args)
{
    const brine_value *c = new_base(j, f);
    if (!c || !args || args->kind != BRINE_V_TUPLE || args->u.seq.len < 1 || !same_global(c, args->u.seq.items[0]))
        return NULL;
    return c;
}

static brine_value *tuple_of(judge *j, brine_value *const *items, size_t n)
{
    brine_value *t = brine_arena_alloc(&j->scratch, sizeof *t);
    if (!t)
        return NULL;
    t->kind = BRINE_V_TUPLE;
    if (n) {
        t->u.seq.items = brine_arena_alloc(&j->scratch, n * sizeof *items);
        if (!t->u.seq.items)
            return NULL;
        memcpy(t->u.seq.items, items, n * sizeof *items);
    }
    t->u.seq.len = t->u.seq.cap = (uint32_t)n;
    return t;
}

/* args[1:] as a tuple (args a tuple of at least one item) */
static brine_value *tail_of(judge *j, const brine_value *args)
{
    return tuple_of(j, args->u.seq.items + 1, args->u.seq.len - 1);
}

/* A partial object: the result of calling functools.partial. */
static bool is_partial_obj(judge *j, const brine_value *v)
{
    return (v->kind == BRINE_V_CALL || v->kind == BRINE_V_NEW) && is_partial_type(as_global(j, resolve_persid(j, v->u.c.callee)));
}

/* A state partial.__setstate__ takes: a tuple (f, args, kw, dict) with args a
 * tuple and kw a dict or None (CPython raises otherwise; brine cannot say of
 * a computed one). */
static bool partial_state(const brine_value *s, const brine_value **f, const brine_value **args,
                          const brine_value **kw)
{
    if (s->kind != BRINE_V_TUPLE || s->u.seq.len != 4)
        return false;
    const brine_value *a = s->u.seq.items[1], *k = s->u.seq.items[2];
    if (a->kind != BRINE_V_TUPLE || (k->kind != BRINE_V_NONE && k->kind != BRINE_V_DICT))
        return false;
    *f = s->u.seq.items[0];
    *args = a;
    *kw = k->kind == BRINE_V_NONE ? NULL : k;
    return true;
}

/* What partial object p holds now: false if brine cannot know. */
static bool partial_parts(judge *j, const brine_value *p, const brine_value **f, const brine_value **args,
                          const brine_value **kw)
{
    const brine_value *a = p->u.c.args;
    if (!a || a->kind != BRINE_V_TUPLE || a->u.seq.len < 1)
        return false;
    *f = a->u.seq.items[0];
    *args = tail_of(j, a);
    *kw = no_kwargs(p->u.c.kwargs) ? NULL : p->u.c.kwargs;
    if (!*args)
        return false;
    for (const brine_objop *op = brine_value_ops(p); op; op = op->next)
        if (op->kind == BRINE_OPK_BUILD && !partial_state(op->a, f, args, kw))
            return false;
    return true;
}

static int judge_call(judge *j, const brine_vm_event *ev);
static int judge_name_import(judge *j, const brine_vm_event *ev, const brine_value *g);

/* ev judged as the call target(*args, **kw) */
static int judge_call_as(judge *j, const brine_vm_event *ev, const brine_value *target, const brine_value *args,
                         const brine_value *kw)
{
    if (j->depth >= 8)
        return report(j, ev, "call-non-global", NULL, BRINE_VERDICT_DANGEROUS, BRINE_SEVERITY_CRITICAL, "",
                      render(j, target), "call of a non-global",
                      "functools.partial objects nested too deep to follow");
    brine_vm_event e2 = *ev;
    e2.kind = BRINE_EV_CALL;
    e2.target = (brine_value *)target;
    e2.args = (brine_value *)args;
    e2.kwargs = (brine_value *)kw;
    j->depth++;
    int r = judge_call(j, &e2);
    j->depth--;
    return r;
}

/* partial(f, *args, **kw), made or given that state */
static int judge_partial_func(judge *j, const brine_vm_event *ev, const brine_value *f, const brine_value *args,
                              const brine_value *kw)
{
    if ((args && args->kind == BRINE_V_TUPLE && args->u.seq.len) || !no_kwargs(kw))
        return judge_call_as(j, ev, f, args, kw);
    /* nothing bound: f itself is what the application gets to call */
    const brine_value *c = new_base(j, f);
    if (c)
        return judge_name_import(j, ev, c);
    if (is_partial_obj(j, f)) {
        const brine_value *f2, *a2, *k2;
        if (partial_parts(j, f, &f2, &a2, &k2) && j->depth < 8) {
            j->depth++;
            int r = judge_partial_func(j, ev, f2, a2, k2);
            j->depth--;
            return r;
        }
    }
    const brine_value *g = as_global(j, resolve_persid(j, f));
    if (g->kind == BRINE_V_GLOBAL && !g->dynamic)
        return judge_name_import(j, ev, g);
    return report(j, ev, "call-non-global", NULL, BRINE_VERDICT_DANGEROUS, BRINE_SEVERITY_CRITICAL, render(j, f),
                  render(j, f), "call of a non-global",
                  fmt(j, "functools.partial of %s, which is not a global reference the policy can judge",
                      render(j, f)));
}

/* A call whose callee is a partial object: the call of its function with the
 * bound arguments first. */
static int judge_partial_call(judge *j, const brine_vm_event *ev, const brine_value *p)
{
    const brine_value *f, *args, *kw;
    if (!partial_parts(j, p, &f, &args, &kw))
        return report(j, ev, "call-non-global", NULL, BRINE_VERDICT_DANGEROUS, BRINE_SEVERITY_CRITICAL, render(j, p),
                      call_text(j, ev), "call of a non-global",
                      fmt(j, "calls %s, a functools.partial whose function or arguments brine cannot know",
                          render(j, p)));
    const brine_value *a = ev->args;
    if (a && a->kind == BRINE_V_TUPLE && a->u.seq.len) {
        size_t n = args->u.seq.len + a->u.seq.len;
        brine_value **items = brine_arena_alloc(&j->scratch, n * sizeof *items);
        if (!items)
            return -1;
        if (args->u.seq.len) /* an empty tuple may have no items array */
            memcpy(items, args->u.seq.items, args->u.seq.len * sizeof *items);
        memcpy(items + args->u.seq.len, a->u.seq.items, a->u.seq.len * sizeof *items);
        args = tuple_of(j, items, n);
        if (!args)
            return -1;
    } else if (a && a->kind != BRINE_V_TUPLE)
        args = a; /* computed arguments: the call's constraints decide */
    if (!no_kwargs(ev->kwargs))
        kw = ev->kwargs;
    return judge_call_as(j, ev, f, args, kw);
}

static int judge_name_import(judge *j, const brine_vm_event *ev, const brine_value *g)
{
    int r = name_red_flags(j, ev, g, NULL, "", "import of");
#define NAMETXT render(j, g)
    if (r)
        return r < 0 ? -1 : 0;
    if (!allowed(j, g))
        return report(j, ev, "not-allowed", NULL, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, NAMETXT, "",
                      "not on the allowlist", fmt(j, "import of %s, a name the policy does not allow", NAMETXT));
    return 0;
#undef NAMETXT
}

static int judge_import(judge *j, const brine_vm_event *ev)
{
    const brine_value *g = ev->target;
    /* names judged where they are used: the nested torch load, getattr (a
     * lookup of a constant name is that name), type (one argument: a lookup) */
    if (is_nested_torch_load(g) || global_is(g, "builtins", "getattr") || global_is(g, "builtins", "type") ||
        is_partial_type(g) || is_unpickle_function(g))
        return 0;
    uint64_t h = (uintptr_t)g * 31 + 1;
    if (seen_before(j, h))
        return 0;
    return judge_name_import(j, ev, g);
}

static int judge_name_import(judge *j, const brine_vm_event *ev, const brine_value *g);

#define CALLTXT call_text(j, ev)
#define NAMETXT render(j, c)
/* The call of global c, allowed with call by entry e: its constraints. */
static int judge_call_constraints(judge *j, const brine_vm_event *ev, const brine_value *c, const brine_allow *e)
{
    const char *why = call_mismatch(j, e, ev);
    if (why)
        return report(j, ev, "call-constraint", &e->where, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, NAMETXT, CALLTXT,
                      fmt(j, "allow %s:%s (%s, %s:%u) call constraints", e->module, e->name, e->where.pack,
                          e->where.file, e->where.line),
                      fmt(j, "call of %s: %s", NAMETXT, why));
    return 0;
}
#undef CALLTXT
#undef NAMETXT

/* The cache entry of v when v is an interned global (found by its address),
 * else NULL: the entries of the judge's fast paths for callees and makers */
static verdict_cache *interned_entry(judge *j, const brine_value *v)
{
    if (v->kind != BRINE_V_GLOBAL || !v->interned || v->dynamic)
        return NULL;
    return (verdict_cache *)policy_says(j, v);
}

/* Whether global g, called, needs no more than its call constraints checked
 * (judge_call's path for a global that none of its special cases takes):
 * none of the names judged apart (partial, getattr, type, scipy's
 * unpickle_function, torch's nested load), neither denied nor a dunder path,
 * allowed with call. A property of the name alone, kept in its cache entry. */
static bool plain_callee(const brine_value *g, verdict_cache *vc)
{
    if (!vc->callee) {
        bool special = is_partial_type(g) || global_is(g, "builtins", "getattr") || global_is(g, "builtins", "type") ||
                       is_unpickle_function(g) || is_nested_torch_load(g);
        vc->callee = !special && !vc->deny && !vc->dunder && vc->allow && (vc->allow->perms & BRINE_PERM_CALL) ? 1 : 2;
    }
    return vc->callee == 1;
}

static int judge_call(judge *j, const brine_vm_event *ev)
{
    const brine_value *raw = resolve_persid(j, ev->target);
    /* most calls are of an interned global whose name needs no more than its
     * constraints: found by address, the rest of this function skipped (for a
     * global, new_of, the partial object and as_global are all no-ops) */
    verdict_cache *vc = interned_entry(j, raw);
    if (vc && plain_callee(raw, vc))
        return judge_call_constraints(j, ev, raw, vc->allow);
    /* C.__new__(C, *args): NEWOBJ of C (protocols 2-3 write NEWOBJ_EX so, via partial) */
    const brine_value *cls = new_of(j, raw, ev->args);
    if (cls)
        return judge_call_as(j, ev, cls, tail_of(j, ev->args), ev->kwargs);
    /* a partial object called: its function with the bound arguments */
    if (is_partial_obj(j, raw))
        return judge_partial_call(j, ev, raw);
    const brine_value *c = as_global(j, raw);
    /* the call and the name are rendered only for findings */
#define CALLTXT call_text(j, ev)
    /* partial(f, *args, **kw): the call it stands for (see above) */
    if (is_partial_type(c) && ev->args && ev->args->kind == BRINE_V_TUPLE && ev->args->u.seq.len >= 1)
        return judge_partial_func(j, ev, ev->args->u.seq.items[0], tail_of(j, ev->args), ev->kwargs);
    /* getattr(<global or object>, 'name'): an import of the resolved name;
     * getattr(C, '__new__') for a global C is C's constructor, judged where
     * it is called (above) and else as an import of C */
    const brine_value *looked_up = getattr_target(j, c, ev->args, ev->kwargs);
    if (looked_up) {
        const brine_value *nb = ev->args->u.seq.items[0];
        if (str_is(ev->args->u.seq.items[1], "__new__") && nb->kind == BRINE_V_GLOBAL && !nb->dynamic &&
            !allowed(j, looked_up))
            return judge_name_import(j, ev, nb);
        return judge_name_import(j, ev, looked_up);
    }
    looked_up = unpickle_function_target(j, c, ev->args, ev->kwargs);
    if (looked_up)
        return judge_name_import(j, ev, looked_up);
    /* type(x): x's class, a lookup (the class is judged where it is used) */
    if (global_is(c, "builtins", "type") && ev->args && ev->args->kind == BRINE_V_TUPLE && ev->args->u.seq.len == 1 &&
        !(ev->kwargs && !(ev->kwargs->kind == BRINE_V_DICT && ev->kwargs->u.dict.keys.len == 0)))
        return 0;
    if (c->kind != BRINE_V_GLOBAL || c->dynamic)
        return report(j, ev, "call-non-global", NULL, BRINE_VERDICT_DANGEROUS, BRINE_SEVERITY_CRITICAL, render(j, c), CALLTXT,
                      "call of a non-global",
                      fmt(j, "calls %s, which is not a global reference: the callee is computed at load time",
                          render(j, c)));
    if (is_nested_torch_load(c) && constant_bytes_call(ev))
        return 0; /* the bytes are a nested stream of their own */
#define NAMETXT render(j, c)
    int r = name_red_flags(j, ev, c, NULL, NULL, "call of");
    if (r)
        return r < 0 ? -1 : 0;
    const brine_allow *e = allowed(j, c);
    if (!e)
        return report(j, ev, "not-allowed", NULL, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, NAMETXT, CALLTXT, "not on the allowlist",
                      fmt(j, "call of %s, a name the policy does not allow", NAMETXT));
    if (!(e->perms & BRINE_PERM_CALL))
        return report(j, ev, "no-call-permission", &e->where, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, NAMETXT, CALLTXT,
                      fmt(j, "allow %s:%s (%s, %s:%u) without call", e->module, e->name, e->where.pack,
                          e->where.file, e->where.line),
                      fmt(j, "%s may be imported but not called", NAMETXT));
    return judge_call_constraints(j, ev, c, e);
#undef CALLTXT
#undef NAMETXT
}

static int judge_made_by(judge *j, const brine_vm_event *ev, int perm, const brine_value *maker, const brine_allow *e,
                         const brine_value *margs);

/* BUILD and items on an object: the permission belongs to what made it. */
static int judge_target(judge *j, const brine_vm_event *ev, int perm)
{
    const brine_value *t = ev->target;
    const char *what = perm == BRINE_PERM_BUILD ? "BUILD" : "adding items";
    if (t->kind == BRINE_V_GLOBAL && !t->dynamic)
        return report(j, ev, "state-on-global", NULL, BRINE_VERDICT_DANGEROUS, BRINE_SEVERITY_CRITICAL, render(j, t), "",
                      perm == BRINE_PERM_BUILD ? "BUILD on a global" : "items on a global",
                      fmt(j, "%s on %s itself changes a module, function or class that later code runs", what,
                          render(j, t)));
    if (t->kind != BRINE_V_CALL && t->kind != BRINE_V_NEW) {
        bool bad = t->kind == BRINE_V_EXT || t->kind == BRINE_V_GLOBAL;
        return report(j, ev, "unknown-target", NULL, bad ? BRINE_VERDICT_DANGEROUS : BRINE_VERDICT_SUSPICIOUS,
                      bad ? BRINE_SEVERITY_HIGH : BRINE_SEVERITY_MEDIUM, "", render(j, t), "not on the allowlist",
                      fmt(j, "%s on %s, an object of unknown type", what, render(j, t)));
    }
    const brine_value *raw = resolve_persid(j, t->u.c.callee);
    /* made by an interned global that is not functools.partial (most
     * objects): for a global, new_of, the partial object and as_global are
     * no-ops, and its entry is found by address */
    verdict_cache *vc = interned_entry(j, raw);
    if (vc) {
        if (!vc->maker)
            vc->maker = is_partial_type(raw) ? 2 : 1;
        if (vc->maker == 1)
            return judge_made_by(j, ev, perm, raw, vc->allow, t->u.c.args);
    }
    if (is_partial_type(as_global(j, raw))) {
        /* partial.__setstate__((f, args, kw, dict)): the partial of that */
        const brine_value *f, *a, *kw;
        if (perm == BRINE_PERM_BUILD) {
            if (partial_state(ev->args, &f, &a, &kw))
                return judge_partial_func(j, ev, f, a, kw);
            return report(j, ev, "partial-state", NULL, BRINE_VERDICT_DANGEROUS, BRINE_SEVERITY_HIGH, "functools:partial",
                          render(j, t), "functools.partial state",
                          fmt(j, "BUILD state %s for a functools.partial is not a (function, args, kwargs, dict) tuple "
                                 "brine can read: the function it will call is unknown",
                              render(j, ev->args)));
        }
    }
    /* the result of C.__new__(C, ...), or of calling a partial: made by C, or by the partial's function */
    const brine_value *made_by = t->kind == BRINE_V_CALL ? new_of(j, raw, t->u.c.args) : NULL;
    const brine_value *margs = t->u.c.args; /* the maker's arguments (a factory's first names the class) */
    if (!made_by && t->kind == BRINE_V_CALL && is_partial_obj(j, raw)) {
        const brine_value *f, *a, *kw;
        if (partial_parts(j, raw, &f, &a, &kw)) {
            made_by = new_of(j, f, a);
            if (!made_by) {
                made_by = as_global(j, resolve_persid(j, f));
                margs = a; /* the bound ones come first (REDUCE's own are seldom any) */
                if (t->u.c.args && t->u.c.args->kind == BRINE_V_TUPLE && t->u.c.args->u.seq.len && !a->u.seq.len)
                    margs = t->u.c.args;
            }
        }
    }
    const brine_value *maker = made_by ? made_by : as_global(j, raw);
    if (maker->kind != BRINE_V_GLOBAL || maker->dynamic)
        return report(j, ev, "unknown-target", NULL, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, "", render(j, t),
                      "not on the allowlist", fmt(j, "%s on the result of a computed call", what));
    return judge_made_by(j, ev, perm, maker, allowed(j, maker), margs);
}

/* BUILD or items on t = ev->target, an object made by global maker (whose
 * entry is e) with arguments margs */
static int judge_made_by(judge *j, const brine_vm_event *ev, int perm, const brine_value *maker, const brine_allow *e,
                         const brine_value *margs)
{
    const brine_value *t = ev->target;
    const char *what = perm == BRINE_PERM_BUILD ? "BUILD" : "adding items";
    /* a factory (copyreg._reconstructor, numpy's _reconstruct, ...) returns an
     * instance of its first argument: that class's entry decides */
    for (int hops = 0; e && e->factory && hops < 4 && t->kind == BRINE_V_CALL && margs && margs->kind == BRINE_V_TUPLE &&
                       margs->u.seq.len >= 1;
         hops++) {
        const brine_value *cls = margs->u.seq.items[0];
        if (cls->kind != BRINE_V_GLOBAL || cls->dynamic)
            break;
        maker = cls;
        e = allowed(j, maker);
        break;
    }
    /* names are rendered only for findings: most BUILDs are allowed */
#define NAMETXT render(j, maker)
    if (!e || !(e->perms & perm) || !global_allows(j, maker, BRINE_PERM_IMPORT))
        return report(j, ev, "no-permission", e ? &e->where : NULL, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, NAMETXT, render(j, t),
                      e ? fmt(j, "allow %s:%s (%s, %s:%u) without %s", e->module, e->name, e->where.pack,
                              e->where.file, e->where.line, perm == BRINE_PERM_BUILD ? "build" : "items")
                        : "not on the allowlist",
                      fmt(j, "%s on an object made by %s is not allowed", what, NAMETXT));
    if (perm == BRINE_PERM_BUILD && e->builds) {
        for (const brine_buildrule *b = e->builds; b; b = b->next)
            if (match_constraint(j, b->state, ev->args))
                return 0;
        return report(j, ev, "build-constraint", &e->where, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, NAMETXT, render(j, t),
                      fmt(j, "allow %s:%s (%s, %s:%u) build constraint", e->module, e->name, e->where.pack,
                          e->where.file, e->where.line),
                      fmt(j, "BUILD state %s for an object made by %s does not satisfy the policy%s",
                          render(j, ev->args), NAMETXT, over_budget(j)));
    }
    return 0;
#undef NAMETXT
}

static int judge_persid(judge *j, const brine_vm_event *ev)
{
    for (const brine_persid_rule *r = j->p->persids; r; r = r->next)
        if (match_constraint(j, r->match, ev->target))
            return 0;
    return report(j, ev, "persistent-id", NULL, BRINE_VERDICT_DANGEROUS, BRINE_SEVERITY_HIGH, "", render(j, ev->target),
                  "persistent id shape",
                  fmt(j, "persistent id %s fits no persistent_ids shape of the policy%s", render(j, ev->target),
                      over_budget(j)));
}

static int on_event(void *user, const brine_vm_event *ev)
{
    judge *j = user;
    brine_arena_reset(&j->scratch);
    switch (ev->kind) {
    case BRINE_EV_IMPORT: return judge_import(j, ev);
    case BRINE_EV_DYNAMIC_IMPORT: {
        char num[32];
        return report(j, ev, "dynamic-import", NULL, BRINE_VERDICT_DANGEROUS, BRINE_SEVERITY_CRITICAL, "", "", "dynamic import",
                      fmt(j, "import whose module or name is computed at load time (%s)",
                          brine_event_detail(&j->scratch, ev, num, sizeof num)));
    }
    case BRINE_EV_CALL: return judge_call(j, ev);
    case BRINE_EV_BUILD: return judge_target(j, ev, BRINE_PERM_BUILD);
    case BRINE_EV_ITEMS: return judge_target(j, ev, BRINE_PERM_ITEMS);
    case BRINE_EV_PERSID: return judge_persid(j, ev);
    case BRINE_EV_EXT:
        return report(j, ev, "extension-code", NULL, BRINE_VERDICT_DANGEROUS, BRINE_SEVERITY_HIGH, "", "", "extension code",
                      fmt(j, "extension code %" PRId64 ": copyreg's registry, which earlier code can fill, decides "
                             "what is imported",
                          ev->number));
    case BRINE_EV_ANOMALY:
        return report(j, ev, "anomaly", NULL, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_LOW, "", "", "anomaly",
                      fmt(j, "%s", ev->message));
    case BRINE_EV_TRAILING:
        return report(j, ev, "trailing-data", NULL, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_LOW, "", "", "trailing data",
                      fmt(j, "%" PRId64 " bytes after the last STOP are not a pickle and were not analysed",
                          ev->number));
    default: return 0;
    }
}


/* ---- the consumer ------------------------------------------------------------------ */

/* Every use of a global goes to the inventory callback, judged or not. */
static int inventory(judge *j, const brine_vm_event *ev)
{
    if (!j->cb || !j->cb->global || j->stopped || ev->offset < j->report_from)
        return 0;
    const brine_value *g = ev->target;
    brine_use use;
    switch (ev->kind) {
    case BRINE_EV_IMPORT: use = BRINE_USE_IMPORT; break;
    case BRINE_EV_CALL: use = BRINE_USE_CALL; break;
    case BRINE_EV_BUILD: use = BRINE_USE_BUILD; break;
    case BRINE_EV_ITEMS: use = BRINE_USE_ITEMS; break;
    default: return 0;
    }
    if (use >= BRINE_USE_BUILD) { /* the permission belongs to what made the object */
        if (g->kind != BRINE_V_CALL && g->kind != BRINE_V_NEW)
            return 0;
        g = g->u.c.callee;
    }
    if (!g || g->kind != BRINE_V_GLOBAL || g->dynamic)
        return 0;
    /* rendered once per distinct name: a pickle of a million objects of one class */
    verdict_cache *vc = (verdict_cache *)policy_says(j, g);
    if (vc && j->d->global_once) {
        if (vc->told & (1u << use))
            return 0;
        vc->told |= (uint8_t)(1u << use);
    }
    const char *text = vc ? vc->text : NULL;
    if (!text) {
        text = render(j, g);
        if (vc && text && (vc->text = strdup(text)))
            text = vc->text; /* the same address for every use: the binding's records share it */
    }
    if (j->cb->global(j->user, &j->where, text, use)) {
        j->stopped = j->d->stopped = true;
        return -1;
    }
    return 0;
}

static int judge_event(void *state, const brine_vm_event *ev)
{
    judge *j = state;
    int r = on_event(j, ev);
    if (r == 0)
        r = inventory(j, ev);
    return r;
}

static void *judge_begin(void *self, brine_drv *d, const brine_loc *loc, const uint8_t *data, size_t len,
                         size_t start, uint64_t report_from)
{
    (void)self;
    (void)data;
    judge *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->p = d->policy;
    j->d = d;
    j->loc = loc;
    j->report_from = report_from;
    j->base = start;
    j->cb = d->cb;
    j->user = d->user;
    j->match_left = brine_compare_budget(d->s, len);
    brine_loc_public(loc, &j->where, j->steps, 64);
    brine_arena_init(&j->scratch, 1 << 20);
    return j;
}

static void judge_end(void *state, const brine_vm_result *res, brine_verdict *verdict, uint64_t *findings)
{
    (void)res;
    judge *j = state;
    *verdict = j->verdict;
    *findings = j->findings;
    brine_arena_free(&j->scratch);
    free(j->seen);
    cache_free(j);
    free(j);
}

const brine_consumer brine_judge_consumer = {
    .self = NULL, .begin = judge_begin, .event = judge_event, .trace = NULL, .end = judge_end, .all_readings = true, .kinds = true,
};
