/* Fuzz target: dump rendering (brine_dump_json) on hostile pickle bytes; the
 * output is checked to be balanced and free of raw control bytes, since a
 * consumer parses it as JSON. */
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

void brine_fuzz_cleanup(void)
{
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
    return 0;
}
