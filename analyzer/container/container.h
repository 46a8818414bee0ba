/* Containers: finding every pickle in a file by its content (internal).
 *
 * brine_scan_buffer() makes one context per file and hands the bytes to
 * brine_scan_blob(), which asks each reader of the table in container.c
 * whether the bytes are its format (libmagic's answer is only a hint; the
 * readers' own sniffers decide) and lets the first that says yes walk them.
 * Readers call back into brine_scan_blob() for what they contain (an npz
 * member is an npy; a gzip stream may hold a tar) and into
 * brine_scan_pickle() for pickle streams. Every stream has a location:
 * "model.pt!archive/data.pkl", "m.joblib!<zlib>", "outer.pkl@0x20!<nested>".
 *
 * The whole file is in memory (mapped by the caller), so readers walk it in
 * place rather than through open/next/close: a reader touches only the bytes
 * it parses, and a tensor member of a multi-gigabyte checkpoint is never read.
 */
#ifndef BRINE_CONTAINER_H
#define BRINE_CONTAINER_H

#include "brine.h"
#include "policy.h"
#include "value.h"

typedef struct brine_ctx {
    const brine_policy *policy;
    const brine_settings *s;
    const brine_scan_callbacks *cb;
    void *user;
    brine_verdict verdict;  /* worst over the file */
    brine_status status;
    const char *error;      /* first error of the worst status (static text) */
    uint64_t error_offset;
    uint64_t findings, streams, pickles;
    uint64_t members, decompressed, nested;
    bool stopped;
    bool nomem;
    char hint[320];         /* libmagic's word on unknown content, for the error */
    bool zip_prefix_scanned; /* the bytes before a zip were already scanned as a pickle */
} brine_ctx;

/* Scan bytes whose format is unknown. top: the file itself (unknown content
 * is scanned as a pickle); inside a container, content that looks like no
 * pickle and no container is data and is left alone. */
int brine_scan_blob(brine_ctx *c, const uint8_t *data, size_t len, const char *location, unsigned depth, bool top);

/* Scan a pickle stream that starts at data[start]; the pickles run to their
 * STOPs (several back to back). flags: BRINE_PICKLE_* below. *end receives
 * the offset after the last pickle analysed (may be NULL). */
#define BRINE_PICKLE_FIRST_ONLY 1u /* one pickle (np.load / joblib nested arrays) */
#define BRINE_PICKLE_JOBLIB 2u     /* skip array data after NumpyArrayWrapper BUILDs */
#define BRINE_PICKLE_QUIET_STATUS 4u /* a second reading: only its findings count */
int brine_scan_pickle(brine_ctx *c, const uint8_t *data, size_t len, size_t start, const char *location,
                      unsigned depth, unsigned flags, size_t *end);

/* A finding about the container itself (zip disagreements, trailing data...). */
int brine_ctx_finding(brine_ctx *c, const char *location, uint64_t offset, brine_verdict v, brine_severity sev,
                      const char *kind, const char *rule, const char *message);

/* Record the status of a container stream (malformed / inconclusive) and
 * report it to the stream callback. */
int brine_ctx_stream(brine_ctx *c, const char *location, const char *format, brine_verdict v, brine_status st,
                     const char *error, uint64_t error_offset);

/* Merge a stream's outcome into the file's. */
void brine_ctx_merge(brine_ctx *c, brine_verdict v, brine_status st, const char *error, uint64_t error_offset);

/* "parent" + sep + "child", malloc'd (NULL on failure). */
char *brine_loc_join(const char *parent, const char *sep, const char *child);

/* Readers. */
bool brine_zip_probe(const uint8_t *d, size_t n);
int brine_zip_scan(brine_ctx *c, const uint8_t *d, size_t n, const char *loc, unsigned depth);
bool brine_npy_probe(const uint8_t *d, size_t n);
int brine_npy_scan(brine_ctx *c, const uint8_t *d, size_t n, const char *loc, unsigned depth);

/* Is this a container brine reads (zip, npy, legacy torch, tar/7z, compressed)? */
bool brine_looks_like_container(const uint8_t *d, size_t n);

/* Heuristic used by readers for members: could these bytes be a pickle? */
bool brine_looks_like_pickle(const uint8_t *d, size_t n);

#endif
