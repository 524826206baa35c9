/*
 * ptec-generate: greedy text generation with an LLM program (docs/llm.md).
 *
 *   ptec-generate model.pte --prompt 5,17,3 [--steps N] [--eos ID]
 *                 [--temperature T] [--top-p P] [--seed S]
 *                 [--prefill NAME] [--decode NAME] [--threads N]
 *   ptec-generate model.pte --tokenizer tok.ptok --prompt "text" [--max-new-tokens N] ...
 *   ptec-generate --tokenizer tok.ptok --encode-file F | --decode-file F
 *
 * With --tokenizer (a byte-level BPE file from python -m ptec.llm.tokenizer,
 * runtime/src/tokenizer/) the prompt is text, encoded in C, printed back
 * (decoded), and the generated tokens stream after it as text. --encode-file prints the ids of each NUL-separated
 * record of F, one line each; --decode-file prints the bytes (in hex) of each
 * newline-terminated line of ids in F, one line each (special tokens left
 * out): the tokenizer tests compare both with Hugging Face `tokenizers`.
 *
 * The program has a decode method (default "decode", else "forward") taking
 * (input_ids int64 [1, 1], cache_position int64 [1]) and optionally a prefill
 * method (default "prefill") taking (input_ids [1, T], cache_position [T]);
 * both return logits whose last row is the next token's. The prompt goes
 * through prefill in chunks of T (a rest of 2+ tokens too: the last T tokens, or
 * padded; one token through decode), then N greedy
 * steps: greedy (temperature 0, the default), or sampled from
 * softmax(logits / T) restricted to the smallest set of most likely tokens
 * whose probability reaches P (top-p), with xorshift64* from the seed
 * (ptec.llm.program.sample_token is the same in Python). Planned buffers past the first (the state memory: KV caches) are
 * shared by the methods, allocated zeroed. Prints each generated token id as
 * it comes, then prefill and decode tokens/s and the memory used.
 * --threads N (default 1) lets the heavy kernels of both methods split their
 * outputs over N threads (the platform's pthread pool).
 *
 * Exit status: 0 done, 1 usage or file error (a malformed tokenizer file: its
 * status named), 2 a runtime failure (named).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptec/platform.h"
#include "ptec/ptec.h"
#include "support/host_memory.h"
#include "tokenizer/tokenizer.h"

#define MAX_BUFFERS 8
#define MAX_TOKENS 4096
#define MAX_VOCAB (1u << 18)

typedef struct sampler {
  double temperature, top_p;
  uint64_t state; /* xorshift64* */
} sampler;

static double uniform(sampler *r) {
  uint64_t x = r->state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->state = x;
  return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0);
}

static double probs[MAX_VOCAB];
static uint32_t order[MAX_VOCAB];

/* Most likely first; equal ones by index: one order on every machine. */
static int by_prob(const void *a, const void *b) {
  uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
  if (probs[i] != probs[j]) return probs[i] > probs[j] ? -1 : 1;
  return i < j ? -1 : (i > j);
}

/* The next token from a logits row: argmax at temperature 0, else top-p sampling. */
static size_t sample(const float *row, size_t vocab, sampler *r) {
  size_t best = 0;
  for (size_t v = 1; v < vocab; v++) {
    if (row[v] > row[best]) best = v; /* first maximum, as torch.argmax */
  }
  if (r->temperature <= 0.0) return best;
  double total = 0.0;
  for (size_t v = 0; v < vocab; v++) {
    probs[v] = exp(((double)row[v] - (double)row[best]) / r->temperature);
    total += probs[v];
    order[v] = (uint32_t)v;
  }
  qsort(order, vocab, sizeof order[0], by_prob);
  size_t kept = 0;
  double mass = 0.0;
  while (kept < vocab && (kept == 0 || mass < r->top_p * total)) mass += probs[order[kept++]];
  double target = uniform(r) * mass, run = 0.0;
  for (size_t k = 0; k < kept; k++) {
    run += probs[order[k]];
    if (run > target) return order[k];
  }
  return order[kept - 1];
}

typedef struct llm_method {
  ptec_method m;
  void *memory;
  void *planned0;
  size_t prefill_len; /* tokens per call: input 0's sizes[1] */
  size_t bytes;
} llm_method;

typedef struct llm {
  ptec_program prog;
  void *shared[MAX_BUFFERS]; /* planned buffers 1.. : the state, one per program */
  size_t shared_size[MAX_BUFFERS];
  size_t bytes;
} llm;

static void *alloc_zeroed(size_t n) {
  size_t rounded = (n + 15) / 16 * 16 + 16;
  void *p = aligned_alloc(PTEC_BUFFER_ALIGNMENT, rounded);
  if (p != NULL) memset(p, 0, rounded);
  return p;
}

static void *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  void *buf = NULL;
  long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  if (n >= 0 && fseek(f, 0, SEEK_SET) == 0) {
    buf = alloc_zeroed((size_t)n);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
      free(buf);
      buf = NULL;
    }
  }
  fclose(f);
  *size = n < 0 ? 0 : (size_t)n;
  return buf;
}

static int fail(const char *what, ptec_status s, const char *message) {
  fprintf(stderr, "ptec-generate: %s failed: %s: %s\n", what, ptec_status_to_string(s), message);
  return 2;
}

/* Inits method `name` with its own planned buffer 0 and the program's shared
 * buffers past it. 0, 1 (not found: lm->prog's message) or 2 (failed). */
static int init_method(llm *lm, const char *name, llm_method *out) {
  size_t index;
  if (ptec_program_find_method(&lm->prog, name, &index) != PTEC_STATUS_OK) return 1;
  ptec_method_requirements req;
  ptec_status s = ptec_program_method_requirements(&lm->prog, index, &req);
  if (s != PTEC_STATUS_OK) return fail("requirements", s, ptec_program_message(&lm->prog));
  if (req.num_planned_buffers > MAX_BUFFERS ||
      ptec_host_memory_required(&req) > ptec_host_memory_limit()) {
    fprintf(stderr, "ptec-generate: method %s needs more memory or buffers than this tool "
                    "gives\n", name);
    return 2;
  }
  void *planned[MAX_BUFFERS];
  size_t sizes[MAX_BUFFERS];
  for (size_t k = 0; k < req.num_planned_buffers; k++) {
    sizes[k] = ptec_method_planned_buffer_size(&req, k);
    if (k > 0 && lm->shared[k] != NULL && lm->shared_size[k] != sizes[k]) {
      fprintf(stderr, "ptec-generate: method %s's planned buffer %zu has %zu bytes, another "
                      "method's %zu: they cannot share it\n", name, k, sizes[k],
              lm->shared_size[k]);
      return 2;
    }
    if (k > 0 && lm->shared[k] == NULL) {
      lm->shared[k] = alloc_zeroed(sizes[k]);
      lm->shared_size[k] = sizes[k];
      lm->bytes += sizes[k];
    }
    planned[k] = k > 0 ? lm->shared[k] : (out->planned0 = alloc_zeroed(sizes[k]));
    if (planned[k] == NULL) return fail("allocation", PTEC_STATUS_OUT_OF_MEMORY, name);
    if (k == 0) out->bytes += sizes[k];
  }
  out->memory = alloc_zeroed(req.method_memory_bytes);
  out->bytes += req.method_memory_bytes;
  if (out->memory == NULL) return fail("allocation", PTEC_STATUS_OUT_OF_MEMORY, name);
  s = ptec_method_init(&out->m, &lm->prog, index, out->memory, req.method_memory_bytes, planned,
                       sizes, req.num_planned_buffers);
  if (s != PTEC_STATUS_OK) return fail("init", s, ptec_method_message(&out->m));
  ptec_tensor_view ids;
  s = ptec_method_input_info(&out->m, 0, &ids);
  if (s != PTEC_STATUS_OK || ptec_method_num_inputs(&out->m) != 2 ||
      ids.dtype != PTEC_DTYPE_INT64 || ids.rank != 2 || ids.sizes[0] != 1 || ids.sizes[1] < 1 ||
      ids.sizes[1] > MAX_TOKENS) {
    fprintf(stderr, "ptec-generate: method %s must take input_ids int64 [1, T] and "
                    "cache_position int64 [T], T <= %d\n", name, MAX_TOKENS);
    return 2;
  }
  out->prefill_len = (size_t)ids.sizes[1];
  return 0;
}

/* Runs one call on tokens[0..n) at positions pos.. and points *row at the
 * last logits row (of *vocab entries). */
static int step(llm_method *lm, const int64_t *tokens, size_t n, int64_t pos,
                const float **row, size_t *vocab) {
  int64_t positions[MAX_TOKENS];
  for (size_t k = 0; k < n; k++) positions[k] = pos + (int64_t)k;
  ptec_tensor_view in[2];
  memset(in, 0, sizeof in);
  for (int k = 0; k < 2; k++) {
    in[k].data = (void *)(uintptr_t)(k == 0 ? tokens : positions);
    in[k].nbytes = n * sizeof(int64_t);
    in[k].dtype = PTEC_DTYPE_INT64;
    in[k].rank = k == 0 ? 2 : 1;
    in[k].sizes[0] = k == 0 ? 1 : (int32_t)n;
    in[k].sizes[1] = (int32_t)n;
    in[k].dim_order[1] = 1;
    ptec_status s = ptec_method_set_input(&lm->m, (size_t)k, &in[k]);
    if (s != PTEC_STATUS_OK) return fail("set_input", s, ptec_method_message(&lm->m));
  }
  ptec_status s = ptec_method_execute(&lm->m);
  if (s != PTEC_STATUS_OK) return fail("execute", s, ptec_method_message(&lm->m));
  ptec_tensor_view out;
  s = ptec_method_get_output(&lm->m, 0, &out);
  if (s != PTEC_STATUS_OK) return fail("get_output", s, ptec_method_message(&lm->m));
  if (out.dtype != PTEC_DTYPE_FLOAT32 || out.rank < 1 || out.sizes[out.rank - 1] < 1 ||
      (size_t)out.sizes[out.rank - 1] > MAX_VOCAB) {
    fprintf(stderr, "ptec-generate: logits must be float32 [..., vocab], vocab <= %u\n",
            MAX_VOCAB);
    return 2;
  }
  *vocab = (size_t)out.sizes[out.rank - 1];
  *row = (const float *)out.data + out.nbytes / sizeof(float) - *vocab;
  return 0;
}

static size_t parse_ids(const char *text, int64_t *ids, size_t cap) {
  size_t n = 0;
  while (*text != '\0' && n < cap) {
    char *end;
    long long v = strtoll(text, &end, 10);
    if (end == text || v < 0) return 0;
    ids[n++] = (int64_t)v;
    text = *end == ',' ? end + 1 : end;
    if (*end != ',' && *end != '\0') return 0;
  }
  return *text == '\0' ? n : 0;
}

/* Everything allocated lives here, freed at exit on every path. */
static llm lm;
static llm_method prefill, decode;
static void *file_data;
static ptec_parallel_for *pool; /* --threads N > 1: the platform's pthread pool */

static void *tokenizer_data, *scratch;
static ptec_tokenizer tokenizer;

static void release(void) {
  free(tokenizer_data);
  free(scratch);
  llm_method *ms[2] = {&prefill, &decode};
  for (int k = 0; k < 2; k++) {
    free(ms[k]->memory);
    free(ms[k]->planned0);
  }
  for (int k = 0; k < MAX_BUFFERS; k++) free(lm.shared[k]);
  free(file_data);
  ptec_posix_parallel_destroy(pool);
}

/* Loads --tokenizer: 0, or 1 with the status named. */
static size_t tokenizer_bytes; /* the file, read in place, plus the encoder's memory */

static int load_tokenizer(const char *path) {
  size_t size;
  tokenizer_data = read_file(path, &size);
  tokenizer_bytes = size;
  if (tokenizer_data == NULL) {
    fprintf(stderr, "ptec-generate: cannot read %s\n", path);
    return 1;
  }
  ptec_status s = ptec_tokenizer_load(&tokenizer, tokenizer_data, size);
  if (s == PTEC_STATUS_OK) return 0;
  fprintf(stderr, "ptec-generate: tokenizer %s: %s: %s\n", path, ptec_status_to_string(s),
          ptec_tokenizer_message(&tokenizer));
  return 1;
}

/* text -> tokens[0..*n) through the tokenizer: 0, or 1 (too long). */
static int encode_text(const char *text, size_t len, int64_t *tokens, size_t cap, size_t *n) {
  size_t max_ids = ptec_tokenizer_max_tokens(len), work = ptec_tokenizer_work_bytes(len);
  free(scratch);
  scratch = malloc(max_ids * sizeof(uint32_t) + work + 16);
  if (scratch == NULL) return 1;
  uint32_t *ids = (uint32_t *)scratch;
  void *work_mem = (void *)(((uintptr_t)(ids + max_ids) + 15) & ~(uintptr_t)15);
  tokenizer_bytes += max_ids * sizeof(uint32_t) + work;
  ptec_status s = ptec_tokenizer_encode(&tokenizer, text, len, ids, max_ids, n, work_mem, work);
  if (s != PTEC_STATUS_OK || *n > cap) {
    fprintf(stderr, "ptec-generate: cannot encode the prompt: %s\n",
            s != PTEC_STATUS_OK ? ptec_status_to_string(s) : "too many tokens");
    return 1;
  }
  for (size_t k = 0; k < *n; k++) tokens[k] = ids[k];
  return 0;
}

static void print_token(int64_t id) {
  size_t len;
  const uint8_t *bytes = ptec_tokenizer_token(&tokenizer, (uint32_t)id, &len);
  if (bytes != NULL && !ptec_tokenizer_is_special(&tokenizer, (uint32_t)id)) {
    fwrite(bytes, 1, len, stdout);
  }
}

/* --encode-file / --decode-file (tests): 0, or 1 on a bad file. */
static int tokenizer_file_mode(const char *path, bool encode) {
  size_t size;
  char *text = read_file(path, &size);
  if (text == NULL) {
    fprintf(stderr, "ptec-generate: cannot read %s\n", path);
    return 1;
  }
  static int64_t ids[MAX_TOKENS * 64];
  size_t start = 0, n = 0;
  int rc = 0;
  for (size_t at = 0; at <= size && rc == 0; at++) {
    if (encode && (at == size || text[at] == '\0')) {
      if (at == size && at == start && size > 0) break; /* the last record's NUL */
      rc = encode_text(text + start, at - start, ids, sizeof ids / sizeof ids[0], &n);
      for (size_t k = 0; k < n && rc == 0; k++) printf(k ? " %lld" : "%lld", (long long)ids[k]);
      printf("\n");
      start = at + 1;
    } else if (!encode && at < size && text[at] == '\n') {
      text[at] = '\0';
      char *p = text + start, *end;
      for (long long v; (v = strtoll(p, &end, 10)), end != p; p = end) {
        if (v < 0 || v >= (long long)tokenizer.n_tokens) {
          fprintf(stderr, "ptec-generate: token id %lld out of range\n", v);
          rc = 1;
          break;
        }
        size_t len;
        const uint8_t *bytes = ptec_tokenizer_token(&tokenizer, (uint32_t)v, &len);
        for (size_t k = 0; k < len && !ptec_tokenizer_is_special(&tokenizer, (uint32_t)v); k++) {
          printf("%02x", bytes[k]);
        }
      }
      printf("\n");
      start = at + 1;
    }
  }
  free(text);
  return rc;
}

int main(int argc, char **argv) {
  atexit(release);
  const char *path = NULL, *prompt = NULL, *prefill_name = "prefill", *decode_name = "decode";
  const char *tokenizer_path = NULL, *encode_file = NULL, *decode_file = NULL;
  long steps = 32, eos = -1, threads = 1;
  sampler rng = {0.0, 1.0, 0x9E3779B97F4A7C15ULL};
  for (int i = 1; i < argc; i++) {
    bool more = i + 1 < argc;
    if (strcmp(argv[i], "--prompt") == 0 && more) prompt = argv[++i];
    else if ((strcmp(argv[i], "--steps") == 0 || strcmp(argv[i], "--max-new-tokens") == 0) && more)
      steps = strtol(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--tokenizer") == 0 && more) tokenizer_path = argv[++i];
    else if (strcmp(argv[i], "--encode-file") == 0 && more) encode_file = argv[++i];
    else if (strcmp(argv[i], "--decode-file") == 0 && more) decode_file = argv[++i];
    else if (strcmp(argv[i], "--eos") == 0 && more) eos = strtol(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--threads") == 0 && more) threads = strtol(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--temperature") == 0 && more) rng.temperature = atof(argv[++i]);
    else if (strcmp(argv[i], "--top-p") == 0 && more) rng.top_p = atof(argv[++i]);
    else if (strcmp(argv[i], "--seed") == 0 && more) {
      unsigned long long seed = strtoull(argv[++i], NULL, 10);
      rng.state = seed != 0 ? (uint64_t)seed : rng.state; /* xorshift needs a non-zero state */
    }
    else if (strcmp(argv[i], "--prefill") == 0 && more) prefill_name = argv[++i];
    else if (strcmp(argv[i], "--decode") == 0 && more) decode_name = argv[++i];
    else if (path == NULL && argv[i][0] != '-') path = argv[i];
    else path = NULL, i = argc;
  }
  if (tokenizer_path != NULL && load_tokenizer(tokenizer_path) != 0) return 1;
  if (tokenizer_path != NULL && (encode_file != NULL || decode_file != NULL)) {
    return tokenizer_file_mode(encode_file != NULL ? encode_file : decode_file, encode_file != NULL);
  }
  static int64_t tokens[MAX_TOKENS];
  size_t n = 0;
  if (prompt != NULL && tokenizer_path != NULL) {
    if (encode_text(prompt, strlen(prompt), tokens, MAX_TOKENS, &n) != 0) return 1;
  } else if (prompt != NULL) {
    n = parse_ids(prompt, tokens, MAX_TOKENS);
  }
  if (path == NULL || n == 0 || steps < 0 || (size_t)steps > MAX_TOKENS - n || threads < 1 ||
      threads > 256 ||
      !(rng.temperature >= 0.0) || !(rng.top_p > 0.0 && rng.top_p <= 1.0)) {
    fprintf(stderr, "usage: ptec-generate model.pte --prompt ID,ID,... [--steps N] [--eos ID] "
                    "[--temperature T >= 0] [--top-p P in (0, 1]] [--seed S] "
                    "[--prefill NAME] [--decode NAME] [--threads N]\n"
                    "       ptec-generate model.pte --tokenizer tok.ptok --prompt TEXT "
                    "[--max-new-tokens N] ...\n"
                    "       ptec-generate --tokenizer tok.ptok --encode-file F | --decode-file F\n");
    return 1;
  }
  size_t size;
  void *data = file_data = read_file(path, &size);
  if (data == NULL) {
    fprintf(stderr, "ptec-generate: cannot read %s\n", path);
    return 1;
  }
  ptec_status s = ptec_program_load(&lm.prog, data, size);
  if (s != PTEC_STATUS_OK) return fail("load", s, ptec_program_message(&lm.prog));
  int rc = init_method(&lm, decode_name, &decode);
  if (rc == 1) rc = init_method(&lm, decode_name = "forward", &decode);
  if (rc != 0) {
    if (rc == 1) fprintf(stderr, "ptec-generate: no method %s\n", decode_name);
    return 2;
  }
  rc = init_method(&lm, prefill_name, &prefill);
  bool has_prefill = rc == 0;
  if (rc == 2) return 2;
  if (decode.prefill_len != 1) {
    fprintf(stderr, "ptec-generate: method %s takes %zu tokens, not 1\n", decode_name,
            decode.prefill_len);
    return 2;
  }
  if (threads > 1) { /* the heavy kernels split their outputs over the pool's threads */
    pool = ptec_posix_parallel_create((int)threads);
    if (pool == NULL) {
      fprintf(stderr, "ptec-generate: cannot start %ld threads\n", threads);
      return 2;
    }
    ptec_method_set_parallel(&decode.m, pool);
    if (has_prefill) ptec_method_set_parallel(&prefill.m, pool);
  }
  for (size_t k = 0; tokenizer_path != NULL && k < n; k++) print_token(tokens[k]); /* the prompt */
  uint64_t hz = ptec_platform_ticks_per_second(), t0 = ptec_platform_ticks();
  size_t pos = 0, vocab = 0;
  const float *row = NULL;
  const size_t T = prefill.prefill_len;
  while (has_prefill && n - pos >= T) {
    if (step(&prefill, tokens + pos, T, (int64_t)pos, &row, &vocab) != 0) return 2;
    pos += T;
  }
  /* A rest of 2+ tokens through prefill too (ptec.llm.program.prompt_chunks makes the
   * same calls and says why they are exact): the last T tokens, or a prompt shorter
   * than T padded after its end with its last token, which decode then runs again for
   * its logits (the padding's cache rows lie past every query's position). */
  if (has_prefill && n - pos >= 2 && n >= T) {
    if (step(&prefill, tokens + n - T, T, (int64_t)(n - T), &row, &vocab) != 0) return 2;
    pos = n;
  } else if (has_prefill && n - pos >= 2) {
    for (size_t k = n; k < T; k++) tokens[k] = tokens[n - 1]; /* overwritten as generated */
    if (step(&prefill, tokens, T, 0, &row, &vocab) != 0) return 2;
    pos = n - 1;
  }
  while (pos < n) {
    if (step(&decode, tokens + pos, 1, (int64_t)pos, &row, &vocab) != 0) return 2;
    pos++;
  }
  uint64_t t1 = ptec_platform_ticks();
  long made = 0;
  while (made < steps) {
    int64_t next = (int64_t)sample(row, vocab, &rng); /* only the rows that choose a token */
    tokens[pos] = next;
    if (tokenizer_path != NULL) print_token(next);
    else printf("%lld%s", (long long)next, made + 1 < steps ? " " : "");
    fflush(stdout);
    made++;
    if (next == eos || made == steps) break;
    if (step(&decode, tokens + pos, 1, (int64_t)pos, &row, &vocab) != 0) return 2;
    pos++;
  }
  uint64_t t2 = ptec_platform_ticks();
  double prefill_s = (double)(t1 - t0) / (double)hz, decode_s = (double)(t2 - t1) / (double)hz;
  printf("\nprefill: %zu tokens, %.1f tokens/s\n", n, prefill_s > 0 ? (double)n / prefill_s : 0);
  printf("decode: %ld tokens, %.1f tokens/s\n", made > 1 ? made - 1 : 0,
         decode_s > 0 && made > 1 ? (double)(made - 1) / decode_s : 0);
  printf("memory: program %zu bytes, state %zu bytes, methods %zu bytes", size, lm.bytes,
         prefill.bytes + decode.bytes);
  if (tokenizer_path != NULL) printf(", tokenizer %zu bytes", tokenizer_bytes);
  printf("\n");
  return 0;
}
