/* Streams read through a window (issue 11) give exactly what the same
 * streams held whole give.
 *
 * 1. The VM: every file under the roots is run as a pickle held whole, then
 *    through a window over a source that hands out a few bytes per read
 *    (1..13, varying), so that the window moves at nearly every opcode; the
 *    results and the whole event sequence (kind, offset, opcode, message,
 *    target kind and rendering) must be equal. A few windows are also made
 *    too small for one opcode: they must end inconclusive, never complete.
 * 2. The driver: every file is scanned by a scanner with the defaults and by
 *    one with max_buffered 0 (every decompressed stream goes through a
 *    window, decompressed again for each reading) whose windows read a few
 *    bytes at a time; verdict, status, error, counts and every finding
 *    (location, offset, kind, name, message) must be equal. The same again
 *    on each file wrapped in a zlib stream, so that every file of the corpus
 *    (containers, appended zips, joblib arrays) is read through a window.
 * Usage: test_window ROOT... Last line: `window: N passed, M failed`. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "brine.h"
#include "judge.h"
#include "vm.h"

static int passed, failed;
static unsigned kinds_decided;

static void check(bool ok, const char *what, const char *path)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        if (failed <= 40)
            printf("FAIL %s: %s\n", path, what);
    }
}

/* ---- a memory source handing out grain bytes at a time ---- */

typedef struct mem_src {
    const uint8_t *d;
    size_t n;
    unsigned grain;
} mem_src;

typedef struct mem_reader {
    const mem_src *s;
    size_t pos;
    unsigned turn;
} mem_reader;

static void *mem_open(void *self)
{
    mem_reader *r = calloc(1, sizeof *r);
    if (r)
        r->s = self;
    return r;
}

static int64_t mem_read(void *reader, uint8_t *buf, size_t cap)
{
    mem_reader *r = reader;
    size_t g = 1 + (r->s->grain + r->turn++) % 13;
    size_t k = r->s->n - r->pos;
    if (k > cap)
        k = cap;
    if (k > g)
        k = g;
    memcpy(buf, r->s->d + r->pos, k);
    r->pos += k;
    return (int64_t)k;
}

static void mem_close(void *reader)
{
    free(reader);
}

/* ---- the VM's events, as text ---- */

typedef struct evlog {
    char *buf;
    size_t len, cap;
    brine_arena *a;
} evlog;

static void log_add(evlog *l, const char *s)
{
    size_t n = strlen(s);
    if (l->len + n + 1 > l->cap) {
        l->cap = (l->len + n + 1) * 2;
        l->buf = realloc(l->buf, l->cap);
        if (!l->buf)
            abort();
    }
    memcpy(l->buf + l->len, s, n + 1);
    l->len += n;
}

static int on_event(void *user, const brine_vm_event *ev)
{
    evlog *l = user;
    char line[512];
    snprintf(line, sizeof line, "%s@%llu#%llu op%02x n%lld m[%s] t[%s]\n", brine_evkind_name(ev->kind),
             (unsigned long long)ev->offset, (unsigned long long)ev->opindex, ev->opcode, (long long)ev->number,
             ev->message ? ev->message : "", ev->target ? brine_value_render(l->a, ev->target, 60) : "");
    log_add(l, line);
    return 0;
}

static void run_vm(const uint8_t *d, size_t n, brine_window *w, const brine_settings *s, evlog *l,
                   brine_vm_result *res)
{
    brine_arena a, scratch;
    brine_arena_init(&a, s->max_bytes);
    brine_arena_init(&scratch, 1 << 20);
    l->a = &scratch;
    brine_vm_config cfg = {.settings = s, .arena = &a, .on_event = on_event, .user = l,
                           .flags = BRINE_VM_NESTED, .window = w};
    brine_vm_run(d, n, &cfg, res);
    char line[256];
    snprintf(line, sizeof line, "status %d at %llu op%02x pickles %llu first %llu last %llu retry %u msg %s\n",
             res->status, (unsigned long long)res->error_offset, res->error_opcode,
             (unsigned long long)res->pickles, (unsigned long long)res->first_end,
             (unsigned long long)res->last_end, res->retry, res->error_message ? res->error_message : "");
    log_add(l, line);
    if (res->value)
        log_add(l, brine_value_render(&scratch, res->value, 200));
    brine_arena_free(&scratch);
    brine_arena_free(&a);
}

static void vm_case(const char *path, const uint8_t *d, size_t n, unsigned seed)
{
    brine_settings s;
    brine_settings_default(&s);
    s.max_opcodes = 200000;
    evlog whole = {0}, win = {0};
    brine_vm_result r1, r2;
    run_vm(d, n, NULL, &s, &whole, &r1);
    mem_src ms = {d, n, seed};
    brine_vm_source src = {mem_open, mem_read, mem_close, &ms, n};
    brine_window w;
    if (brine_window_open(&w, &src, 0, (size_t)s.max_bytes, 0) != 0) {
        check(false, "window open", path);
        return;
    }
    run_vm(NULL, 0, &w, &s, &win, &r2);
    brine_window_close(&w);
    bool same = whole.len == win.len && !memcmp(whole.buf, win.buf, whole.len);
    if (!same && failed < 5) {
        printf("--- whole:\n%.2000s\n--- window:\n%.2000s\n", whole.buf, win.buf);
    }
    check(same, "window run differs from the whole run", path);
    /* a window smaller than an opcode that needs more: never complete */
    if (r1.status == BRINE_STATUS_COMPLETE && n > 300) {
        brine_window t;
        if (brine_window_open(&t, &src, 0, 16, 0) == 0) {
            t.max = 16; /* below what brine_window_open allows, to force the limit */
            evlog small = {0};
            brine_vm_result r3;
            run_vm(NULL, 0, &t, &s, &small, &r3);
            /* a window that could not hold an opcode leaves the stream inconclusive */
            check(!t.error || r3.status == BRINE_STATUS_INCONCLUSIVE, "a window too small came out complete",
                  path);
            free(small.buf);
        }
        brine_window_close(&t);
    }
    free(whole.buf);
    free(win.buf);
    /* the kinds pass decides the same pickles through a window, and ends at
     * the same place after the same opcodes (giving up is safe but slow:
     * only this comparison sees it) */
    brine_arena a;
    brine_arena_init(&a, s.max_bytes);
    brine_vm_config kc = {.settings = &s, .arena = &a};
    uint64_t e1 = 0, o1 = 0;
    bool d1 = brine_vm_kinds(d, n, &kc, &e1, &o1);
    uint64_t e2 = e1, o2 = o1;
    bool d2 = d1;
    for (unsigned g = 0; g < 13 && d2 == d1 && e2 == e1 && o2 == o1; g++) {
        mem_src gs = {d, n, g};
        brine_vm_source gsrc = {mem_open, mem_read, mem_close, &gs, n};
        brine_window kw;
        d2 = false;
        if (brine_window_open(&kw, &gsrc, 0, (size_t)s.max_bytes, 0) == 0) {
            kc.window = &kw;
            d2 = brine_vm_kinds(NULL, 0, &kc, &e2, &o2);
        }
        brine_window_close(&kw);
        if (getenv("KDEBUG"))
            printf("grain %u kinds %d %d end %llu %llu ops %llu %llu\n", g, d1, d2, (unsigned long long)e1,
                   (unsigned long long)e2, (unsigned long long)o1, (unsigned long long)o2);
    }
    brine_arena_free(&a);
    check(d1 == d2 && (!d1 || (e1 == e2 && o1 == o2)), "the kinds pass decides differently through a window", path);
    kinds_decided += d1;
}

/* ---- the driver: defaults against max_buffered 0 with small reads ---- */

typedef struct scanlog {
    evlog l;
} scanlog;

static int on_finding(void *user, const brine_finding *f)
{
    scanlog *sl = user;
    char line[1024];
    snprintf(line, sizeof line, "F %s@%llu %s %s %s v%d %s\n", f->location, (unsigned long long)f->offset, f->kind,
             f->opcode, f->name, f->verdict, f->message);
    log_add(&sl->l, line);
    return 0;
}

static int on_stream(void *user, const brine_stream_result *r)
{
    scanlog *sl = user;
    char line[1024];
    snprintf(line, sizeof line, "S %s %s v%d s%d e[%s]@%llu p%llu f%llu\n", r->location, r->format, r->verdict,
             r->status, r->error ? r->error : "", (unsigned long long)r->error_offset,
             (unsigned long long)r->pickles, (unsigned long long)r->findings);
    log_add(&sl->l, line);
    return 0;
}

static void scan_with(brine_scanner *s, const char *path, const uint8_t *d, size_t n, scanlog *sl)
{
    static const brine_scan_callbacks cb = {on_finding, on_stream, NULL};
    brine_scanner_set_callbacks(s, &cb, sl);
    brine_stream_result r;
    if (d)
        brine_scanner_scan_buffer(s, d, n, path, &r);
    else
        brine_scanner_scan_file(s, path, &r);
    char line[1024];
    snprintf(line, sizeof line, "R v%d s%d e[%s] p%llu f%llu n%llu\n", r.verdict, r.status, r.error ? r.error : "",
             (unsigned long long)r.pickles, (unsigned long long)r.findings, (unsigned long long)r.streams);
    log_add(&sl->l, line);
}

static brine_scanner *plain, *windowed;
static unsigned nfiles;

static void one_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0 || n > (8 << 20)) {
        fclose(f);
        return;
    }
    uint8_t *d = malloc(n ? (size_t)n : 1);
    if (!d || fread(d, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(d);
        return;
    }
    fclose(f);
    nfiles++;
    vm_case(path, d, (size_t)n, nfiles);
    /* the file itself, then the file as a zlib stream */
    uLongf zn = compressBound((uLong)n);
    uint8_t *z = malloc(zn);
    if (!z || compress2(z, &zn, d, (uLong)n, 6) != Z_OK) {
        check(false, "cannot compress", path);
        zn = 0;
    }
    for (int wrapped = 0; wrapped < 2 && (!wrapped || zn); wrapped++) {
        scanlog a = {{0}}, b = {{0}};
        const uint8_t *in = wrapped ? z : NULL;
        scan_with(plain, path, in, zn, &a);
        brine_scanner_window_grain(windowed, 1 + nfiles % 7);
        scan_with(windowed, path, in, zn, &b);
        bool same = a.l.len == b.l.len && !memcmp(a.l.buf, b.l.buf, a.l.len);
        if (!same && failed < 5)
            printf("--- whole:\n%.3000s\n--- window:\n%.3000s\n", a.l.buf, b.l.buf);
        check(same, wrapped ? "zlib-wrapped: scan through windows differs from the scan held whole"
                            : "scan through windows differs from the scan of streams held whole", path);
        free(a.l.buf);
        free(b.l.buf);
    }
    free(z);
    free(d);
}

static void walk(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        one_file(dir);
        return;
    }
    struct dirent **names;
    int k = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < k; i++) {
        if (names[i]->d_name[0] != '.') {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", dir, names[i]->d_name);
            walk(p);
        }
        free(names[i]);
    }
    if (k >= 0)
        free(names);
}

int main(int argc, char **argv)
{
    brine_policy *p = NULL;
    brine_settings s;
    brine_settings_default(&s);
    s.max_opcodes = 2000000;
    if (brine_policy_compile(&p, NULL, 0, NULL) < 0 || brine_scanner_create(&plain, p, &s) < 0) {
        printf("window: 0 passed, 1 failed\n");
        return 1;
    }
    s.max_buffered = 0;
    if (brine_scanner_create(&windowed, p, &s) < 0) {
        printf("window: 0 passed, 1 failed\n");
        return 1;
    }
    for (int i = 1; i < argc; i++)
        walk(argv[i]);
    check(nfiles > 100, "too few files under the roots", "-");
    check(kinds_decided > 100, "the kinds pass decided too few pickles to compare", "-");
    brine_scanner_destroy(plain);
    brine_scanner_destroy(windowed);
    brine_policy_destroy(p);
    printf("window: %d passed, %d failed (%u files, %u decided by the kinds pass)\n", passed, failed, nfiles,
           kinds_decided);
    return failed ? 1 : 0;
}
