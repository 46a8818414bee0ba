/* brine learn: the smallest allowlist admitting a set of trusted files, and
 * `policy show`: the merged policy written back as YAML. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "policy.h"

/* ---- a small YAML writer (flow style for constraints) ----------------------- */

typedef struct out {
    brine_write_fn fn;
    void *user;
    bool stopped;
} out;

static void put(out *o, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *f, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    if (n < 0 || o->stopped)
        return;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    if (o->fn(o->user, buf, (size_t)n))
        o->stopped = true;
}

/* A YAML double-quoted string (safe for any bytes). */
static void put_q(out *o, const char *s, size_t n)
{
    put(o, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            put(o, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            put(o, "\\x%02x", c);
        else
            put(o, "%c", c);
    }
    put(o, "\"");
}

static void put_constraint(out *o, const brine_constraint *c)
{
    static const char *const perms[] = {"", "import", "call", "", "build", "", "", "", "items"};
    switch (c->kind) {
    case BRINE_C_ANY: put(o, "{any: true}"); return;
    case BRINE_C_CONST: put(o, "{const: true}"); return;
    case BRINE_C_TYPE: {
        static const char *const names[] = {"none", "bool", "int", "int", "float", "str", "bytes", "bytearray",
                                            "bytes", "tuple", "list", "dict", "set", "frozenset", "global",
                                            "object", "object", "object", "object"};
        put(o, "{type: [");
        const char *last = NULL;
        bool first = true;
        for (unsigned k = 0; k < sizeof names / sizeof names[0]; k++) {
            if (!(c->types & (1u << k)) || (last && strcmp(last, names[k]) == 0))
                continue;
            put(o, "%s%s", first ? "" : ", ", names[k]);
            last = names[k];
            first = false;
        }
        put(o, "]}");
        return;
    }
    case BRINE_C_VALUES:
        put(o, "{values: [");
        for (size_t i = 0; i < c->nvalues; i++) {
            const brine_scalar *s = &c->values[i];
            if (i)
                put(o, ", ");
            switch (s->kind) {
            case BRINE_V_NONE: put(o, "null"); break;
            case BRINE_V_BOOL: put(o, s->i ? "true" : "false"); break;
            case BRINE_V_INT: put(o, "%" PRId64, s->i); break;
            case BRINE_V_FLOAT: put(o, "%.17g", s->f); break;
            default: put_q(o, s->s, s->n);
            }
        }
        put(o, "]}");
        return;
    case BRINE_C_GLOBAL: put(o, "{global: %s}", perms[c->perm]); return;
    case BRINE_C_TUPLE:
    case BRINE_C_ONE_OF:
        put(o, "{%s: [", c->kind == BRINE_C_TUPLE ? "tuple" : "one_of");
        for (size_t i = 0; i < c->nkids; i++) {
            if (i)
                put(o, ", ");
            put_constraint(o, c->kids[i]);
        }
        put(o, "]}");
        return;
    }
}

int brine_policy_write(const brine_policy *p, brine_write_fn fn, void *user)
{
    if (!p || !fn)
        return BRINE_ERR_INVALID;
    out o = {fn, user, false};
    put(&o, "# The effective policy, merged from these packs (in load order):\n");
    for (const brine_pack *pk = p->packs; pk; pk = pk->next)
        put(&o, "#   %s (%s)%s%s\n", pk->name, pk->file, pk->description ? ": " : "",
            pk->description ? pk->description : "");
    put(&o, "pack: effective\nallow:\n");
    for (const brine_allow *e = p->allows; e; e = e->next) {
        put(&o, "  - name: ");
        char name[1024];
        int n = snprintf(name, sizeof name, "%s:%s", e->module, e->name);
        put_q(&o, name, (size_t)(n < (int)sizeof name ? n : (int)sizeof name - 1));
        put(&o, "  # %s, %s:%u\n", e->where.pack, e->where.file, e->where.line);
        if (e->perms & BRINE_PERM_CALL) {
            if (!e->calls) {
                put(&o, "    call: true\n");
            } else {
                for (const brine_callrule *r = e->calls; r; r = r->next) {
                    put(&o, "    call: {");
                    bool any = false;
                    if (r->arity_min >= 0) {
                        if (r->arity_min == r->arity_max)
                            put(&o, "arity: %" PRId64, r->arity_min);
                        else
                            put(&o, "arity: [%" PRId64 ", %" PRId64 "]", r->arity_min, r->arity_max);
                        any = true;
                    }
                    if (r->nargs) {
                        put(&o, "%sargs: [", any ? ", " : "");
                        for (size_t i = 0; i < r->nargs; i++) {
                            if (i)
                                put(&o, ", ");
                            put_constraint(&o, r->args[i]);
                        }
                        put(&o, "]");
                        any = true;
                    }
                    if (r->kwargs)
                        put(&o, "%skwargs: true", any ? ", " : "");
                    put(&o, "}%s\n", r->next ? "  # alternative" : "");
                }
            }
        }
        if (e->perms & BRINE_PERM_BUILD) {
            if (!e->builds) {
                put(&o, "    build: true\n");
            } else {
                for (const brine_buildrule *b = e->builds; b; b = b->next) {
                    put(&o, "    build: ");
                    put_constraint(&o, b->state);
                    put(&o, "\n");
                }
            }
        }
        if (e->perms & BRINE_PERM_ITEMS)
            put(&o, "    items: true\n");
        if (e->factory)
            put(&o, "    factory: true\n");
    }
    put(&o, "persistent_ids:%s\n", p->persids ? "" : " []");
    for (const brine_persid_rule *r = p->persids; r; r = r->next) {
        put(&o, "  - name: ");
        put_q(&o, r->name, strlen(r->name));
        put(&o, "\n    match: ");
        put_constraint(&o, r->match);
        put(&o, "\n");
        if (r->resolves_to >= 0)
            put(&o, "    resolves_to: %" PRId64 "\n", r->resolves_to);
    }
    put(&o, "deny:%s\n", p->denies ? "" : " []");
    for (const brine_deny *d = p->denies; d; d = d->next) {
        if (d->name) {
            char name[1024];
            int n = snprintf(name, sizeof name, "%s:%s", d->module, d->name);
            put(&o, "  - name: ");
            put_q(&o, name, (size_t)(n < (int)sizeof name ? n : (int)sizeof name - 1));
        } else {
            put(&o, "  - module: ");
            put_q(&o, d->module, strlen(d->module));
            if (d->submodules)
                put(&o, "\n    submodules: true");
        }
        put(&o, "\n    severity: %s\n    reason: ", brine_severity_name(d->severity));
        put_q(&o, d->reason, strlen(d->reason));
        put(&o, "\n");
    }
    put(&o, "dunder_components:%s\n", p->ndunders ? "" : " []");
    for (size_t i = 0; i < p->ndunders; i++)
        put(&o, "  - %s\n", p->dunders[i]);
    return o.stopped ? BRINE_ERR_CALLBACK : 0;
}

/* ---- learning ------------------------------------------------------------------- */

typedef struct learned {
    char *module, *name; /* malloc'd */
    int perms;
    int64_t amin, amax;
    bool kwargs;
    bool factory; /* the knowledge policy says its result is an instance of its first argument */
    struct learned *next;
} learned;

typedef struct refused {
    char *what;
    struct refused *next;
} refused;

struct brine_learner {
    const brine_policy *knowledge;
    learned *names;
    refused *refusals;
    char **shapes; /* persistent id shapes, rendered as YAML constraints */
    size_t nshapes;
    uint64_t files;
};

int brine_learner_create(brine_learner **outp, const brine_policy *knowledge)
{
    if (!outp || !knowledge)
        return BRINE_ERR_INVALID;
    *outp = calloc(1, sizeof **outp);
    if (!*outp)
        return BRINE_ERR_NOMEM;
    (*outp)->knowledge = knowledge;
    return 0;
}

void brine_learner_destroy(brine_learner *l)
{
    if (!l)
        return;
    for (learned *n = l->names, *next; n; n = next) {
        next = n->next;
        free(n->module);
        free(n->name);
        free(n);
    }
    for (refused *r = l->refusals, *next; r; r = next) {
        next = r->next;
        free(r->what);
        free(r);
    }
    for (size_t i = 0; i < l->nshapes; i++)
        free(l->shapes[i]);
    free(l->shapes);
    free(l);
}

static char *strndup_(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

static void refuse(brine_learner *l, const char *what)
{
    for (refused *r = l->refusals; r; r = r->next)
        if (strcmp(r->what, what) == 0)
            return;
    refused *r = calloc(1, sizeof *r);
    if (!r)
        return;
    r->what = strdup(what);
    refused **t = &l->refusals;
    while (*t)
        t = &(*t)->next;
    *t = r;
}

typedef struct {
    brine_learner *l;
    brine_arena scratch;
} lctx;

/* Record a use of a global; refuse what the deny knowledge or dunder list knows. */
static learned *note(lctx *c, const brine_value *g, int perm)
{
    brine_learner *l = c->l;
    if (g->kind != BRINE_V_GLOBAL || g->dynamic) {
        char buf[400];
        snprintf(buf, sizeof buf, "a %s of %s, which is not a global reference",
                 perm == BRINE_PERM_CALL ? "call" : "use", brine_value_render(&c->scratch, g, 200));
        refuse(l, buf);
        return NULL;
    }
    const brine_value *m = g->u.g.module, *n = g->u.g.name;
    const brine_deny *d = brine_policy_denied(l->knowledge, m->u.s.p, m->u.s.n, n->u.s.p, n->u.s.n);
    const char *du = brine_policy_dunder(l->knowledge, m->u.s.p, m->u.s.n, n->u.s.p, n->u.s.n);
    if (d || du) {
        char buf[600];
        snprintf(buf, sizeof buf, "%s: %s", brine_value_render(&c->scratch, g, 200),
                 d ? d->reason : "a dunder component reaches interpreter internals");
        refuse(l, buf);
        return NULL;
    }
    for (learned *e = l->names; e; e = e->next)
        if (strlen(e->module) == m->u.s.n && memcmp(e->module, m->u.s.p, m->u.s.n) == 0 &&
            strlen(e->name) == n->u.s.n && memcmp(e->name, n->u.s.p, n->u.s.n) == 0) {
            e->perms |= perm;
            return e;
        }
    learned *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->module = strndup_(m->u.s.p, m->u.s.n);
    e->name = strndup_(n->u.s.p, n->u.s.n);
    e->perms = BRINE_PERM_IMPORT | perm;
    e->amin = e->amax = -1;
    learned **t = &l->names;
    while (*t)
        t = &(*t)->next;
    *t = e;
    return e;
}

static void shape_of(const brine_value *v, int pos, char *buf, size_t n)
{
    switch (v->kind) {
    case BRINE_V_STR:
        if (pos == 0 && v->u.s.n < 64) {
            char text[64];
            size_t k = 0;
            for (size_t i = 0; i < v->u.s.n; i++) {
                char c = (char)v->u.s.p[i];
                text[k++] = (c == '"' || c == '\\' || (unsigned char)c < 0x20 || (unsigned char)c >= 0x7f) ? '?' : c;
            }
            text[k] = 0;
            snprintf(buf, n, "{values: [\"%s\"]}", text);
        } else {
            snprintf(buf, n, "{type: str}");
        }
        return;
    case BRINE_V_GLOBAL: snprintf(buf, n, "{global: import}"); return;
    case BRINE_V_INT: case BRINE_V_BIGINT: snprintf(buf, n, "{type: int}"); return;
    case BRINE_V_NONE: snprintf(buf, n, "{type: none}"); return;
    case BRINE_V_TUPLE: {
        size_t k = (size_t)snprintf(buf, n, "{tuple: [");
        for (uint32_t i = 0; i < v->u.seq.len && k < n; i++) {
            char sub[256];
            shape_of(v->u.seq.items[i], (int)i, sub, sizeof sub);
            k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "", sub);
        }
        if (k < n)
            snprintf(buf + k, n - k, "]}");
        return;
    }
    default: snprintf(buf, n, "{any: true}");
    }
}

static int learn_event(void *user, const brine_vm_event *ev)
{
    lctx *c = user;
    brine_learner *l = c->l;
    brine_arena_free(&c->scratch);
    brine_arena_init(&c->scratch, 1 << 20);
    switch (ev->kind) {
    case BRINE_EV_IMPORT: note(c, ev->target, BRINE_PERM_IMPORT); break;
    case BRINE_EV_CALL: {
        learned *e = note(c, ev->target, BRINE_PERM_CALL);
        if (e && ev->args->kind == BRINE_V_TUPLE) {
            int64_t n = ev->args->u.seq.len;
            if (e->amin < 0 || n < e->amin)
                e->amin = n;
            if (n > e->amax)
                e->amax = n;
        }
        if (e && ev->kwargs && !(ev->kwargs->kind == BRINE_V_DICT && !ev->kwargs->u.dict.keys.len))
            e->kwargs = true;
        break;
    }
    case BRINE_EV_BUILD:
    case BRINE_EV_ITEMS: {
        const brine_value *t = ev->target;
        int perm = ev->kind == BRINE_EV_BUILD ? BRINE_PERM_BUILD : BRINE_PERM_ITEMS;
        if (t->kind == BRINE_V_CALL || t->kind == BRINE_V_NEW) {
            const brine_value *maker = t->u.c.callee;
            if (maker->kind == BRINE_V_GLOBAL && !maker->dynamic && t->kind == BRINE_V_CALL &&
                t->u.c.args->kind == BRINE_V_TUPLE && t->u.c.args->u.seq.len >= 1 &&
                t->u.c.args->u.seq.items[0]->kind == BRINE_V_GLOBAL && !t->u.c.args->u.seq.items[0]->dynamic) {
                const brine_allow *e = brine_policy_find(l->knowledge, maker->u.g.module->u.s.p, maker->u.g.module->u.s.n,
                                                         maker->u.g.name->u.s.p, maker->u.g.name->u.s.n);
                if (e && e->factory) {
                    learned *f = note(c, maker, BRINE_PERM_CALL);
                    if (f)
                        f->factory = true;
                    maker = t->u.c.args->u.seq.items[0]; /* an instance of its first argument */
                }
            }
            note(c, maker, perm);
        } else {
            char buf[300];
            snprintf(buf, sizeof buf, "%s on %s", perm == BRINE_PERM_BUILD ? "BUILD" : "items",
                     brine_value_render(&c->scratch, t, 200));
            refuse(l, buf);
        }
        break;
    }
    case BRINE_EV_PERSID: {
        char buf[1024];
        shape_of(ev->target, 0, buf, sizeof buf);
        for (size_t i = 0; i < l->nshapes; i++)
            if (strcmp(l->shapes[i], buf) == 0)
                return 0;
        char **n = realloc(l->shapes, (l->nshapes + 1) * sizeof *n);
        if (!n)
            return 0;
        l->shapes = n;
        l->shapes[l->nshapes] = strdup(buf);
        if (l->shapes[l->nshapes])
            l->nshapes++;
        break;
    }
    case BRINE_EV_DYNAMIC_IMPORT: refuse(l, "a dynamic import (module or name computed at load time)"); break;
    case BRINE_EV_EXT: refuse(l, "an extension code (EXT1/EXT2/EXT4)"); break;
    default: break;
    }
    return 0;
}

/* The learner as a consumer of the driver's streams: `brine learn model.pt`
 * learns what every pickle of the checkpoint uses. */
static void *learn_begin(void *self, brine_drv *d, const brine_loc *loc, const uint8_t *data, size_t len, size_t start,
                         uint64_t report_from)
{
    (void)d, (void)loc, (void)data, (void)len, (void)start, (void)report_from;
    lctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->l = self;
    brine_arena_init(&c->scratch, 1 << 20);
    return c;
}

static void learn_end(void *state, const brine_vm_result *res, brine_verdict *verdict, uint64_t *findings)
{
    (void)res;
    lctx *c = state;
    *verdict = BRINE_VERDICT_SAFE;
    *findings = 0;
    brine_arena_free(&c->scratch);
    free(c);
}

brine_consumer brine_learn_consumer(brine_learner *l)
{
    brine_consumer k = {.self = l, .begin = learn_begin, .event = learn_event, .end = learn_end, .all_readings = true};
    return k;
}

int brine_learner_write(const brine_learner *l, brine_write_fn fn, void *user, size_t *nrefused)
{
    if (!l || !fn)
        return BRINE_ERR_INVALID;
    out o = {fn, user, false};
    put(&o, "# Learned by brine learn from %" PRIu64 " file(s): the names they use and nothing else.\n", l->files);
    put(&o, "pack: learned\nallow:%s\n", l->names ? "" : " []");
    for (const learned *e = l->names; e; e = e->next) {
        char name[1024];
        int n = snprintf(name, sizeof name, "%s:%s", e->module, e->name);
        put(&o, "  - name: ");
        put_q(&o, name, (size_t)(n < (int)sizeof name ? n : (int)sizeof name - 1));
        put(&o, "\n");
        if (e->perms & BRINE_PERM_CALL) {
            if (e->amin < 0)
                put(&o, "    call: true\n");
            else if (e->amin == e->amax)
                put(&o, "    call: {arity: %" PRId64 "%s}\n", e->amin, e->kwargs ? ", kwargs: true" : "");
            else
                put(&o, "    call: {arity: [%" PRId64 ", %" PRId64 "]%s}\n", e->amin, e->amax,
                    e->kwargs ? ", kwargs: true" : "");
        }
        if (e->perms & BRINE_PERM_BUILD)
            put(&o, "    build: true\n");
        if (e->perms & BRINE_PERM_ITEMS)
            put(&o, "    items: true\n");
        if (e->factory)
            put(&o, "    factory: true\n");
    }
    if (l->nshapes) {
        put(&o, "persistent_ids:\n");
        for (size_t i = 0; i < l->nshapes; i++)
            put(&o, "  - name: learned-%zu\n    match: %s\n", i + 1, l->shapes[i]);
    }
    size_t k = 0;
    for (const refused *r = l->refusals; r; r = r->next, k++) {
        if (!k)
            put(&o, "# Refused, never allowed (known to run code, or not expressible as an allowance):\n");
        put(&o, "#   %s\n", r->what);
    }
    if (nrefused)
        *nrefused = k;
    return o.stopped ? BRINE_ERR_CALLBACK : 0;
}

void brine_learner_count_file(brine_learner *l)
{
    l->files++;
}

const brine_policy *brine_learner_knowledge(const brine_learner *l)
{
    return l->knowledge;
}

/* ---- the identity of a policy ----------------------------------------------------- */

typedef struct {
    uint64_t h;    /* FNV-1a, 64 bits, over the effective policy's text */
    bool comment;  /* inside a '#' comment: where an entry came from (a file
                      path, a line) is not part of what the policy says */
    bool quoted;
} hasher;

static int hash_text(void *user, const char *text, size_t len)
{
    hasher *hs = user;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (ch == '\n')
            hs->comment = hs->quoted = false;
        else if (ch == '"' && !hs->comment)
            hs->quoted = !hs->quoted;
        else if (ch == '#' && !hs->quoted)
            hs->comment = true;
        if (hs->comment)
            continue;
        hs->h ^= (uint8_t)ch;
        hs->h *= 0x100000001b3ull;
    }
    return 0;
}

int brine_policy_identity(const brine_policy *p, char hex[17], char *packs, size_t packs_size)
{
    if (!p)
        return BRINE_ERR_INVALID;
    if (hex && p->identity) { /* precomputed (the embedded default policy) */
        snprintf(hex, 17, "%s", p->identity);
    } else if (hex) {
        /* what the policy admits and denies, not where it came from: the
         * same YAML at two paths is the same policy, and any change to what
         * a pack admits or denies changes the identity */
        hasher hs = {0xcbf29ce484222325ull, false, false};
        int r = brine_policy_write(p, hash_text, &hs);
        if (r < 0)
            return r;
        snprintf(hex, 17, "%016" PRIx64, hs.h);
    }
    if (packs && packs_size) {
        size_t k = 0;
        packs[0] = 0;
        for (const brine_pack *pk = p->packs; pk; pk = pk->next) {
            int n = snprintf(packs + k, packs_size - k, "%s%s", k ? "," : "", pk->name);
            if (n < 0 || (size_t)n >= packs_size - k)
                break;
            k += (size_t)n;
        }
    }
    return 0;
}
