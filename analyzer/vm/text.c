/* Protocol 0/1 text arguments, read the way CPython 3.11's C unpickler reads
 * them. See text.h. Every deviation here is a potential scanner bypass: a
 * value that brine reads differently from CPython can hide a name. */
#include "text.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PY_INT_MAX_STR_DIGITS 4300 /* sys.int_info.default_max_str_digits */

static bool py_isspace(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int digit_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/* Length of the C string CPython's copy of the line holds (up to a NUL). */
static size_t cstr_len(const uint8_t *p, size_t n)
{
    const uint8_t *z = memchr(p, 0, n);
    return z ? (size_t)(z - p) : n;
}

/* ---- arbitrary-precision integers from text ----------------------------- */

/* Little-endian magnitude in 32-bit limbs, grown in the arena. */
typedef struct {
    brine_arena *a;
    uint32_t *l;
    size_t n, cap;
} limbs;

static bool limbs_muladd(limbs *x, uint32_t mul, uint32_t add)
{
    uint64_t carry = add;
    for (size_t i = 0; i < x->n; i++) {
        uint64_t t = (uint64_t)x->l[i] * mul + carry;
        x->l[i] = (uint32_t)t;
        carry = t >> 32;
    }
    if (carry) {
        if (x->n == x->cap) {
            size_t nc = x->cap ? x->cap * 2 : 8;
            uint32_t *nl = brine_arena_alloc(x->a, nc * sizeof *nl);
            if (!nl)
                return false;
            if (x->n)
                memcpy(nl, x->l, x->n * sizeof *nl);
            x->l = nl;
            x->cap = nc;
        }
        x->l[x->n++] = (uint32_t)carry;
    }
    return true;
}

/* Build an INT/BIGINT value from a magnitude (LE bytes) and a sign. */
static brine_value *int_from_mag(brine_arena *a, const uint8_t *mag, size_t n, bool neg)
{
    uint8_t *tc = brine_arena_alloc(a, n + 1);
    if (!tc)
        return NULL;
    memcpy(tc, mag, n);
    tc[n] = 0;
    if (neg) {
        unsigned carry = 1;
        for (size_t i = 0; i <= n; i++) {
            unsigned x = (unsigned)(uint8_t)~tc[i] + carry;
            tc[i] = (uint8_t)x;
            carry = x >> 8;
        }
    }
    return brine_int_from_le(a, tc, n + 1, true);
}

/* PyLong_FromString(s, NULL, base) for base 0 or 10, on the C string s[0..n).
 * Returns OK with *out, ERROR, or NOMEM. */
static brine_textres py_long_from_string(brine_arena *a, const uint8_t *s, size_t n, int base,
                                         brine_value **out)
{
    size_t i = 0;
    while (i < n && py_isspace(s[i]))
        i++;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    bool zeros_only = false;
    if (base == 0) {
        if (i < n && s[i] == '0' && i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
            base = 16;
        } else if (i < n && s[i] == '0' && i + 1 < n && (s[i + 1] == 'o' || s[i + 1] == 'O')) {
            base = 8;
        } else if (i < n && s[i] == '0' && i + 1 < n && (s[i + 1] == 'b' || s[i + 1] == 'B')) {
            base = 2;
        } else {
            /* "010" is not a Python 3 literal: a leading 0 allows only zeros */
            zeros_only = i < n && s[i] == '0';
            base = 10;
        }
        if (base != 10) {
            i += 2;
            if (i < n && s[i] == '_') /* an underscore may follow the prefix */
                i++;
        }
    }
    size_t start = i, ndigits = 0;
    if (i >= n || digit_value(s[i]) >= base)
        return BRINE_TEXT_ERROR;
    while (i < n) {
        if (s[i] == '_') {
            if (i + 1 >= n || digit_value(s[i + 1]) >= base)
                return BRINE_TEXT_ERROR;
            i++;
            continue;
        }
        int d = digit_value(s[i]);
        if (d >= base)
            break;
        if (zeros_only && d != 0)
            return BRINE_TEXT_ERROR;
        ndigits++;
        i++;
    }
    size_t end = i;
    while (i < n && py_isspace(s[i]))
        i++;
    if (i != n)
        return BRINE_TEXT_ERROR;
    if (base == 10 && ndigits > PY_INT_MAX_STR_DIGITS)
        return BRINE_TEXT_ERROR; /* "Exceeds the limit (4300 digits) for integer string conversion" */

    uint8_t *mag;
    size_t magn;
    if (base == 10) {
        /* nine digits per pass over the limbs: a 4,300-digit literal costs
         * ~480 passes instead of 4,300, and a hostile file may repeat it */
        limbs x = {a, NULL, 0, 0};
        uint32_t chunk = 0, scale = 1;
        for (size_t k = start; k < end; k++) {
            if (s[k] == '_')
                continue;
            chunk = chunk * 10 + (uint32_t)(s[k] - '0');
            scale *= 10;
            if (scale == 1000000000u) {
                if (!limbs_muladd(&x, scale, chunk))
                    return BRINE_TEXT_NOMEM;
                chunk = 0;
                scale = 1;
            }
        }
        if (scale > 1 && !limbs_muladd(&x, scale, chunk))
            return BRINE_TEXT_NOMEM;
        magn = x.n * 4;
        mag = (uint8_t *)x.l; /* little-endian host assumed, checked in meson.build */
        if (!magn) { /* zero: one zero byte */
            if (!(mag = brine_arena_alloc(a, 1)))
                return BRINE_TEXT_NOMEM;
            magn = 1;
        }
    } else {
        int bits = base == 16 ? 4 : base == 8 ? 3 : 1;
        magn = (ndigits * (size_t)bits + 7) / 8 + 1;
        mag = brine_arena_alloc(a, magn);
        if (!mag)
            return BRINE_TEXT_NOMEM;
        size_t bit = 0;
        for (size_t k = end; k-- > start;) {
            if (s[k] == '_')
                continue;
            unsigned d = (unsigned)digit_value(s[k]);
            for (int b = 0; b < bits; b++, bit++)
                if ((d >> b) & 1)
                    mag[bit / 8] |= (uint8_t)(1u << (bit % 8));
        }
    }
    brine_value *v = int_from_mag(a, mag, magn, neg);
    if (!v)
        return BRINE_TEXT_NOMEM;
    *out = v;
    return BRINE_TEXT_OK;
}

/* glibc strtol(s, &end, 0) on the C string s[0..n): returns the end index
 * (0 when nothing was converted) and sets *erange on overflow. */
static size_t c_strtol(const uint8_t *s, size_t n, int64_t *out, bool *erange)
{
    size_t i = 0;
    *erange = false;
    *out = 0;
    while (i < n && py_isspace(s[i]))
        i++;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    int base = 10;
    if (i < n && s[i] == '0') {
        if (i + 2 < n && (s[i + 1] == 'x' || s[i + 1] == 'X') && digit_value(s[i + 2]) < 16) {
            base = 16;
            i += 2;
        } else {
            base = 8; /* the 0 itself is an octal digit */
        }
    }
    size_t digits_start = i;
    uint64_t mag = 0;
    bool over = false;
    while (i < n && digit_value(s[i]) < base) {
        unsigned d = (unsigned)digit_value(s[i]);
        if (mag > (UINT64_MAX - d) / (unsigned)base)
            over = true;
        else
            mag = mag * (unsigned)base + d;
        i++;
    }
    if (i == digits_start)
        return 0; /* no conversion: endptr = s */
    if (over || (neg ? mag > (uint64_t)INT64_MAX + 1 : mag > (uint64_t)INT64_MAX)) {
        *erange = true;
    } else {
        *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    }
    return i;
}

/* The literals a pickler writes: "00", "01", "0", "-?[1-9][0-9]*" (L-suffixed for LONG). */
static bool canonical_int(const uint8_t *s, size_t n)
{
    if (n == 2 && s[0] == '0' && (s[1] == '0' || s[1] == '1'))
        return true;
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n)
        return false;
    if (s[i] == '0')
        return i + 1 == n && i == 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

brine_textres brine_text_int(brine_arena *a, const uint8_t *line, size_t len, brine_value **out,
                             bool *odd, const char **msg)
{
    size_t cn = cstr_len(line, len);
    int64_t x;
    bool erange;
    size_t end = c_strtol(line, cn, &x, &erange);
    uint8_t endc = end < cn ? line[end] : 0;
    *odd = !canonical_int(line, len - 1);
    if (erange || (endc != '\n' && endc != 0)) {
        /* "maybe we've got something long": PyLong_FromString(s, NULL, 0) */
        brine_textres r = py_long_from_string(a, line, cn, 0, out);
        if (r == BRINE_TEXT_ERROR)
            *msg = "could not convert string to int";
        return r;
    }
    brine_value *v;
    if (len == 3 && (x == 0 || x == 1)) {
        v = brine_value_new(a, BRINE_V_BOOL);
        if (v)
            v->u.b = x == 1;
    } else {
        v = brine_value_new(a, BRINE_V_INT);
        if (v)
            v->u.i = x;
    }
    if (!v)
        return BRINE_TEXT_NOMEM;
    *out = v;
    return BRINE_TEXT_OK;
}

brine_textres brine_text_long(brine_arena *a, const uint8_t *line, size_t len, brine_value **out,
                              bool *odd, const char **msg)
{
    /* if (s[len-2] == 'L') s[len-2] = '\0'; */
    size_t n = len;
    if (len >= 2 && line[len - 2] == 'L')
        n = len - 2;
    size_t cn = cstr_len(line, n);
    *odd = !(len >= 2 && line[len - 2] == 'L' && canonical_int(line, len - 2) &&
             !(len == 4 && line[0] == '0'));
    brine_textres r = py_long_from_string(a, line, cn, 0, out);
    if (r == BRINE_TEXT_ERROR)
        *msg = "invalid literal for int() with base 0";
    return r;
}

static bool match_ci(const uint8_t *s, size_t n, size_t i, const char *word)
{
    size_t k = strlen(word);
    if (n - i < k)
        return false;
    for (size_t j = 0; j < k; j++) {
        uint8_t c = s[i + j];
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c - 'A' + 'a');
        if (c != (uint8_t)word[j])
            return false;
    }
    return true;
}

brine_textres brine_text_float(const uint8_t *line, size_t len, double *out, const char **msg)
{
    size_t n = cstr_len(line, len);
    size_t i = 0;
    bool neg = false;
    if (i < n && (line[i] == '+' || line[i] == '-'))
        neg = line[i++] == '-';
    size_t mant = i, nd = 0;
    while (i < n && line[i] >= '0' && line[i] <= '9')
        i++, nd++;
    if (i < n && line[i] == '.') {
        i++;
        while (i < n && line[i] >= '0' && line[i] <= '9')
            i++, nd++;
    }
    size_t end;
    double d;
    if (nd == 0) {
        /* _Py_parse_inf_or_nan */
        i = mant;
        if (match_ci(line, n, i, "inf")) {
            end = i + (match_ci(line, n, i, "infinity") ? 8 : 3);
            d = neg ? -INFINITY : INFINITY;
        } else if (match_ci(line, n, i, "nan")) {
            end = i + 3;
            d = neg ? -NAN : NAN;
        } else {
            *msg = "could not convert string to float";
            return BRINE_TEXT_ERROR;
        }
    } else {
        end = i;
        if (i < n && (line[i] == 'e' || line[i] == 'E')) {
            size_t j = i + 1;
            if (j < n && (line[j] == '+' || line[j] == '-'))
                j++;
            if (j < n && line[j] >= '0' && line[j] <= '9') {
                while (j < n && line[j] >= '0' && line[j] <= '9')
                    j++;
                end = j;
            }
        }
        /* The accepted text is a plain decimal literal; glibc's strtod rounds
         * it correctly, as CPython's dtoa does. */
        char stackbuf[128];
        char *buf = end < sizeof stackbuf ? stackbuf : malloc(end + 1);
        if (!buf)
            return BRINE_TEXT_NOMEM;
        memcpy(buf, line, end);
        buf[end] = 0;
        errno = 0;
        d = strtod(buf, NULL);
        bool range = errno == ERANGE;
        if (buf != stackbuf)
            free(buf);
        if (range && fabs(d) >= 1.0) {
            *msg = "value too large to convert to float";
            return BRINE_TEXT_ERROR;
        }
    }
    uint8_t endc = end < n ? line[end] : 0;
    if (endc != '\n' && endc != 0) {
        *msg = "could not convert string to float";
        return BRINE_TEXT_ERROR;
    }
    *out = d;
    return BRINE_TEXT_OK;
}

brine_textres brine_text_index(const uint8_t *line, size_t len, int64_t *out, bool *neg, const char **msg)
{
    /* PyLong_FromString(s, NULL, 10), then PyLong_AsSsize_t: parse into a
     * scratch arena-less accumulator, saturating (an overflow is an error). */
    size_t n = cstr_len(line, len), i = 0;
    *neg = false;
    while (i < n && py_isspace(line[i]))
        i++;
    bool minus = false;
    if (i < n && (line[i] == '+' || line[i] == '-'))
        minus = line[i++] == '-';
    if (i >= n || line[i] < '0' || line[i] > '9')
        goto bad;
    uint64_t x = 0;
    bool over = false;
    size_t ndigits = 0;
    while (i < n) {
        if (line[i] == '_') {
            if (i + 1 >= n || line[i + 1] < '0' || line[i + 1] > '9')
                goto bad;
            i++;
            continue;
        }
        if (line[i] < '0' || line[i] > '9')
            break;
        unsigned d = (unsigned)(line[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            over = true;
        else
            x = x * 10 + d;
        ndigits++;
        i++;
    }
    while (i < n && py_isspace(line[i]))
        i++;
    if (i != n || ndigits > PY_INT_MAX_STR_DIGITS)
        goto bad;
    if (minus && x != 0) {
        *neg = true;
        *out = -1;
        return BRINE_TEXT_OK;
    }
    if (over || x > (uint64_t)INT64_MAX) {
        *msg = "Python int too large to convert to C ssize_t";
        return BRINE_TEXT_ERROR;
    }
    *out = (int64_t)x;
    return BRINE_TEXT_OK;
bad:
    *msg = "invalid literal for int() with base 10";
    return BRINE_TEXT_ERROR;
}

brine_textres brine_text_string(brine_arena *a, const uint8_t *line, size_t len, brine_value **out,
                                brine_str_encoding enc, const char **msg)
{
    size_t n = len - 1; /* strip the newline */
    if (!(n >= 2 && line[0] == line[n - 1] && (line[0] == '\'' || line[0] == '"'))) {
        *msg = "the STRING opcode argument must be quoted";
        return BRINE_TEXT_ERROR;
    }
    const uint8_t *s = line + 1, *end = line + n - 1;
    brine_value *v = brine_value_new(a, BRINE_V_STR);
    if (!v)
        return BRINE_TEXT_NOMEM;
    if (!memchr(s, '\\', (size_t)(end - s))) {
        v->u.s.p = s;
        v->u.s.n = (size_t)(end - s);
    } else {
        /* PyBytes_DecodeEscape(p, len, "strict") */
        uint8_t *o = brine_arena_alloc(a, (size_t)(end - s));
        if (!o)
            return BRINE_TEXT_NOMEM;
        size_t k = 0;
        while (s < end) {
            if (*s != '\\') {
                o[k++] = *s++;
                continue;
            }
            s++;
            if (s == end) {
                *msg = "Trailing \\ in string";
                return BRINE_TEXT_ERROR;
            }
            uint8_t c = *s++;
            switch (c) {
            case '\n': break;
            case '\\': o[k++] = '\\'; break;
            case '\'': o[k++] = '\''; break;
            case '"': o[k++] = '"'; break;
            case 'b': o[k++] = '\b'; break;
            case 'f': o[k++] = '\f'; break;
            case 't': o[k++] = '\t'; break;
            case 'n': o[k++] = '\n'; break;
            case 'r': o[k++] = '\r'; break;
            case 'v': o[k++] = '\v'; break;
            case 'a': o[k++] = '\a'; break;
            case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
                unsigned x = (unsigned)(c - '0');
                if (s < end && *s >= '0' && *s <= '7') {
                    x = (x << 3) + (unsigned)(*s++ - '0');
                    if (s < end && *s >= '0' && *s <= '7')
                        x = (x << 3) + (unsigned)(*s++ - '0');
                }
                o[k++] = (uint8_t)x; /* \400 and above wrap, as CPython's char store does */
                break;
            }
            case 'x':
                if (s + 1 < end && digit_value(s[0]) < 16 && digit_value(s[1]) < 16) {
                    o[k++] = (uint8_t)(digit_value(s[0]) * 16 + digit_value(s[1]));
                    s += 2;
                    break;
                }
                *msg = "invalid \\x escape";
                return BRINE_TEXT_ERROR;
            default: /* unknown escapes are kept, backslash and all */
                o[k++] = '\\';
                s--;
            }
        }
        v->u.s.p = o;
        v->u.s.n = k;
    }
    brine_textres r = brine_text_decode(a, v, enc, msg);
    if (r != BRINE_TEXT_OK)
        return r;
    *out = v;
    return BRINE_TEXT_OK;
}

brine_textres brine_text_decode(brine_arena *a, brine_value *v, brine_str_encoding enc, const char **msg)
{
    switch (enc) {
    case BRINE_ENC_ASCII:
        if (!brine_ascii_valid(v->u.s.p, v->u.s.n)) {
            *msg = "'ascii' codec can't decode byte";
            return BRINE_TEXT_ERROR;
        }
        return BRINE_TEXT_OK;
    case BRINE_ENC_UTF8:
        if (!brine_utf8_valid(v->u.s.p, v->u.s.n, false)) {
            *msg = "'utf-8' codec can't decode bytes";
            return BRINE_TEXT_ERROR;
        }
        return BRINE_TEXT_OK;
    case BRINE_ENC_LATIN1: {
        if (brine_ascii_valid(v->u.s.p, v->u.s.n))
            return BRINE_TEXT_OK;
        uint8_t *o = brine_arena_alloc_raw(a, v->u.s.n * 2 + 1);
        if (!o)
            return BRINE_TEXT_NOMEM;
        size_t k = 0;
        for (size_t i = 0; i < v->u.s.n; i++) {
            uint8_t ch = v->u.s.p[i];
            if (ch < 0x80) {
                o[k++] = ch;
            } else {
                o[k++] = (uint8_t)(0xc0 | ch >> 6);
                o[k++] = (uint8_t)(0x80 | (ch & 0x3f));
            }
        }
        v->u.s.p = o;
        v->u.s.n = k;
        return BRINE_TEXT_OK;
    }
    }
    return BRINE_TEXT_OK;
}

brine_textres brine_text_float_py(const uint8_t *line, size_t len, double *out, const char **msg)
{
    /* float(bytes): strip ASCII white space, drop '_' between two digits,
     * then the same grammar as the C unpickler's parser */
    uint8_t buf[512];
    size_t b = 0, e = len ? len - 1 : 0; /* the line ends in '\n' */
    while (b < e && (line[b] == ' ' || line[b] == '\t' || line[b] == '\r' || line[b] == '\v' || line[b] == '\f'))
        b++;
    while (e > b && (line[e - 1] == ' ' || line[e - 1] == '\t' || line[e - 1] == '\r' || line[e - 1] == '\v' ||
                     line[e - 1] == '\f'))
        e--;
    size_t k = 0;
    for (size_t i = b; i < e && k < sizeof buf - 2; i++) {
        if (line[i] == 0) { /* float() sees the whole line; the C parser stops at a NUL */
            *msg = "could not convert string to float";
            return BRINE_TEXT_ERROR;
        }
        if (line[i] == '_' && i > b && i + 1 < e && line[i - 1] >= '0' && line[i - 1] <= '9' && line[i + 1] >= '0' &&
            line[i + 1] <= '9')
            continue;
        buf[k++] = line[i];
    }
    if (e - b >= sizeof buf - 2) {
        *msg = "could not convert string to float";
        return BRINE_TEXT_ERROR;
    }
    buf[k++] = '\n';
    return brine_text_float(buf, k, out, msg);
}

static size_t utf8_put(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

brine_textres brine_text_unicode(brine_arena *a, const uint8_t *line, size_t len, brine_value **out,
                                 const char **msg)
{
    size_t n = len - 1;
    brine_value *v = brine_value_new(a, BRINE_V_STR);
    if (!v)
        return BRINE_TEXT_NOMEM;
    bool plain = !memchr(line, '\\', n);
    for (size_t i = 0; plain && i < n; i++)
        plain = line[i] < 0x80;
    if (plain) {
        v->u.s.p = line;
        v->u.s.n = n;
        *out = v;
        return BRINE_TEXT_OK;
    }
    /* every input byte yields at most 2 output bytes; \uXXXX (6) -> 3, \UXXXXXXXX (10) -> 4 */
    uint8_t *o = brine_arena_alloc(a, 2 * n + 1);
    if (!o)
        return BRINE_TEXT_NOMEM;
    size_t k = 0, i = 0;
    while (i < n) {
        uint8_t c = line[i++];
        if (c != '\\' || i >= n) { /* a trailing backslash is kept as is */
            k += utf8_put(o + k, c);
            continue;
        }
        c = line[i++];
        int count = c == 'u' ? 4 : c == 'U' ? 8 : 0;
        if (!count) {
            o[k++] = '\\';
            k += utf8_put(o + k, c);
            continue;
        }
        uint32_t ch = 0;
        for (; count; count--, i++) {
            if (i >= n || digit_value(line[i]) >= 16) {
                *msg = c == 'u' ? "truncated \\uXXXX escape" : "truncated \\UXXXXXXXX escape";
                return BRINE_TEXT_ERROR;
            }
            ch = (ch << 4) + (uint32_t)digit_value(line[i]);
        }
        if (ch > 0x10ffff) {
            *msg = "\\Uxxxxxxxx out of range";
            return BRINE_TEXT_ERROR;
        }
        k += utf8_put(o + k, ch);
    }
    v->u.s.p = o;
    v->u.s.n = k;
    *out = v;
    return BRINE_TEXT_OK;
}

bool brine_ascii_valid(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 0x80)
            return false;
    return true;
}

bool brine_utf8_valid(const uint8_t *p, size_t n, bool surrogatepass)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint8_t lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed && !surrogatepass)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else {
            return false;
        }
        if (n - i - 1 < k)
            return false;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return false;
        for (size_t j = 2; j <= k; j++)
            if ((p[i + j] & 0xc0) != 0x80)
                return false;
        i += k + 1;
    }
    return true;
}

size_t brine_utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t c = p[0];
    if (c < 0x80 || n < 2) {
        *cp = c;
        return 1;
    }
    if (c < 0xe0) {
        *cp = ((uint32_t)(c & 0x1f) << 6) | (p[1] & 0x3f);
        return 2;
    }
    if (c < 0xf0 || n < 4) {
        *cp = ((uint32_t)(c & 0x0f) << 12) | ((uint32_t)(p[1] & 0x3f) << 6) | (p[2] & 0x3f);
        return 3;
    }
    *cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(p[1] & 0x3f) << 12) | ((uint32_t)(p[2] & 0x3f) << 6) |
          (p[3] & 0x3f);
    return 4;
}
