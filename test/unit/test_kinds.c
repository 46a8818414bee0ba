/* The kinds pass (analyzer/vm/kinds.c) against the full VM: for every file
 * under the given directories, and deterministic mutations of each (bytes
 * flipped, cut short, a slice repeated), under the default limits and under
 * tight ones, brine_vm_run with BRINE_VM_KINDS must give exactly the result
 * and the events of the full VM (everything but the NESTED events, which the
 * kinds pass asks about through constant_inert instead). The test also counts
 * the inputs the kinds pass decided itself, and fails if it decided none.
 * Usage: test_kinds DIR... Last line: `kinds: N passed, M failed`. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vm.h"

typedef struct rec {
    char *buf;
    size_t len, cap;
    size_t nested;
} rec;

static void put(rec *r, const char *s, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        r->cap = (r->len + n + 1) * 2;
        r->buf = realloc(r->buf, r->cap);
        if (!r->buf)
            abort();
    }
    memcpy(r->buf + r->len, s, n);
    r->len += n;
    r->buf[r->len] = 0;
}

static int on_event(void *user, const brine_vm_event *ev)
{
    rec *r = user;
    if (ev->kind == BRINE_EV_NESTED) {
        r->nested++;
        return 0;
    }
    char line[512];
    int n = snprintf(line, sizeof line, "%s@%llu#%llu op%02x n%lld %s\n", brine_evkind_name(ev->kind),
                     (unsigned long long)ev->offset, (unsigned long long)ev->opindex, ev->opcode,
                     (long long)ev->number, ev->message ? ev->message : "");
    put(r, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    return 0;
}

static bool inert_yes(void *user, const brine_value *v)
{
    (void)user;
    (void)v;
    return true;
}

static bool inert_no(void *user, const brine_value *v)
{
    (void)user;
    (void)v;
    return false;
}

static void summary(rec *r, const brine_vm_result *res)
{
    char line[512];
    int n = snprintf(line, sizeof line, "status %d off %llu op %02x eof %d msg %s pickles %llu first %llu last %llu "
                     "retry %u uncertain %d\n",
                     (int)res->status, (unsigned long long)res->error_offset, res->error_opcode, res->error_at_eof,
                     res->error_message ? res->error_message : "-", (unsigned long long)res->pickles,
                     (unsigned long long)res->first_end, (unsigned long long)res->last_end, res->retry,
                     res->uncertain);
    put(r, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void run(const uint8_t *d, size_t n, const brine_settings *s, unsigned flags,
                bool (*inert)(void *, const brine_value *), rec *r)
{
    brine_arena a;
    brine_arena_init(&a, s->max_bytes);
    r->len = 0;
    r->nested = 0;
    put(r, "", 0);
    brine_vm_config cfg = {.settings = s, .arena = &a, .on_event = on_event, .user = r,
                           .flags = BRINE_VM_NESTED | flags, .constant_inert = inert};
    brine_vm_result res;
    brine_vm_run(d, n, &cfg, &res);
    summary(r, &res);
    brine_arena_free(&a);
}

static int passed, failed, decided;

static void check(const char *name, const uint8_t *d, size_t n, const brine_settings *s)
{
    rec full = {0}, yes = {0}, no = {0};
    run(d, n, s, 0, NULL, &full);
    run(d, n, s, BRINE_VM_KINDS, inert_yes, &yes);
    run(d, n, s, BRINE_VM_KINDS, inert_no, &no);
    /* the kinds pass decided when the run with inert constants saw no NESTED event from the full VM's first pickle */
    brine_vm_config cfg = {.settings = s, .flags = BRINE_VM_NESTED, .constant_inert = inert_yes};
    uint64_t end, ops;
    if (brine_vm_kinds(d, n, &cfg, &end, &ops)) {
        decided++;
        if (getenv("KLIST"))
            printf("decided %s %zu %llu\n", name, n, (unsigned long long)s->max_stack);
    }
    bool ok = strcmp(full.buf, yes.buf) == 0 && strcmp(full.buf, no.buf) == 0 && no.nested == full.nested;
    if (ok) {
        passed++;
    } else {
        failed++;
        if (failed <= 20)
            printf("FAIL %s (%zu bytes):\n-- full VM:\n%s-- kinds, constants inert:\n%s-- kinds, constants not inert:\n%s",
                   name, n, full.buf, yes.buf, no.buf);
    }
    free(full.buf);
    free(yes.buf);
    free(no.buf);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void check_all(const char *name, const uint8_t *d, size_t n)
{
    brine_settings def;
    brine_settings_default(&def);
    brine_settings tight = def;
    tight.max_memo = 64;
    tight.max_stack = 40;
    tight.max_marks = 6;
    tight.max_depth = 8;
    tight.max_opcodes = 2000;
    check(name, d, n, &def);
    check(name, d, n, &tight);
    if (!n)
        return;
    uint8_t *m = malloc(2 * n + 1);
    if (!m)
        abort();
    for (int k = 0; k < 12; k++) {
        size_t len = n;
        memcpy(m, d, n);
        switch (k % 4) {
        case 0: /* flip bytes */
            for (int j = 0; j < 1 + k; j++)
                m[next() % n] = (uint8_t)next();
            break;
        case 1: /* cut short */
            len = (size_t)(next() % n);
            break;
        case 2: { /* repeat a slice */
            size_t a = (size_t)(next() % n), l = (size_t)(next() % (n - a) % 64 + 1);
            if (a + l > n)
                l = n - a;
            memmove(m + a + l, m + a, n - a);
            len = n + l;
            break;
        }
        default: /* one opcode-like byte replaced by another common one */
            m[next() % n] = (uint8_t)")]}(.0q\x94N\x85\x86\x87stue"[next() % 17];
        }
        check(name, m, len, &def);
        check(name, m, len, &tight);
    }
    free(m);
}

static void walk(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(path);
        if (!dir)
            return;
        struct dirent *e;
        while ((e = readdir(dir))) {
            if (e->d_name[0] == '.')
                continue;
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            walk(sub);
        }
        closedir(dir);
        return;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (16 << 20))
        return;
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (buf)
        check_all(path, buf, n);
    free(buf);
}

/* Shapes where only the kinds decide between loading and raising, written
 * here so that each check of the kinds pass is exercised whatever the corpus
 * holds: unhashable keys and members by every opcode that hashes, keys inside
 * tuples and frozensets, targets of the wrong kind, frame crossings, sparse
 * memo keys. Each is run with its mutations like a file. */
static const struct { const char *name; const char *bytes; size_t len; } SHAPES[] = {
/* every byte that is no printable character as a three-digit octal escape:
 * a hex escape swallows the hex digits after it ("\x01d" is one byte) */
#define S(name, lit) {name, lit, sizeof lit - 1}
    S("setitems list key", "\200\004}(]K\001u."),
    S("setitem list key", "\200\004}]K\001s."),
    S("dict list key", "\200\004(]K\001d."),
    S("setitems tuple of list key", "\200\004}(]\205K\001u."),
    S("setitems tuple key", "\200\004}(K\001\205K\001u."),
    S("additems list member", "\200\004\217(]\220."),
    S("additems dict member", "\200\004\217(}\220."),
    S("frozenset list member", "\200\004(]\221."),
    S("frozenset of tuple key", "\200\004}((K\001\205\221K\002u."),
    S("appends into dict", "\200\004}(K\001e."),
    S("setitems into list", "\200\004](K\000K\001u."),
    S("additems into list", "\200\004](K\001\220."),
    S("append into tuple", "\200\004)K\001a."),
    S("deep tuple key", "\200\004}(K\001\205\205\205\205\205\205\205\205\205\205K\001u."),
    S("bytearray key", "\200\005}(\226\000\000\000\000\000\000\000\000K\001u."),
    S("frame crossed", "\200\004\225\002\000\000\000\000\000\000\000J\001\000\000\000."),
    S("frame in frame", "\200\004\225\012\000\000\000\000\000\000\000\225\001\000\000\000\000\000\000\000N."),
    S("sparse memo", "\200\004Nr\000\000\000\001j\000\000\000\001."),
    S("memo get missing", "\200\004Nh\005."),
    /* short strings, decoded by the inline path and by ksized: invalid UTF-8
     * of one byte and of several, valid non-ASCII, each repeated (the second
     * time a cache hit), near the end of the input (fewer than 8 bytes left) */
    S("short str invalid utf-8, 1 byte", "\200\004](\214\001\377\214\001\377e."),
    S("short str invalid utf-8, 3 bytes", "\200\004](\214\003ab\303\214\003ab\303\214\002abe."),
    S("short str valid non-ascii", "\200\004](\214\002\303\251\214\002\303\251\214\003x\303\251e."),
    S("short str repeated ascii", "\200\004](\214\002ab\214\002ab\214\010abcdefgh\214\010abcdefghe."),
    S("short str at the end", "\200\004\214\002\377\376."),
    S("short str cut", "\200\004\214\005ab"),
    /* runs of one scalar opcode, pushed at once: across a frame's end (the
     * anomaly), ending exactly at it, over the tight stack limit (41 cells),
     * of every width, cut short */
    S("int run crosses frame", "\200\004\225\011\000\000\000\000\000\000\000](K\001K\001K\001K\001e."),
    S("int run crosses frame, then goes on", "\200\004\225\007\000\000\000\000\000\000\000](K\001K\001K\001K\001K"
                                             "\001e."),
    S("int run ends at frame", "\200\004\225\012\000\000\000\000\000\000\000](K\001K\001K\001K\001\225\002\000\000"
                           "\000\000\000\000\000e."),
    S("int run over the stack limit", "\200\004K\001K\001K\001K\001K\001K\001K\001K\001K\001K\001K\001K\001K\001K"
                                  "\001K\001K\001K\001K\001K\001K\001K\001K\001K\001K\001K\001K\001K\001K\001K"
                                  "\001K\001K\001K\001K\001K\001K\001K\001K\001K\001K\001K\001K\001."),
    S("runs of each width", "\200\004](J\001\000\000\000J\002\000\000\000J\003\000\000\000M\001\001M\002\001G\077"
                        "\360\000\000\000\000\000\000G@\000\000\000\000\000\000\000NN\210\210e."),
    S("int run cut", "\200\004](M\001\001M\002\001M\003"),
#undef S
};

int main(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++)
        check_all(SHAPES[i].name, (const uint8_t *)SHAPES[i].bytes, SHAPES[i].len);
    for (int i = 1; i < argc; i++)
        walk(argv[i]);
    if (decided == 0) {
        printf("FAIL the kinds pass decided no input\n");
        failed++;
    }
    printf("(the kinds pass decided %d of %d runs itself)\n", decided, passed + failed);
    printf("kinds: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
