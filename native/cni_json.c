/* See cni_json.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cni_json.h"

#define MAX_DEPTH 256

/* ───────────────────────── buffers ───────────────────────── */

void put(buf_t *b, const void *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) { fputs("weft-net: out of memory\n", stderr); exit(1); }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}
void puts_(buf_t *b, const char *s) { put(b, s, strlen(s)); }

/* As JSON.stringify writes a string: ", \ and control characters escaped, other bytes as they are. */
void put_json_string(buf_t *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  put(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') { char e[2] = { '\\', (char)c }; put(b, e, 2); }
    else if (c == '\n') put(b, "\\n", 2);
    else if (c == '\r') put(b, "\\r", 2);
    else if (c == '\t') put(b, "\\t", 2);
    else if (c == '\b') put(b, "\\b", 2);
    else if (c == '\f') put(b, "\\f", 2);
    else if (c < 0x20) { char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] }; put(b, e, 6); }
    else put(b, (const char *)&c, 1);
  }
  put(b, "\"", 1);
}

/* ───────────────────────── JSON scanning ───────────────────────── */

typedef struct { const char *p, *end; int unsure; } scan_t;

/* ───────────────────────── JSON scanning ───────────────────────── */

static void ws(scan_t *c) { while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++; }

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

static int scan_string(scan_t *c, tok_t *t) {
  if (c->p >= c->end || *c->p != '"') return 0;
  const char *start = ++c->p;
  int esc = 0;
  while (c->p < c->end && *c->p != '"') {
    unsigned char ch = (unsigned char)*c->p;
    if (ch < 0x20) return 0;
    if (ch == '\\') {
      esc = 1;
      if (++c->p >= c->end) return 0;
      char e = *c->p;
      if (e == 'u') {
        for (int i = 1; i <= 4; i++) if (c->p + i >= c->end || hexval(c->p[i]) < 0) return 0;
        c->p += 4;
      } else if (e == '\0' || !strchr("\"\\/bfnrt", e)) { /* strchr finds the terminating NUL: a NUL byte is no escape */
        return 0;
      }
    }
    c->p++;
  }
  if (c->p >= c->end) return 0;
  if (t) { t->s = start; t->n = (size_t)(c->p - start); t->esc = esc; t->is_string = 1; t->present = 1; }
  c->p++;
  return 1;
}

static int digits(scan_t *c) {
  const char *s = c->p;
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
  return c->p > s;
}

static int scan_value(scan_t *c, tok_t *t, int depth);

static int scan_number(scan_t *c, tok_t *t) {
  const char *s = c->p;
  int frac = 0;
  if (c->p < c->end && *c->p == '-') c->p++;
  if (c->p < c->end && *c->p == '0') c->p++;
  else if (!digits(c)) return 0;
  if (c->p < c->end && *c->p == '.') { c->p++; frac = 1; if (!digits(c)) return 0; }
  if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
    c->p++; frac = 1;
    if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
    if (!digits(c)) return 0;
  }
  if (t && !frac && c->p - s < 12) {
    char tmp[16];
    memcpy(tmp, s, (size_t)(c->p - s));
    tmp[c->p - s] = 0;
    t->num = strtol(tmp, NULL, 10);
    t->is_int = 1;
  }
  if (t) t->present = 1;
  return 1;
}

static int literal(scan_t *c, const char *w) {
  size_t n = strlen(w);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return 0;
  c->p += n;
  return 1;
}

/*
 * Scan one object; at depth 0 (the top level) record the values of the keys in `keys` into
 * `vals` (the last occurrence wins, as with JSON.parse). A key written with escapes could
 * spell one of them: that makes the scan unsure.
 */
static int scan_object(scan_t *c, int depth, const char *const *keys, tok_t *vals, int nkeys) {
  c->p++; /* '{' */
  ws(c);
  if (c->p < c->end && *c->p == '}') { c->p++; return 1; }
  for (;;) {
    tok_t k = { 0 };
    ws(c);
    if (!scan_string(c, &k)) return 0;
    ws(c);
    if (c->p >= c->end || *c->p != ':') return 0;
    c->p++;
    ws(c);
    tok_t *slot = NULL;
    if (keys) {
      if (k.esc) c->unsure = 1;
      for (int i = 0; i < nkeys; i++) if (strlen(keys[i]) == k.n && memcmp(keys[i], k.s, k.n) == 0) slot = &vals[i];
    }
    if (slot) memset(slot, 0, sizeof *slot);
    if (!scan_value(c, slot, depth + 1)) return 0;
    ws(c);
    if (c->p < c->end && *c->p == ',') { c->p++; continue; }
    if (c->p < c->end && *c->p == '}') { c->p++; return 1; }
    return 0;
  }
}

static int scan_value(scan_t *c, tok_t *t, int depth) {
  if (depth > MAX_DEPTH) { c->unsure = 1; return 0; }
  ws(c);
  if (c->p >= c->end) return 0;
  switch (*c->p) {
    case '{': if (t) t->present = 1; return scan_object(c, depth, NULL, NULL, 0);
    case '[':
      if (t) t->present = 1;
      c->p++;
      ws(c);
      if (c->p < c->end && *c->p == ']') { c->p++; return 1; }
      for (;;) {
        if (!scan_value(c, NULL, depth + 1)) return 0;
        ws(c);
        if (c->p < c->end && *c->p == ',') { c->p++; continue; }
        if (c->p < c->end && *c->p == ']') { c->p++; return 1; }
        return 0;
      }
    case '"': return scan_string(c, t);
    case 't': if (t) t->present = 1; return literal(c, "true");
    case 'f': if (t) t->present = 1; return literal(c, "false");
    case 'n': if (t) { t->present = 1; t->is_null = 1; } return literal(c, "null");
    default: return scan_number(c, t);
  }
}

/* Whole document: one value and nothing after it but whitespace; top-level keys recorded when it is an object. */
int scan_doc(const char *s, size_t n, const char *const *keys, tok_t *vals, int nkeys) {
  scan_t c = { s, s + n, 0 };
  memset(vals, 0, sizeof(tok_t) * (size_t)nkeys);
  ws(&c);
  int obj = c.p < c.end && *c.p == '{';
  int ok = obj ? scan_object(&c, 0, keys, vals, nkeys) : scan_value(&c, NULL, 0);
  if (ok) { ws(&c); ok = c.p == c.end; }
  if (c.unsure) return DOC_UNSURE;
  if (!ok) return DOC_INVALID;
  return obj ? DOC_OK : DOC_NOT_OBJECT;
}

/* Decode a JSON string's raw bytes (escapes included) to UTF-8; lone surrogates as U+FFFD like Node's output. */
void decode_string(buf_t *out, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '\\') { put(out, &s[i], 1); continue; }
    char e = s[++i];
    const char *simple = NULL;
    switch (e) {
      case 'n': simple = "\n"; break;
      case 'r': simple = "\r"; break;
      case 't': simple = "\t"; break;
      case 'b': simple = "\b"; break;
      case 'f': simple = "\f"; break;
      case '/': simple = "/"; break;
      case '\\': simple = "\\"; break;
      case '"': simple = "\""; break;
    }
    if (simple) { put(out, simple, 1); continue; }
    unsigned cp = 0;
    for (int k = 1; k <= 4; k++) cp = cp * 16 + (unsigned)hexval(s[i + (size_t)k]);
    i += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 < n && s[i + 1] == '\\' && s[i + 2] == 'u') {
      unsigned lo = 0;
      for (int k = 3; k <= 6; k++) lo = lo * 16 + (unsigned)hexval(s[i + (size_t)k]);
      if (lo >= 0xDC00 && lo <= 0xDFFF) { cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00); i += 6; }
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
    unsigned char u[4];
    size_t k;
    if (cp < 0x80) { u[0] = (unsigned char)cp; k = 1; }
    else if (cp < 0x800) { u[0] = (unsigned char)(0xC0 | (cp >> 6)); u[1] = (unsigned char)(0x80 | (cp & 63)); k = 2; }
    else if (cp < 0x10000) { u[0] = (unsigned char)(0xE0 | (cp >> 12)); u[1] = (unsigned char)(0x80 | ((cp >> 6) & 63)); u[2] = (unsigned char)(0x80 | (cp & 63)); k = 3; }
    else { u[0] = (unsigned char)(0xF0 | (cp >> 18)); u[1] = (unsigned char)(0x80 | ((cp >> 12) & 63)); u[2] = (unsigned char)(0x80 | ((cp >> 6) & 63)); u[3] = (unsigned char)(0x80 | (cp & 63)); k = 4; }
    put(out, u, k);
  }
}
