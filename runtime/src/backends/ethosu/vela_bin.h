/*
 * The EthosUBackend delegate blob (ExecuTorch's `vela_bin_stream`): a
 * verifying, zero-copy reader.
 *
 * The blob is a sequence of blocks, each a 32-byte header then its payload
 * padded with zeros to a multiple of 16:
 *
 *   char name[16] (NUL-padded), uint32 size (unpadded), uint8 external,
 *   uint8 reserved[11]
 *
 * in this fixed order: vela_bin_stream (empty), cmd_data (Vela's "COP1"
 * driver payload), weight_data, scratch_size (uint32), inputs, outputs
 * (int32 count, then per tensor int32 shape[6], elem_size, offset, region),
 * vela_end_stream (empty, ending exactly at the end of the blob). All
 * little-endian. The writer is python/ptec/ethosu/blob.py (and ExecuTorch's
 * arm_vela.py); keep the two in sync.
 *
 * vela_bin_read checks everything the backend and the NPU driver rely on,
 * so that after it succeeds every pointer and every tensor region is known
 * to lie inside the blob or inside a scratch of scratch_size bytes.
 */
#ifndef PTEC_BACKENDS_ETHOSU_VELA_BIN_H
#define PTEC_BACKENDS_ETHOSU_VELA_BIN_H

#include <stddef.h>
#include <stdint.h>

#include "ptec/ptec.h"

/* Blocks, command stream and base addresses: the NPU needs 16-byte alignment. */
#define VELA_BIN_ALIGNMENT 16
#define VELA_BIN_HEADER_SIZE 32
#define VELA_IO_RANK 6
#define VELA_IO_ENTRY_SIZE 36 /* 9 x int32 */
/* The only region ptec accepts for inputs and outputs: the scratch. */
#define VELA_REGION_SCRATCH 1

/* One input or output of the command stream, decoded from its entry. */
typedef struct vela_io {
  int32_t shape[VELA_IO_RANK];
  int32_t elem_size;   /* 1, 2 or 4 */
  int32_t offset;      /* bytes into the scratch */
  int32_t region;      /* always VELA_REGION_SCRATCH after vela_bin_read */
  uint32_t numel;      /* product of shape (fits: numel * elem_size <= scratch_size) */
  uint32_t nbytes;     /* numel * elem_size */
} vela_io;

/* Pointers into the blob; nothing is copied. */
typedef struct vela_bin {
  const uint8_t *cmd_data;     /* 16-byte aligned, starts "COP1" */
  uint32_t cmd_size;           /* a multiple of 4, at most INT32_MAX */
  const uint8_t *weight_data;  /* 16-byte aligned; may sit in flash */
  uint32_t weight_size;
  uint32_t scratch_size;
  const uint8_t *inputs;       /* num_inputs entries of VELA_IO_ENTRY_SIZE */
  uint32_t num_inputs;
  const uint8_t *outputs;
  uint32_t num_outputs;
} vela_bin;

/*
 * Verifies `data` (which must be 16-byte aligned) and fills `bin`. A
 * malformed blob gives a status and a message in `msg` naming the block,
 * the field and the value at fault.
 */
ptec_status vela_bin_read(const uint8_t *data, size_t size, vela_bin *bin, char *msg,
                          size_t cap);

/* Entry k of a verified inputs or outputs block (k below its count). */
void vela_io_get(const uint8_t *entries, uint32_t k, vela_io *io);

#endif
