/* The per-file collector, the JSON writers and the batch object. A client of
 * include/brine.h only: it consumes the scanner callbacks. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <dlfcn.h>
#include <errno.h>
/* SHA256_Init and the rest are deprecated in OpenSSL 3 but still exported,
 * and they are what keeps libcrypto cheap here (crypto_load) */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <sched.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "report_int.h"

/* ---- rbuf --------------------------------------------------------------------- */

static bool rbuf_grow(rbuf *b, size_t n)
{
    if (b->oom)
        return false;
    if (b->len + n + 1 <= b->cap)
        return true;
    size_t nc = b->cap ? b->cap : 4096;
    while (nc < b->len + n + 1)
        nc *= 2;
    char *p = realloc(b->p, nc);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = nc;
    return true;
}

void rbuf_put_slow(rbuf *b, const char *s, size_t n)
{
    if (!rbuf_grow(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void rbuf_u64(rbuf *b, uint64_t v)
{
    char d[20];
    size_t i = sizeof d;
    do
        d[--i] = (char)('0' + v % 10);
    while (v /= 10);
    rbuf_put(b, d + i, sizeof d - i);
}

/* milliseconds with three decimals, as %.3f writes them for a time that is not negative */
static void rbuf_ms3(rbuf *b, double seconds)
{
    double us = seconds * 1e6;
    uint64_t v = us > 0 && us < 1.8e19 ? (uint64_t)(us + 0.5) : 0;
    char frac[5] = {'.', (char)('0' + v / 100 % 10), (char)('0' + v / 10 % 10), (char)('0' + v % 10), 0};
    rbuf_u64(b, v / 1000);
    rbuf_put(b, frac, 4);
}

void rbuf_printf(rbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        rbuf_put(b, tmp, (size_t)n);
        return;
    }
    if (!rbuf_grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of a valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000;
    else
        return 0;
    unsigned cp = c & (0x3f >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void rbuf_json_str(rbuf *b, const char *s)
{
    if (!s) {
        rbuf_puts(b, "null");
        return;
    }
    rbuf_put(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t run = 0;
        /* copy plain runs at once */
        while (p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
            run++;
        if (run) {
            rbuf_put(b, (const char *)p, run);
            p += run;
            continue;
        }
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            rbuf_put(b, e, 2);
            p++;
        } else if (c == '\n') {
            rbuf_puts(b, "\\n"), p++;
        } else if (c == '\t') {
            rbuf_puts(b, "\\t"), p++;
        } else if (c == '\r') {
            rbuf_puts(b, "\\r"), p++;
        } else if (c < 0x20 || c == 0x7f) {
            rbuf_printf(b, "\\u%04x", c), p++;
        } else {
            size_t n = utf8_len(p);
            if (n) {
                rbuf_put(b, (const char *)p, n);
                p += n;
            } else {
                rbuf_printf(b, "\\\\x%02x", c); /* the text \xNN */
                p++;
            }
        }
    }
    rbuf_put(b, "\"", 1);
}

void rbuf_free(rbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

int rbuf_flush(rbuf *b, brine_write_fn out, void *user)
{
    int r = 0;
    if (b->oom)
        r = BRINE_ERR_NOMEM;
    else if (b->len && out(user, b->p, b->len))
        r = BRINE_ERR_IO;
    b->len = 0;
    b->oom = false;
    if (b->p)
        b->p[0] = 0;
    return r;
}

/* ---- the string pool of a collector -------------------------------------------------- */

struct rblock {
    rblock *next;
    size_t size, used;
    char data[];
};

static void *pool_alloc(brine_report_file *f, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    rblock *b = f->pool;
    if (!b || b->size - b->used < n) {
        size_t size = n > 60000 ? n : 60000;
        rblock *nb = malloc(sizeof *nb + size);
        if (!nb) {
            f->oom = true;
            return NULL;
        }
        nb->next = b;
        nb->size = size;
        nb->used = 0;
        f->pool = b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

static const char *pool_str(brine_report_file *f, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *p = pool_alloc(f, n + 1);
    if (!p)
        return "";
    memcpy(p, s, n + 1);
    return p;
}

static void pool_reset(brine_report_file *f)
{
    /* keep one block, free the rest */
    rblock *b = f->pool;
    while (b && b->next) {
        rblock *n = b->next;
        free(b);
        b = n;
    }
    /* b is the oldest (first) block or NULL; keep it if it is a normal one */
    if (b && b->size > 60000) {
        free(b);
        b = NULL;
    }
    if (b)
        b->used = 0;
    f->pool = b;
}

/* ---- a string index -------------------------------------------------------------- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Find @p key; *slot_out is its slot or the empty slot where it would go.
 * names(i) gives the key of item i. */
typedef const char *(*key_of)(const brine_report_file *f, int i);

static int index_find(const brine_report_file *f, const rstrindex *x, const char *key, key_of kf, size_t *slot_out)
{
    if (!x->cap)
        return -1;
    size_t m = x->cap - 1, i = (size_t)hash_str(key) & m;
    for (;; i = (i + 1) & m) {
        if (x->slot[i] < 0) {
            *slot_out = i;
            return -1;
        }
        if (strcmp(kf(f, x->slot[i]), key) == 0) {
            *slot_out = i;
            return x->slot[i];
        }
    }
}

static bool index_insert(brine_report_file *f, rstrindex *x, size_t count, const char *key, int item, key_of kf)
{
    if ((count + 1) * 2 > x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 64;
        int *ns = malloc(nc * sizeof *ns);
        if (!ns)
            return false;
        for (size_t i = 0; i < nc; i++)
            ns[i] = -1;
        for (size_t i = 0; i < x->cap; i++) {
            if (x->slot[i] < 0)
                continue;
            size_t j = (size_t)hash_str(kf(f, x->slot[i])) & (nc - 1);
            while (ns[j] >= 0)
                j = (j + 1) & (nc - 1);
            ns[j] = x->slot[i];
        }
        free(x->slot);
        x->slot = ns;
        x->cap = nc;
    }
    size_t slot = 0;
    index_find(f, x, key, kf, &slot);
    x->slot[slot] = item;
    return true;
}

static void index_clear(rstrindex *x)
{
    for (size_t i = 0; i < x->cap; i++)
        x->slot[i] = -1;
}

static const char *loc_key(const brine_report_file *f, int i)
{
    return f->locs[i].text;
}

static const char *global_key(const brine_report_file *f, int i)
{
    return f->globals[i].name;
}

/* Grow an array of items to hold one more. */
static bool grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, nc * size);
    if (!p)
        return false;
    *arr = p;
    *cap = nc;
    return true;
}

/* ---- the collector ----------------------------------------------------------------- */

int brine_report_file_create(brine_report_file **out, const brine_policy *policy)
{
    if (!out || !policy)
        return BRINE_ERR_INVALID;
    brine_report_file *f = calloc(1, sizeof *f);
    if (!f)
        return BRINE_ERR_NOMEM;
    f->policy = policy;
    *out = f;
    return brine_report_file_begin(f, "");
}

/* The policy identity, computed on first use (a collector that never writes
 * JSON never hashes the policy). */
static const char *policy_hash(const brine_report_file *f)
{
    brine_report_file *m = (brine_report_file *)f; /* a cache, not a change of the report */
    if (!m->has_identity) {
        if (brine_policy_identity(m->policy, m->policy_hash, NULL, 0) < 0)
            m->policy_hash[0] = 0;
        m->has_identity = true;
    }
    return m->policy_hash;
}

int brine_report_file_create_like(brine_report_file **out, const brine_report_file *like)
{
    if (!out || !like)
        return BRINE_ERR_INVALID;
    int r = brine_report_file_create(out, like->policy);
    if (r < 0)
        return r;
    memcpy((*out)->policy_hash, policy_hash(like), sizeof (*out)->policy_hash);
    (*out)->has_identity = true;
    return 0;
}

void brine_report_file_destroy(brine_report_file *f)
{
    if (!f)
        return;
    while (f->pool) {
        rblock *n = f->pool->next;
        free(f->pool);
        f->pool = n;
    }
    free(f->locs);
    free(f->loc_index.slot);
    free(f->finds);
    free(f->streams);
    free(f->globals);
    free(f->global_index.slot);
    rbuf_free(&f->pre);
    free(f);
}

int brine_report_file_begin(brine_report_file *f, const char *path)
{
    if (!f)
        return BRINE_ERR_INVALID;
    pool_reset(f);
    f->oom = false;
    f->nlocs = f->nfinds = f->nstreams = f->nglobals = 0;
    f->findings_seen = f->streams_seen = f->globals_dropped = 0;
    index_clear(&f->loc_index);
    index_clear(&f->global_index);
    f->ended = f->failed = false;
    f->scan_rc = 0;
    f->errnum = 0;
    f->fail_message = NULL;
    memset(&f->res, 0, sizeof f->res);
    f->size = 0;
    f->has_sha = false;
    f->sha256[0] = 0;
    f->seconds = 0;
    f->pre.len = 0;
    f->pre.oom = false;
    f->pre_ready = false;
    f->path = pool_str(f, path ? path : "");
    return f->oom ? BRINE_ERR_NOMEM : 0;
}

/* The index of a location, interned; -1 if it cannot be kept. */
static int intern_loc(brine_report_file *f, const brine_location *where, const char *text)
{
    const char *key = where && where->depth ? where->text : (text && text[0] ? text : f->path);
    size_t slot;
    int i = index_find(f, &f->loc_index, key, loc_key, &slot);
    if (i >= 0)
        return i;
    if (f->nlocs >= BRINE_REPORT_MAX_ITEMS * 2 || !grow((void **)&f->locs, &f->caplocs, f->nlocs, sizeof *f->locs))
        return -1;
    rloc *l = &f->locs[f->nlocs];
    l->text = pool_str(f, key);
    if (where && where->depth) {
        l->depth = where->depth;
        l->steps = pool_alloc(f, where->depth * sizeof *l->steps);
        if (!l->steps)
            return -1;
        for (size_t k = 0; k < where->depth; k++) {
            l->steps[k].kind = pool_str(f, where->steps[k].kind);
            l->steps[k].format = pool_str(f, where->steps[k].format);
            l->steps[k].name = pool_str(f, k == 0 ? f->path : where->steps[k].name);
            l->steps[k].offset = where->steps[k].offset;
        }
    } else {
        l->depth = 1;
        l->steps = pool_alloc(f, sizeof *l->steps);
        if (!l->steps)
            return -1;
        l->steps[0] = (rstep){"file", "", f->path, 0};
    }
    if (!index_insert(f, &f->loc_index, f->nlocs, l->text, (int)f->nlocs, loc_key))
        return -1;
    return (int)f->nlocs++;
}

static int on_finding(void *user, const brine_finding *x)
{
    brine_report_file *f = user;
    f->findings_seen++;
    if (f->nfinds >= BRINE_REPORT_MAX_ITEMS || !grow((void **)&f->finds, &f->capfinds, f->nfinds, sizeof *f->finds))
        return 0;
    int loc = intern_loc(f, x->where, x->location);
    if (loc < 0)
        return 0;
    rfinding *r = &f->finds[f->nfinds++];
    *r = (rfinding){.loc = loc, .offset = x->offset, .opindex = x->opindex, .opcode = pool_str(f, x->opcode),
                    .kind = pool_str(f, x->kind), .name = pool_str(f, x->name ? x->name : ""),
                    .call = pool_str(f, x->call ? x->call : ""), .rule = pool_str(f, x->rule ? x->rule : ""),
                    .message = pool_str(f, x->message ? x->message : ""),
                    .rule_id = pool_str(f, x->rule_id ? x->rule_id : "unknown"),
                    .rule_pack = pool_str(f, x->rule_pack ? x->rule_pack : ""),
                    .rule_file = pool_str(f, x->rule_file ? x->rule_file : ""), .rule_line = x->rule_line,
                    .verdict = x->verdict, .severity = x->severity};
    return 0;
}

/* Is location a a proper ancestor of b (same steps, fewer of them)? */
static bool loc_prefix(const rloc *a, const rloc *b)
{
    if (a->depth >= b->depth)
        return false;
    for (size_t k = 1; k < a->depth; k++) /* step 0 is the file for both */
        if (a->steps[k].offset != b->steps[k].offset || strcmp(a->steps[k].name, b->steps[k].name) ||
            strcmp(a->steps[k].kind, b->steps[k].kind))
            return false;
    return true;
}

static int on_stream(void *user, const brine_stream_result *x)
{
    brine_report_file *f = user;
    f->streams_seen++;
    if (f->nstreams >= BRINE_REPORT_MAX_ITEMS ||
        !grow((void **)&f->streams, &f->capstreams, f->nstreams, sizeof *f->streams))
        return 0;
    int loc = intern_loc(f, x->where, x->location);
    if (loc < 0)
        return 0;
    rstream *s = &f->streams[f->nstreams++];
    *s = (rstream){.loc = loc, .parent = -1, .format = pool_str(f, x->format ? x->format : ""),
                   .error = pool_str(f, x->error), .verdict = x->verdict, .status = x->status,
                   .error_offset = x->error_offset};
    return 0;
}

static int on_global(void *user, const brine_location *where, const char *name, brine_use use)
{
    brine_report_file *f = user;
    (void)where;
    if (!name || (unsigned)use > 3)
        return 0;
    size_t slot;
    int i = index_find(f, &f->global_index, name, global_key, &slot);
    if (i < 0) {
        if (f->nglobals >= BRINE_REPORT_MAX_ITEMS ||
            !grow((void **)&f->globals, &f->capglobals, f->nglobals, sizeof *f->globals)) {
            f->globals_dropped++;
            return 0;
        }
        rglobal *g = &f->globals[f->nglobals];
        memset(g, 0, sizeof *g);
        g->name = pool_str(f, name);
        if (!index_insert(f, &f->global_index, f->nglobals, g->name, (int)f->nglobals, global_key)) {
            f->globals_dropped++;
            return 0;
        }
        i = (int)f->nglobals++;
    }
    f->globals[i].uses[use]++;
    return 0;
}

static const brine_scan_callbacks collector_callbacks = {on_finding, on_stream, on_global};

static const brine_scan_callbacks collector_callbacks_no_globals = {on_finding, on_stream, NULL};

const brine_scan_callbacks *brine_report_file_callbacks(void)
{
    return &collector_callbacks;
}

const brine_scan_callbacks *brine_report_file_callbacks_no_globals(void)
{
    return &collector_callbacks_no_globals;
}

/* Each stream's parent: the nearest stream before it in the tree of
 * locations. Streams are reported when they end, children first, so the
 * parent of a stream is a stream at a proper prefix of its location; among
 * several streams at that location, the container one (not "pickle"). */
static void link_streams(brine_report_file *f)
{
    for (size_t i = 0; i < f->nstreams; i++) {
        const rloc *me = &f->locs[f->streams[i].loc];
        int best = -1;
        size_t best_depth = 0;
        bool best_container = false;
        for (size_t j = 0; j < f->nstreams; j++) {
            if (j == i)
                continue;
            const rloc *o = &f->locs[f->streams[j].loc];
            bool container = strcmp(f->streams[j].format, "pickle") != 0;
            bool same = o == me;
            /* a container at the same location holds a pickle read from it
             * (a member's zip and the zip's pickles have distinct steps) */
            if (!(loc_prefix(o, me) || (same && container && !strcmp(f->streams[i].format, "pickle"))))
                continue;
            size_t depth = o->depth * 2 + (same ? 1 : 0);
            if (best < 0 || depth > best_depth || (depth == best_depth && container && !best_container)) {
                best = (int)j;
                best_depth = depth;
                best_container = container;
            }
        }
        f->streams[i].parent = best;
    }
}

void brine_report_file_end(brine_report_file *f, int scan_rc, const brine_stream_result *res, uint64_t size,
                           const char *sha256, double seconds)
{
    f->ended = true;
    f->scan_rc = scan_rc;
    if (res) {
        f->res = *res;
        f->res.location = f->path;
        f->res.format = "file";
        f->res.error = pool_str(f, res->error);
        f->res.where = NULL;
    } else {
        f->res.status = BRINE_STATUS_INCONCLUSIVE;
        f->res.error = "no result";
    }
    if (scan_rc < 0 && f->res.status == BRINE_STATUS_COMPLETE) {
        /* an API error: never complete */
        f->res.status = BRINE_STATUS_INCONCLUSIVE;
        f->res.error = pool_str(f, brine_strerror(scan_rc));
    }
    f->size = size;
    if (sha256 && strlen(sha256) == 64) {
        memcpy(f->sha256, sha256, 65);
        f->has_sha = true;
    }
    f->seconds = seconds;
    /* only small files have more than a few streams; the link is quadratic
     * in the streams kept, which are capped */
    if (f->nstreams <= 2000)
        link_streams(f);
}

void brine_report_file_fail(brine_report_file *f, int errnum, const char *message)
{
    f->ended = f->failed = true;
    f->errnum = errnum;
    f->fail_message = pool_str(f, message ? message : errnum ? strerror(errnum) : "cannot be read");
}

brine_report_outcome brine_report_file_outcome(const brine_report_file *f)
{
    if (f->failed || !f->ended)
        return BRINE_OUTCOME_UNREADABLE;
    if (f->res.verdict == BRINE_VERDICT_DANGEROUS)
        return BRINE_OUTCOME_DANGEROUS;
    if (f->res.verdict == BRINE_VERDICT_SUSPICIOUS)
        return BRINE_OUTCOME_SUSPICIOUS;
    if (f->res.status != BRINE_STATUS_COMPLETE || f->oom)
        return BRINE_OUTCOME_INCOMPLETE;
    return BRINE_OUTCOME_SAFE;
}

const brine_stream_result *brine_report_file_result(const brine_report_file *f)
{
    return &f->res;
}

uint64_t brine_report_file_size(const brine_report_file *f)
{
    return f->size;
}

const char *brine_report_file_error(const brine_report_file *f)
{
    return f->failed ? f->fail_message : f->res.error;
}

const char *brine_report_file_path(const brine_report_file *f)
{
    return f->path;
}

const char *report_outcome_name(brine_report_outcome o)
{
    static const char *const names[] = {"safe", "incomplete", "suspicious", "dangerous", "unreadable"};
    return (unsigned)o < 5 ? names[o] : "?";
}

const char *report_missing_permission(const rfinding *x)
{
    if (strcmp(x->rule_id, "not-allowed") && strcmp(x->rule_id, "no-call-permission") &&
        strcmp(x->rule_id, "no-permission"))
        return NULL;
    if (!x->name[0])
        return NULL;
    static const char *const uses[] = {"import", "call", "build", "items"};
    for (size_t i = 0; i < 4; i++)
        if (!strcmp(x->kind, uses[i]))
            return uses[i];
    return NULL;
}

static __thread const brine_report_file *sort_ctx; /* qsort has no context argument */

static int cmp_global(const void *a, const void *b)
{
    return strcmp(sort_ctx->globals[*(const size_t *)a].name, sort_ctx->globals[*(const size_t *)b].name);
}

size_t *report_sorted_globals(const brine_report_file *f)
{
    size_t *ord = malloc((f->nglobals ? f->nglobals : 1) * sizeof *ord);
    if (!ord)
        return NULL;
    for (size_t i = 0; i < f->nglobals; i++)
        ord[i] = i;
    sort_ctx = f;
    qsort(ord, f->nglobals, sizeof *ord, cmp_global);
    return ord;
}

/* ---- JSON -------------------------------------------------------------------------- */

static void json_loc(rbuf *b, const rloc *l)
{
    rbuf_puts(b, "{\"text\":");
    rbuf_json_str(b, l->text);
    rbuf_puts(b, ",\"steps\":[");
    for (size_t k = 0; k < l->depth; k++) {
        rbuf_puts(b, k ? ",{\"kind\":" : "{\"kind\":");
        rbuf_json_str(b, l->steps[k].kind);
        rbuf_puts(b, ",\"format\":");
        rbuf_json_str(b, l->steps[k].format);
        rbuf_puts(b, ",\"name\":");
        rbuf_json_str(b, l->steps[k].name);
        rbuf_puts(b, ",\"offset\":");
        rbuf_u64(b, l->steps[k].offset);
        rbuf_puts(b, "}");
    }
    rbuf_puts(b, "]}");
}

static void json_file(rbuf *b, const brine_report_file *f)
{
    brine_report_outcome oc = brine_report_file_outcome(f);
    rbuf_puts(b, "{\"path\":");
    rbuf_json_str(b, f->path);
    if (f->failed) {
        rbuf_puts(b, ",\"size\":null,\"sha256\":null,\"verdict\":null,\"status\":\"unreadable\",\"outcome\":"
                     "\"unreadable\",\"safe\":false,\"error\":{\"message\":");
        rbuf_json_str(b, f->fail_message);
        rbuf_printf(b, ",\"offset\":null,\"errno\":%d}", f->errnum);
        rbuf_puts(b, ",\"policy_hash\":");
        rbuf_json_str(b, policy_hash(f));
        rbuf_puts(b, ",\"counts\":{\"streams\":0,\"pickles\":0,\"findings\":0},\"truncated\":{\"findings\":false,"
                     "\"streams\":false,\"globals\":false},\"streams\":[],\"findings\":[],\"globals\":[],\"time_ms\":0}");
        return;
    }
    rbuf_puts(b, ",\"size\":");
    rbuf_u64(b, f->size);
    rbuf_puts(b, ",\"sha256\":");
    rbuf_json_str(b, f->has_sha ? f->sha256 : NULL);
    rbuf_puts(b, ",\"verdict\":\"");
    rbuf_puts(b, brine_verdict_name(f->res.verdict));
    rbuf_puts(b, "\",\"status\":\"");
    rbuf_puts(b, brine_status_name(f->res.status));
    rbuf_puts(b, "\",\"outcome\":\"");
    rbuf_puts(b, report_outcome_name(oc));
    rbuf_puts(b, oc == BRINE_OUTCOME_SAFE ? "\",\"safe\":true,\"error\":" : "\",\"safe\":false,\"error\":");
    if (f->res.error) {
        rbuf_puts(b, "{\"message\":");
        rbuf_json_str(b, f->res.error);
        rbuf_puts(b, ",\"offset\":");
        rbuf_u64(b, f->res.error_offset);
        rbuf_puts(b, ",\"errno\":null}");
    } else {
        rbuf_puts(b, "null");
    }
    rbuf_puts(b, ",\"policy_hash\":");
    rbuf_json_str(b, policy_hash(f));
    rbuf_puts(b, ",\"counts\":{\"streams\":");
    rbuf_u64(b, f->res.streams);
    rbuf_puts(b, ",\"pickles\":");
    rbuf_u64(b, f->res.pickles);
    rbuf_puts(b, ",\"findings\":");
    rbuf_u64(b, f->res.findings);
    rbuf_puts(b, f->findings_seen > f->nfinds ? "},\"truncated\":{\"findings\":true" : "},\"truncated\":{\"findings\":false");
    rbuf_puts(b, f->streams_seen > f->nstreams ? ",\"streams\":true" : ",\"streams\":false");
    rbuf_puts(b, f->globals_dropped ? ",\"globals\":true}" : ",\"globals\":false}");
    rbuf_puts(b, ",\"streams\":[");
    for (size_t i = 0; i < f->nstreams; i++) {
        const rstream *s = &f->streams[i];
        rbuf_puts(b, i ? ",{\"id\":" : "{\"id\":");
        rbuf_u64(b, i);
        rbuf_puts(b, ",\"parent\":");
        if (s->parent >= 0)
            rbuf_u64(b, (uint64_t)s->parent);
        else
            rbuf_puts(b, "null");
        rbuf_puts(b, ",\"location\":");
        json_loc(b, &f->locs[s->loc]);
        rbuf_puts(b, ",\"format\":");
        rbuf_json_str(b, s->format);
        rbuf_puts(b, ",\"verdict\":\"");
        rbuf_puts(b, brine_verdict_name(s->verdict));
        rbuf_puts(b, "\",\"status\":\"");
        rbuf_puts(b, brine_status_name(s->status));
        rbuf_puts(b, "\",\"error\":");
        if (s->error) {
            rbuf_puts(b, "{\"message\":");
            rbuf_json_str(b, s->error);
            rbuf_puts(b, ",\"offset\":");
            rbuf_u64(b, s->error_offset);
            rbuf_puts(b, "}");
        } else {
            rbuf_puts(b, "null");
        }
        rbuf_puts(b, "}");
    }
    rbuf_puts(b, "],\"findings\":[");
    for (size_t i = 0; i < f->nfinds; i++) {
        const rfinding *x = &f->finds[i];
        rbuf_puts(b, i ? ",{\"location\":" : "{\"location\":");
        json_loc(b, &f->locs[x->loc]);
        rbuf_printf(b, ",\"offset\":%" PRIu64 ",\"opindex\":%" PRIu64 ",\"opcode\":", x->offset, x->opindex);
        rbuf_json_str(b, x->opcode);
        rbuf_puts(b, ",\"kind\":");
        rbuf_json_str(b, x->kind);
        rbuf_printf(b, ",\"verdict\":\"%s\",\"severity\":\"%s\",\"name\":", brine_verdict_name(x->verdict),
                    brine_severity_name(x->severity));
        rbuf_json_str(b, x->name);
        rbuf_puts(b, ",\"call\":");
        rbuf_json_str(b, x->call);
        rbuf_puts(b, ",\"rule\":{\"id\":");
        rbuf_json_str(b, x->rule_id);
        rbuf_puts(b, ",\"text\":");
        rbuf_json_str(b, x->rule);
        rbuf_puts(b, ",\"pack\":");
        rbuf_json_str(b, x->rule_pack[0] ? x->rule_pack : NULL);
        rbuf_puts(b, ",\"file\":");
        rbuf_json_str(b, x->rule_file[0] ? x->rule_file : NULL);
        if (x->rule_line)
            rbuf_printf(b, ",\"line\":%u}", x->rule_line);
        else
            rbuf_puts(b, ",\"line\":null}");
        rbuf_puts(b, ",\"explanation\":");
        rbuf_json_str(b, x->message);
        const char *perm = report_missing_permission(x);
        rbuf_puts(b, ",\"missing_permission\":");
        rbuf_json_str(b, perm);
        rbuf_puts(b, "}");
    }
    rbuf_puts(b, "],\"globals\":[");
    size_t *ord = report_sorted_globals(f);
    for (size_t k = 0; ord && k < f->nglobals; k++) {
        const rglobal *g = &f->globals[ord[k]];
        rbuf_puts(b, k ? ",{\"name\":" : "{\"name\":");
        rbuf_json_str(b, g->name);
        static const char *const use_keys[4] = {",\"import\":", ",\"call\":", ",\"build\":", ",\"items\":"};
        for (int u = 0; u < 4; u++) {
            rbuf_puts(b, use_keys[u]);
            rbuf_u64(b, g->uses[u]);
        }
        rbuf_puts(b, "}");
    }
    free(ord);
    rbuf_puts(b, "],\"time_ms\":");
    rbuf_ms3(b, f->seconds);
    rbuf_puts(b, "}");
}

int brine_report_file_json(const brine_report_file *f, brine_write_fn out, void *user)
{
    if (!f || !out)
        return BRINE_ERR_INVALID;
    rbuf b = {0};
    json_file(&b, f);
    int r = rbuf_flush(&b, out, user);
    rbuf_free(&b);
    return r;
}

/* ---- sha256 (FIPS 180-4) ---------------------------------------------------------------- */
/* In-tree rather than from a library: the command hashes every file it reports,
 * and one more shared library is a measurable share of its start-up. Checked
 * against hashlib by the cli and python-binding tests (every file's sha256). */

/* libcrypto, opened on the first large hash (dlopen: a scan that writes no
 * sha256, or only small ones, never loads it; this library is a client of
 * libbrine and has its own loader). Only SHA-256 is used, through the
 * low-level SHA256_Init/Update/Final where libcrypto still has them: the EVP
 * interface first sets up OpenSSL 3's providers, 1.1-1.8 ms of a process
 * (a 1.7 MB file's sha256 took 4.8 ms through EVP, 1.8 ms through these,
 * loading included). EVP is the fallback for a libcrypto without them, and
 * the code below, about a fifth of the speed, for a machine without either. */
typedef struct crypto_fns {
    __typeof__(SHA256_Init) *SHA256_Init;
    __typeof__(SHA256_Update) *SHA256_Update;
    __typeof__(SHA256_Final) *SHA256_Final;
    __typeof__(EVP_MD_CTX_new) *EVP_MD_CTX_new;
    __typeof__(EVP_MD_CTX_free) *EVP_MD_CTX_free;
    __typeof__(EVP_sha256) *EVP_sha256;
    __typeof__(EVP_DigestInit_ex) *EVP_DigestInit_ex;
    __typeof__(EVP_DigestUpdate) *EVP_DigestUpdate;
    __typeof__(EVP_DigestFinal_ex) *EVP_DigestFinal_ex;
} crypto_fns;
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static crypto_fns crypto_table;
static bool crypto_ok;

static void crypto_load(void)
{
    if (getenv("BRINE_NO_LIBCRYPTO")) /* tests: the built-in code */
        return;
    void *h = dlopen(BRINE_SONAME_libcrypto, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return;
    static const char *const names[] = {"SHA256_Init",    "SHA256_Update",     "SHA256_Final",
                                        "EVP_MD_CTX_new", "EVP_MD_CTX_free",   "EVP_sha256",
                                        "EVP_DigestInit_ex", "EVP_DigestUpdate", "EVP_DigestFinal_ex"};
    void *slots[sizeof names / sizeof names[0]];
    _Static_assert(sizeof slots == sizeof(crypto_fns), "one pointer per function");
    bool low = !getenv("BRINE_LIBCRYPTO_EVP"), evp = true; /* tests: the fallback */
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        slots[i] = dlsym(h, names[i]);
        if (i < 3)
            low &= slots[i] != NULL;
        else
            evp &= slots[i] != NULL;
    }
    if (!low)
        slots[0] = slots[1] = slots[2] = NULL;
    if (!low && !evp)
        return;
    memcpy(&crypto_table, slots, sizeof crypto_table);
    crypto_ok = true;
}

static const crypto_fns *crypto(void)
{
    pthread_once(&crypto_once, crypto_load);
    return crypto_ok ? &crypto_table : NULL;
}

typedef struct sha256_state {
    uint32_t h[8];
    uint64_t bytes;
    uint8_t block[64];
    size_t fill;
    /* libcrypto's when the first update was large (CRYPTO_LARGE), so that a
     * big file is hashed at the CPU's speed and a small one does not pay for
     * loading it: `low` (its SHA256_CTX in place) or `evp` (a context) */
    bool low;
    SHA256_CTX ctx;
    EVP_MD_CTX *evp;
} sha256_state;
/* Loading libcrypto costs 0.6-0.7 ms, what the code below takes for about
 * 100 KiB: from 64 KiB on (a descriptor is hashed in 64 KiB pieces) */
#define CRYPTO_LARGE ((size_t)64 << 10)
_Static_assert(sizeof(sha256_state) <= sizeof(brine_report_hash), "brine_report_hash too small");

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = k + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
        uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
}

void brine_report_hash_init(brine_report_hash *hh)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    sha256_state *s = (sha256_state *)hh;
    memcpy(s->h, iv, sizeof iv);
    s->bytes = 0;
    s->fill = 0;
    s->low = false;
    s->evp = NULL;
}

void brine_report_hash_update(brine_report_hash *hh, const uint8_t *data, size_t len)
{
    sha256_state *s = (sha256_state *)hh;
    if (!s->bytes && len >= CRYPTO_LARGE) { /* the first update (neither low nor evp yet) */
        const crypto_fns *c = crypto();
        if (c && c->SHA256_Init) {
            s->low = c->SHA256_Init(&s->ctx) == 1;
        } else if (c) {
            EVP_MD_CTX *x = c->EVP_MD_CTX_new();
            if (x && c->EVP_DigestInit_ex(x, c->EVP_sha256(), NULL) == 1)
                s->evp = x;
            else if (x)
                c->EVP_MD_CTX_free(x);
        }
    }
    s->bytes += len;
    if (s->low) {
        if (crypto()->SHA256_Update(&s->ctx, data, len) != 1)
            abort(); /* cannot fail for SHA-256 with an initialised context */
        return;
    }
    if (s->evp) {
        if (crypto()->EVP_DigestUpdate(s->evp, data, len) != 1)
            abort(); /* cannot fail for SHA-256 with a valid context */
        return;
    }
    if (s->fill) {
        size_t k = 64 - s->fill < len ? 64 - s->fill : len;
        memcpy(s->block + s->fill, data, k);
        s->fill += k;
        data += k;
        len -= k;
        if (s->fill < 64)
            return;
        sha256_block(s->h, s->block);
        s->fill = 0;
    }
    for (; len >= 64; data += 64, len -= 64)
        sha256_block(s->h, data);
    memcpy(s->block, data, len);
    s->fill = len;
}

void brine_report_hash_hex(brine_report_hash *hh, char hex[65])
{
    sha256_state *s = (sha256_state *)hh;
    uint8_t md[32];
    if (s->low) {
        if (crypto()->SHA256_Final(md, &s->ctx) != 1)
            abort();
        s->low = false;
    } else if (s->evp) {
        const crypto_fns *c = crypto();
        unsigned int mdlen = 0;
        if (c->EVP_DigestFinal_ex(s->evp, md, &mdlen) != 1 || mdlen != 32)
            abort();
        c->EVP_MD_CTX_free(s->evp);
        s->evp = NULL;
    } else { /* the built-in code's last blocks */
        uint64_t bits = s->bytes * 8;
        s->block[s->fill++] = 0x80;
        if (s->fill > 56) {
            memset(s->block + s->fill, 0, 64 - s->fill);
            sha256_block(s->h, s->block);
            s->fill = 0;
        }
        memset(s->block + s->fill, 0, 56 - s->fill);
        for (int i = 0; i < 8; i++)
            s->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
        sha256_block(s->h, s->block);
        for (int i = 0; i < 32; i++)
            md[i] = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
    }
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = 0;
}

void brine_report_sha256_fd(int fd, char hex[65])
{
    brine_report_hash h;
    brine_report_hash_init(&h);
    uint8_t chunk[1 << 16];
    uint64_t off = 0;
    for (;;) {
        ssize_t r = pread(fd, chunk, sizeof chunk, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        brine_report_hash_update(&h, chunk, (size_t)r);
        off += (uint64_t)r;
    }
    brine_report_hash_hex(&h, hex);
}

void brine_report_sha256(const uint8_t *data, size_t len, char hex[65])
{
    brine_report_hash h;
    brine_report_hash_init(&h);
    brine_report_hash_update(&h, data, len);
    brine_report_hash_hex(&h, hex);
}

static long n_cores;
static pthread_once_t cores_once = PTHREAD_ONCE_INIT;

static void cores_count(void)
{
    cpu_set_t set;
    long n = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    n_cores = n > 0 ? n : 1;
}

/* The cores this process may run on (its affinity mask; at least 1). */
static long report_cores(void)
{
    pthread_once(&cores_once, cores_count);
    return n_cores;
}

static void *sha256_beside(void *arg)
{
    brine_report_sha256_job *j = arg;
    if (j->pinned) { /* started on another core (see below): free to move from now on */
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof set, &set) == 0) /* what the process may use */
            pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    if (j->data)
        brine_report_sha256(j->data, j->len, j->hex);
    else
        brine_report_sha256_fd(j->fd, j->hex);
    return NULL;
}

/* A RandomForest's 1.7 MB took 1.1 ms to hash here, as long as its scan: a
 * report that carries the sha256 cost twice the scan when one followed the
 * other. From 512 KiB on (0.35 ms of hashing against some 30 us to start a
 * thread), and when a core is free, the hash runs beside the scan. Both only
 * read the bytes; the caller joins before it reuses them. */
void brine_report_sha256_begin(brine_report_sha256_job *j, const uint8_t *data, size_t len, int fd, long scanning)
{
    j->data = data;
    j->len = len;
    j->fd = fd;
    j->hex[0] = 0;
    j->threaded = j->pinned = false;
    if (len >= BRINE_HASH_BESIDE_MIN && scanning < report_cores() && !getenv("BRINE_HASH_INLINE")) {
        /* BRINE_HASH_INLINE: tests, the other path */
        pthread_attr_t at;
        if (pthread_attr_init(&at) == 0) {
            /* the hash needs little stack: sha256_fd's 64 KiB piece and a few frames */
            pthread_attr_setstacksize(&at, (size_t)256 << 10);
            /* Linux here placed a new thread on its creator's core, where it
             * waited 0.3-3.7 ms for the scan's time slice to end, and the two
             * took turns: no faster than hashing inline. Started on another
             * core the process may use, it ran within 0.15 ms. */
            cpu_set_t set;
            int cpu = sched_getcpu();
            if (cpu >= 0 && cpu < CPU_SETSIZE && sched_getaffinity(0, sizeof set, &set) == 0) {
                CPU_CLR(cpu, &set);
                if (CPU_COUNT(&set) > 0)
                    j->pinned = pthread_attr_setaffinity_np(&at, sizeof set, &set) == 0;
            }
            j->threaded = pthread_create(&j->thread, &at, sha256_beside, j) == 0;
            if (!j->threaded)
                j->pinned = false;
            pthread_attr_destroy(&at);
        }
    }
    if (!j->threaded) /* small, no core to spare, or no thread: here, now */
        sha256_beside(j);
}

void brine_report_sha256_end(brine_report_sha256_job *j, char hex[65])
{
    if (j->threaded) {
        pthread_join(j->thread, NULL);
        j->threaded = false;
    }
    memcpy(hex, j->hex, 65);
}

/* ---- the batch ---------------------------------------------------------------------- */

struct brine_report {
    brine_report_options o;
    const brine_policy *policy;
    brine_write_fn out;
    void *user;
    rbuf b;
    char hash[17];
    char packs[1024];
    char cwd[4096];
    bool first;
    uint64_t counts[5];
    uint64_t files, bytes;
    sarif_state *sarif;
};

static void json_packs(rbuf *b, const char *packs)
{
    rbuf_put(b, "[", 1);
    const char *p = packs;
    bool first = true;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char tmp[256];
        if (n >= sizeof tmp)
            n = sizeof tmp - 1;
        memcpy(tmp, p, n);
        tmp[n] = 0;
        if (!first)
            rbuf_put(b, ",", 1);
        rbuf_json_str(b, tmp);
        first = false;
        p = e ? e + 1 : p + strlen(p);
    }
    rbuf_put(b, "]", 1);
}

int brine_report_create(brine_report **rep, const brine_report_options *opt, const brine_policy *policy,
                        brine_write_fn out, void *user)
{
    if (!rep || !policy || !out)
        return BRINE_ERR_INVALID;
    *rep = NULL;
    brine_report *r = calloc(1, sizeof *r);
    if (!r)
        return BRINE_ERR_NOMEM;
    if (opt)
        r->o = *opt;
    r->policy = policy;
    r->out = out;
    r->user = user;
    r->first = true;
    if (r->o.format == BRINE_REPORT_JSON || r->o.format == BRINE_REPORT_SARIF)
        brine_policy_identity(policy, r->hash, r->packs, sizeof r->packs);
    if (r->o.cwd)
        snprintf(r->cwd, sizeof r->cwd, "%s", r->o.cwd);
    else if (!getcwd(r->cwd, sizeof r->cwd))
        r->cwd[0] = 0;
    if (r->o.format == BRINE_REPORT_JSON) {
        rbuf_printf(&r->b, "{\"schema\":\"%s\",\"brine\":{\"version\":", BRINE_REPORT_SCHEMA);
        rbuf_json_str(&r->b, brine_version());
        rbuf_puts(&r->b, "},\"policy\":{\"hash\":");
        rbuf_json_str(&r->b, r->hash);
        rbuf_puts(&r->b, ",\"packs\":");
        json_packs(&r->b, r->packs);
        rbuf_puts(&r->b, "},\"files\":[");
    } else if (r->o.format == BRINE_REPORT_SARIF) {
        r->sarif = report_sarif_new();
        if (!r->sarif) {
            free(r);
            return BRINE_ERR_NOMEM;
        }
        report_sarif_begin(&r->b, r->sarif, &r->o, r->cwd);
    }
    *rep = r;
    return 0;
}

/* A file's entry in the text, json or jsonl report: rendered ahead
 * (brine_report_render) or now. */
static void put_entry(rbuf *b, const brine_report_file *f, const brine_report_options *o)
{
    if (f->pre_ready) {
        if (f->pre.len)
            rbuf_put(b, f->pre.p, f->pre.len);
    } else if (o->format == BRINE_REPORT_TEXT) {
        report_text_file(b, f, o);
    } else {
        json_file(b, f);
    }
}

int brine_report_add(brine_report *r, const brine_report_file *f)
{
    if (!r || !f)
        return BRINE_ERR_INVALID;
    r->counts[brine_report_file_outcome(f)]++;
    r->files++;
    r->bytes += f->failed ? 0 : f->size;
    switch (r->o.format) {
    case BRINE_REPORT_JSON:
        if (!r->first)
            rbuf_put(&r->b, ",\n", 2);
        else
            rbuf_put(&r->b, "\n", 1);
        put_entry(&r->b, f, &r->o);
        break;
    case BRINE_REPORT_JSONL:
        put_entry(&r->b, f, &r->o);
        rbuf_put(&r->b, "\n", 1);
        break;
    case BRINE_REPORT_SARIF:
        report_sarif_file(&r->b, r->sarif, f, &r->o, r->cwd, &r->first);
        break;
    default:
        put_entry(&r->b, f, &r->o);
        break;
    }
    if (r->o.format != BRINE_REPORT_SARIF) /* sarif: "first" means no result written yet */
        r->first = false;
    return rbuf_flush(&r->b, r->out, r->user);
}

int brine_report_render(const brine_report *r, brine_report_file *f)
{
    if (!r || !f)
        return BRINE_ERR_INVALID;
    if (f->pre.cap > ((size_t)1 << 20))
        rbuf_free(&f->pre); /* a large entry once: the collector does not keep its size */
    f->pre.len = 0;
    f->pre.oom = false;
    f->pre_ready = false;
    if (r->o.format == BRINE_REPORT_SARIF)
        return 0;
    put_entry(&f->pre, f, &r->o); /* pre_ready is false: rendered now */
    f->pre_ready = !f->pre.oom;
    return f->pre.oom ? BRINE_ERR_NOMEM : 0;
}

static void format_bytes(char *buf, size_t n, double v)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int k = 0;
    while (v >= 1024 && k < 4)
        v /= 1024, k++;
    snprintf(buf, n, k ? "%.1f %s" : "%.0f %s", v, u[k]);
}

int brine_report_finish(brine_report *r, double seconds)
{
    if (!r)
        return BRINE_ERR_INVALID;
    switch (r->o.format) {
    case BRINE_REPORT_JSON:
        rbuf_printf(&r->b,
                    "\n],\"summary\":{\"files\":%" PRIu64 ",\"safe\":%" PRIu64 ",\"incomplete\":%" PRIu64
                    ",\"suspicious\":%" PRIu64 ",\"dangerous\":%" PRIu64 ",\"unreadable\":%" PRIu64
                    ",\"bytes\":%" PRIu64 ",\"seconds\":%.3f}}\n",
                    r->files, r->counts[0], r->counts[1], r->counts[2], r->counts[3], r->counts[4], r->bytes, seconds);
        break;
    case BRINE_REPORT_SARIF:
        report_sarif_end(&r->b, r->sarif, r->policy, r->hash, r->packs);
        break;
    case BRINE_REPORT_TEXT:
        if (!r->o.no_summary) {
            char by[32];
            format_bytes(by, sizeof by, (double)r->bytes);
            rbuf_printf(&r->b,
                        "brine: %" PRIu64 " file%s: %" PRIu64 " safe, %" PRIu64 " suspicious, %" PRIu64
                        " dangerous, %" PRIu64 " not fully analysed, %" PRIu64 " unreadable; %s in %.2f s\n",
                        r->files, r->files == 1 ? "" : "s", r->counts[0], r->counts[2], r->counts[3], r->counts[1],
                        r->counts[4], by, seconds);
        }
        break;
    default:
        break;
    }
    return rbuf_flush(&r->b, r->out, r->user);
}

void brine_report_destroy(brine_report *r)
{
    if (!r)
        return;
    report_sarif_free(r->sarif);
    rbuf_free(&r->b);
    free(r);
}
