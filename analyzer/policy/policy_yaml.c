/* Policy files: YAML (libyaml's document API) -> the compiled policy.
 * The only user of libyaml, which is opened on first need (lazylib.h): the
 * default policy is compiled at build time, so only a --policy file loads it. Every error names file:line:column
 * and what was expected; unknown keys are errors. The language is described
 * in doc/policy.md. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lazylib.h"
#include "policy.h"

typedef struct loader {
    brine_policy *p;
    brine_diag *diag;
    const char *file;      /* display name of the file being read */
    const char *packname;
    yaml_document_t *doc;
    const brine_libyaml *Y; /* libyaml's functions */
    char **loaded;         /* pack names and paths already loaded */
    size_t nloaded;
    int depth;
} loader;

static int errf(loader *L, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int errf(loader *L, const yaml_node_t *n, const char *fmt, ...)
{
    if (L->diag) {
        int k = snprintf(L->diag->message, sizeof L->diag->message, "%s:%lu:%lu: ", L->file,
                         n ? (unsigned long)n->start_mark.line + 1 : 1UL,
                         n ? (unsigned long)n->start_mark.column + 1 : 1UL);
        va_list ap;
        va_start(ap, fmt);
        if (k > 0 && (size_t)k < sizeof L->diag->message)
            vsnprintf(L->diag->message + k, sizeof L->diag->message - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return BRINE_ERR_POLICY;
}

static char *adup(loader *L, const char *s, size_t n)
{
    char *c = brine_arena_alloc(&L->p->arena, n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = 0;
    }
    return c;
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE: return "a scalar";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}

static yaml_node_t *node(loader *L, int idx)
{
    return L->Y->yaml_document_get_node(L->doc, idx);
}

static bool scalar_is(const yaml_node_t *n, const char *s)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
           memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

static bool plain(const yaml_node_t *n)
{
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static int want_string(loader *L, const yaml_node_t *n, const char *what, char **out)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.length == 0)
        return errf(L, n, "expected %s (a non-empty string), found %s", what, node_kind(n));
    *out = adup(L, (const char *)n->data.scalar.value, n->data.scalar.length);
    return *out ? 0 : BRINE_ERR_NOMEM;
}

static int want_bool(loader *L, const yaml_node_t *n, const char *what, bool *out)
{
    if (n->type == YAML_SCALAR_NODE && plain(n)) {
        if (scalar_is(n, "true") || scalar_is(n, "True") || scalar_is(n, "yes")) {
            *out = true;
            return 0;
        }
        if (scalar_is(n, "false") || scalar_is(n, "False") || scalar_is(n, "no")) {
            *out = false;
            return 0;
        }
    }
    return errf(L, n, "expected true or false for %s", what);
}

static int want_int(loader *L, const yaml_node_t *n, const char *what, int64_t *out)
{
    if (n->type == YAML_SCALAR_NODE && plain(n) && n->data.scalar.length < 20) {
        char buf[24];
        memcpy(buf, n->data.scalar.value, n->data.scalar.length);
        buf[n->data.scalar.length] = 0;
        char *end;
        errno = 0;
        long long v = strtoll(buf, &end, 10);
        if (!errno && *end == 0 && buf[0] && v >= 0) {
            *out = v;
            return 0;
        }
    }
    return errf(L, n, "expected a non-negative integer for %s", what);
}

/* Iterate over a mapping with a fixed set of allowed keys. */
typedef int (*key_fn)(loader *L, const yaml_node_t *key, yaml_node_t *value, void *ctx);

static int each_key(loader *L, const yaml_node_t *map, const char *what, const char *const *keys, key_fn fn, void *ctx)
{
    if (map->type != YAML_MAPPING_NODE)
        return errf(L, map, "expected %s (a mapping), found %s", what, node_kind(map));
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node(L, pr->key), *v = node(L, pr->value);
        if (!k || !v || k->type != YAML_SCALAR_NODE)
            return errf(L, k, "expected a key (a string) in %s", what);
        bool ok = false;
        for (size_t i = 0; keys[i]; i++)
            ok |= scalar_is(k, keys[i]);
        if (!ok) {
            char list[256] = "";
            for (size_t i = 0; keys[i]; i++) {
                strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, keys[i], sizeof list - strlen(list) - 1);
            }
            return errf(L, k, "unknown key '%.*s' in %s (expected one of: %s)", (int)k->data.scalar.length,
                        k->data.scalar.value, what, list);
        }
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pr; q++)
            if (scalar_is(node(L, q->key), (const char *)k->data.scalar.value) &&
                node(L, q->key)->data.scalar.length == k->data.scalar.length)
                return errf(L, k, "duplicate key '%.*s' in %s", (int)k->data.scalar.length, k->data.scalar.value, what);
        int r = fn(L, k, v, ctx);
        if (r)
            return r;
    }
    return 0;
}

/* ---- constraints ----------------------------------------------------------- */

static const struct {
    const char *name;
    uint32_t bits;
} type_names[] = {
    {"none", 1u << BRINE_V_NONE},
    {"bool", 1u << BRINE_V_BOOL},
    {"int", (1u << BRINE_V_INT) | (1u << BRINE_V_BIGINT)},
    {"float", 1u << BRINE_V_FLOAT},
    {"str", 1u << BRINE_V_STR},
    {"bytes", (1u << BRINE_V_BYTES) | (1u << BRINE_V_MEMORYVIEW)},
    {"bytearray", 1u << BRINE_V_BYTEARRAY},
    {"tuple", 1u << BRINE_V_TUPLE},
    {"list", 1u << BRINE_V_LIST},
    {"dict", 1u << BRINE_V_DICT},
    {"set", 1u << BRINE_V_SET},
    {"frozenset", 1u << BRINE_V_FROZENSET},
    {"global", 1u << BRINE_V_GLOBAL},
    {"object", (1u << BRINE_V_CALL) | (1u << BRINE_V_NEW) | (1u << BRINE_V_PERSID) | (1u << BRINE_V_EXT)},
};

static int parse_constraint(loader *L, yaml_node_t *n, const char *what, brine_constraint **out);

static int parse_type_name(loader *L, const yaml_node_t *n, uint32_t *bits)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (scalar_is(n, type_names[i].name)) {
            *bits |= type_names[i].bits;
            return 0;
        }
    return errf(L, n, "expected a type name (none bool int float str bytes bytearray tuple list dict set frozenset "
                      "global object)");
}

static int parse_scalar(loader *L, const yaml_node_t *n, brine_scalar *s)
{
    if (n->type != YAML_SCALAR_NODE)
        return errf(L, n, "expected a scalar value, found %s", node_kind(n));
    const char *t = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    memset(s, 0, sizeof *s);
    if (plain(n)) {
        if (scalar_is(n, "null") || scalar_is(n, "~")) {
            s->kind = BRINE_V_NONE;
            return 0;
        }
        if (scalar_is(n, "true") || scalar_is(n, "false")) {
            s->kind = BRINE_V_BOOL;
            s->i = scalar_is(n, "true");
            return 0;
        }
        char buf[64];
        if (len && len < sizeof buf) {
            memcpy(buf, t, len);
            buf[len] = 0;
            char *end;
            errno = 0;
            long long v = strtoll(buf, &end, 10);
            if (!errno && *end == 0) {
                s->kind = BRINE_V_INT;
                s->i = v;
                return 0;
            }
            double d = strtod(buf, &end);
            if (*end == 0 && strpbrk(buf, ".eE")) {
                s->kind = BRINE_V_FLOAT;
                s->f = d;
                return 0;
            }
        }
    }
    s->kind = BRINE_V_STR;
    s->s = adup(L, t, len);
    s->n = len;
    return s->s ? 0 : BRINE_ERR_NOMEM;
}

static int parse_list(loader *L, yaml_node_t *n, const char *what, brine_constraint ***out, size_t *nout)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return errf(L, n, "expected a list of constraints for %s, found %s", what, node_kind(n));
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    *out = brine_arena_alloc(&L->p->arena, (cnt ? cnt : 1) * sizeof **out);
    if (!*out)
        return BRINE_ERR_NOMEM;
    *nout = cnt;
    for (size_t i = 0; i < cnt; i++) {
        int r = parse_constraint(L, node(L, n->data.sequence.items.start[i]), what, &(*out)[i]);
        if (r)
            return r;
    }
    return 0;
}

static int parse_constraint(loader *L, yaml_node_t *n, const char *what, brine_constraint **out)
{
    if (n->type != YAML_MAPPING_NODE || n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
        return errf(L, n,
                    "expected a constraint for %s: a mapping with exactly one of any, const, type, values, global, "
                    "tuple, one_of",
                    what);
    brine_constraint *c = brine_arena_alloc(&L->p->arena, sizeof *c);
    if (!c)
        return BRINE_ERR_NOMEM;
    *out = c;
    yaml_node_t *k = node(L, n->data.mapping.pairs.start->key), *v = node(L, n->data.mapping.pairs.start->value);
    if (scalar_is(k, "any") || scalar_is(k, "const")) {
        bool b = false;
        int r = want_bool(L, v, (const char *)k->data.scalar.value, &b);
        if (r)
            return r;
        if (!b)
            return errf(L, v, "expected true (a constraint that admits nothing is an error)");
        c->kind = scalar_is(k, "any") ? BRINE_C_ANY : BRINE_C_CONST;
        return 0;
    }
    if (scalar_is(k, "type")) {
        c->kind = BRINE_C_TYPE;
        if (v->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                int r = parse_type_name(L, node(L, *it), &c->types);
                if (r)
                    return r;
            }
            if (!c->types)
                return errf(L, v, "expected at least one type name");
            return 0;
        }
        return parse_type_name(L, v, &c->types);
    }
    if (scalar_is(k, "values")) {
        c->kind = BRINE_C_VALUES;
        if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top == v->data.sequence.items.start)
            return errf(L, v, "expected a non-empty list of values");
        size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
        c->values = brine_arena_alloc(&L->p->arena, cnt * sizeof *c->values);
        if (!c->values)
            return BRINE_ERR_NOMEM;
        c->nvalues = cnt;
        for (size_t i = 0; i < cnt; i++) {
            int r = parse_scalar(L, node(L, v->data.sequence.items.start[i]), &c->values[i]);
            if (r)
                return r;
        }
        return 0;
    }
    if (scalar_is(k, "global")) {
        c->kind = BRINE_C_GLOBAL;
        if (scalar_is(v, "import"))
            c->perm = BRINE_PERM_IMPORT;
        else if (scalar_is(v, "call"))
            c->perm = BRINE_PERM_CALL;
        else if (scalar_is(v, "build"))
            c->perm = BRINE_PERM_BUILD;
        else if (scalar_is(v, "items"))
            c->perm = BRINE_PERM_ITEMS;
        else
            return errf(L, v, "expected import, call, build or items for global");
        return 0;
    }
    if (scalar_is(k, "tuple") || scalar_is(k, "one_of")) {
        c->kind = scalar_is(k, "tuple") ? BRINE_C_TUPLE : BRINE_C_ONE_OF;
        int r = parse_list(L, v, (const char *)k->data.scalar.value, &c->kids, &c->nkids);
        if (r)
            return r;
        if (c->kind == BRINE_C_ONE_OF && !c->nkids)
            return errf(L, v, "expected at least one constraint in one_of");
        return 0;
    }
    return errf(L, k,
                "unknown constraint '%.*s' for %s (expected one of: any, const, type, values, global, tuple, one_of)",
                (int)k->data.scalar.length, k->data.scalar.value, what);
}

/* ---- allow entries -------------------------------------------------------- */

typedef struct {
    brine_allow *entry;
    brine_callrule *call;
    const yaml_node_t *name_node;
    bool has_name;
    int perms;
    bool call_any, build_any, factory;
    brine_buildrule *build;
} allow_ctx;

static int call_key(loader *L, const yaml_node_t *k, yaml_node_t *v, void *ctx)
{
    brine_callrule *c = ctx;
    if (scalar_is(k, "arity")) {
        if (v->type == YAML_SEQUENCE_NODE && v->data.sequence.items.top - v->data.sequence.items.start == 2) {
            int r = want_int(L, node(L, v->data.sequence.items.start[0]), "arity", &c->arity_min);
            if (!r)
                r = want_int(L, node(L, v->data.sequence.items.start[1]), "arity", &c->arity_max);
            if (!r && c->arity_min > c->arity_max)
                return errf(L, v, "expected arity [min, max] with min <= max");
            return r;
        }
        int r = want_int(L, v, "arity", &c->arity_min);
        c->arity_max = c->arity_min;
        return r;
    }
    if (scalar_is(k, "args"))
        return parse_list(L, v, "args", &c->args, &c->nargs);
    return want_bool(L, v, "kwargs", &c->kwargs);
}

static int allow_key(loader *L, const yaml_node_t *k, yaml_node_t *v, void *ctx)
{
    allow_ctx *a = ctx;
    if (scalar_is(k, "name")) {
        a->name_node = v;
        a->has_name = true;
        return 0;
    }
    if (scalar_is(k, "factory"))
        return want_bool(L, v, "factory", &a->factory);
    if (scalar_is(k, "items")) {
        bool b = false; /* want_bool leaves it unset on a non-boolean */
        int r = want_bool(L, v, "items", &b);
        if (!r && b)
            a->perms |= BRINE_PERM_ITEMS;
        return r;
    }
    if (scalar_is(k, "call")) {
        if (v->type == YAML_SCALAR_NODE) {
            bool b = false; /* want_bool leaves it unset on a non-boolean */
            int r = want_bool(L, v, "call", &b);
            if (!r && b) {
                a->perms |= BRINE_PERM_CALL;
                a->call_any = true;
            }
            return r;
        }
        brine_callrule *c = brine_arena_alloc(&L->p->arena, sizeof *c);
        if (!c)
            return BRINE_ERR_NOMEM;
        c->arity_min = c->arity_max = -1;
        static const char *const keys[] = {"arity", "args", "kwargs", NULL};
        int r = each_key(L, v, "call", keys, call_key, c);
        if (r)
            return r;
        if (c->arity_max >= 0 && (int64_t)c->nargs > c->arity_max)
            return errf(L, v, "expected at most %lld args constraints (the arity)", (long long)c->arity_max);
        a->perms |= BRINE_PERM_CALL;
        a->call = c;
        return 0;
    }
    /* build */
    if (v->type == YAML_SCALAR_NODE) {
        bool b = false; /* want_bool leaves it unset on a non-boolean */
        int r = want_bool(L, v, "build", &b);
        if (!r && b) {
            a->perms |= BRINE_PERM_BUILD;
            a->build_any = true;
        }
        return r;
    }
    brine_buildrule *b = brine_arena_alloc(&L->p->arena, sizeof *b);
    if (!b)
        return BRINE_ERR_NOMEM;
    int r = parse_constraint(L, v, "build", &b->state);
    if (r)
        return r;
    a->perms |= BRINE_PERM_BUILD;
    a->build = b;
    return 0;
}

/* "module:qualname" -> module, name (checked). */
static int split_name(loader *L, const yaml_node_t *n, char **mod, char **name, bool allow_star)
{
    if (n->type != YAML_SCALAR_NODE)
        return errf(L, n, "expected a name \"module:qualname\", found %s", node_kind(n));
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    const char *colon = memchr(s, ':', len);
    if (!colon || colon == s || colon == s + len - 1 || memchr(colon + 1, ':', len - (size_t)(colon - s) - 1))
        return errf(L, n, "expected a name \"module:qualname\" (one colon), found '%.*s'", (int)len, s);
    *mod = adup(L, s, (size_t)(colon - s));
    *name = adup(L, colon + 1, len - (size_t)(colon - s) - 1);
    if (!*mod || !*name)
        return BRINE_ERR_NOMEM;
    if (strchr(*name, '*') && (!allow_star || strcmp(*name, "*") != 0))
        return errf(L, n, "expected a qualname or '*' alone after the colon: a pattern never spans a dotted path");
    if (strchr(*mod, '*'))
        return errf(L, n, "expected an exact module name: patterns never cross a module boundary");
    return 0;
}

static int parse_allow(loader *L, yaml_node_t *n)
{
    allow_ctx a = {0};
    static const char *const keys[] = {"name", "call", "build", "items", "factory", NULL};
    int r = each_key(L, n, "an allow entry", keys, allow_key, &a);
    if (r)
        return r;
    if (!a.has_name)
        return errf(L, n, "expected a 'name' key in the allow entry");
    char *mod, *name;
    r = split_name(L, a.name_node, &mod, &name, true);
    if (r)
        return r;
    brine_allow *e = brine_policy_allow_entry(L->p, mod, name);
    if (!e)
        return BRINE_ERR_NOMEM;
    if (!e->where.pack) {
        e->where.pack = L->packname;
        e->where.file = L->file;
        e->where.line = (unsigned)a.name_node->start_mark.line + 1;
        e->where.column = (unsigned)a.name_node->start_mark.column + 1;
    }
    /* merging: a permission allowed without constraints anywhere is allowed
     * without constraints; constrained rules accumulate as alternatives */
    bool had_call_any = (e->perms & BRINE_PERM_CALL) && !e->calls;
    bool had_build_any = (e->perms & BRINE_PERM_BUILD) && !e->builds;
    e->perms |= BRINE_PERM_IMPORT | a.perms;
    e->factory |= a.factory;
    if (a.call_any || had_call_any) {
        e->calls = NULL;
    } else if (a.call) {
        a.call->next = e->calls;
        e->calls = a.call;
    }
    if (a.build_any || had_build_any) {
        e->builds = NULL;
    } else if (a.build) {
        a.build->next = e->builds;
        e->builds = a.build;
    }
    return 0;
}

/* ---- deny entries ------------------------------------------------------------ */

typedef struct {
    const yaml_node_t *module, *name, *severity, *reason, *except;
    bool submodules, has_sub;
} deny_ctx;

static int deny_key(loader *L, const yaml_node_t *k, yaml_node_t *v, void *ctx)
{
    deny_ctx *d = ctx;
    if (scalar_is(k, "module"))
        d->module = v;
    else if (scalar_is(k, "name"))
        d->name = v;
    else if (scalar_is(k, "severity"))
        d->severity = v;
    else if (scalar_is(k, "reason"))
        d->reason = v;
    else if (scalar_is(k, "except"))
        d->except = v;
    else {
        d->has_sub = true;
        return want_bool(L, v, "submodules", &d->submodules);
    }
    return 0;
}

/* except: [module:qualname, ...]: exact names the deny leaves out. Each must be
 * a name the deny would otherwise cover, written without a wildcard. */
static int parse_deny_except(loader *L, const yaml_node_t *seq, brine_deny *e)
{
    if (seq->type != YAML_SEQUENCE_NODE || seq->data.sequence.items.top == seq->data.sequence.items.start)
        return errf(L, seq, "expected a non-empty list of names \"module:qualname\" for 'except', found %s",
                    node_kind(seq));
    size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    e->except_module = brine_arena_alloc(&L->p->arena, n * sizeof *e->except_module);
    e->except_name = brine_arena_alloc(&L->p->arena, n * sizeof *e->except_name);
    if (!e->except_module || !e->except_name)
        return BRINE_ERR_NOMEM;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
        const yaml_node_t *item = node(L, *it);
        char *mod, *name;
        int r = split_name(L, item, &mod, &name, false);
        if (r)
            return r;
        bool covered;
        size_t dl = strlen(e->module);
        if (e->name)
            covered = strcmp(mod, e->module) == 0 &&
                      (strcmp(e->name, "*") == 0 ? !strchr(name, '.')
                                                  : strcmp(name, e->name) == 0 ||
                                                        (strncmp(name, e->name, strlen(e->name)) == 0 &&
                                                         name[strlen(e->name)] == '.'));
        else
            covered = strcmp(mod, e->module) == 0 ||
                      (e->submodules && strncmp(mod, e->module, dl) == 0 && mod[dl] == '.');
        if (!covered)
            return errf(L, item, "expected an exception the deny covers, found '%s:%s'", mod, name);
        e->except_module[e->nexcept] = mod;
        e->except_name[e->nexcept] = name;
        e->nexcept++;
    }
    return 0;
}

static int parse_deny(loader *L, yaml_node_t *n)
{
    deny_ctx d = {0};
    static const char *const keys[] = {"module", "name", "submodules", "severity", "reason", "except", NULL};
    int r = each_key(L, n, "a deny entry", keys, deny_key, &d);
    if (r)
        return r;
    if (!d.module == !d.name)
        return errf(L, n, "expected exactly one of 'module' or 'name' in the deny entry");
    if (d.has_sub && !d.module)
        return errf(L, n, "expected 'submodules' only with 'module'");
    if (!d.reason)
        return errf(L, n, "expected a 'reason' (one line) in the deny entry");
    brine_deny *e = brine_arena_alloc(&L->p->arena, sizeof *e);
    if (!e)
        return BRINE_ERR_NOMEM;
    if (d.module) {
        r = want_string(L, d.module, "a module name", &e->module);
        if (!r && strchr(e->module, ':'))
            r = errf(L, d.module, "expected a module name without ':' (use 'name' for module:qualname)");
    } else {
        r = split_name(L, d.name, &e->module, &e->name, true);
    }
    if (!r)
        r = want_string(L, d.reason, "a reason", &e->reason);
    if (r)
        return r;
    if (strchr(e->reason, '\n'))
        return errf(L, d.reason, "expected a one-line reason");
    e->submodules = d.submodules;
    if (d.except) {
        r = parse_deny_except(L, d.except, e);
        if (r)
            return r;
    }
    e->severity = BRINE_SEVERITY_HIGH;
    if (d.severity) {
        if (scalar_is(d.severity, "critical"))
            e->severity = BRINE_SEVERITY_CRITICAL;
        else if (scalar_is(d.severity, "high"))
            e->severity = BRINE_SEVERITY_HIGH;
        else if (scalar_is(d.severity, "medium"))
            e->severity = BRINE_SEVERITY_MEDIUM;
        else if (scalar_is(d.severity, "low"))
            e->severity = BRINE_SEVERITY_LOW;
        else
            return errf(L, d.severity, "expected severity critical, high, medium or low");
    }
    e->where.pack = L->packname;
    e->where.file = L->file;
    e->where.line = (unsigned)n->start_mark.line + 1;
    e->where.column = (unsigned)n->start_mark.column + 1;
    if (!brine_policy_add_deny(L->p, e))
        return errf(L, n, "out of memory");
    return 0;
}

/* ---- persistent ids ------------------------------------------------------------ */

typedef struct {
    const yaml_node_t *name, *match, *resolves;
} persid_ctx;

static int persid_key(loader *L, const yaml_node_t *k, yaml_node_t *v, void *ctx)
{
    (void)L;
    persid_ctx *c = ctx;
    if (scalar_is(k, "name"))
        c->name = v;
    else if (scalar_is(k, "match"))
        c->match = v;
    else
        c->resolves = v;
    return 0;
}

static int parse_persid(loader *L, yaml_node_t *n)
{
    persid_ctx c = {0};
    static const char *const keys[] = {"name", "match", "resolves_to", NULL};
    int r = each_key(L, n, "a persistent_ids entry", keys, persid_key, &c);
    if (r)
        return r;
    if (!c.name || !c.match)
        return errf(L, n, "expected 'name' and 'match' in the persistent_ids entry");
    brine_persid_rule *e = brine_arena_alloc(&L->p->arena, sizeof *e);
    if (!e)
        return BRINE_ERR_NOMEM;
    r = want_string(L, c.name, "a name", &e->name);
    if (!r)
        r = parse_constraint(L, (yaml_node_t *)c.match, "match", &e->match);
    e->resolves_to = -1;
    if (!r && c.resolves) {
        r = want_int(L, c.resolves, "resolves_to", &e->resolves_to);
        if (!r && (e->match->kind != BRINE_C_TUPLE || (size_t)e->resolves_to >= e->match->nkids ||
                   e->match->kids[e->resolves_to]->kind != BRINE_C_GLOBAL))
            r = errf(L, c.resolves, "expected resolves_to to index a {global: ...} element of the match tuple");
    }
    if (r)
        return r;
    e->where.pack = L->packname;
    e->where.file = L->file;
    e->where.line = (unsigned)n->start_mark.line + 1;
    *L->p->persids_tail = e;
    L->p->persids_tail = &e->next;
    return 0;
}

/* ---- files and packs --------------------------------------------------------------- */

static int load_text(loader *L, const char *text, size_t len, const char *file, const char *dir);

static bool already(loader *L, const char *key)
{
    for (size_t i = 0; i < L->nloaded; i++)
        if (strcmp(L->loaded[i], key) == 0)
            return true;
    return false;
}

static int remember(loader *L, const char *key)
{
    char **n = realloc(L->loaded, (L->nloaded + 1) * sizeof *n);
    if (!n)
        return BRINE_ERR_NOMEM;
    L->loaded = n;
    L->loaded[L->nloaded] = strdup(key);
    if (!L->loaded[L->nloaded])
        return BRINE_ERR_NOMEM;
    L->nloaded++;
    return 0;
}

static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno ? errno : EIO;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap)
            break;
        if (cap > (64u << 20)) { /* a policy is small; refuse a huge file */
            free(buf);
            buf = NULL;
            break;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
        }
        buf = nb;
        cap *= 2;
    }
    int err = ferror(f) ? EIO : 0;
    fclose(f);
    if (!buf)
        return ENOMEM;
    if (err) {
        free(buf);
        return err;
    }
    *out = buf;
    *len = n;
    return 0;
}

static const brine_builtin_pack *builtin(const char *name)
{
    for (size_t i = 0; i < brine_builtin_npacks; i++)
        if (strcmp(brine_builtin_packs[i].name, name) == 0)
            return &brine_builtin_packs[i];
    return NULL;
}

static int load_builtin(loader *L, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "builtin:%s", name);
    if (already(L, key))
        return 0;
    int r = remember(L, key);
    if (r)
        return r;
    const brine_builtin_pack *b = builtin(name);
    if (!b)
        return BRINE_ERR_INVALID;
    char file[160];
    snprintf(file, sizeof file, "<builtin>/rules/%s.yaml", name);
    return load_text(L, b->text, strlen(b->text), file, NULL);
}

static int load_path(loader *L, const char *path)
{
    if (already(L, path))
        return 0;
    int r = remember(L, path);
    if (r)
        return r;
    char *text;
    size_t len;
    int e = read_file(path, &text, &len);
    if (e) {
        if (L->diag)
            snprintf(L->diag->message, sizeof L->diag->message, "%s: %s", path, strerror(e));
        return BRINE_ERR_IO;
    }
    char *dir = strdup(path);
    if (!dir) {
        free(text);
        return BRINE_ERR_NOMEM;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[1] = 0;
    else
        dir[0] = 0;
    char *fname = adup(L, path, strlen(path));
    r = fname ? load_text(L, text, len, fname, dir) : BRINE_ERR_NOMEM;
    free(dir);
    free(text);
    return r;
}

typedef struct {
    const yaml_node_t *pack, *description, *extends, *allow, *persid, *deny, *dunders;
} root_ctx;

static int root_key(loader *L, const yaml_node_t *k, yaml_node_t *v, void *ctx)
{
    (void)L;
    root_ctx *c = ctx;
    if (scalar_is(k, "pack"))
        c->pack = v;
    else if (scalar_is(k, "description"))
        c->description = v;
    else if (scalar_is(k, "extends"))
        c->extends = v;
    else if (scalar_is(k, "allow"))
        c->allow = v;
    else if (scalar_is(k, "persistent_ids"))
        c->persid = v;
    else if (scalar_is(k, "deny"))
        c->deny = v;
    else
        c->dunders = v;
    return 0;
}

static int each_item(loader *L, const yaml_node_t *seq, const char *what, int (*fn)(loader *, yaml_node_t *))
{
    if (!seq)
        return 0;
    if (seq->type != YAML_SEQUENCE_NODE)
        return errf(L, seq, "expected a list for %s, found %s", what, node_kind(seq));
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
        int r = fn(L, node(L, *it));
        if (r)
            return r;
    }
    return 0;
}

static int parse_dunder(loader *L, yaml_node_t *n)
{
    char *s;
    int r = want_string(L, n, "a name component", &s);
    if (r)
        return r;
    brine_policy *p = L->p;
    if (p->ndunders == p->dcap) {
        size_t nc = p->dcap ? p->dcap * 2 : 16;
        char **nd = brine_arena_alloc(&p->arena, nc * sizeof *nd);
        if (!nd)
            return BRINE_ERR_NOMEM;
        if (p->ndunders)
            memcpy(nd, p->dunders, p->ndunders * sizeof *nd);
        p->dunders = nd;
        p->dcap = nc;
    }
    p->dunders[p->ndunders++] = s;
    return 0;
}

static int load_doc(loader *L, const char *text, size_t len, const char *dir)
{
    yaml_node_t *root = L->Y->yaml_document_get_root_node(L->doc);
    if (!root)
        return errf(L, NULL, "expected a policy (a mapping with a 'pack' key), found an empty document");
    root_ctx c = {0};
    static const char *const keys[] = {"pack", "description", "extends", "allow", "persistent_ids", "deny",
                                       "dunder_components", NULL};
    int r = each_key(L, root, "the policy", keys, root_key, &c);
    if (r)
        return r;
    if (!c.pack)
        return errf(L, root, "expected a 'pack' key naming the pack");
    brine_pack *pk = brine_arena_alloc(&L->p->arena, sizeof *pk);
    if (!pk)
        return BRINE_ERR_NOMEM;
    r = want_string(L, c.pack, "the pack name", &pk->name);
    if (!r && c.description)
        r = want_string(L, c.description, "a description", &pk->description);
    if (r)
        return r;
    pk->file = (char *)L->file;
    pk->text = adup(L, text, len);
    const char *saved_pack = L->packname;
    L->packname = pk->name;
    if (c.extends) {
        if (c.extends->type != YAML_SEQUENCE_NODE)
            return errf(L, c.extends, "expected a list of packs or files for extends");
        for (yaml_node_item_t *it = c.extends->data.sequence.items.start; it < c.extends->data.sequence.items.top;
             it++) {
            yaml_node_t *e = node(L, *it);
            char *name;
            r = want_string(L, e, "a pack name or a file path", &name);
            if (r)
                return r;
            if (++L->depth > 32)
                return errf(L, e, "extends nested deeper than 32 levels");
            yaml_document_t *saved_doc = L->doc;
            const char *saved_file = L->file;
            if (builtin(name)) {
                r = load_builtin(L, name);
            } else if (strchr(name, '/') || strstr(name, ".yaml") || strstr(name, ".yml")) {
                char path[4096];
                snprintf(path, sizeof path, "%s%s", (name[0] == '/' || !dir) ? "" : dir, name);
                r = load_path(L, path);
            } else {
                r = errf(L, e, "unknown pack '%s' in extends (built-in packs or a path to a .yaml file)", name);
            }
            L->doc = saved_doc;
            L->file = saved_file;
            L->depth--;
            if (r)
                return r;
        }
    }
    *L->p->packs_tail = pk;
    L->p->packs_tail = &pk->next;
    r = each_item(L, c.allow, "allow", parse_allow);
    if (!r)
        r = each_item(L, c.persid, "persistent_ids", parse_persid);
    if (!r)
        r = each_item(L, c.deny, "deny", parse_deny);
    if (!r)
        r = each_item(L, c.dunders, "dunder_components", parse_dunder);
    L->packname = saved_pack;
    return r;
}

static int load_text(loader *L, const char *text, size_t len, const char *file, const char *dir)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!L->Y && !(L->Y = brine_libyaml_get())) {
        if (L->diag) /* fail closed: no policy, no scan */
            snprintf(L->diag->message, sizeof L->diag->message, "%s: %s", file, brine_libyaml_error());
        return BRINE_ERR_POLICY;
    }
    const brine_libyaml *Y = L->Y;
    if (!Y->yaml_parser_initialize(&parser))
        return BRINE_ERR_NOMEM;
    Y->yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    L->file = adup(L, file, strlen(file)); /* findings and `policy show` keep it */
    if (!L->file) {
        Y->yaml_parser_delete(&parser);
        return BRINE_ERR_NOMEM;
    }
    file = L->file;
    int r;
    if (!Y->yaml_parser_load(&parser, &doc)) {
        if (L->diag)
            snprintf(L->diag->message, sizeof L->diag->message, "%s:%lu:%lu: %s%s%s", file,
                     (unsigned long)parser.problem_mark.line + 1, (unsigned long)parser.problem_mark.column + 1,
                     parser.problem ? parser.problem : "invalid YAML", parser.context ? " " : "",
                     parser.context ? parser.context : "");
        Y->yaml_parser_delete(&parser);
        return BRINE_ERR_POLICY;
    }
    L->doc = &doc;
    r = load_doc(L, text, len, dir);
    Y->yaml_document_delete(&doc);
    Y->yaml_parser_delete(&parser);
    return r;
}

int brine_policy_compile(brine_policy **out, const char *const *files, size_t nfiles, brine_diag *diag)
{
#ifndef BRINE_NO_EMBEDDED_POLICY
    /* the default policy was compiled at build time (tools/policy_gen.c) */
    if (out && !nfiles) {
        if (diag)
            diag->message[0] = 0;
        *out = (brine_policy *)&brine_embedded_policy;
        return 0;
    }
#endif
    return brine_policy_compile_yaml(out, files, nfiles, diag);
}

int brine_policy_compile_yaml(brine_policy **out, const char *const *files, size_t nfiles, brine_diag *diag)
{
    if (!out)
        return BRINE_ERR_INVALID;
    *out = NULL;
    if (diag)
        diag->message[0] = 0;
    brine_policy *p = calloc(1, sizeof *p);
    if (!p)
        return BRINE_ERR_NOMEM;
    brine_arena_init(&p->arena, 1u << 30);
    p->denies_tail = &p->denies;
    p->persids_tail = &p->persids;
    p->packs_tail = &p->packs;
    loader L = {.p = p, .diag = diag};
    int r = load_builtin(&L, "dangerous"); /* always: known-dangerous names are never admitted */
    if (!r && !nfiles)
        r = load_builtin(&L, "bundle");
    for (size_t i = 0; !r && i < nfiles; i++)
        r = load_path(&L, files[i]);
    for (size_t i = 0; i < L.nloaded; i++)
        free(L.loaded[i]);
    free(L.loaded);
    if (!r && p->arena.nomem)
        r = BRINE_ERR_NOMEM;
    if (r) {
        brine_policy_destroy(p);
        return r;
    }
    *out = p;
    return 0;
}

int brine_policy_compile_text(brine_policy **out, const char *text, size_t len, const char *name, bool with_dangerous,
                              brine_diag *diag)
{
    if (!out || (!text && len) || !name)
        return BRINE_ERR_INVALID;
    *out = NULL;
    if (diag)
        diag->message[0] = 0;
    brine_policy *p = calloc(1, sizeof *p);
    if (!p)
        return BRINE_ERR_NOMEM;
    brine_arena_init(&p->arena, 1u << 30);
    p->denies_tail = &p->denies;
    p->persids_tail = &p->persids;
    p->packs_tail = &p->packs;
    loader L = {.p = p, .diag = diag};
    int r = with_dangerous ? load_builtin(&L, "dangerous") : 0;
    if (!r)
        r = remember(&L, name);
    if (!r)
        r = load_text(&L, text ? text : "", len, name, NULL);
    for (size_t i = 0; i < L.nloaded; i++)
        free(L.loaded[i]);
    free(L.loaded);
    if (!r && p->arena.nomem)
        r = BRINE_ERR_NOMEM;
    if (r) {
        brine_policy_destroy(p);
        return r;
    }
    *out = p;
    return 0;
}

void brine_policy_destroy(brine_policy *p)
{
#ifndef BRINE_NO_EMBEDDED_POLICY
    if (p == &brine_embedded_policy)
        return; /* static, immutable */
#endif
    if (!p)
        return;
    free(p->buckets);
    free(p->deny_buckets);
    brine_arena_free(&p->arena);
    free(p);
}
