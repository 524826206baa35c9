"""GPT-2-style byte-level BPE tokenizers for ptec-generate (docs/llm.md).

The C tokenizer (runtime/src/tokenizer/) reads a compact binary file that this
module writes from a Hugging Face `tokenizer.json`: parsing JSON in C would be
more code to trust than the tokenizer itself, so the checks (a byte-level BPE
with GPT-2's pre-tokenizer, contiguous ids, every merge's result in the
vocabulary) are made here, once, and the C reader only checks the binary
file's structure.

    .venv/bin/python -m ptec.llm.tokenizer tokenizer.json tok.ptok

File layout (little-endian u32 unless said):

    header   "PTOK", version 1, flags (bit 0: add_prefix_space), n_tokens,
             n_merges, n_added, blob_bytes, 0                       (32 bytes)
    offsets  u32[n_tokens + 1]: token i is blob[offsets[i]:offsets[i + 1]]
    merges   n_merges x (left, right, rank, result), sorted by (left, right)
    added    u32[n_added]: added tokens (matched literally in text before
             pre-tokenization), longest first
    flags    u8[n_tokens]: bit 0 special (skipped by decode), bit 1 added
    blob     the tokens' raw bytes (the byte-level characters mapped back)
"""
from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

MAGIC = b"PTOK"
VERSION = 1
FLAG_ADD_PREFIX_SPACE = 1
TOKEN_SPECIAL, TOKEN_ADDED = 1, 2


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table (the ByteLevel alphabet)."""
    keep = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
            + list(range(ord("®"), ord("ÿ") + 1)))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def _refuse(what: str):
    raise ValueError(f"tokenizer.json: {what} (ptec's C tokenizer is GPT-2's byte-level BPE)")


def _check_byte_level(section, name: str, required: bool):
    if section is None and not required:
        return
    if section is None or section.get("type") != "ByteLevel":
        _refuse(f"{name} must be ByteLevel, not {section and section.get('type')!r}")
    if name == "pre_tokenizer" and not section.get("use_regex", True):
        _refuse("pre_tokenizer.use_regex must be true (GPT-2's split)")


def convert(tokenizer_json: dict | str | Path) -> bytes:
    """The binary form of a Hugging Face tokenizer.json (a dict, its text or a path)."""
    if isinstance(tokenizer_json, Path) or (isinstance(tokenizer_json, str)
                                            and not tokenizer_json.lstrip().startswith("{")):
        tokenizer_json = Path(tokenizer_json).read_text(encoding="utf-8")
    spec = json.loads(tokenizer_json) if isinstance(tokenizer_json, str) else tokenizer_json
    model = spec.get("model") or {}
    if model.get("type") != "BPE":
        _refuse(f"model.type must be BPE, not {model.get('type')!r}")
    for key in ("dropout", "continuing_subword_prefix", "end_of_word_suffix"):
        if model.get(key):
            _refuse(f"model.{key} is not supported")
    if model.get("ignore_merges") or model.get("byte_fallback"):
        _refuse("model.ignore_merges and model.byte_fallback are not supported")
    if spec.get("normalizer") is not None:
        _refuse("a normalizer is not supported")
    _check_byte_level(spec.get("pre_tokenizer"), "pre_tokenizer", True)
    _check_byte_level(spec.get("post_processor"), "post_processor", False)
    _check_byte_level(spec.get("decoder"), "decoder", False)
    to_byte = {c: b for b, c in bytes_to_unicode().items()}

    tokens: dict[int, bytes] = {}
    flags: dict[int, int] = {}
    for text, i in model["vocab"].items():
        if any(c not in to_byte for c in text):
            _refuse(f"vocabulary token {text!r} has characters outside the byte-level alphabet")
        tokens[i] = bytes(to_byte[c] for c in text)
        flags[i] = 0
    added = []
    for tok in spec.get("added_tokens") or []:
        if tok.get("single_word") or tok.get("lstrip") or tok.get("rstrip"):
            _refuse(f"added token {tok['content']!r}: single_word/lstrip/rstrip not supported")
        if not tok["content"]:
            _refuse("an added token is empty")
        tokens[tok["id"]] = tok["content"].encode("utf-8")
        flags[tok["id"]] = TOKEN_ADDED | (TOKEN_SPECIAL if tok.get("special") else 0)
        added.append(tok["id"])
    n = len(tokens)
    if sorted(tokens) != list(range(n)):
        _refuse("token ids are not contiguous from 0")
    by_text = {text: i for text, i in model["vocab"].items()}
    merges = []
    for rank, merge in enumerate(model.get("merges") or []):
        left, right = merge.split(" ") if isinstance(merge, str) else merge
        if left not in by_text or right not in by_text or left + right not in by_text:
            _refuse(f"merge {left!r} {right!r}: a token is not in the vocabulary")
        merges.append((by_text[left], by_text[right], rank, by_text[left + right]))
    merges.sort()
    if any(a[:2] == b[:2] for a, b in zip(merges, merges[1:])):
        _refuse("a pair is merged twice")
    added.sort(key=lambda i: (-len(tokens[i]), i))  # longest first: leftmost-longest matching
    flag_bits = FLAG_ADD_PREFIX_SPACE if spec["pre_tokenizer"].get("add_prefix_space") else 0
    blob = b"".join(tokens[i] for i in range(n))
    offsets, at = [0], 0
    for i in range(n):
        at += len(tokens[i])
        offsets.append(at)
    out = [MAGIC, struct.pack("<7I", VERSION, flag_bits, n, len(merges), len(added), len(blob), 0),
           struct.pack(f"<{n + 1}I", *offsets),
           b"".join(struct.pack("<4I", *m) for m in merges),
           struct.pack(f"<{len(added)}I", *added),
           bytes(flags[i] for i in range(n)), blob]
    return b"".join(out)


def write(tokenizer_json, out_path) -> bytes:
    """Writes convert(tokenizer_json) to out_path; returns the bytes."""
    data = convert(tokenizer_json)
    Path(out_path).write_bytes(data)
    return data


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m ptec.llm.tokenizer tokenizer.json out.ptok", file=sys.stderr)
        return 1
    data = write(args[0], args[1])
    print(f"{args[1]}: {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
