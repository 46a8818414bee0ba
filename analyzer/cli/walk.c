/* Collecting the inputs of `brine scan` (see walk.h). A directory is walked in
 * sorted order, so the order of results never depends on the file system;
 * symlinks inside a walk are not followed unless asked, and a followed one
 * that leads back to a directory being walked is reported as a loop. */
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Everything found goes through one queue (pend), in order, and is appended
 * to the items 64 at a time, taking the lock once for all of them, so that
 * the walk and the workers taking items do not trade the lock file by file:
 * flush() when the queue is full, when a directory is done and when an
 * operand or a list's line is. The paths are the walk's from here (freed by
 * brine_walk_free). */
static void flush(brine_walk *w)
{
    size_t k = w->npend, i = 0;
    w->npend = 0;
    if (!k)
        return;
    if (w->mu)
        pthread_mutex_lock(w->mu);
    if (w->n + k > w->cap && !w->oom) {
        size_t nc = w->cap ? w->cap * 2 : 64;
        while (nc < w->n + k)
            nc *= 2;
        brine_item *p = realloc(w->items, nc * sizeof *p);
        if (p) {
            w->items = p;
            w->cap = nc;
        } else {
            w->oom = true;
        }
    }
    for (; i < k && !w->oom; i++) {
        w->items[w->n++] = w->pend[i];
        if (w->added && !w->added(w->ctx, w->n - 1)) {
            w->n--;
            w->oom = true;
            break;
        }
    }
    for (; i < k; i++) /* not added (out of memory): the walk stops */
        free(w->pend[i].path);
    if (w->mu)
        pthread_mutex_unlock(w->mu);
}

static void add_owned(brine_walk *w, char *path, int err, bool is_stdin)
{
    if (w->oom) {
        free(path);
        return;
    }
    w->pend[w->npend++] = (brine_item){path, err, is_stdin};
    if (w->npend == sizeof w->pend / sizeof w->pend[0])
        flush(w);
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

/* A directory's entries are sorted by name, as strcmp orders them (unsigned
 * bytes), with the comparison inline rather than through qsort's callback,
 * which was half of listing a directory of 10,000 files: each entry carries
 * its first eight bytes as a big-endian word (zero after the name's end), and
 * only entries whose first eight bytes are equal are compared by strcmp. */
typedef struct dir_ent {
    uint64_t key;
    union {
        size_t off; /* while listing: where the entry is in the buffer */
        char *e;    /* then: the entry, its d_type byte and then its name */
    };
} dir_ent;

static uint64_t name_key(const char *name)
{
    uint64_t k = 0;
    int i = 0;
    for (; i < 8 && name[i]; i++)
        k = k << 8 | (unsigned char)name[i];
    return k << (8 * (8 - i));
}

static inline bool ent_less(const dir_ent *a, const dir_ent *b)
{
    if (a->key != b->key)
        return a->key < b->key;
    return strcmp(a->e + 1, b->e + 1) < 0;
}

/* A stable bottom-up merge sort: runs of 16 by insertion, then merged through tmp. */
static void sort_ents(dir_ent *v, dir_ent *tmp, size_t n)
{
    enum { RUN = 16 };
    for (size_t lo = 0; lo < n; lo += RUN) {
        size_t hi = lo + RUN < n ? lo + RUN : n;
        for (size_t i = lo + 1; i < hi; i++) {
            dir_ent x = v[i];
            size_t j = i;
            for (; j > lo && ent_less(&x, &v[j - 1]); j--)
                v[j] = v[j - 1];
            v[j] = x;
        }
    }
    dir_ent *src = v, *dst = tmp;
    for (size_t w = RUN; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = ent_less(&src[j], &src[i]) ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        dir_ent *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
}

/* A directory's entries, sorted: each is its d_type byte then its name, all in
 * one buffer (one allocation per directory, not per name). Returns the count;
 * *names and *buf are the caller's to free. */
static size_t list_dir(brine_walk *w, DIR *d, char ***names, char **buf)
{
    size_t n = 0, len = 0, cap = 0, vcap = 0;
    dir_ent *v = NULL; /* (key, offset in b): b moves as it grows */
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
        if (n == vcap) { /* room for the merge's second half too */
            size_t nc = vcap ? vcap * 2 : 64;
            dir_ent *p = realloc(v, 2 * nc * sizeof *p);
            if (!p)
                goto oom;
            v = p;
            vcap = nc;
        }
        v[n++] = (dir_ent){.key = name_key(e->d_name), .off = len};
        b[len] = (char)e->d_type;
        memcpy(b + len + 1, e->d_name, nl - 1);
        len += nl;
    }
    for (size_t i = 0; i < n; i++)
        v[i].e = b + v[i].off;
    sort_ents(v, v + n, n);
    char **out = n ? malloc(n * sizeof *out) : NULL;
    if (n && !out)
        goto oom;
    for (size_t i = 0; i < n; i++)
        out[i] = v[i].e;
    free(v);
    *names = out;
    *buf = b;
    return n;
oom:
    w->oom = true;
    free(v);
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
    flush(w); /* a directory's files are out before the next is listed */
    free(names);
    free(buf);
}

void brine_walk_add_stat(brine_walk *w, const char *path, const struct stat *st)
{
    struct stat mine;
    if (!strcmp(path, "-")) {
        add_item(w, "-", 0, true);
        w->stdin_used = true;
    } else if ((st || (stat(path, &mine) == 0 && (st = &mine))) && S_ISDIR(st->st_mode)) {
        /* an operand is followed if it is a symlink: the user named it */
        ancestor top = {NULL, st->st_dev, st->st_ino};
        walk_dir(w, path, strlen(path), &top);
    } else {
        add_item(w, path, 0, false);
    }
    flush(w); /* the operand is out before the next is looked at (a list may block) */
}

void brine_walk_add(brine_walk *w, const char *path)
{
    brine_walk_add_stat(w, path, NULL);
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
        if (!strcmp(line, "-")) {
            add_item(w, "-", 0, false); /* a file named "-" */
            flush(w);
        } else {
            brine_walk_add(w, line);
        }
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
