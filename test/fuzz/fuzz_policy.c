/* Fuzz target: the policy compiler on hostile YAML text. The compiler reads
 * files, so each input is written to an anonymous memory file and compiled
 * through its /proc/self/fd path (a relative `extends:` then resolves under
 * /proc/self/fd/, which only names this process's own descriptors). A policy
 * that compiles is also written back out (`policy show`) and used once. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "brine.h"
#include "fuzz_common.h"

static int null_write(void *u, const char *t, size_t n)
{
    (void)u;
    (void)t;
    (void)n;
    return 0;
}

void brine_fuzz_cleanup(void) {}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
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
    brine_policy *p = NULL;
    brine_diag diag;
    if (brine_policy_compile(&p, files, 1, &diag) == 0) {
        brine_policy_write(p, null_write, NULL);
        /* a tiny pickle that imports, calls and builds: exercises matching */
        static const uint8_t pk[] = "\x80\x02" "cbuiltins\nset\n)R}b(cbuiltins\ngetattr\no.";
        brine_scan_buffer(p, NULL, pk, sizeof pk - 1, "fuzz", NULL, NULL, NULL);
        brine_policy_destroy(p);
    } else {
        diag.message[sizeof diag.message - 1] = 0;
        if (strlen(diag.message) >= sizeof diag.message)
            abort();
    }
    close(fd);
    return 0;
}
