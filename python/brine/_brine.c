/*
 * _brine: the C half of the `brine` Python package. A thin layer over
 * libbrine's public header (include/brine.h) and nothing else: the scan runs
 * with the GIL released, the callbacks copy what they receive into plain C
 * memory, and the Python objects are built once the scan has returned.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brine.h"
#ifdef BRINE_HAVE_REPORT
#include "report.h"
#endif

#ifdef BRINE_HAVE_REPORT
struct collector;
#endif
static PyObject *PolicyError; /* _brine.PolicyError, replaced by brine.PolicyError */
static PyObject *ScanError;   /* an API error (I/O, memory) */

/* ---- a growable arena of NUL-terminated strings -------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} arena;

static size_t arena_put(arena *a, const char *s)
{
    if (!s)
        return SIZE_MAX;
    size_t n = strlen(s) + 1;
    if (a->len + n > a->cap) {
        size_t nc = a->cap ? a->cap : 4096;
        while (nc < a->len + n)
            nc *= 2;
        char *nb = realloc(a->buf, nc);
        if (!nb) {
            a->oom = 1;
            return SIZE_MAX;
        }
        a->buf = nb;
        a->cap = nc;
    }
    memcpy(a->buf + a->len, s, n);
    size_t at = a->len;
    a->len += n;
    return at;
}

/* growable array of fixed-size records */
typedef struct {
    void *v;
    size_t n, cap, size;
    int oom;
} vec;

static void *vec_push(vec *v)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 16;
        void *nv = realloc(v->v, nc * v->size);
        if (!nv) {
            v->oom = 1;
            return NULL;
        }
        v->v = nv;
        v->cap = nc;
    }
    void *r = (char *)v->v + v->n * v->size;
    v->n++;
    memset(r, 0, v->size);
    return r;
}

typedef struct {
    size_t kind, format, name;
    uint64_t offset;
} step_rec;

typedef struct {
    size_t location, opcode, kind, name, call, rule, message, rule_id, rule_pack, rule_file;
    uint64_t offset, opindex;
    unsigned rule_line;
    int verdict, severity;
    size_t step0, nsteps;
} finding_rec;

typedef struct {
    size_t location, format, error;
    int verdict, status;
    uint64_t error_offset, pickles, findings, streams;
    size_t step0, nsteps;
} stream_rec;

typedef struct {
    size_t location, name;
    int use;
} global_rec;

/* A pickle of a million objects of one class reports a million uses of one
 * name: the strings of its global records are stored once (the last location,
 * and names by the address the library gave them, checked by content since
 * an address can be reused for another name), so that records repeat offsets. */
#define NAME_SLOTS 64
#define NAME_PROBE 8
#define GLOBALS_NAMES 2

typedef struct collector {
    arena a;
    vec findings, streams, globals, steps;
    int want_globals; /* 0: none; 1: every use; GLOBALS_NAMES: the names */
    size_t loc_off;                                        /* the last global's location, or SIZE_MAX */
    struct { const char *p; size_t off; } names[NAME_SLOTS]; /* off SIZE_MAX: empty */
#ifdef BRINE_HAVE_REPORT
    brine_report_file *report;
#endif
} collector;

static void collector_init(collector *c)
{
    memset(c, 0, sizeof *c);
    c->findings.size = sizeof(finding_rec);
    c->streams.size = sizeof(stream_rec);
    c->globals.size = sizeof(global_rec);
    c->steps.size = sizeof(step_rec);
    c->loc_off = SIZE_MAX;
    for (size_t i = 0; i < NAME_SLOTS; i++)
        c->names[i].off = SIZE_MAX;
}

static void collector_free(collector *c)
{
    free(c->a.buf);
    free(c->findings.v);
    free(c->streams.v);
    free(c->globals.v);
    free(c->steps.v);
#ifdef BRINE_HAVE_REPORT
    brine_report_file_destroy(c->report);
#endif
}

static int collector_oom(const collector *c)
{
    return c->a.oom || c->findings.oom || c->streams.oom || c->globals.oom || c->steps.oom;
}

static void put_where(collector *c, const brine_location *w, size_t *step0, size_t *nsteps)
{
    *step0 = c->steps.n;
    *nsteps = 0;
    if (!w)
        return;
    for (size_t i = 0; i < w->depth; i++) {
        step_rec *s = vec_push(&c->steps);
        if (!s)
            return;
        s->kind = arena_put(&c->a, w->steps[i].kind);
        s->format = arena_put(&c->a, w->steps[i].format);
        s->name = arena_put(&c->a, w->steps[i].name);
        s->offset = w->steps[i].offset;
        (*nsteps)++;
    }
}

#ifdef BRINE_HAVE_REPORT
static int chain_finding(collector *c, const brine_finding *f);
static int chain_stream(collector *c, const brine_stream_result *s);
static int chain_global(collector *c, const brine_location *w, const char *name, brine_use use);
#endif

static int on_finding(void *user, const brine_finding *f)
{
    collector *c = user;
#ifdef BRINE_HAVE_REPORT
    chain_finding(c, f);
#endif
    finding_rec *r = vec_push(&c->findings);
    if (!r)
        return 0; /* reported as an error after the scan */
    r->location = arena_put(&c->a, f->location);
    r->offset = f->offset;
    r->opindex = f->opindex;
    r->opcode = arena_put(&c->a, f->opcode);
    r->kind = arena_put(&c->a, f->kind);
    r->verdict = (int)f->verdict;
    r->severity = (int)f->severity;
    r->name = arena_put(&c->a, f->name);
    r->call = arena_put(&c->a, f->call);
    r->rule = arena_put(&c->a, f->rule);
    r->message = arena_put(&c->a, f->message);
    r->rule_id = arena_put(&c->a, f->rule_id);
    r->rule_pack = arena_put(&c->a, f->rule_pack);
    r->rule_file = arena_put(&c->a, f->rule_file);
    r->rule_line = f->rule_line;
    size_t s0, ns;
    put_where(c, f->where, &s0, &ns);
    /* r may have moved? no: findings and steps are separate vectors */
    r = (finding_rec *)c->findings.v + (c->findings.n - 1);
    r->step0 = s0;
    r->nsteps = ns;
    return 0;
}

static void put_stream(collector *c, stream_rec *r, const brine_stream_result *s)
{
    r->location = arena_put(&c->a, s->location);
    r->format = arena_put(&c->a, s->format);
    r->error = arena_put(&c->a, s->error);
    r->verdict = (int)s->verdict;
    r->status = (int)s->status;
    r->error_offset = s->error_offset;
    r->pickles = s->pickles;
    r->findings = s->findings;
    r->streams = s->streams;
    r->step0 = c->steps.n;
    r->nsteps = 0;
}

static int on_stream(void *user, const brine_stream_result *s)
{
    collector *c = user;
#ifdef BRINE_HAVE_REPORT
    chain_stream(c, s);
#endif
    stream_rec *r = vec_push(&c->streams);
    if (!r)
        return 0;
    put_stream(c, r, s);
    size_t s0, ns;
    put_where(c, s->where, &s0, &ns);
    r = (stream_rec *)c->streams.v + (c->streams.n - 1);
    r->step0 = s0;
    r->nsteps = ns;
    return 0;
}

static int on_global(void *user, const brine_location *where, const char *name, brine_use use)
{
    collector *c = user;
#ifdef BRINE_HAVE_REPORT
    chain_global(c, where, name, use);
#endif
    if (!c->want_globals)
        return 0;
    /* the name's slot: where its address is, or the first free one, among
     * NAME_PROBE from its hash (all taken by other names: the first, evicted) */
    size_t k0 = ((uintptr_t)name >> 4) % NAME_SLOTS, k = k0;
    int known = 0;
    for (int i = 0; i < NAME_PROBE; i++, k = (k + 1) % NAME_SLOTS) {
        if (c->names[k].off == SIZE_MAX)
            break;
        if (c->names[k].p == name) { /* the same text, unless the address was freed and reused */
            known = strcmp(c->a.buf + c->names[k].off, name) == 0;
            break;
        }
    }
    if (k == (k0 + NAME_PROBE) % NAME_SLOTS)
        k = k0;
    /* GLOBALS_NAMES: a name once (again only when more than NAME_PROBE other
     * names took its slots between two uses; the caller makes a set), no location */
    if (c->want_globals == GLOBALS_NAMES && known)
        return 0;
    global_rec *g = vec_push(&c->globals);
    if (!g)
        return 0;
    if (c->want_globals == GLOBALS_NAMES) {
        g->location = SIZE_MAX;
    } else {
        const char *loc = where ? where->text : "";
        if (c->loc_off == SIZE_MAX || strcmp(c->a.buf + c->loc_off, loc) != 0)
            c->loc_off = arena_put(&c->a, loc);
        g->location = c->loc_off;
    }
    if (!known) {
        c->names[k].p = name;
        c->names[k].off = arena_put(&c->a, name);
    }
    g->name = c->names[k].off;
    g->use = (int)use;
    return 0;
}

/* ---- conversion to Python ------------------------------------------------ */

static PyObject *str_at(const collector *c, size_t off)
{
    if (off == SIZE_MAX)
        Py_RETURN_NONE;
    /* names may carry bytes that are not UTF-8 in odd files: never fail on them */
    return PyUnicode_DecodeUTF8(c->a.buf + off, (Py_ssize_t)strlen(c->a.buf + off), "backslashreplace");
}

static PyObject *steps_tuple(const collector *c, size_t step0, size_t n)
{
    PyObject *t = PyTuple_New((Py_ssize_t)n);
    if (!t)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const step_rec *s = (const step_rec *)c->steps.v + step0 + i;
        PyObject *e = Py_BuildValue("(NNNK)", str_at(c, s->kind), str_at(c, s->format), str_at(c, s->name),
                                    (unsigned long long)s->offset);
        if (!e) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)i, e);
    }
    return t;
}

static const char *const USE_NAMES[] = {"import", "call", "build", "items"};

static PyObject *stream_dict(const collector *c, const stream_rec *r, int with_steps)
{
    PyObject *steps = with_steps ? steps_tuple(c, r->step0, r->nsteps) : (Py_INCREF(Py_None), Py_None);
    if (!steps)
        return NULL;
    return Py_BuildValue("{s:N,s:N,s:s,s:s,s:N,s:K,s:K,s:K,s:K,s:N}", "location", str_at(c, r->location), "format",
                         str_at(c, r->format), "verdict", brine_verdict_name((brine_verdict)r->verdict), "status",
                         brine_status_name((brine_status)r->status), "error", str_at(c, r->error), "error_offset",
                         (unsigned long long)r->error_offset, "pickles", (unsigned long long)r->pickles, "findings",
                         (unsigned long long)r->findings, "streams", (unsigned long long)r->streams, "where", steps);
}

#define TUPLE_SLOTS 256

static PyObject *collector_result(const collector *c, const stream_rec *file, PyObject *json)
{
    PyObject *findings = PyList_New((Py_ssize_t)c->findings.n);
    PyObject *streams = PyList_New((Py_ssize_t)c->streams.n);
    PyObject *globals = PyList_New((Py_ssize_t)c->globals.n);
    PyObject *res = NULL;
    if (!findings || !streams || !globals)
        goto out;
    for (size_t i = 0; i < c->findings.n; i++) {
        const finding_rec *r = (const finding_rec *)c->findings.v + i;
        PyObject *steps = steps_tuple(c, r->step0, r->nsteps);
        if (!steps)
            goto out;
        PyObject *d = Py_BuildValue(
            "{s:N,s:K,s:K,s:N,s:N,s:s,s:s,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:I,s:N}", "location", str_at(c, r->location),
            "offset", (unsigned long long)r->offset, "opindex", (unsigned long long)r->opindex, "opcode",
            str_at(c, r->opcode), "kind", str_at(c, r->kind), "verdict",
            brine_verdict_name((brine_verdict)r->verdict), "severity",
            brine_severity_name((brine_severity)r->severity), "name", str_at(c, r->name), "call",
            str_at(c, r->call), "rule", str_at(c, r->rule), "message", str_at(c, r->message), "rule_id",
            str_at(c, r->rule_id), "rule_pack", str_at(c, r->rule_pack), "rule_file", str_at(c, r->rule_file),
            "rule_line", r->rule_line, "where", steps);
        if (!d)
            goto out;
        PyList_SET_ITEM(findings, (Py_ssize_t)i, d);
    }
    for (size_t i = 0; i < c->streams.n; i++) {
        PyObject *d = stream_dict(c, (const stream_rec *)c->streams.v + i, 1);
        if (!d)
            goto out;
        PyList_SET_ITEM(streams, (Py_ssize_t)i, d);
    }
    /* records with the same offsets share one tuple (tuples are immutable;
     * RandomForest: 3,921 records, 18 tuples): the list holds the references,
     * the table borrows them while it is filled. Before, a str pair and a
     * tuple per record were 0.9 of the 2.3 ms of a loader's scan. */
    struct { size_t loc, name; int use; PyObject *t; } made[TUPLE_SLOTS] = {{0}};
    for (size_t i = 0; i < c->globals.n; i++) {
        const global_rec *g = (const global_rec *)c->globals.v + i;
        if (c->want_globals == GLOBALS_NAMES) { /* a name (str) a record */
            PyObject *n = str_at(c, g->name);
            if (!n)
                goto out;
            PyList_SET_ITEM(globals, (Py_ssize_t)i, n);
            continue;
        }
        size_t k = (g->location * 31 + g->name * 7 + (size_t)g->use) % TUPLE_SLOTS;
        PyObject *t = made[k].t;
        if (t && made[k].loc == g->location && made[k].name == g->name && made[k].use == g->use) {
            Py_INCREF(t);
        } else {
            t = Py_BuildValue("(NNs)", str_at(c, g->location), str_at(c, g->name),
                              g->use >= 0 && g->use < 4 ? USE_NAMES[g->use] : "?");
            if (!t)
                goto out;
            made[k].loc = g->location;
            made[k].name = g->name;
            made[k].use = g->use;
            made[k].t = t;
        }
        PyList_SET_ITEM(globals, (Py_ssize_t)i, t);
    }
    PyObject *fd = stream_dict(c, file, 0);
    if (!fd)
        goto out;
    res = Py_BuildValue("(NOOOO)", fd, findings, streams, globals, json ? json : Py_None);
out:
    Py_XDECREF(findings);
    Py_XDECREF(streams);
    Py_XDECREF(globals);
    return res;
}

/* ---- settings ------------------------------------------------------------ */

#define SETTINGS_FIELDS(X)                                                                                              \
    X(max_opcodes) X(max_stack) X(max_marks) X(max_memo) X(max_bytes) X(max_depth) X(max_output) X(max_pickles)        \
        X(max_decompressed) X(max_ratio) X(max_archive_depth) X(max_members) X(max_nested) X(max_input_bytes) X(max_buffered)

/* Fill @p s from a dict of keyword arguments; unknown names raise TypeError. */
static int settings_from_dict(brine_settings *s, PyObject *kw)
{
    brine_settings_default(s);
    if (!kw || kw == Py_None)
        return 0;
    if (!PyDict_Check(kw)) {
        PyErr_SetString(PyExc_TypeError, "limits must be a dict");
        return -1;
    }
    PyObject *key, *val;
    Py_ssize_t pos = 0;
    while (PyDict_Next(kw, &pos, &key, &val)) {
        if (!PyUnicode_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "limit names must be str");
            return -1;
        }
        const char *k = PyUnicode_AsUTF8(key);
        if (!k)
            return -1;
        uint64_t *field = NULL;
#define MATCH(f)                                                                                                       \
    if (!field && strcmp(k, #f) == 0)                                                                                  \
        field = &s->f;
        SETTINGS_FIELDS(MATCH)
#undef MATCH
        if (!field) {
            PyErr_Format(PyExc_TypeError, "unknown limit '%s'", k);
            return -1;
        }
        if (!PyLong_Check(val) || PyBool_Check(val)) {
            PyErr_Format(PyExc_TypeError, "limit '%s' must be an int", k);
            return -1;
        }
        unsigned long long v = PyLong_AsUnsignedLongLong(val);
        if (v == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            PyErr_Format(PyExc_ValueError, "limit '%s' must be an integer from 0 to 2**64-1", k);
            return -1;
        }
        *field = (uint64_t)v;
    }
    return 0;
}

static PyObject *default_settings(PyObject *self, PyObject *unused)
{
    brine_settings s;
    brine_settings_default(&s);
    PyObject *d = PyDict_New();
    if (!d)
        return NULL;
#define PUT(f)                                                                                                         \
    {                                                                                                                  \
        PyObject *v = PyLong_FromUnsignedLongLong(s.f);                                                                \
        if (!v || PyDict_SetItemString(d, #f, v) < 0) {                                                                \
            Py_XDECREF(v);                                                                                             \
            Py_DECREF(d);                                                                                              \
            return NULL;                                                                                               \
        }                                                                                                              \
        Py_DECREF(v);                                                                                                  \
    }
    SETTINGS_FIELDS(PUT)
#undef PUT
    return d;
}

/* ---- Policy -------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD brine_policy *policy;
    char identity[17];
    char packs[1024];
} PolicyObject;

static void Policy_dealloc(PolicyObject *self)
{
    brine_policy_destroy(self->policy);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* _brine.Policy(files): files is a sequence of paths (str/bytes/PathLike); empty for the bundle. */
static PyObject *Policy_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    PyObject *files = NULL;
    static char *kwlist[] = {"files", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:Policy", kwlist, &files))
        return NULL;
    PyObject *seq = files ? PySequence_Fast(files, "files must be a sequence of paths") : PyTuple_New(0);
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **encoded = calloc((size_t)n + 1, sizeof *encoded);
    const char **paths = calloc((size_t)n + 1, sizeof *paths);
    PolicyObject *self = NULL;
    if (!encoded || !paths) {
        PyErr_NoMemory();
        goto out;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyUnicode_FSConverter(PySequence_Fast_GET_ITEM(seq, i), &encoded[i]))
            goto out;
        paths[i] = PyBytes_AS_STRING(encoded[i]);
    }
    brine_policy *p = NULL;
    brine_diag diag;
    diag.message[0] = 0;
    int r;
    Py_BEGIN_ALLOW_THREADS r = brine_policy_compile(&p, n ? paths : NULL, (size_t)n, &diag);
    Py_END_ALLOW_THREADS if (r < 0)
    {
        if (r == BRINE_ERR_NOMEM)
            PyErr_NoMemory();
        else
            PyErr_SetString(PolicyError, diag.message[0] ? diag.message : brine_strerror(r));
        goto out;
    }
    self = (PolicyObject *)type->tp_alloc(type, 0);
    if (!self) {
        brine_policy_destroy(p);
        goto out;
    }
    self->policy = p;
    if (brine_policy_identity(p, self->identity, self->packs, sizeof self->packs) < 0) {
        Py_CLEAR(self);
        PyErr_SetString(ScanError, "brine_policy_identity failed");
    }
out:
    if (encoded)
        for (Py_ssize_t i = 0; i < n; i++)
            Py_XDECREF(encoded[i]);
    free(encoded);
    free(paths);
    Py_DECREF(seq);
    return (PyObject *)self;
}

static int write_to_bytes(void *user, const char *text, size_t len)
{
    arena *a = user;
    if (a->len + len + 1 > a->cap) {
        size_t nc = a->cap ? a->cap : 4096;
        while (nc < a->len + len + 1)
            nc *= 2;
        char *nb = realloc(a->buf, nc);
        if (!nb) {
            a->oom = 1;
            return 1;
        }
        a->buf = nb;
        a->cap = nc;
    }
    memcpy(a->buf + a->len, text, len);
    a->len += len;
    return 0;
}

static PyObject *Policy_yaml(PolicyObject *self, PyObject *unused)
{
    arena a = {0};
    int r;
    Py_BEGIN_ALLOW_THREADS r = brine_policy_write(self->policy, write_to_bytes, &a);
    Py_END_ALLOW_THREADS if (r < 0 || a.oom)
    {
        free(a.buf);
        return a.oom || r == BRINE_ERR_NOMEM ? PyErr_NoMemory() : PyErr_Format(ScanError, "%s", brine_strerror(r));
    }
    PyObject *s = PyUnicode_DecodeUTF8(a.buf ? a.buf : "", (Py_ssize_t)a.len, "backslashreplace");
    free(a.buf);
    return s;
}

static PyObject *Policy_get_identity(PolicyObject *self, void *c) { return PyUnicode_FromString(self->identity); }
static PyObject *Policy_get_packs(PolicyObject *self, void *c) { return PyUnicode_FromString(self->packs); }

static PyMethodDef Policy_methods[] = {
    {"yaml", (PyCFunction)Policy_yaml, METH_NOARGS, "the effective merged policy, as YAML"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Policy_getset[] = {
    {"identity", (getter)Policy_get_identity, NULL, "hash of the effective policy (16 hex digits)", NULL},
    {"packs", (getter)Policy_get_packs, NULL, "packs, comma-separated, in load order", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject PolicyType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "brine._brine.Policy",
    .tp_basicsize = sizeof(PolicyObject),
    .tp_dealloc = (destructor)Policy_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "a compiled, immutable libbrine policy",
    .tp_new = Policy_new,
    .tp_methods = Policy_methods,
    .tp_getset = Policy_getset,
};

/* ---- the per-file report (analyzer/report/, when built with it) --------- */

#ifdef BRINE_HAVE_REPORT
/* the report library's own callbacks, called after ours */
static int chain_finding(collector *c, const brine_finding *f)
{
    const brine_scan_callbacks *rcb = brine_report_file_callbacks();
    return c->report && rcb->finding ? rcb->finding(c->report, f) : 0;
}
static int chain_stream(collector *c, const brine_stream_result *s)
{
    const brine_scan_callbacks *rcb = brine_report_file_callbacks();
    return c->report && rcb->stream ? rcb->stream(c->report, s) : 0;
}
static int chain_global(collector *c, const brine_location *w, const char *name, brine_use use)
{
    const brine_scan_callbacks *rcb = brine_report_file_callbacks();
    return c->report && rcb->global ? rcb->global(c->report, w, name, use) : 0;
}

#endif

/* As the command reads a file: a regular file up to READ_LIMIT is read into
 * memory once (that one copy is hashed and scanned); a larger one is scanned
 * from its descriptor (mapped by the library); anything else is read up to
 * @p cap bytes, *over set if there was more. Returns 0 or an errno value. */
#define READ_LIMIT ((uint64_t)64 << 20)

/* A regular file's buffer, of its size at once: from 2 MiB mapped on a 2 MiB
 * boundary and offered to transparent huge pages (read into malloc'd memory
 * by doubling, a 42 MB file took 10,500 page faults, half of brine.scan(path)).
 * *mapped: the length to munmap, 0 for malloc'd memory. */
#define BIG_BUF ((size_t)2 << 20)

static uint8_t *buf_alloc(size_t n, size_t *mapped)
{
    *mapped = 0;
    if (n < BIG_BUF)
        return malloc(n ? n : 1);
    size_t page = (size_t)sysconf(_SC_PAGESIZE), rn = (n + page - 1) & ~(page - 1), len = rn + BIG_BUF;
    uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uint8_t *a = (uint8_t *)(((uintptr_t)m + BIG_BUF - 1) & ~(uintptr_t)(BIG_BUF - 1));
    if (a > m)
        munmap(m, (size_t)(a - m));
    if (len - (size_t)(a - m) > rn)
        munmap(a + rn, len - (size_t)(a - m) - rn);
#ifdef MADV_HUGEPAGE
    madvise(a, rn, MADV_HUGEPAGE);
#endif
    *mapped = rn;
    return a;
}

static void buf_free(uint8_t *b, size_t mapped)
{
    if (mapped)
        munmap(b, mapped);
    else
        free(b);
}

/* Read up to cap bytes (cap + 1 tells "longer"). A regular file (exact: cap is
 * its size) gets one buffer of cap + 1 bytes, which reading never outgrows
 * (past cap it stops); anything else one that doubles. */
static int read_all_fd(int fd, uint64_t cap, bool exact, uint8_t **buf, size_t *len, int *over, size_t *mapped)
{
    size_t n = 0, sz = 0;
    uint8_t *b = NULL;
    *over = 0;
    *mapped = 0;
    if (exact && cap < SIZE_MAX) {
        sz = (size_t)cap + 1;
        if (!(b = buf_alloc(sz, mapped)))
            return ENOMEM;
    }
    for (;;) {
        if (n == sz) {
            size_t nsz = sz ? sz * 2 : 1 << 16;
            uint8_t *nb = realloc(b, nsz); /* not an exact buffer: only those are mapped */
            if (!nb) {
                free(b);
                return ENOMEM;
            }
            b = nb;
            sz = nsz;
        }
        size_t want = sz - n;
        if ((uint64_t)n + want > cap + 1)
            want = (size_t)(cap + 1 - n);
        ssize_t r = read(fd, b + n, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            buf_free(b, *mapped);
            return e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if ((uint64_t)n > cap) {
            *over = 1;
            n = (size_t)cap;
            break;
        }
    }
    *buf = b;
    *len = n;
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- scanning ------------------------------------------------------------ */

/*
 * _brine.Scanner(policy, limits): a libbrine scanner (and the report
 * library's per-file collector) over one policy, reused from scan to scan:
 * making them costs more than scanning a small file. One thread at a time
 * (the package keeps one per thread); the policy is shared.
 */
typedef struct {
    PyObject_HEAD brine_scanner *sc;
#ifdef BRINE_HAVE_REPORT
    brine_report_file *rf;
#endif
    PyObject *policy;
    brine_settings s;
    int busy;
} ScannerObject;

static void Scanner_dealloc(ScannerObject *self)
{
    brine_scanner_destroy(self->sc);
#ifdef BRINE_HAVE_REPORT
    brine_report_file_destroy(self->rf);
#endif
    Py_XDECREF(self->policy);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Scanner_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    PyObject *policy_obj, *limits = Py_None;
    static char *kwlist[] = {"policy", "limits", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!|O:Scanner", kwlist, &PolicyType, &policy_obj, &limits))
        return NULL;
    brine_settings st;
    if (settings_from_dict(&st, limits) < 0)
        return NULL;
    ScannerObject *self = (ScannerObject *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->s = st;
    Py_INCREF(policy_obj);
    self->policy = policy_obj;
    const brine_policy *pol = ((PolicyObject *)policy_obj)->policy;
    int r = brine_scanner_create(&self->sc, pol, &self->s);
#ifdef BRINE_HAVE_REPORT
    if (r == 0)
        r = brine_report_file_create(&self->rf, pol);
#endif
    if (r < 0) {
        Py_DECREF(self);
        return r == BRINE_ERR_NOMEM ? PyErr_NoMemory() : PyErr_Format(ScanError, "%s", brine_strerror(r));
    }
    return (PyObject *)self;
}

/*
 * Scanner.scan(kind, source, name, globals=1, report=True) where kind is
 * "buffer" (source supports the buffer protocol), "path" (a path: read as
 * the command reads it) or "fd" (an int, not closed). Returns (file,
 * findings, streams, globals, json) where json is the report library's
 * per-file object (None without it or with report=False) and globals a
 * (location, name, use) tuple for every use of a global (globals=1), the
 * names used as str, each once or a few times (2), or empty (0).
 */
static PyObject *Scanner_scan(ScannerObject *so, PyObject *args)
{
    PyObject *source, *name_obj;
    const char *kind;
    int want_globals = 1, want_report = 1;
    if (!PyArg_ParseTuple(args, "sOO|ip:scan", &kind, &source, &name_obj, &want_globals, &want_report))
        return NULL;
    if (want_globals < 0 || want_globals > GLOBALS_NAMES) {
        PyErr_SetString(PyExc_ValueError, "globals is 0 (none), 1 (every use) or 2 (the names)");
        return NULL;
    }
    if (so->busy) {
        PyErr_SetString(PyExc_RuntimeError, "this brine scanner is already scanning (one per thread)");
        return NULL;
    }
    PyObject *name_b = NULL, *path_b = NULL, *res = NULL, *json = NULL;
    Py_buffer view = {0};
    int have_view = 0, fd = -1;
    if (!PyUnicode_FSConverter(name_obj, &name_b))
        return NULL;
    if (strcmp(kind, "buffer") == 0) {
        if (PyObject_GetBuffer(source, &view, PyBUF_SIMPLE) < 0)
            goto out;
        have_view = 1;
    } else if (strcmp(kind, "path") == 0) {
        if (!PyUnicode_FSConverter(source, &path_b))
            goto out;
    } else if (strcmp(kind, "fd") == 0) {
        long v = PyLong_AsLong(source);
        if (v == -1 && PyErr_Occurred())
            goto out;
        if (v < 0 || v > INT32_MAX) {
            PyErr_SetString(PyExc_ValueError, "bad file descriptor");
            goto out;
        }
        fd = (int)v;
    } else {
        PyErr_Format(PyExc_ValueError, "unknown source kind '%s'", kind);
        goto out;
    }
    collector c;
    collector_init(&c);
    c.want_globals = want_globals;
    brine_stream_result outr;
    memset(&outr, 0, sizeof outr);
    int r = 0, err = 0;
    stream_rec file;
    memset(&file, 0, sizeof file);
    const char *name = PyBytes_AS_STRING(name_b);
    arena js = {0};
    so->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    double t0 = now_seconds();
    (void)t0;
    (void)want_report;
#ifdef BRINE_HAVE_REPORT
    if (want_report) {
        c.report = so->rf;
        r = brine_report_file_begin(c.report, name);
    }
#endif
    uint8_t *owned = NULL; /* a path's bytes, read here */
    size_t owned_mapped = 0;
    const uint8_t *data = have_view ? view.buf : NULL;
    size_t len = have_view ? (size_t)view.len : 0;
    int over = 0, by_fd = 0, close_fd = 0;
    uint64_t size = 0;
    if (r == 0 && path_b) {
        fd = open(PyBytes_AS_STRING(path_b), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
            err = errno;
            r = BRINE_ERR_IO;
        } else if (S_ISDIR(st.st_mode)) {
            err = EISDIR;
            r = BRINE_ERR_IO;
        } else {
            int regular = S_ISREG(st.st_mode);
            if (!regular) { /* reads block again; a FIFO without a writer reads as empty */
                int fl = fcntl(fd, F_GETFL);
                if (fl >= 0 && (fl & O_NONBLOCK))
                    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
            }
            if (regular && (uint64_t)st.st_size > READ_LIMIT) {
                by_fd = 1;
                size = (uint64_t)st.st_size;
            } else {
                int e = read_all_fd(fd, regular ? (uint64_t)st.st_size : so->s.max_input_bytes, regular, &owned, &len,
                                    &over, &owned_mapped);
                if (e) {
                    err = e;
                    r = e == ENOMEM ? BRINE_ERR_NOMEM : BRINE_ERR_IO;
                }
                if (regular)
                    over = 0; /* it grew while read: scan what its size said */
                data = owned ? owned : (const uint8_t *)"";
            }
        }
        close_fd = fd >= 0;
    } else if (r == 0 && !have_view) {
        by_fd = 1;
    }
    if (r == 0) {
        /* names only and no report to count uses for: the library tells each
         * name and use once a stream */
        int once = want_globals == GLOBALS_NAMES;
#ifdef BRINE_HAVE_REPORT
        once = once && !c.report;
#endif
        brine_scanner_set_global_once(so->sc, once);
        brine_scan_callbacks cb = {on_finding, on_stream, on_global};
        brine_scanner_set_callbacks(so->sc, &cb, &c);
#ifdef BRINE_HAVE_REPORT
        /* the sha256 beside the scan (a thread of its own for a large input
         * when there is a second core): a caller's descriptor is not read again */
        brine_report_sha256_job hj;
        int hashing = c.report && (!by_fd || path_b);
        if (hashing) {
            size_t hl = by_fd ? (size_t)size : len;
            brine_report_sha256_begin(&hj, by_fd ? NULL : (data ? data : (const uint8_t *)""), hl, fd, 1);
        }
#endif
        errno = 0;
        if (by_fd)
            r = brine_scanner_scan_fd(so->sc, fd, name, &outr);
        else
            r = brine_scanner_scan_buffer(so->sc, data ? data : (const uint8_t *)"", len, name, &outr);
        err = errno;
#ifdef BRINE_HAVE_REPORT
        char hex[65] = "";
        if (hashing)
            brine_report_sha256_end(&hj, hex);
#endif
        brine_scanner_set_callbacks(so->sc, NULL, NULL);
        if (over && r >= 0 && outr.status != BRINE_STATUS_INCONCLUSIVE) {
            /* longer than the cap: what was read is judged, the rest was not seen */
            outr.status = BRINE_STATUS_INCONCLUSIVE;
            outr.error = "max_input_bytes: input from a pipe or device is longer than the limit";
            outr.error_offset = len;
        }
        if (r == 0 || r == BRINE_ERR_NOMEM)
            put_stream(&c, &file, &outr); /* the file's strings live in the scanner: copy them now */
#ifdef BRINE_HAVE_REPORT
        if ((r == 0 || r == BRINE_ERR_NOMEM) && c.report) {
            if (!by_fd)
                size = len;
            brine_report_file_end(c.report, r, &outr, size, hex[0] ? hex : NULL, now_seconds() - t0);
            if (brine_report_file_json(c.report, write_to_bytes, &js) < 0)
                js.oom = 1;
        }
#endif
    }
    if (owned)
        buf_free(owned, owned_mapped);
    if (close_fd)
        close(fd);
    Py_END_ALLOW_THREADS
    so->busy = 0;
#ifdef BRINE_HAVE_REPORT
    c.report = NULL; /* the scanner's, not the collector's */
#endif
    if (r == BRINE_ERR_IO || r == BRINE_ERR_INVALID) {
        if (err) {
            errno = err;
            PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path_b ? source : name_obj);
        } else
            PyErr_Format(ScanError, "%s: %s", name, brine_strerror(r));
    } else if (r < 0 && r != BRINE_ERR_NOMEM) {
        PyErr_Format(ScanError, "%s: %s", name, brine_strerror(r));
    } else if (collector_oom(&c) || js.oom) {
        PyErr_NoMemory();
    } else {
        if (js.buf)
            json = PyUnicode_DecodeUTF8(js.buf, (Py_ssize_t)js.len, "backslashreplace");
        if (!js.buf || json)
            res = collector_result(&c, &file, json);
    }
    Py_XDECREF(json);
    free(js.buf);
    collector_free(&c);
out:
    if (have_view)
        PyBuffer_Release(&view);
    Py_XDECREF(name_b);
    Py_XDECREF(path_b);
    return res;
}

static PyObject *Scanner_get_policy(ScannerObject *self, void *c)
{
    Py_INCREF(self->policy);
    return self->policy;
}

static PyMethodDef Scanner_methods[] = {
    {"scan", (PyCFunction)Scanner_scan, METH_VARARGS, "scan(kind, source, name, globals=True, report=True)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Scanner_getset[] = {
    {"policy", (getter)Scanner_get_policy, NULL, "the compiled policy", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "brine._brine.Scanner",
    .tp_basicsize = sizeof(ScannerObject),
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "a libbrine scanner over one policy, for one thread at a time",
    .tp_new = Scanner_new,
    .tp_methods = Scanner_methods,
    .tp_getset = Scanner_getset,
};

#ifdef BRINE_HAVE_REPORT
/* _brine.unreadable_json(policy, path, errno, message=None): the per-file JSON
 * object the report library writes for a file that could not be read. */
static PyObject *unreadable_json(PyObject *self, PyObject *args)
{
    PyObject *policy_obj;
    const char *path, *message = NULL;
    int errnum;
    if (!PyArg_ParseTuple(args, "O!si|z:unreadable_json", &PolicyType, &policy_obj, &path, &errnum, &message))
        return NULL;
    brine_report_file *rf = NULL;
    if (brine_report_file_create(&rf, ((PolicyObject *)policy_obj)->policy) < 0 ||
        brine_report_file_begin(rf, path) < 0) {
        brine_report_file_destroy(rf);
        return PyErr_NoMemory();
    }
    brine_report_file_fail(rf, errnum, message);
    arena a = {0};
    int r = brine_report_file_json(rf, write_to_bytes, &a);
    brine_report_file_destroy(rf);
    if (r < 0 || a.oom) {
        free(a.buf);
        return PyErr_NoMemory();
    }
    PyObject *str = PyUnicode_DecodeUTF8(a.buf ? a.buf : "", (Py_ssize_t)a.len, "backslashreplace");
    free(a.buf);
    return str;
}
#endif

static PyObject *version(PyObject *self, PyObject *unused) { return PyUnicode_FromString(brine_version()); }

static PyObject *have_report(PyObject *self, PyObject *unused)
{
#ifdef BRINE_HAVE_REPORT
    Py_RETURN_TRUE;
#else
    Py_RETURN_FALSE;
#endif
}

static PyMethodDef module_methods[] = {
    {"version", version, METH_NOARGS, "libbrine's version"},
#ifdef BRINE_HAVE_REPORT
    {"unreadable_json", unreadable_json, METH_VARARGS, "unreadable_json(policy, path, errno, message=None)"},
#endif
    {"default_limits", default_settings, METH_NOARGS, "the default limits, as a dict"},
    {"have_report", have_report, METH_NOARGS, "whether to_json comes from libbrine's report writers"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_brine", "libbrine, through its public header", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__brine(void);
PyMODINIT_FUNC PyInit__brine(void)
{
    if (PyType_Ready(&PolicyType) < 0)
        return NULL;
    if (PyType_Ready(&ScannerType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    PolicyError = PyErr_NewException("brine.PolicyError", PyExc_ValueError, NULL);
    ScanError = PyErr_NewException("brine.ScanError", PyExc_RuntimeError, NULL);
    Py_INCREF(&PolicyType);
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    if (!PolicyError || !ScanError || PyModule_AddObject(m, "Policy", (PyObject *)&PolicyType) < 0 ||
        PyModule_AddObject(m, "PolicyError", PolicyError) < 0 || PyModule_AddObject(m, "ScanError", ScanError) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(PolicyError);
    Py_INCREF(ScanError);
    return m;
}
