/* The scan room's internals that tests reach (test/unit/test_faults.c). */
#ifndef BRINE_JUDGE_H
#define BRINE_JUDGE_H

#include "brine.h"

/* Tests only: make allocation point N of the next scans fail (0: none);
 * *allocs receives how many points the last scan passed. */
void brine_scanner_fault(brine_scanner *s, uint64_t fail_at, uint64_t *allocs);
/* Tests: streams read through a window take their bytes this many at a time
 * (0: as many as fit), so that small files move the window too. */
void brine_scanner_window_grain(brine_scanner *s, size_t grain);

#endif
