/* Libraries loaded on first need (dlopen), so that start-up loads only libc:
 * a process that never meets a tar, 7z, zstd or lz4 member never loads
 * libarchive (and its dependencies: libxml2, ICU, libstdc++, nettle, ...); one
 * that reads no deflated, bz2 or lzma data never loads zlib, libbz2 or liblzma;
 * libyaml only comes with a --policy file, libmagic and its database only with
 * an unknown file. Each library is opened once per process (pthread_once); its
 * function table is written once and then only read, so any thread may use it.
 * A library that cannot be loaded fails closed: the caller reports the file
 * (or the policy) with the library's error text, never as safe. */
#ifndef BRINE_LAZYLIB_H
#define BRINE_LAZYLIB_H

#include <archive.h>
#include <archive_entry.h>
#include <bzlib.h>
#include <lzma.h>
#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>
#include <zlib.h>

/* The functions brine calls, named as each library names them. */
#define BRINE_LIBARCHIVE_FUNCS(X)                                                                            \
    X(archive_read_new) X(archive_read_free) X(archive_read_support_filter_all)                              \
    X(archive_read_support_format_raw) X(archive_read_support_format_tar) X(archive_read_support_format_7zip) \
    X(archive_read_open_memory) X(archive_read_next_header) X(archive_read_data) X(archive_entry_pathname)   \
    X(archive_entry_filetype) X(archive_entry_size) X(archive_entry_size_is_set) X(archive_entry_is_encrypted)
#define BRINE_LIBZ_FUNCS(X) X(inflateInit_) X(inflateInit2_) X(inflate) X(inflateEnd) X(crc32)
#define BRINE_LIBBZ2_FUNCS(X) X(BZ2_bzDecompressInit) X(BZ2_bzDecompress) X(BZ2_bzDecompressEnd)
#define BRINE_LIBLZMA_FUNCS(X) \
    X(lzma_auto_decoder) X(lzma_code) X(lzma_end) X(lzma_properties_decode) X(lzma_raw_decoder)
#define BRINE_LIBYAML_FUNCS(X)                                                                               \
    X(yaml_parser_initialize) X(yaml_parser_set_input_string) X(yaml_parser_load) X(yaml_parser_delete)      \
    X(yaml_document_get_node) X(yaml_document_get_root_node) X(yaml_document_delete)

#define BRINE_LAZY_FIELD(name) __typeof__(name) *name;
#define BRINE_LAZY_DECLARE(id, FUNCS)                                                                         \
    typedef struct brine_##id {                                                                               \
        FUNCS(BRINE_LAZY_FIELD)                                                                               \
    } brine_##id;                                                                                             \
    /* the table, loading the library on the first call; NULL if it cannot be \
     * loaded (then brine_<id>_error() says why) */                                                           \
    const brine_##id *brine_##id##_get(void);                                                                 \
    const char *brine_##id##_error(void);

BRINE_LAZY_DECLARE(libarchive, BRINE_LIBARCHIVE_FUNCS)
BRINE_LAZY_DECLARE(libz, BRINE_LIBZ_FUNCS)
BRINE_LAZY_DECLARE(libbz2, BRINE_LIBBZ2_FUNCS)
BRINE_LAZY_DECLARE(liblzma, BRINE_LIBLZMA_FUNCS)
BRINE_LAZY_DECLARE(libyaml, BRINE_LIBYAML_FUNCS)

/* Is this error text one of the "could not be loaded" texts above? */
bool brine_lazy_is_load_error(const char *error);

/* libmagic's description of a buffer into buf (NULL when libmagic or its
 * database cannot be loaded, or it has nothing to say). One magic handle per
 * process, loaded the first time a file is unknown; calls are serialised by a
 * lock, since a libmagic handle is not thread-safe. */
const char *brine_magic_describe(const void *data, size_t n, char *buf, size_t size);

/* Tests only (the internal library), before the first use: load `soname`
 * for `lib` ("libarchive", "libz", "libbz2", "liblzma", "libyaml", "libmagic"). */
void brine_lazy_test_soname(const char *lib, const char *soname);

#endif
