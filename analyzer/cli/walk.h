/* The inputs of `brine scan`: files, directories walked recursively, `-` for
 * stdin, --files-from lists. Content decides what a file is, never its name;
 * --include/--exclude only choose which files of a walked directory are looked at. */
#ifndef BRINE_CLI_WALK_H
#define BRINE_CLI_WALK_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

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
    /* A walk that feeds scanners while it runs: when mu is set, each item is
     * appended with mu held (items may move: read them with mu held), and
     * added(ctx, i) is called, still holding it, after item i is; if it
     * returns false (out of memory), the item is dropped and the walk stops
     * with oom set. */
    pthread_mutex_t *mu;
    bool (*added)(void *ctx, size_t i);
    void *ctx;
    /* a directory's files not yet appended: they go in together (one lock) */
    brine_item pend[64];
    size_t npend;
} brine_walk;

/* Add a command-line operand: a file, a directory (walked) or "-". */
void brine_walk_add(brine_walk *w, const char *path);
/* The same with the operand's stat() already made (st: its result, which
 * succeeded), so that it is not made twice. */
void brine_walk_add_stat(brine_walk *w, const char *path, const struct stat *st);
/* Add the paths listed in an open list, one per line or NUL-separated.
 * Returns 0 or an errno value (a read error). */
int brine_walk_files_from(brine_walk *w, FILE *list, bool nul);
void brine_walk_free(brine_walk *w);
#endif
