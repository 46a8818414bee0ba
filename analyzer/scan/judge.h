/* The consumers of pickle streams (internal): what each command does with a
 * stream the driver found. */
#ifndef BRINE_JUDGE_H
#define BRINE_JUDGE_H

#include "driver.h"

/* scan: judge every event against d->policy */
extern const brine_consumer brine_judge_consumer;

/* learn: accumulate what each stream uses (policy/learn.c) */
brine_consumer brine_learn_consumer(brine_learner *l);
/* learner bookkeeping: one more file added */
void brine_learner_count_file(brine_learner *l);
const brine_policy *brine_learner_knowledge(const brine_learner *l);

/* Tests only: make allocation point N of the next scans fail (0: none);
 * *allocs receives how many points the last scan passed. */
void brine_scanner_fault(brine_scanner *s, uint64_t fail_at, uint64_t *allocs);

/* The driver over one file with any consumer (scanner.c), for consumers
 * that live in their own file (explain.c). */
int brine_scanner_drive(brine_scanner *s, const brine_consumer *k, const uint8_t *data, size_t len, const char *name,
                        brine_stream_result *out);

#endif
