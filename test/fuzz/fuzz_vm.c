/* Fuzz target: every entry point that takes hostile bytes. With libFuzzer
 * (-Dfuzzing=true, clang) it fuzzes; without, the main below replays files, so
 * every checked-in crash file under test/fuzz/corpus is a regression test. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "brine.h"

static int null_write(void *u, const char *t, size_t n)
{
    (void)u;
    (void)t;
    (void)n;
    return 0;
}

static int null_event(void *u, const brine_event *e)
{
    (void)u;
    return e->detail == NULL; /* touch the detail: it must be valid */
}

static brine_policy *policy;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    brine_settings s;
    brine_settings_default(&s);
    s.max_opcodes = 100000; /* keep each run short */
    s.max_bytes = 64u << 20;
    brine_dump_json(data, len, &s, null_write, NULL);
    brine_events(data, len, &s, null_event, NULL, NULL);
    brine_disasm(data, len, &s, null_write, NULL);
    if (!policy)
        brine_policy_compile(&policy, NULL, 0, NULL);
    if (policy)
        brine_scan_buffer(policy, &s, data, len, "fuzz", NULL, NULL, NULL);
    return 0;
}

#ifndef BRINE_LIBFUZZER
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
    for (int i = 1; i < argc; i++)
        rc |= replay(argv[i], &n);
    brine_policy_destroy(policy);
    /* reaching here without a sanitizer report or a crash is the pass */
    printf("fuzz-replay: %d passed, %d failed\n", rc ? n - 1 : n, rc ? 1 : 0);
    return rc;
}
#endif
