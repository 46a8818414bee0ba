/* The default policy embedded at build time (tools/policy_gen.c) is exactly the
 * policy the YAML of rules/ compiles to at run time:
 *   1. structurally: every allow entry in load order (name, permissions,
 *      factory, every call rule with its arity, kwargs and argument
 *      constraints, every build rule, the provenance pack/file/line/column),
 *      every hash bucket's chain, every deny (except lists, severity, reason,
 *      provenance), persistent-id rule, dunder component and pack (name,
 *      description, file, text);
 *   2. brine_policy_identity (hash and packs) and brine_policy_write (the
 *      whole effective policy, byte for byte) agree;
 *   3. every file of the corpus scans to the same findings (every field,
 *      provenance included), stream results and file result under both.
 * test_embedded CORPUS_DIR */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static int failures, checks;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    if (failures++ < 20) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "FAIL: ");
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\n");
        va_end(ap);
    }
}

static bool seq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void same_str(const char *a, const char *b, const char *what, const char *ctx)
{
    checks++;
    if (!seq(a, b))
        fail("%s: %s differs: embedded '%s', YAML '%s'", ctx, what, a ? a : "(null)", b ? b : "(null)");
}
#define SAME_STR(a, b, what, ctx) same_str((a), (b), (what), (ctx))
#define SAME_INT(a, b, what, ctx)                                                                          \
    do {                                                                                                   \
        checks++;                                                                                          \
        if ((long long)(a) != (long long)(b))                                                              \
            fail("%s: %s differs: embedded %lld, YAML %lld", ctx, what, (long long)(a), (long long)(b));   \
    } while (0)

static void same_where(const brine_where *a, const brine_where *b, const char *ctx)
{
    SAME_STR(a->pack, b->pack, "pack", ctx);
    SAME_STR(a->file, b->file, "file", ctx);
    SAME_INT(a->line, b->line, "line", ctx);
    SAME_INT(a->column, b->column, "column", ctx);
}

static void same_constraint(const brine_constraint *a, const brine_constraint *b, const char *ctx)
{
    checks++;
    if (!a || !b) {
        if (a != b)
            fail("%s: constraint present in one form only", ctx);
        return;
    }
    SAME_INT(a->kind, b->kind, "constraint kind", ctx);
    SAME_INT(a->types, b->types, "constraint types", ctx);
    SAME_INT(a->perm, b->perm, "constraint perm", ctx);
    SAME_INT(a->nvalues, b->nvalues, "constraint values", ctx);
    SAME_INT(!a->values, !b->values, "constraint values array", ctx);
    for (size_t i = 0; i < a->nvalues && i < b->nvalues; i++) {
        const brine_scalar *x = &a->values[i], *y = &b->values[i];
        SAME_INT(x->kind, y->kind, "value kind", ctx);
        SAME_INT(x->i, y->i, "value int", ctx);
        checks++;
        if (memcmp(&x->f, &y->f, sizeof x->f) != 0)
            fail("%s: value float differs", ctx);
        SAME_INT(x->n, y->n, "value length", ctx);
        checks++;
        if (!x->s != !y->s || (x->s && memcmp(x->s, y->s, x->n) != 0))
            fail("%s: value string differs", ctx);
    }
    SAME_INT(a->nkids, b->nkids, "constraint kids", ctx);
    SAME_INT(!a->kids, !b->kids, "constraint kids array", ctx);
    for (size_t i = 0; i < a->nkids && i < b->nkids; i++)
        same_constraint(a->kids[i], b->kids[i], ctx);
}

static const char *allow_name(const brine_allow *e, char *buf, size_t n)
{
    if (!e)
        return "(none)";
    snprintf(buf, n, "%s:%s", e->module, e->name);
    return buf;
}

static void same_allow(const brine_allow *a, const brine_allow *b)
{
    char ctx[600], x[600], y[600];
    snprintf(ctx, sizeof ctx, "allow %s:%s", b->module, b->name);
    SAME_STR(a->module, b->module, "module", ctx);
    SAME_STR(a->name, b->name, "name", ctx);
    SAME_INT(a->perms, b->perms, "perms", ctx);
    SAME_INT(a->factory, b->factory, "factory", ctx);
    same_where(&a->where, &b->where, ctx);
    SAME_STR(allow_name(a->next_in_bucket, x, sizeof x), allow_name(b->next_in_bucket, y, sizeof y),
             "next in bucket", ctx);
    const brine_callrule *r = a->calls, *s = b->calls;
    for (; r && s; r = r->next, s = s->next) {
        SAME_INT(r->any_args, s->any_args, "call any_args", ctx);
        SAME_INT(r->arity_min, s->arity_min, "call arity min", ctx);
        SAME_INT(r->arity_max, s->arity_max, "call arity max", ctx);
        SAME_INT(r->kwargs, s->kwargs, "call kwargs", ctx);
        SAME_INT(r->nargs, s->nargs, "call args", ctx);
        SAME_INT(!r->args, !s->args, "call args array", ctx);
        for (size_t i = 0; i < r->nargs && i < s->nargs; i++)
            same_constraint(r->args[i], s->args[i], ctx);
    }
    SAME_INT(!r, !s, "number of call rules", ctx);
    const brine_buildrule *u = a->builds, *v = b->builds;
    for (; u && v; u = u->next, v = v->next)
        same_constraint(u->state, v->state, ctx);
    SAME_INT(!u, !v, "number of build rules", ctx);
}

static void same_policy(const brine_policy *a, const brine_policy *b)
{
    SAME_INT(a->nallow, b->nallow, "allow entries", "policy");
    SAME_INT(a->nbuckets, b->nbuckets, "hash buckets", "policy");
    size_t n = 0;
    const brine_allow *e = a->allows, *f = b->allows;
    for (; e && f; e = e->next, f = f->next, n++)
        same_allow(e, f);
    SAME_INT(!e, !f, "length of the allow list", "policy");
    SAME_INT(n, b->nallow, "allow list against its count", "policy");
    for (size_t i = 0; i < a->nbuckets && i < b->nbuckets; i++) {
        char x[600], y[600], ctx[64];
        snprintf(ctx, sizeof ctx, "bucket %zu", i);
        SAME_STR(allow_name(a->buckets[i], x, sizeof x), allow_name(b->buckets[i], y, sizeof y), "head", ctx);
    }
    /* every entry is found by name through the embedded index */
    for (f = b->allows; f; f = f->next) {
        const brine_allow *g = brine_policy_find(a, (const uint8_t *)f->module, strlen(f->module),
                                                 (const uint8_t *)f->name, strlen(f->name));
        checks++;
        if (!g || strcmp(g->module, f->module) || strcmp(g->name, f->name))
            fail("allow %s:%s not found through the embedded index", f->module, f->name);
    }
    const brine_deny *d = a->denies, *g = b->denies;
    for (; d && g; d = d->next, g = g->next) {
        char ctx[600];
        snprintf(ctx, sizeof ctx, "deny %s:%s", g->module, g->name ? g->name : "");
        SAME_STR(d->module, g->module, "module", ctx);
        SAME_STR(d->name, g->name, "name", ctx);
        SAME_INT(d->submodules, g->submodules, "submodules", ctx);
        SAME_INT(d->severity, g->severity, "severity", ctx);
        SAME_STR(d->reason, g->reason, "reason", ctx);
        SAME_INT(d->nexcept, g->nexcept, "except", ctx);
        for (size_t i = 0; i < d->nexcept && i < g->nexcept; i++) {
            SAME_STR(d->except_module[i], g->except_module[i], "except module", ctx);
            SAME_STR(d->except_name[i], g->except_name[i], "except name", ctx);
        }
        same_where(&d->where, &g->where, ctx);
        SAME_INT(d->modn, g->modn, "module length (index)", ctx);
        SAME_INT(d->ord, g->ord, "load order (index)", ctx);
        SAME_INT(!d->next_in_bucket, !g->next_in_bucket, "next in bucket", ctx);
        if (d->next_in_bucket && g->next_in_bucket)
            SAME_INT(d->next_in_bucket->ord, g->next_in_bucket->ord, "next in bucket", ctx);
    }
    SAME_INT(!d, !g, "number of denies", "policy");
    SAME_INT(a->ndeny_buckets, b->ndeny_buckets, "deny hash buckets", "policy");
    SAME_INT(a->ndenies, b->ndenies, "indexed denies", "policy");
    for (size_t i = 0; i < a->ndeny_buckets && i < b->ndeny_buckets; i++) {
        SAME_INT(!a->deny_buckets[i], !b->deny_buckets[i], "deny bucket head", "policy");
        if (a->deny_buckets[i] && b->deny_buckets[i])
            SAME_INT(a->deny_buckets[i]->ord, b->deny_buckets[i]->ord, "deny bucket head", "policy");
    }
    /* every deny is found by its own name through the embedded index */
    for (g = b->denies; g; g = g->next) {
        const char *nm = g->name ? (strcmp(g->name, "*") ? g->name : "x") : "x";
        checks++;
        if (!brine_policy_denied(a, (const uint8_t *)g->module, strlen(g->module), (const uint8_t *)nm, strlen(nm)) &&
            !g->nexcept)
            fail("deny %s:%s not found through the embedded index", g->module, nm);
    }
    const brine_persid_rule *p = a->persids, *q = b->persids;
    for (; p && q; p = p->next, q = q->next) {
        SAME_STR(p->name, q->name, "name", "persistent id");
        same_constraint(p->match, q->match, q->name);
        SAME_INT(p->resolves_to, q->resolves_to, "resolves_to", q->name);
        same_where(&p->where, &q->where, q->name);
    }
    SAME_INT(!p, !q, "number of persistent-id rules", "policy");
    SAME_INT(a->ndunders, b->ndunders, "dunder components", "policy");
    for (size_t i = 0; i < a->ndunders && i < b->ndunders; i++)
        SAME_STR(a->dunders[i], b->dunders[i], "dunder component", "policy");
    const brine_pack *k = a->packs, *l = b->packs;
    for (; k && l; k = k->next, l = l->next) {
        SAME_STR(k->name, l->name, "name", "pack");
        SAME_STR(k->description, l->description, "description", l->name);
        SAME_STR(k->file, l->file, "file", l->name);
        SAME_STR(k->text, l->text, "text", l->name);
    }
    SAME_INT(!k, !l, "number of packs", "policy");
}

/* ---- the effective policy as text ---------------------------------------------- */

typedef struct text {
    char *p;
    size_t n, cap;
} text;

static void tput(text *t, const char *s, size_t n)
{
    if (t->n + n + 1 > t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 1 << 16;
        while (nc < t->n + n + 1)
            nc *= 2;
        char *np = realloc(t->p, nc);
        if (!np) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        t->p = np;
        t->cap = nc;
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n] = 0;
}

static void tprintf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tprintf(text *t, const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (k > 0)
        tput(t, buf, (size_t)k < sizeof buf ? (size_t)k : sizeof buf - 1);
}

static int write_cb(void *user, const char *s, size_t n)
{
    tput(user, s, n);
    return 0;
}

/* ---- scanning the corpus ------------------------------------------------------- */

static int on_finding(void *user, const brine_finding *f)
{
    tprintf(user, "finding %s @%llu #%llu %s %s v%d s%d [%s] [%s] [%s] [%s] %s %s %s:%u\n", f->location,
            (unsigned long long)f->offset, (unsigned long long)f->opindex, f->opcode, f->kind, (int)f->verdict,
            (int)f->severity, f->name, f->call, f->rule, f->message, f->rule_id, f->rule_pack, f->rule_file,
            f->rule_line);
    return 0;
}

static int on_stream(void *user, const brine_stream_result *r)
{
    tprintf(user, "stream %s %s v%d s%d %s @%llu p%llu f%llu\n", r->location, r->format, (int)r->verdict,
            (int)r->status, r->error ? r->error : "-", (unsigned long long)r->error_offset,
            (unsigned long long)r->pickles, (unsigned long long)r->findings);
    return 0;
}

static brine_scanner *sc_embedded, *sc_yaml;
static size_t nfiles, nfindings;

static void scan_with(brine_scanner *s, const char *path, text *t)
{
    brine_stream_result r;
    int rc = brine_scanner_scan_file(s, path, &r);
    tprintf(t, "rc %d\n", rc);
    if (rc >= 0 || rc == BRINE_ERR_CALLBACK)
        on_stream(t, &r);
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type != FTW_F)
        return 0;
    text a = {0}, b = {0};
    brine_scanner_set_callbacks(sc_embedded, &(brine_scan_callbacks){on_finding, on_stream, NULL}, &a);
    brine_scanner_set_callbacks(sc_yaml, &(brine_scan_callbacks){on_finding, on_stream, NULL}, &b);
    scan_with(sc_embedded, path, &a);
    scan_with(sc_yaml, path, &b);
    checks++;
    nfiles++;
    for (const char *s = b.p; s && (s = strstr(s, "finding ")); s++)
        nfindings++;
    if (!seq(a.p, b.p))
        fail("%s scans differently:\n--- embedded\n%s--- YAML\n%s", path, a.p ? a.p : "", b.p ? b.p : "");
    free(a.p);
    free(b.p);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_embedded CORPUS_DIR\n");
        return 2;
    }
    brine_policy *emb = NULL, *yml = NULL;
    brine_diag d;
    if (brine_policy_compile(&emb, NULL, 0, &d) != 0 || brine_policy_compile_yaml(&yml, NULL, 0, &d) != 0) {
        fprintf(stderr, "the default policy does not compile: %s\n", d.message);
        return 1;
    }
    checks++;
    if (emb != (brine_policy *)&brine_embedded_policy)
        fail("brine_policy_compile with no files is not the embedded policy");
    checks++;
    if (yml == emb)
        fail("brine_policy_compile_yaml returned the embedded policy");
    same_policy(emb, yml);

    char h1[17], h2[17], p1[4096], p2[4096];
    brine_policy_identity(emb, h1, p1, sizeof p1);
    brine_policy_identity(yml, h2, p2, sizeof p2);
    SAME_STR(h1, h2, "identity hash", "policy");
    /* the precomputed identity is the one the embedded tables hash to */
    brine_policy copy = brine_embedded_policy;
    copy.identity = NULL;
    char h3[17];
    brine_policy_identity(&copy, h3, NULL, 0);
    checks++;
    if (!brine_embedded_policy.identity || strcmp(h3, brine_embedded_policy.identity) != 0)
        fail("the precomputed identity %s is not the hash of the embedded tables (%s)",
             brine_embedded_policy.identity ? brine_embedded_policy.identity : "(none)", h3);
    SAME_STR(p1, p2, "identity packs", "policy");
    text w1 = {0}, w2 = {0};
    brine_policy_write(emb, write_cb, &w1);
    brine_policy_write(yml, write_cb, &w2);
    checks++;
    if (!seq(w1.p, w2.p) || w1.n == 0)
        fail("brine_policy_write differs (%zu and %zu bytes)", w1.n, w2.n);
    free(w1.p);
    free(w2.p);

    if (brine_scanner_create(&sc_embedded, emb, NULL) != 0 || brine_scanner_create(&sc_yaml, yml, NULL) != 0) {
        fprintf(stderr, "cannot create scanners\n");
        return 1;
    }
    if (nftw(argv[1], visit, 16, FTW_PHYS) != 0) {
        perror(argv[1]);
        return 1;
    }
    checks++;
    if (nfiles < 100)
        fail("only %zu corpus files scanned", nfiles);
    brine_scanner_destroy(sc_embedded);
    brine_scanner_destroy(sc_yaml);
    brine_policy_destroy(emb); /* a no-op */
    brine_policy_destroy(yml);
    printf("embedded policy: %zu allow entries, identity %s; %zu corpus files, %zu findings, the same under both\n",
           ((const brine_policy *)&brine_embedded_policy)->nallow, h1, nfiles, nfindings);
    printf("policy-embedded: %d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
