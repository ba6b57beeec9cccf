/*
 * The little JSON the compiled weft-net front end needs (native/cni_front.c): growable byte
 * buffers, writing strings as JSON.stringify does, a strict validating scanner that records the
 * values of chosen top-level keys, and decoding of a JSON string to UTF-8. No allocation
 * besides the buffers; input is never modified.
 */
#ifndef WEFT_CNI_JSON_H
#define WEFT_CNI_JSON_H
#include <stddef.h>

/** A growable, always NUL-terminated byte buffer (zero-initialise; exits on out of memory). */
typedef struct { char *p; size_t n, cap; } buf_t;

/** One recorded value: for strings the raw bytes between the quotes and whether they hold escapes. */
typedef struct { const char *s; size_t n; int esc; int present; int is_string; int is_null; long num; int is_int; } tok_t;

/** scan_doc outcomes: an object, invalid JSON, valid JSON but no object, or undecidable here (deep nesting, escaped key). */
enum { DOC_OK, DOC_INVALID, DOC_NOT_OBJECT, DOC_UNSURE };

void put(buf_t *b, const void *s, size_t n);
void puts_(buf_t *b, const char *s);
/** Append `s` as a JSON string literal the way JSON.stringify writes it. */
void put_json_string(buf_t *b, const char *s, size_t n);
/**
 * Validate the whole document `s` (one value, whitespace around it) and, when it is an object,
 * record the top-level values of `keys` in `vals` (last occurrence wins, as with JSON.parse).
 */
int scan_doc(const char *s, size_t n, const char *const *keys, tok_t *vals, int nkeys);
/** Append the UTF-8 text of a scanned string's raw bytes (escapes decoded; lone surrogates as U+FFFD). */
void decode_string(buf_t *out, const char *s, size_t n);

#endif
