/* Shared by the fuzz targets and their replay driver. */
#ifndef BRINE_FUZZ_COMMON_H
#define BRINE_FUZZ_COMMON_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
/* Free what a target keeps between inputs (a compiled policy); the replay
 * driver calls it once at the end so LeakSanitizer stays quiet. */
void brine_fuzz_cleanup(void);
#endif
