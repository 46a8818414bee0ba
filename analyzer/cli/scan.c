/* brine scan / policy / learn. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brine.h"
#include "cli.h"
#include "input.h"

typedef struct {
    bool quiet;
    uint64_t shown;
} text_report;

static int on_finding(void *user, const brine_finding *f)
{
    text_report *r = user;
    r->shown++;
    if (r->quiet)
        return 0;
    printf("  %-10s %-8s %s@0x%llx %s %s: %s\n", brine_verdict_name(f->verdict), brine_severity_name(f->severity),
           f->location, (unsigned long long)f->offset, f->opcode, f->kind, f->message);
    if (f->call[0])
        printf("             in: %s\n", f->call);
    printf("             rule: %s\n", f->rule);
    return 0;
}

static int on_stream(void *user, const brine_stream_result *s)
{
    text_report *r = user;
    if (r->quiet && s->status == BRINE_STATUS_COMPLETE && s->verdict == BRINE_VERDICT_SAFE)
        return 0;
    printf("  stream %s [%s]: %s (%s)", s->location, s->format, brine_verdict_name(s->verdict),
           brine_status_name(s->status));
    if (s->error)
        printf(" at 0x%llx: %s", (unsigned long long)s->error_offset, s->error);
    printf("\n");
    return 0;
}

static void print_file(const brine_stream_result *s)
{
    printf("%s: %s (%s)", s->location, brine_verdict_name(s->verdict), brine_status_name(s->status));
    if (s->error)
        printf(" at 0x%llx: %s", (unsigned long long)s->error_offset, s->error);
    printf("\n");
}

/* Collect repeated --policy FILE options; returns argv entries consumed. */
static int policy_option(int argc, char **argv, int i, const char ***files, size_t *n)
{
    if (strcmp(argv[i], "--policy") != 0)
        return 0;
    if (i + 1 >= argc) {
        fprintf(stderr, "brine: --policy needs a file\n");
        return -1;
    }
    const char **nf = realloc(*files, (*n + 1) * sizeof *nf);
    if (!nf)
        return -1;
    nf[(*n)++] = argv[i + 1];
    *files = nf;
    return 2;
}

static brine_policy *compile_or_report(const char **files, size_t n)
{
    brine_policy *p = NULL;
    brine_diag diag;
    int r = brine_policy_compile(&p, files, n, &diag);
    if (r < 0) {
        fprintf(stderr, "brine: %s\n", diag.message[0] ? diag.message : brine_strerror(r));
        return NULL;
    }
    return p;
}

int brine_cli_scan(int argc, char **argv)
{
    brine_settings s;
    brine_settings_default(&s);
    const char **pfiles = NULL;
    size_t npf = 0;
    char **files = calloc((size_t)argc + 1, sizeof *files);
    int nfiles = 0, rc = 0;
    text_report rep = {0};
    if (!files)
        return 2;
    for (int i = 0; i < argc; i++) {
        int used = brine_cli_limit_option(argc, argv, i, &s);
        if (!used)
            used = policy_option(argc, argv, i, &pfiles, &npf);
        if (used < 0) {
            rc = 2;
            goto out;
        }
        if (used) {
            i += used - 1;
            continue;
        }
        if (strcmp(argv[i], "--") == 0) {
            for (i++; i < argc; i++)
                files[nfiles++] = argv[i];
            break;
        }
        if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            rep.quiet = true;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "brine: scan: unknown option '%s'\n", argv[i]);
            rc = 2;
            goto out;
        }
        files[nfiles++] = argv[i];
    }
    if (!nfiles) {
        fprintf(stderr, "usage: brine scan [--policy FILE]... [--quiet] [limits] FILE...\n");
        rc = 2;
        goto out;
    }
    brine_policy *p = compile_or_report(pfiles, npf);
    if (!p) {
        rc = 2;
        goto out;
    }
    bool unsafe = false, incomplete = false, ioerr = false;
    brine_scan_callbacks cb = {on_finding, on_stream, NULL};
    brine_scanner *sc = NULL;
    if (brine_scanner_create(&sc, p, &s) < 0) {
        brine_policy_destroy(p);
        rc = 2;
        goto out;
    }
    brine_scanner_set_callbacks(sc, &cb, &rep);
    for (int i = 0; i < nfiles; i++) {
        brine_stream_result res;
        errno = 0;
        int r = strcmp(files[i], "-") == 0 ? brine_scanner_scan_fd(sc, 0, "-", &res)
                                           : brine_scanner_scan_file(sc, files[i], &res);
        if (r == BRINE_ERR_IO || r == BRINE_ERR_INVALID) {
            fprintf(stderr, "brine: %s: %s\n", files[i], errno ? strerror(errno) : brine_strerror(r));
            ioerr = true;
            continue;
        }
        if (r < 0 && r != BRINE_ERR_NOMEM) {
            fprintf(stderr, "brine: %s: %s\n", files[i], brine_strerror(r));
            ioerr = true;
            continue;
        }
        print_file(&res);
        unsafe |= res.verdict != BRINE_VERDICT_SAFE;
        incomplete |= res.status != BRINE_STATUS_COMPLETE;
    }
    brine_scanner_destroy(sc);
    brine_policy_destroy(p);
    fflush(stdout);
    /* 1 unsafe wins over 2 (an I/O error on another file) so that a gate never
     * reads "error" as "nothing found"; both are non-zero */
    rc = unsafe ? 1 : ioerr ? 2 : incomplete ? 3 : 0;
out:
    free(files);
    free(pfiles);
    return rc;
}

int brine_cli_policy(int argc, char **argv)
{
    if (argc < 1 || (strcmp(argv[0], "check") != 0 && strcmp(argv[0], "show") != 0)) {
        fprintf(stderr, "usage: brine policy check FILE...\n       brine policy show [--policy FILE]...\n");
        return 2;
    }
    if (strcmp(argv[0], "check") == 0) {
        if (argc < 2) {
            fprintf(stderr, "usage: brine policy check FILE...\n");
            return 2;
        }
        int rc = 0;
        for (int i = 1; i < argc; i++) {
            const char *f = argv[i];
            brine_policy *p = compile_or_report(&f, 1);
            if (!p) {
                rc = 2;
                continue;
            }
            printf("%s: ok\n", f);
            brine_policy_destroy(p);
        }
        return rc;
    }
    const char **pfiles = NULL;
    size_t npf = 0;
    for (int i = 1; i < argc; i++) {
        int used = policy_option(argc, argv, i, &pfiles, &npf);
        if (used <= 0) {
            if (used == 0)
                fprintf(stderr, "brine: policy show: unknown argument '%s'\n", argv[i]);
            free(pfiles);
            return 2;
        }
        i += used - 1;
    }
    brine_policy *p = compile_or_report(pfiles, npf);
    free(pfiles);
    if (!p)
        return 2;
    int r = brine_policy_write(p, brine_cli_write_stdout, NULL);
    brine_policy_destroy(p);
    return r < 0 ? 2 : 0;
}

int brine_cli_learn(int argc, char **argv)
{
    brine_settings s;
    brine_settings_default(&s);
    int nfiles = 0, rc = 0;
    brine_policy *knowledge = compile_or_report(NULL, 0);
    brine_learner *l = NULL;
    if (!knowledge || brine_learner_create(&l, knowledge) < 0) {
        brine_policy_destroy(knowledge);
        return 2;
    }
    for (int i = 0; i < argc; i++) {
        int used = brine_cli_limit_option(argc, argv, i, &s);
        if (used < 0) {
            rc = 2;
            goto out;
        }
        if (used) {
            i += used - 1;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "brine: learn: unknown option '%s'\n", argv[i]);
            rc = 2;
            goto out;
        }
        brine_input in;
        int e = brine_input_open(argv[i], &in, s.max_input_bytes);
        if (e) {
            fprintf(stderr, "brine: %s: %s\n", argv[i], strerror(e));
            rc = 2;
            goto out;
        }
        brine_stream_result res;
        int lr = brine_learner_add_file(l, &s, in.data, in.len, argv[i], &res);
        if (lr < 0 || res.status != BRINE_STATUS_COMPLETE) {
            fprintf(stderr, "brine: learn: %s: %s: what it uses is learned only in part\n", argv[i],
                    lr < 0 ? brine_strerror(lr) : res.error ? res.error : brine_status_name(res.status));
            rc = 3;
        }
        brine_input_close(&in);
        nfiles++;
    }
    if (!nfiles) {
        fprintf(stderr, "usage: brine learn [limits] FILE... > policy.yaml\n");
        rc = 2;
        goto out;
    }
    size_t refused = 0;
    brine_learner_write(l, brine_cli_write_stdout, NULL, &refused);
    if (refused) {
        fprintf(stderr, "brine: learn: %zu use(s) refused as dangerous; listed at the end of the policy\n", refused);
        rc = 1;
    }
out:
    brine_learner_destroy(l);
    brine_policy_destroy(knowledge);
    return rc;
}
