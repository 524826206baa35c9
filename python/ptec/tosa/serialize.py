"""TOSA flatbuffers: write and read with the generic codec of `ptec.pte.flatbuffer`.

`encode_graph` writes the standard schema with identifier "TOSA", so the
result reads unchanged with the TOSA serialization library, `flatc` and Vela;
`decode_graph` reads any TOSA 1.0 flatbuffer back into the schema dataclasses.
Tensor data is encoded as the serialization library does: little-endian,
BOOL/INT8 one byte, INT4 two per byte (low nibble first), INT48 six bytes,
SHAPE eight (int64).
"""
from __future__ import annotations

import numpy as np

from ptec.pte.flatbuffer import FlatBufferError, decode, encode

from . import schema as s

#: numpy dtype each TOSA dtype's data is written as (INT4 and INT48 are packed specially).
NUMPY_DTYPE: dict[s.DType, np.dtype] = {
    s.DType.BOOL: np.dtype(np.bool_), s.DType.INT4: np.dtype(np.int8),
    s.DType.INT8: np.dtype(np.int8), s.DType.INT16: np.dtype("<i2"),
    s.DType.INT32: np.dtype("<i4"), s.DType.INT48: np.dtype("<i8"),
    s.DType.FP32: np.dtype("<f4"), s.DType.FP16: np.dtype("<f2"),
    s.DType.SHAPE: np.dtype("<i8"),
}

#: The TOSA dtype of a numpy dtype (the inverse of NUMPY_DTYPE, except INT4 and INT48).
TOSA_DTYPE: dict[np.dtype, s.DType] = {
    np.dtype(np.bool_): s.DType.BOOL, np.dtype(np.int8): s.DType.INT8,
    np.dtype(np.int16): s.DType.INT16, np.dtype(np.int32): s.DType.INT32,
    np.dtype(np.float32): s.DType.FP32, np.dtype(np.float16): s.DType.FP16,
}


def _bf16_bits(values: np.ndarray) -> np.ndarray:
    """float values rounded to bfloat16 (nearest even, as torch rounds), as uint16 bits;
    numpy has no bfloat16, so BF16 data is held as float32 until it is packed."""
    import torch
    f = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))
    return f.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)


def pack_data(values: np.ndarray, dtype: s.DType) -> bytes:
    """Tensor contents as TosaTensor.data bytes."""
    dtype = s.DType(dtype)
    flat = np.asarray(values).reshape(-1)
    if dtype == s.DType.BF16:
        return _bf16_bits(flat).astype("<u2").tobytes()
    if dtype == s.DType.INT4:
        v = flat.astype(np.int8).astype(np.uint8) & 0x0F
        if len(v) % 2:
            v = np.append(v, np.uint8(0))
        return (v[0::2] | (v[1::2] << 4)).astype(np.uint8).tobytes()
    if dtype == s.DType.INT48:
        raw = flat.astype("<i8").view(np.uint8).reshape(-1, 8)[:, :6]
        return raw.tobytes()
    if dtype not in NUMPY_DTYPE:
        raise ValueError(f"cannot pack data of TOSA dtype {dtype.name}")
    return flat.astype(NUMPY_DTYPE[dtype]).tobytes()


def unpack_data(data: bytes, dtype: s.DType, shape: list[int]) -> np.ndarray:
    """TosaTensor.data bytes back to an array of `shape`."""
    dtype = s.DType(dtype)
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    raw = np.frombuffer(data, np.uint8)
    if dtype == s.DType.INT4:
        lo = (raw & 0x0F).astype(np.int8)
        hi = (raw >> 4).astype(np.int8)
        v = np.stack([lo, hi], axis=1).reshape(-1)[:count]
        return np.where(v > 7, v - 16, v).astype(np.int8).reshape(shape)
    if dtype == s.DType.INT48:
        six = raw[:count * 6].reshape(-1, 6)
        ext = np.where(six[:, 5:6] >= 0x80, 0xFF, 0).astype(np.uint8)
        return np.concatenate([six, ext, ext], axis=1).reshape(-1).view("<i8").reshape(shape)
    if dtype == s.DType.BF16:
        bits = np.frombuffer(data[:count * 2], "<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape)
    dt = NUMPY_DTYPE[dtype]
    return np.frombuffer(data[:count * dt.itemsize], dt).reshape(shape)


def encode_graph(graph: s.TosaGraph) -> bytes:
    """Serialises a TosaGraph table to flatbuffer bytes with identifier "TOSA"."""
    return encode(graph, file_identifier=s.FILE_IDENTIFIER)


def decode_graph(data: bytes) -> s.TosaGraph:
    """Reads a TOSA flatbuffer; FlatBufferError if it is not one."""
    graph = decode(s.TosaGraph, bytes(data), file_identifier=s.FILE_IDENTIFIER)
    if graph.version is None:
        raise FlatBufferError("TosaGraph lacks its required version")
    return graph
