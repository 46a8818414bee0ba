/* Judging the VM's events against a policy: findings and verdicts
 * (brine_scan_buffer), and learning a policy from trusted files. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "policy.h"
#include "text.h"
#include "vm.h"

const char *brine_event_detail(brine_arena *scratch, const brine_vm_event *ev, char *num, size_t numlen);

/* ---- judging ---------------------------------------------------------------------- */

typedef struct judge {
    const brine_policy *p;
    brine_ctx *ctx;
    const char *location;
    unsigned depth;
    const uint8_t *data; /* the stream's buffer (nested pickles are slices of it) */
    size_t len;
    unsigned flags;
    uint64_t skipped;    /* joblib array bytes skipped */
    uint64_t first_skip; /* where the first skip started */
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
} judge;

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

static int report(judge *j, const brine_vm_event *ev, brine_verdict v, brine_severity sev, const char *name,
                  const char *call, const char *rule, const char *message)
{
    if (ev->offset < j->report_from) /* the first reading reported it */
        return 0;
    if (v > j->verdict)
        j->verdict = v;
    j->findings++;
    j->ctx->findings++;
    if (!j->cb || !j->cb->finding || j->stopped)
        return 0;
    brine_finding f = {j->location, ev->offset - j->base, ev->opindex, brine_op_name(ev->opcode),
                       brine_evkind_name(ev->kind), v, sev, name ? name : "", call ? call : "", rule, message};
    if (!f.opcode)
        f.opcode = "?";
    if (j->cb->finding(j->user, &f)) {
        j->stopped = j->ctx->stopped = true;
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
        if (r->resolves_to >= 0 && brine_constraint_match(j->p, r->match, v->u.c.callee))
            return v->u.c.callee->u.seq.items[r->resolves_to];
    return v;
}

/* Name checks shared by imports and by calls of globals: deny and dunder.
 * Returns 1 if a finding was made. */
static int name_red_flags(judge *j, const brine_vm_event *ev, const brine_value *g, const char *name,
                          const char *call, const char *what)
{
    const brine_value *m = g->u.g.module, *n = g->u.g.name;
    const brine_deny *d = brine_policy_denied(j->p, m->u.s.p, m->u.s.n, n->u.s.p, n->u.s.n);
    if (d) {
        if (report(j, ev, BRINE_VERDICT_DANGEROUS, d->severity, name, call, deny_rule(j, d),
                   fmt(j, "%s %s: %s", what, name, d->reason)) < 0)
            return -1;
        return 1;
    }
    const char *du = brine_policy_dunder(j->p, m->u.s.p, m->u.s.n, n->u.s.p, n->u.s.n);
    if (du) {
        if (report(j, ev, BRINE_VERDICT_DANGEROUS, BRINE_SEVERITY_CRITICAL, name, call,
                   fmt(j, "dunder_components: %s", du),
                   fmt(j, "%s %s: the component %s reaches interpreter internals", what, name, du)) < 0)
            return -1;
        return 1;
    }
    return 0;
}

/* Which rule of a call entry admits these arguments? NULL if one does, else why not. */
static const char *call_mismatch(judge *j, const brine_allow *e, const brine_vm_event *ev)
{
    if (!e->calls)
        return NULL;
    const brine_value *args = ev->args;
    bool kw = ev->kwargs && !(ev->kwargs->kind == BRINE_V_DICT && ev->kwargs->u.dict.keys.len == 0);
    const char *why = "the arguments are not a tuple";
    for (const brine_callrule *r = e->calls; r; r = r->next) {
        if (kw && !r->kwargs) {
            why = "keyword arguments are not allowed";
            continue;
        }
        if (args->kind != BRINE_V_TUPLE)
            continue;
        int64_t n = args->u.seq.len;
        if (r->arity_min >= 0 && (n < r->arity_min || n > r->arity_max)) {
            why = fmt(j, "%" PRId64 " arguments where the policy allows %" PRId64 "%s", n, r->arity_min,
                      r->arity_max != r->arity_min ? fmt(j, " to %" PRId64, r->arity_max) : "");
            continue;
        }
        bool ok = true;
        for (size_t i = 0; i < r->nargs && i < (size_t)n && ok; i++) {
            if (!brine_constraint_match(j->p, r->args[i], args->u.seq.items[i])) {
                why = fmt(j, "argument %zu (%s) does not satisfy the policy", i + 1,
                          render(j, args->u.seq.items[i]));
                ok = false;
            }
        }
        if (ok)
            return NULL;
    }
    return why;
}

static int judge_import(judge *j, const brine_vm_event *ev)
{
    const brine_value *g = ev->target;
    const char *name = render(j, g);
    uint64_t h = (uintptr_t)g * 31 + 1;
    if (seen_before(j, h))
        return 0;
    int r = name_red_flags(j, ev, g, name, "", "import of");
    if (r)
        return r < 0 ? -1 : 0;
    const brine_value *m = g->u.g.module, *n = g->u.g.name;
    if (!brine_policy_find(j->p, m->u.s.p, m->u.s.n, n->u.s.p, n->u.s.n))
        return report(j, ev, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, name, "", "not on the allowlist",
                      fmt(j, "import of %s, a name the policy does not allow", name));
    return 0;
}

static int judge_call(judge *j, const brine_vm_event *ev)
{
    const brine_value *c = resolve_persid(j, ev->target);
    const char *call = call_text(j, ev);
    if (c->kind != BRINE_V_GLOBAL || c->dynamic)
        return report(j, ev, BRINE_VERDICT_DANGEROUS, BRINE_SEVERITY_CRITICAL, render(j, c), call,
                      "call of a non-global",
                      fmt(j, "calls %s, which is not a global reference: the callee is computed at load time",
                          render(j, c)));
    const char *name = render(j, c);
    int r = name_red_flags(j, ev, c, name, call, "call of");
    if (r)
        return r < 0 ? -1 : 0;
    const brine_allow *e = brine_policy_find(j->p, c->u.g.module->u.s.p, c->u.g.module->u.s.n, c->u.g.name->u.s.p,
                                             c->u.g.name->u.s.n);
    if (!e)
        return report(j, ev, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, name, call, "not on the allowlist",
                      fmt(j, "call of %s, a name the policy does not allow", name));
    if (!(e->perms & BRINE_PERM_CALL))
        return report(j, ev, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, name, call,
                      fmt(j, "allow %s:%s (%s, %s:%u) without call", e->module, e->name, e->where.pack,
                          e->where.file, e->where.line),
                      fmt(j, "%s may be imported but not called", name));
    const char *why = call_mismatch(j, e, ev);
    if (why)
        return report(j, ev, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, name, call,
                      fmt(j, "allow %s:%s (%s, %s:%u) call constraints", e->module, e->name, e->where.pack,
                          e->where.file, e->where.line),
                      fmt(j, "call of %s: %s", name, why));
    return 0;
}

/* BUILD and items on an object: the permission belongs to what made it. */
static int judge_target(judge *j, const brine_vm_event *ev, int perm)
{
    const brine_value *t = ev->target;
    const char *what = perm == BRINE_PERM_BUILD ? "BUILD" : "adding items";
    if (t->kind == BRINE_V_GLOBAL && !t->dynamic)
        return report(j, ev, BRINE_VERDICT_DANGEROUS, BRINE_SEVERITY_CRITICAL, render(j, t), "",
                      perm == BRINE_PERM_BUILD ? "BUILD on a global" : "items on a global",
                      fmt(j, "%s on %s itself changes a module, function or class that later code runs", what,
                          render(j, t)));
    if (t->kind != BRINE_V_CALL && t->kind != BRINE_V_NEW) {
        bool bad = t->kind == BRINE_V_EXT || t->kind == BRINE_V_GLOBAL;
        return report(j, ev, bad ? BRINE_VERDICT_DANGEROUS : BRINE_VERDICT_SUSPICIOUS,
                      bad ? BRINE_SEVERITY_HIGH : BRINE_SEVERITY_MEDIUM, "", render(j, t), "not on the allowlist",
                      fmt(j, "%s on %s, an object of unknown type", what, render(j, t)));
    }
    const brine_value *maker = resolve_persid(j, t->u.c.callee);
    if (maker->kind != BRINE_V_GLOBAL || maker->dynamic)
        return report(j, ev, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, "", render(j, t),
                      "not on the allowlist", fmt(j, "%s on the result of a computed call", what));
    const brine_allow *e = brine_policy_find(j->p, maker->u.g.module->u.s.p, maker->u.g.module->u.s.n,
                                             maker->u.g.name->u.s.p, maker->u.g.name->u.s.n);
    /* a factory (copyreg._reconstructor, numpy's _reconstruct, ...) returns an
     * instance of its first argument: that class's entry decides */
    for (int hops = 0; e && e->factory && hops < 4 && t->kind == BRINE_V_CALL && t->u.c.args->kind == BRINE_V_TUPLE &&
                       t->u.c.args->u.seq.len >= 1;
         hops++) {
        const brine_value *cls = t->u.c.args->u.seq.items[0];
        if (cls->kind != BRINE_V_GLOBAL || cls->dynamic)
            break;
        maker = cls;
        e = brine_policy_find(j->p, maker->u.g.module->u.s.p, maker->u.g.module->u.s.n, maker->u.g.name->u.s.p,
                              maker->u.g.name->u.s.n);
        break;
    }
    const char *name = render(j, maker);
    if (!e || !(e->perms & perm) || !brine_policy_global_allows(j->p, maker, BRINE_PERM_IMPORT))
        return report(j, ev, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, name, render(j, t),
                      e ? fmt(j, "allow %s:%s (%s, %s:%u) without %s", e->module, e->name, e->where.pack,
                              e->where.file, e->where.line, perm == BRINE_PERM_BUILD ? "build" : "items")
                        : "not on the allowlist",
                      fmt(j, "%s on an object made by %s is not allowed", what, name));
    if (perm == BRINE_PERM_BUILD && e->builds) {
        for (const brine_buildrule *b = e->builds; b; b = b->next)
            if (brine_constraint_match(j->p, b->state, ev->args))
                return 0;
        return report(j, ev, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, name, render(j, t),
                      fmt(j, "allow %s:%s (%s, %s:%u) build constraint", e->module, e->name, e->where.pack,
                          e->where.file, e->where.line),
                      fmt(j, "BUILD state %s for an object made by %s does not satisfy the policy",
                          render(j, ev->args), name));
    }
    return 0;
}

static int judge_persid(judge *j, const brine_vm_event *ev)
{
    for (const brine_persid_rule *r = j->p->persids; r; r = r->next)
        if (brine_constraint_match(j->p, r->match, ev->target))
            return 0;
    return report(j, ev, BRINE_VERDICT_DANGEROUS, BRINE_SEVERITY_HIGH, "", render(j, ev->target),
                  "persistent id shape",
                  fmt(j, "persistent id %s fits no persistent_ids shape of the policy", render(j, ev->target)));
}

/* A bytes (or str) constant that is itself a pickle: scan it as a stream of
 * its own, located at the constant inside this one. */
static int judge_nested(judge *j, const brine_vm_event *ev)
{
    brine_ctx *c = j->ctx;
    const brine_value *v = ev->target;
    if (c->stopped || j->depth + 1 > c->s->max_archive_depth)
        return 0;
    if (c->nested >= c->s->max_nested) {
        brine_ctx_merge(c, BRINE_VERDICT_SAFE, BRINE_STATUS_INCONCLUSIVE, "max_nested: more nested pickles than the limit",
                        ev->offset);
        return 0;
    }
    const uint8_t *p = v->u.s.p;
    size_t n = v->u.s.n;
    uint8_t *copy = NULL;
    if (v->kind == BRINE_V_STR) { /* the str's code points as latin-1 bytes, as .encode('latin-1') */
        copy = calloc(1, n ? n : 1);
        if (!copy)
            return 0;
        size_t k = 0;
        for (size_t i = 0; i < n;) {
            uint32_t cp;
            i += brine_utf8_next(p + i, n - i, &cp);
            if (cp > 0xff) {
                free(copy);
                return 0;
            }
            copy[k++] = (uint8_t)cp;
        }
        p = copy;
        n = k;
    }
    if (brine_looks_like_container(p, n) && !(p[0] == 0x80 && n > 1 && p[1] <= 5)) {
        /* a zip, npy or compressed stream held as bytes: read it as one */
        c->nested++;
        char at[40];
        snprintf(at, sizeof at, "@0x%" PRIx64 "!<nested>", ev->offset - j->base);
        char *loc = brine_loc_join(j->location, "", at);
        int r = loc ? brine_scan_blob(c, p, n, loc, j->depth + 1, false) : 0;
        free(loc);
        free(copy);
        return r < 0 && c->stopped ? -1 : 0;
    }
    /* is it a pickle at all? a constant that fails at its first opcode is not */
    brine_settings probe_s = *c->s;
    brine_arena a;
    brine_arena_init(&a, probe_s.max_bytes);
    brine_vm_config cfg = {.settings = &probe_s, .arena = &a};
    brine_vm_result res;
    brine_vm_run(p, n, &cfg, &res);
    brine_arena_free(&a);
    bool pickle = !(res.status == BRINE_STATUS_MALFORMED && res.error_offset == 0 && !(p[0] == 0x80 && n > 1 && p[1] <= 5));
    int r = 0;
    if (pickle) {
        c->nested++;
        char at[40];
        snprintf(at, sizeof at, "@0x%" PRIx64 "!<nested>", ev->offset - j->base);
        char *loc = brine_loc_join(j->location, "", at);
        if (loc) {
            r = brine_scan_pickle(c, p, n, 0, loc, j->depth + 1, 0, NULL);
            free(loc);
        }
    }
    free(copy);
    return r < 0 && c->stopped ? -1 : 0;
}

static int on_event(void *user, const brine_vm_event *ev)
{
    judge *j = user;
    brine_arena_free(&j->scratch);
    brine_arena_init(&j->scratch, 1 << 20);
    switch (ev->kind) {
    case BRINE_EV_IMPORT: return judge_import(j, ev);
    case BRINE_EV_DYNAMIC_IMPORT: {
        char num[32];
        return report(j, ev, BRINE_VERDICT_DANGEROUS, BRINE_SEVERITY_CRITICAL, "", "", "dynamic import",
                      fmt(j, "import whose module or name is computed at load time (%s)",
                          brine_event_detail(&j->scratch, ev, num, sizeof num)));
    }
    case BRINE_EV_CALL: return judge_call(j, ev);
    case BRINE_EV_BUILD: return judge_target(j, ev, BRINE_PERM_BUILD);
    case BRINE_EV_ITEMS: return judge_target(j, ev, BRINE_PERM_ITEMS);
    case BRINE_EV_PERSID: return judge_persid(j, ev);
    case BRINE_EV_EXT:
        return report(j, ev, BRINE_VERDICT_DANGEROUS, BRINE_SEVERITY_HIGH, "", "", "extension code",
                      fmt(j, "extension code %" PRId64 ": copyreg's registry, which earlier code can fill, decides "
                             "what is imported",
                          ev->number));
    case BRINE_EV_ANOMALY:
        return report(j, ev, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_LOW, "", "", "anomaly",
                      fmt(j, "%s", ev->message));
    case BRINE_EV_TRAILING:
        return report(j, ev, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_LOW, "", "", "trailing data",
                      fmt(j, "%" PRId64 " bytes after the last STOP are not a pickle and were not analysed",
                          ev->number));
    case BRINE_EV_NESTED: return judge_nested(j, ev);
    default: return 0;
    }
}

/* ---- joblib: the array bytes after a NumpyArrayWrapper --------------------------- */

static const brine_value *dict_get(const brine_value *d, const char *key)
{
    if (!d || d->kind != BRINE_V_DICT)
        return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < d->u.dict.keys.len; i++) {
        const brine_value *k = d->u.dict.keys.items[i];
        if (k->kind == BRINE_V_STR && k->u.s.n == n && memcmp(k->u.s.p, key, n) == 0)
            return d->u.dict.vals.items[i];
    }
    return NULL;
}

static bool is_global(const brine_value *g, const char *mod, const char *name)
{
    return g && g->kind == BRINE_V_GLOBAL && !g->dynamic && g->u.g.module->u.s.n == strlen(mod) &&
           memcmp(g->u.g.module->u.s.p, mod, strlen(mod)) == 0 && g->u.g.name->u.s.n == strlen(name) &&
           memcmp(g->u.g.name->u.s.p, name, strlen(name)) == 0;
}

/* numpy.dtype(typestr, align, copy) plus its BUILD state: item size, and
 * whether it holds Python objects (then joblib pickles the array instead). */
static bool dtype_info(const brine_value *dt, int64_t *itemsize, bool *hasobject, int depth)
{
    if (!dt || depth > 8 || (dt->kind != BRINE_V_CALL && dt->kind != BRINE_V_NEW) ||
        !is_global(dt->u.c.callee, "numpy", "dtype") || dt->u.c.args->kind != BRINE_V_TUPLE ||
        dt->u.c.args->u.seq.len < 1 || dt->u.c.args->u.seq.items[0]->kind != BRINE_V_STR)
        return false;
    const brine_value *ts = dt->u.c.args->u.seq.items[0];
    char t[32];
    size_t n = ts->u.s.n < sizeof t - 1 ? ts->u.s.n : sizeof t - 1;
    memcpy(t, ts->u.s.p, n);
    t[n] = 0;
    const brine_value *state = NULL;
    for (const brine_objop *op = brine_value_ops(dt); op; op = op->next)
        if (op->kind == BRINE_OPK_BUILD)
            state = op->a;
    int64_t elsize = -1;
    if (state && state->kind == BRINE_V_TUPLE && state->u.seq.len >= 6 && state->u.seq.items[5]->kind == BRINE_V_INT)
        elsize = state->u.seq.items[5]->u.i;
    *hasobject = t[0] == 'O';
    if (state && state->kind == BRINE_V_TUPLE && state->u.seq.len >= 5) {
        const brine_value *fields = state->u.seq.items[4];
        if (fields->kind == BRINE_V_DICT)
            for (uint32_t i = 0; i < fields->u.dict.vals.len; i++) {
                const brine_value *f = fields->u.dict.vals.items[i];
                int64_t sub;
                bool obj = false;
                if (f->kind == BRINE_V_TUPLE && f->u.seq.len >= 1 && dtype_info(f->u.seq.items[0], &sub, &obj, depth + 1) &&
                    obj)
                    *hasobject = true;
            }
    }
    if (elsize > 0) {
        *itemsize = elsize;
        return true;
    }
    if (t[0] == 'b' && t[1] == '1' && !t[2]) {
        *itemsize = 1;
        return true;
    }
    char *end;
    long long digits = strtoll(t + 1, &end, 10);
    if (*end || digits <= 0 || !strchr("biufcmMOSUV", t[0]))
        return false;
    *itemsize = t[0] == 'U' ? digits * 4 : digits;
    return true;
}

static int64_t joblib_after_build(void *user, const brine_value *target, const brine_value *state, const uint8_t *data,
                                  size_t len, size_t pos, const char **msg)
{
    judge *j = user;
    if (target->kind != BRINE_V_NEW && target->kind != BRINE_V_CALL)
        return 0;
    const brine_value *cls = target->u.c.callee;
    if (target->kind == BRINE_V_CALL && is_global(cls, "copyreg", "_reconstructor") &&
        target->u.c.args->kind == BRINE_V_TUPLE && target->u.c.args->u.seq.len >= 1)
        cls = target->u.c.args->u.seq.items[0];
    if (!is_global(cls, "joblib.numpy_pickle", "NumpyArrayWrapper"))
        return 0;
    const brine_value *shape = dict_get(state, "shape");
    int64_t itemsize = 0;
    bool hasobject = false;
    if (!shape || shape->kind != BRINE_V_TUPLE || !dtype_info(dict_get(state, "dtype"), &itemsize, &hasobject, 0)) {
        *msg = "a joblib NumpyArrayWrapper whose shape or dtype brine cannot read";
        return -1;
    }
    if (hasobject) { /* joblib pickled the object array right here */
        char at[40];
        snprintf(at, sizeof at, "@0x%zx!<object-array>", pos);
        char *loc = brine_loc_join(j->location, "", at);
        size_t end = pos;
        if (loc) {
            brine_scan_pickle(j->ctx, data, len, pos, loc, j->depth + 1, BRINE_PICKLE_FIRST_ONLY, &end);
            free(loc);
        }
        if (end <= pos) {
            *msg = "the object array joblib pickled after a NumpyArrayWrapper is malformed";
            return -1;
        }
        if (!j->skipped)
            j->first_skip = pos;
        j->skipped += end - pos;
        return (int64_t)(end - pos);
    }
    uint64_t count = 1, total;
    for (uint32_t i = 0; i < shape->u.seq.len; i++) {
        const brine_value *d = shape->u.seq.items[i];
        if (d->kind != BRINE_V_INT || d->u.i < 0 || (d->u.i && count > UINT64_MAX / (uint64_t)d->u.i)) {
            *msg = "a joblib array shape that is not a tuple of sizes";
            return -1;
        }
        count *= (uint64_t)d->u.i;
    }
    if (count > UINT64_MAX / (uint64_t)itemsize) {
        *msg = "a joblib array larger than any file";
        return -1;
    }
    total = count * (uint64_t)itemsize;
    const brine_value *align = dict_get(state, "numpy_array_alignment_bytes");
    if (align && align->kind != BRINE_V_NONE) { /* one byte of padding length, then the padding */
        if (pos >= len) {
            *msg = "joblib array padding runs past the end";
            return -1;
        }
        uint64_t pad = (uint64_t)data[pos] + 1;
        if (total > UINT64_MAX - pad) {
            *msg = "a joblib array larger than any file";
            return -1;
        }
        total += pad;
    }
    if (total > len - pos) {
        *msg = "joblib array data runs past the end of the stream";
        return -1;
    }
    if (!j->skipped)
        j->first_skip = pos;
    j->skipped += total;
    return (int64_t)total;
}

/* ---- one pickle stream ------------------------------------------------------------- */

static int scan_pickle(brine_ctx *c, const uint8_t *data, size_t len, size_t start, const char *location,
                       unsigned depth, unsigned flags, size_t *end, uint64_t report_from)
{
    judge j = {.p = c->policy, .ctx = c, .location = location, .depth = depth, .data = data, .len = len,
               .flags = flags, .report_from = report_from, .base = start, .cb = c->cb, .user = c->user};
    brine_arena_init(&j.scratch, 1 << 20);
    brine_arena arena;
    brine_arena_init(&arena, c->s->max_bytes);
    brine_vm_config cfg = {.settings = c->s, .arena = &arena, .on_event = on_event, .user = &j,
                           .flags = BRINE_VM_NESTED | ((flags & BRINE_PICKLE_FIRST_ONLY) ? BRINE_VM_FIRST_ONLY : 0),
                           .after_build = (flags & BRINE_PICKLE_JOBLIB) ? joblib_after_build : NULL, .start = start};
    brine_vm_result res;
    int rc = brine_vm_run(data, len, &cfg, &res);
    if (end) /* where the analysed pickles end (FIRST_ONLY: the first one) */
        *end = res.status == BRINE_STATUS_COMPLETE && res.pickles ? (size_t)res.last_end : start;
    brine_status st = res.status;
    const char *err = st != BRINE_STATUS_COMPLETE ? res.error_message : NULL;
    if (st == BRINE_STATUS_MALFORMED && err == res.error_buf)
        err = "invalid load key"; /* error_buf dies with res; keep a static text */
    if (len <= start) {
        st = BRINE_STATUS_MALFORMED;
        err = "empty input: not a pickle";
    }
    if (!(flags & BRINE_PICKLE_QUIET_STATUS)) {
        c->streams++;
        c->pickles += res.pickles;
        brine_stream_result sr = {location, "pickle", j.verdict, st, err, res.error_offset - start, res.pickles,
                                  j.findings, 0};
        if (c->cb && c->cb->stream && !c->stopped && c->cb->stream(c->user, &sr))
            c->stopped = true;
        brine_ctx_merge(c, j.verdict, st, err, res.error_offset - start);
    } else {
        brine_ctx_merge(c, j.verdict, BRINE_STATUS_COMPLETE, NULL, 0);
    }
    bool skipped = j.skipped > 0;
    uint64_t first_skip = j.first_skip;
    brine_arena_free(&arena);
    brine_arena_free(&j.scratch);
    free(j.seen);
    if (rc == BRINE_ERR_NOMEM)
        c->nomem = true;
    /* joblib's reading skipped array bytes; pickle.load would read them as
     * opcodes. Scan that reading too; only what it finds counts (that it
     * breaks on the array bytes is expected). */
    if (skipped && (flags & BRINE_PICKLE_JOBLIB) && !c->stopped) {
        char *loc = brine_loc_join(location, "", "!<as-plain-pickle>");
        if (loc) {
            scan_pickle(c, data, len, start, loc, depth, (flags & ~BRINE_PICKLE_JOBLIB) | BRINE_PICKLE_QUIET_STATUS, NULL,
                        first_skip);
            free(loc);
        }
    }
    return c->stopped ? BRINE_ERR_CALLBACK : 0;
}

int brine_scan_pickle(brine_ctx *c, const uint8_t *data, size_t len, size_t start, const char *location,
                      unsigned depth, unsigned flags, size_t *end)
{
    return scan_pickle(c, data, len, start, location, depth, flags, end, 0);
}
