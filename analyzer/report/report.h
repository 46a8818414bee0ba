/*
 * report.h - brine's report writers (a static library, analyzer/report/).
 *
 * Who uses it: the `brine` command and the Python binding. Both produce the
 * same reports because both go through this library, which is itself a plain
 * client of include/brine.h: it consumes the scanner callbacks (findings,
 * streams, globals) and never reaches below the public header.
 *
 * Two objects:
 *
 *  - brine_report_file collects what the scanner says about ONE file (its
 *    findings, stream tree, global inventory, result, size, sha256, timing).
 *    Feed it by passing brine_report_file_callbacks() and the collector to
 *    brine_scanner_set_callbacks(), then close it with brine_report_file_end()
 *    (or brine_report_file_fail() when the file could not be read). It is
 *    reused for the next file with brine_report_file_begin(). One collector per
 *    thread; it is not thread-safe itself. Memory is bounded: at most
 *    BRINE_REPORT_MAX_ITEMS findings, streams and distinct globals are kept per
 *    file (the counts stay exact and the report says what was truncated).
 *
 *  - brine_report writes a batch of files in one format (text, json, jsonl,
 *    sarif) through a brine_write_fn. Files are added in the order they should
 *    appear; brine_report_finish() closes the document (json, sarif) or prints
 *    the summary (text). Memory does not grow with the number of files (SARIF
 *    keeps one entry per distinct rule id).
 *
 * The JSON per-file object (doc/report.md, doc/report-schema.json) is also
 * available on its own through brine_report_file_json(): that is the line of
 * `--format jsonl` and an element of "files" in `--format json`.
 *
 * Functions return 0 or a negative brine_error, like libbrine.
 */
#ifndef BRINE_REPORT_H
#define BRINE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>

#include "brine.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The schema name written at the top of a JSON report. */
#define BRINE_REPORT_SCHEMA "brine-report/1"

/** Per file, at most this many findings, streams and distinct globals are kept. */
#define BRINE_REPORT_MAX_ITEMS 10000

/* ---- the per-file collector ------------------------------------------------ */

typedef struct brine_report_file brine_report_file;

/**
 * @param out     receives the collector (release with brine_report_file_destroy)
 * @param policy  the policy the file is scanned with (its identity goes into
 *                the report); it must outlive the collector
 * @returns 0 or BRINE_ERR_NOMEM / BRINE_ERR_INVALID
 */
int brine_report_file_create(brine_report_file **out, const brine_policy *policy);
/**
 * Another collector for the same policy, sharing the policy identity that
 * @p like has computed (computing the identity hashes the whole policy, a
 * few milliseconds: a batch with many collectors computes it once).
 */
int brine_report_file_create_like(brine_report_file **out, const brine_report_file *like);
void brine_report_file_destroy(brine_report_file *f);

/** The callbacks to give brine_scanner_set_callbacks() with user = the collector. */
const brine_scan_callbacks *brine_report_file_callbacks(void);
/** The same without the inventory of globals (for the text report, which does not show it). */
const brine_scan_callbacks *brine_report_file_callbacks_no_globals(void);

/** Start a new file: forget the previous one. @p path names it in reports (copied). */
int brine_report_file_begin(brine_report_file *f, const char *path);

/**
 * The file was scanned.
 * @param scan_rc   what brine_scanner_scan_* returned (BRINE_ERR_NOMEM: the
 *                  result is inconclusive, which @p res already says)
 * @param res       the file's result from the scanner (copied)
 * @param size      bytes scanned
 * @param sha256    64 lowercase hex digits of the bytes, or NULL if not computed
 * @param seconds   wall time of reading and scanning
 */
void brine_report_file_end(brine_report_file *f, int scan_rc, const brine_stream_result *res, uint64_t size,
                           const char *sha256, double seconds);

/**
 * The file could not be read (missing, permission, a directory, a loop...).
 * @param errnum   the errno value (0 if none)
 * @param message  what went wrong (copied); NULL: strerror(errnum)
 */
void brine_report_file_fail(brine_report_file *f, int errnum, const char *message);

/** How a file turned out, for exit codes and summaries. */
typedef enum brine_report_outcome {
    BRINE_OUTCOME_SAFE = 0,       /**< safe and complete */
    BRINE_OUTCOME_INCOMPLETE = 1, /**< nothing unsafe found, but malformed or inconclusive */
    BRINE_OUTCOME_SUSPICIOUS = 2, /**< verdict suspicious */
    BRINE_OUTCOME_DANGEROUS = 3,  /**< verdict dangerous */
    BRINE_OUTCOME_UNREADABLE = 4  /**< could not be read */
} brine_report_outcome;

brine_report_outcome brine_report_file_outcome(const brine_report_file *f);
/** The file's result as the scanner gave it (undefined for an unreadable file). */
const brine_stream_result *brine_report_file_result(const brine_report_file *f);
uint64_t brine_report_file_size(const brine_report_file *f);
/** Why the file is unreadable, malformed or inconclusive; NULL for a complete file. */
const char *brine_report_file_error(const brine_report_file *f);
const char *brine_report_file_path(const brine_report_file *f);

/**
 * Write the per-file JSON object (doc/report.md, "file"), on one line, with
 * no newline after it. This is exactly a line of `brine scan --format jsonl`.
 */
int brine_report_file_json(const brine_report_file *f, brine_write_fn out, void *user);

/* ---- batch writers ---------------------------------------------------------- */

typedef enum brine_report_format {
    BRINE_REPORT_TEXT = 0,
    BRINE_REPORT_JSON = 1,
    BRINE_REPORT_JSONL = 2,
    BRINE_REPORT_SARIF = 3
} brine_report_format;

typedef struct brine_report_options {
    brine_report_format format;
    bool quiet;        /**< text: only the line per file, and streams that are not safe+complete */
    bool color;        /**< text: ANSI colours */
    bool no_summary;   /**< text: no batch summary line */
    const char *cwd;   /**< SARIF: artifact URIs are made relative to it (NULL: the process cwd) */
} brine_report_options;

typedef struct brine_report brine_report;

/**
 * @param policy  the policy of the batch (identity in the report header)
 * @param out     receives every byte of the report
 * @returns 0 or a negative brine_error (from @p out: BRINE_ERR_IO)
 */
int brine_report_create(brine_report **rep, const brine_report_options *opt, const brine_policy *policy,
                        brine_write_fn out, void *user);
/** Add one finished file (written now for text, json and jsonl; results now for sarif). */
int brine_report_add(brine_report *r, const brine_report_file *f);
/**
 * Render a finished file's entry ahead of brine_report_add, in the file's own
 * buffer, so that the thread that scanned it does the work while another adds
 * results in order; brine_report_add then writes the text as it is. It reads
 * only the report's options: threads may render different files at once.
 * SARIF entries depend on what came before and are not rendered ahead.
 * @returns 0 or BRINE_ERR_NOMEM (then brine_report_add renders it itself)
 */
int brine_report_render(const brine_report *r, brine_report_file *f);
/**
 * Close the report: the closing brackets (json), the rules and the end of
 * the run (sarif), the summary line (text).
 * @param seconds  wall time of the batch (for the summary)
 */
int brine_report_finish(brine_report *r, double seconds);
void brine_report_destroy(brine_report *r);

/* ---- helpers ---------------------------------------------------------------- */

/** SHA-256 of @p len bytes as 64 lowercase hex digits and a NUL. */
void brine_report_sha256(const uint8_t *data, size_t len, char hex[65]);
/* SHA-256 of what an open file holds, read with pread from offset 0. */
void brine_report_sha256_fd(int fd, char hex[65]);

/**
 * A SHA-256 computed beside the scan of the same bytes: on a thread of its
 * own when the bytes are large (BRINE_HASH_BESIDE_MIN or more) and a core is
 * free for it (the process may use more cores than @p scanning, the files
 * its threads scan at once), else at once, on the caller's thread. The bytes
 * (or the file) must stay as they are until brine_report_sha256_end, which
 * every begin needs. @p data NULL: the file @p fd holds, read with pread, as
 * brine_report_sha256_fd does (@p len its size, to decide).
 */
typedef struct brine_report_sha256_job {
    const uint8_t *data;
    size_t len;
    int fd;
    bool threaded;
    bool pinned; /* started on another core than its creator's */
    pthread_t thread;
    char hex[65];
} brine_report_sha256_job;
#define BRINE_HASH_BESIDE_MIN ((size_t)512 << 10)
void brine_report_sha256_begin(brine_report_sha256_job *j, const uint8_t *data, size_t len, int fd, long scanning);
/** Wait for the hash (if it ran beside) and copy its hex digits to @p hex. */
void brine_report_sha256_end(brine_report_sha256_job *j, char hex[65]);

/** An incremental SHA-256 (for files read in pieces). */
typedef struct brine_report_hash {
    uint64_t opaque[64];
} brine_report_hash;
void brine_report_hash_init(brine_report_hash *h);
void brine_report_hash_update(brine_report_hash *h, const uint8_t *data, size_t len);
void brine_report_hash_hex(brine_report_hash *h, char hex[65]);

#ifdef __cplusplus
}
#endif
#endif
