/*
 * brine.h - the public API of libbrine, a static analyzer for Python pickles.
 *
 * libbrine runs a pickle's opcodes on a symbolic virtual machine that mirrors
 * CPython's C unpickler (Modules/_pickle.c), imports nothing and executes
 * nothing, and reports every step that would run code.
 *
 * Ownership, in one paragraph: the caller owns every input buffer and must
 * keep it alive for the duration of a call; libbrine never keeps a pointer to
 * it after the call returns. Strings handed to a callback (events, findings,
 * output chunks) are owned by libbrine and valid only during that callback.
 * Objects returned through `T **out` are owned by the caller and released with
 * the matching `_destroy`, which accepts NULL. libbrine never prints: all
 * output goes through callbacks. There is no global state, with one
 * exception: brine_scanner_scan_file/_scan_fd map large regular files, and
 * the first such scan installs a SIGBUS handler (once per process) that turns
 * a fault in brine's own mapping (the file shrank while it was scanned) into
 * zero pages and an inconclusive result; any other SIGBUS goes to the handler
 * installed before, or kills the process as it would have. A compiled policy
 * is immutable and may be shared by threads.
 *
 * Functions return 0 on success or a negative brine_error. A pickle that
 * CPython would reject is not an error of the API: it is a result
 * (BRINE_STATUS_MALFORMED) reported through the normal path.
 */
#ifndef BRINE_H
#define BRINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(BRINE_BUILDING_LIBRARY) && defined(__GNUC__)
#define BRINE_API __attribute__((visibility("default")))
#else
#define BRINE_API
#endif

/** Error codes of the API (negative), never a verdict on a pickle. */
typedef enum brine_error {
    BRINE_OK = 0,
    BRINE_ERR_NOMEM = -1,      /**< an allocation failed */
    BRINE_ERR_INVALID = -2,    /**< a bad argument (NULL where not allowed, ...) */
    BRINE_ERR_IO = -3,         /**< a file could not be read */
    BRINE_ERR_POLICY = -4,     /**< a policy file is invalid (see brine_diag) */
    BRINE_ERR_CALLBACK = -5    /**< a callback asked to stop */
} brine_error;

/** @returns a static, human-readable description of a brine_error. */
BRINE_API const char *brine_strerror(int err);

/** @returns the version string of the library, e.g. "0.1.0". */
BRINE_API const char *brine_version(void);

/*
 * Limits. Every resource the VM uses is bounded by one of these; hitting a
 * limit ends the analysis of the stream with BRINE_STATUS_INCONCLUSIVE, never a
 * crash and never unbounded memory. brine_settings_default() fills the
 * documented defaults; a caller may change any field (0 is not "unlimited":
 * it is a limit of zero).
 */
typedef struct brine_settings {
    uint64_t max_opcodes;  /**< opcodes per stream (default 50,000,000) */
    uint64_t max_stack;    /**< objects on the VM stack (default 1,000,000) */
    uint64_t max_marks;    /**< MARKs open at once (default 100,000) */
    uint64_t max_memo;     /**< memo entries (default 16,777,216) */
    uint64_t max_bytes;    /**< bytes of values the VM retains (default 256 MiB) */
    uint64_t max_depth;    /**< nesting depth walked when hashing, comparing or
                                writing a value (default 2,000) */
    uint64_t max_output;   /**< nodes written by brine_dump_json, a leaf's bytes counting one
                                node per 64 (default 10,000,000) */
    uint64_t max_pickles;  /**< pickles back to back in one stream (default 10,000) */
    uint64_t max_decompressed; /**< bytes produced by decompression, per file (default 1 GiB) */
    uint64_t max_ratio;        /**< decompressed/compressed size of one stream (default 2,000) */
    uint64_t max_archive_depth;/**< containers inside containers (default 8) */
    uint64_t max_members;      /**< archive members looked at, per file (default 100,000) */
    uint64_t max_nested;       /**< pickles found inside pickle constants, per file (default 1,000) */
    uint64_t max_input_bytes;  /**< bytes read from a non-regular input (pipe, stdin, device)
                                    (default 4 GiB) */
    uint64_t max_buffered;     /**< decompressed bytes held whole; a longer decompressed stream is
                                    read forward through a window and decompressed again for each
                                    reading, so it costs what the analysis keeps (default 32 MiB) */
} brine_settings;

/** Fill @p s with the default limits. */
BRINE_API void brine_settings_default(brine_settings *s);

/** Outcome of analysing one pickle stream. */
typedef enum brine_status {
    BRINE_STATUS_COMPLETE = 0,     /**< every opcode was modelled */
    BRINE_STATUS_MALFORMED = 1,    /**< CPython would raise part way */
    BRINE_STATUS_INCONCLUSIVE = 2  /**< a limit was hit (or input unsupported) */
} brine_status;

/** @returns "complete", "malformed" or "inconclusive". */
BRINE_API const char *brine_status_name(brine_status st);

/** Output sink: receives @p len bytes of text. Return 0 to go on, non-zero to stop. */
typedef int (*brine_write_fn)(void *user, const char *text, size_t len);

/**
 * Where a stream sits: the chain from the file down to the stream. Step 0 is
 * the file itself; each further step is one container (a zip member, a
 * decompressed stream, a pickle held as a constant inside another pickle, a
 * region at an offset such as the bytes before a zip). Valid during the
 * callback only.
 */
typedef struct brine_location_step {
    const char *kind;    /**< "file", "member", "decompressed", "nested", "region" */
    const char *format;  /**< format of the container this step is read from:
                              "zip", "tar", "gzip", "pickle", "npy", ... ("" for the file) */
    const char *name;    /**< member name (non-printable bytes as \xNN), a tag such
                              as "<gzip>" or "<nested>", or the file's name */
    uint64_t offset;     /**< where the step starts in its parent (bytes) */
} brine_location_step;

typedef struct brine_location {
    const char *text;                 /**< flat form: "model.pt!archive/data.pkl", "x.pkl@0x20!<nested>" */
    size_t depth;                     /**< number of steps (at least 1) */
    const brine_location_step *steps; /**< steps[0] is the file */
} brine_location;

/*
 * Events: every step of the load that could run code, in the order the
 * unpickler would take it. doc/events.md is the contract for kinds and details.
 */
typedef struct brine_event {
    uint64_t offset;     /**< byte offset of the opcode in the stream */
    uint64_t opindex;    /**< index of the opcode, counted from the stream start */
    const char *opcode;  /**< pickletools name of the opcode, e.g. "REDUCE" */
    const char *kind;    /**< "import", "call", "build", ... (doc/events.md) */
    const char *detail;  /**< what the event is about, rendered as text */
    const brine_location *where; /**< the stream (brine_scanner_events); NULL from brine_events */
} brine_event;

/** Event sink: return 0 to go on, non-zero to stop the analysis. */
typedef int (*brine_event_fn)(void *user, const brine_event *ev);

/**
 * Run the symbolic VM over @p data and report every event.
 * Several pickles back to back are run one after the other.
 * @param data      the stream (not copied; must stay valid during the call)
 * @param len       its length in bytes
 * @param settings  limits, or NULL for the defaults
 * @param cb        called once per event
 * @param user      passed to @p cb
 * @param status    receives the worst status over all pickles (may be NULL)
 * @returns 0, or a negative brine_error (BRINE_ERR_CALLBACK if @p cb stopped)
 */
BRINE_API int brine_events(const uint8_t *data, size_t len, const brine_settings *settings,
                           brine_event_fn cb, void *user, brine_status *status);

/**
 * Disassemble @p data in the spirit of pickletools.dis: offset, opcode,
 * argument, stack depth and memo index per line; the malformation, where
 * CPython would raise, as the last line. Follows back-to-back pickles.
 * @returns 0, or a negative brine_error
 */
BRINE_API int brine_disasm(const uint8_t *data, size_t len, const brine_settings *settings,
                           brine_write_fn out, void *user);

/**
 * Write the value the first pickle in @p data would build, as one line of
 * canonical JSON (doc/dump-format.md), followed by a newline.
 * @returns 0, or a negative brine_error
 */
BRINE_API int brine_dump_json(const uint8_t *data, size_t len, const brine_settings *settings,
                              brine_write_fn out, void *user);

/* ---- policies ------------------------------------------------------------ */

/** A compiled, immutable policy (see doc/policy.md). Shareable by threads. */
typedef struct brine_policy brine_policy;

/** Where a policy file went wrong: "file:line:column: problem". */
typedef struct brine_diag {
    char message[512];
} brine_diag;

/** Severity of a finding or of a deny entry. */
typedef enum brine_severity {
    BRINE_SEVERITY_LOW = 0,
    BRINE_SEVERITY_MEDIUM = 1,
    BRINE_SEVERITY_HIGH = 2,
    BRINE_SEVERITY_CRITICAL = 3
} brine_severity;

/**
 * Compile a policy.
 * @param out      receives the policy (release with brine_policy_destroy)
 * @param files    policy files to load in order; NULL or empty for the built-in
 *                 default bundle (compiled at build time: this costs nothing
 *                 and hands out the same immutable policy every time; a
 *                 policy file is compiled with libyaml, opened on first use).
 *                 A file may `extends:` built-in packs by name
 *                 ("bundle", "default", "numpy", ...) or other files by path.
 *                 The built-in `dangerous` pack is always loaded: a name known
 *                 to run code is never admitted.
 * @param nfiles   number of entries in @p files
 * @param diag     receives the error message on BRINE_ERR_POLICY (may be NULL)
 * @returns 0, BRINE_ERR_POLICY, BRINE_ERR_IO or BRINE_ERR_NOMEM
 */
BRINE_API int brine_policy_compile(brine_policy **out, const char *const *files, size_t nfiles, brine_diag *diag);

/** Release a policy (NULL is fine). */
BRINE_API void brine_policy_destroy(brine_policy *p);

/**
 * The identity of a compiled policy, so that a registry knows which results a
 * policy change invalidates: a hash of the effective merged policy as
 * brine_policy_write prints it, comments (source files and lines) left out,
 * so the same YAML at another path has the same identity (16 hex digits and
 * a NUL in @p hex) and the
 * packs it came from, comma-separated, in load order (in @p packs, truncated
 * to @p packs_size). Either output may be NULL.
 * @returns 0 or a negative brine_error
 */
BRINE_API int brine_policy_identity(const brine_policy *p, char hex[17], char *packs, size_t packs_size);

/** Write the effective merged policy as YAML through @p out. @returns 0 or an error. */
BRINE_API int brine_policy_write(const brine_policy *p, brine_write_fn out, void *user);

/* ---- scanning ------------------------------------------------------------ */

/** The verdict on a stream or a file. */
typedef enum brine_verdict {
    BRINE_VERDICT_SAFE = 0,       /**< every step is allowed by the policy */
    BRINE_VERDICT_SUSPICIOUS = 1, /**< something is not allowed, not known to be dangerous */
    BRINE_VERDICT_DANGEROUS = 2   /**< known to run code, or a structural red flag */
} brine_verdict;

/** @returns "safe", "suspicious" or "dangerous". */
BRINE_API const char *brine_verdict_name(brine_verdict v);
/** @returns "low", "medium", "high" or "critical". */
BRINE_API const char *brine_severity_name(brine_severity s);

/** One finding. All strings are valid during the callback only. */
typedef struct brine_finding {
    const char *location;   /**< where: "file", "file!member", "file@0x1a!<nested>" (= where->text) */
    uint64_t offset;        /**< byte offset of the opcode in the stream */
    uint64_t opindex;       /**< index of the opcode in the stream */
    const char *opcode;     /**< pickletools name of the opcode, "-" for a container finding */
    const char *kind;       /**< event kind (doc/events.md) or "container", "trailing", ... */
    brine_verdict verdict;  /**< SUSPICIOUS or DANGEROUS */
    brine_severity severity;
    const char *name;       /**< module:qualname concerned, or "" */
    const char *call;       /**< the call it appears in, rendered, or "" */
    const char *rule;       /**< the rule that fired, or "not on the allowlist" */
    const char *message;    /**< one-line explanation */
    const brine_location *where; /**< the structured location of the stream */
    const char *rule_id;    /**< stable identifier of the rule kind, e.g. "deny",
                                 "not-allowed", "call-constraint", "zip-disagree" */
    const char *rule_pack;  /**< pack of the policy entry that fired, or "" */
    const char *rule_file;  /**< its file ("<builtin>/rules/dangerous.yaml"), or "" */
    unsigned rule_line;     /**< its line, or 0 */
} brine_finding;

/** The result for one stream (a container, a pickle stream) or for the whole file. */
typedef struct brine_stream_result {
    const char *location;   /**< "file", "file!member", "file!<gzip>", "file@0x20!<nested>" */
    const char *format;     /**< what the stream is: "pickle", "zip", "npy", "gzip", ...; "file" for the file */
    brine_verdict verdict;
    brine_status status;
    const char *error;      /**< malformed/inconclusive: what, else NULL */
    uint64_t error_offset;
    uint64_t pickles;       /**< pickles found back to back */
    uint64_t findings;
    uint64_t streams;       /**< in the file result: pickle streams scanned */
    const brine_location *where; /**< structured location (NULL in the file result) */
} brine_stream_result;

/** How a global is used by a load, for inventories. */
typedef enum brine_use {
    BRINE_USE_IMPORT = 0, /**< imported (GLOBAL, STACK_GLOBAL, INST, ...) */
    BRINE_USE_CALL = 1,   /**< called (REDUCE, INST, OBJ, NEWOBJ, NEWOBJ_EX) */
    BRINE_USE_BUILD = 2,  /**< BUILD on an object it made */
    BRINE_USE_ITEMS = 3   /**< items added to an object it made */
} brine_use;

typedef struct brine_scan_callbacks {
    int (*finding)(void *user, const brine_finding *f);           /**< may be NULL */
    int (*stream)(void *user, const brine_stream_result *r);      /**< may be NULL */
    /** every use of a global, judged or not (for inventories); may be NULL */
    int (*global)(void *user, const brine_location *where, const char *name, brine_use use);
} brine_scan_callbacks;

/**
 * Scan one file held in memory against a policy. Its content decides what it
 * is (never its name): a raw pickle, a PyTorch zip or legacy file, a zip, an
 * npy/npz, a joblib file, a gzip/bz2/xz/lzma/zstd/lz4 stream, a tar or 7z
 * archive; every pickle inside (including pickles held as bytes constants by
 * other pickles) is scanned. The stream callback receives each container and
 * pickle stream with its location; @p out receives the file's result (the
 * worst verdict and status over all streams).
 * @param policy    a compiled policy
 * @param settings  limits, or NULL for the defaults
 * @param data,len  the bytes (not copied)
 * @param location  name used in findings (e.g. the file name)
 * @param cb,user   receivers of findings and of the stream result (may be NULL)
 * @param out       receives the overall result (may be NULL)
 * @returns 0 or a negative brine_error
 */
BRINE_API int brine_scan_buffer(const brine_policy *policy, const brine_settings *settings, const uint8_t *data,
                                size_t len, const char *location, const brine_scan_callbacks *cb, void *user,
                                brine_stream_result *out);

/* ---- the scanner object -------------------------------------------------- */

/**
 * A scanner: one per thread, over one shared, immutable compiled policy (the
 * shape of YARA's scanner). It owns its settings, callbacks and reusable
 * memory; it is not thread-safe itself, the policy is.
 */
typedef struct brine_scanner brine_scanner;

/**
 * @param out       receives the scanner (release with brine_scanner_destroy)
 * @param policy    a compiled policy; it must outlive the scanner
 * @param settings  limits, copied; NULL for the defaults
 * @returns 0, BRINE_ERR_INVALID or BRINE_ERR_NOMEM
 */
BRINE_API int brine_scanner_create(brine_scanner **out, const brine_policy *policy, const brine_settings *settings);
/** Release a scanner (NULL is fine). */
BRINE_API void brine_scanner_destroy(brine_scanner *s);
/** Set the receivers of findings, streams and globals (@p cb is copied; NULL clears). */
BRINE_API void brine_scanner_set_callbacks(brine_scanner *s, const brine_scan_callbacks *cb, void *user);
/** Nonzero: the global callback hears each name with each use once in a
 *  stream, not every use (for a caller that wants the names alone; a pickle of
 *  a thousand trees uses each of its globals thousands of times). 0, the
 *  default: every use. */
BRINE_API void brine_scanner_set_global_once(brine_scanner *s, int once);

/**
 * Scan bytes held in memory (see brine_scan_buffer for what is found).
 * @param name  the file's name, used as step 0 of every location
 * @param out   receives the file's result (may be NULL)
 * @returns 0 or a negative brine_error; BRINE_ERR_NOMEM means the result is
 *          not complete (it is also reported as inconclusive in @p out)
 */
BRINE_API int brine_scanner_scan_buffer(brine_scanner *s, const uint8_t *data, size_t len, const char *name,
                                        brine_stream_result *out);
/**
 * Scan a file by path. Regular files are read safely against truncation while
 * scanning; FIFOs, character devices and sockets are read up to
 * max_input_bytes; directories are refused (BRINE_ERR_IO, errno kept).
 */
BRINE_API int brine_scanner_scan_file(brine_scanner *s, const char *path, brine_stream_result *out);
/** Scan an open file descriptor (not closed); @p name names it in locations. */
BRINE_API int brine_scanner_scan_fd(brine_scanner *s, int fd, const char *name, brine_stream_result *out);

/**
 * The other views of the same streams, through the same driver: every pickle
 * stream of every container the scanner finds gets its events, its
 * disassembly or its dumped value. Before each stream that is not the file
 * itself, disasm writes a line "== LOCATION"; dump writes one JSON line per
 * stream, with a "location" member for streams that are not the file itself.
 * The stream callback of the scanner still receives each stream's result.
 * @returns 0 or a negative brine_error
 */
BRINE_API int brine_scanner_events(brine_scanner *s, const uint8_t *data, size_t len, const char *name,
                                   brine_event_fn cb, void *user, brine_stream_result *out);
BRINE_API int brine_scanner_disasm(brine_scanner *s, const uint8_t *data, size_t len, const char *name,
                                   brine_write_fn fn, void *user, brine_stream_result *out);
BRINE_API int brine_scanner_dump_json(brine_scanner *s, const uint8_t *data, size_t len, const char *name,
                                      brine_write_fn fn, void *user, brine_stream_result *out);

/**
 * Explain: what loading would do, as pseudo-Python (one statement per side
 * effect, in load order, per stream, each finding marked on its line; see
 * analyzer/scan/explain.c for the forms). Findings also reach the scanner's
 * finding callback, stream results its stream callback.
 * @returns 0 or a negative brine_error
 */
BRINE_API int brine_scanner_explain(brine_scanner *s, const uint8_t *data, size_t len, const char *name,
                                    brine_write_fn fn, void *user, brine_stream_result *out);

/**
 * Learn: accumulate what trusted pickles use, then write the smallest policy
 * admitting them. Names the policy's deny lists know are refused, never allowed.
 */
typedef struct brine_learner brine_learner;
BRINE_API int brine_learner_create(brine_learner **out, const brine_policy *knowledge);
BRINE_API void brine_learner_destroy(brine_learner *l);
/**
 * Add one file: every pickle stream in it, through the same driver as a scan
 * (a torch checkpoint, a joblib file, an npz all teach what their pickles use).
 * @param out  receives the file's status (may be NULL): a file that could not
 *             be fully read teaches only part of what it uses
 * @returns 0 or an error.
 */
BRINE_API int brine_learner_add(brine_learner *l, const brine_settings *settings, const uint8_t *data, size_t len,
                                const char *location);
/** The same, with the file's result. */
BRINE_API int brine_learner_add_file(brine_learner *l, const brine_settings *settings, const uint8_t *data, size_t len,
                                     const char *location, brine_stream_result *out);
/**
 * Write the learned policy (YAML) through @p out.
 * @param refused  receives how many names were refused as dangerous
 */
BRINE_API int brine_learner_write(const brine_learner *l, brine_write_fn out, void *user, size_t *refused);

#ifdef __cplusplus
}
#endif
#endif /* BRINE_H */
