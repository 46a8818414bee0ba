/* A structure-aware mutator for pickles (LLVMFuzzerCustomMutator): the input
 * is cut at opcode boundaries (argument lengths from opcodes.def), and a
 * mutation deletes, duplicates, moves or inserts whole opcodes, or inserts a
 * memo reference, so that the fuzzer reaches deep stack and memo states that
 * byte flips rarely build. Half of the mutations are libFuzzer's own. Only
 * included by the fuzz targets, and only when built for libFuzzer. */
#ifndef BRINE_PICKLE_MUTATOR_H
#define BRINE_PICKLE_MUTATOR_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

enum {
    PM_NONE,
    PM_UINT1,
    PM_UINT2,
    PM_INT4,
    PM_UINT4,
    PM_UINT8,
    PM_FLOAT8,
    PM_LINE,
    PM_TWO_LINES,
    PM_LEN1,
    PM_LEN4,
    PM_LEN8
};

static int pm_kind(uint8_t op)
{
    switch (op) {
#define NONE PM_NONE
#define UINT1 PM_UINT1
#define UINT2 PM_UINT2
#define INT4 PM_INT4
#define UINT4 PM_UINT4
#define UINT8 PM_UINT8
#define FLOAT8 PM_FLOAT8
#define DECIMALNL_SHORT PM_LINE
#define DECIMALNL_LONG PM_LINE
#define FLOATNL PM_LINE
#define STRINGNL PM_LINE
#define STRINGNL_NOESCAPE PM_LINE
#define UNICODESTRINGNL PM_LINE
#define STRINGNL_NOESCAPE_PAIR PM_TWO_LINES
#define STRING1 PM_LEN1
#define BYTES1 PM_LEN1
#define UNICODESTRING1 PM_LEN1
#define LONG1 PM_LEN1
#define STRING4 PM_LEN4
#define BYTES4 PM_LEN4
#define UNICODESTRING4 PM_LEN4
#define LONG4 PM_LEN4
#define BYTES8 PM_LEN8
#define UNICODESTRING8 PM_LEN8
#define BYTEARRAY8 PM_LEN8
#define BRINE_OP(name, b, arg, proto)                                                                                  \
    case b:                                                                                                            \
        return arg;
#include "opcodes.def"
#undef BRINE_OP
#undef NONE
#undef UINT1
#undef UINT2
#undef INT4
#undef UINT4
#undef UINT8
#undef FLOAT8
#undef DECIMALNL_SHORT
#undef DECIMALNL_LONG
#undef FLOATNL
#undef STRINGNL
#undef STRINGNL_NOESCAPE
#undef UNICODESTRINGNL
#undef STRINGNL_NOESCAPE_PAIR
#undef STRING1
#undef BYTES1
#undef UNICODESTRING1
#undef LONG1
#undef STRING4
#undef BYTES4
#undef UNICODESTRING4
#undef LONG4
#undef BYTES8
#undef UNICODESTRING8
#undef BYTEARRAY8
    default: return -1;
    }
}

/* Length of the opcode at p (including its byte), or 0 if it cannot be cut. */
static size_t pm_oplen(const uint8_t *p, size_t n)
{
    if (!n)
        return 0;
    int k = pm_kind(p[0]);
    size_t fixed = 0, lenw = 0, lines = 0;
    switch (k) {
    case PM_NONE: return 1;
    case PM_UINT1: fixed = 1; break;
    case PM_UINT2: fixed = 2; break;
    case PM_INT4:
    case PM_UINT4: fixed = 4; break;
    case PM_UINT8:
    case PM_FLOAT8: fixed = 8; break;
    case PM_LINE: lines = 1; break;
    case PM_TWO_LINES: lines = 2; break;
    case PM_LEN1: lenw = 1; break;
    case PM_LEN4: lenw = 4; break;
    case PM_LEN8: lenw = 8; break;
    default: return 0;
    }
    if (fixed)
        return fixed < n ? 1 + fixed : 0;
    size_t at = 1;
    if (lines) {
        while (lines--) {
            const uint8_t *nl = memchr(p + at, '\n', n - at);
            if (!nl)
                return 0;
            at = (size_t)(nl - p) + 1;
        }
        return at;
    }
    if (lenw >= n)
        return 0;
    uint64_t len = 0;
    for (size_t i = 0; i < lenw; i++)
        len |= (uint64_t)p[1 + i] << (8 * i);
    if (len > n - 1 - lenw)
        return 0;
    return 1 + lenw + (size_t)len;
}

static uint32_t pm_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Opcodes worth inserting: stack, mark, memo and container shapes. */
static const char *const pm_snippets[] = {
    "(",
    "2",
    "0",
    "1",
    "t",
    "l",
    "d",
    "}",
    "]",
    ")",
    "u",
    "s",
    "e",
    "a",
    "\x90",
    "\x91",
    "\x8f",
    "\x94",
    "\x85",
    "\x86",
    "\x87",
    "R",
    "b",
    "\x81",
    "\x92",
    "\x93",
    "N",
    "K\x00",
    "K\x01",
    "h\x00",
    "h\x01",
    "q\x00",
    "q\x01",
    "j\x00\x00\x00\x00",
    "\x8c\x01"
    "a",
    "\x8c\x08"
    "builtins",
    "\x8c\x04"
    "eval",
    ".",
    "\x98",
    "\x96\x01\x00\x00\x00\x00\x00\x00\x00x",
    "p0\n",
    "g0\n",
    "cos\nsystem\n",
    "\x80\x04",
    "\x80\x02",
};

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    uint32_t rs = seed | 1;
    if (pm_rand(&rs) % 2 || size < 2)
        return LLVMFuzzerMutate(data, size, max_size);
    /* opcode boundaries of the cuttable prefix */
    enum { MAXOPS = 4096 };
    size_t starts[MAXOPS + 1], nops = 0, at = 0;
    while (at < size && nops < MAXOPS) {
        size_t l = pm_oplen(data + at, size - at);
        if (!l)
            break;
        starts[nops++] = at;
        at += l;
    }
    starts[nops] = at;
    if (nops < 1)
        return LLVMFuzzerMutate(data, size, max_size);
    size_t i = pm_rand(&rs) % nops, j = pm_rand(&rs) % (nops + 1);
    size_t a = starts[i], b = starts[i + 1], len = b - a, dst = starts[j];
    switch (pm_rand(&rs) % 4) {
    case 0: /* delete an opcode */ memmove(data + a, data + b, size - b); return size - len;
    case 1: { /* duplicate an opcode elsewhere */
        if (size + len > max_size || len > 4096)
            break;
        uint8_t tmp[4096];
        memcpy(tmp, data + a, len);
        memmove(data + dst + len, data + dst, size - dst);
        memcpy(data + dst, tmp, len);
        return size + len;
    }
    case 2: { /* move an opcode */
        if (len > 4096 || (dst >= a && dst <= b))
            break;
        uint8_t tmp[4096];
        memcpy(tmp, data + a, len);
        memmove(data + a, data + b, size - b);
        size_t d = dst > a ? dst - len : dst;
        memmove(data + d + len, data + d, size - len - d);
        memcpy(data + d, tmp, len);
        return size;
    }
    default: { /* insert a snippet */
        const char *sn = pm_snippets[pm_rand(&rs) % (sizeof pm_snippets / sizeof pm_snippets[0])];
        size_t sl = strlen(sn);
        if (!sl)
            sl = 1; /* "K\x00" and friends are cut by strlen; keep the byte */
        if (sn[0] == 'K' || sn[0] == 'h' || sn[0] == 'q')
            sl = 2;
        else if (sn[0] == 'j')
            sl = 5;
        else if (sn[0] == '\x96')
            sl = 10;
        if (size + sl > max_size)
            break;
        memmove(data + dst + sl, data + dst, size - dst);
        memcpy(data + dst, sn, sl);
        return size + sl;
    }
    }
    return LLVMFuzzerMutate(data, size, max_size);
}
#endif
