/* Internals shared by the report writers (not installed, not for the binding). */
#ifndef BRINE_REPORT_INT_H
#define BRINE_REPORT_INT_H

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "report.h"

/* A growable text buffer; on allocation failure it sets oom and stops growing. */
typedef struct rbuf {
    char *p;
    size_t len, cap;
    bool oom;
} rbuf;

void rbuf_put_slow(rbuf *b, const char *s, size_t n);
/* Inline, so that a literal's length and copy are known where it is written
 * (a file's JSON entry is two dozen literals: strlen and the call were 2-3%
 * of a run over small files); the buffer grows out of line. */
static inline void rbuf_put(rbuf *b, const char *s, size_t n)
{
    if (!b->oom && b->cap - b->len > n) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = 0;
    } else {
        rbuf_put_slow(b, s, n);
    }
}

static inline void rbuf_puts(rbuf *b, const char *s)
{
    rbuf_put(b, s, strlen(s));
}
void rbuf_printf(rbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* a number in decimal, without printf (a file's entry has a dozen: printf was a tenth of a small file's cost) */
void rbuf_u64(rbuf *b, uint64_t v);
/* A JSON string, quoted: control characters escaped, bytes that are not UTF-8
 * written as the text \xNN (the document stays valid UTF-8). NULL -> null. */
void rbuf_json_str(rbuf *b, const char *s);
void rbuf_free(rbuf *b);
/* Hand the buffer to out and empty it. */
int rbuf_flush(rbuf *b, brine_write_fn out, void *user);

/* ---- what a collector holds ---- */

typedef struct rstep {
    const char *kind, *format, *name;
    uint64_t offset;
} rstep;

typedef struct rloc {
    const char *text;
    size_t depth;
    rstep *steps;
} rloc;

typedef struct rfinding {
    int loc;
    uint64_t offset, opindex;
    const char *opcode, *kind, *name, *call, *rule, *message, *rule_id, *rule_pack, *rule_file;
    unsigned rule_line;
    brine_verdict verdict;
    brine_severity severity;
} rfinding;

typedef struct rstream {
    int loc;
    int parent; /* index of the enclosing stream, -1 for a top stream */
    const char *format, *error;
    brine_verdict verdict;
    brine_status status;
    uint64_t error_offset;
} rstream;

typedef struct rglobal {
    const char *name;
    uint64_t uses[4]; /* by brine_use */
} rglobal;

/* a string-keyed index (open addressing) */
typedef struct rstrindex {
    int *slot; /* -1 empty, else item index */
    size_t cap;
} rstrindex;

typedef struct rblock rblock;

struct brine_report_file {
    const brine_policy *policy;
    char policy_hash[17]; /* computed on first use */
    bool has_identity;
    const char *path;
    rblock *pool;
    size_t pool_used;
    rloc *locs;
    size_t nlocs, caplocs;
    rstrindex loc_index;
    rfinding *finds;
    size_t nfinds, capfinds;
    uint64_t findings_seen;
    rstream *streams;
    size_t nstreams, capstreams;
    uint64_t streams_seen;
    rglobal *globals;
    size_t nglobals, capglobals;
    rstrindex global_index;
    uint64_t globals_dropped;
    bool oom;
    /* the end */
    bool ended, failed;
    int scan_rc;
    int errnum;
    const char *fail_message;
    brine_stream_result res;
    uint64_t size;
    bool has_sha;
    char sha256[65];
    double seconds;
    /* the entry as the report will write it, rendered ahead by the thread that
     * scanned the file (brine_report_render); pre_ready: it is whole */
    rbuf pre;
    bool pre_ready;
};

/* The sorted order of the globals (indexes), for deterministic output. */
size_t *report_sorted_globals(const brine_report_file *f);

/* The text writer and the SARIF writer (report_text.c, report_sarif.c). */
void report_text_file(rbuf *b, const brine_report_file *f, const brine_report_options *o);
typedef struct sarif_state sarif_state;
sarif_state *report_sarif_new(void);
void report_sarif_free(sarif_state *s);
void report_sarif_begin(rbuf *b, sarif_state *s, const brine_report_options *o, const char *cwd);
void report_sarif_file(rbuf *b, sarif_state *s, const brine_report_file *f, const brine_report_options *o,
                       const char *cwd, bool *first);
void report_sarif_end(rbuf *b, sarif_state *s, const brine_policy *p, const char *hash, const char *packs);

/* Names and helpers shared by the writers. */
const char *report_outcome_name(brine_report_outcome o);
/* The permission a not-allowed finding asks for ("import", "call", "build",
 * "items"), or NULL if the finding is not about a missing allow entry. */
const char *report_missing_permission(const rfinding *x);

#endif
