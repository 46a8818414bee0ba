/* brine scan: inputs (walk.c) -> N threads, each with its own brine_scanner
 * over ONE compiled policy -> per-file collectors (analyzer/report) -> the
 * report, written in input order whatever N is (by the worker that finishes
 * the next file in order; the main thread keeps the progress line). A
 * directory or a --files-from list is walked by a thread of its own while
 * the workers scan what it has found so far (the walk lists in sorted order,
 * so an item's place in the output is known when it is found).
 *
 * Reading: when the report carries a sha256, a regular file up to 64 MiB is
 * read into memory once and that one copy is both hashed and scanned (a file
 * truncated meanwhile cannot fault, and the hash is of the bytes judged); a
 * larger one is scanned by the library from its descriptor (mapped) and
 * hashed by reading the same descriptor. Without a hash (the text report,
 * --no-hash) files over 1 MiB are mapped. Pipes, stdin and devices are read
 * up to --max-input-bytes. */
#define _GNU_SOURCE /* unshare */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "brine.h"
#include "cli.h"
#include "report.h"
#include "../vm/value.h" /* brine_big_alloc */
#include "walk.h"

#define READ_LIMIT ((size_t)64 << 20)
#define MAP_LIMIT ((size_t)1 << 20)
#define FLUSH_MS 10

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

typedef struct worker {
    brine_scanner *sc;
    uint8_t *buf;
    size_t cap;
} worker;

typedef struct sink sink;
typedef struct progress progress;

typedef struct batch {
    brine_walk *in; /* with a walker thread: items and n are read with mu held */
    bool walking;   /* the walker thread has not finished (under mu) */
    FILE **lists;   /* the --files-from lists, opened before the walk */
    const char **list_names;
    size_t nlists;
    bool nul; /* the lists are NUL-separated */
    const char **operands;
    size_t nops;
    struct stat *op_stat; /* what stat() said of each operand (st_mode 0: not stat'ed), or NULL */
    int list_err; /* a list that could not be read to its end: errno, and which */
    const char *list_failed;
    const brine_policy *policy;
    bool text;
    size_t nthreads;
    const brine_settings *s;
    bool hash;
    bool globals; /* the report shows the globals used (every format but text) */
    /* the ring of collectors: item i uses ring[i % window] */
    brine_report_file **ring;
    bool *ready;
    size_t window;
    pthread_mutex_t mu;
    pthread_cond_t cv_done, cv_room;
    size_t next_item, next_out;
    size_t chunk; /* files a worker takes at a time, once the walk is done */
    size_t room_waiters;
    /* the output, written in input order by whichever thread holds the turn
     * (`writing`, under mu): the worker that finishes the next file in order
     * writes it and every later one already done, so no thread is woken to
     * write (a small file is ~10 us of work; a wake-up per file cost as much
     * as the second core saved) */
    bool writing, again;
    bool pending; /* written and not flushed yet */
    brine_report *rep;
    sink *out;
    progress *pg;
    /* jsonl and text: results are flushed within FLUSH_MS of being written
     * (a write per file cost as much as scanning a small one) */
    bool flush_each;
    bool fail_dangerous_only;
    /* what the exit status is made of, and the bytes read (the turn's holder updates them) */
    bool unsafe, unreadable, incomplete;
    uint64_t bytes;
} batch;

/* The worker's buffer becomes nc bytes, its first keep kept. It comes from
 * brine_big_alloc, so that from 256 KiB it is mapped with its pages made at
 * once, with huge pages from 2 MiB: a 42 MB torch file read (to be hashed)
 * into malloc'd memory took 10,500 page faults, half of its scan. w->cap is
 * always the size it was given. */
static bool buf_resize(worker *w, size_t nc, size_t keep)
{
    uint8_t *p = brine_big_alloc(nc);
    if (!p)
        return false;
    if (keep)
        memcpy(p, w->buf, keep);
    brine_big_free(w->buf, w->cap);
    w->buf = p;
    w->cap = nc;
    return true;
}

/* Read up to cap bytes (cap + 1 tells "longer"); the worker's buffer grows. */
static int read_fd(worker *w, int fd, uint64_t cap, size_t *len, bool *over, bool positional)
{
    size_t n = 0;
    *over = false;
    if (positional && cap > w->cap) { /* a regular file: its size at once, not by doubling (copies) */
        size_t want = cap < ((size_t)1 << 16) ? (size_t)1 << 16 : (size_t)cap;
        if (!buf_resize(w, want, 0))
            return ENOMEM;
    }
    for (;;) {
        if (n == w->cap) {
            if (w->cap >= cap + 1) {
                *over = true;
                break;
            }
            size_t nc = w->cap ? w->cap * 2 : 1 << 16;
            if (nc > cap + 1)
                nc = (size_t)cap + 1;
            if (!buf_resize(w, nc, n))
                return ENOMEM;
        }
        ssize_t r = positional ? pread(fd, w->buf + n, w->cap - n, (off_t)n) : read(fd, w->buf + n, w->cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno;
        if (r == 0)
            break;
        n += (size_t)r;
        if (positional && n == cap)
            break; /* a regular file, read to the size it had: no read more to learn of its end */
        if (n > cap) {
            *over = true;
            n = (size_t)cap;
            break;
        }
    }
    *len = n;
    return 0;
}

static void scan_one(batch *b, worker *w, const brine_item *it, brine_report_file *f)
{
    double t0 = now();
    brine_report_file_begin(f, it->path);
    brine_scanner_set_callbacks(w->sc, b->globals ? brine_report_file_callbacks()
                                              : brine_report_file_callbacks_no_globals(), f);
    if (it->err) {
        brine_report_file_fail(f, it->err, it->err == ELOOP ? "directory loop (a symlink leads back to a directory "
                                                              "being walked)" : NULL);
        return;
    }
    int fd = it->stdin_ ? STDIN_FILENO : open(it->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        brine_report_file_fail(f, errno, NULL);
        return;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        brine_report_file_fail(f, errno, NULL);
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        brine_report_file_fail(f, EISDIR, NULL);
        goto out;
    }
    if (S_ISFIFO(st.st_mode) || it->stdin_) { /* reads block again; a FIFO without a writer reads as empty */
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && (fl & O_NONBLOCK))
            fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    }
    char hex[65] = "";
    brine_stream_result res;
    memset(&res, 0, sizeof res);
    int rc;
    uint64_t size;
    bool regular = S_ISREG(st.st_mode) && !it->stdin_;
    /* without a hash to tie to the bytes scanned, a file over 1 MiB is mapped
     * rather than copied (the library's guard covers a file cut meanwhile) */
    brine_report_sha256_job hj;
    if (regular && (uint64_t)st.st_size > (b->hash ? READ_LIMIT : MAP_LIMIT)) {
        if (b->hash)
            brine_report_sha256_begin(&hj, NULL, (size_t)st.st_size, fd, (long)b->nthreads);
        errno = 0;
        rc = brine_scanner_scan_fd(w->sc, fd, it->path, &res);
        int e = errno;
        if (b->hash)
            brine_report_sha256_end(&hj, hex);
        if (rc == BRINE_ERR_IO) {
            brine_report_file_fail(f, e ? e : EIO, NULL);
            goto out;
        }
        size = (uint64_t)st.st_size;
    } else {
        size_t len = 0;
        bool over = false;
        uint64_t cap = regular ? (uint64_t)st.st_size : b->s->max_input_bytes;
        int e = read_fd(w, fd, cap, &len, &over, regular);
        if (e) {
            brine_report_file_fail(f, e, NULL);
            goto out;
        }
        if (regular)
            over = false; /* it grew while read: scan what its size said */
        const uint8_t *data = w->buf ? w->buf : (const uint8_t *)"";
        if (b->hash)
            brine_report_sha256_begin(&hj, data, len, -1, (long)b->nthreads); /* beside the scan when a core is idle */
        rc = brine_scanner_scan_buffer(w->sc, data, len, it->path, &res);
        if (b->hash)
            brine_report_sha256_end(&hj, hex);
        if (over && rc >= 0 && res.status != BRINE_STATUS_INCONCLUSIVE) {
            /* longer than the cap: what was read is judged, the rest was not seen */
            res.status = BRINE_STATUS_INCONCLUSIVE;
            res.error = "max_input_bytes: input from a pipe or device is longer than the limit";
            res.error_offset = len;
        }
        size = len;
        if (w->cap > (8u << 20)) { /* keep the resident size flat across many files */
            brine_big_free(w->buf, w->cap);
            w->buf = NULL;
            w->cap = 0;
        }
    }
    brine_report_file_end(f, rc, &res, size, b->hash ? hex : NULL, now() - t0);
out:
    if (fd != STDIN_FILENO)
        close(fd);
}

/* ---- output ------------------------------------------------------------------------ */

/* --output names a file opened without O_TRUNC: an old report of CUT_BESIDE
 * or more is cut to nothing by a thread of its own while the walk and the
 * first scans go on, and the first write waits for it. Truncating a 6.6 MB
 * report that had been written back took 3.3-6.2 ms (ext4 freeing its
 * blocks), all of it before the first file was scanned; the first write
 * comes after a directory's listing, which takes as long. */
#define CUT_BESIDE ((off_t)1 << 20)

struct sink {
    FILE *fp;
    int fd; /* fp's descriptor, for the truncation thread (which does not touch fp) */
    bool failed;
    bool cutting; /* the thread `cut` truncates fp's file; joined by the first write, or at the end */
    int cut_err;
    pthread_t cut;
};

static void *cut_main(void *arg)
{
    sink *k = arg;
    if (ftruncate(k->fd, 0) != 0)
        k->cut_err = errno;
    return NULL;
}

/* Open --output as fopen(path, "w") does, its old content cut (beside). */
static FILE *open_output(sink *k, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return NULL;
    struct stat st;
    FILE *fp = fstat(fd, &st) == 0 ? fdopen(fd, "w") : NULL;
    if (!fp) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    k->fp = fp;
    k->fd = fd;
    /* O_TRUNC leaves FIFOs, terminals and devices alone; so does this */
    if (S_ISREG(st.st_mode) && st.st_size >= CUT_BESIDE && pthread_create(&k->cut, NULL, cut_main, k) == 0) {
        k->cutting = true;
    } else if (S_ISREG(st.st_mode) && st.st_size > 0 && ftruncate(fd, 0) != 0) {
        int e = errno;
        fclose(fp);
        k->fp = NULL;
        errno = e;
        return NULL;
    }
    return fp;
}

/* The truncation is over (before anything is written, and before the file is closed). */
static void cut_done(sink *k)
{
    if (!k->cutting)
        return;
    pthread_join(k->cut, NULL);
    k->cutting = false;
    if (k->cut_err) {
        fprintf(stderr, "brine: scan: --output: cannot truncate the old report: %s\n", strerror(k->cut_err));
        k->failed = true;
    }
}

static int sink_write(void *user, const char *text, size_t len)
{
    sink *k = user;
    cut_done(k); /* one writer at a time: the turn's holder, or the main thread once the workers are done */
    if (k->failed)
        return 1;
    if (fwrite(text, 1, len, k->fp) != len) {
        k->failed = true;
        return 1;
    }
    return 0;
}

struct progress {
    bool on;
    bool clear_before_output; /* stdout is the same terminal */
    double t0, last;
    size_t width;
};

static void human(char *buf, size_t n, double v)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int k = 0;
    while (v >= 1024 && k < 4)
        v /= 1024, k++;
    snprintf(buf, n, k ? "%.1f %s" : "%.0f %s", v, u[k]);
}

/* more: the walk goes on (the total is what it has found so far) */
static void progress_show(progress *p, size_t done, size_t total, bool more, uint64_t bytes, const char *current,
                          bool force)
{
    if (!p->on)
        return;
    double t = now();
    if (!force && t - p->last < 0.1)
        return;
    p->last = t;
    char by[32], rate[32];
    human(by, sizeof by, (double)bytes);
    human(rate, sizeof rate, t > p->t0 ? (double)bytes / (t - p->t0) : 0);
    char line[512];
    int n = snprintf(line, sizeof line, "[%zu/%zu%s] %s, %s/s  %s", done, total, more ? "+" : "", by, rate,
                     current ? current : "");
    if (n < 0)
        return;
    if ((size_t)n > 100) /* keep it on one line of a narrow terminal */
        snprintf(line + 97, sizeof line - 97, "...");
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
}

static void progress_clear(progress *p)
{
    if (p->on) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
}

/* ---- writing the results in order --------------------------------------------------- */

/* Add item i's result to the report (the caller holds the turn); total and
 * next are what the progress line shows (the items found so far, the next one). */
static void emit(batch *b, size_t i, size_t total, bool more, const char *next)
{
    brine_report_file *f = b->ring[i % b->window];
    brine_report_outcome oc = brine_report_file_outcome(f);
    b->unsafe |= oc == BRINE_OUTCOME_DANGEROUS || (oc == BRINE_OUTCOME_SUSPICIOUS && !b->fail_dangerous_only);
    b->unreadable |= oc == BRINE_OUTCOME_UNREADABLE;
    b->incomplete |= oc == BRINE_OUTCOME_INCOMPLETE ||
                     (oc >= BRINE_OUTCOME_SUSPICIOUS && oc != BRINE_OUTCOME_UNREADABLE &&
                      brine_report_file_result(f)->status != BRINE_STATUS_COMPLETE);
    if (oc == BRINE_OUTCOME_UNREADABLE)
        fprintf(stderr, "brine: %s: %s\n", brine_report_file_path(f), brine_report_file_error(f));
    else
        b->bytes += brine_report_file_size(f);
    if (b->pg->clear_before_output)
        progress_clear(b->pg);
    brine_report_add(b->rep, f);
    progress_show(b->pg, i + 1, total, more, b->bytes, next, b->pg->clear_before_output);
}

/* The order of the output is agreed without the lock on the common path: a
 * worker marks a file done (ready), then looks whether it is the next one to
 * write (next_out); the turn's holder advances next_out, then looks whether
 * the next file is done. Both sides are sequentially consistent atomics, so
 * at least one of the two sees the other's store: a finished file is never
 * left unwritten (see drain for the hand-over of the turn). */
static bool is_ready(const batch *b, size_t i)
{
    return __atomic_load_n(&b->ready[i % b->window], __ATOMIC_SEQ_CST);
}

static size_t next_out(const batch *b)
{
    return __atomic_load_n(&b->next_out, __ATOMIC_SEQ_CST);
}

/* With mu held: whether a worker may take files now. While the walk goes
 * on, whether it has found one not taken; after it, whether the ring has a
 * collector free for each of the next run of files (chunk), not just for
 * one: a worker ahead of the writing by a whole ring was woken, and took a
 * file, each time the turn's holder wrote one, a wake-up per small file. */
#define RUN_MAX 8 /* files a worker takes at a time, at most */

/* k files made a run a worker takes: 1 to RUN_MAX */
static size_t run_len(size_t k)
{
    return k < 1 ? 1 : k > RUN_MAX ? RUN_MAX : k;
}

static bool may_take(const batch *b)
{
    size_t n = b->in->n, i = b->next_item;
    if (i >= n)
        return !b->walking;
    size_t run = run_len(b->chunk); /* as the worker takes them after the walk */
    size_t want = n - i < run ? n - i : run;
    return i + want <= next_out(b) + b->window;
}

/* With mu held: if no thread holds the turn, take it and write every result
 * that is next in order and done (the main thread flushes them). If another
 * thread holds it, `again` tells the holder to look once more before it lets
 * go (it may have looked at this file before it was marked done). */
static void drain(batch *b)
{
    if (b->writing) {
        b->again = true;
        return;
    }
    b->writing = true;
    do {
        b->again = false;
        bool wrote = false;
        size_t i;
        while ((i = next_out(b)) < b->in->n && is_ready(b, i)) {
            size_t total = b->in->n;
            bool more = b->walking;
            const char *next = i + 1 < total ? b->in->items[i + 1].path : "";
            pthread_mutex_unlock(&b->mu);
            emit(b, i, total, more, next);
            pthread_mutex_lock(&b->mu);
            wrote = true;
            __atomic_store_n(&b->ready[i % b->window], false, __ATOMIC_SEQ_CST);
            __atomic_store_n(&b->next_out, i + 1, __ATOMIC_SEQ_CST);
            if (b->room_waiters && may_take(b))
                pthread_cond_broadcast(&b->cv_room);
        }
        b->pending |= wrote && b->flush_each;
    } while (b->again);
    b->writing = false;
    if (!b->walking && next_out(b) == b->in->n)
        pthread_cond_signal(&b->cv_done);
}

static void *worker_main(void *arg)
{
    void **a = arg;
    batch *b = a[0];
    worker *w = a[1];
    brine_item run[RUN_MAX];
#if defined(CLONE_FILES) && !defined(__SANITIZE_THREAD__)
    /* a table of descriptors of its own (a copy: stdin, stdout, --output are
     * in it): every file is opened and closed by the worker that scans it,
     * and the threads' open and close no longer take one table's lock, which
     * was a cache line the cores passed back and forth twice per file. It
     * may fail (a sandbox): the shared table works the same, only slower.
     * Not under ThreadSanitizer, which takes a descriptor's number for the
     * same object in every thread (descriptor 3 opened by one worker and
     * closed by another would be reported as a race). */
    (void)unshare(CLONE_FILES);
#endif
    pthread_mutex_lock(&b->mu);
    for (;;) {
        /* wait for a file found and not taken, with a collector free for it */
        while (!may_take(b)) {
            b->room_waiters++;
            pthread_cond_wait(&b->cv_room, &b->mu);
            b->room_waiters--;
        }
        if (b->next_item >= b->in->n)
            break;
        /* a run of files at a time: taking them one by one, the threads'
         * shared counters moved between the cores for every small file.
         * While the walk goes on, a share of what it has found so far. */
        size_t i = b->next_item, n = b->in->n;
        size_t take = b->walking ? (n - i) / b->nthreads : b->chunk;
        take = run_len(take);
        size_t e = i + take;
        if (e > n)
            e = n;
        if (e > next_out(b) + b->window)
            e = next_out(b) + b->window;
        b->next_item = e;
        memcpy(run, &b->in->items[i], (e - i) * sizeof *run); /* the walk may move the array */
        pthread_mutex_unlock(&b->mu);
        for (size_t k = i; k < e; k++) {
            scan_one(b, w, &run[k - i], b->ring[k % b->window]);
            brine_report_render(b->rep, b->ring[k % b->window]); /* here, in parallel, not by the turn's holder */
            __atomic_store_n(&b->ready[k % b->window], true, __ATOMIC_SEQ_CST);
            if (next_out(b) == k) { /* the next to write: write it now (jsonl streams file by file) */
                pthread_mutex_lock(&b->mu);
                drain(b);
                pthread_mutex_unlock(&b->mu);
            }
        }
        pthread_mutex_lock(&b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* ---- the walk ----------------------------------------------------------------------- */

/* The collector of ring slot k exists (made the first time an item uses it). */
static bool make_slot(batch *b, size_t k)
{
    if (b->ring[k])
        return true;
    /* text never shows the policy identity: no collector computes it */
    return (b->text ? brine_report_file_create(&b->ring[k], b->policy)
                    : brine_report_file_create_like(&b->ring[k], b->ring[0])) >= 0;
}

/* Called by the walk, mu held, when item i is found: its collector is made
 * before a worker can take it, and a worker waiting for files is woken. */
static bool found(void *ctx, size_t i)
{
    batch *b = ctx;
    if (i < b->window && !make_slot(b, i))
        return false;
    if (b->room_waiters && may_take(b)) /* not a wake-up per file found while the ring is full */
        pthread_cond_broadcast(&b->cv_room);
    return true;
}

/* The lists, then the operands, in the order given (the order of the output). */
static void walk_inputs(batch *b)
{
    for (size_t k = 0; k < b->nlists && !b->in->oom; k++) {
        int e = brine_walk_files_from(b->in, b->lists[k], b->nul);
        if (e && !b->list_err) {
            b->list_err = e;
            b->list_failed = b->list_names[k];
            break;
        }
    }
    for (size_t k = 0; k < b->nops && !b->in->oom && !b->list_err; k++)
        brine_walk_add_stat(b->in, b->operands[k], b->op_stat && b->op_stat[k].st_mode ? &b->op_stat[k] : NULL);
}

static void *walker_main(void *arg)
{
    batch *b = arg;
    walk_inputs(b);
    pthread_mutex_lock(&b->mu);
    b->walking = false;
    size_t n = b->in->n;
    b->chunk = n / (b->nthreads * 16); /* the rest is shared out evenly */
    pthread_cond_broadcast(&b->cv_room);
    pthread_cond_signal(&b->cv_done);
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* ---- options ----------------------------------------------------------------------- */

static const char scan_usage[] =
    "usage: brine scan [options] [FILE|DIR|-]...\n"
    "\n"
    "Decide whether each file is safe to load (pickle, torch zip and legacy, npy/npz, joblib,\n"
    "gzip/bz2/xz/lzma/zstd/lz4, tar, 7z; the content decides, never the name).\n"
    "\n"
    "inputs:\n"
    "  FILE                  a file (a symlink named here is followed)\n"
    "  DIR                   every file below it, in sorted order (symlinks inside are skipped)\n"
    "  -                     standard input\n"
    "  --files-from LIST     read paths from LIST (- for stdin), one per line\n"
    "  -0, --null            paths in LIST are NUL-separated (find -print0)\n"
    "  --include GLOB        in directories, only files matching GLOB (repeatable; a GLOB with\n"
    "                        '/' matches the path below DIR, one without the file name)\n"
    "  --exclude GLOB        in directories, skip files and directories matching GLOB (repeatable)\n"
    "  --follow-symlinks     follow symlinks met while walking (loops are reported)\n"
    "\n"
    "output:\n"
    "  -f, --format FMT      text (default), json, jsonl (one object per file, flushed within\n"
    "                        10 ms of each file finishing), sarif (SARIF 2.1.0); doc/report.md\n"
    "  -o, --output FILE     write the report to FILE instead of standard output\n"
    "  -q, --quiet           text: only the line per file (and streams not safe+complete)\n"
    "  --no-summary          text: no summary line at the end\n"
    "  --color WHEN          auto (default: on a terminal), always, never; NO_COLOR disables it\n"
    "  --progress WHEN       auto (default: when stderr is a terminal), always, never\n"
    "  --no-hash             do not compute the sha256 of each file (the text format never does)\n"
    "\n"
    "scanning:\n"
    "  --policy FILE         policy file (repeatable; default: the built-in bundle)\n"
    "  -j, --jobs N          N files at a time (default: the number of cores); output order\n"
    "                        and results do not depend on N\n"
    "  --fail-on LEVEL       suspicious (default) or dangerous: which verdicts make the exit 1\n"
    "  limits: --max-opcodes N --max-stack N --max-marks N --max-memo N --max-bytes N\n"
    "    --max-depth N --max-output N --max-pickles N --max-decompressed N --max-ratio N\n"
    "    --max-archive-depth N --max-members N --max-nested N --max-input-bytes N\n"
    "\n"
    "exit status: 1 if any file is unsafe (per --fail-on); else 2 if any could not be read\n"
    "(or a usage error); else 3 if any was not fully analysed (malformed, inconclusive); else 0.\n";

/* --opt VALUE or --opt=VALUE; returns the value or NULL (and *used = 0). */
static const char *opt_value(int argc, char **argv, int *i, const char *lng, const char *shrt, bool *bad)
{
    const char *a = argv[*i];
    size_t n = strlen(lng);
    if (!strncmp(a, lng, n) && a[n] == '=')
        return a + n + 1;
    if (!strcmp(a, lng) || (shrt && !strcmp(a, shrt))) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "brine: scan: %s needs a value\n", a);
            *bad = true;
            return NULL;
        }
        return argv[++*i];
    }
    return NULL;
}

static int when_value(const char *v, const char *opt)
{
    if (!strcmp(v, "auto"))
        return -1;
    if (!strcmp(v, "always"))
        return 1;
    if (!strcmp(v, "never"))
        return 0;
    fprintf(stderr, "brine: scan: %s: expected auto, always or never, not '%s'\n", opt, v);
    return -2;
}

static int push(const char ***arr, size_t *n, const char *v)
{
    const char **p = realloc(*arr, (*n + 1) * sizeof *p);
    if (!p)
        return -1;
    p[(*n)++] = v;
    *arr = p;
    return 0;
}

static long cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

int brine_cli_scan(int argc, char **argv)
{
    brine_settings s;
    brine_settings_default(&s);
    brine_walk w = {0};
    const char **pfiles = NULL, **operands = NULL, **lists = NULL;
    size_t npf = 0, nops = 0, nlists = 0;
    brine_report_options ro = {0};
    const char *output = NULL;
    int color = -1, prog = -1;
    long jobs = 0;
    bool hash = true, nul = false, fail_dangerous_only = false, bad = false, options = true;
    int rc = 2;
    brine_policy *policy = NULL;
    brine_report *rep = NULL;
    sink out = {.fp = stdout};
    batch b = {0};
    worker *workers = NULL;
    pthread_t *threads = NULL, walker;
    void **args = NULL;
    FILE **list_fps = NULL;
    struct stat *op_stat = NULL;
    size_t nthreads = 0;

    for (int i = 0; i < argc && !bad; i++) {
        const char *a = argv[i], *v;
        if (!options || a[0] != '-' || !a[1]) {
            if (push(&operands, &nops, a) < 0)
                goto out;
            continue;
        }
        int used = brine_cli_limit_option(argc, argv, i, &s);
        if (used < 0)
            goto out;
        if (used) {
            i += used - 1;
            continue;
        }
        if (!strcmp(a, "--")) {
            options = false;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(scan_usage, stdout);
            rc = 0;
            goto out;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            ro.quiet = true;
        } else if (!strcmp(a, "--no-summary")) {
            ro.no_summary = true;
        } else if (!strcmp(a, "--no-hash")) {
            hash = false;
        } else if (!strcmp(a, "-0") || !strcmp(a, "--null")) {
            nul = true;
        } else if (!strcmp(a, "--follow-symlinks")) {
            w.follow_symlinks = true;
        } else if ((v = opt_value(argc, argv, &i, "--policy", NULL, &bad))) {
            if (push(&pfiles, &npf, v) < 0)
                goto out;
        } else if ((v = opt_value(argc, argv, &i, "--include", NULL, &bad))) {
            if (push(&w.include, &w.ninclude, v) < 0)
                goto out;
        } else if ((v = opt_value(argc, argv, &i, "--exclude", NULL, &bad))) {
            if (push(&w.exclude, &w.nexclude, v) < 0)
                goto out;
        } else if ((v = opt_value(argc, argv, &i, "--files-from", NULL, &bad))) {
            if (push(&lists, &nlists, v) < 0)
                goto out;
        } else if ((v = opt_value(argc, argv, &i, "--format", "-f", &bad))) {
            static const char *const names[] = {"text", "json", "jsonl", "sarif"};
            size_t k = 0;
            while (k < 4 && strcmp(v, names[k]))
                k++;
            if (k == 4) {
                fprintf(stderr, "brine: scan: --format: expected text, json, jsonl or sarif, not '%s'\n", v);
                goto out;
            }
            ro.format = (brine_report_format)k;
        } else if ((v = opt_value(argc, argv, &i, "--output", "-o", &bad))) {
            output = v;
        } else if ((v = opt_value(argc, argv, &i, "--jobs", "-j", &bad))) {
            char *end;
            errno = 0;
            jobs = strtol(v, &end, 10);
            if (errno || *end || jobs < 1 || jobs > 1024) {
                fprintf(stderr, "brine: scan: --jobs: expected a number from 1 to 1024, not '%s'\n", v);
                goto out;
            }
        } else if (!strncmp(a, "-j", 2) && a[2] >= '0' && a[2] <= '9') {
            char *end;
            jobs = strtol(a + 2, &end, 10);
            if (*end || jobs < 1 || jobs > 1024) {
                fprintf(stderr, "brine: scan: -j: expected a number from 1 to 1024, not '%s'\n", a + 2);
                goto out;
            }
        } else if ((v = opt_value(argc, argv, &i, "--fail-on", NULL, &bad))) {
            if (!strcmp(v, "dangerous"))
                fail_dangerous_only = true;
            else if (strcmp(v, "suspicious")) {
                fprintf(stderr, "brine: scan: --fail-on: expected suspicious or dangerous, not '%s'\n", v);
                goto out;
            }
        } else if ((v = opt_value(argc, argv, &i, "--color", NULL, &bad)) ||
                   (v = opt_value(argc, argv, &i, "--colour", NULL, &bad))) {
            if ((color = when_value(v, "--color")) == -2)
                goto out;
        } else if (!strcmp(a, "--no-color")) {
            color = 0;
        } else if ((v = opt_value(argc, argv, &i, "--progress", NULL, &bad))) {
            if ((prog = when_value(v, "--progress")) == -2)
                goto out;
        } else if (!strcmp(a, "--no-progress")) {
            prog = 0;
        } else if (!bad) {
            fprintf(stderr, "brine: scan: unknown option '%s' (brine scan --help)\n", a);
            goto out;
        }
    }
    if (bad)
        goto out;
    if (!nops && !nlists) {
        fprintf(stderr, "brine: scan: no input (FILE, DIR, - for stdin, or --files-from LIST)\n%s", scan_usage);
        goto out;
    }
    size_t stdin_uses = 0;
    for (size_t k = 0; k < nops; k++)
        stdin_uses += !strcmp(operands[k], "-");
    for (size_t k = 0; k < nlists; k++)
        stdin_uses += !strcmp(lists[k], "-");
    if (stdin_uses > 1) {
        fprintf(stderr, "brine: scan: standard input can be read only once\n");
        goto out;
    }

    /* compile the policy before walking: a bad policy is reported at once */
    brine_diag diag;
    int pr = brine_policy_compile(&policy, pfiles, npf, &diag);
    if (pr < 0) {
        fprintf(stderr, "brine: %s\n", diag.message[0] ? diag.message : brine_strerror(pr));
        goto out;
    }

    /* a list that cannot be opened is reported before anything is scanned */
    if (nlists && !(list_fps = calloc(nlists, sizeof *list_fps)))
        goto nomem;
    for (size_t k = 0; k < nlists; k++) {
        list_fps[k] = strcmp(lists[k], "-") ? fopen(lists[k], "r") : stdin;
        struct stat st;
        if (list_fps[k] && fstat(fileno(list_fps[k]), &st) == 0 && S_ISDIR(st.st_mode))
            errno = EISDIR;
        else if (list_fps[k])
            continue;
        fprintf(stderr, "brine: scan: --files-from %s: %s\n", lists[k], strerror(errno));
        goto out;
    }
    /* files named on the command line only: listed here, their number known
     * (the progress line's total is exact); a directory or a list: walked by a
     * thread of its own while the files it has found are scanned. Each
     * operand is stat'ed once: what is learnt here, the walk uses. */
    bool stream = nlists > 0;
    op_stat = nops ? calloc(nops, sizeof *op_stat) : NULL;
    if (nops && !op_stat)
        goto nomem;
    for (size_t k = 0; k < nops && !stream; k++) {
        if (strcmp(operands[k], "-") && stat(operands[k], &op_stat[k]) != 0)
            op_stat[k].st_mode = 0; /* failed: the walk tries again and reports it */
        stream = S_ISDIR(op_stat[k].st_mode);
    }
    b.op_stat = op_stat;
    b.in = &w;
    b.lists = list_fps;
    b.list_names = lists;
    b.nlists = nlists;
    b.nul = nul;
    b.operands = operands;
    b.nops = nops;
    if (!stream) {
        walk_inputs(&b);
        if (w.oom) {
            fprintf(stderr, "brine: scan: out of memory while listing the inputs\n");
            goto out;
        }
    }

    if (output && strcmp(output, "-")) {
        if (!open_output(&out, output)) {
            fprintf(stderr, "brine: scan: --output %s: %s\n", output, strerror(errno));
            out.fp = stdout;
            goto out;
        }
    }
    /* flushed by time (FLUSH_MS), not by a small buffer; the buffer given, since
     * glibc takes the size only with one (without, it used st_blksize: 1,733
     * write calls of 4 KiB for the 6.6 MB report of 10,000 small files). Static:
     * stdout is flushed again at exit, after this function returns. */
    static char out_buf[1 << 16];
    if (!isatty(fileno(out.fp)))
        setvbuf(out.fp, out_buf, _IOFBF, sizeof out_buf);
    const char *nc = getenv("NO_COLOR");
    bool no_color_env = nc && nc[0];
    ro.color = !no_color_env && ro.format == BRINE_REPORT_TEXT &&
               (color == 1 || (color == -1 && isatty(fileno(out.fp))));
    progress pg = {.on = prog == 1 || (prog == -1 && isatty(STDERR_FILENO)), .t0 = now()};
    pg.clear_before_output = pg.on && out.fp == stdout && isatty(STDOUT_FILENO);

    if (brine_report_create(&rep, &ro, policy, sink_write, &out) < 0) {
        fprintf(stderr, "brine: scan: cannot start the report\n");
        goto out;
    }

    if (!jobs) /* one file needs no second thread (nor the count of cores) */
        jobs = !stream && w.n <= 1 ? 1 : cores();
    if (!stream && (size_t)jobs > w.n)
        jobs = w.n ? (long)w.n : 1;
    nthreads = (size_t)jobs;
    b.nthreads = nthreads;
    b.s = &s;
    b.policy = policy;
    b.text = ro.format == BRINE_REPORT_TEXT;
    b.hash = hash && ro.format != BRINE_REPORT_TEXT; /* the text report does not show it */
    b.globals = ro.format != BRINE_REPORT_TEXT;
    b.chunk = w.n / (nthreads * 16);
    b.chunk = stream || b.chunk > 8 ? 8 : b.chunk < 1 ? 1 : b.chunk;
    b.window = nthreads * 4 * b.chunk < 8 ? 8 : nthreads * 4 * b.chunk;
    if (!stream && b.window > w.n) /* no more collectors than files (each holds a 60 KB pool) */
        b.window = w.n ? w.n : 1;
    b.ring = calloc(b.window, sizeof *b.ring);
    b.ready = calloc(b.window, sizeof *b.ready);
    workers = calloc(nthreads, sizeof *workers);
    threads = calloc(nthreads, sizeof *threads);
    args = calloc(nthreads * 2, sizeof *args);
    if (!b.ring || !b.ready || !workers || !threads || !args)
        goto nomem;
    /* the first collector always (the others copy its policy identity); the
     * rest as files come to use them (found() while walking) */
    if (brine_report_file_create(&b.ring[0], policy) < 0)
        goto nomem;
    for (size_t k = 1; !stream && k < b.window; k++)
        if (!make_slot(&b, k))
            goto nomem;
    for (size_t k = 0; k < nthreads; k++)
        if (brine_scanner_create(&workers[k].sc, policy, &s) < 0)
            goto nomem;
    b.rep = rep;
    b.out = &out;
    b.pg = &pg;
    b.flush_each = ro.format == BRINE_REPORT_JSONL || ro.format == BRINE_REPORT_TEXT;
    b.fail_dangerous_only = fail_dangerous_only;
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv_done, NULL);
    pthread_cond_init(&b.cv_room, NULL);

    double t0 = now();
    size_t started = 0;
    if (stream) {
        w.mu = &b.mu;
        w.added = found;
        w.ctx = &b;
        b.walking = true;
        if (pthread_create(&walker, NULL, walker_main, &b) != 0) {
            walker_main(&b); /* no thread: the walk first, then the scan */
            stream = false;
        }
    }
    /* several files: worker threads (one with -j 1) scan and write, and this
     * thread flushes what they wrote and keeps the progress line moving */
    for (size_t k = 0; (stream || w.n > 1) && k < nthreads; k++) {
        args[2 * k] = &b;
        args[2 * k + 1] = &workers[k];
        if (pthread_create(&threads[k], NULL, worker_main, &args[2 * k]) != 0)
            break;
        started++;
    }
    if (!started) { /* one file, or no thread could be started */
        if (stream) {
            pthread_join(walker, NULL);
            stream = false;
        }
        for (size_t i = 0; i < w.n; i++) {
            scan_one(&b, &workers[0], &w.items[i], b.ring[i % b.window]);
            emit(&b, i, w.n, false, i + 1 < w.n ? w.items[i + 1].path : "");
            if (b.flush_each)
                fflush(out.fp);
        }
    } else {
        pthread_mutex_lock(&b.mu);
        while (b.walking || next_out(&b) < w.n) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            long ns = ts.tv_nsec + (b.flush_each ? FLUSH_MS : 200) * 1000000L;
            ts.tv_sec += ns / 1000000000L;
            ts.tv_nsec = ns % 1000000000L;
            pthread_cond_timedwait(&b.cv_done, &b.mu, &ts);
            if (!b.writing && (b.pending || pg.on) && (b.walking || next_out(&b) < w.n)) {
                b.writing = true; /* the turn: no worker writes meanwhile */
                bool flush = b.pending, more = b.walking;
                size_t i = next_out(&b), total = w.n;
                const char *cur = i < total ? w.items[i].path : "";
                uint64_t by = b.bytes;
                pthread_mutex_unlock(&b.mu);
                if (flush)
                    fflush(out.fp);
                progress_show(&pg, i, total, more, by, cur, false);
                pthread_mutex_lock(&b.mu);
                b.pending = false;
                b.writing = false;
                drain(&b); /* what finished while this thread held the turn */
            }
        }
        pthread_mutex_unlock(&b.mu);
    }
    for (size_t k = 0; k < started; k++)
        pthread_join(threads[k], NULL);
    if (stream)
        pthread_join(walker, NULL);
    progress_clear(&pg);
    brine_report_finish(rep, now() - t0);
    cut_done(&out); /* a report that wrote nothing has still replaced the old one */
    fflush(out.fp);
    if (out.failed || ferror(out.fp)) {
        fprintf(stderr, "brine: scan: cannot write the report\n");
        rc = 2;
    } else {
        /* 1 (unsafe) wins over 2 (a file could not be read) so that a gate
         * never reads "error" as "nothing found"; both are non-zero */
        rc = b.unsafe ? 1 : b.unreadable ? 2 : b.incomplete ? 3 : 0;
    }
    /* a walk cut short: the files it did not reach were not scanned */
    if (b.list_err) {
        fprintf(stderr, "brine: scan: --files-from %s: %s\n", b.list_failed, strerror(b.list_err));
        rc = rc == 1 ? 1 : 2;
    }
    if (w.oom) {
        fprintf(stderr, "brine: scan: out of memory while listing the inputs (the files after it were not scanned)\n");
        rc = rc == 1 ? 1 : 2;
    }
    pthread_mutex_destroy(&b.mu);
    pthread_cond_destroy(&b.cv_done);
    pthread_cond_destroy(&b.cv_room);
    goto out;
nomem:
    fprintf(stderr, "brine: scan: out of memory\n");
    rc = 2;
out:
    cut_done(&out);
    if (out.fp && out.fp != stdout)
        fclose(out.fp);
    for (size_t k = 0; workers && k < nthreads; k++) {
        brine_scanner_destroy(workers[k].sc);
        brine_big_free(workers[k].buf, workers[k].cap);
    }
    for (size_t k = 0; b.ring && k < b.window; k++)
        brine_report_file_destroy(b.ring[k]);
    free(b.ring);
    free(b.ready);
    free(workers);
    free(threads);
    free(args);
    brine_report_destroy(rep);
    brine_policy_destroy(policy);
    brine_walk_free(&w);
    free(w.include);
    free(w.exclude);
    for (size_t k = 0; list_fps && k < nlists; k++)
        if (list_fps[k] && list_fps[k] != stdin)
            fclose(list_fps[k]);
    free(list_fps);
    free(pfiles);
    free(operands);
    free(op_stat);
    free(lists);
    return rc;
}
