/* Libraries opened on first need fail closed (analyzer/container/lazylib.c).
 * A child process is told that libarchive, zlib, libbz2, liblzma, libyaml and
 * libmagic live at a soname that does not exist, then scans every file of the
 * corpus; the parent scans them with the real libraries. Every file whose
 * result differs must not be `safe (complete)` in the child and must say which
 * library could not be loaded; the files that need a library (tar, 7z, gzip,
 * zstd, deflated zip members, ...) must be among them; a --policy file must be
 * an error naming libyaml. Run before anything is loaded in either process.
 * test_lazylib CORPUS_DIR */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lazylib.h"
#include "policy.h"

static int failures, checks;
static brine_scanner *sc;
static FILE *out;

typedef struct errs {
    char text[4096];
} errs;

static int on_stream(void *user, const brine_stream_result *r)
{
    errs *e = user;
    if (r->error && strstr(r->error, "could not be loaded") && strlen(e->text) + strlen(r->error) + 3 < sizeof e->text) {
        strcat(e->text, r->error);
        strcat(e->text, "; ");
    }
    return 0;
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type != FTW_F)
        return 0;
    errs e = {{0}};
    brine_scanner_set_callbacks(sc, &(brine_scan_callbacks){NULL, on_stream, NULL}, &e);
    brine_stream_result r;
    int rc = brine_scanner_scan_file(sc, path, &r);
    /* path \t rc verdict status \t load errors */
    fprintf(out, "%s\t%d %d %d\t%s\n", path, rc, rc >= 0 ? (int)r.verdict : -1, rc >= 0 ? (int)r.status : -1,
            e.text);
    return 0;
}

static void scan_all(const char *dir, const char *file)
{
    out = fopen(file, "w");
    brine_policy *p;
    if (!out || brine_policy_compile(&p, NULL, 0, NULL) != 0 || brine_scanner_create(&sc, p, NULL) != 0) {
        fprintf(stderr, "setup failed\n");
        exit(2);
    }
    nftw(dir, visit, 16, FTW_PHYS);
    brine_scanner_destroy(sc);
    fclose(out);
}

static void check(bool ok, const char *what, const char *path)
{
    checks++;
    if (!ok && failures++ < 30)
        fprintf(stderr, "FAIL: %s: %s\n", path, what);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_lazylib CORPUS_DIR\n");
        return 2;
    }
    char absent[64], present[64];
    snprintf(absent, sizeof absent, "/tmp/brine-lazylib-absent.%d", (int)getpid());
    snprintf(present, sizeof present, "/tmp/brine-lazylib-present.%d", (int)getpid());
    pid_t pid = fork();
    if (pid == 0) {
        static const char *const libs[] = {"libarchive", "libz", "libbz2", "liblzma", "libyaml", "libmagic"};
        for (size_t i = 0; i < 6; i++)
            brine_lazy_test_soname(libs[i], "libbrine-no-such-library.so.0");
        scan_all(argv[1], absent);
        /* a policy file needs libyaml: an error that says so, never a policy */
        brine_policy *p = NULL;
        brine_diag d;
        const char *f = "policy.yaml";
        FILE *pf = fopen("/tmp/brine-lazylib-policy.yaml", "w");
        if (pf) {
            fputs("pack: x\nextends: [bundle]\n", pf);
            fclose(pf);
            f = "/tmp/brine-lazylib-policy.yaml";
        }
        int r = brine_policy_compile(&p, &f, 1, &d);
        remove("/tmp/brine-lazylib-policy.yaml");
        FILE *o = fopen(absent, "a");
        fprintf(o, "POLICY\t%d %s\t%s\n", r, p ? "policy" : "none", d.message);
        fclose(o);
        _exit(0);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "the child failed\n");
        return 1;
    }
    scan_all(argv[1], present);
    FILE *a = fopen(absent, "r"), *b = fopen(present, "r");
    char la[8192], lb[8192];
    size_t files = 0, differ = 0;
    bool tar = false, gz = false, zst = false, deflated = false;
    while (a && b && fgets(la, sizeof la, a)) {
        if (!strncmp(la, "POLICY\t", 7)) {
            check(strstr(la, "none") && strstr(la, "libyaml could not be loaded") && !strstr(la, "\t0 "),
                  "a policy file compiles without libyaml", la);
            continue;
        }
        if (!fgets(lb, sizeof lb, b)) {
            check(false, "the two runs saw different files", la);
            break;
        }
        files++;
        char *ta = strchr(la, '\t'), *tb = strchr(lb, '\t');
        if (!ta || !tb)
            continue;
        *ta++ = 0;
        *tb++ = 0;
        check(strcmp(la, lb) == 0, "the two runs saw different files", la);
        char *ea = strchr(ta, '\t'), *eb = strchr(tb, '\t');
        if (!ea || !eb)
            continue;
        *ea++ = 0;
        *eb++ = 0;
        if (strcmp(ta, tb) == 0)
            continue;
        differ++;
        int rc, v, s;
        sscanf(ta, "%d %d %d", &rc, &v, &s);
        check(!(rc >= 0 && v == BRINE_VERDICT_SAFE && s == BRINE_STATUS_COMPLETE),
              "safe (complete) without a library it needs", la);
        check(strstr(ea, "could not be loaded") != NULL, "no stream says which library could not be loaded", la);
        if (strstr(ea, "libarchive") && strstr(la, ".tar"))
            tar = true;
        if (strstr(ea, "libz") && strstr(la, ".gz"))
            gz = true;
        if (strstr(ea, "libarchive") && strstr(la, ".zst"))
            zst = true;
        if (strstr(ea, "libz") && (strstr(la, ".pt") || strstr(la, ".npz") || strstr(la, ".zip") || strstr(la, ".pth")))
            deflated = true;
    }
    check(files > 100, "too few corpus files", argv[1]);
    check(tar, "no tar file needed libarchive", argv[1]);
    check(gz, "no gzip file needed zlib", argv[1]);
    check(zst, "no zstd file needed libarchive", argv[1]);
    check(deflated, "no zip file needed zlib", argv[1]);
    if (a)
        fclose(a);
    if (b)
        fclose(b);
    remove(absent);
    remove(present);
    printf("lazy libraries: %zu corpus files, %zu need a library: none of them safe (complete) without it\n", files,
           differ);
    printf("lazy-libs: %d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
