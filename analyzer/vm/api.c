/* Public entry points of libbrine that sit directly on the VM: settings,
 * error strings, brine_events and brine_disasm. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vm.h"

#define BRINE_VERSION "0.1.0"

const char *brine_version(void)
{
    return BRINE_VERSION;
}

void brine_settings_default(brine_settings *s)
{
    if (!s)
        return;
    /* The defaults admit every real model file we have seen by a wide margin
     * (a large torch state_dict pickle is ~10^5 opcodes) while bounding a
     * hostile file to a few hundred MiB and about a second of work. */
    s->max_opcodes = 50000000;
    s->max_stack = 1000000;
    s->max_marks = 100000;
    s->max_memo = 16777216;
    s->max_bytes = 256u << 20;
    s->max_depth = 2000;
    s->max_output = 10000000;
    s->max_pickles = 10000;
    s->max_decompressed = 1u << 30;
    s->max_ratio = 2000;
    s->max_archive_depth = 8;
    s->max_members = 100000;
    s->max_nested = 1000;
    s->max_input_bytes = (uint64_t)4 << 30;
    s->max_buffered = 32u << 20;
}

/* max_compare, derived so that brine_settings stays as it is: 2^20 units plus
 * 4 per byte of the stream, and never more than max_opcodes. A unit is one
 * node hashed or compared, one hash-table probe, or 32 bytes compared. A
 * CPython-written pickle spends a few units per opcode (each opcode is at
 * least one byte); a file that makes every SETITEM compare two large equal
 * keys, or every key land in one probe chain, spends its size per opcode and
 * ends inconclusive, in time proportional to its size. */
uint64_t brine_compare_budget(const brine_settings *s, size_t len)
{
    uint64_t b = (uint64_t)1 << 20;
    b += (uint64_t)len > (UINT64_MAX - b) / 4 ? UINT64_MAX - b : (uint64_t)len * 4;
    return b < s->max_opcodes ? b : s->max_opcodes;
}

const brine_settings *brine_settings_or_default(const brine_settings *s, brine_settings *def)
{
    if (s)
        return s;
    brine_settings_default(def);
    return def;
}

const char *brine_strerror(int err)
{
    switch (err) {
    case BRINE_OK: return "success";
    case BRINE_ERR_NOMEM: return "out of memory";
    case BRINE_ERR_INVALID: return "invalid argument";
    case BRINE_ERR_IO: return "I/O error";
    case BRINE_ERR_POLICY: return "invalid policy";
    case BRINE_ERR_CALLBACK: return "stopped by a callback";
    default: return "unknown error";
    }
}

const char *brine_status_name(brine_status st)
{
    switch (st) {
    case BRINE_STATUS_COMPLETE: return "complete";
    case BRINE_STATUS_MALFORMED: return "malformed";
    case BRINE_STATUS_INCONCLUSIVE: return "inconclusive";
    }
    return "?";
}

/* ---- events ---------------------------------------------------------------- */

const char *brine_event_detail(brine_arena *scratch, const brine_vm_event *ev, char *num, size_t numlen)
{
    switch (ev->kind) {
    case BRINE_EV_IMPORT:
    case BRINE_EV_CALL:
    case BRINE_EV_BUILD:
    case BRINE_EV_ITEMS:
    case BRINE_EV_PERSID:
        return brine_value_render(scratch, ev->target, 300);
    case BRINE_EV_DYNAMIC_IMPORT: {
        const char *mod = brine_value_render(scratch, ev->target->u.g.module, 140);
        const char *name = brine_value_render(scratch, ev->target->u.g.name, 140);
        char *out = brine_arena_alloc(scratch, strlen(mod) + strlen(name) + 16);
        if (!out)
            return "";
        sprintf(out, "module=%s name=%s", mod, name);
        return out;
    }
    case BRINE_EV_EXT:
    case BRINE_EV_TRAILING:
    case BRINE_EV_PICKLE:
        snprintf(num, numlen, "%" PRId64, ev->number);
        return num;
    default:
        return ev->message ? ev->message : "";
    }
}

typedef struct {
    brine_event_fn cb;
    void *user;
    brine_arena scratch;
} events_ctx;

static int on_vm_event(void *user, const brine_vm_event *ev)
{
    events_ctx *c = user;
    char num[32];
    brine_arena_init(&c->scratch, 1 << 20);
    brine_event e = {ev->offset, ev->opindex, brine_op_name(ev->opcode), brine_evkind_name(ev->kind),
                     brine_event_detail(&c->scratch, ev, num, sizeof num), NULL};
    if (!e.opcode)
        e.opcode = "?";
    int r = c->cb(c->user, &e);
    brine_arena_free(&c->scratch);
    return r;
}

int brine_events(const uint8_t *data, size_t len, const brine_settings *settings, brine_event_fn cb, void *user,
                 brine_status *status)
{
    brine_settings def;
    settings = brine_settings_or_default(settings, &def);
    if (!cb || (!data && len))
        return BRINE_ERR_INVALID;
    brine_arena arena;
    brine_arena_init(&arena, settings->max_bytes);
    events_ctx ctx = {.cb = cb, .user = user};
    brine_vm_config cfg = {.settings = settings, .arena = &arena, .on_event = on_vm_event, .user = &ctx};
    brine_vm_result res;
    int rc = brine_vm_run(data, len, &cfg, &res);
    brine_arena_free(&arena);
    if (status)
        *status = res.status;
    if (rc)
        return rc;
    return res.callback_stopped ? BRINE_ERR_CALLBACK : 0;
}

/* ---- disassembly ------------------------------------------------------------- */


static int dprintf_(brine_disasm_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int dprintf_(brine_disasm_ctx *c, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return 0;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    if (!c->stopped && c->out(c->user, buf, (size_t)n))
        c->stopped = true;
    return c->stopped;
}

int brine_disasm_on_trace(void *user, const brine_vm_trace *t)
{
    brine_disasm_ctx *c = user;
    const char *name = brine_op_name(t->opcode);
    char code[8];
    if (t->opcode >= 0x20 && t->opcode < 0x7f && t->opcode != '\\')
        snprintf(code, sizeof code, "%c", t->opcode);
    else
        snprintf(code, sizeof code, "\\x%02x", t->opcode);
    char memo[32] = "";
    if (t->memo >= 0)
        snprintf(memo, sizeof memo, " %s%" PRId64, t->memo_put ? "memo<-" : "memo->", t->memo);
    /* an opcode newer than the stream says it is: CPython runs it anyway,
     * but no pickler writes it (protocol 1 opcodes appear without PROTO) */
    char newer[48] = "";
    int op_proto = brine_op_proto(t->opcode);
    if (t->opcode != 0x80 && op_proto > 1 && op_proto > t->proto)
        snprintf(newer, sizeof newer, " (protocol %d opcode)", op_proto);
    return dprintf_(c, "%8" PRIu64 ": %-4s %-16s %-40s  stack=%" PRIu64 " marks=%" PRIu64 "%s%s\n", t->offset, code,
                    name ? name : "?", t->arg, t->depth, t->marks, memo, newer);
}

int brine_disasm_on_event(void *user, const brine_vm_event *ev)
{
    brine_disasm_ctx *c = user;
    const char *name = brine_op_name(ev->opcode);
    switch (ev->kind) {
    case BRINE_EV_MALFORMED:
        return dprintf_(c, "%8" PRIu64 ": malformed at %s: %s\n", ev->offset, name ? name : "end of input", ev->message);
    case BRINE_EV_LIMIT:
        return dprintf_(c, "%8" PRIu64 ": inconclusive: %s\n", ev->offset, ev->message);
    case BRINE_EV_ANOMALY:
        return dprintf_(c, "%8" PRIu64 ": note: %s\n", ev->offset, ev->message);
    case BRINE_EV_TRAILING:
        return dprintf_(c, "%8" PRIu64 ": %" PRId64 " trailing bytes that do not start a pickle\n", ev->offset,
                        ev->number);
    case BRINE_EV_PICKLE:
        return dprintf_(c, "          end of pickle %" PRId64 "\n", ev->number);
    default:
        return 0;
    }
}

int brine_disasm(const uint8_t *data, size_t len, const brine_settings *settings, brine_write_fn out, void *user)
{
    brine_settings def;
    settings = brine_settings_or_default(settings, &def);
    if (!out || (!data && len))
        return BRINE_ERR_INVALID;
    brine_arena arena;
    brine_arena_init(&arena, settings->max_bytes);
    brine_disasm_ctx ctx = {.out = out, .user = user};
    brine_vm_config cfg = {.settings = settings, .arena = &arena, .on_event = brine_disasm_on_event, .on_trace = brine_disasm_on_trace,
                           .user = &ctx};
    brine_vm_result res;
    int rc = brine_vm_run(data, len, &cfg, &res);
    brine_arena_free(&arena);
    if (rc)
        return rc;
    return ctx.stopped ? BRINE_ERR_CALLBACK : 0;
}
