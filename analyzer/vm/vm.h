/* The symbolic pickle VM (internal API). See vm.c for the opcode semantics. */
#ifndef BRINE_VM_H
#define BRINE_VM_H

#include "brine.h"
#include "value.h"

typedef enum brine_op {
#define BRINE_OP(name, byte, arg, proto) BRINE_OP_##name = byte,
#include "opcodes.def"
#undef BRINE_OP
} brine_op;

/* Name of an opcode byte, or NULL if the byte is not an opcode. */
const char *brine_op_name(uint8_t byte);
/* The protocol that introduced an opcode (opcodes.def), or -1. */
int brine_op_proto(uint8_t byte);

typedef enum brine_evkind {
    BRINE_EV_IMPORT,
    BRINE_EV_DYNAMIC_IMPORT,
    BRINE_EV_CALL,
    BRINE_EV_BUILD,
    BRINE_EV_ITEMS,
    BRINE_EV_PERSID,
    BRINE_EV_EXT,
    BRINE_EV_MALFORMED,
    BRINE_EV_LIMIT,
    BRINE_EV_TRAILING,
    BRINE_EV_PICKLE,
    BRINE_EV_ANOMALY,
    BRINE_EV_NESTED   /* a bytes/str constant that looks like a pickle (target: the constant) */
} brine_evkind;

const char *brine_evkind_name(brine_evkind k);

typedef struct brine_vm_event {
    brine_evkind kind;
    uint64_t offset, opindex;
    uint8_t opcode;
    brine_value *target;  /* import/dynamic_import: the global; call: the callee;
                             build/items: the target; persid: the pid; ext: NULL */
    brine_value *args;    /* call: the argument tuple; build: the state;
                             items: a tuple of the items (SETITEMS: k, v, k, v...) */
    brine_value *kwargs;  /* call by NEWOBJ_EX */
    brine_value *result;  /* call: the result object; persid: the PERSID object */
    const char *message;  /* malformed / limit / anomaly text */
    int64_t number;       /* ext: the code; pickle: its index; trailing: byte count */
} brine_vm_event;

typedef int (*brine_vm_event_fn)(void *user, const brine_vm_event *ev);

/* One line of the disassembly: called before the opcode runs for its
 * argument, and the stack depth after it ran. */
typedef struct brine_vm_trace {
    uint64_t offset;
    uint8_t opcode;
    const char *arg;      /* rendered argument, "" when none */
    uint64_t depth;       /* stack depth after the opcode (marks not counted) */
    uint64_t marks;       /* open marks after the opcode */
    int64_t memo;         /* memo index written (PUT/BINPUT/MEMOIZE) or read, -1 if none */
    bool memo_put;
    int proto;            /* the protocol in force (the last PROTO; 0 without one) */
} brine_vm_trace;
typedef int (*brine_vm_trace_fn)(void *user, const brine_vm_trace *t);

typedef struct brine_vm_result {
    brine_status status;
    brine_value *value;      /* the value of the first pickle (when complete) */
    uint64_t first_end;      /* offset just after the first pickle's STOP */
    uint64_t last_end;       /* offset just after the last complete pickle's STOP */
    uint64_t error_offset;   /* malformed / limit: opcode offset */
    uint8_t error_opcode;
    bool error_at_eof;       /* error while reading an opcode byte past the end */
    const char *error_message;
    char error_buf[48];      /* storage for a formatted error_message */
    bool uncertain;
    unsigned retry;          /* BRINE_RETRY_*: malformed where another unpickler reads on */
    uint64_t pickles;
    bool callback_stopped;
} brine_vm_result;

#define BRINE_VM_FIRST_ONLY 1u  /* stop after the first pickle (dump) */
#define BRINE_VM_NESTED 2u      /* emit BRINE_EV_NESTED for pickle-like constants */
/* Other unpicklers' readings: torch.load decodes protocol 0-2 str bytes as
 * utf-8, pandas retries with latin-1 and the pure-Python unpickler, joblib
 * always uses the pure-Python unpickler (pickle._Unpickler). */
#define BRINE_VM_STR_UTF8 4u
#define BRINE_VM_STR_LATIN1 8u
#define BRINE_VM_PYTHON 16u     /* pickle._Unpickler's FLOAT */
/* The caller needs no values (the judge): a data-only first pickle may be
 * run by the kinds pass (kinds.c), which keeps only what its outcome depends
 * on; with BRINE_VM_NESTED, constant_inert must be set. */
#define BRINE_VM_KINDS 32u
/* brine_vm_result.retry: the readings that could get further than this one */
#define BRINE_RETRY_STR 1u      /* a str did not decode as ASCII: utf-8 and latin-1 readings */
#define BRINE_RETRY_FLOAT 2u    /* a FLOAT did not parse: the pure-Python reading */

/* ---- input read forward through a window ------------------------------------------- */

/* A stream too large to hold whole (a decompressed stream above
 * max_buffered): it is produced again from byte 0 for every reading, and the
 * VM reads it forward through a window. Bytes behind the window are gone, so
 * in window mode every value keeps a copy of what it takes from the input. */
typedef struct brine_vm_source {
    void *(*open)(void *self);                               /* a reader at byte 0; NULL: out of memory */
    int64_t (*read)(void *reader, uint8_t *buf, size_t cap); /* bytes given; 0: the end; -1: an error */
    void (*close)(void *reader);
    void *self;
    uint64_t len; /* bytes the source gives in all (known from the first reading) */
} brine_vm_source;

typedef struct brine_window {
    const brine_vm_source *src;
    void *reader;
    uint8_t *buf;
    size_t cap, have; /* buf[0..have) holds the bytes from base on */
    uint64_t base;
    uint64_t pin;      /* bytes from pin on stay when the window moves (UINT64_MAX: none) */
    size_t max;        /* the largest window: one opcode's bytes must fit (max_bytes) */
    size_t grain;      /* tests: at most this many bytes per read of the source (0: any) */
    const char *error; /* why bytes that exist could not be given (static text) */
    bool nomem;
} brine_window;

/* A window over src, positioned at byte at. Returns 0, or -1 with w->error set. */
int brine_window_open(brine_window *w, const brine_vm_source *src, uint64_t at, size_t max, size_t grain);
void brine_window_close(brine_window *w);
const uint8_t *brine_window_fill(brine_window *w, uint64_t pos, size_t n);
/* n bytes from pos, contiguous and valid until the next call; NULL with
 * w->error set when they could not be given (the caller has checked that
 * pos + n is within src->len). */
static inline const uint8_t *brine_window_get(brine_window *w, uint64_t pos, size_t n)
{
    if (pos >= w->base && pos - w->base <= w->have && n <= w->have - (pos - w->base))
        return w->buf + (pos - w->base);
    return brine_window_fill(w, pos, n);
}
/* The bytes from pos up to and including the first '\n': *len set, or NULL
 * (w->error NULL: no '\n' before the end; set: an error or a line longer than max). */
const uint8_t *brine_window_line(brine_window *w, uint64_t pos, size_t *len);

/* What a reader after BUILD sees: the whole stream in memory (data), or a
 * window over it (win, data NULL); len is the stream's length either way. */
typedef struct brine_vm_input {
    const uint8_t *data;
    uint64_t len;
    brine_window *win;
} brine_vm_input;

/* n bytes at pos of an input (pos + n <= in->len), or NULL on a window error. */
static inline const uint8_t *brine_vm_input_get(const brine_vm_input *in, uint64_t pos, size_t n)
{
    return in->win ? brine_window_get(in->win, pos, n) : in->data + pos;
}

/* Called after BUILD on an object (joblib: a NumpyArrayWrapper is followed by
 * raw array bytes or a nested pickle that joblib's unpickler reads directly).
 * Returns how many bytes at pos the reader consumes (0: none), or -1 with
 * *msg set when they are malformed. */
typedef int64_t (*brine_vm_build_hook)(void *user, const brine_value *target, const brine_value *state,
                                       const brine_vm_input *in, uint64_t pos, const char **msg);

typedef struct brine_vm_config {
    const brine_settings *settings;
    brine_arena *arena;      /* values live here; the caller frees it */
    brine_vm_event_fn on_event;
    brine_vm_trace_fn on_trace;
    void *user;
    unsigned flags;
    brine_vm_build_hook after_build; /* may be NULL */
    size_t start;                     /* offset where the first pickle begins */
    /* BRINE_VM_KINDS with BRINE_VM_NESTED: true when the constant would
     * produce nothing as a BRINE_EV_NESTED event (it is no container and
     * loading it runs nothing); must have no side effects. */
    bool (*constant_inert)(void *user, const brine_value *v);
    /* Read the input through this window (data and len of brine_vm_run are
     * then ignored; the stream's length is window->src->len). */
    brine_window *window;
} brine_vm_config;

/* Run the VM over data[0..len). Returns 0 or BRINE_ERR_NOMEM. */
int brine_vm_run(const uint8_t *data, size_t len, const brine_vm_config *cfg, brine_vm_result *res);

/* The kinds pass (kinds.c): true when the first pickle from cfg->start is
 * data only and loads without error, with *end just after its STOP and
 * *opcodes the opcodes it ran; false when the full VM must decide. Emits no
 * event. */
bool brine_vm_kinds(const uint8_t *data, size_t len, const brine_vm_config *cfg, uint64_t *end, uint64_t *opcodes);

/* max_compare, a limit derived from the settings (brine_settings has no field
 * for it): the units of hashing, comparing and hash-table probing one stream
 * of len bytes may spend. */
uint64_t brine_compare_budget(const brine_settings *s, size_t len);

/* The caller's settings, or the defaults written into *def. */
const brine_settings *brine_settings_or_default(const brine_settings *s, brine_settings *def);

/* Render a value for an event detail or the disassembly (short, escaped). */
const char *brine_value_render(brine_arena *a, const brine_value *v, size_t maxlen);

/* The disassembler's handlers (api.c), shared with the driver's disasm mode. */
typedef struct brine_disasm_ctx {
    brine_write_fn out;
    void *user;
    bool stopped;
} brine_disasm_ctx;
int brine_disasm_on_trace(void *user, const brine_vm_trace *t);
int brine_disasm_on_event(void *user, const brine_vm_event *ev);

/* An event's detail as text (api.c): what brine_event.detail carries. */
const char *brine_event_detail(brine_arena *scratch, const brine_vm_event *ev, char *num, size_t numlen);

/* Write the dump of a finished run (dump.c): one line of JSON; location, if
 * not NULL, is added as a "location" member. */
int brine_dump_result(const brine_vm_result *res, size_t len, const brine_settings *settings, const char *location,
                      brine_write_fn out, void *user);
#endif
