/* Fuzz target: the renderings on hostile pickle bytes: dump (brine_dump_json),
 * whose output is checked to be balanced and free of raw control bytes, since
 * a consumer parses it as JSON; explain and (for inputs of odd length) disasm
 * through a scanner, whose text must hold no NUL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brine.h"
#include "fuzz_common.h"
#ifdef BRINE_LIBFUZZER
#include "pickle_mutator.h"
#endif

typedef struct {
    long depth; /* [ and { minus ] and } outside strings */
    int in_str, esc;
    size_t bytes;
} json_check;

static int check_write(void *u, const char *t, size_t n)
{
    json_check *c = u;
    c->bytes += n;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)t[i];
        if (c->in_str) {
            if (ch < 0x20)
                abort(); /* a raw control byte inside a JSON string */
            if (c->esc)
                c->esc = 0;
            else if (ch == '\\')
                c->esc = 1;
            else if (ch == '"')
                c->in_str = 0;
        } else if (ch == '"') {
            c->in_str = 1;
        } else if (ch == '[' || ch == '{') {
            c->depth++;
        } else if (ch == ']' || ch == '}') {
            if (--c->depth < 0)
                abort(); /* more closers than openers */
        }
    }
    return 0;
}

static brine_policy *policy;
static brine_scanner *scanner;

void brine_fuzz_cleanup(void)
{
    brine_scanner_destroy(scanner);
    brine_policy_destroy(policy);
    scanner = NULL;
    policy = NULL;
}

static int check_text(void *u, const char *t, size_t n)
{
    *(size_t *)u += n;
    if (memchr(t, 0, n))
        abort(); /* text output with a NUL in it */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    brine_settings s;
    brine_settings_default(&s);
    s.max_opcodes = 100000;
    s.max_bytes = 64u << 20;
    s.max_output = 200000;
    json_check c = {0};
    int r = brine_dump_json(data, len, &s, check_write, &c);
    /* a complete document is balanced; a refused one may stop anywhere */
    if (r == 0 && c.bytes && (c.depth != 0 || c.in_str))
        abort();
    if (!scanner && (brine_policy_compile(&policy, NULL, 0, NULL) != 0 || brine_scanner_create(&scanner, policy, &s) != 0))
        return 0;
    size_t n = 0;
    brine_stream_result out;
    brine_scanner_explain(scanner, data, len, "fuzz", check_text, &n, &out);
    if (len & 1)
        brine_scanner_disasm(scanner, data, len, "fuzz", check_text, &n, &out);
    return 0;
}
