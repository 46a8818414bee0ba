/* Placeholder until the policy engine lands (issue 3). */
#include <stdio.h>
#include "cli.h"
int brine_cli_scan(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "brine: scan: not built yet\n"); return 2; }
int brine_cli_policy(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "brine: policy: not built yet\n"); return 2; }
int brine_cli_learn(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "brine: learn: not built yet\n"); return 2; }
