/* Fail closed under allocation failure (issue 8): for each container of the
 * corpus, every allocation point on the driver's paths is made to fail in
 * turn, and the file must never come out safe and complete; once with the
 * defaults and once with max_buffered 0 (every decompressed stream read
 * through a window, whose allocations are then on the path). Links the
 * library's internal objects for the test hook. Usage: test_faults ROOT.
 * Last line: `faults: N passed, M failed`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brine.h"
#include "judge.h"

static const char *const FILES[] = {
    "corpus/benign/torch/state_dict_zip.pt",          "corpus/benign/torch/state_dict_legacy.pt",
    "corpus/benign/joblib/arrays_gzip.joblib",        "corpus/benign/joblib/arrays_plain.joblib",
    "corpus/benign/numpy/savez_compressed.npz",       "corpus/benign/numpy/object.npy",
    "corpus/malicious/containers/D-archive.tar.gz",   "corpus/malicious/containers/D-nested-three-deep.pkl",
    "corpus/malicious/containers/D-pickle-with-zip-appended.pt", "corpus/malicious/containers/D-zip-hidden-local-member.zip",
    "corpus/malicious/containers/D-torch-legacy-tar.tar", "corpus/malicious/containers/D-pickle.xz",
    "corpus/driver/nested-two-deep-no-proto.pkl",
};

static int passed, failed;

static void run_files(const char *root, const brine_policy *p, const brine_settings *set)
{
    brine_scanner *s = NULL;
    if (brine_scanner_create(&s, p, set) < 0) {
        printf("FAIL: cannot create a scanner\n");
        failed++;
        return;
    }
    for (size_t f = 0; f < sizeof FILES / sizeof FILES[0]; f++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", root, FILES[f]);
        brine_stream_result clean, r;
        brine_scanner_fault(s, 0, NULL);
        if (brine_scanner_scan_file(s, path, &clean) < 0) {
            printf("FAIL %s: cannot scan\n", FILES[f]);
            failed++;
            continue;
        }
        uint64_t points = 0;
        brine_scanner_fault(s, 0, &points);
        if (points == 0) {
            printf("FAIL %s: no allocation point on its path\n", FILES[f]);
            failed++;
        }
        for (uint64_t i = 1; i <= points; i++) {
            brine_scanner_fault(s, i, NULL);
            int rc = brine_scanner_scan_file(s, path, &r);
            /* inconclusive, never safe+complete; a verdict already reached stays */
            if (r.status != BRINE_STATUS_INCONCLUSIVE || (rc != BRINE_ERR_NOMEM && rc != 0) || r.verdict > clean.verdict) {
                printf("FAIL %s (max_buffered %llu): allocation %llu of %llu failed, result %s (%s), rc %d\n",
                       FILES[f], (unsigned long long)set->max_buffered, (unsigned long long)i,
                       (unsigned long long)points, brine_verdict_name(r.verdict), brine_status_name(r.status), rc);
                failed++;
            } else {
                passed++;
            }
        }
    }
    brine_scanner_destroy(s);
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : ".";
    brine_policy *p = NULL;
    if (brine_policy_compile(&p, NULL, 0, NULL) < 0) {
        printf("faults: 0 passed, 1 failed\n");
        return 1;
    }
    brine_settings set;
    brine_settings_default(&set);
    run_files(root, p, &set);
    set.max_buffered = 0;
    run_files(root, p, &set);
    brine_policy_destroy(p);
    printf("faults: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
