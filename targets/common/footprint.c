/*
 * The two images bench/footprint.py compares (TensorFlow Lite Micro's way of
 * measuring its core): built once with PTEC_FOOTPRINT_RUNTIME=1, running a
 * program through the whole ptec API, and once with 0, doing the same file
 * I/O and printing without calling the runtime. The difference in .text,
 * .rodata, .data and .bss is what the runtime adds to an application.
 *
 *   footprint-{core,bare}.elf model.pte
 *
 * Inputs are zeros; the program, its planned buffers and method memory are
 * placed at fixed addresses of the board's RAM (no static buffers), so that
 * .bss holds only what the runtime itself keeps.
 */
#include <stdio.h>
#include <string.h>

#include "board.h"

#if PTEC_FOOTPRINT_RUNTIME
#include "ptec/ptec.h"
#endif

static size_t read_file(const char *path, void *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return 0;
  size_t n = fread(buf, 1, cap, f);
  fclose(f);
  return n;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    printf("usage: footprint model.pte\n");
    return 1;
  }
  const board_region *flash = &board.regions[0];
  uint8_t *program = (uint8_t *)flash->base;
  size_t size = read_file(argv[1], program, flash->size);
  if (size == 0) {
    printf("footprint: cannot read %s\n", argv[1]);
    return 1;
  }
#if PTEC_FOOTPRINT_RUNTIME
  ptec_program prog;
  ptec_method m;
  ptec_method_requirements req;
  size_t index;
  ptec_status s = ptec_program_load(&prog, program, size);
  if (s == PTEC_STATUS_OK) s = ptec_program_find_method(&prog, "forward", &index);
  if (s == PTEC_STATUS_OK) s = ptec_program_method_requirements(&prog, index, &req);
  if (s != PTEC_STATUS_OK) {
    printf("footprint: %s: %s\n", ptec_status_to_string(s), ptec_program_message(&prog));
    return 2;
  }
  uint8_t *next = (uint8_t *)board.regions[board.num_regions - 1].base;
  void *planned[8];
  size_t planned_sizes[8];
  size_t num_planned = req.num_planned_buffers < 8 ? req.num_planned_buffers : 8;
  for (size_t i = 0; i < num_planned; i++) {
    planned_sizes[i] = ptec_method_planned_buffer_size(&req, i);
    planned[i] = next;
    next += (planned_sizes[i] + 15) / 16 * 16;
  }
  void *method_memory = next;
  next += (req.method_memory_bytes + 15) / 16 * 16;
  s = ptec_method_init(&m, &prog, index, method_memory, req.method_memory_bytes, planned,
                       planned_sizes, num_planned);
  for (size_t i = 0; s == PTEC_STATUS_OK && i < ptec_method_num_inputs(&m); i++) {
    ptec_tensor_view in;
    s = ptec_method_input_info(&m, i, &in);
    if (s != PTEC_STATUS_OK) break;
    in.data = next;
    memset(next, 0, in.nbytes);
    s = ptec_method_set_input(&m, i, &in);
  }
  if (s == PTEC_STATUS_OK) s = ptec_method_execute(&m);
  ptec_tensor_view out;
  if (s == PTEC_STATUS_OK) s = ptec_method_get_output(&m, 0, &out);
  if (s != PTEC_STATUS_OK) {
    printf("footprint: %s: %s\n", ptec_status_to_string(s), ptec_method_message(&m));
    return 2;
  }
  printf("footprint: ok: method memory %lu, structs %lu + %lu, output %lu bytes\n",
         (unsigned long)req.method_memory_bytes, (unsigned long)sizeof prog,
         (unsigned long)sizeof m, (unsigned long)out.nbytes);
#else
  printf("footprint: ok: read %lu bytes\n", (unsigned long)size);
#endif
  return 0;
}
