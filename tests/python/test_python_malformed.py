"""The Python side on the malformed-input corpora: `ptec.load(bytes)` (then a call with a
valid input) and `ptec inspect` on every broken .pte of test_malformed.py and every broken
TOSA delegate of test_tosa_malformed.py (and every .pte regression input of the fuzz
targets) raise a Python exception carrying the same status
ptec-run reports (PtecError.status), or exit 1 with a message: never a crash of the
interpreter. All cases run in one child interpreter, so a crash fails this test instead of
killing pytest, and its last line names the case it was in."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHILD = r'''
import contextlib, io, json, sys, tempfile
from pathlib import Path
sys.path[:0] = [sys.argv[1]]
import numpy as np
import torch
import ptec
from ptec.cli import main as cli
from ptec.runtime import PtecError
from ptec.tosa import delegate_program
from ptec.tosa.serialize import encode_graph
import test_malformed as tm
import test_tosa_malformed as tt

cases = {}
good = tm._valid_bytes()
pte_x = np.ones((2, 3), np.float32)
for k, (mutate, status) in tm.BYTE_CASES.items():
    cases["pte bytes: " + k] = (mutate(good), status, pte_x)
for k, (mutate, status) in tm.TABLE_CASES.items():
    cases["pte table: " + k] = (tm.encode(*mutate(*tm.base_program())), status, pte_x)
for k, (mutate, status, _) in tm.OVERFLOW_CASES.items():
    cases["pte sizes: " + k] = (tm.encode(*mutate(*tm.base_program())), status, pte_x)
for planned in ([0, 2**39], [0, 2**42], [0, 2**62, 2**62, 2**62]):  # refused before allocating
    program, segments = tm.base_program()
    tm.plan_of(program).non_const_buffer_sizes = planned
    cases[f"pte memory: planned {planned[1:]}"] = (tm.encode(program, segments),
                                                   "PTEC_STATUS_OUT_OF_MEMORY", pte_x)
tosa_good, tosa_x = tt.base_graph().serialize(), np.ones((1, 4, 4, 2), np.int8)
for k, (mutate, status, _) in tt.BYTE_CASES.items():
    cases["tosa bytes: " + k] = (delegate_program(mutate(tosa_good), tt.base_graph()), status,
                                 tosa_x)
for k, (mutate, status, _) in tt.TABLE_CASES.items():
    graph = tt.base_graph().to_schema()
    mutate(graph)
    cases["tosa table: " + k] = (delegate_program(encode_graph(graph), tt.base_graph()), status,
                                 tosa_x)

# Every .pte a fuzz target ever crashed on (tests/fuzz/regressions/pte): any status will do.
for path in sorted((Path(sys.argv[1]).parent / "fuzz" / "regressions" / "pte").iterdir()):
    cases["fuzz regression: " + path.name] = (path.read_bytes(), "PTEC_STATUS_", pte_x)

folder = Path(tempfile.mkdtemp())
for name, (data, expected, x) in sorted(cases.items()):
    print(json.dumps({"start": name}), flush=True)
    try:
        ptec.load(data)(torch.from_numpy(x))
        status = "PTEC_STATUS_OK"
    except PtecError as e:
        status = e.status
    except Exception as e:  # any other exception is a finding too, but not a crash
        status = f"python {type(e).__name__}: {e}"
    path = folder / "case.pte"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli(["inspect", str(path)])
        except Exception as e:
            code = f"python {type(e).__name__}: {e}"
    print(json.dumps({"case": name, "expected": expected, "status": status,
                      "inspect": code, "inspect_err": err.getvalue()[-300:]}), flush=True)
print(json.dumps({"done": len(cases)}), flush=True)
'''


def test_load_and_inspect_every_malformed_case_raise_never_crash():
    env = dict(os.environ)
    env.setdefault("PTEC_LIB", str(REPO / "build" / "host" / "libptec_shared.so"))
    result = subprocess.run([sys.executable, "-c", CHILD, str(Path(__file__).parent)],
                            capture_output=True, text=True, timeout=600, env=env)
    lines = [json.loads(l) for l in result.stdout.splitlines() if l.startswith("{")]
    last = lines[-1] if lines else {}
    assert result.returncode == 0 and "done" in last, (
        f"the interpreter died ({result.returncode}) in {last}: {result.stderr[-3000:]}")
    rows = [l for l in lines if "case" in l]
    assert len(rows) == last["done"] >= 100
    wrong = [r for r in rows if r["expected"] not in r["status"]]
    assert not wrong, "\n".join(f"{r['case']}: {r['status']} (expected {r['expected']})"
                                for r in wrong)
    bad_inspect = [r for r in rows if r["inspect"] not in (0, 1)]
    assert not bad_inspect, "\n".join(f"{r['case']}: inspect {r['inspect']}"
                                      for r in bad_inspect)
    # A program the loader refuses is refused by inspect too, naming the file.
    refused = [r for r in rows if r["inspect"] == 1]
    assert refused and all("case.pte" in r["inspect_err"] for r in refused)
