"""Writes the seed corpora of the libFuzzer targets (tests/fuzz/README.md) into a folder,
one subfolder per target. The seeds are made, not committed: small models compiled here
(fp32, int8, the TOSA profiles), the programs the malformed-input tests build, the Ethos-U
blobs of the C tests. Only small regression inputs live in the repo
(tests/fuzz/regressions/<target>/).

    .venv/bin/python tests/fuzz/make_corpus.py build/fuzz-corpus
"""
from __future__ import annotations

import io
import re
import struct
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests" / "python"), str(ROOT / "python")]

import numpy as np  # noqa: E402
import torch  # noqa: E402

import ptec  # noqa: E402
from ptec.pte.file import (delegate_bytes, deserialize_program, segment_bytes,  # noqa: E402
                           serialize_program)

TARGETS = ("pte", "pte_edit", "inputs", "tosa", "ethosu_blob", "ethosu_sim", "npy", "bundle",
           "tokenizer")


class Conv(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.dw = torch.nn.Conv2d(4, 4, 3, groups=4)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        y = torch.nn.functional.max_pool2d(self.dw(y), 2)
        return torch.nn.functional.avg_pool2d(y, 1).mean(dim=(2, 3))


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(8, 6)
        self.b = torch.nn.Linear(6, 4)

    def forward(self, x):
        return torch.softmax(self.b(torch.sigmoid(self.a(x))), dim=-1)


class Shapes(torch.nn.Module):
    def forward(self, x):
        y = x.view(2, 12).permute(1, 0).reshape(4, 6)
        a, b = torch.split(y, [2, 4], dim=1)
        z = torch.cat([b, a, a], dim=1)[:, 1::2]
        return torch.nn.functional.pad(z, (1, 2)).unsqueeze(0).squeeze(0) * 2 - 1


class Masked(torch.nn.Module):
    """Data-dependent shapes (DYNAMIC_BOUND tensors): nonzero, x[mask] and consumers."""
    def forward(self, x):
        s = x[x > 0]
        return torch.nonzero(x < 0), s * 2 + 1, s.sum(), x[torch.nonzero(x > 1, as_tuple=True)]


class Tokens(torch.nn.Module):
    """Integer input (token ids): embedding's index checks meet fuzz_inputs' extremes."""

    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(16, 8)
        self.norm = torch.nn.LayerNorm(8)
        self.out = torch.nn.Linear(8, 4)

    def forward(self, ids):
        return torch.nn.functional.gelu(self.out(self.norm(self.emb(ids)))).mean(dim=1)


class Attention(torch.nn.Module):
    """Batched matmuls, a scaled softmax, layer norm, a residual."""

    def __init__(self):
        super().__init__()
        self.q, self.k, self.v = (torch.nn.Linear(8, 8) for _ in range(3))
        self.norm = torch.nn.LayerNorm(8)

    def forward(self, x):
        scores = self.q(x) @ self.k(x).transpose(-1, -2) / 8 ** 0.5
        return self.norm(x + torch.softmax(scores, dim=-1) @ self.v(x))


def _ids(shape):
    return torch.randint(0, 16, shape)


MODELS = {  # name: (model, input shape, input maker)
    "conv": (Conv, (1, 3, 8, 8), torch.randn),
    "mlp": (Mlp, (2, 8), torch.randn),
    "shapes": (Shapes, (2, 3, 4), torch.randn),
    "tokens": (Tokens, (2, 5), _ids),
    "attention": (Attention, (1, 4, 8), torch.randn),
    "masked": (Masked, (3, 5), torch.randn),
}


def _compile_all() -> dict[str, bytes]:
    """name -> .pte bytes: each model for the host in fp32 and int8, and for tosa-int."""
    out = {}
    for name, (cls, shape, make) in MODELS.items():
        torch.manual_seed(0)
        model, x = cls().eval(), make(shape)
        calibration = [(make(shape),) for _ in range(2)]
        variants = {"fp32": dict(), "int8": dict(quantize=ptec.Int8(calibration=calibration)),
                    "tosa_int": dict(target="tosa-int",
                                     quantize=ptec.Int8(calibration=calibration))}
        for variant, kw in variants.items():
            try:
                out[f"{name}_{variant}"] = bytes(ptec.compile(model, (x,), check_kernels=False,
                                                              **kw).buffer)
            except Exception as e:  # a model a target cannot take is no seed
                print(f"  skipped {name} {variant}: {type(e).__name__}: {e}")
    return out


def _bundles() -> dict[str, bytes]:
    """name -> a bundled program (ptec.bundle) of a model in fp32 and int8 with two cases,
    the expected outputs from eager (fuzz_bundle: ptec-run --verify's reading)."""
    out = {}
    for name in ("conv", "mlp"):
        cls, shape, make = MODELS[name]
        torch.manual_seed(1)
        model = cls().eval()
        xs = [make(shape) for _ in range(2)]
        with torch.no_grad():
            cases = [((x,), (model(x),)) for x in xs]
        for variant, kw in {"fp32": {}, "int8": dict(quantize=ptec.Int8(
                calibration=[(x,) for x in xs]))}.items():
            program = ptec.compile(model, (xs[0],), check_kernels=False, **kw)
            out[f"{name}_{variant}"] = ptec.bundle(program, cases)
    return out


def _ethosu_cases() -> dict[str, tuple[bytes, bytes]]:
    """The C tests' Ethos-U cases: name -> (blob, program), parsed from their header."""
    text = (ROOT / "tests" / "c" / "data" / "ethosu_programs.h").read_text()
    arrays = {m.group(1): bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})", m.group(2)))
              for m in re.finditer(r"static [^=]*const uint8_t (\w+)\[\d*\][^{]*\{([^}]*)\}", text)}
    names = {k[:-5] for k in arrays if k.endswith("_blob")}
    return {n: (arrays[n + "_blob"], arrays.get(n + "_program", b"")) for n in sorted(names)}


def _sim_feature_streams() -> dict[str, bytes]:
    """fuzz_ethosu_sim inputs of Vela streams for the simulator's less common features
    (U55 16-bit LUTs, U85 ARGMAX, indexed DMA, scalar operands, compare masks, chaining
    through an op, IFM2 accumulators, 48/64-bit accumulators), from test_ethosu_sim's graphs."""
    import test_ethosu_sim as t
    rng = np.random.default_rng(1)
    cases = {"lut16": (0, "ethos-u55-128", lambda: t.table16_graph(rng, "random")),
             "argmax": (5, "ethos-u85-256", lambda: t.argmax_graph(rng, t.I8)),
             "gather": (5, "ethos-u85-256", lambda: t.gather_scatter_graph(rng, "gather")),
             "scatter": (5, "ethos-u85-256", lambda: t.gather_scatter_graph(rng, "scatter")),
             "scalar_ifm": (5, "ethos-u85-256", lambda: t.scalar_first_graph(rng, "SUB")),
             "select": (5, "ethos-u85-256", lambda: t.bool_graph(rng, "SELECT")),
             "logical_not": (5, "ethos-u85-256", lambda: t.bool_graph(rng, "LOGICAL_NOT")),
             "conv3d": (5, "ethos-u85-256", lambda: t.conv3d_graph(rng)),
             "matmul16": (5, "ethos-u85-256", lambda: t.matmul16_graph(rng)),
             "int48": (5, "ethos-u85-256", lambda: t.int48_constant_graph(rng))}
    out = {}
    for name, (npu, accelerator, make) in cases.items():
        g, _ = make()
        o = t.vela(g.serialize(), accelerator)
        out[name] = bytes([npu]) + struct.pack("<I", len(o.cmd_data)) + o.cmd_data + o.weight_data
    return out


def _vela_blocks(blob: bytes) -> dict[str, bytes]:
    blocks, at = {}, 0
    while at + 32 <= len(blob):
        name = blob[at:at + 16].rstrip(b"\0").decode(errors="replace")
        (size,) = struct.unpack_from("<I", blob, at + 16)
        blocks[name] = blob[at + 32:at + 32 + size]
        at += 32 + (size + 15) // 16 * 16
    return blocks


def _every_field_written(data: bytes) -> bytes:
    """The program re-encoded with every scalar field written, defaults too (flatbuffers'
    ForceDefaults), so that fuzz_pte_edit can change a zero in place."""
    import flatbuffers
    program, segment_data = deserialize_program(data)
    segments = [segment_bytes(program, segment_data, i) for i in range(len(program.segments or []))]
    plain = flatbuffers.Builder

    class Forced(plain):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.ForceDefaults(True)

    flatbuffers.Builder = Forced  # ptec.pte.flatbuffer.encode makes its builder from here
    try:
        return serialize_program(program, segments)
    finally:
        flatbuffers.Builder = plain


def _npy(a: np.ndarray) -> bytes:
    f = io.BytesIO()
    np.save(f, a)
    return f.getvalue()


def _tokenizers() -> dict[str, bytes]:
    """Byte-level BPE files (ptec.llm.tokenizer) trained on a few topics of the Python
    documentation: GPT-2's settings with a special token, and add_prefix_space with an
    added token."""
    import pydoc_data.topics
    from tokenizers import ByteLevelBPETokenizer
    from ptec.llm.tokenizer import convert
    texts = [pydoc_data.topics.topics[k] for k in ("for", "if", "while")]
    out = {}
    for name, prefix, size in (("gpt2_300", False, 300), ("prefix_280", True, 280)):
        tok = ByteLevelBPETokenizer(add_prefix_space=prefix)
        tok.train_from_iterator(texts, vocab_size=size, special_tokens=["<|endoftext|>"],
                                show_progress=False)
        if prefix:
            tok.add_tokens(["<tool>"])
        out[name] = convert(tok._tokenizer.to_str())
    return out


def main(out_dir: str) -> None:
    out = Path(out_dir)
    for t in TARGETS:
        (out / t).mkdir(parents=True, exist_ok=True)
    write = lambda t, name, data: (out / t / name).write_bytes(data)  # noqa: E731

    warnings.filterwarnings("ignore")
    programs = _compile_all()
    from test_malformed import base_program, encode  # the malformed tests' valid program
    programs["malformed_base"] = encode(*base_program())
    from test_tosa_malformed import base_graph  # a valid TOSA delegate (CONV2D -> RESCALE)
    from ptec.tosa import delegate_program
    tosa_blobs = {"malformed_base": base_graph().serialize()}
    programs["tosa_malformed_base"] = delegate_program(tosa_blobs["malformed_base"], base_graph())
    for name, (blob, program) in _ethosu_cases().items():
        write("ethosu_blob", name, blob)
        if program:
            programs[f"ethosu_{name}"] = program
        blocks = _vela_blocks(blob)
        npu = {"u55_128": 0, "u65_256": 3, "u85_256": 5}.get(name.split("_", 1)[1], 0)
        cmd = blocks.get("cmd_data", b"")
        write("ethosu_sim", name, bytes([npu]) + struct.pack("<I", len(cmd)) + cmd +
              blocks.get("weight_data", b""))
    for name, data in _sim_feature_streams().items():
        write("ethosu_sim", f"sim_{name}", data)
    for name, data in programs.items():
        write("pte", name, data)
        if not name.startswith("ethosu_"):  # no NPU in the fuzz build: their delegates refuse
            write("pte_edit", name, _every_field_written(data))
            write("inputs", name, data)
        program, segment_data = deserialize_program(data)
        for plan in program.execution_plan:
            for k, d in enumerate(plan.delegates or []):
                if d.id == "TOSABackend":
                    tosa_blobs[f"{name}_{k}"] = delegate_bytes(program, segment_data, d)
    for name, data in tosa_blobs.items():
        write("tosa", name, data)
    for name, a in {"f32_nchw": np.ones((1, 3, 4, 4), np.float32),
                    "i8_vec": np.arange(-4, 4, dtype=np.int8), "i64_scalar": np.array(7),
                    "bool_2d": np.eye(3, dtype=bool), "f16_3d": np.zeros((2, 1, 2), np.float16),
                    "u8_empty": np.zeros((0, 3), np.uint8)}.items():
        write("npy", name, _npy(a))
    for name, data in _bundles().items():
        write("bundle", name, data)
    for name, data in _tokenizers().items():
        write("tokenizer", name, data)
    for t in TARGETS:
        files = list((out / t).iterdir())
        print(f"{t}: {len(files)} seeds, {sum(f.stat().st_size for f in files):,} bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "build" / "fuzz-corpus"))
