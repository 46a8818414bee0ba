/* The inputs of `brine scan`: files, directories walked recursively, `-` for
 * stdin, --files-from lists. Content decides what a file is, never its name;
 * --include/--exclude only choose which files of a walked directory are looked at. */
#ifndef BRINE_CLI_WALK_H
#define BRINE_CLI_WALK_H
#include <stdbool.h>
#include <stddef.h>

typedef struct brine_item {
    char *path;
    int err;    /* known before reading (a directory that cannot be opened, a loop): errno */
    bool stdin_; /* "-" */
} brine_item;

typedef struct brine_walk {
    brine_item *items;
    size_t n, cap;
    const char **include, **exclude;
    size_t ninclude, nexclude;
    bool follow_symlinks;
    size_t skipped_symlinks; /* symlinks met in a walk and not followed */
    size_t skipped_filtered; /* files a glob left out */
    bool stdin_used;
    bool oom;
} brine_walk;

/* Add a command-line operand: a file, a directory (walked) or "-". */
void brine_walk_add(brine_walk *w, const char *path);
/* Add the paths listed in a file ("-": stdin), one per line or NUL-separated.
 * Returns 0 or an errno value. */
int brine_walk_files_from(brine_walk *w, const char *list, bool nul);
void brine_walk_free(brine_walk *w);
#endif
