"""Malformed EthosUBackend blobs inside a .pte: each gives its named status and a
message naming the block and field, never a crash.

A valid blob (a Vela-compiled int8 RESCALE for the Ethos-U55-128) is broken one
way per case, from its blocks (python/ptec/ethosu/blob.py's pack_blocks):
truncation, order, names, sizes, padding, the external flag, counts, each
VelaIO field, the command stream's fourcc and size, trailing bytes. Then
seeded random byte flips and truncations (PTEC_SEED replays them). Each runs
through `ptec-run` built with AddressSanitizer and UndefinedBehaviorSanitizer
(PTEC_RUN_ASAN, `make build-asan`). ptec-run links ptec_ethosu_nodriver, so a
blob that verifies stops at execute with PTEC_STATUS_DEVICE_ERROR; what the
backend hands a driver is tested in C with a driver double (tests/c/test_ethosu.c,
test_ethosu_backend.py).
"""
from __future__ import annotations

import os
import random
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ethosu_testing import add_graph, ethosu_program, rescale_graph, vela_blob
from ptec.ethosu.blob import HEADER, pack_blocks, parse_blob

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(os.environ.get("PTEC_RUN_ASAN", REPO / "build" / "asan" / "ptec-run"))
SHAPE = (1, 4, 4, 8)


@pytest.fixture(scope="module", autouse=True)
def _runner_exists():
    if not RUNNER.is_file():
        pytest.fail(f"{RUNNER} is missing: build it with `make build-asan`")


@pytest.fixture(scope="module")
def good():
    return vela_blob(rescale_graph(SHAPE), "ethos-u55-128")[1]


def run(blob: bytes, tmp_path: Path, graph=None) -> subprocess.CompletedProcess:
    graph = graph or rescale_graph(SHAPE)
    model = tmp_path / "case.pte"
    model.write_bytes(ethosu_program(blob, graph))
    args = [str(RUNNER), str(model)]
    for k, name in enumerate(graph.inputs):
        np.save(tmp_path / f"x{k}.npy", np.ones(graph.tensors[name].shape, np.int8))
        args += ["--input", str(tmp_path / f"x{k}.npy")]
    # ptec-run's own buffers are not freed on its error paths (the runtime allocates nothing).
    env = dict(os.environ, UBSAN_OPTIONS="print_stacktrace=1")
    return subprocess.run(args + ["--output-dir", str(tmp_path)], capture_output=True, text=True,
                          errors="replace", timeout=60, env=env)


def assert_status(result: subprocess.CompletedProcess, status: str, message: str = "") -> None:
    assert "Sanitizer" not in result.stderr and "runtime error" not in result.stderr, result.stderr
    assert result.returncode == 2, f"exit {result.returncode}: {result.stderr}"
    assert status in result.stderr and message in result.stderr, result.stderr


# ------------------------------------------------------------------- blocks

def blocks_of(blob: bytes) -> list[tuple[str, bytes]]:
    b = parse_blob(blob)
    return [(name, blob[at + HEADER.size: at + HEADER.size + size]) for name, at, size in b.blocks]


def replace(blob: bytes, name: str, payload: bytes) -> bytes:
    return pack_blocks([(n, payload if n == name else p) for n, p in blocks_of(blob)])


def header_at(blob: bytes, name: str) -> int:
    return next(at for n, at, _ in parse_blob(blob).blocks if n == name)


def patch(blob: bytes, offset: int, fmt: str, value) -> bytes:
    out = bytearray(blob)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def io_field(blob: bytes, block: str, field: int, value: int, k: int = 0) -> bytes:
    """Entry k's field (0-5 shape, 6 elem_size, 7 offset, 8 region) of inputs or outputs."""
    return patch(blob, header_at(blob, block) + HEADER.size + 4 + 36 * k + 4 * field, "<i", value)


def reorder(blob: bytes, i: int, j: int) -> bytes:
    blocks = blocks_of(blob)
    blocks[i], blocks[j] = blocks[j], blocks[i]
    return pack_blocks(blocks)


def rename(blob: bytes, old: str, new: str) -> bytes:
    return pack_blocks([(new if n == old else n, p) for n, p in blocks_of(blob)])


def drop(blob: bytes, name: str) -> bytes:
    return pack_blocks([(n, p) for n, p in blocks_of(blob) if n != name])


def cmd_of(blob: bytes) -> bytes:
    return parse_blob(blob).cmd_data


T, M, E, S, N, P = ("PTEC_STATUS_TRUNCATED", "PTEC_STATUS_MALFORMED", "PTEC_STATUS_BAD_ENUM",
                    "PTEC_STATUS_BAD_SIZE", "PTEC_STATUS_NOT_SUPPORTED",
                    "PTEC_STATUS_BAD_MEMORY_PLAN")

#: name -> (how to break the good blob, status, words of the message)
CASES = {
    "empty": (lambda b: b"", T, "block 0 ('vela_bin_stream'): its header"),
    "truncated_header": (lambda b: b[:-16], T, "block 6 ('vela_end_stream'): its header"),
    "truncated_payload": (lambda b: b[:header_at(b, "weight_data") + 32], T,
                          "block 'weight_data': size"),
    "wrong_order": (lambda b: reorder(b, 1, 2), M, "is 'weight_data', expected 'cmd_data'"),
    "missing_block": (lambda b: drop(b, "scratch_size"), M, "is 'inputs', expected 'scratch_size'"),
    "unknown_name": (lambda b: rename(b, "weight_data", "weights"), E,
                     "unknown name 'weights' (expected 'weight_data')"),
    "name_not_nul_padded": (lambda b: patch(b, header_at(b, "inputs") + 7, "B", 0x41), E,
                            "unknown name 'inputs\\0A' (expected 'inputs')"),
    "size_past_end": (lambda b: patch(b, header_at(b, "cmd_data") + 16, "<I", 0xFFFFFFF0), T,
                      "block 'cmd_data': size 4294967280 runs past the end"),
    "padding_past_end": (lambda b: b[:header_at(b, "weight_data") + 33], T,
                         "block 'weight_data': its padding to 16 bytes (size 1)"),
    "bad_padding": (lambda b: patch(b, header_at(b, "weight_data") + 32 + 1, "B", 7), M,
                    "block 'weight_data': padding byte"),
    "external": (lambda b: patch(b, header_at(b, "weight_data") + 20, "B", 1), N,
                 "block 'weight_data': external = 1: external (named-data) blocks are not "
                 "supported"),
    "reserved": (lambda b: patch(b, header_at(b, "outputs") + 31, "B", 9), M,
                 "block 'outputs': reserved header byte 31 is 9"),
    "start_not_empty": (lambda b: replace(b, "vela_bin_stream", b"\0" * 16), S,
                        "block 'vela_bin_stream': size 16, must be 0"),
    "end_not_empty": (lambda b: replace(b, "vela_end_stream", b"\0" * 4), S,
                      "block 'vela_end_stream': size 4, must be 0"),
    "trailing_block": (lambda b: b + b"\0" * 32, M, "32 bytes follow block 'vela_end_stream'"),
    "trailing_byte": (lambda b: b + b"\0", M, "1 bytes follow block 'vela_end_stream'"),
    "scratch_size_8_bytes": (lambda b: replace(b, "scratch_size", b"\0" * 8), S,
                             "block 'scratch_size': size 8, must be 4"),
    "count_negative": (lambda b: patch(b, header_at(b, "inputs") + 32, "<i", -1), S,
                       "block 'inputs': count -1"),
    "count_too_big": (lambda b: patch(b, header_at(b, "outputs") + 32, "<i", 2), S,
                      "block 'outputs': count 2 does not match its size 40"),
    "count_missing": (lambda b: replace(b, "inputs", b"\0\0"), S,
                      "block 'inputs': size 2 is too small for its count"),
    "negative_dim": (lambda b: io_field(b, "inputs", 3, -4), S, "block 'inputs' tensor 0: "
                     "shape[3] is -4"),
    "elem_size_3": (lambda b: io_field(b, "outputs", 6, 3), E,
                    "block 'outputs' tensor 0: elem_size 3 is not 1, 2 or 4"),
    "region_2": (lambda b: io_field(b, "inputs", 8, 2), N,
                 "block 'inputs' tensor 0: region 2 is not supported"),
    "region_0": (lambda b: io_field(b, "outputs", 8, 0), N,
                 "block 'outputs' tensor 0: region 0 is not supported"),
    "offset_past_scratch": (lambda b: io_field(b, "outputs", 7, 64), P,
                            "block 'outputs' tensor 0: offset 64 + 128 bytes runs past the "
                            "scratch (scratch_size 128)"),
    "offset_negative": (lambda b: io_field(b, "inputs", 7, -16), S,
                        "block 'inputs' tensor 0: offset -16 is negative"),
    "offset_plus_size_overflow": (lambda b: io_field(b, "inputs", 7, 0x7FFFFFF0), P,
                                  "offset 2147483632 + 128 bytes runs past the scratch"),
    "size_overflow": (lambda b: io_field(io_field(b, "inputs", 0, 0x10000), "inputs", 1,
                                         0x10000), S, "overflows 32 bits"),
    "scratch_too_small": (lambda b: replace(b, "scratch_size", struct.pack("<I", 100)), P,
                          "block 'inputs' tensor 0: offset 0 + 128 bytes runs past the scratch "
                          "(scratch_size 100)"),
    "missing_cop1": (lambda b: replace(b, "cmd_data", b"COPX" + cmd_of(b)[4:]), M,
                     "block 'cmd_data' does not start with 'COP1'"),
    "empty_cmd": (lambda b: replace(b, "cmd_data", b""), M,
                  "block 'cmd_data' does not start with 'COP1' (size 0)"),
    "cop2": (lambda b: replace(b, "cmd_data", b"COP2" + cmd_of(b)[4:]), N,
             "block 'cmd_data' starts with COP2: Arm's Ethos-U driver takes COP1"),
    "odd_cmd_size": (lambda b: replace(b, "cmd_data", cmd_of(b) + b"\0\0"), S,
                     "block 'cmd_data': size"),
}


def test_good_blob_verifies_and_needs_a_driver(good, tmp_path):
    """ptec-run has no NPU driver: the program plans and inits, and execute says so."""
    assert_status(run(good, tmp_path), "PTEC_STATUS_DEVICE_ERROR",
                  "EthosUBackend: no Ethos-U driver available")


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_blob(good, case, tmp_path):
    make, status, message = CASES[case]
    broken = make(good)
    assert broken != good
    result = run(broken, tmp_path)
    assert_status(result, status, message)
    assert "EthosUBackend blob: " in result.stderr


def test_program_tensors_must_match_the_blob(good, tmp_path):
    """Valid blobs whose I/O differ from the program's tensors: checked before the driver."""
    assert_status(run(good, tmp_path, rescale_graph((1, 4, 4, 4))),
                  "PTEC_STATUS_SHAPE_MISMATCH", "input 0: the method's tensor has 64 elements")
    wide = replace(io_field(good, "inputs", 6, 2), "scratch_size", struct.pack("<I", 256))
    assert_status(run(wide, tmp_path), "PTEC_STATUS_TYPE_MISMATCH",
                  "input 0: the method's tensor is int8, the command stream's has 2-byte elements")
    assert_status(run(good, tmp_path, add_graph(SHAPE)), "PTEC_STATUS_INVALID_ARGUMENT",
                  "called with 3 arguments, the command stream has 1 inputs and 1 outputs")


def _check_mutant(blob: bytes, tmp_path: Path, what: str) -> None:
    result = run(blob, tmp_path)
    assert "Sanitizer" not in result.stderr and "runtime error" not in result.stderr, \
        f"{what}: {result.stderr}"
    assert result.returncode == 2 and "PTEC_STATUS_" in result.stderr, \
        f"{what}: exit {result.returncode}: {result.stderr}"


def test_random_byte_flips(good, seed, tmp_path):
    rng = random.Random(seed)
    for i in range(150):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        _check_mutant(bytes(data), tmp_path, f"mutant {i} (PTEC_SEED={seed})")


def test_random_truncations_and_extensions(good, seed, tmp_path):
    rng = random.Random(seed)
    for i in range(80):
        n = rng.randrange(len(good) + 64)
        blob = good[:n] if n <= len(good) else good + bytes(rng.randrange(256)
                                                            for _ in range(n - len(good)))
        _check_mutant(blob, tmp_path, f"length {n} (PTEC_SEED={seed})")
