/* Fuzz target: the symbolic VM alone (events and the disassembler) on hostile
 * pickle bytes. With libFuzzer (-Dfuzzing=true, clang) it fuzzes; otherwise
 * fuzz_replay.c replays test/fuzz/corpus/vm and corpus/. */
#include <stdio.h>

#include "brine.h"
#include "fuzz_common.h"
#ifdef BRINE_LIBFUZZER
#include "pickle_mutator.h"
#endif

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

void brine_fuzz_cleanup(void)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    brine_settings s;
    brine_settings_default(&s);
    s.max_opcodes = 100000; /* keep each run short */
    s.max_bytes = 64u << 20;
    brine_events(data, len, &s, null_event, NULL, NULL);
    brine_disasm(data, len, &s, null_write, NULL);
    return 0;
}
