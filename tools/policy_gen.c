/* Build-time generator of the embedded default policy:
 *
 *     policy_gen OUT.c
 *
 * compiles the built-in bundle from the YAML packs in rules/ (the very code
 * `brine scan --policy FILE` runs: analyzer/policy/policy_yaml.c, linked into
 * this tool with the packs' text from tools/embed_rules.py) and writes the
 * compiled structures of policy.h as static, const C tables: every allow entry
 * (with its call and build rules and their constraints), deny, persistent-id
 * rule, dunder component and pack, with the same load order, the same
 * provenance (pack, file, line, column) and the same hash buckets (the FNV-1a
 * index of policy.c, precomputed here), so brine_policy_find walks them as it
 * walks a policy compiled at run time. Loading the default policy is then
 * taking the address of `brine_embedded_policy`: libyaml is not run.
 *
 * The build regenerates OUT.c whenever a rules/ YAML file changes; nothing
 * generated is committed. test/unit/test_embedded.c compiles the YAML at run
 * time and compares the two forms entry by entry. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

/* ---- growable text -------------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void die(const char *what)
{
    fprintf(stderr, "policy_gen: %s\n", what);
    exit(1);
}

static void bput(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bput(buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            die("vsnprintf failed");
        if (b->p && (size_t)k < b->cap - b->n) {
            b->n += (size_t)k;
            return;
        }
        size_t nc = b->cap ? b->cap * 2 : 1 << 16;
        while (nc < b->n + (size_t)k + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np)
            die("out of memory");
        b->p = np;
        b->cap = nc;
    }
}

/* ---- the string pool: every distinct string once, referenced as S + offset ------ */

typedef struct sent {
    const char *s;
    size_t n, off;
} sent;

static sent *stab;
static size_t stab_cap, stab_n;
static buf pool;     /* the C text of S */
static size_t pool_size; /* bytes in S */

static uint64_t fnv(const void *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const uint8_t *)p)[i]) * 1099511628211ULL;
    return h;
}

static void pool_bytes(const char *s, size_t n)
{
    bput(&pool, "  \"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            bput(&pool, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f && c != '?')
            bput(&pool, "%c", c);
        else
            bput(&pool, "\\%03o", c);
    }
    bput(&pool, "\\0\"\n");
    pool_size += n + 1;
}

static size_t str_off(const char *s, size_t n)
{
    if (stab_n * 2 >= stab_cap) {
        size_t nc = stab_cap ? stab_cap * 2 : 1 << 16;
        sent *nt = calloc(nc, sizeof *nt);
        if (!nt)
            die("out of memory");
        for (size_t i = 0; i < stab_cap; i++)
            if (stab[i].s) {
                size_t k = fnv(stab[i].s, stab[i].n) & (nc - 1);
                while (nt[k].s)
                    k = (k + 1) & (nc - 1);
                nt[k] = stab[i];
            }
        free(stab);
        stab = nt;
        stab_cap = nc;
    }
    size_t k = fnv(s, n) & (stab_cap - 1);
    for (; stab[k].s; k = (k + 1) & (stab_cap - 1))
        if (stab[k].n == n && memcmp(stab[k].s, s, n) == 0)
            return stab[k].off;
    stab[k] = (sent){s, n, pool_size};
    stab_n++;
    pool_bytes(s, n);
    return stab[k].off;
}

/* A C expression for a string (or NULL). */
static void str(buf *b, const char *s)
{
    if (!s)
        bput(b, "NULL");
    else
        bput(b, "(char *)S + %zu", str_off(s, strlen(s)));
}

static void strn(buf *b, const char *s, size_t n)
{
    if (!s)
        bput(b, "NULL");
    else
        bput(b, "(char *)S + %zu", str_off(s, n));
}

/* ---- pointer -> index maps, one per kind of object ------------------------------------ */

typedef struct pmap {
    const void **k;
    size_t *v;
    size_t cap, n;
} pmap;

static void pm_put(pmap *m, const void *p, size_t idx)
{
    if (m->n * 2 >= m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 1 << 12;
        const void **nk = calloc(nc, sizeof *nk);
        size_t *nv = calloc(nc, sizeof *nv);
        if (!nk || !nv)
            die("out of memory");
        for (size_t i = 0; i < m->cap; i++)
            if (m->k[i]) {
                size_t j = fnv(&m->k[i], sizeof m->k[i]) & (nc - 1);
                while (nk[j])
                    j = (j + 1) & (nc - 1);
                nk[j] = m->k[i];
                nv[j] = m->v[i];
            }
        free(m->k);
        free(m->v);
        m->k = nk;
        m->v = nv;
        m->cap = nc;
    }
    size_t j = fnv(&p, sizeof p) & (m->cap - 1);
    while (m->k[j]) {
        if (m->k[j] == p)
            die("an object is shared: the generator expects a tree");
        j = (j + 1) & (m->cap - 1);
    }
    m->k[j] = p;
    m->v[j] = idx;
    m->n++;
}

static size_t pm_get(const pmap *m, const void *p)
{
    if (!m->cap)
        die("pointer to an unknown object");
    size_t j = fnv(&p, sizeof p) & (m->cap - 1);
    for (; m->k[j]; j = (j + 1) & (m->cap - 1))
        if (m->k[j] == p)
            return m->v[j];
    die("pointer to an unknown object");
    return 0;
}

/* ---- pools ----------------------------------------------------------------------------- */

static buf tA, tR, tBR, tC, tCP, tV, tD, tEXM, tEXN, tP, tK, tB, tDB, tDU;
static size_t nA, nR, nBR, nC, nCP, nV, nD, nEX, nP, nK, nDU;
static pmap mA, mD, mP, mK;

static void where(buf *b, const brine_where *w)
{
    bput(b, "{.pack = ");
    str(b, w->pack);
    bput(b, ", .file = ");
    str(b, w->file);
    bput(b, ", .line = %u, .column = %u}", w->line, w->column);
}

static void i64(buf *b, int64_t v)
{
    if (v == INT64_MIN)
        bput(b, "(-INT64_C(9223372036854775807) - 1)");
    else
        bput(b, "INT64_C(%" PRId64 ")", v);
}

static void dbl(buf *b, double f)
{
    if (isnan(f))
        bput(b, "%s__builtin_nan(\"\")", signbit(f) ? "-" : "");
    else if (isinf(f))
        bput(b, "%s__builtin_inf()", f < 0 ? "-" : "");
    else
        bput(b, "%a", f);
}

static size_t constraint(const brine_constraint *c);

/* A run of constraint pointers in CP; returns its first index. */
static size_t cp_array(brine_constraint *const *a, size_t n, bool *null)
{
    *null = a == NULL;
    if (!a)
        return 0;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        die("out of memory");
    for (size_t i = 0; i < n; i++)
        idx[i] = constraint(a[i]);
    size_t first = nCP;
    for (size_t i = 0; i < n; i++, nCP++)
        bput(&tCP, "  /* %zu */ (brine_constraint *)&C[%zu],\n", nCP, idx[i]);
    if (!n) { /* the YAML loader allocates a one-element array for an empty list */
        bput(&tCP, "  /* %zu */ NULL,\n", nCP);
        nCP++;
    }
    free(idx);
    return first;
}

static size_t constraint(const brine_constraint *c)
{
    bool vnull = c->values == NULL, knull;
    size_t v0 = nV;
    for (size_t i = 0; i < c->nvalues; i++, nV++) {
        const brine_scalar *s = &c->values[i];
        bput(&tV, "  {.kind = %u, .i = ", s->kind);
        i64(&tV, s->i);
        bput(&tV, ", .f = ");
        dbl(&tV, s->f);
        bput(&tV, ", .s = ");
        strn(&tV, s->s, s->n);
        bput(&tV, ", .n = %zu},\n", s->n);
    }
    size_t k0 = cp_array(c->kids, c->nkids, &knull);
    size_t me = nC++;
    bput(&tC, "  /* %zu */ {.kind = (brine_ckind)%d, .types = 0x%" PRIx32 "u, .perm = %d, .values = ", me,
         (int)c->kind, c->types, c->perm);
    if (vnull)
        bput(&tC, "NULL");
    else
        bput(&tC, "(brine_scalar *)&V[%zu]", v0);
    bput(&tC, ", .nvalues = %zu, .kids = ", c->nvalues);
    if (knull)
        bput(&tC, "NULL");
    else
        bput(&tC, "(brine_constraint **)&CP[%zu]", k0);
    bput(&tC, ", .nkids = %zu},\n", c->nkids);
    return me;
}

/* Returns the index of the first rule of the list (in R); rules of one list are consecutive. */
static size_t callrules(const brine_callrule *r)
{
    size_t n = 0;
    for (const brine_callrule *x = r; x; x = x->next)
        n++;
    size_t *argi = malloc((n ? n : 1) * sizeof *argi);
    bool *argnull = malloc((n ? n : 1) * sizeof *argnull);
    if (!argi || !argnull)
        die("out of memory");
    size_t i = 0;
    for (const brine_callrule *x = r; x; x = x->next, i++)
        argi[i] = cp_array(x->args, x->nargs, &argnull[i]);
    size_t first = nR;
    i = 0;
    for (const brine_callrule *x = r; x; x = x->next, i++, nR++) {
        bput(&tR, "  /* %zu */ {.any_args = %s, .arity_min = ", nR, x->any_args ? "true" : "false");
        i64(&tR, x->arity_min);
        bput(&tR, ", .arity_max = ");
        i64(&tR, x->arity_max);
        bput(&tR, ", .args = ");
        if (argnull[i])
            bput(&tR, "NULL");
        else
            bput(&tR, "(brine_constraint **)&CP[%zu]", argi[i]);
        bput(&tR, ", .nargs = %zu, .kwargs = %s, .next = ", x->nargs, x->kwargs ? "true" : "false");
        if (x->next)
            bput(&tR, "(brine_callrule *)&R[%zu]},\n", nR + 1);
        else
            bput(&tR, "NULL},\n");
    }
    free(argi);
    free(argnull);
    return first;
}

static size_t buildrules(const brine_buildrule *r)
{
    size_t n = 0;
    for (const brine_buildrule *x = r; x; x = x->next)
        n++;
    size_t *st = malloc((n ? n : 1) * sizeof *st);
    if (!st)
        die("out of memory");
    size_t i = 0;
    for (const brine_buildrule *x = r; x; x = x->next, i++)
        st[i] = x->state ? constraint(x->state) : (size_t)-1;
    size_t first = nBR;
    i = 0;
    for (const brine_buildrule *x = r; x; x = x->next, i++, nBR++) {
        bput(&tBR, "  /* %zu */ {.state = ", nBR);
        if (st[i] == (size_t)-1)
            bput(&tBR, "NULL, .next = ");
        else
            bput(&tBR, "(brine_constraint *)&C[%zu], .next = ", st[i]);
        if (x->next)
            bput(&tBR, "(brine_buildrule *)&BR[%zu]},\n", nBR + 1);
        else
            bput(&tBR, "NULL},\n");
    }
    free(st);
    return first;
}

static void allow_ref(buf *b, const brine_allow *e)
{
    if (e)
        bput(b, "(brine_allow *)&A[%zu]", pm_get(&mA, e));
    else
        bput(b, "NULL");
}

static void emit_allow(const brine_allow *e)
{
    size_t r0 = e->calls ? callrules(e->calls) : 0, b0 = e->builds ? buildrules(e->builds) : 0;
    bput(&tA, "  /* %zu */ {.module = ", pm_get(&mA, e));
    str(&tA, e->module);
    bput(&tA, ", .name = ");
    str(&tA, e->name);
    bput(&tA, ", .perms = %d, .factory = %s, .calls = ", e->perms, e->factory ? "true" : "false");
    if (e->calls)
        bput(&tA, "(brine_callrule *)&R[%zu], .builds = ", r0);
    else
        bput(&tA, "NULL, .builds = ");
    if (e->builds)
        bput(&tA, "(brine_buildrule *)&BR[%zu], .where = ", b0);
    else
        bput(&tA, "NULL, .where = ");
    where(&tA, &e->where);
    bput(&tA, ", .next_in_bucket = ");
    allow_ref(&tA, e->next_in_bucket);
    bput(&tA, ", .next = ");
    allow_ref(&tA, e->next);
    bput(&tA, "},\n");
}

static void emit_deny(const brine_deny *d)
{
    size_t ex = nEX;
    for (size_t i = 0; i < d->nexcept; i++, nEX++) {
        bput(&tEXM, "  /* %zu */ ", nEX);
        str(&tEXM, d->except_module[i]);
        bput(&tEXM, ",\n");
        bput(&tEXN, "  /* %zu */ ", nEX);
        str(&tEXN, d->except_name[i]);
        bput(&tEXN, ",\n");
    }
    bput(&tD, "  /* %zu */ {.module = ", pm_get(&mD, d));
    str(&tD, d->module);
    bput(&tD, ", .name = ");
    str(&tD, d->name);
    bput(&tD, ", .submodules = %s, .severity = (brine_severity)%d, .reason = ", d->submodules ? "true" : "false",
         (int)d->severity);
    str(&tD, d->reason);
    if (d->except_module)
        bput(&tD, ", .except_module = (char **)&EXM[%zu], .except_name = (char **)&EXN[%zu]", ex, ex);
    bput(&tD, ", .nexcept = %zu, .where = ", d->nexcept);
    where(&tD, &d->where);
    bput(&tD, ", .next = ");
    if (d->next)
        bput(&tD, "(brine_deny *)&D[%zu]", pm_get(&mD, d->next));
    else
        bput(&tD, "NULL");
    /* the deny index (brine_policy_add_deny) */
    bput(&tD, ", .modn = %zu, .ord = %u, .next_in_bucket = ", d->modn, (unsigned)d->ord);
    if (d->next_in_bucket)
        bput(&tD, "(brine_deny *)&D[%zu]", pm_get(&mD, d->next_in_bucket));
    else
        bput(&tD, "NULL");
    bput(&tD, "},\n");
}

static void emit_persid(const brine_persid_rule *r)
{
    size_t m = r->match ? constraint(r->match) : (size_t)-1;
    bput(&tP, "  /* %zu */ {.name = ", pm_get(&mP, r));
    str(&tP, r->name);
    if (m == (size_t)-1)
        bput(&tP, ", .match = NULL, .resolves_to = ");
    else
        bput(&tP, ", .match = (brine_constraint *)&C[%zu], .resolves_to = ", m);
    i64(&tP, r->resolves_to);
    bput(&tP, ", .where = ");
    where(&tP, &r->where);
    bput(&tP, ", .next = ");
    if (r->next)
        bput(&tP, "(brine_persid_rule *)&P[%zu]", pm_get(&mP, r->next));
    else
        bput(&tP, "NULL");
    bput(&tP, "},\n");
}

/* A pack's text is the built-in YAML it came from: point at that copy. */
static void emit_pack(const brine_pack *k)
{
    bput(&tK, "  /* %zu */ {.name = ", pm_get(&mK, k));
    str(&tK, k->name);
    bput(&tK, ", .description = ");
    str(&tK, k->description);
    bput(&tK, ", .file = ");
    str(&tK, k->file);
    bput(&tK, ", .text = ");
    if (!k->text) {
        bput(&tK, "NULL");
    } else {
        size_t i;
        for (i = 0; i < brine_builtin_npacks; i++)
            if (strcmp(brine_builtin_packs[i].text, k->text) == 0)
                break;
        if (i == brine_builtin_npacks)
            die("a pack's text is none of the built-in packs");
        bput(&tK, "(char *)brine_builtin_text_%zu", i);
    }
    bput(&tK, ", .next = ");
    if (k->next)
        bput(&tK, "(brine_pack *)&K[%zu]", pm_get(&mK, k->next));
    else
        bput(&tK, "NULL");
    bput(&tK, "},\n");
}

static void dump_pool(FILE *f, const char *decl, const buf *b, size_t n)
{
    if (!n) {
        fprintf(f, "%s[1] = {0};\n\n", decl);
        return;
    }
    fprintf(f, "%s[%zu] = {\n", decl, n);
    if (b->n)
        fwrite(b->p, 1, b->n, f);
    fprintf(f, "};\n\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: policy_gen OUT.c\n");
        return 2;
    }
    brine_policy *p;
    brine_diag diag;
    if (brine_policy_compile_yaml(&p, NULL, 0, &diag) != 0) {
        fprintf(stderr, "policy_gen: the built-in policy does not compile: %s\n", diag.message);
        return 1;
    }
    /* indices of the linked objects first, then the tables */
    for (const brine_allow *e = p->allows; e; e = e->next)
        pm_put(&mA, e, nA++);
    for (const brine_deny *d = p->denies; d; d = d->next)
        pm_put(&mD, d, nD++);
    for (const brine_persid_rule *r = p->persids; r; r = r->next)
        pm_put(&mP, r, nP++);
    for (const brine_pack *k = p->packs; k; k = k->next)
        pm_put(&mK, k, nK++);
    if (nA != p->nallow)
        die("the allow list and its count disagree");
    for (const brine_allow *e = p->allows; e; e = e->next)
        emit_allow(e);
    for (const brine_deny *d = p->denies; d; d = d->next)
        emit_deny(d);
    for (const brine_persid_rule *r = p->persids; r; r = r->next)
        emit_persid(r);
    for (const brine_pack *k = p->packs; k; k = k->next)
        emit_pack(k);
    for (size_t i = 0; i < p->ndunders; i++, nDU++) {
        bput(&tDU, "  ");
        str(&tDU, p->dunders[i]);
        bput(&tDU, ",\n");
    }
    for (size_t i = 0; i < p->ndeny_buckets; i++)
        if (p->deny_buckets[i])
            bput(&tDB, "  [%zu] = (brine_deny *)&D[%zu],\n", i, pm_get(&mD, p->deny_buckets[i]));
    size_t nb = 0;
    for (size_t i = 0; i < p->nbuckets; i++)
        if (p->buckets[i]) {
            bput(&tB, "  [%zu] = (brine_allow *)&A[%zu],\n", i, pm_get(&mA, p->buckets[i]));
            nb++;
        }

    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fprintf(f, "/* Generated at build time by tools/policy_gen.c from the YAML in rules/: do not edit.\n"
               " * The built-in default policy, compiled: %zu allow entries, %zu denies, %zu persistent-id\n"
               " * rules, %zu dunder components, %zu packs, %zu of %zu hash buckets used. */\n",
            nA, nD, nP, nDU, nK, nb, p->nbuckets);
    fprintf(f, "#include <stdint.h>\n#include \"policy.h\"\n\n");
    for (size_t i = 0; i < brine_builtin_npacks; i++)
        fprintf(f, "extern const char brine_builtin_text_%zu[];\n", i);
    fprintf(f, "\nstatic const char S[%zu];\n", pool_size ? pool_size : 1);
    fprintf(f, "static const brine_allow A[%zu];\nstatic const brine_callrule R[%zu];\n", nA ? nA : 1, nR ? nR : 1);
    fprintf(f, "static const brine_buildrule BR[%zu];\nstatic const brine_constraint C[%zu];\n", nBR ? nBR : 1,
            nC ? nC : 1);
    fprintf(f, "static brine_constraint *const CP[%zu];\nstatic const brine_scalar V[%zu];\n", nCP ? nCP : 1,
            nV ? nV : 1);
    fprintf(f, "static const brine_deny D[%zu];\nstatic const brine_persid_rule P[%zu];\n", nD ? nD : 1,
            nP ? nP : 1);
    fprintf(f, "static const brine_pack K[%zu];\n\n", nK ? nK : 1);
    dump_pool(f, "static const brine_allow A", &tA, nA);
    dump_pool(f, "static const brine_callrule R", &tR, nR);
    dump_pool(f, "static const brine_buildrule BR", &tBR, nBR);
    dump_pool(f, "static const brine_constraint C", &tC, nC);
    dump_pool(f, "static brine_constraint *const CP", &tCP, nCP);
    dump_pool(f, "static const brine_scalar V", &tV, nV);
    dump_pool(f, "static char *const EXM", &tEXM, nEX);
    dump_pool(f, "static char *const EXN", &tEXN, nEX);
    dump_pool(f, "static const brine_deny D", &tD, nD);
    dump_pool(f, "static const brine_persid_rule P", &tP, nP);
    dump_pool(f, "static const brine_pack K", &tK, nK);
    dump_pool(f, "static char *const DU", &tDU, nDU);
    fprintf(f, "static brine_deny *const DB[%zu] = {\n", p->ndeny_buckets ? p->ndeny_buckets : 1);
    if (tDB.n)
        fwrite(tDB.p, 1, tDB.n, f);
    else
        fprintf(f, "  NULL,\n");
    fprintf(f, "};\n\n");
    fprintf(f, "static brine_allow *const B[%zu] = {\n", p->nbuckets ? p->nbuckets : 1);
    if (tB.n)
        fwrite(tB.p, 1, tB.n, f);
    fprintf(f, "};\n\n");
    fprintf(f, "static const char S[%zu] =\n", pool_size ? pool_size : 1);
    if (pool.n)
        fwrite(pool.p, 1, pool.n, f);
    else
        fprintf(f, "  \"\"");
    fprintf(f, ";\n\n");
    fprintf(f, "const struct brine_policy brine_embedded_policy = {\n");
    fprintf(f, "    .buckets = %s, .nbuckets = %zu, .nallow = %zu,\n", p->nbuckets ? "(brine_allow **)B" : "NULL",
            p->nbuckets, p->nallow);
    fprintf(f, "    .allows = %s,\n", nA ? "(brine_allow *)&A[0]" : "NULL");
    fprintf(f, "    .denies = %s,\n", nD ? "(brine_deny *)&D[0]" : "NULL");
    fprintf(f, "    .deny_buckets = %s, .ndeny_buckets = %zu, .ndenies = %zu,\n",
            p->ndeny_buckets ? "(brine_deny **)DB" : "NULL", p->ndeny_buckets, p->ndenies);
    fprintf(f, "    .persids = %s,\n", nP ? "(brine_persid_rule *)&P[0]" : "NULL");
    fprintf(f, "    .dunders = %s, .ndunders = %zu, .dcap = %zu,\n", p->dunders ? "(char **)DU" : "NULL", p->ndunders,
            p->ndunders);
    fprintf(f, "    .packs = %s,\n", nK ? "(brine_pack *)&K[0]" : "NULL");
    char hex[17];
    if (brine_policy_identity(p, hex, NULL, 0) != 0)
        die("brine_policy_identity failed");
    fprintf(f, "    .identity = \"%s\",\n};\n", hex);
    if (fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }
    brine_policy_destroy(p);
    return 0;
}
