/* Collecting the inputs of `brine scan` (see walk.h). A directory is walked in
 * sorted order, so the order of results never depends on the file system;
 * symlinks inside a walk are not followed unless asked, and a followed one
 * that leads back to a directory being walked is reported as a loop. */
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Append an item whose path the walk owns from here (freed by brine_walk_free). */
static void add_owned(brine_walk *w, char *path, int err, bool is_stdin)
{
    if (w->mu)
        pthread_mutex_lock(w->mu);
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 64;
        brine_item *p = realloc(w->items, nc * sizeof *p);
        if (!p) {
            w->oom = true;
            free(path);
            goto out;
        }
        w->items = p;
        w->cap = nc;
    }
    w->items[w->n++] = (brine_item){path, err, is_stdin};
    if (w->added && !w->added(w->ctx, w->n - 1)) {
        w->n--;
        w->oom = true;
        free(path);
    }
out:
    if (w->mu)
        pthread_mutex_unlock(w->mu);
}

static void add_item(brine_walk *w, const char *path, int err, bool is_stdin)
{
    char *c = strdup(path);
    if (!c) {
        w->oom = true;
        return;
    }
    add_owned(w, c, err, is_stdin);
}

/* Does a glob select this file? A glob with a '/' is matched against the
 * path below the walked directory, one without against the file's name. */
static bool glob_match(const char *glob, const char *rel, const char *base)
{
    return fnmatch(glob, strchr(glob, '/') ? rel : base, 0) == 0;
}

static bool selected(const brine_walk *w, const char *rel, const char *base)
{
    for (size_t i = 0; i < w->nexclude; i++)
        if (glob_match(w->exclude[i], rel, base))
            return false;
    if (!w->ninclude)
        return true;
    for (size_t i = 0; i < w->ninclude; i++)
        if (glob_match(w->include[i], rel, base))
            return true;
    return false;
}

typedef struct ancestor {
    const struct ancestor *up;
    dev_t dev;
    ino_t ino;
} ancestor;

/* names[i][0] is the entry's d_type, the name follows */
static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a + 1, *(char *const *)b + 1);
}

/* A directory's entries, sorted: each is its d_type byte then its name, all in
 * one buffer (one allocation per directory, not per name). Returns the count;
 * *names and *buf are the caller's to free. */
static size_t list_dir(brine_walk *w, DIR *d, char ***names, char **buf)
{
    size_t n = 0, len = 0, cap = 0;
    size_t *off = NULL, offcap = 0;
    char *b = NULL;
    struct dirent *e;
    *names = NULL;
    *buf = NULL;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        size_t nl = strlen(e->d_name) + 2;
        if (len + nl > cap) {
            size_t nc = cap ? cap * 2 : 4096;
            while (nc < len + nl)
                nc *= 2;
            char *p = realloc(b, nc);
            if (!p)
                goto oom;
            b = p;
            cap = nc;
        }
        if (n == offcap) {
            size_t nc = offcap ? offcap * 2 : 64;
            size_t *p = realloc(off, nc * sizeof *p);
            if (!p)
                goto oom;
            off = p;
            offcap = nc;
        }
        off[n++] = len;
        b[len] = (char)e->d_type;
        memcpy(b + len + 1, e->d_name, nl - 1);
        len += nl;
    }
    char **v = n ? malloc(n * sizeof *v) : NULL;
    if (n && !v)
        goto oom;
    for (size_t i = 0; i < n; i++)
        v[i] = b + off[i];
    free(off);
    qsort(v, n, sizeof *v, cmp_names);
    *names = v;
    *buf = b;
    return n;
oom:
    w->oom = true;
    free(off);
    free(b);
    return 0;
}

static void walk_dir(brine_walk *w, const char *dir, size_t rootlen, const ancestor *up)
{
    DIR *d = opendir(dir);
    if (!d) {
        add_item(w, dir, errno, false);
        return;
    }
    char **names, *buf;
    size_t n = list_dir(w, d, &names, &buf);
    closedir(d);
    size_t dl = strlen(dir);
    bool slash = dl && dir[dl - 1] == '/';
    for (size_t i = 0; i < n && !w->oom; i++) {
        unsigned char type = (unsigned char)names[i][0];
        const char *name = names[i] + 1;
        size_t nl = strlen(name), pl = dl + !slash + nl;
        char *p = malloc(pl + 1);
        if (!p) {
            w->oom = true;
            break;
        }
        memcpy(p, dir, dl);
        if (!slash)
            p[dl] = '/';
        memcpy(p + dl + !slash, name, nl + 1);
        const char *rel = p + (rootlen < pl ? rootlen : 0);
        while (*rel == '/')
            rel++;
        struct stat st = {0};
        if (type == DT_REG) /* the directory says what it is: no lstat (the file is opened later anyway) */
            st.st_mode = S_IFREG;
        else if (lstat(p, &st) < 0) {
            add_owned(w, p, errno, false);
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            if (!w->follow_symlinks) {
                w->skipped_symlinks++;
                free(p);
                continue;
            }
            if (stat(p, &st) < 0) { /* a dangling link, or a loop of links */
                if (selected(w, rel, name))
                    add_owned(w, p, errno, false);
                else
                    free(p);
                continue;
            }
        }
        if (S_ISDIR(st.st_mode)) {
            bool loop = false;
            for (const ancestor *a = up; a; a = a->up)
                loop |= a->dev == st.st_dev && a->ino == st.st_ino;
            bool excluded = false;
            for (size_t k = 0; k < w->nexclude; k++)
                excluded |= glob_match(w->exclude[k], rel, name);
            if (excluded) {
                free(p);
            } else if (loop) {
                add_owned(w, p, ELOOP, false);
            } else {
                ancestor me = {up, st.st_dev, st.st_ino};
                walk_dir(w, p, rootlen, &me);
                free(p);
            }
        } else if (selected(w, rel, name)) {
            add_owned(w, p, 0, false); /* the path built here is the item's: no copy */
        } else {
            w->skipped_filtered++;
            free(p);
        }
    }
    free(names);
    free(buf);
}

void brine_walk_add(brine_walk *w, const char *path)
{
    if (!strcmp(path, "-")) {
        add_item(w, "-", 0, true);
        w->stdin_used = true;
        return;
    }
    struct stat st;
    /* an operand is followed if it is a symlink: the user named it */
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        ancestor top = {NULL, st.st_dev, st.st_ino};
        walk_dir(w, path, strlen(path), &top);
        return;
    }
    add_item(w, path, 0, false);
}

int brine_walk_files_from(brine_walk *w, FILE *f, bool nul)
{
    if (f == stdin)
        w->stdin_used = true;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    errno = 0;
    while (!w->oom && (n = getdelim(&line, &cap, nul ? '\0' : '\n', f)) > 0) {
        if (line[n - 1] == (nul ? '\0' : '\n'))
            line[--n] = 0;
        if (!nul && n && line[n - 1] == '\r')
            line[--n] = 0;
        if (!n)
            continue;
        if (strlen(line) != (size_t)n) /* a NUL inside a line: not a path */
            continue;
        /* listed paths are files or directories, never stdin */
        if (!strcmp(line, "-"))
            add_item(w, "-", 0, false); /* a file named "-" */
        else
            brine_walk_add(w, line);
    }
    int e = ferror(f) ? (errno ? errno : EIO) : 0; /* a directory given as the list: EISDIR */
    free(line);
    return e;
}

void brine_walk_free(brine_walk *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->items[i].path);
    free(w->items);
    w->items = NULL;
    w->n = w->cap = 0;
}
