/* numpy .npy files: magic, version, a Python-literal header, then the array.
 * An object dtype means the array was pickled right after the header
 * (np.save(allow_pickle=True)), so that pickle is scanned; any other dtype is
 * plain data and is not read. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

bool brine_npy_probe(const uint8_t *d, size_t n)
{
    return n >= 10 && !memcmp(d, "\x93NUMPY", 6);
}

/* A tiny reader of the header's Python literal: a dict of str keys whose
 * values are str, bool, int, tuples and lists of those. Only what np.load
 * needs is extracted: descr's type strings, fortran_order, shape. */
typedef struct {
    const char *p, *end;
    bool object;       /* a type string of descr is an object type */
    bool bad;
    int64_t count;     /* product of shape */
    uint64_t itemsize; /* sum over a structured descr */
    bool unsized;      /* a field has a shape: the item size is not just the sum */
    int depth;
} lit;

static void skip_ws(lit *l)
{
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\n' || *l->p == '\t'))
        l->p++;
}

static bool parse_value(lit *l, int role);

/* role: 0 other, 1 descr, 2 shape */
static bool parse_str(lit *l, int role)
{
    char q = *l->p++;
    const char *s = l->p;
    while (l->p < l->end && *l->p != q) {
        if (*l->p == '\\')
            return false; /* numpy writes no escapes */
        l->p++;
    }
    if (l->p >= l->end)
        return false;
    size_t n = (size_t)(l->p - s);
    l->p++;
    if (role == 1 && n >= 1) {
        /* a type string: [<>|=]? kind digits; 'O' is an object */
        const char *t = s + (strchr("<>|=", s[0]) ? 1 : 0);
        if (t < s + n && *t == 'O')
            l->object = true;
        char buf[32];
        size_t k = (size_t)(s + n - t) < sizeof buf - 1 ? (size_t)(s + n - t) : sizeof buf - 1;
        memcpy(buf, t, k);
        buf[k] = 0;
        unsigned long long size = strtoull(buf + 1, NULL, 10);
        if (buf[0] == 'U')
            size *= 4;
        if (buf[0] == 'b' || buf[0] == '?')
            size = size ? size : 1;
        l->itemsize += size;
    }
    return true;
}

static bool parse_seq(lit *l, char close, int role)
{
    l->p++;
    int64_t product = 1;
    int index = 0;
    for (;;) {
        skip_ws(l);
        if (l->p < l->end && *l->p == close) {
            l->p++;
            if (role == 2)
                l->count = product;
            return true;
        }
        if (role == 2) { /* shape: a tuple of ints */
            char *e;
            long long v = strtoll(l->p, &e, 10);
            if (e == l->p || v < 0 || (v && product > INT64_MAX / v))
                return false;
            product *= v;
            l->p = e;
        } else {
            /* in descr, a list holds fields and a field is a tuple (name,
             * type[, shape]): only the type is a type string; a name, even
             * one that reads "O" or "b", is not. A field shape makes the
             * item size more than the sum of types: then it is not checked. */
            int sub = role == 1 ? (close == ')' ? (index == 1 ? 1 : 0) : 1) : 0;
            if (role == 1 && close == ')' && index == 2)
                l->unsized = true;
            if (!parse_value(l, sub))
                return false;
        }
        index++;
        skip_ws(l);
        if (l->p < l->end && *l->p == ',')
            l->p++;
        else if (!(l->p < l->end && *l->p == close))
            return false;
    }
}

static bool parse_value(lit *l, int role)
{
    skip_ws(l);
    if (l->p >= l->end || ++l->depth > 32)
        return false;
    bool ok;
    if (*l->p == '\'' || *l->p == '"')
        ok = parse_str(l, role);
    else if (*l->p == '(')
        ok = parse_seq(l, ')', role);
    else if (*l->p == '[')
        ok = parse_seq(l, ']', role);
    else {
        const char *s = l->p;
        while (l->p < l->end && (isalnum((unsigned char)*l->p) || *l->p == '-' || *l->p == '_'))
            l->p++;
        ok = l->p > s;
    }
    l->depth--;
    return ok;
}

static bool parse_header(lit *l, bool *fortran)
{
    skip_ws(l);
    if (l->p >= l->end || *l->p != '{')
        return false;
    l->p++;
    bool have_descr = false, have_shape = false;
    for (;;) {
        skip_ws(l);
        if (l->p < l->end && *l->p == '}')
            return have_descr && have_shape;
        if (l->p >= l->end || (*l->p != '\'' && *l->p != '"'))
            return false;
        const char *k = l->p + 1;
        if (!parse_str(l, 0))
            return false;
        size_t kn = (size_t)(l->p - 1 - k);
        skip_ws(l);
        if (l->p >= l->end || *l->p != ':')
            return false;
        l->p++;
        skip_ws(l);
        int role = 0;
        if (kn == 5 && !memcmp(k, "descr", 5)) {
            role = 1;
            have_descr = true;
        } else if (kn == 5 && !memcmp(k, "shape", 5)) {
            role = 2;
            have_shape = true;
            if (l->p >= l->end || *l->p != '(')
                return false;
        } else if (kn == 13 && !memcmp(k, "fortran_order", 13)) {
            *fortran = l->end - l->p >= 4 && !memcmp(l->p, "True", 4);
        } else {
            return false; /* np.load refuses unknown keys */
        }
        if (!parse_value(l, role))
            return false;
        skip_ws(l);
        if (l->p < l->end && *l->p == ',')
            l->p++;
    }
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
    lit l = {(const char *)d + start, (const char *)d + start + hlen, false, false, 1, 0, false, 0};
    bool fortran = false;
    if (!parse_header(&l, &fortran))
        return brine_drv_stream(c, loc, "npy", BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED,
                                ".npy header is not the dictionary np.load expects", start);
    size_t data = start + hlen;
    if (l.object) { /* np.load(allow_pickle=True) unpickles what follows */
        brine_loc *pl = brine_drv_loc(c, loc, "region", "npy", NULL, 0, data);
        int r = pl ? brine_drv_pickle(c, d, n, data, pl, depth, BRINE_PICKLE_FIRST_ONLY, NULL)
                   : brine_drv_fail(c, loc, "npy", BRINE_STATUS_INCONCLUSIVE, "out of memory", data);
        brine_loc_free(pl);
        return r;
    }
    if (l.unsized)
        l.itemsize = 0; /* no size checks */
    uint64_t need = (uint64_t)l.count * l.itemsize;
    if (l.itemsize && need <= n - data && n - data > need) {
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
    } else if (l.itemsize && need > n - data) {
        return brine_drv_stream(c, loc, "npy", BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED,
                                ".npy array data shorter than its shape says", data);
    }
    return brine_drv_stream(c, loc, "npy", BRINE_VERDICT_SAFE, BRINE_STATUS_COMPLETE, NULL, 0);
}
