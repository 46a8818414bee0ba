/* brine_dump_json: the value of the first pickle as canonical JSON
 * (doc/dump-format.md). This is what the differential test compares with
 * CPython's pickle.loads under stubbed globals. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "vm.h"

typedef struct {
    brine_write_fn out;
    void *user;
    char buf[8192];
    size_t len;
    bool stopped;
    /* identity objects: pointer -> visit count (pass 1) / id (pass 2) */
    struct idslot { const brine_value *v; int64_t count, id; } *slots;
    size_t cap, used;
    int64_t next_id;
    uint64_t nodes, max_nodes, max_depth;
    bool over; /* a limit was hit */
} dumper;

static void flush(dumper *d)
{
    if (d->len && !d->stopped && d->out(d->user, d->buf, d->len))
        d->stopped = true;
    d->len = 0;
}

static void w(dumper *d, const char *s, size_t n)
{
    while (n) {
        if (d->len == sizeof d->buf)
            flush(d);
        size_t k = sizeof d->buf - d->len;
        if (k > n)
            k = n;
        memcpy(d->buf + d->len, s, k);
        d->len += k;
        s += k;
        n -= k;
    }
}

static void ws(dumper *d, const char *s)
{
    w(d, s, strlen(s));
}

static bool has_identity(const brine_value *v)
{
    switch (v->kind) {
    case BRINE_V_LIST: case BRINE_V_DICT: case BRINE_V_SET: case BRINE_V_BYTEARRAY:
    case BRINE_V_GLOBAL: case BRINE_V_CALL: case BRINE_V_NEW: case BRINE_V_PERSID: case BRINE_V_EXT:
        return true;
    default:
        return false;
    }
}

static struct idslot *slot_of(dumper *d, const brine_value *v)
{
    if ((d->used + 1) * 2 > d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 256;
        struct idslot *n = calloc(nc, sizeof *n);
        if (!n) {
            d->over = true;
            return NULL;
        }
        for (size_t j = 0; j < d->cap; j++) {
            if (!d->slots[j].v)
                continue;
            size_t i = ((uintptr_t)d->slots[j].v >> 4) * 0x9e3779b97f4a7c15ULL >> 7 & (nc - 1);
            while (n[i].v)
                i = (i + 1) & (nc - 1);
            n[i] = d->slots[j];
        }
        free(d->slots);
        d->slots = n;
        d->cap = nc;
    }
    size_t i = ((uintptr_t)v >> 4) * 0x9e3779b97f4a7c15ULL >> 7 & (d->cap - 1);
    while (d->slots[i].v && d->slots[i].v != v)
        i = (i + 1) & (d->cap - 1);
    if (!d->slots[i].v) {
        d->slots[i].v = v;
        d->slots[i].id = -1;
        d->used++;
    }
    return &d->slots[i];
}

/* Children in the order they are written. */
typedef void (*visit_fn)(dumper *d, const brine_value *v, unsigned depth);

static void children(dumper *d, const brine_value *v, unsigned depth, visit_fn f)
{
    switch (v->kind) {
    case BRINE_V_TUPLE: case BRINE_V_LIST: case BRINE_V_SET: case BRINE_V_FROZENSET:
        for (uint32_t i = 0; i < v->u.seq.len && !d->over; i++)
            f(d, v->u.seq.items[i], depth + 1);
        return;
    case BRINE_V_DICT:
        for (uint32_t i = 0; i < v->u.dict.keys.len && !d->over; i++) {
            f(d, v->u.dict.keys.items[i], depth + 1);
            f(d, v->u.dict.vals.items[i], depth + 1);
        }
        return;
    case BRINE_V_GLOBAL:
        if (v->dynamic) {
            f(d, v->u.g.module, depth + 1);
            f(d, v->u.g.name, depth + 1);
        }
        break;
    case BRINE_V_CALL: case BRINE_V_NEW:
        f(d, v->u.c.callee, depth + 1);
        f(d, v->u.c.args, depth + 1);
        /* tp_new receives the kwargs as **kwargs, a fresh dict: walk its
         * entries, not the dict's identity */
        if (v->u.c.kwargs && v->u.c.kwargs->kind == BRINE_V_DICT) {
            for (uint32_t i = 0; i < v->u.c.kwargs->u.dict.keys.len && !d->over; i++) {
                f(d, v->u.c.kwargs->u.dict.keys.items[i], depth + 1);
                f(d, v->u.c.kwargs->u.dict.vals.items[i], depth + 1);
            }
        } else if (v->u.c.kwargs) {
            f(d, v->u.c.kwargs, depth + 1);
        }
        break;
    case BRINE_V_PERSID:
        f(d, v->u.c.callee, depth + 1);
        break;
    case BRINE_V_EXT:
        break; /* no children but its operations */
    default:
        return;
    }
    for (const brine_objop *op = brine_value_ops(v); op && !d->over; op = op->next) {
        if (op->kind == BRINE_OPK_EXTEND)
            for (uint32_t i = 0; i < op->items.len; i++)
                f(d, op->items.items[i], depth + 1);
        if (op->a)
            f(d, op->a, depth + 1);
        if (op->b)
            f(d, op->b, depth + 1);
    }
}

static bool budget(dumper *d, unsigned depth)
{
    if (++d->nodes > d->max_nodes || depth > d->max_depth) {
        d->over = true;
        return false;
    }
    return true;
}

/* Bytes of payload a leaf writes (text, bytes, digits), which the node count
 * alone does not bound: a hostile file may reach one large constant through
 * a million shared tuples, each occurrence written out in full. */
static size_t leaf_payload(const brine_value *v)
{
    switch (v->kind) {
    case BRINE_V_STR: case BRINE_V_BYTES: case BRINE_V_BIGINT: case BRINE_V_BYTEARRAY:
        return v->u.s.n;
    case BRINE_V_MEMORYVIEW:
        return brine_value_buffer(v)->u.s.n;
    default:
        return 0;
    }
}

#define PAYLOAD_PER_NODE 64 /* a leaf costs a node per this many bytes */

static void count_refs(dumper *d, const brine_value *v, unsigned depth)
{
    if (d->over || !budget(d, depth))
        return;
    size_t pay = leaf_payload(v) / PAYLOAD_PER_NODE;
    if (pay) {
        if (d->nodes > d->max_nodes || pay > d->max_nodes - d->nodes) {
            d->over = true;
            return;
        }
        d->nodes += pay;
    }
    if (has_identity(v)) {
        struct idslot *s = slot_of(d, v);
        if (!s)
            return;
        if (s->count++ > 0)
            return;
    }
    children(d, v, depth, count_refs);
}

static void write_str(dumper *d, const uint8_t *p, size_t n)
{
    w(d, "\"", 1);
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = brine_utf8_next(p + i, n - i, &cp);
        char tmp[16];
        if (cp == '"' || cp == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)cp;
            w(d, tmp, 2);
        } else if (cp >= 0x20 && cp < 0x7f) {
            tmp[0] = (char)cp;
            w(d, tmp, 1);
        } else if (cp < 0x10000) {
            snprintf(tmp, sizeof tmp, "\\u%04x", cp);
            ws(d, tmp);
        } else {
            cp -= 0x10000;
            snprintf(tmp, sizeof tmp, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
            ws(d, tmp);
        }
        i += k;
    }
    w(d, "\"", 1);
}

static void write_hex(dumper *d, const char *key, const uint8_t *p, size_t n, const char *extra)
{
    static const char hx[] = "0123456789abcdef";
    ws(d, "{\"");
    ws(d, key);
    ws(d, "\":\"");
    for (size_t i = 0; i < n; i++) {
        char t[2] = {hx[p[i] >> 4], hx[p[i] & 15]};
        w(d, t, 2);
    }
    ws(d, "\"");
    if (extra)
        ws(d, extra);
    ws(d, "}");
}

static void format_float(char *out, size_t n, double f)
{
    if (isnan(f)) {
        snprintf(out, n, signbit(f) ? "-nan" : "nan");
        return;
    }
    if (isinf(f)) {
        snprintf(out, n, f < 0 ? "-inf" : "inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, f);
        if (strtod(out, NULL) == f)
            return;
    }
}

static void write_value(dumper *d, const brine_value *v, unsigned depth);

static void write_seq(dumper *d, const char *key, const brine_vec *s, unsigned depth)
{
    ws(d, "{\"");
    ws(d, key);
    ws(d, "\":[");
    for (uint32_t i = 0; i < s->len; i++) {
        if (i)
            w(d, ",", 1);
        write_value(d, s->items[i], depth + 1);
    }
    ws(d, "]");
}

static void write_ops(dumper *d, const brine_value *v, unsigned depth)
{
    const brine_objop *first = brine_value_ops(v);
    if (!first)
        return;
    ws(d, ",\"ops\":[");
    for (const brine_objop *op = first; op; op = op->next) {
        if (op != first)
            w(d, ",", 1);
        switch (op->kind) {
        case BRINE_OPK_BUILD:
            ws(d, "[\"build\",");
            write_value(d, op->a, depth + 1);
            break;
        case BRINE_OPK_EXTEND:
            ws(d, "[\"extend\",[");
            for (uint32_t i = 0; i < op->items.len; i++) {
                if (i)
                    w(d, ",", 1);
                write_value(d, op->items.items[i], depth + 1);
            }
            ws(d, "]");
            break;
        case BRINE_OPK_SETITEM:
            ws(d, "[\"setitem\",");
            write_value(d, op->a, depth + 1);
            w(d, ",", 1);
            write_value(d, op->b, depth + 1);
            break;
        case BRINE_OPK_ADD:
            ws(d, "[\"add\",");
            write_value(d, op->a, depth + 1);
            break;
        }
        ws(d, "]");
    }
    ws(d, "]");
}

static void write_value(dumper *d, const brine_value *v, unsigned depth)
{
    char tmp[64];
    if (d->over || d->stopped)
        return;
    if (depth > d->max_depth) { /* a backstop: the counting pass bounds depth already */
        d->over = true;
        return;
    }
    if (has_identity(v)) {
        struct idslot *s = slot_of(d, v);
        if (!s)
            return;
        if (s->id >= 0) {
            snprintf(tmp, sizeof tmp, "{\"ref\":%lld}", (long long)s->id);
            ws(d, tmp);
            return;
        }
        if (s->count > 1)
            s->id = d->next_id++;
    }
    const char *idtext = NULL;
    if (has_identity(v)) {
        struct idslot *s = slot_of(d, v);
        if (s && s->id >= 0) {
            snprintf(tmp, sizeof tmp, ",\"id\":%lld", (long long)s->id);
            idtext = tmp;
        }
    }
    char idbuf[64];
    if (idtext) {
        strcpy(idbuf, idtext);
        idtext = idbuf;
    }
    switch ((brine_vkind)v->kind) {
    case BRINE_V_NONE: ws(d, "null"); break;
    case BRINE_V_BOOL: ws(d, v->u.b ? "true" : "false"); break;
    case BRINE_V_INT:
        snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i);
        ws(d, tmp);
        break;
    case BRINE_V_BIGINT: {
        brine_arena a;
        brine_arena_init(&a, (uint64_t)v->u.s.n * 4 + 1024);
        const char *h = brine_bigint_hex(&a, v->u.s.p, v->u.s.n);
        ws(d, "{\"int\":\"");
        ws(d, h ? h : "?");
        ws(d, "\"}");
        brine_arena_free(&a);
        break;
    }
    case BRINE_V_FLOAT:
        format_float(tmp, sizeof tmp, v->u.f);
        ws(d, "{\"float\":\"");
        ws(d, tmp);
        ws(d, "\"}");
        break;
    case BRINE_V_STR: write_str(d, v->u.s.p, v->u.s.n); break;
    case BRINE_V_BYTES: write_hex(d, "bytes", v->u.s.p, v->u.s.n, NULL); break;
    case BRINE_V_MEMORYVIEW:
        write_hex(d, "memoryview", brine_value_buffer(v)->u.s.p, brine_value_buffer(v)->u.s.n, NULL);
        break;
    case BRINE_V_BYTEARRAY:
        write_hex(d, "bytearray", v->u.s.p, v->u.s.n, idtext);
        break;
    case BRINE_V_TUPLE: write_seq(d, "tuple", &v->u.seq, depth); ws(d, "}"); break;
    case BRINE_V_FROZENSET: write_seq(d, "frozenset", &v->u.seq, depth); ws(d, "}"); break;
    case BRINE_V_LIST:
    case BRINE_V_SET:
        write_seq(d, v->kind == BRINE_V_LIST ? "list" : "set", &v->u.seq, depth);
        if (idtext)
            ws(d, idtext);
        ws(d, "}");
        break;
    case BRINE_V_DICT:
        ws(d, "{\"dict\":[");
        for (uint32_t i = 0; i < v->u.dict.keys.len; i++) {
            if (i)
                w(d, ",", 1);
            w(d, "[", 1);
            write_value(d, v->u.dict.keys.items[i], depth + 1);
            w(d, ",", 1);
            write_value(d, v->u.dict.vals.items[i], depth + 1);
            w(d, "]", 1);
        }
        ws(d, "]");
        if (idtext)
            ws(d, idtext);
        ws(d, "}");
        break;
    case BRINE_V_GLOBAL:
        ws(d, "{\"global\":[");
        write_value(d, v->u.g.module, depth + 1);
        w(d, ",", 1);
        write_value(d, v->u.g.name, depth + 1);
        ws(d, "]");
        if (idtext)
            ws(d, idtext);
        write_ops(d, v, depth);
        ws(d, "}");
        break;
    case BRINE_V_CALL:
    case BRINE_V_NEW:
        ws(d, v->kind == BRINE_V_CALL ? "{\"call\":" : "{\"new\":");
        write_value(d, v->u.c.callee, depth + 1);
        ws(d, ",\"args\":");
        write_value(d, v->u.c.args, depth + 1);
        if (v->u.c.kwargs && v->u.c.kwargs->kind == BRINE_V_DICT) {
            /* written as the fresh dict __new__ receives; empty means none */
            const brine_value *kw = v->u.c.kwargs;
            if (kw->u.dict.keys.len) {
                ws(d, ",\"kwargs\":{\"dict\":[");
                for (uint32_t i = 0; i < kw->u.dict.keys.len; i++) {
                    ws(d, i ? ",[" : "[");
                    write_value(d, kw->u.dict.keys.items[i], depth + 1);
                    w(d, ",", 1);
                    write_value(d, kw->u.dict.vals.items[i], depth + 1);
                    w(d, "]", 1);
                }
                ws(d, "]}");
            }
        } else if (v->u.c.kwargs) {
            ws(d, ",\"kwargs\":");
            write_value(d, v->u.c.kwargs, depth + 1);
        }
        if (idtext)
            ws(d, idtext);
        write_ops(d, v, depth);
        ws(d, "}");
        break;
    case BRINE_V_PERSID:
        ws(d, "{\"persid\":");
        write_value(d, v->u.c.callee, depth + 1);
        if (idtext)
            ws(d, idtext);
        write_ops(d, v, depth);
        ws(d, "}");
        break;
    case BRINE_V_EXT:
        snprintf(tmp, sizeof tmp, "{\"ext\":%lld", (long long)v->u.c.code);
        ws(d, tmp);
        if (idtext)
            ws(d, idtext);
        write_ops(d, v, depth);
        ws(d, "}");
        break;
    }
}

static const char *status_json(brine_status st)
{
    return st == BRINE_STATUS_COMPLETE ? "ok" : st == BRINE_STATUS_MALFORMED ? "malformed" : "inconclusive";
}

int brine_dump_result(const brine_vm_result *resp, size_t len, const brine_settings *settings, const char *location,
                      brine_write_fn out, void *user)
{
    const brine_vm_result res = *resp;
    dumper *d = calloc(1, sizeof *d);
    if (!d)
        return BRINE_ERR_NOMEM;
    d->out = out;
    d->user = user;
    d->max_nodes = settings->max_output;
    d->max_depth = settings->max_depth;
    brine_status st = res.status;
    const char *msg = res.error_message;
    if (st == BRINE_STATUS_COMPLETE && res.value) {
        count_refs(d, res.value, 0);
        d->nodes = 0;
        if (d->over) {
            st = BRINE_STATUS_INCONCLUSIVE;
            msg = "max_output or max_depth: the value is too large to write";
        }
    }
    ws(d, "{");
    if (location) {
        ws(d, "\"location\":");
        write_str(d, (const uint8_t *)location, strlen(location));
        ws(d, ",");
    }
    ws(d, "\"status\":\"");
    ws(d, status_json(st));
    ws(d, "\",\"value\":");
    if (st == BRINE_STATUS_COMPLETE && res.value) {
        write_value(d, res.value, 0);
        if (d->over) { /* cannot happen after a clean first pass; be safe */
            d->len = 0;
            flush(d);
            ws(d, "{\"status\":\"inconclusive\",\"value\":null");
            st = BRINE_STATUS_INCONCLUSIVE;
        }
    } else {
        ws(d, "null");
    }
    ws(d, ",\"error\":");
    if (st == BRINE_STATUS_COMPLETE) {
        ws(d, "null");
    } else {
        char tmp[96];
        const char *name = brine_op_name(res.error_opcode);
        snprintf(tmp, sizeof tmp, "{\"offset\":%llu,\"opcode\":", (unsigned long long)res.error_offset);
        ws(d, tmp);
        if (res.error_at_eof || !name)
            ws(d, "null");
        else
            write_str(d, (const uint8_t *)name, strlen(name));
        ws(d, ",\"message\":");
        write_str(d, (const uint8_t *)(msg ? msg : ""), strlen(msg ? msg : ""));
        ws(d, "}");
    }
    char tail[96];
    snprintf(tail, sizeof tail, ",\"uncertain\":%s,\"trailing\":%llu}\n", res.uncertain ? "true" : "false",
             (unsigned long long)(res.pickles ? len - res.first_end : 0));
    ws(d, tail);
    flush(d);
    bool stopped = d->stopped;
    free(d->slots);
    free(d);
    return stopped ? BRINE_ERR_CALLBACK : 0;
}

int brine_dump_json(const uint8_t *data, size_t len, const brine_settings *settings, brine_write_fn out, void *user)
{
    brine_settings def;
    settings = brine_settings_or_default(settings, &def);
    if (!out || (!data && len))
        return BRINE_ERR_INVALID;
    brine_arena arena;
    brine_arena_init(&arena, settings->max_bytes);
    brine_vm_config cfg = {.settings = settings, .arena = &arena, .flags = BRINE_VM_FIRST_ONLY};
    brine_vm_result res;
    int rc = brine_vm_run(data, len, &cfg, &res);
    int w = brine_dump_result(&res, len, settings, NULL, out, user);
    brine_arena_free(&arena);
    if (rc)
        return rc;
    return w;
}
