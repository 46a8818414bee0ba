/* The text report: one headline per file (`FILE: VERDICT (STATUS)`, the
 * format scripts and the tests parse), then each finding, the streams, and
 * for names merely missing from the allowlist the policy entry that would
 * admit them. The headline never says "safe" for a file that is not safe and
 * complete: such a file reads "unknown (malformed)" or "unknown (inconclusive)". */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_RED "\033[1;31m"
#define C_YELLOW "\033[33m"
#define C_GREEN "\033[32m"
#define C_MAGENTA "\033[35m"
#define C_DIM "\033[2m"

static const char *colour_of(brine_report_outcome o)
{
    switch (o) {
    case BRINE_OUTCOME_SAFE:
        return C_GREEN;
    case BRINE_OUTCOME_SUSPICIOUS:
        return C_YELLOW;
    case BRINE_OUTCOME_DANGEROUS:
        return C_RED;
    default:
        return C_MAGENTA;
    }
}

static void col(rbuf *b, const brine_report_options *o, const char *c)
{
    if (o->color)
        rbuf_puts(b, c);
}

/* The word of the headline: the verdict, or "unknown" when nothing unsafe
 * was found but the file was not fully analysed. */
static const char *headline_word(const brine_report_file *f)
{
    switch (brine_report_file_outcome(f)) {
    case BRINE_OUTCOME_SAFE:
        return "safe";
    case BRINE_OUTCOME_SUSPICIOUS:
        return "suspicious";
    case BRINE_OUTCOME_DANGEROUS:
        return "dangerous";
    case BRINE_OUTCOME_INCOMPLETE:
        return "unknown";
    default:
        return "unreadable";
    }
}

static void text_finding(rbuf *b, const brine_report_file *f, const rfinding *x, const brine_report_options *o)
{
    brine_report_outcome oc = x->verdict == BRINE_VERDICT_DANGEROUS    ? BRINE_OUTCOME_DANGEROUS
                              : x->verdict == BRINE_VERDICT_SUSPICIOUS ? BRINE_OUTCOME_SUSPICIOUS
                                                                       : BRINE_OUTCOME_INCOMPLETE;
    rbuf_puts(b, "  ");
    col(b, o, colour_of(oc));
    rbuf_printf(b, "%-10s %-8s", x->verdict == BRINE_VERDICT_SAFE ? "note" : brine_verdict_name(x->verdict),
                brine_severity_name(x->severity));
    col(b, o, C_RESET);
    rbuf_printf(b, " %s@0x%" PRIx64 " %s %s: %s\n", f->locs[x->loc].text, x->offset, x->opcode, x->kind, x->message);
    if (x->call[0])
        rbuf_printf(b, "             in: %s\n", x->call);
    rbuf_printf(b, "             rule: %s [%s]\n", x->rule, x->rule_id);
}

/* The entries that would admit the names that are merely not on the
 * allowlist: one per name, with the permissions the findings asked for. */
static void text_suggestions(rbuf *b, const brine_report_file *f, const brine_report_options *o)
{
    /* names are few; a quadratic merge over the kept findings is fine */
    size_t n = 0;
    for (size_t i = 0; i < f->nfinds; i++)
        n += report_missing_permission(&f->finds[i]) != NULL;
    if (!n)
        return;
    bool any_dangerous = false;
    for (size_t i = 0; i < f->nfinds; i++)
        any_dangerous |= f->finds[i].verdict == BRINE_VERDICT_DANGEROUS;
    rbuf_puts(b, "  ");
    col(b, o, C_BOLD);
    rbuf_puts(b, "not on the allowlist:");
    col(b, o, C_RESET);
    rbuf_printf(b, " if you trust this file%s, a policy with these entries admits it (--policy FILE;\n"
                   "  `brine learn FILE > policy.yaml` writes them for trusted files):\n"
                   "    pack: local\n    extends: [bundle]\n    allow:\n",
                any_dangerous ? " (it is also dangerous: no entry overrides that)" : "");
    for (size_t i = 0; i < f->nfinds; i++) {
        const rfinding *x = &f->finds[i];
        if (!report_missing_permission(x))
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = report_missing_permission(&f->finds[j]) && !strcmp(f->finds[j].name, x->name);
        if (seen)
            continue;
        bool perm[4] = {false};
        static const char *const uses[] = {"import", "call", "build", "items"};
        for (size_t j = i; j < f->nfinds; j++) {
            const char *p = report_missing_permission(&f->finds[j]);
            if (!p || strcmp(f->finds[j].name, x->name))
                continue;
            for (size_t k = 0; k < 4; k++)
                perm[k] |= !strcmp(p, uses[k]);
        }
        rbuf_puts(b, "      - name: ");
        rbuf_json_str(b, x->name);
        rbuf_puts(b, "\n");
        for (size_t k = 1; k < 4; k++)
            if (perm[k])
                rbuf_printf(b, "        %s: true\n", uses[k]);
    }
}

void report_text_file(rbuf *b, const brine_report_file *f, const brine_report_options *o)
{
    brine_report_outcome oc = brine_report_file_outcome(f);
    if (f->failed) {
        rbuf_printf(b, "%s: ", f->path);
        col(b, o, colour_of(oc));
        rbuf_puts(b, "unreadable");
        col(b, o, C_RESET);
        rbuf_printf(b, " (error): %s\n", f->fail_message);
        return;
    }
    rbuf_printf(b, "%s: ", f->path);
    col(b, o, colour_of(oc));
    rbuf_puts(b, headline_word(f));
    col(b, o, C_RESET);
    rbuf_printf(b, " (%s)", brine_status_name(f->res.status));
    if (f->res.error)
        rbuf_printf(b, " at 0x%" PRIx64 ": %s", f->res.error_offset, f->res.error);
    rbuf_puts(b, "\n");
    if (!o->quiet) {
        for (size_t i = 0; i < f->nfinds; i++)
            text_finding(b, f, &f->finds[i], o);
        if (f->findings_seen > f->nfinds)
            rbuf_printf(b, "  ... %" PRIu64 " more findings not shown\n", f->findings_seen - f->nfinds);
    }
    for (size_t i = 0; i < f->nstreams; i++) {
        const rstream *s = &f->streams[i];
        if (o->quiet && s->status == BRINE_STATUS_COMPLETE && s->verdict == BRINE_VERDICT_SAFE)
            continue;
        bool unknown = s->verdict == BRINE_VERDICT_SAFE && s->status != BRINE_STATUS_COMPLETE;
        rbuf_printf(b, "  stream %s [%s]: %s (%s)", f->locs[s->loc].text, s->format,
                    unknown ? "unknown" : brine_verdict_name(s->verdict), brine_status_name(s->status));
        if (s->error)
            rbuf_printf(b, " at 0x%" PRIx64 ": %s", s->error_offset, s->error);
        rbuf_puts(b, "\n");
    }
    if (!o->quiet)
        text_suggestions(b, f, o);
}
