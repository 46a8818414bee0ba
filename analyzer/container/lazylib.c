/* libarchive and libmagic, opened with dlopen the first time a file needs them
 * (lazylib.h). The only mutable globals of the library besides the SIGBUS
 * guard of scanner.c, each written once under pthread_once (or, for the magic
 * handle's use, under its mutex):
 *   la_once, la_table, la_ok, la_err     the libarchive function table
 *   mg_once, mg_handle, mg_lock, ...     the process's one libmagic handle
 *   test_archive, test_magic             sonames a test may substitute first
 * test/unit/check_globals.py lists the writable symbols of libbrine.so and
 * fails on any other. */
#include "lazylib.h"

#include <dlfcn.h>
#include <magic.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#ifndef BRINE_LIBARCHIVE_SONAME
#define BRINE_LIBARCHIVE_SONAME "libarchive.so.13"
#endif
#ifndef BRINE_LIBMAGIC_SONAME
#define BRINE_LIBMAGIC_SONAME "libmagic.so.1"
#endif

static const char *test_archive, *test_magic;

void brine_lazy_test_sonames(const char *libarchive, const char *libmagic)
{
    test_archive = libarchive;
    test_magic = libmagic;
}

/* ---- libarchive ----------------------------------------------------------------------- */

static pthread_once_t la_once = PTHREAD_ONCE_INIT;
static brine_libarchive la_table;
static bool la_ok;
static char la_err[256];

static void la_load(void)
{
    const char *so = test_archive ? test_archive : BRINE_LIBARCHIVE_SONAME;
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(la_err, sizeof la_err, "libarchive could not be loaded: %s", e ? e : so);
        return;
    }
    brine_libarchive t;
    memset(&t, 0, sizeof t);
#define BRINE_LA_SYM(name)                                                                                    \
    *(void **)&t.name = dlsym(h, #name);                                                                      \
    if (!t.name) {                                                                                            \
        snprintf(la_err, sizeof la_err, "libarchive could not be loaded: %s has no %s", so, #name);          \
        return; /* the handle stays open: harmless, and dlclose of a half-used library is not */            \
    }
    BRINE_LA_FUNCS(BRINE_LA_SYM)
#undef BRINE_LA_SYM
    la_table = t;
    la_ok = true;
}

const brine_libarchive *brine_libarchive_get(void)
{
    pthread_once(&la_once, la_load);
    return la_ok ? &la_table : NULL;
}

const char *brine_libarchive_error(void)
{
    pthread_once(&la_once, la_load);
    return la_ok ? NULL : la_err;
}

/* ---- libmagic -------------------------------------------------------------------------- */

static pthread_once_t mg_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t mg_lock = PTHREAD_MUTEX_INITIALIZER;
static magic_t mg_handle; /* NULL: libmagic or its database could not be loaded */
static __typeof__(magic_buffer) *mg_buffer;

static void mg_load(void)
{
    const char *so = test_magic ? test_magic : BRINE_LIBMAGIC_SONAME;
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return;
    __typeof__(magic_open) *open_fn;
    __typeof__(magic_load) *load_fn;
    __typeof__(magic_close) *close_fn;
    *(void **)&open_fn = dlsym(h, "magic_open");
    *(void **)&load_fn = dlsym(h, "magic_load");
    *(void **)&close_fn = dlsym(h, "magic_close");
    *(void **)&mg_buffer = dlsym(h, "magic_buffer");
    if (!open_fn || !load_fn || !close_fn || !mg_buffer)
        return;
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
