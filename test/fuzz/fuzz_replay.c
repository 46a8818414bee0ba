/* The replay driver shared by every fuzz target. Without a fuzzing engine
 * (the default build) each target links this main, which feeds every file
 * named on the command line (directories are walked) to
 * LLVMFuzzerTestOneInput, so every checked-in crash file under
 * test/fuzz/corpus/<target>/ is a regression test. With -Dfuzzing=true the
 * target links libFuzzer instead and this file is not built. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

static int replay(const char *path, int *n)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        perror(path);
        return 2;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d)
            return 2;
        struct dirent *e;
        int rc = 0;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rc |= replay(sub, n);
        }
        closedir(d);
        return rc;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 2;
    }
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
        return 2;
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    (*n)++;
    return 0;
}

int main(int argc, char **argv)
{
    int n = 0, rc = 0;
    const char *name = getenv("BRINE_FUZZ_NAME");
    for (int i = 1; i < argc; i++)
        rc |= replay(argv[i], &n);
    brine_fuzz_cleanup();
    /* reaching here without a sanitizer report or a crash is the pass */
    printf("%s: %d passed, %d failed\n", name ? name : "fuzz-replay", rc ? n - 1 : n, rc ? 1 : 0);
    return rc;
}
