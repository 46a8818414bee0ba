/* The stream driver: the one sniffer, the reader table, the nested-pickle
 * decision, per-file counters and the roll-up (see driver.h for the shape). */
#include "driver.h"
#include "text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- locations -------------------------------------------------------------------- */

static size_t escaped_len(const uint8_t *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += (s[i] >= 0x20 && s[i] < 0x7f) ? 1 : 4;
    return k;
}

static char *escape_into(char *o, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f) {
            *o++ = (char)s[i];
        } else {
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[s[i] >> 4];
            *o++ = hex[s[i] & 15];
        }
    }
    *o = 0;
    return o;
}

brine_loc *brine_loc_new(const brine_loc *parent, const char *kind, const char *format, const void *name,
                         size_t namelen, uint64_t offset)
{
    brine_loc *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->parent = parent;
    l->kind = kind;
    l->format = format ? format : "";
    l->offset = offset;
    l->depth = parent ? parent->depth + 1 : 1;
    size_t nl = name ? escaped_len(name, namelen) : 0;
    if (name) {
        l->name = malloc(nl + 1);
        if (!l->name)
            goto fail;
        escape_into(l->name, name, namelen);
    }
    /* flat text: file; parent!member; parent!<gzip>; parent@0xN!<nested>; parent@0xN */
    size_t pl = parent ? strlen(parent->text) : 0;
    l->text = malloc(pl + nl + 32);
    if (!l->text)
        goto fail;
    char *o = l->text;
    if (parent) {
        memcpy(o, parent->text, pl);
        o += pl;
    }
    if (parent && (!strcmp(kind, "nested") || !strcmp(kind, "region")))
        o += sprintf(o, "@0x%" PRIx64, offset);
    if (name) {
        if (parent)
            *o++ = '!';
        memcpy(o, l->name, nl);
        o += nl;
    }
    *o = 0;
    return l;
fail:
    brine_loc_free(l);
    return NULL;
}

brine_loc *brine_drv_loc(brine_drv *d, const brine_loc *parent, const char *kind, const char *format, const void *name,
                         size_t namelen, uint64_t offset)
{
    if (brine_drv_fault(d))
        return NULL;
    return brine_loc_new(parent, kind, format, name, namelen, offset);
}

void brine_loc_free(brine_loc *l)
{
    if (!l)
        return;
    free(l->name);
    free(l->text);
    free(l);
}

void brine_loc_public(const brine_loc *l, brine_location *out, brine_location_step *steps, size_t max)
{
    size_t n = l ? l->depth : 0;
    if (n > max)
        n = max;
    out->text = l ? l->text : "";
    out->depth = n;
    out->steps = steps;
    /* the chain runs child to parent; the steps run file to child (a chain
     * longer than max keeps its innermost steps) */
    for (size_t i = n; i-- > 0 && l; l = l->parent) {
        steps[i].kind = l->kind;
        steps[i].format = l->format;
        steps[i].name = l->name ? l->name : "";
        steps[i].offset = l->offset;
    }
}

/* ---- outcomes ------------------------------------------------------------------------ */

static int status_rank(brine_status s)
{
    return s == BRINE_STATUS_COMPLETE ? 0 : s == BRINE_STATUS_MALFORMED ? 1 : 2;
}

void brine_drv_merge(brine_drv *d, brine_verdict v, brine_status st, const char *error, uint64_t error_offset)
{
    if (v > d->verdict)
        d->verdict = v;
    if (status_rank(st) > status_rank(d->status)) {
        d->status = st;
        d->error = error;
        d->error_offset = error_offset;
    }
}

int brine_drv_finding(brine_drv *d, const brine_loc *loc, uint64_t offset, brine_verdict v, brine_severity sev,
                      const char *kind, const char *rule_id, const char *rule, const char *message)
{
    brine_drv_merge(d, v, BRINE_STATUS_COMPLETE, NULL, 0);
    d->findings++;
    if (!d->cb || !d->cb->finding || d->stopped)
        return 0;
    brine_location_step steps[64];
    brine_location where;
    brine_loc_public(loc, &where, steps, 64);
    brine_finding f = {.location = where.text, .offset = offset, .opcode = "-", .kind = kind, .verdict = v,
                       .severity = sev, .name = "", .call = "", .rule = rule, .message = message, .where = &where,
                       .rule_id = rule_id, .rule_pack = "", .rule_file = ""};
    if (d->cb->finding(d->user, &f))
        d->stopped = true;
    return d->stopped ? BRINE_ERR_CALLBACK : 0;
}

int brine_drv_stream(brine_drv *d, const brine_loc *loc, const char *format, brine_verdict v, brine_status st,
                     const char *error, uint64_t error_offset)
{
    brine_drv_merge(d, v, st, error, error_offset);
    brine_location_step steps[64];
    brine_location where;
    brine_loc_public(loc, &where, steps, 64);
    brine_stream_result sr = {.location = where.text, .format = format, .verdict = v, .status = st, .error = error,
                              .error_offset = error_offset, .where = &where};
    if (d->cb && d->cb->stream && !d->stopped && d->cb->stream(d->user, &sr))
        d->stopped = true;
    return d->stopped ? BRINE_ERR_CALLBACK : 0;
}

int brine_drv_fail(brine_drv *d, const brine_loc *loc, const char *format, brine_status st, const char *why,
                   uint64_t offset)
{
    if (!loc) /* the location itself could not be made: the file is what we know */
        loc = NULL;
    if (!strcmp(why, "out of memory"))
        d->nomem = true;
    int r = brine_drv_finding(d, loc, offset, BRINE_VERDICT_SAFE, BRINE_SEVERITY_LOW, "not-analysed", "not-analysed",
                              "fail closed", why);
    if (r < 0)
        return r;
    return brine_drv_stream(d, loc, format, BRINE_VERDICT_SAFE, st, why, offset);
}

size_t brine_outbuf_allowed(brine_drv *d, brine_outbuf *o, uint64_t in_len, uint64_t produced, size_t want)
{
    uint64_t limit_ratio = in_len * d->s->max_ratio + 4096;
    if (in_len && (limit_ratio - 4096) / in_len != d->s->max_ratio) /* overflow: no ratio cap is reachable */
        limit_ratio = UINT64_MAX;
    /* caps are exact: never more is produced than both limits allow, so a
     * stream that ends exactly at a limit is complete, and one byte more is not */
    uint64_t by_total = d->s->max_decompressed > d->decompressed ? d->s->max_decompressed - d->decompressed : 0;
    uint64_t by_ratio = limit_ratio > produced ? limit_ratio - produced : 0;
    uint64_t allowed = by_total < by_ratio ? by_total : by_ratio;
    if (allowed == 0) {
        o->error = by_total == 0 ? "max_decompressed: decompressed data exceeds the limit"
                                 : "max_ratio: decompression ratio exceeds the limit (a decompression bomb?)";
        o->inconclusive = true;
        return 0;
    }
    return want > allowed ? (size_t)allowed : want;
}

size_t brine_outbuf_room(brine_drv *d, brine_outbuf *o, uint64_t in_len, size_t want)
{
    want = brine_outbuf_allowed(d, o, in_len, o->len, want);
    if (!want)
        return 0;
    if (o->len + want > o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 1 << 16;
        while (nc < o->len + want)
            nc *= 2;
        uint8_t *nb = brine_drv_fault(d) ? NULL : realloc(o->buf, nc);
        if (!nb) {
            o->error = "out of memory";
            o->inconclusive = true;
            d->nomem = true;
            return 0;
        }
        o->buf = nb;
        o->cap = nc;
    }
    return want;
}

/* ---- would loading run anything? ------------------------------------------------------- */

typedef struct probe {
    const brine_drv *d;
    unsigned depth;
    bool yes;
} probe;

static bool would_run(const brine_drv *d, const uint8_t *data, size_t len, unsigned depth);
static bool is_container(const uint8_t *p, size_t n);
static uint8_t *latin1_of(const brine_value *v, const uint8_t **p, size_t *n, bool *unencodable);

/* Could a module of this name be imported? Python module names are dotted
 * identifiers; "lass LSTM(RNNBase):" (a source string that starts with 'c',
 * read as GLOBAL) names no module any environment has. Bytes above 0x7f are
 * let through: identifiers may be non-ASCII. */
static bool importable(const brine_value *m)
{
    const uint8_t *p = m->u.s.p;
    size_t n = m->u.s.n;
    if (!n || p[0] == '.' || p[n - 1] == '.' || (p[0] >= '0' && p[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(p[i] >= 0x80 || p[i] == '_' || p[i] == '.' || (p[i] >= '0' && p[i] <= '9') ||
              ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z')))
            return false;
    return true;
}

static int runs_something(void *user, const brine_vm_event *ev)
{
    probe *pr = user;
    switch (ev->kind) {
    case BRINE_EV_IMPORT:
        if (!importable(ev->target->u.g.module))
            return 1; /* find_class raises here: nothing runs, and loading stops */
        pr->yes = true;
        return 1;
    case BRINE_EV_DYNAMIC_IMPORT:
    case BRINE_EV_CALL:
    case BRINE_EV_BUILD:
    case BRINE_EV_ITEMS:
        /* Not counted: a persistent id alone runs nothing under pickle.loads
         * (no persistent_load: it raises), and an extension code in a pickle
         * where nothing ran before raises too (copyreg's registry is empty
         * unless a call filled it, and that call is an event of its own).
         * What a loader does with either is judged where the stream is. */
        pr->yes = true;
        return 1; /* stop: one is enough */
    case BRINE_EV_NESTED: {
        /* a pickle that only builds bytes which are themselves a pickle (or a
         * container) runs something when those are loaded in turn */
        const uint8_t *p;
        size_t n;
        bool bad = false;
        uint8_t *copy = latin1_of(ev->target, &p, &n, &bad);
        if (!bad && (is_container(p, n) || (pr->depth < pr->d->s->max_archive_depth &&
                                            would_run(pr->d, p, n, pr->depth + 1))))
            pr->yes = true;
        free(copy);
        return pr->yes ? 1 : 0;
    }
    default:
        return 0;
    }
}

/* Opcodes that raise when they start a pickle (an empty stack, no mark, an
 * empty memo), as the VM reports them: a constant such as "user-0001"
 * (SETITEMS) needs no VM run to know that loading it runs nothing. */
static bool fails_at_first_opcode(uint8_t op)
{
    switch (op) {
    case 'a': case 'b': case 'e': case 's': case 'u': case 'R': case 'Q': case '0': case '2': case '.':
    case 'q': case 'r': case 0x85: case 0x86: case 0x87: case 0x90: case 0x93: case 0x94: case 0x81: case 0x92:
    case 0x98:                                         /* pop from the empty stack */
    case '1': case 'd': case 'l': case 't': case 'o': case 0x91: /* need a MARK */
    case 'h': case 'j':                                /* read the empty memo */
        return true;
    default:
        return false;
    }
}

static bool would_run_in(const brine_drv *d, const brine_vm_input *in, uint8_t first, unsigned depth)
{
    /* cheap first: a pickle's first byte is an opcode, and nothing runs in fewer
     * than two bytes ("\x82\x01" is EXT1 1) */
    if (in->len < 2 || !brine_op_name(first) || fails_at_first_opcode(first))
        return false;
    probe pr = {d, depth, false};
    brine_arena a;
    brine_arena_init(&a, d->s->max_bytes);
    a.cache = d->arena_cache;
    brine_vm_config cfg = {.settings = d->s, .arena = &a, .on_event = runs_something, .user = &pr,
                           .flags = BRINE_VM_NESTED, .window = in->win};
    brine_vm_result res;
    brine_vm_run(in->data, (size_t)in->len, &cfg, &res);
    brine_arena_free(&a);
    /* a window that failed leaves the question open: read it as a pickle, whose
     * run then says why it is not complete */
    return pr.yes || (in->win && in->win->error);
}

static bool would_run(const brine_drv *d, const uint8_t *data, size_t len, unsigned depth)
{
    brine_vm_input in = {data, len, NULL};
    return would_run_in(d, &in, len ? data[0] : 0, depth);
}

bool brine_drv_would_run(const brine_drv *d, const uint8_t *data, size_t len)
{
    return would_run(d, data, len, 0);
}

/* The bytes a constant stands for: bytes and bytearray as they are; a str's
 * code points as latin-1 (protocols 0-2 store bytes as _codecs.encode(str,
 * 'latin1')). Returns the copy to free, if one was made; *unencodable when a
 * code point is above 0xff or memory ran out (then *p is not set). */
static uint8_t *latin1_of(const brine_value *v, const uint8_t **p, size_t *n, bool *unencodable)
{
    *p = v->u.s.p;
    *n = v->u.s.n;
    *unencodable = false;
    if (v->kind != BRINE_V_STR)
        return NULL;
    bool ascii = true;
    for (size_t i = 0; i < *n && ascii; i++)
        ascii = (*p)[i] < 0x80;
    if (ascii)
        return NULL;
    uint8_t *copy = malloc(*n ? *n : 1);
    if (!copy) {
        *unencodable = true;
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < v->u.s.n;) {
        uint32_t cp;
        i += brine_utf8_next(v->u.s.p + i, v->u.s.n - i, &cp);
        if (cp > 0xff) {
            free(copy);
            *unencodable = true;
            return NULL;
        }
        copy[k++] = (uint8_t)cp;
    }
    *p = copy;
    *n = k;
    return copy;
}

/* ---- running a consumer over a pickle stream -------------------------------------------- */

typedef struct run_ctx {
    brine_joblib jl; /* first: the VM's build hook receives this struct as its user pointer */
    brine_drv *d;
    const brine_loc *loc;
    unsigned depth;
    void *state;
    uint64_t base; /* the stream's start: nested offsets are relative to it */
} run_ctx;

/* noinline: inlined, its registers made every event's call of on_event save
 * and restore six (90k instructions of a RandomForest's 7.3M) */
static int nested_constant(run_ctx *r, const brine_vm_event *ev) __attribute__((noinline));

static int on_event(void *user, const brine_vm_event *ev)
{
    run_ctx *r = user;
    if (ev->kind == BRINE_EV_NESTED)
        return r->d->consumer->no_nested ? 0 : nested_constant(r, ev);
    return r->d->consumer->event(r->state, ev);
}

/* What nested_constant would do with a constant, without doing it: nothing. */
static bool constant_inert(void *user, const brine_value *v)
{
    run_ctx *r = user;
    brine_drv *d = r->d;
    if (d->consumer->no_nested)
        return true;
    if (d->stopped)
        return false;
    const uint8_t *p;
    size_t n;
    bool unencodable;
    uint8_t *copy = latin1_of(v, &p, &n, &unencodable);
    if (unencodable)
        return true; /* a str that no bytes are: nothing loads it as a pickle (as nested_constant) */
    bool inert = !is_container(p, n) && !would_run(d, p, n, r->depth + 1);
    free(copy);
    return inert;
}

static int on_trace(void *user, const brine_vm_trace *t)
{
    run_ctx *r = user;
    return r->d->consumer->trace(r->state, t);
}

static int run_stream(brine_drv *d, const brine_vm_input *in, size_t start, const brine_loc *loc, unsigned depth,
                      unsigned flags, size_t *end, uint64_t report_from, unsigned vmflags);

/* A later reading of the same stream. Through a window it gets a window of
 * its own from start: the first may be shared (joblib's object arrays) and
 * has moved on. */
static int run_again(brine_drv *d, const brine_vm_input *in, size_t start, const brine_loc *loc, unsigned depth,
                     unsigned flags, uint64_t report_from, unsigned vmflags)
{
    if (!in->win)
        return run_stream(d, in, start, loc, depth, flags, NULL, report_from, vmflags);
    brine_window w;
    int r;
    if (brine_window_open(&w, in->win->src, start, (size_t)d->s->max_bytes, d->window_grain) != 0) {
        d->nomem |= w.nomem;
        r = brine_drv_fail(d, loc, "pickle", BRINE_STATUS_INCONCLUSIVE, w.error, start);
    } else {
        brine_vm_input again = {NULL, in->len, &w};
        r = run_stream(d, &again, start, loc, depth, flags, NULL, report_from, vmflags);
    }
    brine_window_close(&w);
    return r;
}

static int run_stream(brine_drv *d, const brine_vm_input *in, size_t start, const brine_loc *loc, unsigned depth,
                      unsigned flags, size_t *end, uint64_t report_from, unsigned vmflags)
{
    const uint8_t *data = in->data;
    size_t len = (size_t)in->len;
    const brine_consumer *k = d->consumer;
    if (end)
        *end = start;
    if (d->stopped)
        return BRINE_ERR_CALLBACK;
    if ((flags & BRINE_PICKLE_QUIET_STATUS) && !k->all_readings)
        return 0;
    run_ctx r = {.d = d, .loc = loc, .depth = depth, .base = start, .jl = {.d = d, .loc = loc, .depth = depth}};
    r.state = brine_drv_fault(d) ? NULL : k->begin(k->self, d, loc, data, len, start, report_from);
    if (!r.state)
        return brine_drv_fail(d, loc, "pickle", BRINE_STATUS_INCONCLUSIVE, "out of memory", start);
    if (d->write && !(flags & BRINE_PICKLE_QUIET_STATUS) && loc->parent) {
        char head[64];
        int hn = snprintf(head, sizeof head, "== ");
        if (d->write(d->write_user, head, (size_t)hn) || d->write(d->write_user, loc->text, strlen(loc->text)) ||
            d->write(d->write_user, "\n", 1))
            d->stopped = true;
    }
    brine_arena arena;
    brine_arena_init(&arena, d->s->max_bytes);
    arena.cache = d->arena_cache;
    brine_vm_config cfg = {.settings = d->s, .arena = &arena, .on_event = on_event, .user = &r,
                           .on_trace = k->trace ? on_trace : NULL,
                           .flags = BRINE_VM_NESTED | vmflags |
                                    (((flags & BRINE_PICKLE_FIRST_ONLY) || k->first_only) ? BRINE_VM_FIRST_ONLY : 0),
                           .after_build = (flags & BRINE_PICKLE_JOBLIB) ? brine_joblib_after_build : NULL,
                           .start = start, .constant_inert = constant_inert, .window = in->win};
    if (k->kinds)
        cfg.flags |= BRINE_VM_KINDS;
    brine_vm_result res;
    int rc = brine_vm_run(data, len, &cfg, &res);
    if (end) /* where the analysed pickles end (FIRST_ONLY: the first one) */
        *end = res.status == BRINE_STATUS_COMPLETE && res.pickles ? (size_t)res.last_end : start;
    brine_verdict v = BRINE_VERDICT_SAFE;
    uint64_t nf = 0;
    k->end(r.state, &res, &v, &nf);
    brine_status st = res.status;
    const char *err = st != BRINE_STATUS_COMPLETE ? res.error_message : NULL;
    if (st == BRINE_STATUS_MALFORMED && err == res.error_buf)
        err = "invalid load key"; /* error_buf dies with res; keep a static text */
    if (len <= start) {
        st = BRINE_STATUS_MALFORMED;
        err = "empty input: not a pickle";
    }
    if (rc == BRINE_ERR_NOMEM) {
        d->nomem = true;
        st = BRINE_STATUS_INCONCLUSIVE;
        err = "out of memory";
    }
    uint64_t err_off = res.error_offset >= start ? res.error_offset - start : 0;
    unsigned retry = st == BRINE_STATUS_MALFORMED ? res.retry : 0;
    if (!(flags & BRINE_PICKLE_QUIET_STATUS)) {
        d->streams++;
        d->pickles += res.pickles;
        brine_location_step steps[64];
        brine_location where;
        brine_loc_public(loc, &where, steps, 64);
        brine_stream_result sr = {.location = loc->text, .format = "pickle", .verdict = v, .status = st, .error = err,
                                  .error_offset = err_off, .pickles = res.pickles, .findings = nf, .where = &where};
        if (d->cb && d->cb->stream && !d->stopped && d->cb->stream(d->user, &sr))
            d->stopped = true;
        brine_drv_merge(d, v, st, err, err_off);
    } else {
        /* a second reading: its malformation is expected, but a limit it hit
         * means its findings may be incomplete */
        brine_drv_merge(d, v, st == BRINE_STATUS_INCONCLUSIVE ? st : BRINE_STATUS_COMPLETE, err, err_off);
    }
    brine_arena_free(&arena);
    /* joblib's reading skipped array bytes; pickle.load would read them as
     * opcodes. Scan that reading too; only what it finds counts (that it
     * breaks on the array bytes is expected). */
    if (r.jl.skipped && (flags & BRINE_PICKLE_JOBLIB) && !d->stopped) {
        brine_loc *pl = brine_drv_loc(d, loc, "member", "joblib", "<as-plain-pickle>", 17, 0);
        if (!pl)
            return brine_drv_fail(d, loc, "pickle", BRINE_STATUS_INCONCLUSIVE, "out of memory", start);
        run_again(d, in, start, pl, depth, (flags & ~BRINE_PICKLE_JOBLIB) | BRINE_PICKLE_QUIET_STATUS,
                  r.jl.first_skip, vmflags);
        brine_loc_free(pl);
    }
    /* Other unpicklers read on where this one raised: torch.load decodes
     * str bytes as utf-8; pandas retries a failed load with latin-1 and the
     * pure-Python unpickler; joblib always unpickles with the pure-Python
     * one, whose FLOAT is float(). Each such reading is scanned too (only its
     * findings count); the flags only grow, so this ends. */
    static const struct { unsigned need, add; const char *tag; } readings[] = {
        {BRINE_RETRY_STR, BRINE_VM_STR_UTF8, "<as-utf8>"},
        {BRINE_RETRY_STR, BRINE_VM_STR_LATIN1 | BRINE_VM_PYTHON, "<as-latin1-python>"},
        {BRINE_RETRY_FLOAT, BRINE_VM_PYTHON, "<as-python>"},
    };
    for (size_t i = 0; i < sizeof readings / sizeof readings[0] && !d->stopped; i++) {
        if (!(retry & readings[i].need) || (vmflags & readings[i].add) == readings[i].add ||
            (vmflags & (BRINE_VM_STR_UTF8 | BRINE_VM_STR_LATIN1) && readings[i].need == BRINE_RETRY_STR))
            continue;
        brine_loc *vl = brine_drv_loc(d, loc, "member", "pickle", readings[i].tag, strlen(readings[i].tag), 0);
        if (!vl)
            return brine_drv_fail(d, loc, "pickle", BRINE_STATUS_INCONCLUSIVE, "out of memory", start);
        run_again(d, in, start, vl, depth, flags | BRINE_PICKLE_QUIET_STATUS, 0, vmflags | readings[i].add);
        brine_loc_free(vl);
    }
    return d->stopped ? BRINE_ERR_CALLBACK : 0;
}

int brine_drv_pickle(brine_drv *d, const uint8_t *data, size_t len, size_t start, const brine_loc *loc, unsigned depth,
                     unsigned flags, size_t *end)
{
    brine_vm_input in = {data, len, NULL};
    return run_stream(d, &in, start, loc, depth, flags, end, 0, 0);
}

int brine_drv_pickle_in(brine_drv *d, const brine_vm_input *in, size_t start, const brine_loc *loc, unsigned depth,
                        unsigned flags, size_t *end)
{
    return run_stream(d, in, start, loc, depth, flags, end, 0, 0);
}

/* A bytes, bytearray or str constant: someone may load it later
 * (`pickle.loads(obj['model'])`). It is scanned as its own stream when it is a
 * container, or when loading it as a pickle would run something; other bytes
 * are data and change nothing. */
static int nested_constant(run_ctx *r, const brine_vm_event *ev)
{
    brine_drv *d = r->d;
    const brine_value *v = ev->target;
    if (d->stopped)
        return -1;
    const uint8_t *p;
    size_t n;
    bool unencodable;
    uint8_t *copy = latin1_of(v, &p, &n, &unencodable);
    if (unencodable)
        return 0; /* a str that no bytes are: nothing loads it as a pickle */
    int rc = 0;
    bool container = is_container(p, n);
    bool runs = container ? false : would_run(d, p, n, r->depth + 1);
    if (container || runs) {
        if (d->nested >= d->s->max_nested) {
            rc = brine_drv_fail(d, r->loc, "pickle", BRINE_STATUS_INCONCLUSIVE,
                                "max_nested: more nested pickles than the limit", ev->offset - r->base);
        } else if (r->depth + 1 > d->s->max_archive_depth) {
            rc = brine_drv_fail(d, r->loc, "pickle", BRINE_STATUS_INCONCLUSIVE,
                                "max_archive_depth: a pickle nested deeper than the limit was not scanned",
                                ev->offset - r->base);
        } else {
            d->nested++;
            brine_loc *nl = brine_drv_loc(d, r->loc, "nested", "pickle", "<nested>", 8, ev->offset - r->base);
            if (!nl)
                rc = brine_drv_fail(d, r->loc, "pickle", BRINE_STATUS_INCONCLUSIVE, "out of memory",
                                    ev->offset - r->base);
            else
                rc = container ? brine_drv_feed(d, p, n, nl, r->depth + 1, BRINE_FEED_NESTED)
                               : brine_drv_pickle(d, p, n, 0, nl, r->depth + 1, 0, NULL);
            brine_loc_free(nl);
        }
    }
    free(copy);
    return rc < 0 && d->stopped ? -1 : 0;
}

/* ---- the sniffer and the reader table --------------------------------------------------- */

static const brine_reader READERS[] = {
    {"torch-legacy", brine_torch_legacy_probe, brine_torch_legacy_walk}, /* five pickles, then storages */
    {"zip", brine_zip_probe, brine_zip_walk},                            /* also torch zip, npz, pandas zip */
    {"npy", brine_npy_probe, brine_npy_walk},
    {"archive", brine_archive_probe, brine_archive_walk},                /* tar, 7z */
    {"compressed", brine_compress_probe, brine_compress_walk},           /* gzip bz2 xz lzma zstd lz4 zlib */
};

/* The one sniffer: which reader knows these bytes, or NULL. */
static const brine_reader *sniff(const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < sizeof READERS / sizeof READERS[0]; i++)
        if (READERS[i].probe(data, n))
            return &READERS[i];
    return NULL;
}

static bool is_container(const uint8_t *p, size_t n)
{
    return sniff(p, n) != NULL;
}

static bool starts_with_proto(const uint8_t *p, size_t n)
{
    return n >= 2 && p[0] == 0x80 && p[1] <= 5;
}

int brine_drv_feed(brine_drv *d, const uint8_t *data, size_t n, const brine_loc *loc, unsigned depth, brine_feed how)
{
    if (d->stopped)
        return BRINE_ERR_CALLBACK;
    if (depth > d->s->max_archive_depth)
        return brine_drv_fail(d, loc, "?", BRINE_STATUS_INCONCLUSIVE,
                              "max_archive_depth: containers nested deeper than the limit", 0);
    const brine_reader *r = sniff(data, n);
    if (r == &READERS[0]) /* legacy torch reads its pickles from offset 0 itself */
        return r->walk(d, data, n, loc, depth);
    if (starts_with_proto(data, n) && (how == BRINE_FEED_TOP || how == BRINE_FEED_LOADED || !r)) {
        /* it starts as a pickle: that is one reading. A zip whose end record
         * lies after the pickle's STOP (a zip appended) is another one, read
         * too; a zip inside the pickle's own bytes is a constant, and the
         * nested scan takes it. */
        size_t end = 0;
        int rc = brine_drv_pickle(d, data, n, 0, loc, depth, BRINE_PICKLE_JOBLIB, &end);
        if (end && end < n && brine_zip_probe(data + end, n - end) && !d->stopped) {
            d->zip_prefix_scanned = true;
            rc = brine_zip_walk(d, data, n, loc, depth);
            d->zip_prefix_scanned = false;
        }
        return rc;
    }
    if (r) {
        int rc = r->walk(d, data, n, loc, depth);
        /* the raw file is always one reading: anyone can pickle.load a tar, an
         * npy or a gzip file, and a polyglot is a pickle from offset 0 too */
        if (!d->stopped && how != BRINE_FEED_LOADED && !(r == &READERS[1] && d->zip_prefix_scanned) &&
            brine_drv_would_run(d, data, n)) {
            brine_loc *rl = brine_drv_loc(d, loc, "member", "pickle", "<as-pickle>", 11, 0);
            if (!rl)
                return brine_drv_fail(d, loc, "pickle", BRINE_STATUS_INCONCLUSIVE, "out of memory", 0);
            brine_vm_input in = {data, n, NULL};
            rc = run_stream(d, &in, 0, rl, depth, BRINE_PICKLE_QUIET_STATUS, NULL, 0, 0);
            brine_loc_free(rl);
        }
        return rc;
    }
    if (how == BRINE_FEED_TOP || how == BRINE_FEED_LOADED || brine_drv_would_run(d, data, n))
        return brine_drv_pickle(d, data, n, 0, loc, depth, how == BRINE_FEED_TOP ? BRINE_PICKLE_JOBLIB : 0, NULL);
    return 0; /* data inside a container: nothing to load */
}

/* ---- streams too large to hold ----------------------------------------------------------- */

bool brine_drv_big_is_container(const brine_big *b)
{
    /* every probe but the zip's end record looks at the start only */
    return is_container(b->head, b->headn) || brine_zip_probe(b->tail, b->tailn);
}

uint8_t *brine_drv_read_whole(brine_drv *d, const brine_vm_source *src)
{
    uint8_t *buf = brine_drv_fault(d) ? NULL : malloc(src->len ? (size_t)src->len : 1);
    void *r = buf ? src->open(src->self) : NULL;
    uint64_t have = 0;
    while (r && have < src->len) {
        int64_t got = src->read(r, buf + have, (size_t)(src->len - have));
        if (got <= 0)
            break;
        have += (uint64_t)got;
    }
    if (r)
        src->close(r);
    if (have < src->len) {
        free(buf);
        d->nomem = true;
        return NULL;
    }
    return buf;
}

/* The zip check of brine_drv_feed after a pickle that ends at end, on what
 * was kept: the suffix's end record lies in the tail; a local header right at
 * end is read from a window of its own. */
static bool big_zip_after(brine_drv *d, const brine_big *b, uint64_t end)
{
    uint64_t len = b->src->len, tail_at = len - b->tailn;
    if (end >= tail_at)
        return brine_zip_probe(b->tail + (end - tail_at), (size_t)(len - end));
    if (brine_zip_probe(b->tail, b->tailn))
        return true;
    brine_window w;
    bool yes = true; /* a window that fails: read it whole, as brine_drv_feed would */
    if (brine_window_open(&w, b->src, end, (size_t)d->s->max_bytes, d->window_grain) == 0) {
        const uint8_t *p = brine_window_get(&w, end, 4);
        if (p)
            yes = brine_zip_probe(p, 4);
    }
    brine_window_close(&w);
    return yes;
}

int brine_drv_feed_big(brine_drv *d, const brine_big *b, const brine_loc *loc, unsigned depth, brine_feed how)
{
    if (d->stopped)
        return BRINE_ERR_CALLBACK;
    if (depth > d->s->max_archive_depth)
        return brine_drv_fail(d, loc, "?", BRINE_STATUS_INCONCLUSIVE,
                              "max_archive_depth: containers nested deeper than the limit", 0);
    uint64_t len = b->src->len;
    brine_window w;
    int rc = 0;
    if (brine_window_open(&w, b->src, 0, (size_t)d->s->max_bytes, d->window_grain) != 0) {
        d->nomem |= w.nomem;
        rc = brine_drv_fail(d, loc, "pickle", BRINE_STATUS_INCONCLUSIVE, w.error, 0);
        brine_window_close(&w);
        return rc;
    }
    brine_vm_input in = {NULL, len, &w};
    /* the same decisions as brine_drv_feed makes for bytes no reader knows */
    if (starts_with_proto(b->head, b->headn)) {
        size_t end = 0;
        rc = run_stream(d, &in, 0, loc, depth, BRINE_PICKLE_JOBLIB, &end, 0, 0);
        brine_window_close(&w);
        if (end && end < len && !d->stopped && big_zip_after(d, b, end)) {
            uint8_t *whole = brine_drv_read_whole(d, b->src);
            if (!whole)
                return brine_drv_fail(d, loc, "zip", BRINE_STATUS_INCONCLUSIVE, "out of memory", end);
            d->zip_prefix_scanned = true;
            rc = brine_zip_walk(d, whole, (size_t)len, loc, depth);
            d->zip_prefix_scanned = false;
            free(whole);
        }
        return rc;
    }
    /* the probe moves the window: the reading gets a fresh one (run_again) */
    if (how == BRINE_FEED_TOP || how == BRINE_FEED_LOADED || would_run_in(d, &in, b->head[0], 0))
        rc = run_again(d, &in, 0, loc, depth, how == BRINE_FEED_TOP ? BRINE_PICKLE_JOBLIB : 0, 0, 0);
    brine_window_close(&w);
    return rc;
}
