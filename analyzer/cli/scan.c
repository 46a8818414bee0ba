/* brine policy / learn (brine scan is batch.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brine.h"
#include "cli.h"
#include "input.h"

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
