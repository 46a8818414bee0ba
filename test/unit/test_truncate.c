/* A file truncated while brine scans it (issue 11): no SIGBUS, and the result
 * is inconclusive. The file (made by run_truncate.py) is a zip larger than
 * the read-into-memory limit, so it is mapped: a small pickle member, a large
 * stored member, a pickle member at the end. When the first member's result
 * arrives, the file is cut to 1 MiB; reading on touches pages past the end.
 * Usage: test_truncate FILE. Last line: `truncate: N passed, M failed`. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "brine.h"

static const char *path;
static int truncated;

static int on_stream(void *user, const brine_stream_result *r)
{
    (void)user;
    if (!truncated && strstr(r->location, "a.pkl")) {
        truncated = truncate(path, 1 << 20) == 0 ? 1 : -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    if (argc < 2) {
        printf("truncate: 0 passed, 1 failed\n");
        return 1;
    }
    path = argv[1];
    brine_policy *p = NULL;
    brine_scanner *s = NULL;
    if (brine_policy_compile(&p, NULL, 0, NULL) < 0 || brine_scanner_create(&s, p, NULL) < 0) {
        printf("truncate: 0 passed, 1 failed\n");
        return 1;
    }
    brine_scan_callbacks cb = {NULL, on_stream, NULL};
    brine_scanner_set_callbacks(s, &cb, NULL);
    brine_stream_result r;
    int rc = brine_scanner_scan_file(s, path, &r);
    if (truncated == 1)
        passed++;
    else {
        printf("FAIL the file was not truncated during the scan\n");
        failed++;
    }
    if (rc >= 0 && r.status == BRINE_STATUS_INCONCLUSIVE && r.error && strstr(r.error, "changed"))
        passed++;
    else {
        printf("FAIL result %s (%s) rc %d: %s\n", brine_verdict_name(r.verdict), brine_status_name(r.status), rc,
               r.error ? r.error : "");
        failed++;
    }
    brine_scanner_destroy(s);
    brine_policy_destroy(p);
    printf("truncate: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
