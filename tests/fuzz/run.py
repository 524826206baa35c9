"""Runs the libFuzzer targets of tests/fuzz (built by `make build-fuzz` into build/fuzz) and
prints, per target, executions, coverage and findings.

    run.py --seconds 120    `make fuzz`: each target for that long, growing the corpus
    run.py --runs 2000      `make test`: a short fixed number of runs per target, corpus
                            kept as it is; replays tests/fuzz/regressions/<target>/

Corpora: build/fuzz-corpus/<target>/ (make_corpus.py) and the committed regression inputs.
Findings (crash-*, leak-*, timeout-*, oom-*) go to build/fuzz-findings/<target>/; copy each
one to tests/fuzz/regressions/<target>/ once its cause is fixed. Exit status 1 on any finding.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TARGETS = ("pte", "pte_edit", "inputs", "tosa", "ethosu_blob", "ethosu_sim", "npy", "bundle",
           "tokenizer")
# Targets whose inputs are a program plus a payload (fuzz_program.h): room for both.
EXTRA_FLAGS = {"pte_edit": ["-max_len=262144"], "inputs": ["-max_len=262144"],
               "bundle": ["-max_len=262144"]}
# In a test run (--runs), targets that execute whole programs per input (20-100 ms under
# ASan, TOSA delegates the slowest) get fewer runs, to keep `make test` short.
TEST_RUNS_CAP = {"pte_edit": 1000, "inputs": 300, "bundle": 500}


def run_target(name: str, args, build: Path, corpus: Path, findings: Path) -> bool:
    binary = build / f"fuzz_{name}"
    artifacts = findings / name
    artifacts.mkdir(parents=True, exist_ok=True)
    before = set(artifacts.iterdir())
    regressions = HERE / "regressions" / name
    with tempfile.TemporaryDirectory() as scratch:
        # New inputs go to the first folder: the corpus in a campaign, a scratch folder in a
        # test run (so that `make test` leaves the corpus as it was).
        if args.seconds:
            (corpus / name).mkdir(parents=True, exist_ok=True)
            dirs = [corpus / name, regressions]
            budget = f"-max_total_time={args.seconds}"
        else:
            dirs = [Path(scratch), corpus / name, regressions]
            budget = f"-runs={min(args.runs, TEST_RUNS_CAP.get(name, args.runs))}"
        cmd = [str(binary), *(str(d) for d in dirs if d.is_dir()), budget,
               f"-dict={HERE / 'ptec.dict'}", "-rss_limit_mb=2048", "-timeout=10",
               f"-artifact_prefix={artifacts}/", "-print_final_stats=1",
               *EXTRA_FLAGS.get(name, [])]
        result = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    log = result.stderr
    execs = re.search(r"stat::number_of_executed_units:\s*(\d+)", log)
    cov = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", log)
    new = sorted(set(artifacts.iterdir()) - before)
    cov_text = f"cov {cov[-1][0]} edges, ft {cov[-1][1]}, corpus {cov[-1][2]}" if cov else "cov ?"
    print(f"fuzz_{name}: {execs.group(1) if execs else '?'} executions, {cov_text}, "
          f"{len(new)} findings" + "".join(f"\n  {p}" for p in new), flush=True)
    if result.returncode != 0:
        tail = "\n".join(l for l in log.splitlines()
                         if "ERROR" in l or "runtime error" in l or "SUMMARY" in l)
        print(f"  exit {result.returncode}\n{tail or log[-2000:]}", flush=True)
    return result.returncode == 0 and not new


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--seconds", type=int, help="fuzz each target this long")
    mode.add_argument("--runs", type=int, help="this many runs per target, corpus unchanged")
    p.add_argument("--build", type=Path, default=ROOT / "build" / "fuzz")
    p.add_argument("--corpus", type=Path, default=ROOT / "build" / "fuzz-corpus")
    p.add_argument("--findings", type=Path, default=ROOT / "build" / "fuzz-findings")
    p.add_argument("targets", nargs="*", default=list(TARGETS))
    args = p.parse_args()
    ok = [run_target(t, args, args.build, args.corpus, args.findings) for t in args.targets]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
