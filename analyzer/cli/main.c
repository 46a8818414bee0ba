/* brine: the command-line tool. A client of include/brine.h and nothing more. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brine.h"
#include "cli.h"
#include "input.h"

int brine_cli_write_stdout(void *user, const char *text, size_t len)
{
    (void)user;
    return fwrite(text, 1, len, stdout) != len;
}

/* Common options: the limits. Returns the number of argv entries consumed, 0
 * if argv[i] is not a limit option, -1 on a bad value. */
int brine_cli_limit_option(int argc, char **argv, int i, brine_settings *s)
{
    static const struct {
        const char *flag;
        size_t off;
    } opts[] = {
        {"--max-opcodes", offsetof(brine_settings, max_opcodes)},
        {"--max-stack", offsetof(brine_settings, max_stack)},
        {"--max-marks", offsetof(brine_settings, max_marks)},
        {"--max-memo", offsetof(brine_settings, max_memo)},
        {"--max-bytes", offsetof(brine_settings, max_bytes)},
        {"--max-depth", offsetof(brine_settings, max_depth)},
        {"--max-output", offsetof(brine_settings, max_output)},
        {"--max-pickles", offsetof(brine_settings, max_pickles)},
        {"--max-decompressed", offsetof(brine_settings, max_decompressed)},
        {"--max-ratio", offsetof(brine_settings, max_ratio)},
        {"--max-archive-depth", offsetof(brine_settings, max_archive_depth)},
        {"--max-members", offsetof(brine_settings, max_members)},
        {"--max-nested", offsetof(brine_settings, max_nested)},
        {"--max-input-bytes", offsetof(brine_settings, max_input_bytes)},
        {"--max-buffered", offsetof(brine_settings, max_buffered)},
    };
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        if (strcmp(argv[i], opts[k].flag) != 0)
            continue;
        if (i + 1 >= argc) {
            fprintf(stderr, "brine: %s needs a number\n", argv[i]);
            return -1;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(argv[i + 1], &end, 10);
        if (errno || *end || argv[i + 1][0] == '-' || !argv[i + 1][0]) {
            fprintf(stderr, "brine: %s: not a number: '%s'\n", argv[i], argv[i + 1]);
            return -1;
        }
        *(uint64_t *)((char *)s + opts[k].off) = v;
        return 2;
    }
    return 0;
}

typedef int (*file_fn)(brine_scanner *sc, const char *path, const brine_input *in, void *ctx);

/* Exit statuses combine as for scan: 1 (unsafe) over 2 (error) over 3 (incomplete) over 0. */
static int exit_rank(int rc)
{
    return rc == 1 ? 3 : rc == 2 ? 2 : rc == 3 ? 1 : 0;
}

/* Parse [limit options] FILE... and run fn on each file through one scanner
 * (so every command reads every container the same way). Returns the exit code. */
static int for_each_file(int argc, char **argv, const char *const *flags, bool *flag_seen, file_fn fn, void *ctx)
{
    brine_settings s;
    brine_settings_default(&s);
    int nfiles = 0;
    char **files = calloc((size_t)argc + 1, sizeof *files);
    if (!files)
        return 2;
    bool options = true;
    for (int i = 0; i < argc; i++) {
        if (options && strcmp(argv[i], "--") == 0) {
            options = false;
            continue;
        }
        int used = options ? brine_cli_limit_option(argc, argv, i, &s) : 0;
        if (used < 0) {
            free(files);
            return 2;
        }
        if (used) {
            i += used - 1;
            continue;
        }
        bool known = false;
        for (int f = 0; options && flags && flags[f]; f++)
            if (strcmp(argv[i], flags[f]) == 0) {
                flag_seen[f] = known = true;
            }
        if (known)
            continue;
        if (options && argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "brine: unknown option '%s'\n", argv[i]);
            free(files);
            return 2;
        }
        files[nfiles++] = argv[i];
    }
    if (!nfiles) {
        fprintf(stderr, "brine: no input files (use - for stdin)\n");
        free(files);
        return 2;
    }
    brine_policy *p = NULL;
    brine_scanner *sc = NULL;
    brine_diag diag;
    if (brine_policy_compile(&p, NULL, 0, &diag) < 0 || brine_scanner_create(&sc, p, &s) < 0) {
        fprintf(stderr, "brine: cannot set up the scanner\n");
        brine_policy_destroy(p);
        free(files);
        return 2;
    }
    int rc = 0;
    for (int i = 0; i < nfiles; i++) {
        brine_input in;
        int e = brine_input_open(files[i], &in, s.max_input_bytes);
        if (e) {
            fprintf(stderr, "brine: %s: %s\n", files[i], strerror(e));
            if (exit_rank(2) > exit_rank(rc))
                rc = 2;
            continue;
        }
        int r = fn(sc, files[i], &in, ctx);
        brine_input_close(&in);
        if (exit_rank(r) > exit_rank(rc))
            rc = r;
    }
    brine_scanner_destroy(sc);
    brine_policy_destroy(p);
    free(files);
    fflush(stdout);
    return rc;
}

static int disasm_one(brine_scanner *sc, const char *path, const brine_input *in, void *ctx)
{
    int *count = ctx;
    if ((*count)++)
        printf("\n");
    printf("== %s\n", path);
    fflush(stdout);
    int r = brine_scanner_disasm(sc, in->data, in->len, path, brine_cli_write_stdout, NULL, NULL);
    if (r < 0) {
        fprintf(stderr, "brine: %s: %s\n", path, brine_strerror(r));
        return 2;
    }
    return 0;
}

static int dump_one(brine_scanner *sc, const char *path, const brine_input *in, void *ctx)
{
    (void)ctx;
    int r = brine_scanner_dump_json(sc, in->data, in->len, path, brine_cli_write_stdout, NULL, NULL);
    if (r < 0) {
        fprintf(stderr, "brine: %s: %s\n", path, brine_strerror(r));
        return 2;
    }
    return 0;
}

typedef struct {
    int files;
    const char *last; /* the stream whose events were printed last */
    char lastbuf[1024];
} events_out;

static int print_event(void *user, const brine_event *ev)
{
    events_out *o = user;
    /* a header when the stream changes, for streams inside a container */
    if (ev->where && ev->where->depth > 1 && (!o->last || strcmp(o->lastbuf, ev->where->text))) {
        snprintf(o->lastbuf, sizeof o->lastbuf, "%s", ev->where->text);
        o->last = o->lastbuf;
        printf("== %s\n", ev->where->text);
    }
    printf("%" PRIu64 "\t%" PRIu64 "\t%s\t%s\t%s\n", ev->offset, ev->opindex, ev->opcode, ev->kind, ev->detail);
    return 0;
}

static int events_one(brine_scanner *sc, const char *path, const brine_input *in, void *ctx)
{
    events_out *o = ctx;
    if (o->files > 1)
        printf("== %s\n", path);
    o->last = NULL;
    int r = brine_scanner_events(sc, in->data, in->len, path, print_event, o, NULL);
    if (r < 0) {
        fprintf(stderr, "brine: %s: %s\n", path, brine_strerror(r));
        return 2;
    }
    return 0;
}

/* explain: the pseudo-Python of each stream; container findings and stream
 * results (which have no statement of their own) as comments. */
typedef struct explain_out {
    bool unsafe, incomplete;
} explain_out;

static int explain_finding(void *user, const brine_finding *f)
{
    (void)user;
    if (strcmp(f->opcode, "-") == 0) /* the statements carry the pickle findings */
        printf("# <-- %s: %s@0x%llx: %s [%s]\n", f->verdict == BRINE_VERDICT_SAFE ? "NOTE" : brine_verdict_name(f->verdict),
               f->location, (unsigned long long)f->offset, f->message, f->rule_id ? f->rule_id : "");
    return 0;
}

static int explain_stream(void *user, const brine_stream_result *r)
{
    (void)user;
    bool unknown = r->verdict == BRINE_VERDICT_SAFE && r->status != BRINE_STATUS_COMPLETE;
    printf("# stream %s [%s]: %s (%s)", r->location, r->format, unknown ? "unknown" : brine_verdict_name(r->verdict),
           brine_status_name(r->status));
    if (r->error)
        printf(" at 0x%llx: %s", (unsigned long long)r->error_offset, r->error);
    printf("\n");
    return 0;
}

static int explain_one(brine_scanner *sc, const char *path, const brine_input *in, void *ctx)
{
    explain_out *o = ctx;
    brine_scan_callbacks cb = {explain_finding, explain_stream, NULL};
    brine_scanner_set_callbacks(sc, &cb, o);
    printf("# brine explain %s: what loading it would do, one statement per side effect, in load order.\n"
           "# import M: find_class imports M and looks the name up; X.__setstate__(s): BUILD (without\n"
           "# __setstate__, s updates X.__dict__ and sets slots); _N: the object made at that line.\n",
           path);
    fflush(stdout);
    brine_stream_result res;
    int r = brine_scanner_explain(sc, in->data, in->len, path, brine_cli_write_stdout, NULL, &res);
    if (r < 0 && r != BRINE_ERR_NOMEM) {
        fprintf(stderr, "brine: %s: %s\n", path, brine_strerror(r));
        return 2;
    }
    bool unknown = res.verdict == BRINE_VERDICT_SAFE && res.status != BRINE_STATUS_COMPLETE;
    printf("\n# %s: %s (%s)", path, unknown ? "unknown" : brine_verdict_name(res.verdict), brine_status_name(res.status));
    if (res.error)
        printf(" at 0x%llx: %s", (unsigned long long)res.error_offset, res.error);
    printf("\n");
    if (res.verdict != BRINE_VERDICT_SAFE)
        return 1;
    return res.status != BRINE_STATUS_COMPLETE ? 3 : 0;
}

static const char explain_usage[] =
    "usage: brine explain [limits] FILE...\n"
    "\n"
    "What loading each file would do, as pseudo-Python: one statement per side effect (import,\n"
    "call, __setstate__, items added to an object, persistent load), in the order the unpickler\n"
    "takes them, for every pickle stream of every container; each finding is marked on the line\n"
    "that causes it (<-- DANGEROUS: ...); objects are named _1, _2, ... as they are made;\n"
    "long constants are abbreviated. Exit status as for brine scan.\n";

static const char usage[] =
    "usage: brine <command> [options] FILE...\n"
    "\n"
    "commands:\n"
    "  scan FILE...            verdict for each file (exit 0 safe, 1 unsafe, 2 error, 3 inconclusive)\n"
    "  disasm FILE...          opcodes with offsets, arguments, stack depth and memo indices\n"
    "  dump --json FILE...     the value each pickle builds, as canonical JSON (one line per file)\n"
    "  events FILE...          every step of the load that could run code\n"
    "  explain FILE...         what loading would do, as pseudo-Python, findings marked\n"
    "  policy check FILE...    validate policy files\n"
    "  policy show [--policy FILE]...  print the effective merged policy\n"
    "  learn FILE...           print the smallest allowlist admitting these trusted files\n"
    "  version                 print the version\n"
    "\n"
    "limits (all commands): --max-opcodes N --max-stack N --max-marks N --max-memo N\n"
    "  --max-bytes N --max-depth N --max-output N --max-pickles N\n"
    "  --max-decompressed N --max-ratio N --max-archive-depth N --max-members N --max-nested N\n"
    "  --max-input-bytes N\n"
    "\n"
    "See README.md and doc/ for the formats.\n";

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    /* --help for every subcommand */
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            if (strcmp(cmd, "scan") == 0)
                break; /* scan has its own */
            if (strcmp(cmd, "explain") == 0)
                fputs(explain_usage, stdout);
            else
                fputs(usage, stdout);
            return 0;
        }
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("brine %s\n", brine_version());
        return 0;
    }
    if (strcmp(cmd, "disasm") == 0) {
        int count = 0;
        return for_each_file(argc - 2, argv + 2, NULL, NULL, disasm_one, &count);
    }
    if (strcmp(cmd, "dump") == 0) {
        static const char *const flags[] = {"--json", NULL};
        bool seen[1] = {false};
        int rc = for_each_file(argc - 2, argv + 2, flags, seen, dump_one, NULL);
        if (!seen[0] && rc != 2) {
            /* JSON is the only format; accept its absence but say so */
        }
        return rc;
    }
    if (strcmp(cmd, "events") == 0) {
        events_out o = {0};
        for (int i = 2; i < argc; i++)
            if (argv[i][0] != '-' || !argv[i][1])
                o.files++;
        return for_each_file(argc - 2, argv + 2, NULL, NULL, events_one, &o);
    }
    if (strcmp(cmd, "explain") == 0) {
        explain_out o = {0};
        return for_each_file(argc - 2, argv + 2, NULL, NULL, explain_one, &o);
    }
    if (strcmp(cmd, "scan") == 0)
        return brine_cli_scan(argc - 2, argv + 2);
    if (strcmp(cmd, "policy") == 0)
        return brine_cli_policy(argc - 2, argv + 2);
    if (strcmp(cmd, "learn") == 0)
        return brine_cli_learn(argc - 2, argv + 2);
    fprintf(stderr, "brine: unknown command '%s'\n\n%s", cmd, usage);
    return 2;
}
