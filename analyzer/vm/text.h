/* The text grammar of protocol 0 and 1 arguments, exactly as CPython's C
 * unpickler (Modules/_pickle.c, 3.11) reads it: strtol and PyLong_FromString for
 * INT, PyLong_FromString for LONG, PyOS_string_to_double for FLOAT,
 * PyBytes_DecodeEscape for STRING, raw-unicode-escape for UNICODE, and the
 * UTF-8 decoder for GLOBAL lines and BINUNICODE.
 *
 * Every parser takes the line as _Unpickler_Readline hands it over: `line` of
 * `len` bytes whose last byte is '\n'. CPython copies the line and adds a NUL,
 * so the C-level parsers (strtol, PyLong_FromString, the float parser) stop at
 * an embedded NUL; the length-based ones (STRING, UNICODE, GLOBAL) do not. */
#ifndef BRINE_TEXT_H
#define BRINE_TEXT_H

#include "value.h"

typedef enum brine_textres {
    BRINE_TEXT_OK,
    BRINE_TEXT_ERROR,   /* CPython raises; *msg says why */
    BRINE_TEXT_NOMEM    /* the arena refused */
} brine_textres;

/* INT: returns a BOOL, INT or BIGINT value. *odd is set when the literal is not
 * one the pickler writes (CPython's C and Python unpicklers disagree on some). */
brine_textres brine_text_int(brine_arena *a, const uint8_t *line, size_t len, brine_value **out,
                             bool *odd, const char **msg);
/* LONG: strips one 'L' before the newline, then PyLong_FromString(base 0). */
brine_textres brine_text_long(brine_arena *a, const uint8_t *line, size_t len, brine_value **out,
                              bool *odd, const char **msg);
/* FLOAT */
brine_textres brine_text_float(const uint8_t *line, size_t len, double *out, const char **msg);
/* PUT / GET: PyLong_FromString(base 10) then PyLong_AsSsize_t. *neg set for a
 * negative value (PUT raises, GET misses). */
brine_textres brine_text_index(const uint8_t *line, size_t len, int64_t *out, bool *neg, const char **msg);
/* The encoding an unpickler decodes protocol 0-2 str bytes with (STRING,
 * BINSTRING, SHORT_BINSTRING): pickle.load's default 'ASCII', torch.load's
 * 'utf-8', pandas' retry with 'latin-1'. */
typedef enum brine_str_encoding { BRINE_ENC_ASCII = 0, BRINE_ENC_UTF8 = 1, BRINE_ENC_LATIN1 = 2 } brine_str_encoding;
/* Decode v's bytes in place (a latin-1 str is re-encoded in the arena). */
brine_textres brine_text_decode(brine_arena *a, brine_value *v, brine_str_encoding enc, const char **msg);
/* STRING: quotes, escapes, then the decode of the unpickler's encoding. */
brine_textres brine_text_string(brine_arena *a, const uint8_t *line, size_t len, brine_value **out,
                                brine_str_encoding enc, const char **msg);
/* FLOAT as the pure-Python unpickler reads it (float(): surrounding white
 * space and '_' between digits allowed), for joblib, which unpickles with
 * pickle._Unpickler. */
brine_textres brine_text_float_py(const uint8_t *line, size_t len, double *out, const char **msg);
/* UNICODE: raw-unicode-escape of line[0 .. len-1). */
brine_textres brine_text_unicode(brine_arena *a, const uint8_t *line, size_t len, brine_value **out,
                                 const char **msg);

/* UTF-8 check: strict, or with 'surrogatepass' (lone surrogates allowed). */
bool brine_utf8_valid(const uint8_t *p, size_t n, bool surrogatepass);
bool brine_ascii_valid(const uint8_t *p, size_t n);

/* Decode one code point of surrogate-preserving UTF-8 (input already valid). */
size_t brine_utf8_next(const uint8_t *p, size_t n, uint32_t *cp);

#endif
