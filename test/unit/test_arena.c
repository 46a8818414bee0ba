/* The arena's block cache (analyzer/vm/value.c): a scanner keeps the mapped
 * blocks its streams' arenas gave back, and the next arena takes them.
 *   - a block given back is taken again (no new mapping), and what the last
 *     arena wrote in it is gone from the next one's zeroed allocations;
 *   - the smallest block that fits is taken, a block too small is not;
 *   - the cache never holds more than BRINE_ARENA_CACHE_MAX, whatever an
 *     arena held; what it does not keep is unmapped;
 *   - the byte limit is the arena's, not the block's: a large reused block
 *     does not let a small arena hand out more than its limit.
 * Usage: test_arena. Last line: `arena: N passed, M failed`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

static int passed, failed;

static void check(bool ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL %s\n", what);
    }
}

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

int main(void)
{
    brine_arena_cache cache = {0};
    const size_t big = 600 << 10; /* above the size from which blocks are mapped */

    /* an arena's mapped blocks go back to the cache */
    brine_arena a;
    brine_arena_init(&a, 1ull << 32);
    a.cache = &cache;
    unsigned char *p = brine_arena_alloc_raw(&a, big);
    check(p != NULL, "a first large allocation");
    if (p)
        memset(p, 0xAA, big);
    unsigned char *first = p;
    brine_arena_free(&a);
    check(cache.blocks != NULL && cache.bytes >= big, "the block is in the cache after the arena is freed");
    size_t held = cache.bytes;

    /* the next arena takes it, and its zeroed allocations are zero */
    brine_arena_init(&a, 1ull << 32);
    a.cache = &cache;
    p = brine_arena_alloc(&a, big);
    check(p != NULL && held && cache.bytes == 0, "the next arena takes the cached block");
    check(p == first, "the same memory, not a new mapping");
    check(p && all_zero(p, big), "a zeroed allocation from a reused block is zero");
    unsigned char *q = brine_arena_alloc(&a, 4096);
    check(q && all_zero(q, 4096), "a small zeroed allocation after it is zero too");
    brine_arena_free(&a);

    /* the smallest block that fits; a block too small stays */
    brine_arena b1, b2;
    brine_arena_init(&b1, 1ull << 32);
    brine_arena_init(&b2, 1ull << 32);
    b1.cache = b2.cache = &cache;
    check(brine_arena_alloc_raw(&b1, 3 << 20) != NULL, "a 3 MiB block");
    check(brine_arena_alloc_raw(&b2, 700 << 10) != NULL, "a 700 KiB block");
    brine_arena_free(&b2);
    brine_arena_free(&b1); /* the 3 MiB block first in the list: a first fit would take it */
    brine_arena_init(&a, 1ull << 32);
    a.cache = &cache;
    size_t before = cache.bytes;
    p = brine_arena_alloc(&a, 650 << 10);
    check(p && all_zero(p, 650 << 10), "650 KiB from the cache, zeroed");
    check(cache.bytes < before && before - cache.bytes < (1 << 20),
          "the smallest fitting block (700 KiB) was taken, not the 3 MiB one nor the 600 KiB one");
    brine_arena_free(&a);

    /* the cache is bounded: an arena of 40 MiB of blocks leaves at most the maximum */
    brine_arena_init(&a, 1ull << 32);
    a.cache = &cache;
    for (int i = 0; i < 40; i++)
        if (!brine_arena_alloc_raw(&a, 1 << 20))
            break;
    brine_arena_free(&a);
    check(cache.bytes <= BRINE_ARENA_CACHE_MAX, "the cache holds at most BRINE_ARENA_CACHE_MAX");

    /* the limit is the arena's: a 4 MiB cached block does not raise a 1 MiB limit */
    brine_arena_init(&a, 1 << 20);
    a.cache = &cache;
    size_t got = 0;
    while (brine_arena_alloc_raw(&a, 64 << 10))
        got += 64 << 10;
    check(a.exhausted && got <= (1 << 20), "an arena with a 1 MiB limit hands out at most 1 MiB from reused blocks");
    brine_arena_free(&a);

    brine_arena_cache_free(&cache);
    check(cache.blocks == NULL && cache.bytes == 0, "the cache freed");
    printf("arena: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
