/*
 * ptec runtime: public C API.
 *
 * The runtime runs `.pte` programs (ExecuTorch's program format, identifier
 * "ET12") in memory the caller provides. It never allocates, never prints and
 * never aborts: every function returns a ptec_status, and the object it acted
 * on keeps a message naming the instruction, operator or value at fault.
 *
 * Life of a program:
 *
 *   ptec_program prog;
 *   ptec_program_load(&prog, bytes, size);              // zero-copy, verified
 *   ptec_method_requirements req;
 *   ptec_program_method_requirements(&prog, 0, &req);   // exact sizes, up front
 *   ... caller obtains req.method_memory_bytes and each planned buffer ...
 *   ptec_method m;
 *   ptec_method_init(&m, &prog, 0, method_mem, n, planned, planned_sizes, k);
 *   ptec_method_set_input(&m, 0, &input_tensor);
 *   ptec_method_execute(&m);
 *   ptec_method_get_output(&m, 0, &output_tensor);
 *
 * Structures below are declared in full so that the caller can place them
 * anywhere (stack, static storage); fields marked private are not API.
 */
#ifndef PTEC_PTEC_H
#define PTEC_PTEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PTEC_VERSION_MAJOR 0
#define PTEC_VERSION_MINOR 1

/* The largest tensor rank the runtime accepts (ExecuTorch uses the same). */
#define PTEC_MAX_RANK 16

/* Bytes kept for the last error message of a program or method. */
#define PTEC_MESSAGE_CAPACITY 160

/* Program bytes must start at an address aligned to this many bytes. */
#define PTEC_PROGRAM_ALIGNMENT 16

/* Planned buffers and method memory must be aligned to this many bytes. */
#define PTEC_BUFFER_ALIGNMENT 16

typedef enum ptec_status {
  PTEC_STATUS_OK = 0,
  /* The caller's request is wrong: null pointer, index out of range, wrong
   * input dtype or shape, misaligned buffer. */
  PTEC_STATUS_INVALID_ARGUMENT,
  /* The call is out of order (execute before every input is set, ...). */
  PTEC_STATUS_INVALID_STATE,
  /* The file is not a ptec/ExecuTorch program (identifier is not "ET12"). */
  PTEC_STATUS_BAD_IDENTIFIER,
  /* The extended header's sizes or offsets contradict the file. */
  PTEC_STATUS_BAD_HEADER,
  /* An offset, length or vector runs past the end of the data. */
  PTEC_STATUS_TRUNCATED,
  /* FlatBuffer structure is broken: misaligned table, bad vtable, missing
   * required field. */
  PTEC_STATUS_MALFORMED,
  /* An index read from the file points outside its table. */
  PTEC_STATUS_INDEX_OUT_OF_RANGE,
  /* An enum value or union tag read from the file is unknown. */
  PTEC_STATUS_BAD_ENUM,
  /* A size read from the file is negative, or size arithmetic overflows. */
  PTEC_STATUS_BAD_SIZE,
  /* A planned tensor lies outside its memory-planned buffer. */
  PTEC_STATUS_BAD_MEMORY_PLAN,
  /* A value has the wrong type for where it is used (kernel argument,
   * input dtype). */
  PTEC_STATUS_TYPE_MISMATCH,
  /* Tensor shapes do not agree (kernel check, or an input of wrong shape). */
  PTEC_STATUS_SHAPE_MISMATCH,
  /* The program calls an operator this build does not contain. */
  PTEC_STATUS_OPERATOR_MISSING,
  /* The program calls a delegate backend this build does not contain. */
  PTEC_STATUS_BACKEND_MISSING,
  /* The program uses a feature this runtime does not implement. */
  PTEC_STATUS_NOT_SUPPORTED,
  /* Caller-provided memory is smaller than the program requires. */
  PTEC_STATUS_OUT_OF_MEMORY,
  /* A value computed at run time is out of range (embedding index, ...). */
  PTEC_STATUS_OUT_OF_RANGE,
  /* A bug in ptec itself. */
  PTEC_STATUS_INTERNAL,
  /* An accelerator's driver is missing from the build, or it refused or
   * failed a run (the message gives the driver's return code). */
  PTEC_STATUS_DEVICE_ERROR,
  PTEC_STATUS_COUNT_
} ptec_status;

/* The status's name, e.g. "PTEC_STATUS_TRUNCATED". Never returns NULL. */
const char *ptec_status_to_string(ptec_status status);

/* Element types; the numbers are ExecuTorch's ScalarType (= c10's). */
typedef enum ptec_dtype {
  PTEC_DTYPE_UINT8 = 0,
  PTEC_DTYPE_INT8 = 1,
  PTEC_DTYPE_INT16 = 2,
  PTEC_DTYPE_INT32 = 3,
  PTEC_DTYPE_INT64 = 4,
  PTEC_DTYPE_FLOAT16 = 5,
  PTEC_DTYPE_FLOAT32 = 6,
  PTEC_DTYPE_FLOAT64 = 7,
  /* Complex: (real, imaginary) pairs of float16, float32, float64. Programs carry
   * them; kernels that take them say so (view_as_real_copy). */
  PTEC_DTYPE_COMPLEX32 = 8,
  PTEC_DTYPE_COMPLEX64 = 9,
  PTEC_DTYPE_COMPLEX128 = 10,
  PTEC_DTYPE_BOOL = 11,
  PTEC_DTYPE_BFLOAT16 = 15
} ptec_dtype;

/* Bytes per element, or 0 for a dtype the runtime does not know. */
size_t ptec_dtype_size(int dtype);
/* Name as PyTorch spells it ("float32"), or "unknown". */
const char *ptec_dtype_name(int dtype);

/* A view of a tensor exchanged with the caller (inputs and outputs). */
typedef struct ptec_tensor_view {
  void *data;
  size_t nbytes;
  int32_t dtype;                     /* ptec_dtype */
  int32_t rank;
  int32_t sizes[PTEC_MAX_RANK];
  uint8_t dim_order[PTEC_MAX_RANK];  /* outer to inner; 0..rank-1 = contiguous */
} ptec_tensor_view;

/* ------------------------------------------------------------------ program */

typedef struct ptec_program {
  /* private */
  const uint8_t *data;         /* whole file, caller-owned */
  size_t size;
  size_t program_size;         /* bytes of the FlatBuffer part */
  size_t segment_base;         /* file offset of the first segment, 0 if none */
  uint32_t root;               /* offset of the Program table */
  uint32_t plans;              /* offset of the execution_plan vector */
  uint32_t num_methods;
  const uint8_t *constant_base;   /* start of the constant segment, or NULL */
  size_t constant_size;
  uint32_t constant_offsets;      /* offset of constant_segment.offsets, 0 if none */
  uint32_t num_constants;
  uint32_t constant_buffers;      /* offset of deprecated constant_buffer vector, 0 if none */
  uint32_t num_constant_buffers;
  char message[PTEC_MESSAGE_CAPACITY];
} ptec_program;

/*
 * Verifies the file's headers and top-level tables and binds `prog` to the
 * bytes, without copying them. `data` must stay valid and unchanged while
 * the program and its methods are used.
 */
ptec_status ptec_program_load(ptec_program *prog, const void *data, size_t size);

/* The last error message, "" if none. */
const char *ptec_program_message(const ptec_program *prog);

size_t ptec_program_num_methods(const ptec_program *prog);
/* Writes the method's name (NUL-terminated, truncated to `cap`). */
ptec_status ptec_program_method_name(ptec_program *prog, size_t method,
                                     char *name, size_t cap);
/* Finds a method by name ("forward"). */
ptec_status ptec_program_find_method(ptec_program *prog, const char *name,
                                     size_t *method);

/* What a method needs before it can run. Everything is known from the file. */
typedef struct ptec_method_requirements {
  size_t method_memory_bytes;      /* for ptec_method_init's method memory */
  size_t num_planned_buffers;
  const int64_t *planned_buffer_sizes_raw; /* private: use ptec_method_planned_buffer_size */
  size_t num_inputs;
  size_t num_outputs;
  size_t num_values;
  size_t num_instructions;
  size_t num_operators;
  size_t num_delegates;
} ptec_method_requirements;

/*
 * Verifies the whole method (values, instructions, operators, delegates,
 * memory plan) and reports the exact memory it needs. A method that passes
 * here can be initialised with exactly the sizes reported.
 */
ptec_status ptec_program_method_requirements(ptec_program *prog, size_t method,
                                             ptec_method_requirements *req);

/* Size in bytes of planned buffer `i` (0-based) of a method. */
size_t ptec_method_planned_buffer_size(const ptec_method_requirements *req,
                                       size_t i);

/* ------------------------------------------------------------------- method */

struct ptec_instruction;
struct ptec_delegate_instance;
struct ptec_value_state;
struct ptec_frame;
struct ptec_dynamic_shape;
struct ptec_cached_call;

/*
 * An observer of execution, for profilers: called before (`end` false) and
 * after (`end` true) each instruction that execute runs, with the
 * instruction's index and a name: the operator ("aten::convolution.out"),
 * "delegate", "move", "jump_false" or "free". The runtime never reads the
 * clock itself; a profiler reads it here (the Cortex-M runner reads SysTick).
 */
typedef void (*ptec_instruction_hook)(void *context, uint32_t instruction, const char *name,
                                      bool end);

typedef struct ptec_method {
  /* private */
  ptec_program *program;
  uint32_t values;                /* program offset of the EValue table's elements */
  uint32_t num_values;
  struct ptec_instruction *instructions;
  uint32_t num_instructions;
  struct ptec_delegate_instance *delegates;
  uint32_t num_delegates;
  struct ptec_value_state *states; /* values bound or moved at run time, by index */
  uint32_t num_states;
  struct ptec_frame *frame;       /* the arguments of the running instruction */
  struct ptec_dynamic_shape *shapes; /* current sizes of DYNAMIC_BOUND tensors */
  uint32_t num_shapes;
  void **planned;                 /* planned buffers, copied into method memory */
  const int64_t *planned_sizes;   /* as the program declares them, in the program */
  uint32_t num_planned;
  const int32_t *inputs;          /* value indices, in the program */
  uint32_t num_inputs;
  const int32_t *outputs;
  uint32_t num_outputs;
  uint8_t *inputs_set;            /* per input: 0 not set, 1 set, 2 not a tensor */
  uint8_t *scratch;               /* per-instruction temporary memory */
  size_t scratch_size;
  uint32_t failed_instruction;
  ptec_instruction_hook hook;     /* NULL unless ptec_method_set_hook */
  void *hook_context;
  const struct ptec_parallel_for *parallel; /* NULL unless ptec_method_set_parallel */
  uint32_t cpu_features;          /* PTEC_CPU_* bits; 0 unless ptec_method_set_cpu_features */
  struct ptec_cached_call *calls; /* NULL unless ptec_method_set_call_cache */
  /* The cached call of an instruction, refreshed, or NULL; with `after`, the
   * bindings its kernel made kept (call_cache.c; a pointer, so that firmware
   * without the cache does not link it). */
  const struct ptec_cached_call *(*cached)(struct ptec_method *m,
                                           const struct ptec_instruction *ins, bool after);
  bool initialized;
  char message[PTEC_MESSAGE_CAPACITY];
} ptec_method;

/*
 * Prepares method `index` of `prog` to run. `method_memory` holds every
 * runtime structure of the method; `planned[i]` is planned buffer i, of
 * `planned_sizes[i]` bytes. Both must be PTEC_BUFFER_ALIGNMENT-aligned. The
 * sizes must be at least those of ptec_program_method_requirements. The
 * runtime never writes outside these buffers.
 */
ptec_status ptec_method_init(ptec_method *m, ptec_program *prog, size_t index,
                             void *method_memory, size_t method_memory_bytes,
                             void *const *planned, const size_t *planned_sizes,
                             size_t num_planned);

/*
 * Mutable state. A program's mutable buffers (a KV cache, a counter) are
 * planned tensors that keep their contents from one execute to the next:
 * the runtime never clears planned memory. ptec's compiler puts them in
 * planned buffer 1 (memory_id 2), which nothing else uses; methods of one
 * program given the same buffer there share the state (prefill and decode
 * share one KV cache). Init writes the initial data of buffers that have
 * some (planned tensors with data, as ExecuTorch's InitializedMutableBuffer
 * pass writes them); the others start as the caller's memory, so give
 * zeroed buffers, or call ptec_method_reset_state.
 *
 * ptec_method_reset_state zeroes every planned buffer of the method, writes
 * the initial data again, and forgets the tensor inputs set so far.
 */
ptec_status ptec_method_reset_state(ptec_method *m);

const char *ptec_method_message(const ptec_method *m);

size_t ptec_method_num_inputs(const ptec_method *m);
size_t ptec_method_num_outputs(const ptec_method *m);

/* Shape, dtype and (for planned tensors) the buffer of input `i`. */
ptec_status ptec_method_input_info(const ptec_method *m, size_t i,
                                   ptec_tensor_view *info);

/*
 * Sets input `i`. dtype, rank and sizes must equal the program's. A planned
 * input is copied into its planned buffer; an unplanned one is used in place
 * (it must stay valid until execute returns).
 */
ptec_status ptec_method_set_input(ptec_method *m, size_t i,
                                  const ptec_tensor_view *input);

/*
 * Scalar inputs. torch.export specialises a model's int, float and bool
 * arguments, so the program holds each as an Int, Double or Bool value
 * equal to the example it was compiled with, and kernels read that value
 * (as in ExecuTorch, whose set_input takes only the same value).
 */
typedef enum ptec_input_kind {
  PTEC_INPUT_TENSOR = 0,
  PTEC_INPUT_INT = 1,
  PTEC_INPUT_DOUBLE = 2,
  PTEC_INPUT_BOOL = 3
} ptec_input_kind;

typedef struct ptec_scalar {
  int32_t kind; /* PTEC_INPUT_INT, _DOUBLE or _BOOL */
  int64_t i;    /* Int, or Bool as 0 / 1 */
  double d;     /* Double */
} ptec_scalar;

/* The kind of input `i` (ptec_input_kind); for a scalar input, its value. */
ptec_status ptec_method_input_kind(const ptec_method *m, size_t i, int32_t *kind,
                                   ptec_scalar *value);

/* Checks scalar input `i`: INVALID_ARGUMENT unless `in` has its kind and
 * value (the program is specialised on it; NaN equals NaN). */
ptec_status ptec_method_set_input_scalar(ptec_method *m, size_t i, const ptec_scalar *in);

/*
 * Lets the heavy kernels of this method split their work over `parallel`
 * (ptec/platform.h; NULL: one thread, the default). The runtime keeps the
 * pointer: the object must outlive the method's executes.
 */
struct ptec_parallel_for;
ptec_status ptec_method_set_parallel(ptec_method *m, const struct ptec_parallel_for *parallel);

/*
 * CPU features the kernels of this method may use besides those the build
 * targets (0, the default: the build's baseline only). The core cannot ask
 * the OS, so the platform layer detects them (ptec_posix_cpu_features,
 * ptec/platform.h) and the caller hands them over; a bit the CPU does not
 * have makes its kernels fault, so pass only what detection reported.
 */
#define PTEC_CPU_ARM_DOTPROD (1u << 0) /* AArch64 SDOT/UDOT (FEAT_DotProd, HWCAP_ASIMDDP) */
#define PTEC_CPU_ARM_I8MM (1u << 1)    /* AArch64 SMMLA (FEAT_I8MM, HWCAP2_I8MM) */
ptec_status ptec_method_set_cpu_features(ptec_method *m, uint32_t features);

/*
 * Optional, for speed: decodes every instruction's kernel and arguments once,
 * into `memory` (PTEC_BUFFER_ALIGNMENT-aligned, at least the *bytes that
 * ptec_method_call_cache_size states, kept by the method), so that execute
 * reads them from there instead of decoding each call's arguments from the
 * program again on every run. Without it (the default) execute decodes as it
 * goes and needs only method memory. Call after init, before or between
 * executes; outputs are the same either way. PTEC_STATUS_OUT_OF_MEMORY if
 * `bytes` is too small (the method then keeps running without the cache).
 */
ptec_status ptec_method_call_cache_size(ptec_method *m, size_t *bytes);
ptec_status ptec_method_set_call_cache(ptec_method *m, void *memory, size_t bytes);

/* Runs every instruction. Allocates nothing. */
ptec_status ptec_method_execute(ptec_method *m);

/* The output after execute: data points into planned memory. */
ptec_status ptec_method_get_output(const ptec_method *m, size_t i,
                                   ptec_tensor_view *output);

/*
 * Tensor value `value` of the method (its index in the program's value
 * table) as it is now: for debuggers, called from the instruction hook after
 * the instruction that writes it, since planned memory is reused by later
 * tensors. PTEC_STATUS_TYPE_MISMATCH if the value is not a tensor.
 */
ptec_status ptec_method_value_view(const ptec_method *m, size_t value, ptec_tensor_view *out);

/* Index of the instruction that failed in the last execute. */
size_t ptec_method_failed_instruction(const ptec_method *m);

/* Installs (or, with NULL, removes) the execution observer of an
 * initialised method. */
ptec_status ptec_method_set_hook(ptec_method *m, ptec_instruction_hook hook, void *context);

/*
 * An observer inside delegates, for debuggers: a delegate that supports it
 * (the TOSA executor) calls it after each of its operators with the
 * operator's index and name, and the tensor it wrote (name and view, valid
 * only during the call: delegate scratch memory is reused). `delegate` is
 * the delegate's index in the method's delegate table.
 */
typedef void (*ptec_delegate_hook)(void *context, uint32_t delegate, uint32_t op,
                                   const char *op_name, const char *tensor,
                                   const ptec_tensor_view *value);

/* Installs (or, with NULL, removes) the delegate observer on every delegate
 * of an initialised method that supports one. */
ptec_status ptec_method_set_delegate_hook(ptec_method *m, ptec_delegate_hook hook,
                                          void *context);

/* ---------------------------------------------------------------- bindings */

/* sizeof the structures, for language bindings that allocate them. */
size_t ptec_program_struct_size(void);
size_t ptec_method_struct_size(void);

/* The operators this build has kernels for ("aten::add.out", ...). */
size_t ptec_operator_count(void);
const char *ptec_operator_name(size_t i);

#ifdef __cplusplus
}
#endif

#endif /* PTEC_PTEC_H */
