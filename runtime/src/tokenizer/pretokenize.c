/*
 * GPT-2's pre-tokenizer without a regex engine. At each position the regex
 * tries its alternatives in order, so a pre-token is: a contraction ('s 't 're
 * 've 'm 'll 'd, lower case only), else an optional space and a run of
 * letters, of numbers or of 'other' characters (neither space, letter nor
 * number), else a run of white space; a run followed by a non-space stops
 * before its last character (\s+(?!\S) backtracks one character), so that
 * character can start the next pre-token (" word"), unless the run is one
 * character long (then \s+ takes it).
 */
#include "tokenizer_internal.h"

/* Decodes the code point at text[at]; *n its bytes. Invalid UTF-8 is one byte
 * of class other (U+FFFD stands for it). */
static uint32_t code_point(const uint8_t *t, size_t len, size_t at, size_t *n) {
  uint32_t c = t[at];
  size_t need = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 4;
  *n = 1;
  if (need == 0) return c;
  if (need == 4 || len - at <= need) return 0xFFFD;
  uint32_t v = c & (0x3Fu >> need);
  for (size_t k = 1; k <= need; k++) {
    if ((t[at + k] & 0xC0) != 0x80) return 0xFFFD;
    v = v << 6 | (t[at + k] & 0x3F);
  }
  static const uint32_t least[4] = {0, 0x80, 0x800, 0x10000};
  if (v < least[need] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0xFFFD;
  *n = need + 1;
  return v;
}

static int ascii_class(uint32_t c) {
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return PTEC_TOK_LETTER;
  if (c >= '0' && c <= '9') return PTEC_TOK_NUMBER;
  if (c == ' ' || (c >= 0x09 && c <= 0x0D)) return PTEC_TOK_SPACE;
  return PTEC_TOK_OTHER;
}

static int class_of(uint32_t c) {
  if (c < 0x80) return ascii_class(c);
  size_t lo = 0, hi = ptec_tok_num_ranges;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c < ptec_tok_ranges[mid].first) hi = mid;
    else if (c > ptec_tok_ranges[mid].last) lo = mid + 1;
    else return ptec_tok_ranges[mid].cls;
  }
  return PTEC_TOK_OTHER;
}

/* Class of the character at `at` (0 past the end is never asked for). */
static int class_at(const uint8_t *t, size_t len, size_t at, size_t *n) {
  return class_of(code_point(t, len, at, n));
}

/* The end of the run of class `cls` starting at `at`. */
static size_t run_end(const uint8_t *t, size_t len, size_t at, int cls) {
  size_t n;
  while (at < len && class_at(t, len, at, &n) == cls) at += n;
  return at;
}

static size_t contraction(const uint8_t *t, size_t len, size_t at) {
  if (t[at] != '\'' || len - at < 2) return 0;
  uint8_t a = t[at + 1];
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (len - at < 3) return 0;
  uint8_t b = t[at + 2];
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

size_t ptec_tok_pretoken_end(const uint8_t *t, size_t len, size_t at) {
  size_t k = contraction(t, len, at);
  if (k != 0) return at + k;
  size_t n;
  int cls = class_at(t, len, at, &n);
  /* ' ?X+': the space, then a run of one class (not space) */
  if (t[at] == ' ' && at + 1 < len) {
    size_t m;
    int next = class_at(t, len, at + 1, &m);
    if (next != PTEC_TOK_SPACE) return run_end(t, len, at + 1, next);
  }
  if (cls != PTEC_TOK_SPACE) return run_end(t, len, at, cls);
  /* \s+(?!\S) then \s+ */
  size_t end = at, last = at;
  while (end < len && class_at(t, len, end, &n) == PTEC_TOK_SPACE) {
    last = end;
    end += n;
  }
  if (end == len || last == at) return end;
  return last;
}

/* With add_prefix_space the text is pre-tokenized as " " + text (text[0] not
 * a space): the space starts ' ?X+' over the run of text[0]'s class, or, when
 * text[0] is white space, a white-space run of two characters or more, which
 * stops before its last character when a non-space follows. */
size_t ptec_tok_pretoken_end_after_space(const uint8_t *t, size_t len) {
  size_t n;
  int cls = class_at(t, len, 0, &n);
  if (cls != PTEC_TOK_SPACE) return run_end(t, len, 0, cls);
  size_t end = 0, last = 0;
  while (end < len && class_at(t, len, end, &n) == PTEC_TOK_SPACE) {
    last = end;
    end += n;
  }
  return end == len ? end : last;
}
