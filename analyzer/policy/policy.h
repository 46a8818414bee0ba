/* The compiled policy (internal). policy_yaml.c builds it from YAML (and is the
 * only user of libyaml); policy.c matches names and values. The default policy
 * is these structures written as static C initializers at build time by
 * tools/policy_gen.c, and test/unit/test_embedded.c compares them field by
 * field with the YAML compiled at run time: a new field needs a line in both. */
#ifndef BRINE_POLICY_H
#define BRINE_POLICY_H

#include "brine.h"
#include "value.h"

enum { BRINE_PERM_IMPORT = 1, BRINE_PERM_CALL = 2, BRINE_PERM_BUILD = 4, BRINE_PERM_ITEMS = 8 };

typedef enum brine_ckind {
    BRINE_C_ANY,
    BRINE_C_CONST,
    BRINE_C_TYPE,
    BRINE_C_VALUES,
    BRINE_C_GLOBAL,
    BRINE_C_TUPLE,
    BRINE_C_ONE_OF
} brine_ckind;

/* A YAML scalar in a `values:` list, typed as YAML 1.1 core would. */
typedef struct brine_scalar {
    uint8_t kind; /* BRINE_V_NONE, BOOL, INT, FLOAT, STR */
    int64_t i;
    double f;
    char *s;
    size_t n;
} brine_scalar;

typedef struct brine_constraint {
    brine_ckind kind;
    uint32_t types;  /* TYPE: bit per brine_vkind, plus BRINE_T_GLOBAL/OBJECT */
    int perm;        /* GLOBAL */
    brine_scalar *values;
    size_t nvalues;
    struct brine_constraint **kids; /* TUPLE / ONE_OF */
    size_t nkids;
} brine_constraint;

typedef struct brine_callrule {
    bool any_args;           /* `call: true` */
    int64_t arity_min, arity_max; /* -1: unconstrained */
    brine_constraint **args;
    size_t nargs;
    bool kwargs;             /* NEWOBJ_EX keyword arguments allowed */
    struct brine_callrule *next;
} brine_callrule;

typedef struct brine_buildrule {
    brine_constraint *state; /* NULL: any state */
    struct brine_buildrule *next;
} brine_buildrule;

typedef struct brine_where {
    const char *pack, *file;
    unsigned line, column;
} brine_where;

typedef struct brine_allow {
    char *module, *name; /* name "*": any non-dotted name in the module */
    int perms;
    bool factory;            /* the call returns an instance of its first argument */
    brine_callrule *calls;   /* OR of rules; empty with PERM_CALL means any */
    brine_buildrule *builds;
    brine_where where;
    struct brine_allow *next_in_bucket;
    struct brine_allow *next;
} brine_allow;

typedef struct brine_deny {
    char *module, *name; /* name NULL: the module (and submodules if set) */
    bool submodules;
    brine_severity severity;
    char *reason;
    /* reviewed data-only names the deny does not cover: exact module:qualname,
     * never an attribute path below one (doc/policy.md, `except`) */
    char **except_module, **except_name;
    size_t nexcept;
    brine_where where;
    struct brine_deny *next;
    /* the deny index (brine_policy_add_deny): module length, load order, and
     * the next entry of the same hash bucket */
    size_t modn;
    uint32_t ord;
    struct brine_deny *next_in_bucket;
} brine_deny;

typedef struct brine_persid_rule {
    char *name;
    brine_constraint *match;
    int64_t resolves_to; /* the loader returns this element of the id (a global); -1: an opaque object */
    brine_where where;
    struct brine_persid_rule *next;
} brine_persid_rule;

typedef struct brine_pack {
    char *name, *description, *file;
    char *text; /* the YAML source (for policy show) */
    struct brine_pack *next;
} brine_pack;

struct brine_policy {
    brine_arena arena;  /* everything below lives here */
    brine_allow **buckets;
    size_t nbuckets, nallow;
    brine_allow *allows, **allows_tail; /* in load order (the tail makes appending O(1)) */
    brine_deny *denies, **denies_tail;
    brine_deny **deny_buckets; /* by module name: a lookup probes one bucket per module prefix */
    size_t ndeny_buckets, ndenies;
    brine_persid_rule *persids, **persids_tail;
    char **dunders;
    size_t ndunders, dcap;
    brine_pack *packs, **packs_tail;
    /* the embedded policy's identity hash, computed at build time by
     * tools/policy_gen.c (hashing 4 MB of policy text costs ~100 ms); NULL:
     * brine_policy_identity computes it */
    const char *identity;
};

/* Lookup (module and qualname are byte strings, not NUL-terminated). */
const brine_allow *brine_policy_find(const brine_policy *p, const uint8_t *mod, size_t modn, const uint8_t *name,
                                     size_t namen);
const brine_deny *brine_policy_denied(const brine_policy *p, const uint8_t *mod, size_t modn, const uint8_t *name,
                                      size_t namen);
const char *brine_policy_dunder(const brine_policy *p, const uint8_t *mod, size_t modn, const uint8_t *name,
                                size_t namen);
/* True if the global value is admitted for perm (and not denied). */
bool brine_policy_global_allows(const brine_policy *p, const brine_value *g, int perm);

/* A BRINE_C_TYPE constraint's test (inline: most arguments' constraint,
 * and one that spends no budget). */
static inline bool brine_constraint_type_ok(const brine_constraint *c, const brine_value *v)
{
    if (v->kind == BRINE_V_GLOBAL && v->dynamic)
        return (c->types & (1u << BRINE_V_CALL)) != 0; /* a dynamic global is an object */
    return (c->types & (1u << v->kind)) != 0;
}

/* Does value v satisfy constraint c? (bounded walk; false when over budget) */
bool brine_constraint_match(const brine_policy *p, const brine_constraint *c, const brine_value *v);
/* The same, also spending from *left, a budget shared by every match of one
 * stream (a file that passes one large value to thousands of constrained
 * calls would otherwise walk it at each): at zero nothing matches. */
bool brine_constraint_match_budget(const brine_policy *p, const brine_constraint *c, const brine_value *v,
                                   uint64_t *left);
/* The same with `global:` constraints answered by allows(user, g, perm),
 * which must say what brine_policy_global_allows says (the judge's per-stream
 * verdict cache). */
typedef bool (*brine_allows_fn)(void *user, const brine_value *g, int perm);
bool brine_constraint_match_with(const brine_policy *p, const brine_constraint *c, const brine_value *v,
                                 uint64_t *left, brine_allows_fn allows, void *user);

/* Append a deny entry (its module, name and submodules set) and index it.
 * Returns false when memory ran out. */
bool brine_policy_add_deny(brine_policy *p, brine_deny *d);

/* Insert an allow entry (merging with an existing one for the same name). */
brine_allow *brine_policy_allow_entry(brine_policy *p, const char *module, const char *name);

/* Built-in packs (generated from the YAML files in rules/). */
typedef struct brine_builtin_pack {
    const char *name;
    const char *text;
} brine_builtin_pack;
extern const brine_builtin_pack brine_builtin_packs[];
extern const size_t brine_builtin_npacks;

/* The built-in default policy (dangerous + bundle), compiled at build time
 * from the same YAML by tools/policy_gen.c into static const tables
 * (brine_policy_compile with no files hands out its address; destroying it
 * does nothing). */
extern const struct brine_policy brine_embedded_policy;

/* brine_policy_compile as it is without the embedded form: with no files,
 * the built-in packs are compiled from their YAML text. The generator uses it,
 * and test/unit/test_embedded.c to check the embedded form against it. */
int brine_policy_compile_yaml(brine_policy **out, const char *const *files, size_t nfiles, brine_diag *diag);

/* Compile one policy held in memory, named `name` in diagnostics; relative
 * paths in its `extends` resolve against the working directory. Without
 * with_dangerous the known-dangerous pack is not loaded first (for the fuzz
 * target, which would otherwise spend its time parsing that pack; a policy
 * for scanning always comes from brine_policy_compile). */
int brine_policy_compile_text(brine_policy **out, const char *text, size_t len, const char *name, bool with_dangerous,
                              brine_diag *diag);

/* FNV-1a of "module:name": the key of the allow index (and of the judge's cache). */
uint64_t brine_policy_name_hash(const uint8_t *mod, size_t modn, const uint8_t *name, size_t namen);

#endif
