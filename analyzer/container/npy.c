/* numpy .npy files: magic, version, a header, then the array.
 *
 * The header is what numpy's format.py reads: _filter_header (versions up to
 * 2.0 drop an `L` after integers), then ast.literal_eval of a Python literal
 * that must be a dict with exactly the keys descr, fortran_order and shape;
 * descr goes through descr_to_dtype (a str is np.dtype(str); a tuple is
 * (subtype, shape); a list holds fields (name, descr[, shape])). An object
 * dtype anywhere means np.load(allow_pickle=True) unpickles what follows the
 * header. So brine parses the Python literal grammar (string prefixes,
 * escapes, adjacent concatenation, comments, every int spelling, nesting),
 * not just the form numpy writes: a header written by hand is read by numpy
 * all the same. Where brine cannot decide (a \N{name} escape, an unreadable
 * header), the array is not complete and its data is scanned as a pickle
 * anyway. Any other dtype is plain data and is not read. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

bool brine_npy_probe(const uint8_t *d, size_t n)
{
    return n >= 10 && !memcmp(d, "\x93NUMPY", 6);
}

/* ---- a Python literal, as ast.literal_eval reads it ------------------------------------- */

typedef enum { PV_BAD, PV_STR, PV_INT, PV_NUM, PV_CONST, PV_TUPLE, PV_LIST, PV_DICT, PV_SET } pv_kind;

typedef struct pv {
    pv_kind kind;
    bool unsure;       /* a part brine cannot decode (\N{...}): the value is not certain */
    char *s;           /* PV_STR: the decoded text (UTF-8), NUL-terminated */
    size_t slen;
    int64_t i;         /* PV_INT (saturated); PV_CONST: 1 True, 0 False, -1 None */
    struct pv **items; /* TUPLE/LIST/SET: items; DICT: key, value, key, value... */
    size_t n;
} pv;

typedef struct {
    const char *p, *end;
    int depth;
    bool filter_l; /* versions 1 and 2: _filter_header drops the L of 1L */
} lit;

static void pv_free(pv *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++)
        pv_free(v->items[i]);
    free(v->items);
    free(v->s);
    free(v);
}

static pv *pv_new(pv_kind k)
{
    pv *v = calloc(1, sizeof *v);
    if (v)
        v->kind = k;
    return v;
}

static bool pv_push(pv *v, pv *item)
{
    if (!item)
        return false;
    pv **ni = realloc(v->items, (v->n + 1) * sizeof *ni);
    if (!ni) {
        pv_free(item);
        return false;
    }
    v->items = ni;
    v->items[v->n++] = item;
    if (item->unsure)
        v->unsure = true;
    return true;
}

/* white space, comments and line continuations: what the tokenizer skips */
static void skip_ws(lit *l)
{
    while (l->p < l->end) {
        char ch = *l->p;
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f') {
            l->p++;
        } else if (ch == '#') {
            while (l->p < l->end && *l->p != '\n')
                l->p++;
        } else if (ch == '\\' && l->end - l->p >= 2 && (l->p[1] == '\n' || l->p[1] == '\r')) {
            l->p += 2;
        } else {
            break;
        }
    }
}

static void put_utf8(char *o, size_t *k, uint32_t cp)
{
    if (cp < 0x80) {
        o[(*k)++] = (char)cp;
    } else if (cp < 0x800) {
        o[(*k)++] = (char)(0xc0 | cp >> 6);
        o[(*k)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        o[(*k)++] = (char)(0xe0 | cp >> 12);
        o[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[(*k)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        o[(*k)++] = (char)(0xf0 | cp >> 18);
        o[(*k)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[(*k)++] = (char)(0x80 | (cp & 0x3f));
    }
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
}

/* One string token (prefix, quotes, escapes) appended to v->s. */
static bool parse_one_str(lit *l, pv *v)
{
    bool raw = false, bytes = false;
    while (l->p < l->end && strchr("rRbBuU", *l->p) && *l->p) {
        if ((*l->p | 0x20) == 'r')
            raw = true;
        if ((*l->p | 0x20) == 'b')
            bytes = true;
        l->p++;
    }
    if (l->p >= l->end || (*l->p != '\'' && *l->p != '"'))
        return false;
    char q = *l->p;
    bool triple = l->end - l->p >= 3 && l->p[1] == q && l->p[2] == q;
    l->p += triple ? 3 : 1;
    size_t cap = (size_t)(l->end - l->p) * 4 + 1;
    char *o = realloc(v->s, v->slen + cap);
    if (!o)
        return false;
    v->s = o;
    size_t k = v->slen;
    for (;;) {
        if (l->p >= l->end)
            return false;
        char ch = *l->p;
        if (ch == q && (!triple || (l->end - l->p >= 3 && l->p[1] == q && l->p[2] == q))) {
            l->p += triple ? 3 : 1;
            break;
        }
        if (ch == '\n' && !triple)
            return false;
        if (ch != '\\' || raw) {
            if (raw && ch == '\\' && l->end - l->p >= 2) { /* r'\'' keeps both characters */
                o[k++] = *l->p++;
            }
            o[k++] = *l->p++;
            continue;
        }
        if (l->end - l->p < 2)
            return false;
        char e = l->p[1];
        l->p += 2;
        uint32_t cp;
        switch (e) {
        case '\n': continue;
        case '\\': cp = '\\'; break;
        case '\'': cp = '\''; break;
        case '"': cp = '"'; break;
        case 'a': cp = 7; break;
        case 'b': cp = 8; break;
        case 'f': cp = 12; break;
        case 'n': cp = 10; break;
        case 'r': cp = 13; break;
        case 't': cp = 9; break;
        case 'v': cp = 11; break;
        case 'x':
        case 'u':
        case 'U': {
            int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            if ((e != 'x' && bytes) || l->end - l->p < digits)
                return false;
            cp = 0;
            for (int i = 0; i < digits; i++) {
                int h = hexval(l->p[i]);
                if (h < 0)
                    return false;
                cp = cp * 16 + (uint32_t)h;
            }
            l->p += digits;
            if (cp > 0x10ffff)
                return false;
            break;
        }
        case 'N': /* \N{NAME}: a Unicode name brine has no table for */
            if (bytes)
                return false;
            while (l->p < l->end && *l->p != '}')
                l->p++;
            if (l->p >= l->end)
                return false;
            l->p++;
            v->unsure = true;
            cp = '?';
            break;
        default:
            if (e >= '0' && e <= '7') { /* up to three octal digits */
                cp = (uint32_t)(e - '0');
                for (int i = 0; i < 2 && l->p < l->end && *l->p >= '0' && *l->p <= '7'; i++)
                    cp = cp * 8 + (uint32_t)(*l->p++ - '0');
            } else { /* an unknown escape keeps its backslash */
                o[k++] = '\\';
                cp = (uint8_t)e;
            }
        }
        put_utf8(o, &k, cp);
    }
    v->slen = k;
    o[k] = 0;
    return true;
}

static pv *parse_value(lit *l);

/* Adjacent string literals are one string ('|' 'O' is '|O'). */
static pv *parse_str(lit *l)
{
    pv *v = pv_new(PV_STR);
    if (!v)
        return NULL;
    do {
        if (!parse_one_str(l, v)) {
            pv_free(v);
            return NULL;
        }
        skip_ws(l);
    } while (l->p < l->end && (*l->p == '\'' || *l->p == '"' ||
                               ((strchr("rRbBuU", *l->p) && *l->p) && l->end - l->p >= 2 &&
                                (l->p[1] == '\'' || l->p[1] == '"' || strchr("rRbB", l->p[1])))));
    if (!v->s && !(v->s = calloc(1, 1))) {
        pv_free(v);
        return NULL;
    }
    return v;
}

static pv *parse_number(lit *l)
{
    pv *v = pv_new(PV_INT);
    if (!v)
        return NULL;
    int sign = 1;
    while (l->p < l->end && (*l->p == '-' || *l->p == '+')) { /* unary operators on a number */
        if (*l->p == '-')
            sign = -sign;
        l->p++;
        skip_ws(l);
    }
    int base = 10;
    if (l->end - l->p >= 2 && l->p[0] == '0' && strchr("xXoObB", l->p[1]) && l->p[1]) {
        base = (l->p[1] | 0x20) == 'x' ? 16 : (l->p[1] | 0x20) == 'o' ? 8 : 2;
        l->p += 2;
    }
    const char *s = l->p;
    uint64_t val = 0;
    bool digit = false;
    while (l->p < l->end) {
        int h = hexval(*l->p);
        if (*l->p == '_') {
            l->p++;
            continue;
        }
        if (h < 0 || h >= base)
            break;
        val = val > (UINT64_MAX - (uint64_t)h) / (uint64_t)base ? UINT64_MAX : val * (uint64_t)base + (uint64_t)h;
        digit = true;
        l->p++;
    }
    if (!digit && l->p == s) {
        pv_free(v);
        return NULL;
    }
    if (l->p < l->end && base == 10 && strchr(".eEjJ", *l->p) && *l->p) { /* a float or complex */
        while (l->p < l->end && (strchr("0123456789.eEjJ_+-", *l->p) && *l->p))
            l->p++;
        v->kind = PV_NUM;
        return v;
    }
    if (l->filter_l && l->p < l->end && (*l->p == 'L' || *l->p == 'l'))
        l->p++;
    v->i = val > INT64_MAX ? (sign > 0 ? INT64_MAX : INT64_MIN) : (int64_t)val * sign;
    return v;
}

/* A tuple, list, dict or set; kind PV_SET for '{': a dict when its first item
 * is followed by ':' (decided there, not by parsing twice: nested braces
 * would cost 2^depth), `{}` a dict. */
static pv *parse_seq(lit *l, char close, pv_kind kind)
{
    l->p++;
    bool brace = kind == PV_SET;
    pv *v = pv_new(brace ? PV_DICT : kind);
    if (!v)
        return NULL;
    bool comma = false;
    for (;;) {
        skip_ws(l);
        if (l->p < l->end && *l->p == close) {
            l->p++;
            /* (x) is x; (x,) and () are tuples */
            if (kind == PV_TUPLE && v->n == 1 && !comma) {
                pv *only = v->items[0];
                v->n = 0;
                pv_free(v);
                return only;
            }
            return v;
        }
        pv *item = parse_value(l);
        if (!pv_push(v, item))
            goto bad;
        skip_ws(l);
        if (brace && v->n == 1) /* the first item decides */
            v->kind = l->p < l->end && *l->p == ':' ? PV_DICT : PV_SET;
        if (v->kind == PV_DICT) {
            if (l->p >= l->end || *l->p != ':')
                goto bad;
            l->p++;
            if (!pv_push(v, parse_value(l)))
                goto bad;
            skip_ws(l);
        }
        comma = false;
        if (l->p < l->end && *l->p == ',') {
            l->p++;
            comma = true;
        } else if (!(l->p < l->end && *l->p == close)) {
            goto bad;
        }
    }
bad:
    pv_free(v);
    return NULL;
}

static pv *parse_value(lit *l)
{
    skip_ws(l);
    if (l->p >= l->end || ++l->depth > 64)
        return NULL;
    pv *v = NULL;
    char ch = *l->p;
    if (ch == '\'' || ch == '"' ||
        ((strchr("rRbBuU", ch) && ch) && l->end - l->p >= 2 &&
         (l->p[1] == '\'' || l->p[1] == '"' || ((strchr("rRbB", l->p[1]) && l->p[1]) && l->end - l->p >= 3))))
        v = parse_str(l);
    else if (ch == '(')
        v = parse_seq(l, ')', PV_TUPLE);
    else if (ch == '[')
        v = parse_seq(l, ']', PV_LIST);
    else if (ch == '{') {
        v = parse_seq(l, '}', PV_SET); /* a dict or a set: parse_seq decides */
    } else if ((ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == '.')
        v = parse_number(l);
    else {
        static const char *const words[] = {"True", "False", "None"};
        for (int w = 0; w < 3 && !v; w++) {
            size_t k = strlen(words[w]);
            if ((size_t)(l->end - l->p) >= k && !memcmp(l->p, words[w], k)) {
                l->p += k;
                v = pv_new(PV_CONST);
                if (v)
                    v->i = w == 0 ? 1 : w == 1 ? 0 : -1;
            }
        }
    }
    l->depth--;
    return v;
}

/* ---- the dtype: does it hold Python objects? --------------------------------------- */

/* np.dtype(str): a type string ('<f8', '|O', 'O8'), a word ('object',
 * 'object_', 'object0'), a subarray string ('(2,)O') or a comma string
 * ('f8,O'). Any object type in it makes it an object dtype; brine errs on the
 * side of reading the pickle (a string numpy refuses cannot load anyway). */
static bool str_has_object(const char *s)
{
    return strchr(s, 'O') != NULL || strstr(s, "object") != NULL;
}

static bool descr_has_object(const pv *d, int depth, bool *bad)
{
    if (!d || depth > 32) {
        *bad = true;
        return false;
    }
    switch (d->kind) {
    case PV_STR: return str_has_object(d->s);
    case PV_TUPLE: /* (subtype, shape) */
        if (d->n < 1) {
            *bad = true;
            return false;
        }
        return descr_has_object(d->items[0], depth + 1, bad);
    case PV_LIST: /* fields: (name, descr) or (name, descr, shape) */
        for (size_t i = 0; i < d->n; i++) {
            const pv *f = d->items[i];
            if ((f->kind != PV_TUPLE && f->kind != PV_LIST) || f->n < 2) {
                *bad = true;
                continue;
            }
            if (descr_has_object(f->items[1], depth + 1, bad))
                return true;
        }
        return false;
    default: *bad = true; return false;
    }
}

/* The item size of a plain type string ('<f8', '|b1', '<U10'), or 0. */
static uint64_t simple_itemsize(const pv *d)
{
    if (!d || d->kind != PV_STR || d->slen < 2 || d->slen > 30)
        return 0;
    const char *t = d->s + (strchr("<>|=", d->s[0]) ? 1 : 0);
    if (!*t || !strchr("biufcSUV?", *t))
        return 0;
    char *end;
    unsigned long long size = strtoull(t + 1, &end, 10);
    if (*end)
        return 0;
    if (*t == '?' || (*t == 'b' && !t[1]))
        return 1;
    return *t == 'U' ? size * 4 : size;
}

static const pv *dict_get(const pv *d, const char *key)
{
    const pv *r = NULL;
    for (size_t i = 0; i + 1 < d->n; i += 2)
        if (d->items[i]->kind == PV_STR && !strcmp(d->items[i]->s, key))
            r = d->items[i + 1]; /* the last of duplicate keys wins */
    return r;
}

int brine_npy_walk(brine_drv *c, const uint8_t *d, size_t n, const brine_loc *loc, unsigned depth)
{
    unsigned major = d[6], minor = d[7];
    size_t hlen, start;
    if (major == 1 && minor == 0) {
        hlen = (size_t)(d[8] | d[9] << 8);
        start = 10;
    } else if ((major == 2 || major == 3) && minor == 0 && n >= 12) {
        hlen = (size_t)d[8] | (size_t)d[9] << 8 | (size_t)d[10] << 16 | (size_t)d[11] << 24;
        start = 12;
    } else {
        return brine_drv_stream(c, loc, "npy", BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED, "unknown .npy version", 6);
    }
    if (hlen > n - start)
        return brine_drv_stream(c, loc, "npy", BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED,
                                ".npy header runs past the end", 8);
    if (brine_drv_fault(c))
        return brine_drv_fail(c, loc, "npy", BRINE_STATUS_INCONCLUSIVE, "out of memory", start);
    lit l = {(const char *)d + start, (const char *)d + start + hlen, 0, major < 3};
    pv *h = parse_value(&l);
    skip_ws(&l);
    size_t data = start + hlen;
    const pv *descr = NULL, *shape = NULL, *fortran = NULL;
    bool well_formed = h && l.p == l.end && h->kind == PV_DICT;
    for (size_t i = 0; well_formed && i < h->n; i += 2) /* np.load wants exactly these keys */
        well_formed = h->items[i]->kind == PV_STR && (!strcmp(h->items[i]->s, "descr") ||
                                                      !strcmp(h->items[i]->s, "shape") ||
                                                      !strcmp(h->items[i]->s, "fortran_order"));
    if (h && h->kind == PV_DICT) {
        descr = dict_get(h, "descr");
        shape = dict_get(h, "shape");
        fortran = dict_get(h, "fortran_order");
    }
    well_formed = well_formed && descr && shape && fortran;
    bool bad = !well_formed, object = false;
    if (descr)
        object = descr_has_object(descr, 0, &bad);
    bool unsure = h && h->unsure;
    int r = 0;
    if (object || bad || unsure) {
        /* np.load(allow_pickle=True) unpickles what follows; where brine
         * cannot tell, it reads that too, and says the array is not certain */
        brine_loc *pl = brine_drv_loc(c, loc, "region", "npy", NULL, 0, data);
        if (!pl) {
            r = brine_drv_fail(c, loc, "npy", BRINE_STATUS_INCONCLUSIVE, "out of memory", data);
        } else if (object && !bad && !unsure) {
            r = brine_drv_pickle(c, d, n, data, pl, depth, BRINE_PICKLE_FIRST_ONLY, NULL);
        } else {
            if (brine_drv_would_run(c, d + data, n - data))
                r = brine_drv_pickle(c, d, n, data, pl, depth, BRINE_PICKLE_FIRST_ONLY, NULL);
            if (r >= 0)
                r = unsure ? brine_drv_fail(c, loc, "npy", BRINE_STATUS_INCONCLUSIVE,
                                            ".npy header with a \\N{...} escape: brine cannot tell its dtype", start)
                           : brine_drv_stream(c, loc, "npy", BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED,
                                              ".npy header is not the dictionary np.load expects", start);
        }
        brine_loc_free(pl);
        pv_free(h);
        return r;
    }
    /* plain data: the array is not read; bytes after it are reported */
    uint64_t itemsize = simple_itemsize(descr), count = 1;
    bool sized = itemsize && shape->kind == PV_TUPLE;
    for (size_t i = 0; sized && i < shape->n; i++) {
        const pv *x = shape->items[i];
        if (x->kind != PV_INT || x->i < 0 || (x->i && count > UINT64_MAX / (uint64_t)x->i))
            sized = false;
        else
            count *= (uint64_t)x->i;
    }
    pv_free(h);
    if (sized && count > UINT64_MAX / itemsize)
        sized = false;
    uint64_t need = sized ? count * itemsize : 0;
    if (sized && need < n - data) {
        brine_drv_finding(c, loc, data + need, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_LOW, "trailing", "trailing-data",
                          "trailing data",
                          "bytes after the array data of a .npy file: np.load ignores them, another reader might not");
        if (brine_drv_would_run(c, d + data + need, n - data - need)) {
            brine_loc *al = brine_drv_loc(c, loc, "region", "npy", NULL, 0, data + need);
            if (al)
                brine_drv_pickle(c, d, n, data + need, al, depth, 0, NULL);
            else
                brine_drv_fail(c, loc, "npy", BRINE_STATUS_INCONCLUSIVE, "out of memory", data + need);
            brine_loc_free(al);
        }
    } else if (sized && need > n - data) {
        return brine_drv_stream(c, loc, "npy", BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED,
                                ".npy array data shorter than its shape says", data);
    }
    return brine_drv_stream(c, loc, "npy", BRINE_VERDICT_SAFE, BRINE_STATUS_COMPLETE, NULL, 0);
}
