#ifndef BRINE_CLI_H
#define BRINE_CLI_H
#include <stddef.h>
#include "brine.h"

int brine_cli_write_stdout(void *user, const char *text, size_t len);
int brine_cli_limit_option(int argc, char **argv, int i, brine_settings *s);
int brine_cli_scan(int argc, char **argv);
int brine_cli_policy(int argc, char **argv);
int brine_cli_learn(int argc, char **argv);
#endif
