"""The runtime core stays freestanding-friendly: no heap, no stdio, no abort.

Only the platform layer and the tools may use the C library's I/O and heap.
"""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORE = [REPO / "runtime" / "src" / d for d in ("core", "format", "executor", "kernels", "backends")]
BANNED = re.compile(r"\b(malloc|calloc|realloc|free|printf|fprintf|sprintf|snprintf|puts|"
                    r"abort|exit|assert)\s*\(|#\s*include\s*<(stdio|stdlib|assert)\.h>")
ALLOWED_HEADERS = {"stdint.h", "stddef.h", "stdbool.h", "string.h", "stdarg.h", "math.h",
                   "inttypes.h", "limits.h", "float.h",
                   # the compiler's intrinsics, for kernels/mve, kernels/dsp, kernels/x86, kernels/neon
                   "arm_mve.h", "arm_acle.h", "immintrin.h", "arm_neon.h"}


def core_files():
    return sorted(p for d in CORE for p in d.rglob("*") if p.suffix in (".c", ".h"))


def test_core_has_no_heap_stdio_or_abort():
    offenders = []
    for path in core_files():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("//")[0]
            if BANNED.search(code):
                offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_core_includes_only_freestanding_headers():
    offenders = []
    for path in core_files():
        for header in re.findall(r"#\s*include\s*<([^>]+)>", path.read_text()):
            if header not in ALLOWED_HEADERS:
                offenders.append(f"{path.relative_to(REPO)}: <{header}>")
    assert not offenders, "\n".join(offenders)


#: Driver layers: the code that stands where a device driver would (Arm's Ethos-U
#: driver keeps its driver instances in globals; the simulator's stand-in does too).
DRIVER_LAYERS = {REPO / "runtime" / "src" / "backends" / "ethosu" / "sim" / "driver.c"}


def test_no_mutable_globals_in_core():
    """Global state would make two programs interfere; tables must be const. The
    driver layers (DRIVER_LAYERS) own their device's state, as a platform layer does."""
    pattern = re.compile(r"^(static\s+)?(?!const\b)(?!typedef\b)(?!extern\b)[a-z_][\w\s\*]*\b\w+\s*"
                         r"(\[[^\]]*\])?\s*(=[^=].*)?;\s*$")
    offenders = []
    for path in core_files():
        if path.suffix != ".c" or path in DRIVER_LAYERS:
            continue
        depth = 0
        for n, line in enumerate(path.read_text().splitlines(), 1):
            stripped = line.strip()
            if depth == 0 and pattern.match(stripped) and "(" not in stripped and \
                    not stripped.startswith(("return", "#", "}", "const")) and "const" not in stripped:
                offenders.append(f"{path.relative_to(REPO)}:{n}: {stripped}")
            depth += line.count("{") - line.count("}")
    assert not offenders, "\n".join(offenders)
