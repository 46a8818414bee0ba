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

static bool is_global(const brine_value *g, const char *mod, const char *name)
{
    return g && g->kind == BRINE_V_GLOBAL && !g->dynamic && g->u.g.module->u.s.n == strlen(mod) &&
           memcmp(g->u.g.module->u.s.p, mod, strlen(mod)) == 0 && g->u.g.name->u.s.n == strlen(name) &&
           memcmp(g->u.g.name->u.s.p, name, strlen(name)) == 0;
}

/* numpy.dtype(typestr, align, copy) plus its BUILD state: item size, and
 * whether it holds Python objects (then joblib pickles the array instead). */
static bool dtype_info(const brine_value *dt, int64_t *itemsize, bool *hasobject, int depth)
{
    if (!dt || depth > 8 || (dt->kind != BRINE_V_CALL && dt->kind != BRINE_V_NEW) ||
        !is_global(dt->u.c.callee, "numpy", "dtype") || dt->u.c.args->kind != BRINE_V_TUPLE ||
        dt->u.c.args->u.seq.len < 1 || dt->u.c.args->u.seq.items[0]->kind != BRINE_V_STR)
        return false;
    const brine_value *ts = dt->u.c.args->u.seq.items[0];
    char t[32];
    size_t n = ts->u.s.n < sizeof t - 1 ? ts->u.s.n : sizeof t - 1;
    memcpy(t, ts->u.s.p, n);
    t[n] = 0;
    const brine_value *state = NULL;
    for (const brine_objop *op = brine_value_ops(dt); op; op = op->next)
        if (op->kind == BRINE_OPK_BUILD)
            state = op->a;
    int64_t elsize = -1;
    if (state && state->kind == BRINE_V_TUPLE && state->u.seq.len >= 6 && state->u.seq.items[5]->kind == BRINE_V_INT)
        elsize = state->u.seq.items[5]->u.i;
    *hasobject = t[0] == 'O';
    if (state && state->kind == BRINE_V_TUPLE && state->u.seq.len >= 5) {
        const brine_value *fields = state->u.seq.items[4];
        if (fields->kind == BRINE_V_DICT)
            for (uint32_t i = 0; i < fields->u.dict.vals.len; i++) {
                const brine_value *f = fields->u.dict.vals.items[i];
                int64_t sub;
                bool obj = false;
                if (f->kind == BRINE_V_TUPLE && f->u.seq.len >= 1 && dtype_info(f->u.seq.items[0], &sub, &obj, depth + 1) &&
                    obj)
                    *hasobject = true;
            }
    }
    if (elsize > 0) {
        *itemsize = elsize;
        return true;
    }
    if (t[0] == 'b' && t[1] == '1' && !t[2]) {
        *itemsize = 1;
        return true;
    }
    char *end;
    long long digits = strtoll(t + 1, &end, 10);
    if (*end || digits <= 0 || !strchr("biufcmMOSUV", t[0]))
        return false;
    *itemsize = t[0] == 'U' ? digits * 4 : digits;
    return true;
}

int64_t brine_joblib_after_build(void *user, const brine_value *target, const brine_value *state, const uint8_t *data,
                                 size_t len, size_t pos, const char **msg)
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
    const brine_value *shape = dict_get(state, "shape");
    int64_t itemsize = 0;
    bool hasobject = false;
    if (!shape || shape->kind != BRINE_V_TUPLE || !dtype_info(dict_get(state, "dtype"), &itemsize, &hasobject, 0)) {
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
        brine_drv_pickle(j->d, data, len, pos, loc, j->depth + 1, BRINE_PICKLE_FIRST_ONLY, &end);
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
    const brine_value *align = dict_get(state, "numpy_array_alignment_bytes");
    if (align && align->kind != BRINE_V_NONE) { /* one byte of padding length, then the padding */
        if (pos >= len) {
            *msg = "joblib array padding runs past the end";
            return -1;
        }
        uint64_t pad = (uint64_t)data[pos] + 1;
        if (total > UINT64_MAX - pad) {
            *msg = "a joblib array larger than any file";
            return -1;
        }
        total += pad;
    }
    if (total > len - pos) {
        *msg = "joblib array data runs past the end of the stream";
        return -1;
    }
    if (!j->skipped)
        j->first_skip = pos;
    j->skipped += total;
    return (int64_t)total;
}
