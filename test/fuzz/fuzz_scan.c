/* Fuzz target: whole-file scanning through the public brine_scan_buffer,
 * which runs the sniffer and every container reader (zip, torch, npy, joblib,
 * compression, archives) and the VM on each stream found. */
#include <stdio.h>
#include <string.h>

#include "brine.h"
#include "fuzz_common.h"
#ifdef BRINE_LIBFUZZER
/* zip-aware mutations for the containers (BRINE_ZIPMUT=0: libFuzzer's alone) */
#include "zip_mutator.h"
#endif

static brine_policy *policy;

static int on_finding(void *u, const brine_finding *f)
{
    (void)u;
    /* touch every string the callback is promised */
    return f->message && strlen(f->message) == (size_t)-1;
}

static int on_stream(void *u, const brine_stream_result *r)
{
    (void)u;
    return r->location && strlen(r->location) == (size_t)-1;
}

void brine_fuzz_cleanup(void)
{
    brine_policy_destroy(policy);
    policy = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (!policy && brine_policy_compile(&policy, NULL, 0, NULL) != 0)
        return 0;
    brine_settings s;
    brine_settings_default(&s);
    s.max_opcodes = 100000;
    s.max_bytes = 64u << 20;
    s.max_decompressed = 64u << 20;
    /* half of the inputs read every decompressed stream through a window */
    if (len & 1)
        s.max_buffered = 0;
    brine_scan_callbacks cb = {.finding = on_finding, .stream = on_stream};
    brine_stream_result out;
    brine_scan_buffer(policy, &s, data, len, "fuzz", &cb, NULL, &out);
    return 0;
}
