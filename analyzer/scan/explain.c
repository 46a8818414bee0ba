/* brine explain: what loading a file would do, as pseudo-Python, one
 * statement per side effect in the order the unpickler takes them, per
 * stream. A consumer of the stream driver (like the views in scanner.c): it
 * runs the judge alongside, so every finding is marked on the line of the
 * statement that caused it.
 *
 * Statement forms (exact: each is one VM event, nothing is guessed):
 *   import os                        GLOBAL / STACK_GLOBAL / INST (find_class)
 *   _3 = os.system('true')           REDUCE, INST, OBJ: a call
 *   _4 = cls.__new__(cls, ...)       NEWOBJ, NEWOBJ_EX
 *   _4.__setstate__(state)           BUILD (or __dict__ update when there is no __setstate__)
 *   _5[k] = v / _5.extend([...]) / _5.add(x)   items on an object (APPEND and
 *                                    APPENDS call extend, or append per item without it)
 *   _6 = persistent_load(pid)        PERSID, BINPERSID
 *   raise UnpicklingError(...)       where CPython would stop
 * Objects are named _N in the order they are made; constants are shown as
 * Python literals, abbreviated past a length. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

#define EXPLAIN_STR_MAX 60    /* characters of a constant shown */
#define EXPLAIN_ITEMS_MAX 8   /* items of a container shown */
#define EXPLAIN_DEPTH_MAX 5   /* nesting shown */
#define EXPLAIN_LINE_MAX 400  /* bytes of one statement */

typedef struct ex_finding {
    brine_verdict verdict;
    char text[240];
} ex_finding;

typedef struct ex_state {
    brine_drv *d;
    const brine_loc *loc;
    uint64_t base;
    brine_write_fn out;
    void *user;
    void *judge;
    const brine_scan_callbacks *orig_cb;
    void *orig_user;
    /* findings of the current event, from the judge */
    ex_finding pending[8];
    size_t npending, more;
    /* names of objects: value pointer -> N */
    const brine_value **keys;
    uint32_t *vals;
    size_t cap, count;
    uint32_t next;
    bool stopped;
    char note[EXPLAIN_LINE_MAX + 80]; /* text after the opcode in the comment */
} ex_state;

typedef struct explain_view {
    brine_write_fn out;
    void *user;
    brine_scan_callbacks cb; /* the interceptor the judge reports to */
} explain_view;

/* ---- text ------------------------------------------------------------------------ */

typedef struct xbuf {
    char b[EXPLAIN_LINE_MAX + 64];
    size_t len;
    bool full;
} xbuf;

static void xput(xbuf *x, const char *s, size_t n)
{
    if (x->full)
        return;
    if (n > EXPLAIN_LINE_MAX - x->len) {
        n = EXPLAIN_LINE_MAX - x->len;
        x->full = true;
    }
    memcpy(x->b + x->len, s, n);
    x->len += n;
    x->b[x->len] = 0;
    if (x->full) {
        memcpy(x->b + x->len, "...", 4);
        x->len += 3;
    }
}

static void xputs(xbuf *x, const char *s)
{
    xput(x, s, strlen(s));
}

static void xprintf(xbuf *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void xprintf(xbuf *x, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        xput(x, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* One code point of surrogate-preserving UTF-8 (value.h): its length, 1 for
 * a byte that starts no sequence (shown as \xNN). */
static size_t utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t c = p[0];
    size_t k = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
    if (k <= 1 || k > n) {
        *cp = c;
        return 1;
    }
    uint32_t v = c & (0x7f >> k);
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            *cp = c;
            return 1;
        }
        v = (v << 6) | (p[i] & 0x3f);
    }
    *cp = v;
    return k;
}

/* A str or bytes literal, abbreviated after EXPLAIN_STR_MAX characters. */
static void literal(xbuf *x, const uint8_t *p, size_t n, bool is_str, const char *prefix)
{
    xputs(x, prefix);
    xput(x, "'", 1);
    size_t i = 0, shown = 0;
    while (i < n && shown < EXPLAIN_STR_MAX && !x->full) {
        uint32_t cp;
        size_t k = 1;
        if (is_str)
            k = utf8_next(p + i, n - i, &cp);
        else
            cp = p[i];
        char tmp[16];
        if (cp == '\'' || cp == '\\')
            snprintf(tmp, sizeof tmp, "\\%c", (char)cp);
        else if (cp >= 0x20 && cp < 0x7f)
            tmp[0] = (char)cp, tmp[1] = 0;
        else if (cp == '\n')
            strcpy(tmp, "\\n");
        else if (cp < 0x100)
            snprintf(tmp, sizeof tmp, "\\x%02x", cp);
        else if (cp < 0x10000)
            snprintf(tmp, sizeof tmp, "\\u%04x", cp);
        else
            snprintf(tmp, sizeof tmp, "\\U%08x", cp);
        xputs(x, tmp);
        i += k ? k : 1;
        shown++;
    }
    xput(x, "'", 1);
    if (i < n)
        xprintf(x, "...<%zu %s>", n, is_str ? "bytes of text" : "bytes");
}

/* module.qualname of a constant str (escaped). */
static void name_text(xbuf *x, const brine_value *s)
{
    if (!s || s->kind != BRINE_V_STR) {
        xputs(x, "?");
        return;
    }
    for (size_t i = 0; i < s->u.s.n && !x->full;) {
        uint32_t cp;
        size_t k = utf8_next(s->u.s.p + i, s->u.s.n - i, &cp);
        if (cp > 0x20 && cp < 0x7f && cp != '\\')
            xput(x, (const char *)s->u.s.p + i, 1);
        else
            xprintf(x, cp < 0x100 ? "\\x%02x" : cp < 0x10000 ? "\\u%04x" : "\\U%08x", cp);
        i += k ? k : 1;
    }
}

static uint32_t name_of(ex_state *st, const brine_value *v);
static void value(ex_state *st, xbuf *x, const brine_value *v, int depth);

static void items(ex_state *st, xbuf *x, const brine_vec *vec, int depth)
{
    for (uint32_t i = 0; i < vec->len && !x->full; i++) {
        if (i == EXPLAIN_ITEMS_MAX) {
            xprintf(x, ", ...<%u items>", vec->len);
            return;
        }
        if (i)
            xputs(x, ", ");
        value(st, x, vec->items[i], depth + 1);
    }
}

static void global_text(ex_state *st, xbuf *x, const brine_value *g, int depth)
{
    if (g->dynamic) {
        xputs(x, "find_class(");
        value(st, x, g->u.g.module, depth + 1);
        xputs(x, ", ");
        value(st, x, g->u.g.name, depth + 1);
        xputs(x, ")");
        return;
    }
    name_text(x, g->u.g.module);
    xputs(x, ".");
    name_text(x, g->u.g.name);
}

static void value(ex_state *st, xbuf *x, const brine_value *v, int depth)
{
    if (!v) {
        xputs(x, "?");
        return;
    }
    if (depth > EXPLAIN_DEPTH_MAX) {
        xputs(x, "...");
        return;
    }
    uint32_t n = brine_value_is_object(v) && v->kind != BRINE_V_GLOBAL ? name_of(st, v) : 0;
    if (n) {
        xprintf(x, "_%u", n);
        return;
    }
    switch ((brine_vkind)v->kind) {
    case BRINE_V_NONE:
        xputs(x, "None");
        break;
    case BRINE_V_BOOL:
        xputs(x, v->u.b ? "True" : "False");
        break;
    case BRINE_V_INT:
        xprintf(x, "%" PRId64, v->u.i);
        break;
    case BRINE_V_BIGINT:
        xprintf(x, "<int of %zu bytes>", v->u.s.n);
        break;
    case BRINE_V_FLOAT: {
        double f = v->u.f;
        if (isnan(f))
            xputs(x, "float('nan')");
        else if (isinf(f))
            xputs(x, f > 0 ? "float('inf')" : "-float('inf')");
        else {
            char tmp[40];
            snprintf(tmp, sizeof tmp, "%.17g", f);
            xputs(x, tmp);
            if (!strpbrk(tmp, ".e"))
                xputs(x, ".0");
        }
        break;
    }
    case BRINE_V_STR:
        literal(x, v->u.s.p, v->u.s.n, true, "");
        break;
    case BRINE_V_BYTES:
        literal(x, v->u.s.p, v->u.s.n, false, "b");
        break;
    case BRINE_V_BYTEARRAY:
        xputs(x, "bytearray(");
        literal(x, v->u.s.p, v->u.s.n, false, "b");
        xputs(x, ")");
        break;
    case BRINE_V_MEMORYVIEW:
        xputs(x, "memoryview(");
        value(st, x, v->u.mv.base, depth + 1);
        xputs(x, ")");
        break;
    case BRINE_V_TUPLE:
        xputs(x, "(");
        items(st, x, &v->u.seq, depth);
        xputs(x, v->u.seq.len == 1 ? ",)" : ")");
        break;
    case BRINE_V_LIST:
        xputs(x, "[");
        items(st, x, &v->u.seq, depth);
        xputs(x, "]");
        break;
    case BRINE_V_SET:
    case BRINE_V_FROZENSET:
        if (v->kind == BRINE_V_FROZENSET)
            xputs(x, "frozenset(");
        if (!v->u.seq.len)
            xputs(x, v->kind == BRINE_V_SET ? "set()" : "");
        else {
            xputs(x, "{");
            items(st, x, &v->u.seq, depth);
            xputs(x, "}");
        }
        if (v->kind == BRINE_V_FROZENSET)
            xputs(x, ")");
        break;
    case BRINE_V_DICT:
        xputs(x, "{");
        for (uint32_t i = 0; i < v->u.dict.keys.len && !x->full; i++) {
            if (i == EXPLAIN_ITEMS_MAX) {
                xprintf(x, ", ...<%u items>", v->u.dict.keys.len);
                break;
            }
            if (i)
                xputs(x, ", ");
            value(st, x, v->u.dict.keys.items[i], depth + 1);
            xputs(x, ": ");
            value(st, x, v->u.dict.vals.items[i], depth + 1);
        }
        xputs(x, "}");
        break;
    case BRINE_V_GLOBAL:
        global_text(st, x, v, depth);
        break;
    case BRINE_V_CALL:
        value(st, x, v->u.c.callee, depth + 1);
        xputs(x, "(*");
        value(st, x, v->u.c.args, depth + 1);
        xputs(x, ")");
        break;
    case BRINE_V_NEW:
        xputs(x, "object.__new__(");
        value(st, x, v->u.c.callee, depth + 1);
        xputs(x, ")");
        break;
    case BRINE_V_PERSID:
        xputs(x, "persistent_load(");
        value(st, x, v->u.c.callee, depth + 1);
        xputs(x, ")");
        break;
    case BRINE_V_EXT:
        xprintf(x, "find_class(*copyreg._inverted_registry[%" PRId64 "])", v->u.c.code);
        break;
    }
}

/* ---- names of objects --------------------------------------------------------------- */

static size_t slot_of(const ex_state *st, const brine_value *v)
{
    size_t h = ((uintptr_t)v >> 4) * 0x9e3779b97f4a7c15ull;
    size_t m = st->cap - 1, i = h & m;
    while (st->keys[i] && st->keys[i] != v)
        i = (i + 1) & m;
    return i;
}

static uint32_t name_of(ex_state *st, const brine_value *v)
{
    if (!st->cap)
        return 0;
    size_t i = slot_of(st, v);
    return st->keys[i] ? st->vals[i] : 0;
}

/* Give v the next name; 0 if memory ran out (it is then shown inline). */
static uint32_t name_new(ex_state *st, const brine_value *v)
{
    if ((st->count + 1) * 2 > st->cap) {
        size_t nc = st->cap ? st->cap * 2 : 256;
        const brine_value **nk = calloc(nc, sizeof *nk);
        uint32_t *nv = calloc(nc, sizeof *nv);
        if (!nk || !nv) {
            free(nk);
            free(nv);
            return 0;
        }
        ex_state tmp = *st;
        st->keys = nk;
        st->vals = nv;
        st->cap = nc;
        for (size_t i = 0; i < tmp.cap; i++)
            if (tmp.keys[i]) {
                size_t j = slot_of(st, tmp.keys[i]);
                st->keys[j] = tmp.keys[i];
                st->vals[j] = tmp.vals[i];
            }
        free(tmp.keys);
        free(tmp.vals);
    }
    size_t i = slot_of(st, v);
    if (!st->keys[i]) {
        st->keys[i] = v;
        st->vals[i] = ++st->next;
        st->count++;
    }
    return st->vals[i];
}

/* ---- output ------------------------------------------------------------------------- */

static void emit(ex_state *st, const char *s, size_t n)
{
    if (!st->stopped && st->out(st->user, s, n))
        st->stopped = st->d->stopped = true;
}

/* One statement with its comment: where, the opcode, and the findings of this event. */
static void statement(ex_state *st, const brine_vm_event *ev, const xbuf *x)
{
    char line[3 * EXPLAIN_LINE_MAX + 800];
    const char *op = brine_op_name(ev->opcode);
    int n = snprintf(line, sizeof line, "%-44s # @0x%" PRIx64 " %s%s", x->b, ev->offset - st->base, op ? op : "?",
                     st->note);
    st->note[0] = 0;
    size_t len = n < 0 ? 0 : (size_t)n >= sizeof line ? sizeof line - 1 : (size_t)n;
    for (size_t i = 0; i < st->npending && len < sizeof line - 1; i++) {
        n = snprintf(line + len, sizeof line - len, "  <-- %s: %s",
                     st->pending[i].verdict == BRINE_VERDICT_DANGEROUS    ? "DANGEROUS"
                     : st->pending[i].verdict == BRINE_VERDICT_SUSPICIOUS ? "SUSPICIOUS"
                                                                          : "NOTE",
                     st->pending[i].text);
        len += n < 0 ? 0 : (size_t)n >= sizeof line - len ? sizeof line - len - 1 : (size_t)n;
    }
    if (st->more && len < sizeof line - 1) {
        n = snprintf(line + len, sizeof line - len, "  (+%zu more)", st->more);
        len += n < 0 ? 0 : (size_t)n >= sizeof line - len ? sizeof line - len - 1 : (size_t)n;
    }
    st->npending = st->more = 0;
    emit(st, line, len);
    emit(st, "\n", 1);
}

static int explain_event(void *state, const brine_vm_event *ev)
{
    ex_state *st = state;
    /* the judge first: its findings for this event are marked on its line */
    int r = brine_judge_consumer.event(st->judge, ev);
    xbuf x = {.len = 0};
    x.b[0] = 0;
    switch (ev->kind) {
    case BRINE_EV_IMPORT:
        if (ev->target && ev->target->kind == BRINE_V_GLOBAL && !ev->target->dynamic) {
            xputs(&x, "import ");
            name_text(&x, ev->target->u.g.module);
            xbuf note = {.len = 0};
            note.b[0] = 0;
            global_text(st, &note, ev->target, 0);
            snprintf(st->note, sizeof st->note, " %.*s", (int)sizeof st->note - 2, note.b);
        } else {
            xputs(&x, "import ?");
        }
        break;
    case BRINE_EV_DYNAMIC_IMPORT: {
        uint32_t n = ev->target ? name_new(st, ev->target) : 0;
        if (n)
            xprintf(&x, "_%u = ", n);
        if (ev->target && ev->target->kind == BRINE_V_GLOBAL)
            global_text(st, &x, ev->target, 0);
        else
            xputs(&x, "find_class(?)");
        break;
    }
    case BRINE_EV_CALL: {
        /* the arguments and the callee are rendered before the result gets its name */
        xbuf rhs = {.len = 0};
        rhs.b[0] = 0;
        const brine_value *res = ev->result;
        bool is_new = res && res->kind == BRINE_V_NEW;
        if (is_new) {
            value(st, &rhs, ev->target, 0);
            xputs(&rhs, ".__new__(");
            value(st, &rhs, ev->target, 0);
        } else {
            value(st, &rhs, ev->target, 0);
            xputs(&rhs, "(");
        }
        const brine_value *a = ev->args;
        if (a && a->kind == BRINE_V_TUPLE) {
            if (is_new && a->u.seq.len)
                xputs(&rhs, ", ");
            items(st, &rhs, &a->u.seq, 0);
        } else if (a) {
            xputs(&rhs, is_new ? ", *" : "*");
            value(st, &rhs, a, 0);
        }
        if (ev->kwargs) {
            xputs(&rhs, (a && (a->kind != BRINE_V_TUPLE || a->u.seq.len)) || is_new ? ", **" : "**");
            value(st, &rhs, ev->kwargs, 0);
        }
        xputs(&rhs, ")");
        uint32_t n = res ? name_new(st, res) : 0;
        if (n)
            xprintf(&x, "_%u = ", n);
        xputs(&x, rhs.b);
        break;
    }
    case BRINE_EV_BUILD:
        value(st, &x, ev->target, 0);
        xputs(&x, ".__setstate__(");
        value(st, &x, ev->args, 0);
        xputs(&x, ")");
        break;
    case BRINE_EV_ITEMS: {
        const brine_value *t = ev->args;
        const brine_vec *v = t && t->kind == BRINE_V_TUPLE ? &t->u.seq : NULL;
        uint8_t op = ev->opcode;
        if (op == BRINE_OP_SETITEM || op == BRINE_OP_SETITEMS) {
            /* one statement per item: each is a __setitem__ call */
            for (uint32_t i = 0; v && i + 1 < v->len; i += 2) {
                if (i) {
                    statement(st, ev, &x);
                    x.len = 0, x.full = false, x.b[0] = 0;
                }
                if (i / 2 == EXPLAIN_ITEMS_MAX && v->len / 2 > EXPLAIN_ITEMS_MAX + 1) {
                    xprintf(&x, "...");
                    snprintf(st->note, sizeof st->note, " (%u more items set the same way)",
                             v->len / 2 - EXPLAIN_ITEMS_MAX);
                    break;
                }
                value(st, &x, ev->target, 0);
                xputs(&x, "[");
                value(st, &x, v->items[i], 1);
                xputs(&x, "] = ");
                value(st, &x, v->items[i + 1], 1);
            }
        } else if (op == BRINE_OP_APPENDS) {
            value(st, &x, ev->target, 0);
            xputs(&x, ".extend([");
            if (v)
                items(st, &x, v, 0);
            xputs(&x, "])");
            snprintf(st->note, sizeof st->note, " (extend, or append per item without it)");
        } else if (op == BRINE_OP_ADDITEMS) {
            value(st, &x, ev->target, 0);
            xputs(&x, ".add(...) for each of {");
            if (v)
                items(st, &x, v, 0);
            xputs(&x, "}");
        } else { /* APPEND: CPython's do_append calls extend([x]) too, append(x) without it */
            value(st, &x, ev->target, 0);
            xputs(&x, ".extend([");
            if (v && v->len)
                value(st, &x, v->items[0], 1);
            xputs(&x, "])");
            snprintf(st->note, sizeof st->note, " (extend, or append without it)");
        }
        break;
    }
    case BRINE_EV_PERSID: {
        uint32_t n = ev->result ? name_new(st, ev->result) : 0;
        if (n)
            xprintf(&x, "_%u = ", n);
        xputs(&x, "persistent_load(");
        value(st, &x, ev->target, 0);
        xputs(&x, ")");
        break;
    }
    case BRINE_EV_EXT:
        xprintf(&x, "find_class(*copyreg._inverted_registry[%" PRId64 "])", ev->number);
        break;
    case BRINE_EV_MALFORMED:
        xputs(&x, "raise UnpicklingError(");
        literal(&x, (const uint8_t *)(ev->message ? ev->message : ""), ev->message ? strlen(ev->message) : 0, true,
                "");
        xputs(&x, ")  # CPython stops here");
        break;
    case BRINE_EV_LIMIT:
        xprintf(&x, "# brine stopped here: %s (the rest is not analysed)", ev->message ? ev->message : "a limit");
        break;
    case BRINE_EV_TRAILING:
        xprintf(&x, "# %" PRId64 " bytes after STOP that pickle.load never reads", ev->number);
        break;
    case BRINE_EV_ANOMALY:
        xprintf(&x, "# anomaly: %s", ev->message ? ev->message : "");
        break;
    case BRINE_EV_PICKLE:
        xprintf(&x, "# STOP: pickle %" PRId64 " of the stream ends here", ev->number);
        break;
    case BRINE_EV_NESTED:
        xputs(&x, "# a constant that is itself a pickle or container: ");
        value(st, &x, ev->target, 0);
        break;
    }
    if (x.len || st->npending)
        statement(st, ev, &x);
    return st->stopped ? -1 : r;
}

/* The judge reports here; the finding is kept for the line and passed on. */
static int explain_finding(void *user, const brine_finding *f)
{
    ex_state *st = user;
    if (st->npending < sizeof st->pending / sizeof st->pending[0]) {
        ex_finding *p = &st->pending[st->npending++];
        p->verdict = f->verdict;
        snprintf(p->text, sizeof p->text, "%s [%s]", f->message, f->rule_id ? f->rule_id : "");
    } else {
        st->more++;
    }
    if (st->orig_cb && st->orig_cb->finding)
        return st->orig_cb->finding(st->orig_user, f);
    return 0;
}

static int explain_global(void *user, const brine_location *where, const char *name, brine_use use)
{
    ex_state *st = user;
    if (st->orig_cb && st->orig_cb->global)
        return st->orig_cb->global(st->orig_user, where, name, use);
    return 0;
}

static void *explain_begin(void *self, brine_drv *d, const brine_loc *loc, const uint8_t *data, size_t len,
                           size_t start, uint64_t report_from)
{
    const explain_view *v = self;
    ex_state *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->d = d;
    st->loc = loc;
    st->base = start;
    st->out = v->out;
    st->user = v->user;
    st->orig_cb = d->cb;
    st->orig_user = d->user;
    /* the judge keeps d->cb/d->user from its begin: point them at us for it */
    static const brine_scan_callbacks intercept = {explain_finding, NULL, explain_global};
    const brine_scan_callbacks *cb = d->cb;
    void *user = d->user;
    d->cb = &intercept;
    d->user = st;
    st->judge = brine_judge_consumer.begin(NULL, d, loc, data, len, start, report_from);
    d->cb = cb;
    d->user = user;
    if (!st->judge) {
        free(st);
        return NULL;
    }
    char head[160];
    int n = snprintf(head, sizeof head, "\n# == %s", report_from ? "the plain pickle.load reading of " : "");
    emit(st, head, (size_t)n);
    emit(st, loc->text, strlen(loc->text));
    n = snprintf(head, sizeof head, " (pickle, %zu bytes from offset %zu)\n", len - start, start);
    emit(st, head, (size_t)n);
    return st;
}

static void explain_end(void *state, const brine_vm_result *res, brine_verdict *verdict, uint64_t *findings)
{
    ex_state *st = state;
    brine_judge_consumer.end(st->judge, res, verdict, findings);
    xbuf x = {.len = 0};
    x.b[0] = 0;
    if (res->status == BRINE_STATUS_COMPLETE && res->value) {
        xputs(&x, "return ");
        value(st, &x, res->value, 0);
        xprintf(&x, "  # what pickle.load returns");
    } else if (res->status != BRINE_STATUS_COMPLETE) {
        xprintf(&x, "# %s at 0x%" PRIx64 ": %s", brine_status_name(res->status),
                res->error_offset >= st->base ? res->error_offset - st->base : 0,
                res->error_message ? res->error_message : "");
    }
    if (x.len) {
        emit(st, x.b, x.len);
        emit(st, "\n", 1);
    }
    free(st->keys);
    free(st->vals);
    free(st);
}

int brine_scanner_explain(brine_scanner *s, const uint8_t *data, size_t len, const char *name, brine_write_fn fn,
                          void *user, brine_stream_result *out)
{
    if (!fn)
        return BRINE_ERR_INVALID;
    explain_view v = {.out = fn, .user = user};
    brine_consumer k = {.self = &v, .begin = explain_begin, .event = explain_event, .end = explain_end};
    return brine_scanner_drive(s, &k, data, len, name, out);
}
