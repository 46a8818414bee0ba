/* Fuzz target: the policy compiler on hostile YAML text, mostly through the
 * internal compile-from-buffer entry; one input in eight is written to an
 * anonymous memory file and compiled through its /proc/self/fd path with the
 * public brine_policy_compile (a relative `extends:` then resolves under
 * /proc/self/fd/). A policy that compiles is also written back out (`policy
 * show`) and used once. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "brine.h"
#include "fuzz_common.h"
#include "policy.h"

static int null_write(void *u, const char *t, size_t n)
{
    (void)u;
    (void)t;
    (void)n;
    return 0;
}

void brine_fuzz_cleanup(void)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    brine_policy *p = NULL;
    brine_diag diag;
    int r;
    if (len % 8 == 7) {
        /* one input in eight goes the public way: a file (an anonymous memory
         * file), compiled over the known-dangerous pack */
        int fd = memfd_create("fuzz-policy.yaml", MFD_CLOEXEC);
        if (fd < 0)
            return 0;
        size_t off = 0;
        while (off < len) {
            ssize_t w = write(fd, data + off, len - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        const char *files[1] = {path};
        r = brine_policy_compile(&p, files, 1, &diag);
        close(fd);
    } else {
        /* the rest in memory without the dangerous pack: parsing that pack
         * would take most of each run */
        r = brine_policy_compile_text(&p, (const char *)data, len, "fuzz.yaml", false, &diag);
    }
    if (r == 0) {
        brine_policy_write(p, null_write, NULL);
        /* a tiny pickle that imports, calls and builds: exercises matching */
        static const uint8_t pk[] = "\x80\x02"
                                    "cbuiltins\nset\n)R}b(cbuiltins\ngetattr\no.";
        brine_scan_buffer(p, NULL, pk, sizeof pk - 1, "fuzz", NULL, NULL, NULL);
        brine_policy_destroy(p);
    } else if (r == BRINE_ERR_POLICY && memchr(diag.message, 0, sizeof diag.message) == NULL) {
        abort(); /* the diagnostic must be a terminated string */
    }
    return 0;
}
