/* One compiled policy, eight threads: every thread scans every file of the
 * corpus (each starting at a different file) with brine_scan_buffer and
 * must get exactly the verdicts of a single-threaded run. The compiled
 * policy is promised immutable and shareable; under ThreadSanitizer
 * (meson setup build-tsan -Db_sanitize=thread) this also checks that nothing
 * in the library writes shared state. With STRIDE, only every STRIDE-th file
 * (in sorted order) is scanned: the TSan build, ten times slower, uses 8.
 *
 *   test_threads CORPUS_DIR [THREADS [STRIDE]] */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "brine.h"

typedef struct {
    char *path;
    uint8_t *data;
    size_t len;
    brine_verdict verdict;
    brine_status status;
    uint64_t findings, streams;
} file;

static file *files;
static size_t nfiles, capfiles;
static brine_policy *policy;
static size_t stride = 1, seen;

static void add_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    size_t cap = 1 << 16, len = 0, r;
    uint8_t *buf = malloc(cap);
    while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (!buf)
        return;
    if (nfiles == capfiles) {
        capfiles = capfiles ? capfiles * 2 : 256;
        files = realloc(files, capfiles * sizeof *files);
        if (!files)
            exit(2);
    }
    files[nfiles++] = (file){.path = strdup(path), .data = buf, .len = len};
}

static void walk(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        if (seen++ % stride == 0)
            add_file(path);
        return;
    }
    struct dirent **es;
    int n = scandir(path, &es, NULL, alphasort);
    if (n < 0)
        return;
    for (int i = 0; i < n; i++) {
        if (es[i]->d_name[0] != '.') {
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, es[i]->d_name);
            walk(sub);
        }
        free(es[i]);
    }
    free(es);
}

typedef struct {
    uint64_t findings;
} counter;

static int on_finding(void *u, const brine_finding *f)
{
    (void)f;
    ((counter *)u)->findings++;
    return 0;
}

static int scan_one(const file *f, brine_stream_result *out, uint64_t *findings)
{
    counter c = {0};
    brine_scan_callbacks cb = {.finding = on_finding};
    int r = brine_scan_buffer(policy, NULL, f->data, f->len, f->path, &cb, &c, out);
    *findings = c.findings;
    return r;
}

typedef struct {
    size_t first;
    size_t mismatches;
} worker;

static void *run(void *arg)
{
    worker *w = arg;
    for (size_t k = 0; k < nfiles; k++) {
        const file *f = &files[(w->first + k) % nfiles];
        brine_stream_result out;
        uint64_t findings;
        memset(&out, 0, sizeof out);
        scan_one(f, &out, &findings);
        if (out.verdict != f->verdict || out.status != f->status || findings != f->findings ||
            out.streams != f->streams) {
            fprintf(stderr, "thread %zu: %s: %s/%s %llu findings, single-threaded %s/%s %llu\n", w->first, f->path,
                    brine_verdict_name(out.verdict), brine_status_name(out.status), (unsigned long long)findings,
                    brine_verdict_name(f->verdict), brine_status_name(f->status), (unsigned long long)f->findings);
            w->mismatches++;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_threads CORPUS_DIR [THREADS]\n");
        return 2;
    }
    size_t nthreads = argc > 2 ? (size_t)atoi(argv[2]) : 8;
    if (nthreads < 1 || nthreads > 64)
        nthreads = 8;
    if (argc > 3 && atoi(argv[3]) > 0)
        stride = (size_t)atoi(argv[3]);
    walk(argv[1]);
    if (!nfiles || brine_policy_compile(&policy, NULL, 0, NULL) != 0) {
        fprintf(stderr, "no files, or the default policy does not compile\n");
        return 2;
    }
    for (size_t i = 0; i < nfiles; i++) {
        brine_stream_result out;
        memset(&out, 0, sizeof out);
        scan_one(&files[i], &out, &files[i].findings);
        files[i].verdict = out.verdict;
        files[i].status = out.status;
        files[i].streams = out.streams;
    }
    pthread_t th[64];
    worker w[64];
    for (size_t t = 0; t < nthreads; t++) {
        w[t] = (worker){.first = t * nfiles / nthreads};
        if (pthread_create(&th[t], NULL, run, &w[t]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 2;
        }
    }
    size_t bad = 0;
    for (size_t t = 0; t < nthreads; t++) {
        pthread_join(th[t], NULL);
        bad += w[t].mismatches;
    }
    brine_policy_destroy(policy);
    for (size_t i = 0; i < nfiles; i++) {
        free(files[i].path);
        free(files[i].data);
    }
    free(files);
    /* the count line is last and bare: test/run_all.py adds it up */
    printf("%zu threads x %zu files\nthreads: %zu passed, %zu failed\n", nthreads, nfiles, bad ? 0 : (size_t)1, bad);
    return bad ? 1 : 0;
}
