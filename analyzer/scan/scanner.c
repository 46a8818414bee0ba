/* The scanner object and the public entry points that go through the stream
 * driver: scan, events, disasm, dump and learn all see every container the
 * same way. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "judge.h"
#include "lazylib.h"
#include "vm.h"

struct brine_scanner {
    const brine_policy *policy;
    brine_settings s;
    brine_scan_callbacks cb;
    void *user;
    char hint[320]; /* libmagic's word on unknown content, for the error */
    uint64_t fail_at, allocs; /* fault injection for tests (brine_scanner_fault) */
    size_t window_grain;      /* tests: brine_scanner_window_grain */
    brine_arena_cache arena_cache; /* the arenas' blocks, reused file after file */
    bool global_once;              /* brine_scanner_set_global_once */
};

void brine_scanner_window_grain(brine_scanner *s, size_t grain)
{
    s->window_grain = grain;
}

void brine_scanner_fault(brine_scanner *s, uint64_t fail_at, uint64_t *allocs)
{
    if (allocs)
        *allocs = s->allocs;
    s->fail_at = fail_at;
}

int brine_scanner_create(brine_scanner **out, const brine_policy *policy, const brine_settings *settings)
{
    if (!out || !policy)
        return BRINE_ERR_INVALID;
    *out = NULL;
    brine_scanner *s = calloc(1, sizeof *s);
    if (!s)
        return BRINE_ERR_NOMEM;
    s->policy = policy;
    if (settings)
        s->s = *settings;
    else
        brine_settings_default(&s->s);
    *out = s;
    return 0;
}

void brine_scanner_destroy(brine_scanner *s)
{
    if (s)
        brine_arena_cache_free(&s->arena_cache);
    free(s);
}

void brine_scanner_set_callbacks(brine_scanner *s, const brine_scan_callbacks *cb, void *user)
{
    if (!s)
        return;
    memset(&s->cb, 0, sizeof s->cb);
    if (cb)
        s->cb = *cb;
    s->user = user;
}

void brine_scanner_set_global_once(brine_scanner *s, int once)
{
    if (s)
        s->global_once = once != 0;
}

/* libmagic's description of content no reader knows: only a hint in reports.
 * libmagic and its database are loaded the first time any scanner of the
 * process needs them (lazylib.c; a registry of model files rarely does). */
static const char *magic_hint(brine_scanner *s, const uint8_t *d, size_t n, char *buf, size_t size)
{
    (void)s;
    return brine_magic_describe(d, n > 65536 ? 65536 : n, buf, size);
}

/* Run the driver over one file with a consumer. */
static int drive(brine_scanner *s, const brine_consumer *k, brine_write_fn write, void *write_user,
                 const uint8_t *data, size_t len, const char *name, brine_stream_result *out)
{
    if (!s || (!data && len))
        return BRINE_ERR_INVALID;
    const char *fname = name ? name : "";
    brine_drv d = {.policy = s->policy, .s = &s->s, .cb = &s->cb, .user = s->user, .global_once = s->global_once, .consumer = k,
                   .write = write, .write_user = write_user, .fail_at = s->fail_at,
                   .window_grain = s->window_grain, .arena_cache = &s->arena_cache};
    brine_loc *top = brine_loc_new(NULL, "file", "", fname, strlen(fname), 0);
    if (!top) {
        d.nomem = true;
        d.status = BRINE_STATUS_INCONCLUSIVE;
        d.error = "out of memory";
    } else {
        brine_drv_feed(&d, data ? data : (const uint8_t *)"", len, top, 0, BRINE_FEED_TOP);
        /* the views (events, disasm, dump) always show the raw reading of a
         * file that held no pickle stream: it is what pickle.load would do */
        if (k != &brine_judge_consumer && d.streams == 0 && !d.stopped)
            brine_drv_pickle(&d, data ? data : (const uint8_t *)"", len, 0, top, 0, 0, NULL);
    }
    const char *error = d.error;
    if (top && d.pickles == 0 && d.status == BRINE_STATUS_MALFORMED && len && d.streams <= 1) {
        char buf[200];
        const char *hint = magic_hint(s, data, len, buf, sizeof buf);
        snprintf(s->hint, sizeof s->hint, "not a pickle or a known container%s%s%s", hint ? " (libmagic: " : "",
                 hint ? hint : "", hint ? ")" : "");
        error = s->hint;
    }
    if (d.nomem && d.status != BRINE_STATUS_INCONCLUSIVE) {
        /* an allocation failed somewhere: the file was not fully analysed */
        d.status = BRINE_STATUS_INCONCLUSIVE;
        error = "out of memory";
    }
    if (out) {
        brine_stream_result r = {.location = fname, .format = "file", .verdict = d.verdict, .status = d.status,
                                 .error = error, .error_offset = d.error_offset, .pickles = d.pickles,
                                 .findings = d.findings, .streams = d.streams};
        *out = r;
    }
    brine_loc_free(top);
    s->allocs = d.allocs;
    if (d.nomem)
        return BRINE_ERR_NOMEM;
    return d.stopped ? BRINE_ERR_CALLBACK : 0;
}

int brine_scanner_scan_buffer(brine_scanner *s, const uint8_t *data, size_t len, const char *name,
                              brine_stream_result *out)
{
    return drive(s, &brine_judge_consumer, NULL, NULL, data, len, name, out);
}

int brine_scan_buffer(const brine_policy *policy, const brine_settings *settings, const uint8_t *data, size_t len,
                      const char *location, const brine_scan_callbacks *cb, void *user, brine_stream_result *out)
{
    brine_scanner *s;
    int r = brine_scanner_create(&s, policy, settings);
    if (r < 0)
        return r;
    if (!data && len) {
        brine_scanner_destroy(s);
        return BRINE_ERR_INVALID;
    }
    brine_scanner_set_callbacks(s, cb, user);
    r = brine_scanner_scan_buffer(s, data, len, location, out);
    if (out && out->error == s->hint)
        out->error = "not a pickle or a known container"; /* the hint's buffer dies with s */
    brine_scanner_destroy(s);
    return r;
}

/* ---- events, disasm, dump through the driver ------------------------------------------ */

typedef struct view_state {
    brine_event_fn cb;
    brine_write_fn write;
    void *user;
    const brine_settings *s;
    const brine_loc *loc;
    brine_location where;
    brine_location_step steps[64];
    brine_disasm_ctx dis;
    size_t len;
    bool dump;
} view_state;

typedef struct view {
    brine_event_fn cb;
    brine_write_fn write;
    void *user;
    bool dump;
} view;

static void *view_begin(void *self, brine_drv *d, const brine_loc *loc, const uint8_t *data, size_t len, size_t start,
                        uint64_t report_from)
{
    (void)data, (void)start, (void)report_from;
    const view *v = self;
    view_state *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->cb = v->cb;
    st->write = v->write;
    st->user = v->user;
    st->s = d->s;
    st->loc = loc;
    st->len = len;
    st->dump = v->dump;
    st->dis.out = v->write;
    st->dis.user = v->user;
    brine_loc_public(loc, &st->where, st->steps, 64);
    return st;
}

static int events_event(void *state, const brine_vm_event *ev)
{
    view_state *st = state;
    char num[32];
    brine_arena scratch;
    brine_arena_init(&scratch, 1 << 20);
    brine_event e = {ev->offset, ev->opindex, brine_op_name(ev->opcode), brine_evkind_name(ev->kind),
                     brine_event_detail(&scratch, ev, num, sizeof num), &st->where};
    if (!e.opcode)
        e.opcode = "?";
    int r = st->cb(st->user, &e);
    brine_arena_free(&scratch);
    return r;
}

static int disasm_event(void *state, const brine_vm_event *ev)
{
    view_state *st = state;
    return brine_disasm_on_event(&st->dis, ev);
}

static int disasm_trace(void *state, const brine_vm_trace *t)
{
    view_state *st = state;
    return brine_disasm_on_trace(&st->dis, t);
}

static int no_event(void *state, const brine_vm_event *ev)
{
    (void)state, (void)ev;
    return 0;
}

static void view_end(void *state, const brine_vm_result *res, brine_verdict *verdict, uint64_t *findings)
{
    view_state *st = state;
    *verdict = BRINE_VERDICT_SAFE;
    *findings = 0;
    if (st->dump)
        brine_dump_result(res, st->len, st->s, st->loc->parent ? st->loc->text : NULL, st->write, st->user);
    free(st);
}

int brine_scanner_events(brine_scanner *s, const uint8_t *data, size_t len, const char *name, brine_event_fn cb,
                         void *user, brine_stream_result *out)
{
    if (!cb)
        return BRINE_ERR_INVALID;
    view v = {.cb = cb, .user = user};
    brine_consumer k = {.self = &v, .begin = view_begin, .event = events_event, .end = view_end};
    return drive(s, &k, NULL, NULL, data, len, name, out);
}

int brine_scanner_disasm(brine_scanner *s, const uint8_t *data, size_t len, const char *name, brine_write_fn fn,
                         void *user, brine_stream_result *out)
{
    if (!fn)
        return BRINE_ERR_INVALID;
    view v = {.write = fn, .user = user};
    brine_consumer k = {.self = &v, .begin = view_begin, .event = disasm_event, .trace = disasm_trace, .end = view_end};
    return drive(s, &k, fn, user, data, len, name, out);
}

int brine_scanner_dump_json(brine_scanner *s, const uint8_t *data, size_t len, const char *name, brine_write_fn fn,
                            void *user, brine_stream_result *out)
{
    if (!fn)
        return BRINE_ERR_INVALID;
    view v = {.write = fn, .user = user, .dump = true};
    brine_consumer k = {.self = &v, .begin = view_begin, .event = no_event, .end = view_end, .first_only = true,
                         .no_nested = true};
    return drive(s, &k, NULL, NULL, data, len, name, out);
}

int brine_learner_add_file(brine_learner *l, const brine_settings *settings, const uint8_t *data, size_t len,
                           const char *location, brine_stream_result *out)
{
    if (!l || (!data && len))
        return BRINE_ERR_INVALID;
    brine_scanner *s;
    int r = brine_scanner_create(&s, brine_learner_knowledge(l), settings);
    if (r < 0)
        return r;
    brine_consumer k = brine_learn_consumer(l);
    r = drive(s, &k, NULL, NULL, data, len, location, out);
    if (out && out->error == s->hint)
        out->error = "not a pickle or a known container";
    brine_learner_count_file(l);
    brine_scanner_destroy(s);
    return r;
}

int brine_learner_add(brine_learner *l, const brine_settings *settings, const uint8_t *data, size_t len,
                      const char *location)
{
    return brine_learner_add_file(l, settings, data, len, location, NULL);
}

/* ---- files ---------------------------------------------------------------------------- */

/* Regular files up to this size are read into memory: a file truncated while
 * it is scanned cannot fault (a mapped page past the new end raises SIGBUS).
 * Larger files are mapped, so that a checkpoint costs its directory and its
 * pickles, not its tensor data; see brine_scanner_scan_fd for their guard. It
 * was 64 MiB: a 42 MB torch state dict then took 8-12 ms and 44 MB of RSS to
 * read whole, and takes 1.5 ms and 8 MB mapped; a 51 MB plain pickle, read
 * from end to end either way, is no slower mapped. */
#define BRINE_READ_LIMIT ((size_t)1 << 20)

/* Read up to cap bytes. A regular file (exact: cap is its size + 1) is read
 * into one buffer of that size, a brine_big_alloc (mapped from 256 KiB, its
 * pages made at once, huge pages from 2 MiB: an 8.7 MB pickle took 2,100 page
 * faults to read into malloc's memory, a fifth of its scan); anything else
 * into a malloc'd buffer that doubles. *bufsize is what brine_big_free is
 * given (0 for the latter). */
static int read_all(int fd, uint64_t cap, bool exact, uint8_t **out, size_t *outlen, size_t *bufsize, bool *over)
{
    size_t size = exact ? (size_t)cap : 1 << 16, len = 0;
    uint8_t *buf = exact ? brine_big_alloc(size) : malloc(size);
    *over = false;
    *bufsize = exact ? size : 0;
    if (!buf)
        return BRINE_ERR_NOMEM;
    for (;;) {
        if (len == size) {
            if (size >= cap || exact) {
                *over = true;
                break;
            }
            size_t ns = size * 2 > cap ? (size_t)cap : size * 2;
            uint8_t *nb = realloc(buf, ns);
            if (!nb) {
                free(buf);
                return BRINE_ERR_NOMEM;
            }
            buf = nb;
            size = ns;
        }
        ssize_t r = read(fd, buf + len, size - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            brine_big_free(buf, *bufsize);
            errno = e;
            return BRINE_ERR_IO;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

/* A mapped file that shrinks while brine reads it would kill the process with
 * SIGBUS at the first page past its new end. The one piece of process-wide
 * state in libbrine guards against that: a SIGBUS handler, installed once,
 * that maps a zero page over a faulting page of the mapping the faulting
 * thread is scanning, notes it, and lets the scan go on (its result is then
 * inconclusive). A fault anywhere else goes to the handler that was there
 * before, or kills the process as SIGBUS would. */
typedef struct bus_guard {
    uintptr_t base, len, page;
    volatile sig_atomic_t hit;
} bus_guard;

static __thread bus_guard *bus_current;
static struct sigaction bus_previous;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    bus_guard *g = bus_current;
    uintptr_t a = (uintptr_t)si->si_addr;
    if (g && a >= g->base && a - g->base < g->len) {
        void *p = mmap((void *)(a & ~(g->page - 1)), g->page, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1,
                       0);
        if (p != MAP_FAILED) {
            g->hit = 1;
            return;
        }
    }
    if ((bus_previous.sa_flags & SA_SIGINFO) && bus_previous.sa_sigaction) {
        bus_previous.sa_sigaction(sig, si, uc);
    } else if (bus_previous.sa_handler != SIG_DFL && bus_previous.sa_handler != SIG_IGN) {
        bus_previous.sa_handler(sig);
    } else {
        signal(SIGBUS, SIG_DFL);
        raise(SIGBUS);
    }
}

static void install_sigbus(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &bus_previous);
}

int brine_scanner_scan_fd(brine_scanner *s, int fd, const char *name, brine_stream_result *out)
{
    if (!s || fd < 0)
        return BRINE_ERR_INVALID;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return BRINE_ERR_IO;
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        return BRINE_ERR_IO;
    }
    bool regular = S_ISREG(st.st_mode);
    if (regular && (uint64_t)st.st_size > BRINE_READ_LIMIT) {
        size_t len = (size_t)st.st_size;
        void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            /* brine touches the headers and pickles of a file, not its tensor
             * data: no read-ahead around what it touches */
            madvise(p, len, MADV_RANDOM);
            pthread_once(&bus_once, install_sigbus);
            bus_guard g = {(uintptr_t)p, len, (uintptr_t)sysconf(_SC_PAGESIZE), 0};
            bus_guard *saved = bus_current;
            bus_current = &g;
            int r = brine_scanner_scan_buffer(s, p, len, name, out);
            bus_current = saved;
            struct stat after;
            bool changed = g.hit || fstat(fd, &after) < 0 || after.st_size != st.st_size ||
                           after.st_mtim.tv_sec != st.st_mtim.tv_sec || after.st_mtim.tv_nsec != st.st_mtim.tv_nsec;
            munmap(p, len);
            if (changed && out && r >= 0) {
                out->status = BRINE_STATUS_INCONCLUSIVE;
                out->error = "the file changed while it was scanned (truncated or rewritten)";
                out->error_offset = 0;
            }
            return r;
        }
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    bool over = false;
    uint64_t cap = regular ? (uint64_t)st.st_size + 1 : s->s.max_input_bytes;
    if (cap < 1)
        cap = 1;
    size_t bufsize = 0;
    int r = read_all(fd, cap, regular, &buf, &len, &bufsize, &over);
    if (r < 0)
        return r;
    bool shrank = regular && len < (size_t)st.st_size;
    if (regular && len > (size_t)st.st_size) /* it grew while read: scan what its size said */
        len = (size_t)st.st_size;
    r = brine_scanner_scan_buffer(s, buf, len, name, out);
    if (shrank && out && r >= 0) {
        out->status = BRINE_STATUS_INCONCLUSIVE;
        out->error = "the file changed while it was scanned (truncated or rewritten)";
        out->error_offset = len;
    }
    if (over && out && r >= 0 && out->status != BRINE_STATUS_INCONCLUSIVE) {
        /* a pipe or device longer than the cap: what was read is judged, the
         * rest was not seen */
        out->status = BRINE_STATUS_INCONCLUSIVE;
        out->error = "max_input_bytes: input from a pipe or device is longer than the limit";
        out->error_offset = len;
    }
    brine_big_free(buf, bufsize);
    return r;
}

int brine_scanner_scan_file(brine_scanner *s, const char *path, brine_stream_result *out)
{
    if (!s || !path)
        return BRINE_ERR_INVALID;
    /* O_NONBLOCK: a FIFO with no writer must not block the open */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return BRINE_ERR_IO;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
        /* reading blocks again (a writer may come); a FIFO without one reads as empty */
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
            fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    }
    int r = brine_scanner_scan_fd(s, fd, path, out);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

/* For consumers in other files (explain.c): the driver over one file. */
int brine_scanner_drive(brine_scanner *s, const brine_consumer *k, const uint8_t *data, size_t len, const char *name,
                        brine_stream_result *out)
{
    return drive(s, k, NULL, NULL, data, len, name, out);
}
