/*
 * Which code sets up each TOSA operator. Operators the executor does not
 * implement are refused at init with NOT_SUPPORTED, naming the operator.
 */
#include "backends/tosa/tosa.h"

typedef ptec_status (*tosa_setup_fn)(tosa_graph *g, tosa_op *op);

static ptec_status setup_const(tosa_graph *g, tosa_op *op) {
  if (op->num_in != 0 || op->num_out != 1) {
    return tosa_op_fail(g, op, PTEC_STATUS_MALFORMED, "has %u inputs and %u outputs, expected 0 "
                        "and 1", op->num_in, op->num_out);
  }
  const tosa_tensor *y = tosa_out(g, op, 0);
  if ((op->code == TOSA_OP_CONST_SHAPE) != (y->type == TOSA_DTYPE_SHAPE) ||
      (y->type == TOSA_DTYPE_SHAPE && y->t.rank != 1)) {
    return tosa_op_fail(g, op, PTEC_STATUS_TYPE_MISMATCH, "CONST_SHAPE makes rank-1 SHAPE "
                        "tensors and CONST every other type");
  }
  return PTEC_STATUS_OK; /* the value is the tensor's data: nothing to run */
}

static tosa_setup_fn setup_of(uint32_t code) {
  switch (code) {
    case TOSA_OP_CONST: case TOSA_OP_CONST_SHAPE: return setup_const;
    case TOSA_OP_CONV2D: case TOSA_OP_DEPTHWISE_CONV2D: return tosa_setup_conv;
    case TOSA_OP_TRANSPOSE_CONV2D: case TOSA_OP_CONV3D: return tosa_setup_conv_more;
    case TOSA_OP_MATMUL: return tosa_setup_matmul;
    case TOSA_OP_RESIZE: return tosa_setup_resize;
    case TOSA_OP_RESCALE: return tosa_setup_rescale;
    case TOSA_OP_TABLE: return tosa_setup_table;
    case TOSA_OP_AVG_POOL2D: case TOSA_OP_MAX_POOL2D: return tosa_setup_pool;
    case TOSA_OP_ARGMAX: case TOSA_OP_REDUCE_ALL: case TOSA_OP_REDUCE_ANY:
    case TOSA_OP_REDUCE_MAX: case TOSA_OP_REDUCE_MIN: case TOSA_OP_REDUCE_PRODUCT:
    case TOSA_OP_REDUCE_SUM:
      return tosa_setup_reduce;
    case TOSA_OP_CONCAT: case TOSA_OP_PAD: case TOSA_OP_RESHAPE: case TOSA_OP_REVERSE:
    case TOSA_OP_SLICE: case TOSA_OP_TILE: case TOSA_OP_TRANSPOSE:
      return tosa_setup_layout;
    case TOSA_OP_GATHER: case TOSA_OP_SCATTER: return tosa_setup_gather;
    case TOSA_OP_CLAMP: case TOSA_OP_SIGMOID: case TOSA_OP_TANH: case TOSA_OP_ERF:
    case TOSA_OP_ADD: case TOSA_OP_ARITHMETIC_RIGHT_SHIFT: case TOSA_OP_BITWISE_AND:
    case TOSA_OP_BITWISE_OR: case TOSA_OP_BITWISE_XOR: case TOSA_OP_INTDIV:
    case TOSA_OP_LOGICAL_AND: case TOSA_OP_LOGICAL_LEFT_SHIFT: case TOSA_OP_LOGICAL_RIGHT_SHIFT:
    case TOSA_OP_LOGICAL_OR: case TOSA_OP_LOGICAL_XOR: case TOSA_OP_MAXIMUM:
    case TOSA_OP_MINIMUM: case TOSA_OP_MUL: case TOSA_OP_POW: case TOSA_OP_SUB:
    case TOSA_OP_ABS: case TOSA_OP_BITWISE_NOT: case TOSA_OP_CEIL: case TOSA_OP_CLZ:
    case TOSA_OP_COS: case TOSA_OP_EXP: case TOSA_OP_FLOOR: case TOSA_OP_LOG:
    case TOSA_OP_LOGICAL_NOT: case TOSA_OP_NEGATE: case TOSA_OP_RECIPROCAL: case TOSA_OP_RSQRT:
    case TOSA_OP_SIN: case TOSA_OP_SELECT: case TOSA_OP_EQUAL: case TOSA_OP_GREATER:
    case TOSA_OP_GREATER_EQUAL: case TOSA_OP_CAST: case TOSA_OP_IDENTITY:
      return tosa_setup_elementwise;
    default: return NULL;
  }
}

ptec_status tosa_prepare_ops(tosa_graph *g) {
  for (uint32_t i = 0; i < g->num_ops; i++) {
    tosa_op *op = &g->ops[i];
    if (op->fused_into >= 0) continue; /* runs inside the operator it follows */
    tosa_setup_fn setup = setup_of(op->code);
    if (setup == NULL) {
      return tosa_op_fail(g, op, PTEC_STATUS_NOT_SUPPORTED, "not supported by ptec's TOSA "
                          "executor");
    }
    /* Every operand's dtype has a storage type here (tosa_read checked). */
    ptec_status s = setup(g, op);
    if (s != PTEC_STATUS_OK) return s;
  }
  return PTEC_STATUS_OK;
}
