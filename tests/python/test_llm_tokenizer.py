"""The C byte-level BPE tokenizer (runtime/src/tokenizer/, through ptec-generate
--encode-file / --decode-file) against Hugging Face `tokenizers` 0.23.3 on the
same vocabulary: the Python documentation (pydoc_data.topics) plus adversarial
strings (Unicode letters and numbers of many scripts, emoji with joiners, every
kind of white-space run, contractions, digits, added tokens inside words) and
random strings from a seed; encode ids identical, decode identical (and the
text back byte for byte); malformed tokenizer files refused with a named status,
also under AddressSanitizer."""
import os
import random
import re
import struct
import subprocess
from pathlib import Path

import pytest
from tokenizers import ByteLevelBPETokenizer, Tokenizer

from ptec.llm.tokenizer import convert
from ptec.llm.tokenizer_unicode import tokenizers_class

ROOT = Path(__file__).resolve().parents[2]
BUILDS = ["PTEC_RUN", "PTEC_RUN_ASAN"]

ADVERSARIAL = [
    "", " ", "  ", "   x", "\n", "\n\n\n", "a  b", "a \n b", "hello   world  ", "\t\tx", " \t x",
    "trailing   ", "x\r\ny\r\n", "\x0b\x0c\x85 vt ff nel", "\u00a0nbsp\u2003em\u2028ls\u2029ps\u3000",
    "don't I'll we've they're she's I'm he'd", "DON'T 'S 'Re", "''s ' s 's's", "it's'", "'",
    "x'll'd're've'm't", "123 4567 89a a1 1a", "3.14159 1e-9 0x1F 1_000_000",
    "\u0661\u0662\u0663 \u00bd \u00b2 \u216b \u2460", "\U0001F44D\U0001F3FD family \U0001F468\u200d"
    "\U0001F469\u200d\U0001F467 flag \U0001F1EB\U0001F1F7 \u2764\ufe0f",
    "\u6f22\u5b57\u304b\u306a\u30ab\u30ca \ud55c\uad6d\uc5b4", "\u00dcn\u00efc\u00f6d\u00e9 fa\u00e7ade na\u00efve",
    "e\u0301 a\u0308 combining", "a\u200bb zero\u200cwidth", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 "
    "\u05e2\u05d1\u05e8\u05d9\u05ea", "\u0928\u092e\u0938\u094d\u0924\u0947", "\U00013460\U000143fa egyptian",
    "<|endoftext|>", "x<|endoftext|>y", "<|endoftext|><|endoftext|>", " <|endoftext|> a",
    "<|endoftext", "<tool>call</tool><tool>", "foo.bar(baz)=42; x += [1, 2]  # comment",
    "    def f(x):\n        return x  \n\n", " " * 100 + "word", "\n" * 40 + " x", "a" * 300,
    "\U0010fffd \U000e0001 \ufeff bom", "MiXeD CaSe WORDS", "tab\tseparated\tvalues\t",
]

POOL = (list("abcXYZ019 .,;'!?-_()\t\n\r") + ["'s", "'ll", "  ", "\u00a0", "\u2003", "\u3000",
        "\u00e9", "\u00df", "\u03a9", "\u0416", "\u6f22", "\u304b", "\ud55c", "\u0663", "\u00bd",
        "\u216b", "\U0001F600", "\U0001F44D\U0001F3FD", "\u200d", "\u0301", "\u2028", "\x85",
        "<|endoftext|>", "<tool>", "the", " for", "\U00013460"])


def _strings(seed, n=300):
    rng = random.Random(seed)
    return ["".join(rng.choice(POOL) for _ in range(rng.randrange(0, 40))) for _ in range(n)]


def _corpus(seed):
    import pydoc_data.topics
    return list(pydoc_data.topics.topics.values()) + ADVERSARIAL + _strings(seed)


@pytest.fixture(scope="module")
def tokenizers_dir(tmp_path_factory):
    """Two vocabularies trained on the documentation: GPT-2's settings with a
    special token; and add_prefix_space with a special and a non-special added token."""
    import pydoc_data.topics
    texts = list(pydoc_data.topics.topics.values())
    out = tmp_path_factory.mktemp("tokenizers")
    for name, prefix, size in (("plain", False, 1024), ("prefix", True, 700)):
        tok = ByteLevelBPETokenizer(add_prefix_space=prefix)
        tok.train_from_iterator(texts, vocab_size=size, min_frequency=2,
                                special_tokens=["<|endoftext|>"], show_progress=False)
        if prefix:
            tok.add_tokens(["<tool>"])
        tok.save(str(out / f"{name}.json"))
        (out / f"{name}.ptok").write_bytes(convert(out / f"{name}.json"))
    return out


def _binary(build):
    runner = os.environ.get(build)
    assert runner, f"{build} must name a ptec-run build (its ptec-generate is next to it)"
    return Path(runner).parent / "ptec-generate"


def _c_encode(binary, ptok, texts, tmp_path):
    records = tmp_path / "records.bin"
    records.write_bytes(b"\0".join(t.encode("utf-8") for t in texts))
    run = subprocess.run([str(binary), "--tokenizer", str(ptok), "--encode-file", str(records)],
                         capture_output=True, timeout=600)
    assert run.returncode == 0, run.stderr.decode()
    lines = run.stdout.decode().split("\n")
    assert lines[-1] == "" and len(lines) == len(texts) + 1
    return [[int(v) for v in line.split()] for line in lines[:-1]]


def _c_decode(binary, ptok, id_lists, tmp_path):
    lines = tmp_path / "ids.txt"
    lines.write_text("".join(" ".join(map(str, ids)) + "\n" for ids in id_lists))
    run = subprocess.run([str(binary), "--tokenizer", str(ptok), "--decode-file", str(lines)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    out = run.stdout.split("\n")
    assert out[-1] == "" and len(out) == len(id_lists) + 1
    return [bytes.fromhex(line) for line in out[:-1]]


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("vocab", ["plain", "prefix"])
def test_encode_equals_tokenizers(seed, tmp_path, tokenizers_dir, build, vocab):
    hf = Tokenizer.from_file(str(tokenizers_dir / f"{vocab}.json"))
    texts = _corpus(seed)
    got = _c_encode(_binary(build), tokenizers_dir / f"{vocab}.ptok", texts, tmp_path)
    expected = [e.ids for e in hf.encode_batch(texts)]
    same = sum(g == e for g, e in zip(got, expected))
    print(f"{vocab}: {same} of {len(texts)} texts encode identically "
          f"({sum(map(len, expected)):,} tokens)")
    for text, g, e in zip(texts, got, expected):
        assert g == e, f"{text[:80]!r}: C {g[:20]} vs tokenizers {e[:20]}"


@pytest.mark.parametrize("build", BUILDS)
def test_decode_equals_tokenizers(seed, tmp_path, tokenizers_dir, build):
    """Every text back byte for byte, and random id sequences (UTF-8 split across
    tokens, special tokens) as tokenizers decodes them (U+FFFD for bytes that are
    not UTF-8, special tokens left out)."""
    texts = _corpus(seed)
    for vocab in ("plain", "prefix"):
        hf = Tokenizer.from_file(str(tokenizers_dir / f"{vocab}.json"))
        encoded = [e.ids for e in hf.encode_batch(texts)]
        rng = random.Random(seed)
        randoms = [[rng.randrange(hf.get_vocab_size()) for _ in range(rng.randrange(0, 30))]
                   for _ in range(300)]
        got = _c_decode(_binary(build), tokenizers_dir / f"{vocab}.ptok", encoded + randoms,
                        tmp_path)
        for text, ids, data in zip(texts, encoded, got):
            assert data.decode("utf-8") == hf.decode(ids), text[:80]
            if vocab == "plain":  # the text itself, less the special tokens
                assert data == text.replace("<|endoftext|>", "").encode("utf-8")
        for ids, data in zip(randoms, got[len(texts):]):
            assert data.decode("utf-8", "replace") == hf.decode(ids), ids


def _file(tokenizers_dir):
    return bytearray((tokenizers_dir / "plain.ptok").read_bytes())


def _header(data):
    return struct.unpack_from("<4s7I", data)


def _malformed(data, byte_token):
    """(name, bytes, status) for each way a file can be wrong."""
    magic, version, flags, n, merges, added, blob, _ = _header(data)
    merges_at = 32 + 4 * (n + 1)
    out = [("empty", b"", "PTEC_STATUS_TRUNCATED"),
           ("short header", bytes(data[:20]), "PTEC_STATUS_TRUNCATED"),
           ("tokenizer.json", b'{"model": {"type": "BPE"}}' + bytes(40), "PTEC_STATUS_BAD_IDENTIFIER"),
           ("truncated", bytes(data[:-1]), "PTEC_STATUS_TRUNCATED"),
           ("trailing bytes", bytes(data) + b"\0", "PTEC_STATUS_BAD_SIZE")]

    def edit(name, offset, value, status):
        d = bytearray(data)
        struct.pack_into("<I", d, offset, value)
        out.append((name, bytes(d), status))

    edit("version 2", 4, 2, "PTEC_STATUS_BAD_HEADER")
    edit("unknown flags", 8, 6, "PTEC_STATUS_BAD_HEADER")
    edit("huge token count", 12, 0xFFFFFFFF, "PTEC_STATUS_BAD_SIZE")
    edit("huge merge count", 16, 0x00FFFFFF, "PTEC_STATUS_TRUNCATED")
    edit("merge count one more", 16, merges + 1, "PTEC_STATUS_TRUNCATED")
    edit("blob past the file", 24, blob + 1000, "PTEC_STATUS_TRUNCATED")
    edit("offset backwards", 32 + 4 * 10, 0, "PTEC_STATUS_MALFORMED")
    edit("offsets end early", 32 + 4 * n, blob - 1, "PTEC_STATUS_BAD_SIZE")
    edit("offset past the token bytes", 32 + 4 * 10, blob + 7, "PTEC_STATUS_BAD_SIZE")
    edit("merge left id past the vocabulary", merges_at, n, "PTEC_STATUS_INDEX_OUT_OF_RANGE")
    edit("merge result id past the vocabulary", merges_at + 12, 1 << 30,
         "PTEC_STATUS_INDEX_OUT_OF_RANGE")
    edit("rank past the merges", merges_at + 8, merges, "PTEC_STATUS_INDEX_OUT_OF_RANGE")
    first = struct.unpack_from("<4I", data, merges_at)
    second = struct.unpack_from("<4I", data, merges_at + 16)
    d = bytearray(data)  # two merges swapped: not sorted by pair
    struct.pack_into("<4I", d, merges_at, *second)
    struct.pack_into("<4I", d, merges_at + 16, *first)
    out.append(("merges unsorted", bytes(d), "PTEC_STATUS_MALFORMED"))
    edit("merge result not its halves", merges_at + 12, second[3], "PTEC_STATUS_MALFORMED")
    added_at = merges_at + 16 * merges
    edit("added token id past the vocabulary", added_at, n + 5, "PTEC_STATUS_INDEX_OUT_OF_RANGE")
    d = bytearray(data)
    d[added_at + 4 * added + 3] = 9  # flags of token 3
    out.append(("unknown token flags", bytes(d), "PTEC_STATUS_BAD_ENUM"))
    d = bytearray(data)
    d[added_at + 4 * added + byte_token] = 1  # the byte 'A' now only a special token
    out.append(("no token for a byte", bytes(d), "PTEC_STATUS_MALFORMED"))
    return out


@pytest.mark.parametrize("build", BUILDS)
def test_malformed_files_are_refused(tmp_path, tokenizers_dir, build):
    binary = _binary(build)
    text = tmp_path / "text.bin"
    text.write_bytes(b"The for statement")
    ok = subprocess.run([str(binary), "--tokenizer", str(tokenizers_dir / "plain.ptok"),
                         "--encode-file", str(text)], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.strip(), ok.stderr
    byte_token = Tokenizer.from_file(str(tokenizers_dir / "plain.json")).token_to_id("A")
    for name, data, status in _malformed(_file(tokenizers_dir), byte_token):
        bad = tmp_path / "bad.ptok"
        bad.write_bytes(data)
        run = subprocess.run([str(binary), "--tokenizer", str(bad), "--encode-file", str(text)],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 1, (name, run.returncode, run.stderr)
        assert status in run.stderr and "ptec-generate: tokenizer" in run.stderr, (name, run.stderr)
    # an id past the vocabulary is refused by name when decoding
    ids = tmp_path / "ids.txt"
    ids.write_text("1 2 99999\n")
    run = subprocess.run([str(binary), "--tokenizer", str(tokenizers_dir / "plain.ptok"),
                          "--decode-file", str(ids)], capture_output=True, text=True)
    assert run.returncode == 1 and "out of range" in run.stderr


def test_converter_refuses_other_tokenizers(tokenizers_dir):
    import json
    spec = json.loads((tokenizers_dir / "plain.json").read_text())
    cases = {"normalizer": {"type": "NFC"}, "pre_tokenizer": {"type": "Whitespace"},
             "decoder": {"type": "WordPiece"}}
    for key, value in cases.items():
        with pytest.raises(ValueError, match=key):
            convert(dict(spec, **{key: value}))
    with pytest.raises(ValueError, match="model.type"):
        convert(dict(spec, model=dict(spec["model"], type="WordPiece")))
    with pytest.raises(ValueError, match="ignore_merges"):
        convert(dict(spec, model=dict(spec["model"], ignore_merges=True)))
    broken = dict(spec["model"], merges=spec["model"]["merges"] + [["Ġ", "zzzz"]])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        convert(dict(spec, model=broken))


def test_unicode_table_is_tokenizers_classes():
    """The generated table (runtime/src/tokenizer/unicode_classes.c) against
    tokenizers' regex at every range's ends and the code points around them,
    and all of ASCII against the C code's own ASCII classes."""
    text = (ROOT / "runtime/src/tokenizer/unicode_classes.c").read_text()
    rows = [(int(a, 16), int(b, 16), int(k)) for a, b, k in
            re.findall(r"\{0x([0-9A-F]+)u, 0x([0-9A-F]+)u, (\d)\}", text)]
    assert len(rows) > 500

    def table(c):
        for a, b, k in rows:
            if a <= c <= b:
                return k
        return 0

    probes = set()
    for a, b, _ in rows:
        probes.update((a - 1, a, (a + b) // 2, b, b + 1))
    probes = sorted(c for c in probes if 0x80 <= c < 0x110000)
    wrong = [hex(c) for c in probes if tokenizers_class(c) != table(c)]
    assert not wrong, wrong[:20]
    ascii_classes = [1 if chr(c).isalpha() else 2 if chr(c).isdigit() else
                     3 if c == 32 or 9 <= c <= 13 else 0 for c in range(128)]
    assert [tokenizers_class(c) for c in range(128)] == ascii_classes
