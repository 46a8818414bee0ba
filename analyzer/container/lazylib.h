/* Libraries loaded on first need (dlopen), so that a process that never meets
 * a tar, 7z, zstd or lz4 member or an unknown file never loads libarchive (and
 * its dependencies: libxml2, ICU, libstdc++, nettle, ...) or libmagic and its
 * database. Each library is opened once per process (pthread_once); the
 * function tables are written once and then only read, so any thread may use
 * them. A library that cannot be loaded fails closed: the caller reports the
 * file inconclusive with brine_lazy_error's text, never safe. */
#ifndef BRINE_LAZYLIB_H
#define BRINE_LAZYLIB_H

#include <archive.h>
#include <archive_entry.h>
#include <stddef.h>

/* The libarchive functions brine calls, named as libarchive names them. */
typedef struct brine_libarchive {
#define BRINE_LA_FUNCS(X)                                                                                    \
    X(archive_read_new) X(archive_read_free) X(archive_read_support_filter_all)                              \
    X(archive_read_support_format_raw) X(archive_read_support_format_tar) X(archive_read_support_format_7zip) \
    X(archive_read_open_memory) X(archive_read_next_header) X(archive_read_data) X(archive_entry_pathname)   \
    X(archive_entry_filetype) X(archive_entry_size) X(archive_entry_size_is_set) X(archive_entry_is_encrypted)
#define BRINE_LA_FIELD(name) __typeof__(name) *name;
    BRINE_LA_FUNCS(BRINE_LA_FIELD)
#undef BRINE_LA_FIELD
} brine_libarchive;

/* libarchive, loaded on the first call; NULL if it cannot be loaded (then
 * brine_libarchive_error() says why, e.g. "libarchive.so.13: cannot open
 * shared object file"). */
const brine_libarchive *brine_libarchive_get(void);
const char *brine_libarchive_error(void);

/* libmagic's description of a buffer into buf (NULL when libmagic or its
 * database cannot be loaded, or it has nothing to say). One magic handle per
 * process, loaded the first time a file is unknown; calls are serialised by a
 * lock, since a libmagic handle is not thread-safe. */
const char *brine_magic_describe(const void *data, size_t n, char *buf, size_t size);

/* Tests only (the internal library): load these sonames instead, before the
 * first use. */
void brine_lazy_test_sonames(const char *libarchive, const char *libmagic);

#endif
