/* Matching names and values against a compiled policy. */
#include "policy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *brine_severity_name(brine_severity s)
{
    switch (s) {
    case BRINE_SEVERITY_LOW: return "low";
    case BRINE_SEVERITY_MEDIUM: return "medium";
    case BRINE_SEVERITY_HIGH: return "high";
    case BRINE_SEVERITY_CRITICAL: return "critical";
    }
    return "?";
}

const char *brine_verdict_name(brine_verdict v)
{
    switch (v) {
    case BRINE_VERDICT_SAFE: return "safe";
    case BRINE_VERDICT_SUSPICIOUS: return "suspicious";
    case BRINE_VERDICT_DANGEROUS: return "dangerous";
    }
    return "?";
}

uint64_t brine_policy_name_hash(const uint8_t *mod, size_t modn, const uint8_t *name, size_t namen)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < modn; i++)
        h = (h ^ mod[i]) * 1099511628211ULL;
    h = (h ^ ':') * 1099511628211ULL;
    for (size_t i = 0; i < namen; i++)
        h = (h ^ name[i]) * 1099511628211ULL;
    return h;
}

static bool eqn(const char *s, const uint8_t *p, size_t n)
{
    return strlen(s) == n && memcmp(s, p, n) == 0;
}

const brine_allow *brine_policy_find(const brine_policy *p, const uint8_t *mod, size_t modn, const uint8_t *name,
                                     size_t namen)
{
    if (!p->nbuckets)
        return NULL;
    uint64_t h = brine_policy_name_hash(mod, modn, name, namen);
    for (const brine_allow *e = p->buckets[h % p->nbuckets]; e; e = e->next_in_bucket)
        if (eqn(e->module, mod, modn) && eqn(e->name, name, namen))
            return e;
    /* "module:*" admits a name without a dot in exactly that module */
    if (memchr(name, '.', namen))
        return NULL;
    h = brine_policy_name_hash(mod, modn, (const uint8_t *)"*", 1);
    for (const brine_allow *e = p->buckets[h % p->nbuckets]; e; e = e->next_in_bucket)
        if (eqn(e->module, mod, modn) && strcmp(e->name, "*") == 0)
            return e;
    return NULL;
}

brine_allow *brine_policy_allow_entry(brine_policy *p, const char *module, const char *name)
{
    size_t modn = strlen(module), namen = strlen(name);
    if (p->nbuckets) {
        uint64_t h = brine_policy_name_hash((const uint8_t *)module, modn, (const uint8_t *)name, namen);
        for (brine_allow *e = p->buckets[h % p->nbuckets]; e; e = e->next_in_bucket)
            if (strcmp(e->module, module) == 0 && strcmp(e->name, name) == 0)
                return e;
    }
    if (p->nallow + 1 > p->nbuckets) {
        size_t nb = p->nbuckets ? p->nbuckets * 4 : 256;
        brine_allow **b = calloc(nb, sizeof *b);
        if (!b)
            return NULL;
        for (brine_allow *e = p->allows; e; e = e->next) {
            uint64_t h = brine_policy_name_hash((const uint8_t *)e->module, strlen(e->module), (const uint8_t *)e->name,
                                   strlen(e->name));
            e->next_in_bucket = b[h % nb];
            b[h % nb] = e;
        }
        free(p->buckets);
        p->buckets = b;
        p->nbuckets = nb;
    }
    brine_allow *e = brine_arena_alloc(&p->arena, sizeof *e);
    if (!e)
        return NULL;
    e->module = (char *)module;
    e->name = (char *)name;
    uint64_t h = brine_policy_name_hash((const uint8_t *)module, modn, (const uint8_t *)name, namen);
    e->next_in_bucket = p->buckets[h % p->nbuckets];
    p->buckets[h % p->nbuckets] = e;
    /* keep load order for `policy show` */
    if (!p->allows_tail)
        p->allows_tail = &p->allows;
    *p->allows_tail = e;
    p->allows_tail = &e->next;
    p->nallow++;
    return e;
}

static bool deny_excepts(const brine_deny *d, const uint8_t *mod, size_t modn, const uint8_t *name, size_t namen)
{
    for (size_t i = 0; i < d->nexcept; i++)
        if (eqn(d->except_module[i], mod, modn) && eqn(d->except_name[i], name, namen))
            return true;
    return false;
}

static uint64_t module_hash(const uint8_t *mod, size_t modn)
{
    return brine_policy_name_hash(mod, modn, NULL, 0);
}

bool brine_policy_add_deny(brine_policy *p, brine_deny *d)
{
    if (p->ndenies + 1 > p->ndeny_buckets) {
        size_t nb = p->ndeny_buckets ? p->ndeny_buckets * 4 : 256;
        brine_deny **b = calloc(nb, sizeof *b);
        if (!b)
            return false;
        for (brine_deny *e = p->denies; e; e = e->next) {
            brine_deny **head = &b[module_hash((const uint8_t *)e->module, e->modn) % nb];
            e->next_in_bucket = *head;
            *head = e;
        }
        free(p->deny_buckets);
        p->deny_buckets = b;
        p->ndeny_buckets = nb;
    }
    d->modn = strlen(d->module);
    d->ord = (uint32_t)p->ndenies++;
    d->next = NULL;
    brine_deny **head = &p->deny_buckets[module_hash((const uint8_t *)d->module, d->modn) % p->ndeny_buckets];
    d->next_in_bucket = *head;
    *head = d;
    if (!p->denies_tail)
        p->denies_tail = &p->denies;
    *p->denies_tail = d;
    p->denies_tail = &d->next;
    return true;
}

/* Does deny d, whose module is exactly the name's module, cover the name? */
static bool deny_covers_name(const brine_deny *d, const uint8_t *name, size_t namen)
{
    if (!d->name)
        return true;
    if (d->name[0] == '*' && !d->name[1])
        return !memchr(name, '.', namen);
    /* a denied name is denied with any attribute path below it */
    size_t nl = strlen(d->name);
    return namen >= nl && memcmp(d->name, name, nl) == 0 && (namen == nl || name[nl] == '.');
}

/* The better of two matching denies: the higher severity, then the first loaded. */
static const brine_deny *better(const brine_deny *best, const brine_deny *d)
{
    return !best || d->severity > best->severity || (d->severity == best->severity && d->ord < best->ord) ? d : best;
}

/* The deny for mod:name without splitting the name: the entries for exactly
 * mod, and module-wide entries with submodules for each prefix of mod. A
 * match that is one of its deny's reviewed exceptions does not count. */
static const brine_deny *deny_lookup(const brine_policy *p, const uint8_t *mod, size_t modn, const uint8_t *name,
                                     size_t namen)
{
    if (!p->ndeny_buckets)
        return NULL;
    const brine_deny *best = NULL;
    for (size_t len = modn;; len--) {
        if (len == modn || mod[len] == '.') {
            for (const brine_deny *d = p->deny_buckets[module_hash(mod, len) % p->ndeny_buckets]; d;
                 d = d->next_in_bucket) {
                if (d->modn != len || memcmp(d->module, mod, len) != 0)
                    continue;
                if (len == modn ? !deny_covers_name(d, name, namen) : (d->name || !d->submodules))
                    continue;
                if (!deny_excepts(d, mod, modn, name, namen))
                    best = better(best, d);
            }
        }
        if (len == 0)
            break;
    }
    return best;
}

/* A dotted path can reach another module through a module attribute
 * ("pathlib:os.system" is os.system), so every split of the path is also
 * checked as module:rest. */
const brine_deny *brine_policy_denied(const brine_policy *p, const uint8_t *mod, size_t modn, const uint8_t *name,
                                      size_t namen)
{
    const brine_deny *best = deny_lookup(p, mod, modn, name, namen);
    if (best)
        return best;
    for (size_t i = 0; i < namen; i++) {
        if (i > 0 && name[i - 1] != '.')
            continue;
        /* components from i on: try name[i..j) as a module, name[j+1..] as the name */
        for (size_t j = i; j < namen; j++) {
            if (name[j] != '.')
                continue;
            const brine_deny *d = deny_lookup(p, name + i, j - i, name + j + 1, namen - j - 1);
            if (d && (!best || d->severity > best->severity))
                best = d;
        }
    }
    return best;
}

const char *brine_policy_dunder(const brine_policy *p, const uint8_t *mod, size_t modn, const uint8_t *name,
                                size_t namen)
{
    const uint8_t *parts[2] = {mod, name};
    size_t lens[2] = {modn, namen};
    for (int k = 0; k < 2; k++) {
        const uint8_t *s = parts[k], *end = s + lens[k];
        while (s <= end) {
            const uint8_t *dot = memchr(s, '.', (size_t)(end - s));
            const uint8_t *ce = dot ? dot : end;
            for (size_t i = 0; i < p->ndunders; i++)
                if (ce > s && p->dunders[i][0] == s[0] && eqn(p->dunders[i], s, (size_t)(ce - s)))
                    return p->dunders[i];
            if (!dot)
                break;
            s = dot + 1;
        }
    }
    return NULL;
}

bool brine_policy_global_allows(const brine_policy *p, const brine_value *g, int perm)
{
    if (g->kind != BRINE_V_GLOBAL || g->dynamic)
        return false;
    const brine_value *m = g->u.g.module, *n = g->u.g.name;
    if (brine_policy_denied(p, m->u.s.p, m->u.s.n, n->u.s.p, n->u.s.n) ||
        brine_policy_dunder(p, m->u.s.p, m->u.s.n, n->u.s.p, n->u.s.n))
        return false;
    const brine_allow *e = brine_policy_find(p, m->u.s.p, m->u.s.n, n->u.s.p, n->u.s.n);
    return e && (e->perms & perm) == perm;
}

/* ---- constraints --------------------------------------------------------------- */

/* Node visits left for constness walks. At zero every walk fails (and stays
 * at zero: it used to wrap around, handing the next walk an unlimited one). */
typedef struct {
    const brine_policy *p;
    uint64_t budget;
    brine_allows_fn allows; /* a caller's cached brine_policy_global_allows, or NULL */
    void *user;
} matcher;

static bool spend(matcher *mt)
{
    if (!mt->budget)
        return false;
    mt->budget--;
    return true;
}

static bool is_const(matcher *mt, const brine_value *v, unsigned depth)
{
    if (!spend(mt) || depth > 200)
        return false;
    switch ((brine_vkind)v->kind) {
    case BRINE_V_TUPLE: case BRINE_V_LIST: case BRINE_V_SET: case BRINE_V_FROZENSET:
        for (uint32_t i = 0; i < v->u.seq.len; i++)
            if (!is_const(mt, v->u.seq.items[i], depth + 1))
                return false;
        return true;
    case BRINE_V_DICT:
        for (uint32_t i = 0; i < v->u.dict.keys.len; i++)
            if (!is_const(mt, v->u.dict.keys.items[i], depth + 1) || !is_const(mt, v->u.dict.vals.items[i], depth + 1))
                return false;
        return true;
    default:
        return !brine_value_is_object(v);
    }
}

static bool scalar_eq(const brine_scalar *s, const brine_value *v)
{
    switch (s->kind) {
    case BRINE_V_NONE: return v->kind == BRINE_V_NONE;
    case BRINE_V_BOOL: return v->kind == BRINE_V_BOOL && v->u.b == (s->i != 0);
    case BRINE_V_INT: return v->kind == BRINE_V_INT && v->u.i == s->i;
    case BRINE_V_FLOAT: return v->kind == BRINE_V_FLOAT && v->u.f == s->f;
    default: return v->kind == BRINE_V_STR && v->u.s.n == s->n && memcmp(v->u.s.p, s->s, s->n) == 0;
    }
}

/* The work of match itself follows the constraint (its kids, by index into
 * the value), which the policy bounds; only the constness walk follows the
 * value, and only it spends the budget: a const branch of one_of that ran out
 * leaves a type branch its say. */
static bool match(matcher *mt, const brine_constraint *c, const brine_value *v, unsigned depth)
{
    if (depth > 64)
        return false;
    switch (c->kind) {
    case BRINE_C_ANY: return true;
    case BRINE_C_CONST: return is_const(mt, v, depth);
    case BRINE_C_TYPE: return brine_constraint_type_ok(c, v);
    case BRINE_C_VALUES:
        for (size_t i = 0; i < c->nvalues; i++)
            if (scalar_eq(&c->values[i], v))
                return true;
        return false;
    case BRINE_C_GLOBAL:
        return mt->allows ? mt->allows(mt->user, v, c->perm) : brine_policy_global_allows(mt->p, v, c->perm);
    case BRINE_C_TUPLE:
        if (v->kind != BRINE_V_TUPLE || v->u.seq.len != c->nkids)
            return false;
        for (size_t i = 0; i < c->nkids; i++)
            if (!match(mt, c->kids[i], v->u.seq.items[i], depth + 1))
                return false;
        return true;
    case BRINE_C_ONE_OF:
        for (size_t i = 0; i < c->nkids; i++)
            if (match(mt, c->kids[i], v, depth + 1))
                return true;
        return false;
    }
    return false;
}

#define MATCH_BUDGET 100000 /* node visits per match */

bool brine_constraint_match(const brine_policy *p, const brine_constraint *c, const brine_value *v)
{
    matcher mt = {p, MATCH_BUDGET, NULL, NULL};
    return match(&mt, c, v, 0);
}

bool brine_constraint_match_budget(const brine_policy *p, const brine_constraint *c, const brine_value *v,
                                   uint64_t *left)
{
    return brine_constraint_match_with(p, c, v, left, NULL, NULL);
}

bool brine_constraint_match_with(const brine_policy *p, const brine_constraint *c, const brine_value *v,
                                 uint64_t *left, brine_allows_fn allows, void *user)
{
    uint64_t cap = *left < MATCH_BUDGET ? *left : MATCH_BUDGET;
    matcher mt = {p, cap, allows, user};
    bool r = match(&mt, c, v, 0);
    *left -= cap - mt.budget;
    return r;
}
