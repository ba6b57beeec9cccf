/*
 * A seeded, structure-aware fuzzer of native/cni_json.c (the JSON of the compiled weft-net CNI
 * front end), built with -fsanitize=address,undefined by fuzz/native-cjson.ts. No libFuzzer
 * needed: a xorshift generator, a corpus of valid documents (netconf as the front end reads it
 * from stdin, /cni replies as it reads them from the daemon), and mutations (bit flips, byte
 * sets, insertions of JSON tokens and escapes, deletions, truncation, splicing, deep nesting).
 *
 * Every input is copied into a heap buffer of exactly its length (no NUL after it), so a read
 * one byte past the end is an ASan report. Per input, as cni_front.c does: scan_doc with its
 * keys; decode_string on every recorded string value; and put_json_string of the input, which
 * must scan back as one JSON string whose decoding gives the input's bytes again.
 * Other properties: scan_doc answers one of its four outcomes; recorded tokens lie inside the
 * input; a document scanned as an object is also valid when re-scanned without keys.
 *
 * usage: cni_json_fuzz SEED COUNT   (prints a summary line; exit 1 on a broken property,
 * the sanitizers abort on a memory error or undefined behaviour)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../native/cni_json.h"

static uint64_t rs;
static uint32_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return (uint32_t)(rs >> 16); }
static uint32_t below(uint32_t n) { return n ? rnd() % n : 0; }

static const char *const CORPUS[] = {
  "{\"cniVersion\":\"1.1.0\",\"name\":\"weft\",\"type\":\"weft-net\"}",
  "{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"type\":\"weft-net\",\"socket\":\"/run/weft/weft.sock\",\"mtu\":1376,\"ipam\":{\"type\":\"weft-ipam\"}}",
  "  {\n  \"cniVersion\" : \"1.0.0\" , \"socket\" : \"/tmp/a\\\"b\\\\c\\u00e9\\ud83d\\ude00\" , \"prevResult\" : {\"ips\":[{\"address\":\"10.32.0.5/12\"}]} }\n",
  "{\"cniVersion\":\"1.1.0\",\"cniVersion\":\"0.3.1\",\"dns\":{\"nameservers\":[\"10.0.0.53\"],\"search\":[]},\"x\":[1,-2.5e+3,0,true,false,null]}",
  "{\"exitCode\":0,\"output\":\"{\\\"cniVersion\\\":\\\"1.1.0\\\",\\\"ips\\\":[{\\\"address\\\":\\\"10.32.0.5/12\\\"}]}\\n\"}",
  "{\"exitCode\":1,\"output\":\"{\\\"code\\\":7,\\\"msg\\\":\\\"bad \\\\u0000 \\\\ud800 \\\\\\\\\\\"}\"}",
  "{\"exitCode\":0,\"output\":\"\\ud800\\udc00\\udbff\\udfff\\ud800x\\udc00\\u0041\\/\\b\\f\\n\\r\\t\"}",
  "[\"not\",\"an\",{\"object\":1}]",
  "\"just a string\"",
  "-0.0e-0",
  "{}",
  "{\"\\u0063niVersion\":\"1.1.0\"}",
};
#define NCORPUS (sizeof CORPUS / sizeof CORPUS[0])

static const char *const TOKENS[] = {
  "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800", "\\udc00", "\\u12", "\\x", "\\\"", "true", "false", "null",
  "nul", "-", "0", "01", "1e", "1.", "-.5", "99999999999", "12345678901234567890", "\"cniVersion\":", "\"socket\":",
  "\"exitCode\":", "\"output\":", " ", "\t", "\n", "\r", "\x01", "\x7f", "\xc3\xa9", "\xff", "\xed\xa0\x80",
};
#define NTOKENS (sizeof TOKENS / sizeof TOKENS[0])

typedef struct { char *p; size_t n; } bytes_t;

static void insert(bytes_t *b, size_t at, const char *s, size_t n) {
  b->p = realloc(b->p, b->n + n + 1);
  if (!b->p) { fputs("cni_json_fuzz: out of memory\n", stderr); exit(2); }
  memmove(b->p + at + n, b->p + at, b->n - at);
  memcpy(b->p + at, s, n);
  b->n += n;
}

static bytes_t seed_doc(void) {
  const char *s = CORPUS[below(NCORPUS)];
  bytes_t b = { NULL, 0 };
  insert(&b, 0, s, strlen(s));
  return b;
}

static void mutate(bytes_t *b) {
  for (uint32_t k = 1 + below(4); k > 0; k--) {
    size_t at = b->n ? below((uint32_t)b->n + 1) : 0;
    if (below(3) == 0 && b->n > 0) at = below(b->n < 24 ? (uint32_t)b->n : 24); /* headers: the first bytes */
    switch (below(9)) {
      case 0: if (b->n) b->p[at % b->n] ^= (char)(1u << below(8)); break;
      case 1: if (b->n) b->p[at % b->n] = (char)below(256); break;
      case 2: { const char *t = TOKENS[below(NTOKENS)]; insert(b, at, t, strlen(t)); break; }
      case 3: if (b->n) { size_t len = 1 + below(8); if (at + len > b->n) len = b->n - at; memmove(b->p + at, b->p + at + len, b->n - at - len); b->n -= len; } break;
      case 4: b->n = at; break; /* truncate */
      case 5: { bytes_t o = seed_doc(); size_t from = below((uint32_t)o.n + 1); insert(b, at, o.p + from, o.n - from); free(o.p); break; }
      case 6: { /* deep nesting around the MAX_DEPTH limit */
        size_t d = 200 + below(120);
        char *open = malloc(d), *close = malloc(d);
        memset(open, below(2) ? '[' : '{', d);
        memset(close, open[0] == '[' ? ']' : '}', d);
        insert(b, at, close, below(2) ? d : d - 1);
        insert(b, at, open, d);
        free(open); free(close);
        break;
      }
      case 7: if (b->n) { size_t from = below((uint32_t)b->n), len = 1 + below(16); if (from + len > b->n) len = b->n - from; char tmp[16]; memcpy(tmp, b->p + from, len); insert(b, at, tmp, len); } break;
      default: { char c = (char)below(256); insert(b, at, &c, 1); break; }
    }
  }
}

static int failures;
static void fail(const char *what, const char *s, size_t n) {
  if (failures++ < 10) {
    fprintf(stderr, "cni_json_fuzz: FAIL %s, input (%zu bytes) hex: ", what, n);
    for (size_t i = 0; i < n && i < 256; i++) fprintf(stderr, "%02x", (unsigned char)s[i]);
    fputc('\n', stderr);
  }
}

/* Valid UTF-8 (as decode_string promises for escapes; raw bytes pass through as they are, so only decoded escapes are checked). */
static void run_one(const char *src, size_t n, long counts[4]) {
  char *in = malloc(n ? n : 1); /* exactly n bytes: nothing readable after the input */
  memcpy(in, src, n);
  static const char *const KEYS[] = { "cniVersion", "socket", "exitCode", "output" };
  tok_t v[4];
  int doc = scan_doc(in, n, KEYS, v, 4);
  if (doc < DOC_OK || doc > DOC_UNSURE) { fail("scan_doc outcome out of range", in, n); free(in); return; }
  counts[doc]++;
  for (int i = 0; i < 4; i++) {
    if (!v[i].present || !v[i].is_string) continue;
    if (doc != DOC_OK && doc != DOC_UNSURE) continue;
    if (v[i].s < in || v[i].s + v[i].n > in + n) { fail("a recorded token lies outside the input", in, n); continue; }
    if (doc == DOC_OK) {
      buf_t out = { 0 };
      decode_string(&out, v[i].s, v[i].n);
      if (!v[i].esc && (out.n != v[i].n || memcmp(out.p ? out.p : "", v[i].s, v[i].n) != 0)) fail("a string without escapes decoded differently", in, n);
      free(out.p);
    }
  }
  if (doc == DOC_OK) {
    tok_t none[1];
    if (scan_doc(in, n, NULL, none, 0) != DOC_OK) fail("an object scanned without keys is not an object", in, n);
  }
  /* put_json_string round trip: the input as a JSON string literal scans as one string and decodes back to the input */
  buf_t lit = { 0 };
  put_json_string(&lit, in, n);
  char *exact = malloc(lit.n);
  memcpy(exact, lit.p, lit.n);
  tok_t w[1];
  static const char *const NOKEYS[] = { "x" };
  if (scan_doc(exact, lit.n, NOKEYS, w, 1) != DOC_NOT_OBJECT) fail("put_json_string wrote invalid JSON", in, n);
  else {
    /* rescan to get the token: wrap as {"x":LITERAL} */
    buf_t obj = { 0 };
    puts_(&obj, "{\"x\":");
    put(&obj, lit.p, lit.n);
    puts_(&obj, "}");
    if (scan_doc(obj.p, obj.n, NOKEYS, w, 1) != DOC_OK || !w[0].is_string) fail("put_json_string literal not recorded", in, n);
    else {
      buf_t back = { 0 };
      decode_string(&back, w[0].s, w[0].n);
      if (back.n != n || (n && memcmp(back.p, in, n) != 0)) fail("put_json_string / decode_string round trip", in, n);
      free(back.p);
    }
    free(obj.p);
  }
  free(exact);
  free(lit.p);
  free(in);
}

int main(int argc, char **argv) {
  if (argc != 3) { fputs("usage: cni_json_fuzz SEED COUNT\n", stderr); return 2; }
  uint64_t seed = strtoull(argv[1], NULL, 10);
  long count = strtol(argv[2], NULL, 10);
  long counts[4] = { 0 };
  /* fixed edge cases first; the last ones are the fuzzer's finds (a backslash before a NUL byte
     was taken for an escape, and decode_string then read up to 4 bytes past the string) */
  static const struct { const char *s; size_t n; } EDGES[] = {
    { "", 0 }, { " ", 1 }, { "{", 1 }, { "\"", 1 }, { "\"\\", 2 }, { "\"\\u", 3 }, { "\"\\u123", 6 }, { "{\"a\"", 4 }, { "{\"a\":", 5 },
    { "[", 1 }, { "-", 1 }, { "1e", 2 }, { "tru", 3 }, { "n", 1 }, { "{\"cniVersion\":\"\\ud800\"}", 24 },
    { "{\"output\":\"\\\0\"}", 15 }, { "{\"output\":\"x\\\0n\"}", 17 }, { "\"\\\0\"", 4 },
  };
  for (size_t i = 0; i < sizeof EDGES / sizeof EDGES[0]; i++) {
    int doc;
    tok_t none[1];
    run_one(EDGES[i].s, EDGES[i].n, counts);
    if (memchr(EDGES[i].s, 0, EDGES[i].n) && (doc = scan_doc(EDGES[i].s, EDGES[i].n, NULL, none, 0)) != DOC_INVALID) {
      fail("a backslash before a NUL byte was accepted as an escape", EDGES[i].s, EDGES[i].n);
    }
  }
  for (long i = 0; i < count; i++) {
    rs = (seed * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)i * 0xBF58476D1CE4E5B9ull) ^ 0x94D049BB133111EBull;
    if (!rs) rs = 1;
    for (int k = 0; k < 4; k++) rnd();
    bytes_t b;
    uint32_t r = below(100);
    if (r < 10) b = seed_doc(); /* valid */
    else if (r < 20) { b.n = below(64); b.p = malloc(b.n + 1); for (size_t k = 0; k < b.n; k++) b.p[k] = (char)below(256); } /* random */
    else { b = seed_doc(); mutate(&b); }
    run_one(b.p ? b.p : "", b.n, counts);
    free(b.p);
  }
  printf("cni_json_fuzz: seed %llu, %ld inputs: object=%ld invalid=%ld not-object=%ld unsure=%ld, %d failures\n",
         (unsigned long long)seed, count, counts[DOC_OK], counts[DOC_INVALID], counts[DOC_NOT_OBJECT], counts[DOC_UNSURE], failures);
  return failures ? 1 : 0;
}
