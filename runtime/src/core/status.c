/* Status and dtype names: the vocabulary every message is written in. */
#include "ptec/ptec.h"

const char *ptec_status_to_string(ptec_status status) {
  static const char *const names[PTEC_STATUS_COUNT_] = {
      [PTEC_STATUS_OK] = "PTEC_STATUS_OK",
      [PTEC_STATUS_INVALID_ARGUMENT] = "PTEC_STATUS_INVALID_ARGUMENT",
      [PTEC_STATUS_INVALID_STATE] = "PTEC_STATUS_INVALID_STATE",
      [PTEC_STATUS_BAD_IDENTIFIER] = "PTEC_STATUS_BAD_IDENTIFIER",
      [PTEC_STATUS_BAD_HEADER] = "PTEC_STATUS_BAD_HEADER",
      [PTEC_STATUS_TRUNCATED] = "PTEC_STATUS_TRUNCATED",
      [PTEC_STATUS_MALFORMED] = "PTEC_STATUS_MALFORMED",
      [PTEC_STATUS_INDEX_OUT_OF_RANGE] = "PTEC_STATUS_INDEX_OUT_OF_RANGE",
      [PTEC_STATUS_BAD_ENUM] = "PTEC_STATUS_BAD_ENUM",
      [PTEC_STATUS_BAD_SIZE] = "PTEC_STATUS_BAD_SIZE",
      [PTEC_STATUS_BAD_MEMORY_PLAN] = "PTEC_STATUS_BAD_MEMORY_PLAN",
      [PTEC_STATUS_TYPE_MISMATCH] = "PTEC_STATUS_TYPE_MISMATCH",
      [PTEC_STATUS_SHAPE_MISMATCH] = "PTEC_STATUS_SHAPE_MISMATCH",
      [PTEC_STATUS_OPERATOR_MISSING] = "PTEC_STATUS_OPERATOR_MISSING",
      [PTEC_STATUS_BACKEND_MISSING] = "PTEC_STATUS_BACKEND_MISSING",
      [PTEC_STATUS_NOT_SUPPORTED] = "PTEC_STATUS_NOT_SUPPORTED",
      [PTEC_STATUS_OUT_OF_MEMORY] = "PTEC_STATUS_OUT_OF_MEMORY",
      [PTEC_STATUS_OUT_OF_RANGE] = "PTEC_STATUS_OUT_OF_RANGE",
      [PTEC_STATUS_INTERNAL] = "PTEC_STATUS_INTERNAL",
      [PTEC_STATUS_DEVICE_ERROR] = "PTEC_STATUS_DEVICE_ERROR",
  };
  if ((unsigned)status >= PTEC_STATUS_COUNT_ || names[status] == NULL) {
    return "PTEC_STATUS_UNKNOWN";
  }
  return names[status];
}

size_t ptec_dtype_size(int dtype) {
  switch (dtype) {
    case PTEC_DTYPE_UINT8:
    case PTEC_DTYPE_INT8:
    case PTEC_DTYPE_BOOL:
      return 1;
    case PTEC_DTYPE_INT16:
    case PTEC_DTYPE_FLOAT16:
    case PTEC_DTYPE_BFLOAT16:
      return 2;
    case PTEC_DTYPE_INT32:
    case PTEC_DTYPE_FLOAT32:
    case PTEC_DTYPE_COMPLEX32:
      return 4;
    case PTEC_DTYPE_INT64:
    case PTEC_DTYPE_FLOAT64:
    case PTEC_DTYPE_COMPLEX64:
      return 8;
    case PTEC_DTYPE_COMPLEX128:
      return 16;
    default:
      return 0;
  }
}

const char *ptec_dtype_name(int dtype) {
  switch (dtype) {
    case PTEC_DTYPE_UINT8: return "uint8";
    case PTEC_DTYPE_INT8: return "int8";
    case PTEC_DTYPE_INT16: return "int16";
    case PTEC_DTYPE_INT32: return "int32";
    case PTEC_DTYPE_INT64: return "int64";
    case PTEC_DTYPE_FLOAT16: return "float16";
    case PTEC_DTYPE_BFLOAT16: return "bfloat16";
    case PTEC_DTYPE_FLOAT32: return "float32";
    case PTEC_DTYPE_FLOAT64: return "float64";
    case PTEC_DTYPE_COMPLEX32: return "complex32";
    case PTEC_DTYPE_COMPLEX64: return "complex64";
    case PTEC_DTYPE_COMPLEX128: return "complex128";
    case PTEC_DTYPE_BOOL: return "bool";
    default: return "unknown";
  }
}
