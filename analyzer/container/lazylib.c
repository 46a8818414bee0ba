/* Libraries opened with dlopen the first time a file needs them (lazylib.h).
 * With the SIGBUS guard of scanner.c, the only mutable globals of libbrine;
 * each is written once under its pthread_once and then only read, except the
 * libmagic handle, used under mg_lock:
 *   <id>_once, <id>_table, <id>_ok, <id>_err   one set per library
 *   mg_once, mg_lock, mg_handle, mg_buffer     the process's one libmagic handle
 *   test_sonames                               sonames a test substitutes first
 * test/unit/check_globals.py lists the writable symbols of libbrine.so and
 * fails on any other. */
#include "lazylib.h"

#include <dlfcn.h>
#include <magic.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* the sonames found at configure time (meson.build), these by default */
#ifndef BRINE_SONAME_libarchive
#define BRINE_SONAME_libarchive "libarchive.so.13"
#endif
#ifndef BRINE_SONAME_libz
#define BRINE_SONAME_libz "libz.so.1"
#endif
#ifndef BRINE_SONAME_libbz2
#define BRINE_SONAME_libbz2 "libbz2.so.1.0"
#endif
#ifndef BRINE_SONAME_liblzma
#define BRINE_SONAME_liblzma "liblzma.so.5"
#endif
#ifndef BRINE_SONAME_libyaml
#define BRINE_SONAME_libyaml "libyaml-0.so.2"
#endif
#ifndef BRINE_SONAME_libmagic
#define BRINE_SONAME_libmagic "libmagic.so.1"
#endif

enum { T_LIBARCHIVE, T_LIBZ, T_LIBBZ2, T_LIBLZMA, T_LIBYAML, T_LIBMAGIC, T_N };
static const char *const lib_ids[T_N] = {"libarchive", "libz", "libbz2", "liblzma", "libyaml", "libmagic"};
static const char *test_sonames[T_N];

void brine_lazy_test_soname(const char *lib, const char *soname)
{
    for (int i = 0; i < T_N; i++)
        if (strcmp(lib, lib_ids[i]) == 0)
            test_sonames[i] = soname;
}

/* Open `soname` and fill `slots` (a table of function pointers, in the
 * order of `names`). On failure err says why and nothing is filled. */
static bool lazy_open(const char *what, const char *soname, const char *const *names, size_t n, void **slots,
                      char *err, size_t errsize)
{
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(err, errsize, "%s could not be loaded: %s", what, e ? e : soname);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        void *f = dlsym(h, names[i]);
        if (!f) {
            /* the handle stays open: harmless, and nothing of it was used */
            snprintf(err, errsize, "%s could not be loaded: %s has no %s", what, soname, names[i]);
            return false;
        }
        slots[i] = f;
    }
    return true;
}

#define BRINE_LAZY_NAME(name) #name,
#define BRINE_LAZY_DEFINE(id, T, FUNCS)                                                                      \
    static pthread_once_t id##_once = PTHREAD_ONCE_INIT;                                                      \
    static brine_##id id##_table;                                                                             \
    static bool id##_ok;                                                                                      \
    static char id##_err[256];                                                                                \
    static void id##_load(void)                                                                               \
    {                                                                                                         \
        static const char *const names[] = {FUNCS(BRINE_LAZY_NAME)};                                        \
        void *slots[sizeof names / sizeof names[0]];                                                          \
        _Static_assert(sizeof slots == sizeof(brine_##id), "one pointer per function");                       \
        const char *so = test_sonames[T] ? test_sonames[T] : BRINE_SONAME_##id;                               \
        if (lazy_open(#id, so, names, sizeof names / sizeof names[0], slots, id##_err, sizeof id##_err)) {    \
            memcpy(&id##_table, slots, sizeof id##_table);                                                    \
            id##_ok = true;                                                                                   \
        }                                                                                                     \
    }                                                                                                         \
    const brine_##id *brine_##id##_get(void)                                                                  \
    {                                                                                                         \
        pthread_once(&id##_once, id##_load);                                                                  \
        return id##_ok ? &id##_table : NULL;                                                                  \
    }                                                                                                         \
    const char *brine_##id##_error(void)                                                                      \
    {                                                                                                         \
        pthread_once(&id##_once, id##_load);                                                                  \
        return id##_ok ? NULL : id##_err;                                                                     \
    }

BRINE_LAZY_DEFINE(libarchive, T_LIBARCHIVE, BRINE_LIBARCHIVE_FUNCS)
BRINE_LAZY_DEFINE(libz, T_LIBZ, BRINE_LIBZ_FUNCS)
BRINE_LAZY_DEFINE(libbz2, T_LIBBZ2, BRINE_LIBBZ2_FUNCS)
BRINE_LAZY_DEFINE(liblzma, T_LIBLZMA, BRINE_LIBLZMA_FUNCS)
BRINE_LAZY_DEFINE(libyaml, T_LIBYAML, BRINE_LIBYAML_FUNCS)

bool brine_lazy_is_load_error(const char *e)
{
    return e && (e == libarchive_err || e == libz_err || e == libbz2_err || e == liblzma_err || e == libyaml_err);
}

/* ---- libmagic -------------------------------------------------------------------------- */

static pthread_once_t mg_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t mg_lock = PTHREAD_MUTEX_INITIALIZER;
static magic_t mg_handle; /* NULL: libmagic or its database could not be loaded */
static __typeof__(magic_buffer) *mg_buffer;

static void mg_load(void)
{
    static const char *const names[] = {"magic_open", "magic_load", "magic_close", "magic_buffer"};
    void *f[4];
    char err[256];
    const char *so = test_sonames[T_LIBMAGIC] ? test_sonames[T_LIBMAGIC] : BRINE_SONAME_libmagic;
    if (!lazy_open("libmagic", so, names, 4, f, err, sizeof err))
        return; /* only a hint is lost */
    __typeof__(magic_open) *open_fn;
    __typeof__(magic_load) *load_fn;
    __typeof__(magic_close) *close_fn;
    memcpy(&open_fn, &f[0], sizeof open_fn);
    memcpy(&load_fn, &f[1], sizeof load_fn);
    memcpy(&close_fn, &f[2], sizeof close_fn);
    memcpy(&mg_buffer, &f[3], sizeof mg_buffer);
    magic_t m = open_fn(MAGIC_NONE);
    if (m && load_fn(m, NULL) != 0) {
        close_fn(m);
        m = NULL;
    }
    /* kept for the life of the process: loading the database is the cost */
    mg_handle = m;
}

const char *brine_magic_describe(const void *data, size_t n, char *buf, size_t size)
{
    pthread_once(&mg_once, mg_load);
    if (!mg_handle || !size)
        return NULL;
    pthread_mutex_lock(&mg_lock);
    const char *t = mg_buffer(mg_handle, data, n);
    if (t)
        snprintf(buf, size, "%s", t);
    pthread_mutex_unlock(&mg_lock);
    return t ? buf : NULL;
}
