/* Short text renderings of values, for event details and the disassembly. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "text.h"
#include "vm.h"

typedef struct {
    char *buf;
    size_t len, cap;
    bool full;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->full)
        return;
    if (n > b->cap - b->len) {
        n = b->cap - b->len;
        b->full = true;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
}

static void puts_(sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Quote text as Python's repr would roughly: printable ASCII as is, the rest
 * escaped, so a report never carries raw control bytes. */
static void put_quoted(sbuf *b, const uint8_t *p, size_t n, bool is_str, const char *prefix)
{
    puts_(b, prefix);
    put(b, "'", 1);
    size_t i = 0;
    while (i < n && !b->full) {
        char tmp[16];
        uint32_t cp;
        size_t k = 1;
        if (is_str) {
            k = brine_utf8_next(p + i, n - i, &cp);
        } else {
            cp = p[i];
        }
        if (cp == '\'' || cp == '\\') {
            snprintf(tmp, sizeof tmp, "\\%c", (char)cp);
        } else if (cp >= 0x20 && cp < 0x7f) {
            tmp[0] = (char)cp;
            tmp[1] = 0;
        } else if (cp == '\n') {
            strcpy(tmp, "\\n");
        } else if (cp < 0x100) {
            snprintf(tmp, sizeof tmp, "\\x%02x", cp);
        } else if (cp < 0x10000) {
            snprintf(tmp, sizeof tmp, "\\u%04x", cp);
        } else {
            snprintf(tmp, sizeof tmp, "\\U%08x", cp);
        }
        puts_(b, tmp);
        i += k;
    }
    put(b, "'", 1);
}

/* The module:qualname spelling of a global, with unprintable bytes escaped. */
static void put_name(sbuf *b, const brine_value *s)
{
    if (s->kind != BRINE_V_STR) {
        puts_(b, "<");
        puts_(b, s->kind == BRINE_V_CALL ? "call" : s->kind == BRINE_V_NEW ? "new" : "value");
        puts_(b, ">");
        return;
    }
    size_t i = 0;
    const uint8_t *p = s->u.s.p;
    while (i < s->u.s.n && !b->full) {
        uint32_t cp;
        size_t k = brine_utf8_next(p + i, s->u.s.n - i, &cp);
        if (cp > 0x20 && cp < 0x7f && cp != '\\') {
            put(b, (const char *)p + i, 1);
        } else {
            char tmp[16];
            snprintf(tmp, sizeof tmp, cp < 0x100 ? "\\x%02x" : cp < 0x10000 ? "\\u%04x" : "\\U%08x", cp);
            puts_(b, tmp);
        }
        i += k;
    }
}

static void render(sbuf *b, brine_arena *a, const brine_value *v, int depth)
{
    char tmp[64];
    if (b->full)
        return;
    if (depth > 6) {
        puts_(b, "...");
        return;
    }
    switch ((brine_vkind)v->kind) {
    case BRINE_V_NONE: puts_(b, "None"); break;
    case BRINE_V_BOOL: puts_(b, v->u.b ? "True" : "False"); break;
    case BRINE_V_INT:
        snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i);
        puts_(b, tmp);
        break;
    case BRINE_V_BIGINT: {
        const char *h = v->u.s.n > 64 ? NULL : brine_bigint_hex(a, v->u.s.p, v->u.s.n);
        puts_(b, h ? h : "<big int>");
        break;
    }
    case BRINE_V_FLOAT:
        if (isnan(v->u.f))
            puts_(b, signbit(v->u.f) ? "-nan" : "nan");
        else if (isinf(v->u.f))
            puts_(b, v->u.f < 0 ? "-inf" : "inf");
        else {
            snprintf(tmp, sizeof tmp, "%.17g", v->u.f);
            puts_(b, tmp);
        }
        break;
    case BRINE_V_STR: put_quoted(b, v->u.s.p, v->u.s.n, true, ""); break;
    case BRINE_V_BYTES: put_quoted(b, v->u.s.p, v->u.s.n, false, "b"); break;
    case BRINE_V_BYTEARRAY:
        puts_(b, "bytearray(");
        put_quoted(b, v->u.s.p, v->u.s.n, false, "b");
        puts_(b, ")");
        break;
    case BRINE_V_MEMORYVIEW:
        puts_(b, "memoryview(");
        put_quoted(b, brine_value_buffer(v)->u.s.p, brine_value_buffer(v)->u.s.n, false, "b");
        puts_(b, ")");
        break;
    case BRINE_V_TUPLE:
    case BRINE_V_LIST:
    case BRINE_V_SET:
    case BRINE_V_FROZENSET: {
        const char *open = v->kind == BRINE_V_TUPLE ? "(" : v->kind == BRINE_V_LIST ? "[" : v->kind == BRINE_V_SET ? "{" : "frozenset({";
        const char *close = v->kind == BRINE_V_TUPLE ? (v->u.seq.len == 1 ? ",)" : ")") : v->kind == BRINE_V_LIST ? "]" : v->kind == BRINE_V_SET ? "}" : "})";
        if (v->kind == BRINE_V_SET && v->u.seq.len == 0) {
            puts_(b, "set()");
            break;
        }
        puts_(b, open);
        for (uint32_t i = 0; i < v->u.seq.len && !b->full; i++) {
            if (i)
                puts_(b, ", ");
            render(b, a, v->u.seq.items[i], depth + 1);
        }
        puts_(b, close);
        break;
    }
    case BRINE_V_DICT:
        puts_(b, "{");
        for (uint32_t i = 0; i < v->u.dict.keys.len && !b->full; i++) {
            if (i)
                puts_(b, ", ");
            render(b, a, v->u.dict.keys.items[i], depth + 1);
            puts_(b, ": ");
            render(b, a, v->u.dict.vals.items[i], depth + 1);
        }
        puts_(b, "}");
        break;
    case BRINE_V_GLOBAL:
        if (v->dynamic) {
            puts_(b, "<dynamic ");
            render(b, a, v->u.g.module, depth + 1);
            puts_(b, " ");
            render(b, a, v->u.g.name, depth + 1);
            puts_(b, ">");
        } else {
            put_name(b, v->u.g.module);
            puts_(b, ":");
            put_name(b, v->u.g.name);
        }
        break;
    case BRINE_V_CALL:
    case BRINE_V_NEW:
        puts_(b, v->kind == BRINE_V_CALL ? "<call " : "<new ");
        render(b, a, v->u.c.callee, depth + 1);
        puts_(b, ">");
        break;
    case BRINE_V_PERSID:
        puts_(b, "<persid ");
        render(b, a, v->u.c.callee, depth + 1);
        puts_(b, ">");
        break;
    case BRINE_V_EXT:
        snprintf(tmp, sizeof tmp, "<ext %lld>", (long long)v->u.c.code);
        puts_(b, tmp);
        break;
    }
}

const char *brine_value_render(brine_arena *a, const brine_value *v, size_t maxlen)
{
    char *buf = brine_arena_alloc(a, maxlen + 4);
    if (!buf)
        return "<out of memory>";
    sbuf b = {buf, 0, maxlen, false};
    render(&b, a, v, 0);
    if (b.full) {
        memcpy(buf + b.len, "...", 3);
        b.len += 3;
    }
    buf[b.len] = 0;
    return buf;
}
