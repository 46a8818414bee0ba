/* The zip mutator of the scan fuzz target (test/fuzz/zip_mutator.h), without
 * libFuzzer: LLVMFuzzerMutate is a stub that flips one byte. For every seed
 * zip given, 2000 calls with different seeds, half of them on the previous
 * call's output (so that the mutator also meets the archives it broke), each
 * in a buffer of exactly max_size bytes (the sanitizer build catches a write
 * past it). Checked by a zip reader written here, independently of the
 * mutator's parser:
 *   - the result is within max_size and not empty;
 *   - of the structural mutations of an intact seed, at least half still have
 *     an end record, a directory whose record count matches it, and a local
 *     header at every offset the directory gives; of those that rebuild the
 *     archive (every kind but the in-place field edits), at least 90%;
 *   - every mutation kind was applied at least once over all seeds;
 *   - at least one output holds a stored member whose data is the mutator's
 *     pickle and whose CRC-32 matches (the payload kind updates sizes and CRC).
 * Usage: test_zip_mutator ZIP... Last line: `zip-mutator: N passed, M failed`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/zip_mutator.h"

static uint32_t stub_rng = 12345;

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size)
{
    (void)max_size;
    if (size)
        data[zm_rand(&stub_rng) % size] ^= (uint8_t)(1 + zm_rand(&stub_rng) % 255);
    return size;
}

/* CRC-32 again, table-driven, so that a wrong CRC in the mutator is not
 * confirmed by the same code */
static uint32_t crc32_ref(const uint8_t *p, size_t n)
{
    static uint32_t t[256];
    if (!t[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        c = t[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return ~c;
}

static uint32_t r16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t r32(const uint8_t *p)
{
    return r16(p) | r16(p + 2) << 16;
}

static uint64_t r64(const uint8_t *p)
{
    return (uint64_t)r32(p) | (uint64_t)r32(p + 4) << 32;
}

/* 1 if d is a zip whose directory has as many records as its end record says
 * and every record's offset (corrected zipfile's way by the bytes before the
 * archive) reaches a local header; *payload set when a stored member holds
 * the mutator's pickle with the right CRC. */
static int zip_ok(const uint8_t *d, size_t n, int *payload)
{
    if (n < 22)
        return 0;
    size_t e = SIZE_MAX, lo = n > 22 + 65535 ? n - 22 - 65535 : 0;
    for (size_t i = n - 22 + 1; i-- > lo;)
        if (r32(d + i) == 0x06054b50u) {
            e = i;
            break;
        }
    if (e == SIZE_MAX)
        return 0;
    uint64_t count = r16(d + e + 10), cdsize = r32(d + e + 12), cdoff = r32(d + e + 16);
    size_t end = e;
    if (e >= 96 && r32(d + e - 20) == 0x07064b50u && r32(d + e - 76) == 0x06064b50u) {
        end = e - 76;
        count = r64(d + end + 32);
        cdsize = r64(d + end + 40);
        cdoff = r64(d + end + 48);
    }
    if (cdsize > end || cdoff > end - cdsize)
        return 0;
    size_t p = end - (size_t)cdsize, shift = p - (size_t)cdoff;
    uint64_t seen = 0;
    while (p < end) {
        if (end - p < 46 || r32(d + p) != 0x02014b50u)
            return 0;
        size_t nl = r16(d + p + 28), xl = r16(d + p + 30), cl = r16(d + p + 32);
        if (end - p - 46 < nl + xl + cl)
            return 0;
        uint64_t off = r32(d + p + 42);
        if (off == 0xffffffffu) { /* the zip64 extra: sizes first when they are 0xffffffff */
            size_t x = p + 46 + nl, xe = x + xl;
            while (x + 4 <= xe && r16(d + x) != 1)
                x += 4 + r16(d + x + 2);
            size_t at = x + 4 + (r32(d + p + 24) == 0xffffffffu ? 8 : 0) + (r32(d + p + 20) == 0xffffffffu ? 8 : 0);
            if (x + 4 > xe || at + 8 > x + 4 + r16(d + x + 2))
                return 0;
            off = r64(d + at);
        }
        off += shift;
        if (off > n || n - off < 30 || r32(d + off) != 0x04034b50u)
            return 0;
        size_t hl = 30 + r16(d + off + 26) + r16(d + off + 28);
        uint32_t cs = r32(d + p + 20);
        if (r16(d + p + 10) == 0 && cs == sizeof zm_pickle - 1 && hl <= n - off && n - off - hl >= cs &&
            !memcmp(d + off + hl, zm_pickle, cs) && crc32_ref(d + off + hl, cs) == r32(d + p + 16))
            *payload = 1;
        p += 46 + nl + xl + cl;
        seen++;
    }
    return seen == count;
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = l > 0 ? malloc((size_t)l) : NULL;
    if (b && fread(b, 1, (size_t)l, f) != (size_t)l) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = (size_t)l;
    return b;
}

int main(int argc, char **argv)
{
    static const char *const names[ZM_K_COUNT] = {"libfuzzer",  "cen-field",  "loc-field",   "both-field", "eocd-field",
                                                  "dup",        "dup-cen",    "delete",      "delete-cen", "reorder",
                                                  "add-member", "rename",     "prefix",      "trail",      "payload",
                                                  "method",     "zip64-eocd", "zip64-extra", "descriptor"};
    unsigned long kinds[ZM_K_COUNT] = {0};
    int passed = 0, failed = 0, payload = 0;
    for (int a = 1; a < argc; a++) {
        size_t n;
        uint8_t *seed = slurp(argv[a], &n);
        int dummy = 0;
        if (!seed || !zip_ok(seed, n, &dummy)) {
            printf("FAIL %s: not a readable seed zip\n", argv[a]);
            failed++;
            free(seed);
            continue;
        }
        size_t cap = 2 * n + 4096;
        uint8_t *prev = malloc(cap), *buf = NULL;
        size_t prevn = 0;
        unsigned long structural = 0, intact = 0, over = 0, rebuilt = 0, rebuilt_ok = 0;
        for (unsigned it = 0; it < 2000; it++) {
            /* the max_size: roomy, or exactly the input's size (nothing may grow) */
            bool chain = it % 2 && prevn;
            const uint8_t *in = chain ? prev : seed;
            size_t inn = chain ? prevn : n;
            size_t max = it % 7 == 3 ? inn : cap;
            buf = malloc(max);
            memcpy(buf, in, inn);
            size_t r = LLVMFuzzerCustomMutator(buf, inn, max, it * 2654435761u + (unsigned)a);
            kinds[zm_last_kind]++;
            if (r == 0 || r > max)
                over++;
            if (zm_last_kind != ZM_K_LIBFUZZER && !chain) {
                structural++;
                int ok = zip_ok(buf, r, &payload);
                intact += (unsigned long)ok;
                if (zm_last_kind >= ZM_K_DUP) { /* rebuilt with every offset recomputed */
                    rebuilt++;
                    rebuilt_ok += (unsigned long)ok;
                }
            }
            if (r && r <= cap) {
                memcpy(prev, buf, r);
                prevn = r;
            }
            free(buf);
        }
        if (over) {
            printf("FAIL %s: %lu results empty or past max_size\n", argv[a], over);
            failed++;
        } else {
            passed++;
        }
        if (structural == 0 || intact * 2 < structural) {
            printf("FAIL %s: %lu of %lu structural mutations still read as a consistent zip\n", argv[a], intact,
                   structural);
            failed++;
        } else {
            printf("ok %s: %lu of %lu structural mutations read as a consistent zip\n", argv[a], intact, structural);
            passed++;
        }
        /* a rebuilt archive is consistent, but for the trailing copy of the
         * seed's end record (its stale offsets are the point: readers that
         * take the last end record see another directory) */
        if (rebuilt == 0 || rebuilt_ok * 10 < rebuilt * 9) {
            printf("FAIL %s: %lu of %lu rebuilt archives are consistent\n", argv[a], rebuilt_ok, rebuilt);
            failed++;
        } else {
            printf("ok %s: %lu of %lu rebuilt archives are consistent\n", argv[a], rebuilt_ok, rebuilt);
            passed++;
        }
        free(prev);
        free(seed);
    }
    for (int k = 1; k < ZM_K_COUNT; k++) {
        if (!kinds[k]) {
            printf("FAIL mutation kind %s never applied\n", names[k]);
            failed++;
        } else {
            printf("ok kind %-12s %lu\n", names[k], kinds[k]);
            passed++;
        }
    }
    if (!payload) {
        printf("FAIL no output holds the pickle as a stored member with its CRC\n");
        failed++;
    } else {
        passed++;
    }
    printf("zip-mutator: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
