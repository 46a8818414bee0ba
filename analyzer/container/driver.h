/* The stream driver (internal): everything between "bytes of a file" and
 * "one pickle stream for the VM".
 *
 * Shape (a star, not a circle): the driver owns the one sniffer, the reader
 * table, the per-file limits and counters, the nested-pickle decision and the
 * roll-up of verdicts. Readers (zip.c, npy.c, torch_legacy.c, compress.c,
 * archive.c, joblib.c) parse their format and hand every stream they find back
 * to the driver through brine_drv_feed() or brine_drv_pickle(); they never
 * call each other. What is done with a pickle stream (judge it, print its
 * events, disassemble it, dump its value, learn from it) is a consumer, so
 * every command sees every container the same way.
 *
 * Fail closed: anything that could hold a pickle and was not analysed (an
 * allocation failure, an unsupported member, a limit) goes through
 * brine_drv_fail(), which makes the file inconclusive with a finding that says
 * why. Nothing is skipped silently.
 */
#ifndef BRINE_DRIVER_H
#define BRINE_DRIVER_H

#include "brine.h"
#include "policy.h"
#include "value.h"
#include "vm.h"

/* ---- locations -------------------------------------------------------------------- */

/* One step of a location; the chain runs to the file. Immutable once made. */
typedef struct brine_loc {
    const struct brine_loc *parent;
    const char *kind;   /* "file", "member", "decompressed", "nested", "region" */
    const char *format; /* format of the container the step is read from */
    char *name;         /* printable name (\xNN escapes), or NULL */
    uint64_t offset;    /* where the step starts in its parent */
    unsigned depth;     /* number of steps */
    char *text;         /* the flat form */
} brine_loc;

/* A step below @p parent. name may be NULL (a region: "parent@0x20");
 * namelen: bytes of name (escaped as needed). NULL on allocation failure. */
brine_loc *brine_loc_new(const brine_loc *parent, const char *kind, const char *format, const void *name,
                         size_t namelen, uint64_t offset);
void brine_loc_free(brine_loc *l);

/* ---- the per-file driver context ------------------------------------------------------ */

typedef struct brine_drv brine_drv;

/* What is done with each pickle stream. begin() makes the per-stream state,
 * event()/trace() receive the VM's output (nested constants and joblib's
 * array data are the driver's business and never reach them), end() gets the
 * VM's result, says the stream's verdict and number of findings, and frees
 * the state. */
typedef struct brine_consumer {
    void *self;
    void *(*begin)(void *self, brine_drv *d, const brine_loc *loc, const uint8_t *data, size_t len, size_t start,
                   uint64_t report_from);
    int (*event)(void *state, const brine_vm_event *ev);
    int (*trace)(void *state, const brine_vm_trace *t); /* may be NULL */
    void (*end)(void *state, const brine_vm_result *res, brine_verdict *verdict, uint64_t *findings);
    bool first_only; /* one pickle per stream is enough (dump) */
    bool no_nested;  /* constants are part of the value (dump): not streams of their own */
    bool kinds;        /* needs no values: data-only pickles may take the kinds pass (judge) */
    bool all_readings; /* also the second readings (joblib's bytes as plain pickle, other
                          unpicklers, a container's raw reading): judge and learn, not the views */
} brine_consumer;

struct brine_drv {
    const brine_policy *policy;
    const brine_settings *s;
    const brine_scan_callbacks *cb;
    void *user;
    bool global_once; /* cb->global once for each name and use in a stream (brine_scanner_set_global_once) */
    const brine_consumer *consumer;
    brine_write_fn write; /* disasm/dump headers; may be NULL */
    void *write_user;
    brine_verdict verdict; /* worst over the file */
    brine_status status;
    const char *error;     /* first error of the worst status (static text or errbuf) */
    char errbuf[320];
    uint64_t error_offset;
    uint64_t findings, streams, pickles;
    uint64_t members, decompressed, nested;
    bool stopped;
    bool nomem;
    bool zip_prefix_scanned; /* the bytes before a zip were already read as a pickle */
    uint64_t fail_at, allocs; /* fault injection (brine_drv_fault) */
    size_t window_grain;      /* tests: windows read their source in pieces this small */
    brine_arena_cache *arena_cache; /* the scanner's: the streams' arenas reuse its blocks (or NULL) */
};

/* How brine_drv_feed() treats bytes whose format it sniffs. */
typedef enum brine_feed {
    BRINE_FEED_TOP,      /* a file (or what a compression of the file holds): the raw reading is a pickle */
    BRINE_FEED_LOADED,   /* a member the loader designates (torch's data.pkl, an npz's .npy): read it */
    BRINE_FEED_MEMBER,   /* any other member: a container, or a pickle if loading it would run something */
    BRINE_FEED_NESTED    /* a constant of a pickle: the same decision as a member */
} brine_feed;

/* The one entry for bytes of unknown format. */
int brine_drv_feed(brine_drv *d, const uint8_t *data, size_t len, const brine_loc *loc, unsigned depth, brine_feed how);

/* Run the consumer over the pickle stream at data[start..len). flags below.
 * *end receives the offset after the last pickle analysed (may be NULL). */
#define BRINE_PICKLE_FIRST_ONLY 1u   /* one pickle (np.load, joblib's object arrays, legacy torch) */
#define BRINE_PICKLE_JOBLIB 2u       /* skip array data after NumpyArrayWrapper BUILDs */
#define BRINE_PICKLE_QUIET_STATUS 4u /* a second reading: only its findings count */
int brine_drv_pickle(brine_drv *d, const uint8_t *data, size_t len, size_t start, const brine_loc *loc, unsigned depth,
                     unsigned flags, size_t *end);

/* Would loading these bytes as a pickle run anything (an import, a call, a
 * BUILD, items on an object, a persistent id, an extension code), before it
 * stops at STOP or at an error? The one test for nested constants, trailing
 * data and members. */
bool brine_drv_would_run(const brine_drv *d, const uint8_t *data, size_t len);

/* A finding about a container (zip disagreements, trailing data...). */
int brine_drv_finding(brine_drv *d, const brine_loc *loc, uint64_t offset, brine_verdict v, brine_severity sev,
                      const char *kind, const char *rule_id, const char *rule, const char *message);
/* The result of a container stream, reported to the stream callback and merged. */
int brine_drv_stream(brine_drv *d, const brine_loc *loc, const char *format, brine_verdict v, brine_status st,
                     const char *error, uint64_t error_offset);
/* Something that could hold a pickle was not analysed: inconclusive (or
 * malformed), with a finding, never silent. why is static text. */
int brine_drv_fail(brine_drv *d, const brine_loc *loc, const char *format, brine_status st, const char *why,
                   uint64_t offset);
/* Merge an outcome into the file's. */
void brine_drv_merge(brine_drv *d, brine_verdict v, brine_status st, const char *error, uint64_t error_offset);

/* Fill a public brine_location (steps in @p steps, at most @p max) from a chain. */
void brine_loc_public(const brine_loc *l, brine_location *out, brine_location_step *steps, size_t max);

/* Decompression shared by readers: output capped by max_decompressed and
 * max_ratio, checked against what was really produced. */
typedef struct brine_outbuf {
    uint8_t *buf;
    size_t len, cap;
    const char *error; /* a cap was hit or the stream is corrupt */
    bool inconclusive; /* a cap or an allocation (not corruption) */
} brine_outbuf;
/* Make room for up to @p want more bytes: returns how many may be written at
 * o->buf + o->len (0: a cap was hit or memory ran out; o->error says which). */
size_t brine_outbuf_room(brine_drv *d, brine_outbuf *o, uint64_t in_len, size_t want);
/* How many more bytes (at most want) the caps let a stream that has produced
 * @p produced bytes from @p in_len give; 0 with o->error set when none. */
size_t brine_outbuf_allowed(brine_drv *d, brine_outbuf *o, uint64_t in_len, uint64_t produced, size_t want);

/* ---- streams too large to hold (decompressed beyond max_buffered) ------------------- */

/* Bytes of a stream's start the sniffer and the first-opcode checks look at. */
#define BRINE_SNIFF_BYTES ((size_t)1 << 16)

/* A stream that is produced again for each reading (src), with its first
 * BRINE_SNIFF_BYTES (head) and its last bytes (tail, where a zip's end record
 * would be) kept from the first reading. */
typedef struct brine_big {
    const brine_vm_source *src;
    const uint8_t *head;
    size_t headn;
    const uint8_t *tail;
    size_t tailn;
} brine_big;

/* Would the sniffer see a container (which is then read whole: its reader
 * needs random access)? It may say yes where brine_drv_feed would not (a
 * stream is then only buffered), never no where it would say yes. */
bool brine_drv_big_is_container(const brine_big *b);
/* brine_drv_feed for such a stream that is no container: its pickle
 * readings go through a window. */
int brine_drv_feed_big(brine_drv *d, const brine_big *b, const brine_loc *loc, unsigned depth, brine_feed how);
/* All of a source, read again into one buffer (NULL: out of memory). */
uint8_t *brine_drv_read_whole(brine_drv *d, const brine_vm_source *src);
/* brine_drv_pickle over an input that may be a window (joblib's object
 * arrays, read in place). */
int brine_drv_pickle_in(brine_drv *d, const brine_vm_input *in, size_t start, const brine_loc *loc, unsigned depth,
                        unsigned flags, size_t *end);

/* ---- the consumers ---------------------------------------------------------------- */

/* scan: judge every event against d->policy (analyzer/scan/judge.c) */
extern const brine_consumer brine_judge_consumer;
/* learn: accumulate what each stream uses (analyzer/policy/learn.c) */
brine_consumer brine_learn_consumer(brine_learner *l);
void brine_learner_count_file(brine_learner *l);
const brine_policy *brine_learner_knowledge(const brine_learner *l);
/* events, disasm, dump: analyzer/scan/scanner.c; explain: analyzer/scan/explain.c, through
 * brine_scanner_drive (scanner.c), the driver over one file with any consumer */
int brine_scanner_drive(brine_scanner *s, const brine_consumer *k, const uint8_t *data, size_t len, const char *name,
                        brine_stream_result *out);

/* ---- readers ------------------------------------------------------------------------ */

typedef struct brine_reader {
    const char *name;
    bool (*probe)(const uint8_t *d, size_t n);
    int (*walk)(brine_drv *d, const uint8_t *data, size_t n, const brine_loc *loc, unsigned depth);
} brine_reader;

bool brine_torch_legacy_probe(const uint8_t *d, size_t n);
int brine_torch_legacy_walk(brine_drv *d, const uint8_t *data, size_t n, const brine_loc *loc, unsigned depth);
/* the old tar layout's 'storages' and 'tensors' members (torch_legacy.c) */
int brine_torch_tar_member(brine_drv *d, const uint8_t *data, size_t n, const brine_loc *loc, unsigned depth,
                           bool storages);
bool brine_zip_probe(const uint8_t *d, size_t n);
int brine_zip_walk(brine_drv *d, const uint8_t *data, size_t n, const brine_loc *loc, unsigned depth);
bool brine_npy_probe(const uint8_t *d, size_t n);
int brine_npy_walk(brine_drv *d, const uint8_t *data, size_t n, const brine_loc *loc, unsigned depth);
bool brine_archive_probe(const uint8_t *d, size_t n);
int brine_archive_walk(brine_drv *d, const uint8_t *data, size_t n, const brine_loc *loc, unsigned depth);
bool brine_compress_probe(const uint8_t *d, size_t n);
int brine_compress_walk(brine_drv *d, const uint8_t *data, size_t n, const brine_loc *loc, unsigned depth);

/* joblib: the bytes after a NumpyArrayWrapper BUILD (a vm build hook). */
typedef struct brine_joblib {
    brine_drv *d;
    const brine_loc *loc;
    unsigned depth;
    uint64_t skipped;    /* array bytes skipped */
    uint64_t first_skip; /* where the first skip started */
} brine_joblib;
int64_t brine_joblib_after_build(void *user, const brine_value *target, const brine_value *state,
                                 const brine_vm_input *in, uint64_t pos, const char **msg);

/* A step below parent, made for d: the same as brine_loc_new, and a point
 * where the fault-injection test can make an allocation fail. */
brine_loc *brine_drv_loc(brine_drv *d, const brine_loc *parent, const char *kind, const char *format, const void *name,
                         size_t namelen, uint64_t offset);

/* Fault injection for tests: true when this allocation is the one to fail
 * (d->fail_at counts allocation points on the driver's paths; 0: never). */
static inline bool brine_drv_fault(brine_drv *d)
{
    return ++d->allocs == d->fail_at;
}

#endif
