/* joblib: after a NumpyArrayWrapper is rebuilt, joblib's unpickler reads the
 * array straight from the file (numpy_pickle.py, NumpyArrayWrapper.read): raw
 * bytes (shape x item size, after one byte of alignment padding length and the
 * padding), or, for an object dtype, a pickle of the array. brine skips the raw
 * bytes by the same size and scans the object pickle in place; the driver also
 * scans the plain-pickle reading of the same bytes (what pickle.load sees). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

static const brine_value *dict_get(const brine_value *d, const char *key)
{
    if (!d || d->kind != BRINE_V_DICT)
        return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < d->u.dict.keys.len; i++) {
        const brine_value *k = d->u.dict.keys.items[i];
        if (k->kind == BRINE_V_STR && k->u.s.n == n && memcmp(k->u.s.p, key, n) == 0)
            return d->u.dict.vals.items[i];
    }
    return NULL;
}

static inline __attribute__((always_inline)) bool is_global(const brine_value *g, const char *mod, const char *name)
{
    return g && g->kind == BRINE_V_GLOBAL && !g->dynamic && g->u.g.module->u.s.n == strlen(mod) &&
           memcmp(g->u.g.module->u.s.p, mod, strlen(mod)) == 0 && g->u.g.name->u.s.n == strlen(name) &&
           memcmp(g->u.g.name->u.s.p, name, strlen(name)) == 0;
}

/* numpy.dtype, under any name that is the same object */
static bool is_dtype(const brine_value *g)
{
    static const char *const mods[] = {"numpy", "numpy.core.multiarray", "numpy.core._multiarray_umath",
                                       "numpy.core.numeric", "numpy.core.numerictypes"};
    for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++)
        if (is_global(g, mods[i], "dtype"))
            return true;
    return false;
}

/* The item size numpy gives a type string or word, 0 if brine does not know. */
static int64_t type_size(const char *t)
{
    static const struct { const char *w; int64_t size; } words[] = {
        {"bool", 1}, {"bool_", 1}, {"int8", 1}, {"uint8", 1}, {"byte", 1}, {"ubyte", 1}, {"int16", 2},
        {"uint16", 2}, {"short", 2}, {"ushort", 2}, {"int32", 4}, {"uint32", 4}, {"intc", 4}, {"uintc", 4},
        {"int64", 8}, {"uint64", 8}, {"int", 8}, {"int_", 8}, {"uint", 8}, {"longlong", 8}, {"ulonglong", 8},
        {"intp", 8}, {"uintp", 8}, {"float16", 2}, {"half", 2}, {"float32", 4}, {"single", 4}, {"float64", 8},
        {"float", 8}, {"double", 8}, {"float_", 8}, {"longdouble", 16}, {"float128", 16}, {"complex64", 8},
        {"csingle", 8}, {"complex128", 16}, {"complex", 16}, {"cdouble", 16}, {"complex_", 16},
        {"clongdouble", 32}, {"complex256", 32}, {"?", 1}, {"b", 1}, {"B", 1}, {"h", 2}, {"H", 2}, {"i", 4},
        {"I", 4}, {"l", 8}, {"L", 8}, {"q", 8}, {"Q", 8}, {"p", 8}, {"P", 8}, {"e", 2}, {"f", 4}, {"d", 8},
        {"g", 16}, {"F", 8}, {"D", 16}, {"G", 32}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcmp(t, words[i].w))
            return words[i].size;
    char kind = t[0];
    if (!kind || !strchr("biufcmMSUVa", kind))
        return 0;
    char *end;
    long long digits = strtoll(t + 1, &end, 10);
    if (digits <= 0 || (*end && *end != '['))
        return 0; /* M8[ns]: the unit does not change the size */
    return kind == 'U' ? digits * 4 : digits;
}

/* numpy.dtype(typestr, align, copy) plus its BUILD state: item size, and
 * whether it holds Python objects (then joblib pickles the array instead).
 * As numpy's arraydescr_setstate does, the recorded elsize counts only for
 * flexible types (S, U, V); the flags word can claim objects. */
static bool dtype_info(const brine_value *dt, int64_t *itemsize, bool *hasobject, int depth)
{
    if (!dt || depth > 8 || (dt->kind != BRINE_V_CALL && dt->kind != BRINE_V_NEW) || !is_dtype(dt->u.c.callee) ||
        dt->u.c.args->kind != BRINE_V_TUPLE || dt->u.c.args->u.seq.len < 1 ||
        dt->u.c.args->u.seq.items[0]->kind != BRINE_V_STR)
        return false;
    const brine_value *ts = dt->u.c.args->u.seq.items[0];
    char t[32];
    size_t n = ts->u.s.n < sizeof t - 1 ? ts->u.s.n : sizeof t - 1;
    memcpy(t, ts->u.s.p, n);
    t[n] = 0;
    const char *tt = t + (strchr("<>|=", t[0]) && t[0] ? 1 : 0);
    const brine_value *state = NULL;
    for (const brine_objop *op = brine_value_ops(dt); op; op = op->next)
        if (op->kind == BRINE_OPK_BUILD)
            state = op->a;
    int64_t elsize = -1;
    const brine_value *const *st = state && state->kind == BRINE_V_TUPLE ? (const brine_value *const *)state->u.seq.items
                                                                          : NULL;
    uint32_t sn = st ? state->u.seq.len : 0;
    if (sn >= 6 && st[5]->kind == BRINE_V_INT)
        elsize = st[5]->u.i;
    /* an object type anywhere in the string, or flags that say so */
    *hasobject = strchr(tt, 'O') != NULL || strstr(tt, "object") != NULL;
    if (sn >= 8 && st[7]->kind == BRINE_V_INT && (st[7]->u.i & 1))
        *hasobject = true;
    if (sn >= 5 && st[4]->kind == BRINE_V_DICT) {
        const brine_value *fields = st[4];
        for (uint32_t i = 0; i < fields->u.dict.vals.len; i++) {
            const brine_value *f = fields->u.dict.vals.items[i];
            int64_t sub;
            bool obj = false;
            if (f->kind == BRINE_V_TUPLE && f->u.seq.len >= 1 && dtype_info(f->u.seq.items[0], &sub, &obj, depth + 1) &&
                obj)
                *hasobject = true;
        }
    }
    if (*hasobject) {
        *itemsize = 8;
        return true;
    }
    bool flexible = tt[0] == 'S' || tt[0] == 'U' || tt[0] == 'V' || tt[0] == 'a';
    if (flexible && elsize > 0) {
        *itemsize = elsize;
        return true;
    }
    int64_t size = type_size(tt);
    if (size <= 0)
        return false;
    *itemsize = size;
    return true;
}

/* A value of the wrapper: its BUILD state wins over its constructor's
 * arguments (NumpyArrayWrapper(subclass, shape, order, dtype, allow_mmap,
 * numpy_array_alignment_bytes) made by OBJ or INST sets them there). */
static const brine_value *wrapper_field(const brine_value *target, const brine_value *state, const char *key, int arg)
{
    const brine_value *v = dict_get(state, key);
    if (v)
        return v;
    if (target->kind == BRINE_V_CALL && target->u.c.args->kind == BRINE_V_TUPLE && arg >= 0 &&
        (uint32_t)arg < target->u.c.args->u.seq.len && is_global(target->u.c.callee, "joblib.numpy_pickle",
                                                                   "NumpyArrayWrapper"))
        return target->u.c.args->u.seq.items[arg];
    return NULL;
}

int64_t brine_joblib_after_build(void *user, const brine_value *target, const brine_value *state,
                                 const brine_vm_input *in, uint64_t pos, const char **msg)
{
    brine_joblib *j = user;
    if (target->kind != BRINE_V_NEW && target->kind != BRINE_V_CALL)
        return 0;
    const brine_value *cls = target->u.c.callee;
    if (target->kind == BRINE_V_CALL && is_global(cls, "copyreg", "_reconstructor") &&
        target->u.c.args->kind == BRINE_V_TUPLE && target->u.c.args->u.seq.len >= 1)
        cls = target->u.c.args->u.seq.items[0];
    if (!is_global(cls, "joblib.numpy_pickle", "NumpyArrayWrapper"))
        return 0;
    const brine_value *shape = wrapper_field(target, state, "shape", 1);
    int64_t itemsize = 0;
    bool hasobject = false;
    /* joblib takes len() and the product of the shape: a list works too */
    if (!shape || (shape->kind != BRINE_V_TUPLE && shape->kind != BRINE_V_LIST) ||
        !dtype_info(wrapper_field(target, state, "dtype", 3), &itemsize, &hasobject, 0)) {
        *msg = "a joblib NumpyArrayWrapper whose shape or dtype brine cannot read";
        return -1;
    }
    if (hasobject) { /* joblib pickled the object array right here */
        brine_loc *loc = brine_drv_loc(j->d, j->loc, "region", "joblib", "<object-array>", 14, pos);
        size_t end = pos;
        if (!loc) {
            brine_drv_fail(j->d, j->loc, "joblib", BRINE_STATUS_INCONCLUSIVE, "out of memory", pos);
            *msg = "out of memory";
            return -1;
        }
        brine_drv_pickle_in(j->d, in, (size_t)pos, loc, j->depth + 1, BRINE_PICKLE_FIRST_ONLY, &end);
        brine_loc_free(loc);
        if (end <= pos) {
            *msg = "the object array joblib pickled after a NumpyArrayWrapper is malformed";
            return -1;
        }
        if (!j->skipped)
            j->first_skip = pos;
        j->skipped += end - pos;
        return (int64_t)(end - pos);
    }
    uint64_t count = 1, total;
    for (uint32_t i = 0; i < shape->u.seq.len; i++) {
        const brine_value *d = shape->u.seq.items[i];
        if (d->kind != BRINE_V_INT || d->u.i < 0 || (d->u.i && count > UINT64_MAX / (uint64_t)d->u.i)) {
            *msg = "a joblib array shape that is not a tuple of sizes";
            return -1;
        }
        count *= (uint64_t)d->u.i;
    }
    if (count > UINT64_MAX / (uint64_t)itemsize) {
        *msg = "a joblib array larger than any file";
        return -1;
    }
    total = count * (uint64_t)itemsize;
    const brine_value *align = wrapper_field(target, state, "numpy_array_alignment_bytes", 5);
    if (align && align->kind != BRINE_V_NONE) { /* one byte of padding length, then the padding */
        const uint8_t *b = pos < in->len ? brine_vm_input_get(in, pos, 1) : NULL;
        if (!b) {
            *msg = "joblib array padding runs past the end";
            return -1; /* a window that failed is the VM's to report (it checks) */
        }
        uint64_t pad = (uint64_t)b[0] + 1;
        if (total > UINT64_MAX - pad) {
            *msg = "a joblib array larger than any file";
            return -1;
        }
        total += pad;
    }
    if (total > in->len - pos) {
        *msg = "joblib array data runs past the end of the stream";
        return -1;
    }
    if (!j->skipped)
        j->first_skip = pos;
    j->skipped += total;
    return (int64_t)total;
}
