#ifndef BRINE_CLI_INPUT_H
#define BRINE_CLI_INPUT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct brine_input {
    const uint8_t *data;
    size_t len;
    bool mapped;
} brine_input;

/* Open a file ("-" is stdin). Returns 0 or an errno value. */
int brine_input_open(const char *path, brine_input *in, uint64_t max_stream);
void brine_input_close(brine_input *in);
#endif
