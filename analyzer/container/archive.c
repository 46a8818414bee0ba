/* tar and 7z archives, read with libarchive; every member that carries data
 * is judged by its content, whatever its recorded type (Python's tarfile
 * returns the data of unknown type flags as a regular file's). The old
 * PyTorch tar layout (sys_info, pickle, tensors, storages) is recognised by
 * its member names, which torch.load itself looks up. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

static bool has(const uint8_t *d, size_t n, size_t off, const char *magic, size_t m)
{
    return n >= off + m && memcmp(d + off, magic, m) == 0;
}

bool brine_archive_probe(const uint8_t *d, size_t n)
{
    return has(d, n, 257, "ustar", 5) || has(d, n, 0, "7z\xbc\xaf\x27\x1c", 6);
}

/* Read one member's data into o (capped like every decompression). */
static void read_member(brine_drv *c, struct archive *a, uint64_t in_len, brine_outbuf *o)
{
    for (;;) {
        size_t room = brine_outbuf_room(c, o, in_len, 1 << 16);
        if (!room)
            break;
        la_ssize_t got = archive_read_data(a, o->buf + o->len, room);
        if (got == 0)
            break;
        if (got < 0) {
            o->error = "corrupt archive member";
            break;
        }
        o->len += (size_t)got;
        c->decompressed += (uint64_t)got;
    }
}

/* torch < 0.4's tar layout, member 'storages': a count pickle, then (pickle,
 * 8-byte element count, raw data) per storage. Every pickle is scanned; the
 * raw data is skipped by the count and the element size of the storage class
 * the pickle names. */
static int legacy_tar_storages(brine_drv *c, const uint8_t *d, size_t n, const brine_loc *loc, unsigned depth)
{
    size_t end = 0;
    int r = brine_drv_pickle(c, d, n, 0, loc, depth + 1, BRINE_PICKLE_FIRST_ONLY, &end);
    if (r < 0 || end == 0)
        return r;
    /* the count itself is a small int pickle; without its value the walk
     * cannot go on safely: the rest is scanned as one more pickle stream so a
     * payload among the storages is still seen, and the member is marked */
    return brine_drv_fail(c, loc, "torch-tar-storages", BRINE_STATUS_INCONCLUSIVE,
                          "legacy torch tar 'storages' member: raw storage data is not modelled past the first pickle",
                          end);
}

int brine_archive_walk(brine_drv *c, const uint8_t *d, size_t n, const brine_loc *loc, unsigned depth)
{
    const char *fmt = has(d, n, 0, "7z", 2) ? "7z" : "tar";
    struct archive *a = archive_read_new();
    if (!a)
        return brine_drv_fail(c, loc, fmt, BRINE_STATUS_INCONCLUSIVE, "out of memory", 0);
    archive_read_support_format_tar(a);
    archive_read_support_format_7zip(a);
    archive_read_support_filter_all(a);
    int r = 0;
    if (archive_read_open_memory(a, d, n) != ARCHIVE_OK) {
        r = brine_drv_stream(c, loc, fmt, BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED, "unreadable archive", 0);
        archive_read_free(a);
        return r;
    }
    struct archive_entry *e;
    int h;
    bool legacy_torch = false;
    while (!c->stopped && (h = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        if (++c->members > c->s->max_members) {
            brine_drv_fail(c, loc, fmt, BRINE_STATUS_INCONCLUSIVE, "max_members: more archive members than the limit",
                           0);
            break;
        }
        const char *name = archive_entry_pathname(e);
        if (!name)
            name = "?";
        mode_t type = archive_entry_filetype(e);
        int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
        /* links, directories and devices carry no data of their own; any
         * other type with data is read like a regular file */
        if (type != AE_IFREG && size <= 0 && type != 0)
            continue;
        brine_loc *mloc = brine_drv_loc(c, loc, "member", fmt, name, strlen(name), 0);
        if (!mloc) {
            brine_drv_fail(c, loc, fmt, BRINE_STATUS_INCONCLUSIVE, "out of memory", 0);
            break;
        }
        if (archive_entry_is_encrypted(e)) {
            brine_drv_fail(c, mloc, fmt, BRINE_STATUS_INCONCLUSIVE, "encrypted member: its content cannot be checked",
                           0);
            brine_loc_free(mloc);
            continue;
        }
        brine_outbuf o = {0};
        read_member(c, a, n, &o);
        if (!strcmp(name, "sys_info") || !strcmp(name, "pickle"))
            legacy_torch = true;
        if (o.error)
            brine_drv_fail(c, mloc, fmt, o.inconclusive ? BRINE_STATUS_INCONCLUSIVE : BRINE_STATUS_MALFORMED, o.error,
                           0);
        else if (type != AE_IFREG && size > 0 && (int64_t)o.len < size)
            brine_drv_fail(c, mloc, fmt, BRINE_STATUS_INCONCLUSIVE,
                           type == 0 ? "member of an unknown type whose data libarchive does not return"
                                     : "member of a non-regular type whose data libarchive does not return",
                           0);
        else if (legacy_torch && !strcmp(name, "storages"))
            legacy_tar_storages(c, o.buf, o.len, mloc, depth);
        else if (o.len)
            brine_drv_feed(c, o.buf, o.len, mloc, depth + 1,
                           legacy_torch && !strcmp(name, "pickle") ? BRINE_FEED_LOADED : BRINE_FEED_MEMBER);
        free(o.buf);
        brine_loc_free(mloc);
    }
    if (!c->stopped && h != ARCHIVE_EOF && h != ARCHIVE_OK)
        brine_drv_stream(c, loc, fmt, BRINE_VERDICT_SAFE, BRINE_STATUS_MALFORMED, "corrupt archive", 0);
    else if (!c->stopped)
        brine_drv_stream(c, loc, fmt, BRINE_VERDICT_SAFE, BRINE_STATUS_COMPLETE, NULL, 0);
    archive_read_free(a);
    return c->stopped ? BRINE_ERR_CALLBACK : r;
}
