/* Legacy PyTorch files (torch.save with _use_new_zipfile_serialization=False):
 * five pickles back to back (magic number, protocol version, sys_info, the
 * object, the storage keys), then each storage's raw bytes: an 8-byte element
 * count and count x element size bytes, in the order of the keys. torch.load
 * reads exactly that; anything after the last storage is read by nobody but
 * another reader, and is reported (and scanned if loading it would run
 * something). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

/* the magic number 0x1950a86a20f9469cfc6c as LONG1, at any protocol torch.save
 * takes (2 by default; 3-5 with pickle_protocol=, 4 and 5 framed) */
static const uint8_t MAGIC[] = {0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};

bool brine_torch_legacy_probe(const uint8_t *d, size_t n)
{
    if (n < 2 || d[0] != 0x80 || d[1] < 2 || d[1] > 5)
        return false;
    size_t p = 2;
    if (n > p && d[p] == 0x95) /* FRAME and its 8-byte length */
        p += 9;
    return n >= p + sizeof MAGIC && !memcmp(d + p, MAGIC, sizeof MAGIC);
}
typedef struct {
    const uint8_t *d;
    size_t n;
    /* root key -> element size, from the persistent ids of the main pickle */
    struct { const uint8_t *key; size_t keylen; unsigned elsize; } *keys;
    size_t nkeys, cap;
} legacy_ctx;

static unsigned storage_elsize(const brine_value *cls)
{
    static const struct { const char *name; unsigned size; } sizes[] = {
        {"DoubleStorage", 8}, {"FloatStorage", 4}, {"HalfStorage", 2}, {"BFloat16Storage", 2}, {"LongStorage", 8},
        {"IntStorage", 4}, {"ShortStorage", 2}, {"CharStorage", 1}, {"ByteStorage", 1}, {"BoolStorage", 1},
        {"ComplexFloatStorage", 8}, {"ComplexDoubleStorage", 16}, {"QUInt8Storage", 1}, {"QInt8Storage", 1},
        {"QInt32Storage", 4}, {"QUInt4x2Storage", 1}, {"QUInt2x4Storage", 1}, {"UntypedStorage", 1}};
    if (cls->kind != BRINE_V_GLOBAL || cls->dynamic)
        return 0;
    const brine_value *name = cls->u.g.name;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (name->u.s.n == strlen(sizes[i].name) && !memcmp(name->u.s.p, sizes[i].name, name->u.s.n))
            return sizes[i].size;
    return 0;
}

static int legacy_persid(void *user, const brine_vm_event *ev)
{
    legacy_ctx *l = user;
    if (ev->kind != BRINE_EV_PERSID)
        return 0;
    const brine_value *t = ev->target;
    if (t->kind != BRINE_V_TUPLE || t->u.seq.len < 5 || t->u.seq.items[2]->kind != BRINE_V_STR)
        return 0;
    if (l->nkeys == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        void *nk = realloc(l->keys, nc * sizeof *l->keys);
        if (!nk)
            return 0;
        l->keys = nk;
        l->cap = nc;
    }
    l->keys[l->nkeys].key = t->u.seq.items[2]->u.s.p;
    l->keys[l->nkeys].keylen = t->u.seq.items[2]->u.s.n;
    l->keys[l->nkeys].elsize = storage_elsize(t->u.seq.items[1]);
    l->nkeys++;
    return 0;
}

int brine_torch_legacy_walk(brine_drv *c, const uint8_t *d, size_t n, const brine_loc *loc, unsigned depth)
{
    size_t pos = 0;
    int r = 0;
    legacy_ctx saved = {0}; /* the persistent ids of pickle 3, used at pickle 4 */
    /* magic, protocol version, sys_info, the object, the storage keys */
    for (int i = 0; i < 5 && !c->stopped; i++) {
        size_t end = pos;
        brine_loc *ploc = i ? brine_drv_loc(c, loc, "region", "torch-legacy", NULL, 0, pos) : NULL;
        if (i && !ploc) {
            free(saved.keys);
            return brine_drv_fail(c, loc, "torch-legacy", BRINE_STATUS_INCONCLUSIVE, "out of memory", pos);
        }
        r = brine_drv_pickle(c, d, n, pos, i ? ploc : loc, depth, BRINE_PICKLE_FIRST_ONLY, &end);
        brine_loc_free(ploc);
        if (end <= pos) {
            free(saved.keys);
            return r; /* malformed or inconclusive: already reported */
        }
        if (i == 3 || i == 4) {
            /* read the values brine needs: element sizes, and the keys' order */
            legacy_ctx l = {d, n, NULL, 0, 0};
            brine_arena a;
            brine_arena_init(&a, c->s->max_bytes);
            brine_vm_config cfg = {.settings = c->s, .arena = &a, .flags = BRINE_VM_FIRST_ONLY, .start = pos,
                                   .on_event = i == 3 ? legacy_persid : NULL, .user = &l};
            brine_vm_result res;
            brine_vm_run(d, n, &cfg, &res);
            if (i == 3) {
                free(saved.keys);
                saved = l;
            } else {
                /* pickle 4: the storage keys; each storage is an 8-byte element
                 * count and count * element size bytes, in this order */
                const brine_value *keys = res.value;
                size_t at = end;
                bool ok = keys && keys->kind == BRINE_V_LIST;
                for (uint32_t k = 0; ok && k < keys->u.seq.len; k++) {
                    const brine_value *key = keys->u.seq.items[k];
                    unsigned el = 0;
                    for (size_t s = 0; key->kind == BRINE_V_STR && s < saved.nkeys; s++)
                        if (saved.keys[s].keylen == key->u.s.n && !memcmp(saved.keys[s].key, key->u.s.p, key->u.s.n))
                            el = saved.keys[s].elsize;
                    if (!el || n - at < 8) {
                        ok = false;
                        break;
                    }
                    uint64_t count = 0;
                    for (int b = 0; b < 8; b++)
                        count |= (uint64_t)d[at + b] << (8 * b);
                    at += 8;
                    if (count > (n - at) / el) {
                        ok = false;
                        break;
                    }
                    at += (size_t)(count * el);
                }
                free(saved.keys);
                memset(&saved, 0, sizeof saved);
                brine_arena_free(&a);
                if (!ok)
                    return brine_drv_fail(c, loc, "torch-legacy", BRINE_STATUS_INCONCLUSIVE,
                                            "legacy torch storages do not match their keys", end);
                if (at < n) {
                    r = brine_drv_finding(c, loc, at, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, "trailing",
                                          "trailing-data", "trailing data",
                                          "bytes after the last storage of a legacy torch file: torch.load never reads "
                                          "them, another reader might");
                    if (r == 0 && brine_drv_would_run(c, d + at, n - at)) {
                        brine_loc *xloc = brine_drv_loc(c, loc, "region", "torch-legacy", NULL, 0, at);
                        r = xloc ? brine_drv_pickle(c, d, n, at, xloc, depth, 0, NULL)
                                 : brine_drv_fail(c, loc, "torch-legacy", BRINE_STATUS_INCONCLUSIVE, "out of memory", at);
                        brine_loc_free(xloc);
                    }
                }
                return r;
            }
            brine_arena_free(&a);
        }
        pos = end;
    }
    return r;
}

/* ---- torch < 0.4: the tar layout (legacy_load) ---------------------------------------
 * 'storages': a count pickle; per storage a pickle (key, location, storage
 * class), an 8-byte element count and count x element size bytes; then a
 * pickle of the storage views. 'tensors': a count pickle; per tensor a pickle
 * (key, storage id, tensor type), then ndim (4 bytes), 4 bytes, ndim sizes,
 * ndim strides and an offset (8 bytes each). Every pickle is scanned; the raw
 * bytes are skipped exactly as torch reads them; bytes after the last record
 * are reported. */

/* The value of the one pickle at d[pos..): run apart from the scan, for the
 * numbers the layout needs. The arena owns the value. */
static const brine_value *pickle_value(brine_drv *c, const uint8_t *d, size_t n, size_t pos, brine_arena *a)
{
    brine_vm_config cfg = {.settings = c->s, .arena = a, .flags = BRINE_VM_FIRST_ONLY, .start = pos};
    brine_vm_result res;
    brine_vm_run(d, n, &cfg, &res);
    return res.status == BRINE_STATUS_COMPLETE ? res.value : NULL;
}

static uint64_t le_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int b = 0; b < 8; b++)
        v |= (uint64_t)p[b] << (8 * b);
    return v;
}

int brine_torch_tar_member(brine_drv *c, const uint8_t *d, size_t n, const brine_loc *loc, unsigned depth,
                           bool storages)
{
    const char *fmt = storages ? "torch-tar-storages" : "torch-tar-tensors";
    const char *why = NULL;
    size_t pos = 0, end = 0;
    int r = brine_drv_pickle(c, d, n, 0, loc, depth, BRINE_PICKLE_FIRST_ONLY, &end);
    if (r < 0 || end == 0)
        return r; /* malformed or inconclusive: already reported */
    brine_arena a;
    brine_arena_init(&a, c->s->max_bytes);
    const brine_value *count = pickle_value(c, d, n, 0, &a);
    if (!count || count->kind != BRINE_V_INT || count->u.i < 0 || (uint64_t)count->u.i > c->s->max_members) {
        why = "the record count is not a number brine can follow";
        goto out;
    }
    int64_t records = count->u.i; /* the arena is renewed per record below */
    pos = end;
    for (int64_t i = 0; i < records && !c->stopped; i++) {
        brine_loc *rl = brine_drv_loc(c, loc, "region", fmt, NULL, 0, pos);
        if (!rl) {
            why = "out of memory";
            goto out;
        }
        r = brine_drv_pickle(c, d, n, pos, rl, depth, BRINE_PICKLE_FIRST_ONLY, &end);
        brine_loc_free(rl);
        const brine_value *args = end > pos ? pickle_value(c, d, n, pos, &a) : NULL;
        if (r < 0 || !args || args->kind != BRINE_V_TUPLE || args->u.seq.len != 3) {
            why = "a record is not the (key, ..., type) tuple torch reads";
            goto out;
        }
        pos = end;
        if (storages) {
            unsigned el = storage_elsize(args->u.seq.items[2]);
            if (!el || n - pos < 8) {
                why = "a storage of a class brine does not know, or cut short";
                goto out;
            }
            uint64_t elems = le_u64(d + pos);
            pos += 8;
            if (elems > (n - pos) / el) {
                why = "storage data runs past the end of the member";
                goto out;
            }
            pos += (size_t)(elems * el);
        } else {
            if (n - pos < 8) {
                why = "tensor record cut short";
                goto out;
            }
            uint32_t ndim = (uint32_t)(d[pos] | d[pos + 1] << 8 | d[pos + 2] << 16 | (uint32_t)d[pos + 3] << 24);
            pos += 8;
            if (ndim > (n - pos) / 16 || (n - pos) - (size_t)ndim * 16 < 8) {
                why = "tensor record cut short";
                goto out;
            }
            pos += (size_t)ndim * 16 + 8;
        }
        brine_arena_free(&a); /* the values are read; a fresh arena for the next */
        brine_arena_init(&a, c->s->max_bytes);
    }
    if (storages && !c->stopped) { /* the storage views */
        brine_loc *rl = brine_drv_loc(c, loc, "region", fmt, NULL, 0, pos);
        if (!rl) {
            why = "out of memory";
            goto out;
        }
        r = brine_drv_pickle(c, d, n, pos, rl, depth, BRINE_PICKLE_FIRST_ONLY, &end);
        brine_loc_free(rl);
        if (r < 0 || end <= pos) {
            why = "the storage views pickle is missing";
            goto out;
        }
        pos = end;
    }
    if (pos < n && !c->stopped) {
        r = brine_drv_finding(c, loc, pos, BRINE_VERDICT_SUSPICIOUS, BRINE_SEVERITY_MEDIUM, "trailing", "trailing-data",
                              "trailing data",
                              "bytes after the last record of a legacy torch tar member: torch.load never reads them");
        if (r == 0 && brine_drv_would_run(c, d + pos, n - pos)) {
            brine_loc *xl = brine_drv_loc(c, loc, "region", fmt, NULL, 0, pos);
            r = xl ? brine_drv_pickle(c, d, n, pos, xl, depth, 0, NULL)
                   : brine_drv_fail(c, loc, fmt, BRINE_STATUS_INCONCLUSIVE, "out of memory", pos);
            brine_loc_free(xl);
        }
    }
out:
    brine_arena_free(&a);
    if (why) { /* what was not followed is read as pickles from there on, and the member is not complete */
        if (pos < n && brine_drv_would_run(c, d + pos, n - pos)) {
            brine_loc *xl = brine_drv_loc(c, loc, "region", fmt, NULL, 0, pos);
            if (xl)
                brine_drv_pickle(c, d, n, pos, xl, depth, 0, NULL);
            brine_loc_free(xl);
        }
        return brine_drv_fail(c, loc, fmt, BRINE_STATUS_INCONCLUSIVE, why, pos);
    }
    if (r >= 0 && !c->stopped)
        r = brine_drv_stream(c, loc, fmt, BRINE_VERDICT_SAFE, BRINE_STATUS_COMPLETE, NULL, 0);
    return r;
}
