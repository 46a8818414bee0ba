/* Unit tests of the public API: settings, limits, callbacks, policies. Each
 * check prints on failure; the last line is `unit-api: N passed, M failed`. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brine.h"

static int passed, failed;

#define CHECK(cond, ...)                                    \
    do {                                                    \
        if (cond) {                                         \
            passed++;                                       \
        } else {                                            \
            failed++;                                       \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);     \
            printf(__VA_ARGS__);                            \
            printf("\n");                                   \
        }                                                   \
    } while (0)

typedef struct {
    char buf[1 << 16];
    size_t len;
} sink;

static int to_sink(void *user, const char *t, size_t n)
{
    sink *s = user;
    if (n > sizeof s->buf - 1 - s->len)
        n = sizeof s->buf - 1 - s->len;
    memcpy(s->buf + s->len, t, n);
    s->len += n;
    s->buf[s->len] = 0;
    return 0;
}

static const char *dump(const void *data, size_t len, const brine_settings *s, sink *out)
{
    out->len = 0;
    out->buf[0] = 0;
    brine_dump_json(data, len, s, to_sink, out);
    return out->buf;
}

typedef struct {
    int n;
    int stop_after;
    char kinds[16][32];
} evlog;

static int on_ev(void *user, const brine_event *ev)
{
    evlog *l = user;
    if (l->n < 16)
        snprintf(l->kinds[l->n], sizeof l->kinds[0], "%s", ev->kind);
    l->n++;
    return l->stop_after && l->n >= l->stop_after;
}

static void test_limits(void)
{
    brine_settings s;
    brine_settings_default(&s);
    CHECK(s.max_opcodes == 50000000 && s.max_memo == 16777216 && s.max_depth == 2000, "documented defaults");
    sink out;
    /* every limit ends as inconclusive, never a crash */
    s.max_opcodes = 3;
    CHECK(strstr(dump("NNNN.", 5, &s, &out), "\"inconclusive\""), "max_opcodes: %s", out.buf);
    brine_settings_default(&s);
    s.max_stack = 2;
    CHECK(strstr(dump("NNN.", 4, &s, &out), "\"inconclusive\""), "max_stack: %s", out.buf);
    brine_settings_default(&s);
    s.max_marks = 2;
    CHECK(strstr(dump("(((N.", 5, &s, &out), "\"inconclusive\""), "max_marks: %s", out.buf);
    brine_settings_default(&s);
    s.max_memo = 1;
    CHECK(strstr(dump("Nq\x00q\x00.", 6, &s, &out), "\"ok\""), "re-storing the same key is fine: %s", out.buf);
    CHECK(strstr(dump("Nq\x01q\x02.", 6, &s, &out), "\"inconclusive\""), "max_memo: %s", out.buf);
    brine_settings_default(&s);
    s.max_bytes = 4096;
    char big[8192];
    memset(big, 'N', sizeof big - 2);
    big[0] = '(';
    big[sizeof big - 2] = 'l';
    big[sizeof big - 1] = '.';
    CHECK(strstr(dump(big, sizeof big, &s, &out), "\"inconclusive\""), "max_bytes: %.200s", out.buf);
    /* deep nesting: building is iterative; writing is depth-limited */
    brine_settings_default(&s);
    size_t n = 100000;
    char *deep = malloc(2 * n + 2);
    deep[0] = ')';
    for (size_t i = 1; i <= n; i++)
        deep[i] = (char)0x85; /* TUPLE1 */
    deep[n + 1] = '.';
    CHECK(strstr(dump(deep, n + 2, &s, &out), "\"inconclusive\""), "max_depth on write: %.200s", out.buf);
    free(deep);
    /* billion laughs: shared tuples fan out when written; bounded by max_output */
    char laugh[128];
    size_t k = 0;
    laugh[k++] = 'N';
    for (int i = 0; i < 40; i++) {
        laugh[k++] = '2';
        laugh[k++] = (char)0x86; /* DUP TUPLE2 */
    }
    laugh[k++] = '.';
    s.max_output = 100000;
    CHECK(strstr(dump(laugh, k, &s, &out), "\"inconclusive\""), "max_output: %.200s", out.buf);
    /* a huge declared length is checked against what is left */
    CHECK(strstr(dump("\x8e\xff\xff\xff\xff\xff\xff\xff\x3f.", 10, NULL, &out), "\"malformed\""), "BINBYTES8: %s",
          out.buf);
}

static void test_events_api(void)
{
    evlog l = {0};
    brine_status st;
    const char *p = "cos\nsystem\n(S'true'\ntR.";
    int r = brine_events((const uint8_t *)p, strlen(p), NULL, on_ev, &l, &st);
    CHECK(r == 0 && st == BRINE_STATUS_COMPLETE && l.n == 3, "events: r=%d n=%d", r, l.n);
    CHECK(l.n >= 3 && !strcmp(l.kinds[0], "import") && !strcmp(l.kinds[1], "call") && !strcmp(l.kinds[2], "pickle"),
          "event order");
    evlog stop = {.stop_after = 1};
    r = brine_events((const uint8_t *)p, strlen(p), NULL, on_ev, &stop, &st);
    CHECK(r == BRINE_ERR_CALLBACK && stop.n == 1, "a callback can stop the scan: r=%d n=%d", r, stop.n);
    CHECK(brine_events(NULL, 5, NULL, on_ev, &l, NULL) == BRINE_ERR_INVALID, "NULL data is invalid");
    CHECK(brine_events(NULL, 0, NULL, on_ev, &l, &st) == 0 && st == BRINE_STATUS_MALFORMED, "empty input is malformed");
    CHECK(!strcmp(brine_strerror(BRINE_ERR_NOMEM), "out of memory"), "strerror");
}

typedef struct {
    int findings;
    char rules[8][200];
    char msgs[8][300];
} flog;

static int on_finding(void *user, const brine_finding *f)
{
    flog *l = user;
    if (l->findings < 8) {
        snprintf(l->rules[l->findings], sizeof l->rules[0], "%s", f->rule);
        snprintf(l->msgs[l->findings], sizeof l->msgs[0], "%s", f->message);
    }
    l->findings++;
    return 0;
}

static brine_verdict scan(const brine_policy *p, const char *data, size_t len, flog *l, brine_status *st)
{
    brine_scan_callbacks cb = {on_finding, NULL, NULL};
    brine_stream_result r;
    memset(l, 0, sizeof *l);
    brine_scan_buffer(p, NULL, (const uint8_t *)data, len, "t", &cb, l, &r);
    if (st)
        *st = r.status;
    return r.verdict;
}

static void test_policy_api(void)
{
    brine_policy *p = NULL;
    brine_diag d;
    CHECK(brine_policy_compile(&p, NULL, 0, &d) == 0 && p, "built-in policy compiles: %s", d.message);
    if (!p)
        return;
    flog l;
    brine_status st;
    const char *sys = "cos\nsystem\n(S'true'\ntR.";
    CHECK(scan(p, sys, strlen(sys), &l, &st) == BRINE_VERDICT_DANGEROUS, "os.system is dangerous");
    CHECK(l.findings >= 1 && strstr(l.rules[0], "deny"), "a deny rule fired: %s", l.rules[0]);
    CHECK(scan(p, "(K\x01K\x02l.", 7, &l, &st) == BRINE_VERDICT_SAFE && st == BRINE_STATUS_COMPLETE && !l.findings,
          "plain data is safe");
    CHECK(scan(p, "\x82\x01.", 3, &l, &st) == BRINE_VERDICT_DANGEROUS && st == BRINE_STATUS_MALFORMED,
          "EXT is dangerous even though it then fails");
    CHECK(scan(p, "N.xx", 4, &l, &st) == BRINE_VERDICT_SUSPICIOUS, "trailing bytes are suspicious");
    brine_policy_destroy(p);
    brine_policy_destroy(NULL);
    const char *missing = "/nonexistent/policy.yaml";
    CHECK(brine_policy_compile(&p, &missing, 1, &d) == BRINE_ERR_IO && strstr(d.message, "nonexistent"),
          "missing file: %s", d.message);
}

static long vm_size_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmSize:", 7))
            kb = strtol(line + 7, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* A file read whole from 2 MiB goes into a buffer mapped on a 2 MiB boundary,
 * and a memo of 2 MiB or more likewise (huge pages): the trimmed ends must be
 * unmapped, or every scan of a file whose size is not a whole page leaves up
 * to 2 MiB of address space behind (a batch over many files runs out of it). */
static void test_address_space(void)
{
    size_t n = 700001; /* 700,001 memoized ints: a 2.7 MiB memo; the file 2.1 MB, an odd size */
    size_t len = 2 + 1 + 1 + 1 + 3 * n + 1 + 2 + 1;
    uint8_t *d = malloc(len), *q = d;
    if (!d)
        abort();
    *q++ = 0x80, *q++ = 4;       /* PROTO 4 */
    *q++ = ']', *q++ = 0x94;     /* EMPTY_LIST MEMOIZE */
    *q++ = '(';                  /* MARK */
    for (size_t i = 0; i < n; i++)
        *q++ = 'K', *q++ = (uint8_t)i, *q++ = 0x94; /* BININT1 MEMOIZE */
    *q++ = 'e';                  /* APPENDS */
    *q++ = 'N', *q++ = '0';      /* NONE POP */
    *q++ = '.';
    len = (size_t)(q - d);
    char path[] = "/tmp/brine-test-api-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, d, len) == (ssize_t)len, "cannot write %s", path);
    if (fd >= 0)
        close(fd);
    free(d);
    brine_policy *pol = NULL;
    brine_diag diag;
    brine_scanner *sc = NULL;
    brine_settings st;
    brine_settings_default(&st);
    CHECK(brine_policy_compile(&pol, NULL, 0, &diag) == 0 && brine_scanner_create(&sc, pol, &st) == 0,
          "policy or scanner");
    brine_stream_result res;
    bool ok = sc && brine_scanner_scan_file(sc, path, &res) == 0 && res.status == BRINE_STATUS_COMPLETE &&
              res.verdict == BRINE_VERDICT_SAFE;
    long before = vm_size_kib();
    for (int i = 0; i < 40 && ok; i++)
        ok = brine_scanner_scan_file(sc, path, &res) == 0 && res.status == BRINE_STATUS_COMPLETE;
    long grown = vm_size_kib() - before;
    CHECK(ok, "a %zu-byte file of 700,001 memoized ints: not safe and complete", len);
#ifndef __SANITIZE_ADDRESS__ /* AddressSanitizer's allocator reserves address space as it quarantines */
    CHECK(before > 0 && grown < 16 * 1024, "40 scans: address space grew by %ld KiB", grown);
#else
    (void)grown;
#endif
    brine_scanner_destroy(sc);
    brine_policy_destroy(pol);
    unlink(path);
}

typedef struct uses {
    int n, imports, calls;
    char last[64];
} uses;

static int on_use(void *user, const brine_location *where, const char *name, brine_use use)
{
    (void)where;
    uses *u = user;
    u->n++;
    u->imports += use == BRINE_USE_IMPORT;
    u->calls += use == BRINE_USE_CALL;
    snprintf(u->last, sizeof u->last, "%s", name);
    return 0;
}

/* brine_scanner_set_global_once: the global callback hears a name with a
 * use once per stream; by default, and when set back, every use */
static void test_global_once(void)
{
    brine_policy *pol = NULL;
    brine_scanner *sc = NULL;
    brine_diag diag;
    CHECK(brine_policy_compile(&pol, NULL, 0, &diag) == 0 && brine_scanner_create(&sc, pol, NULL) == 0,
          "scanner: %s", diag.message);
    if (!sc)
        return;
    /* [OrderedDict(), OrderedDict(), OrderedDict()]: one import, three calls (protocol 2, memoized global) */
    static const char three[] = "\x80\x02]q\x00(ccollections\nOrderedDict\nq\x01)Rq\x02h\x01)Rq\x03h\x01)Rq\x04" "e.";
    const brine_scan_callbacks cb = {NULL, NULL, on_use};
    for (int round = 0; round < 3; round++) {
        int once = round == 1;
        brine_scanner_set_global_once(sc, once);
        uses u = {0};
        brine_scanner_set_callbacks(sc, &cb, &u);
        brine_stream_result r;
        int rc = brine_scanner_scan_buffer(sc, (const uint8_t *)three, sizeof three - 1, "t", &r);
        CHECK(rc == 0 && r.verdict == BRINE_VERDICT_SAFE && r.status == BRINE_STATUS_COMPLETE, "round %d: %d", round,
              rc);
        CHECK(u.imports == 1 && u.calls == (once ? 1 : 3) && u.n == u.imports + u.calls &&
                  !strcmp(u.last, "collections:OrderedDict"),
              "round %d (once %d): %d imports, %d calls, %d in all, last %s", round, once, u.imports, u.calls, u.n,
              u.last);
    }
    brine_scanner_set_global_once(NULL, 1); /* NULL is fine */
    brine_scanner_destroy(sc);
    brine_policy_destroy(pol);
}

/* SETITEMS of 400,000 pairs of one key (after an OrderedDict call, so that
 * the full VM runs, not the kinds pass): the keys and values reserved for
 * them fit in 11 MB of max_bytes; a hash table made ahead for all the pairs
 * (4 MB more) did not, and the file went inconclusive */
static void test_repeated_keys(void)
{
    static const char head[] = "\x80\x02" "ccollections\nOrderedDict\n)R0" "}X\x01\x00\x00\x00k\x94" "0(";
    const size_t pairs = 400000, hl = sizeof head - 1;
    size_t len = hl + pairs * 4 + 2;
    uint8_t *d = malloc(len);
    brine_policy *pol = NULL;
    brine_diag diag;
    CHECK(d && brine_policy_compile(&pol, NULL, 0, &diag) == 0, "setup: %s", diag.message);
    if (!d || !pol) {
        free(d);
        return;
    }
    memcpy(d, head, hl);
    for (size_t i = 0; i < pairs; i++)
        memcpy(d + hl + 4 * i, "h\x00K\x00", 4); /* BINGET 0 ('k'), BININT1 0 */
    memcpy(d + hl + 4 * pairs, "u.", 2);
    brine_settings st;
    brine_settings_default(&st);
    st.max_bytes = 11000000;
    brine_stream_result r;
    int rc = brine_scan_buffer(pol, &st, d, len, "t", NULL, NULL, &r);
    CHECK(rc == 0 && r.verdict == BRINE_VERDICT_SAFE && r.status == BRINE_STATUS_COMPLETE,
          "400,000 pairs of one key in 11 MB: rc %d, verdict %d, status %d (%s)", rc, r.verdict, r.status,
          r.error ? r.error : "");
    /* the first key a list: CPython's TypeError at once, whatever the
     * limits (a table made ahead ended the stream on max_bytes first) */
    /* the first two pairs' eight bytes: EMPTY_LIST (the key) and BININT1 0 (its
     * value), then BININT1 0 and POP, NONE and POP (pushed and popped) */
    memcpy(d + hl, "]K\x00K\x00" "0N0", 8);
    st.max_bytes = 8000000;
    rc = brine_scan_buffer(pol, &st, d, len, "t", NULL, NULL, &r);
    CHECK(rc == 0 && r.status == BRINE_STATUS_MALFORMED,
          "an unhashable first key of 400,000 pairs: rc %d, status %d (%s)", rc, r.status, r.error ? r.error : "");
    brine_policy_destroy(pol);
    free(d);
}

int main(void)
{
    test_limits();
    test_events_api();
    test_policy_api();
    test_global_once();
    test_repeated_keys();
    test_address_space();
    printf("unit-api: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
