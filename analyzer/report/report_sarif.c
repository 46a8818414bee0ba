/* SARIF 2.1.0 (OASIS): one run; results stream out as files finish, the
 * tool's rules (every ruleId used, with help) are written at the end. JSON
 * members may come in any order, so "results" precedes "tool". */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"

/* What each rule id means (the ids come from the library's findings). */
static const struct {
    const char *id, *name, *short_text, *help;
} rules[] = {
    {"deny", "KnownDangerousName", "A name known to run code is imported or used",
     "The pickle imports or uses a name listed in a deny list (rules/dangerous.yaml or a policy's deny:). Loading "
     "the file runs it. Do not load the file; if it is a model, ask for a format without code (safetensors)."},
    {"dunder", "DunderComponent", "A dunder attribute path such as __globals__ is reached",
     "A name component like __globals__ or __builtins__ reaches interpreter internals; this is a classic escape."},
    {"not-allowed", "NotOnAllowlist", "A name is used that the policy does not allow",
     "The name is not known to be dangerous, but the allowlist does not admit it. Review what it does; if the "
     "file is trusted, add an allow entry (brine learn FILE writes one) and pass the policy with --policy."},
    {"no-call-permission", "CallNotAllowed", "A name is called that the policy allows only to be imported",
     "The policy admits the name, but not a call of it. Add `call:` to its allow entry if the call is expected."},
    {"call-constraint", "CallConstraint", "A call's arguments do not meet the policy's constraints",
     "The policy allows calling this name only with certain arguments (arity, constants, values, classes); this "
     "call does not fit them."},
    {"no-permission", "StateNotAllowed", "State (BUILD) or items are set on an object the policy does not allow",
     "The load sets state or adds items on an object made by a name whose allow entry lacks build: or items:."},
    {"build-constraint", "BuildConstraint", "BUILD state does not meet the policy's constraint",
     "The allow entry constrains the BUILD state of this class; the state in the file does not fit."},
    {"call-non-global", "CallOfNonGlobal", "Something that is not a global reference is called",
     "A REDUCE (or similar) calls the result of another call or a value from the stack: a way to reach any "
     "function indirectly."},
    {"state-on-global", "StateOnGlobal", "State or items are set on a module, function or class itself",
     "BUILD or items on a global itself overwrites attributes of live objects (setattr on a module or class)."},
    {"unknown-target", "UnknownTarget", "State or items are set on something brine cannot name",
     "BUILD or items on a value whose origin is not a named global: what runs depends on runtime types."},
    {"persistent-id", "PersistentId", "A persistent id fits no shape the policy allows",
     "PERSID/BINPERSID hands a value to the loader's persistent_load; only known shapes (torch storages) are safe."},
    {"dynamic-import", "DynamicImport", "A module or name is computed at load time",
     "STACK_GLOBAL with a module or name that is not a constant string: the import cannot be checked statically."},
    {"extension-code", "ExtensionCode", "An extension code (EXT1/2/4) is used",
     "Extension codes import whatever copyreg's registry maps them to in the loading process."},
    {"anomaly", "Anomaly", "Something no pickler writes and readers disagree on",
     "An opcode crossing a frame, a frame inside a frame, an unusual integer literal: accepted by CPython, but a "
     "sign of a crafted file and of reader differences."},
    {"trailing-data", "TrailingData", "Bytes after the end of a pickle or container",
     "Data after STOP (or after a container's end) that is not another pickle; some readers see it."},
    {"not-analysed", "NotAnalysed", "Part of the file could not be analysed (fail closed)",
     "A limit was hit, a member is encrypted or unsupported, or memory ran out; the file is not fully analysed "
     "and is not safe to load on brine's word."},
    {"zip-readers-disagree", "ZipReadersDisagree", "Zip readers would see different members",
     "The central directory and the local headers disagree; Python's zipfile and other readers see different "
     "contents."},
    {"zip-structure", "ZipStructure", "The zip structure is unusual or inconsistent",
     "Overlapping members, prefixes, bad CRCs or similar: the archive may be crafted to hide a member."},
    {"zip-flags", "ZipFlags", "Zip member flags are unusual (encryption, differing flags)",
     "A member is encrypted or its flags differ between headers."},
    {"incomplete", "NotFullyAnalysed", "The file is malformed or a limit was hit",
     "CPython would raise part way through (malformed), or a brine limit stopped the analysis (inconclusive). "
     "Nothing unsafe was found in what was read, but the file is not safe on brine's word."},
};
#define NRULES (sizeof rules / sizeof rules[0])

/* unreadable files are kept for the notifications at the end */
typedef struct unreadable {
    struct unreadable *next;
    char *path, *msg;
} unreadable;

struct sarif_state {
    char **ids; /* rule ids in order of first use */
    size_t n, cap;
    unreadable *bad, **tail;
    char cwd[4096];
};

sarif_state *report_sarif_new(void)
{
    return calloc(1, sizeof(sarif_state));
}

void report_sarif_free(sarif_state *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->ids[i]);
    free(s->ids);
    while (s->bad) {
        unreadable *n = s->bad->next;
        free(s->bad->path);
        free(s->bad->msg);
        free(s->bad);
        s->bad = n;
    }
    free(s);
}

static long rule_index(sarif_state *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->ids[i], id))
            return (long)i;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        char **p = realloc(s->ids, nc * sizeof *p);
        if (!p)
            return -1;
        s->ids = p;
        s->cap = nc;
    }
    char *c = strdup(id);
    if (!c)
        return -1;
    s->ids[s->n] = c;
    return (long)s->n++;
}

static void uri_encode(rbuf *b, const char *s);

void report_sarif_begin(rbuf *b, sarif_state *s, const brine_report_options *o, const char *cwd)
{
    (void)o;
    snprintf(s->cwd, sizeof s->cwd, "%s", cwd);
    s->tail = &s->bad;
    rbuf_puts(b, "{\"$schema\":\"https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json\",\"version\":\"2.1.0\","
                 "\"runs\":[{\"columnKind\":\"unicodeCodePoints\",\"originalUriBaseIds\":{\"SRCROOT\":{\"uri\":\"");
    /* the base URI of the run: the directory results are relative to */
    rbuf_puts(b, "file://");
    uri_encode(b, strcmp(cwd, "/") ? cwd : "");
    rbuf_puts(b, "/\"}},\"results\":[");
}

/* A URI reference for a path: relative to cwd when below it, percent-encoded. */
static void uri_encode(rbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~/!$&'()*+,;=@", (int)c))
            rbuf_put(b, (const char *)p, 1);
        else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rbuf_put(b, e, 3);
        }
    }
}

static bool relative_uri(rbuf *b, const char *path, const char *cwd)
{
    size_t n = strlen(cwd);
    if (path[0] == '/') {
        if (n && !strncmp(path, cwd, n) && path[n] == '/') {
            uri_encode(b, path + n + 1);
            return true;
        }
        rbuf_puts(b, "file://");
        uri_encode(b, path);
        return false;
    }
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    /* a first segment with a colon would read as a scheme */
    const char *colon = strchr(path, ':'), *slash = strchr(path, '/');
    if (colon && (!slash || colon < slash))
        rbuf_puts(b, "./");
    uri_encode(b, path);
    return true;
}

static void sarif_uri_json(rbuf *b, const char *path, const char *cwd)
{
    rbuf tmp = {0};
    bool rel = relative_uri(&tmp, path, cwd);
    rbuf_puts(b, "{\"uri\":");
    rbuf_json_str(b, tmp.p ? tmp.p : "");
    if (rel)
        rbuf_puts(b, ",\"uriBaseId\":\"SRCROOT\"");
    rbuf_puts(b, "}");
    rbuf_free(&tmp);
}

static const char *level_of(brine_severity s)
{
    return s >= BRINE_SEVERITY_HIGH ? "error" : s == BRINE_SEVERITY_MEDIUM ? "warning" : "note";
}

void report_sarif_file(rbuf *b, sarif_state *s, const brine_report_file *f, const brine_report_options *o,
                       const char *cwd, bool *first)
{
    (void)o;
    if (f->failed) { /* reported as a notification at the end */
        unreadable *u = calloc(1, sizeof *u);
        if (u) {
            u->path = strdup(f->path);
            u->msg = strdup(f->fail_message ? f->fail_message : "cannot be read");
            *s->tail = u;
            s->tail = &u->next;
        }
        return;
    }
    for (size_t i = 0; i < f->nfinds; i++) {
        const rfinding *x = &f->finds[i];
        const rloc *l = &f->locs[x->loc];
        long idx = rule_index(s, x->rule_id);
        rbuf_puts(b, *first ? "\n{" : ",\n{");
        *first = false;
        rbuf_puts(b, "\"ruleId\":");
        rbuf_json_str(b, x->rule_id);
        if (idx >= 0)
            rbuf_printf(b, ",\"ruleIndex\":%ld", idx);
        rbuf_printf(b, ",\"level\":\"%s\",\"kind\":\"fail\",\"message\":{\"text\":", level_of(x->severity));
        rbuf t = {0};
        rbuf_printf(&t, "%s", x->message);
        if (x->name[0] && !strstr(x->message, x->name))
            rbuf_printf(&t, " (%s)", x->name);
        rbuf_printf(&t, " at %s@0x%" PRIx64 " (%s)", l->text, x->offset, x->opcode);
        rbuf_json_str(b, t.p ? t.p : "");
        rbuf_free(&t);
        /* the region: the byte of the opcode when the stream is the file
         * itself; else where the outermost container member starts */
        uint64_t at = l->depth <= 1 ? x->offset : l->steps[1].offset;
        rbuf_puts(b, "},\"locations\":[{\"physicalLocation\":{\"artifactLocation\":");
        sarif_uri_json(b, f->path, cwd);
        rbuf_printf(b, ",\"region\":{\"byteOffset\":%" PRIu64 "%s}}", at, l->depth <= 1 ? ",\"byteLength\":1" : "");
        rbuf_puts(b, ",\"logicalLocations\":[{\"fullyQualifiedName\":");
        rbuf_json_str(b, l->text);
        rbuf_puts(b, ",\"kind\":\"resource\"}]}]");
        /* stable across runs and machines: what, where inside the file, not
         * the path (a renamed file keeps its fingerprints) */
        rbuf key = {0};
        const char *inner = l->depth > 1 ? strchr(l->text + strlen(f->path), '!') : NULL;
        rbuf_printf(&key, "%s\x1f%s\x1f%" PRIu64 "\x1f%s\x1f%s\x1f%s", x->rule_id, inner ? inner : "", x->offset,
                    x->opcode, x->kind, x->name);
        char hex[65];
        brine_report_sha256((const uint8_t *)(key.p ? key.p : ""), key.len, hex);
        rbuf_free(&key);
        hex[32] = 0;
        rbuf_printf(b, ",\"partialFingerprints\":{\"brineFinding/v1\":\"%s\"", hex);
        if (f->has_sha)
            rbuf_printf(b, ",\"brineFileFinding/v1\":\"%.32s%.16s\"", hex, f->sha256);
        rbuf_puts(b, "},\"properties\":{\"container\":");
        rbuf_json_str(b, l->text);
        rbuf_printf(b, ",\"streamOffset\":%" PRIu64 ",\"opindex\":%" PRIu64 ",\"opcode\":", x->offset, x->opindex);
        rbuf_json_str(b, x->opcode);
        rbuf_puts(b, ",\"eventKind\":");
        rbuf_json_str(b, x->kind);
        rbuf_printf(b, ",\"verdict\":\"%s\",\"severity\":\"%s\",\"name\":", brine_verdict_name(x->verdict),
                    brine_severity_name(x->severity));
        rbuf_json_str(b, x->name);
        rbuf_puts(b, ",\"call\":");
        rbuf_json_str(b, x->call);
        rbuf_puts(b, ",\"rule\":");
        rbuf_json_str(b, x->rule);
        if (x->rule_pack[0]) {
            rbuf_puts(b, ",\"rulePack\":");
            rbuf_json_str(b, x->rule_pack);
            rbuf_puts(b, ",\"ruleFile\":");
            rbuf_json_str(b, x->rule_file);
            rbuf_printf(b, ",\"ruleLine\":%u", x->rule_line);
        }
        if (f->has_sha) {
            rbuf_puts(b, ",\"sha256\":");
            rbuf_json_str(b, f->sha256);
        }
        rbuf_puts(b, ",\"steps\":[");
        for (size_t k = 0; k < l->depth; k++) {
            rbuf_puts(b, k ? ",{\"kind\":" : "{\"kind\":");
            rbuf_json_str(b, l->steps[k].kind);
            rbuf_puts(b, ",\"format\":");
            rbuf_json_str(b, l->steps[k].format);
            rbuf_puts(b, ",\"name\":");
            rbuf_json_str(b, l->steps[k].name);
            rbuf_printf(b, ",\"offset\":%" PRIu64 "}", l->steps[k].offset);
        }
        rbuf_puts(b, "]}}");
    }
    if (f->res.status != BRINE_STATUS_COMPLETE && f->res.verdict == BRINE_VERDICT_SAFE) {
        long idx = rule_index(s, "incomplete");
        rbuf_puts(b, *first ? "\n{" : ",\n{");
        *first = false;
        rbuf_puts(b, "\"ruleId\":\"incomplete\"");
        if (idx >= 0)
            rbuf_printf(b, ",\"ruleIndex\":%ld", idx);
        rbuf_puts(b, ",\"level\":\"warning\",\"kind\":\"fail\",\"message\":{\"text\":");
        rbuf t = {0};
        rbuf_printf(&t, "not fully analysed (%s)%s%s", brine_status_name(f->res.status), f->res.error ? ": " : "",
                    f->res.error ? f->res.error : "");
        rbuf_json_str(b, t.p ? t.p : "");
        rbuf_free(&t);
        rbuf_puts(b, "},\"locations\":[{\"physicalLocation\":{\"artifactLocation\":");
        sarif_uri_json(b, f->path, cwd);
        rbuf_printf(b, ",\"region\":{\"byteOffset\":%" PRIu64 "}}}]", f->res.error_offset);
        char key[80];
        snprintf(key, sizeof key, "incomplete\x1f%s\x1f%" PRIu64, brine_status_name(f->res.status), f->res.error_offset);
        char hex[65];
        brine_report_sha256((const uint8_t *)key, strlen(key), hex);
        hex[32] = 0;
        rbuf_printf(b, ",\"partialFingerprints\":{\"brineFinding/v1\":\"%s\"},\"properties\":{\"status\":\"%s\"}}", hex,
                    brine_status_name(f->res.status));
    }
}

void report_sarif_end(rbuf *b, sarif_state *s, const brine_policy *p, const char *hash, const char *packs)
{
    (void)p;
    rbuf_puts(b, "\n],\"tool\":{\"driver\":{\"name\":\"brine\",\"informationUri\":\"https://github.com/brine/brine\","
                 "\"version\":");
    rbuf_json_str(b, brine_version());
    rbuf_puts(b, ",\"semanticVersion\":");
    rbuf_json_str(b, brine_version());
    rbuf_puts(b, ",\"rules\":[");
    for (size_t i = 0; i < s->n; i++) {
        size_t k = 0;
        while (k < NRULES && strcmp(rules[k].id, s->ids[i]))
            k++;
        rbuf_puts(b, i ? ",\n{\"id\":" : "\n{\"id\":");
        rbuf_json_str(b, s->ids[i]);
        if (k < NRULES) {
            rbuf_puts(b, ",\"name\":");
            rbuf_json_str(b, rules[k].name);
            rbuf_puts(b, ",\"shortDescription\":{\"text\":");
            rbuf_json_str(b, rules[k].short_text);
            rbuf_puts(b, "},\"fullDescription\":{\"text\":");
            rbuf_json_str(b, rules[k].help);
            rbuf_puts(b, "},\"help\":{\"text\":");
            rbuf_json_str(b, rules[k].help);
            rbuf_puts(b, ",\"markdown\":");
            rbuf t = {0};
            rbuf_printf(&t, "**%s**\n\n%s\n\nSee doc/report.md (rule `%s`).", rules[k].short_text, rules[k].help,
                        rules[k].id);
            rbuf_json_str(b, t.p ? t.p : "");
            rbuf_free(&t);
            rbuf_puts(b, "}");
        } else {
            rbuf_puts(b, ",\"shortDescription\":{\"text\":\"A finding of brine\"},\"help\":{\"text\":");
            rbuf t = {0};
            rbuf_printf(&t, "brine reported a finding of kind %s; the message says what and where.", s->ids[i]);
            rbuf_json_str(b, t.p ? t.p : "");
            rbuf_free(&t);
            rbuf_puts(b, "}");
        }
        rbuf_puts(b, ",\"properties\":{\"tags\":[\"security\",\"pickle\"]}}");
    }
    rbuf_puts(b, "]}},\"invocations\":[{\"executionSuccessful\":true,\"toolExecutionNotifications\":[");
    for (unreadable *u = s->bad; u; u = u->next) {
        rbuf_puts(b, u == s->bad ? "\n{" : ",\n{");
        rbuf_puts(b, "\"level\":\"error\",\"descriptor\":{\"id\":\"unreadable\"},\"message\":{\"text\":");
        rbuf t = {0};
        rbuf_printf(&t, "%s: cannot be read: %s", u->path, u->msg);
        rbuf_json_str(b, t.p ? t.p : "");
        rbuf_free(&t);
        rbuf_puts(b, "},\"locations\":[{\"physicalLocation\":{\"artifactLocation\":");
        sarif_uri_json(b, u->path, s->cwd);
        rbuf_puts(b, "}}]}");
    }
    rbuf_puts(b, "]}],\"properties\":{\"policy\":{\"hash\":");
    rbuf_json_str(b, hash);
    rbuf_puts(b, ",\"packs\":");
    rbuf_json_str(b, packs);
    rbuf_puts(b, "}}}]}\n");
}
