"""The speed-ups fastseq aims for, checked against a ``fastseq bench --json`` run.

The package reports times and speed-ups only; what counts as fast enough is the project's
business and lives here::

    fastseq bench --threads 2 --json > run.json
    python benchmarks/targets.py run.json              # PASS / MISS per target, exit 1 on a miss
    python benchmarks/targets.py run.json --markdown   # the README's benchmark table

Targets are minimum speed-ups (baseline time / fastseq time, fastseq at the run's
``--threads``) for the quick grid at 2 threads on a 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Dict, List, Optional, Tuple

#: (case name, baseline key) -> minimum speed-up
TARGETS: Dict[Tuple[str, str], float] = {
    ("log_partition B=256 T=100 N=45 f64", "hmmlearn.forward_log"): 50,
    ("log_partition B=256 T=100 N=45 f64", "hmmlearn.forward_scaling"): 8,
    ("log_partition B=256 T=100 N=128 f64", "numpy.matmul_loop"): 1.5,
    ("log_partition B=256 T=100 N=128 f64", "hmmlearn.forward_log"): 100,
    ("log_partition B=256 T=100 N=128 f64", "hmmlearn.forward_scaling"): 15,
    ("viterbi B=256 T=100 N=45 f64", "hmmlearn.viterbi"): 8,
    ("viterbi B=256 T=100 N=128 f64", "hmmlearn.viterbi"): 10,
    ("marginals(pairwise) B=256 T=100 N=45 f64", "hmmlearn.marginals"): 25,
    ("marginals(pairwise) B=256 T=100 N=128 f64", "hmmlearn.marginals"): 50,
    ("forward T=10000 N=8 f64", "hmmlearn.forward_log"): 5,
    ("viterbi T=10000 N=8 f64", "hmmlearn.viterbi"): 2,
    ("crf_nll+grad B=64 T=50 N=9 f32 ragged", "torchcrf.nll"): 30,
    ("crf_nll+grad B=64 T=50 N=45 f32 ragged", "torchcrf.nll"): 15,
    ("crf viterbi B=64 T=50 N=9 f32 ragged", "torchcrf.decode"): 50,
    ("crf viterbi B=64 T=50 N=45 f32 ragged", "torchcrf.decode"): 20,
    ("log_partition B=64 T=500 N=2048 f64 sparse-random 1%", "fastseq.dense"): 25,
    ("viterbi B=64 T=500 N=2048 f64 sparse-random 1%", "fastseq.dense"): 25,
}


def verdicts(result: dict) -> List[Tuple[str, str, Optional[float], float, str]]:
    """(case, baseline key, speed-up or None, target, PASS / MISS / n/a) per target."""
    speedups = {(c["name"], b["key"]): b.get("speedup")
                for c in result["cases"] for b in c["baselines"]}
    out = []
    for (case, key), target in TARGETS.items():
        s = speedups.get((case, key))
        out.append((case, key, s, target,
                    "n/a" if s is None else "PASS" if s >= target else "MISS"))
    return out


def markdown(result: dict) -> str:
    """The README's table: every case and baseline, with the target where there is one."""
    threads = result["config"]["threads"]
    rows = [f"| case | fastseq ms ({threads} threads / 1) | baseline | baseline ms | speed-up "
            "| target |", "|---|---|---|---|---|---|"]
    status = {(c, k): (t, v) for c, k, _, t, v in verdicts(result)}
    for case in result["cases"]:
        for i, b in enumerate(case["baselines"]):
            name = case["name"] if i == 0 else ""
            ms = f"{case['fastseq_ms']:.2f} / {case['fastseq_1thread_ms']:.2f}" if i == 0 else ""
            label = b["label"] + (f" ({b['threads']}t)" if b.get("threads") else "")
            if b.get("ms") is None:
                rows.append(f"| {name} | {ms} | {label} | n/a | n/a | |")
                continue
            base = f"{b['ms']:.1f}" + ("~" if b.get("extrapolated_from") else "")
            t = status.get((case["name"], b["key"]))
            target = f"≥ {t[0]:g}× {t[1]}" if t else ""
            rows.append(f"| {name} | {ms} | {label} | {base} | {b['speedup']:.1f}× | {target} |")
    counts = {v: sum(1 for *_, x in verdicts(result) if x == v) for v in ("PASS", "MISS", "n/a")}
    rows += ["", f"Targets: {counts['PASS']} PASS, {counts['MISS']} MISS"
             + (f", {counts['n/a']} n/a." if counts["n/a"] else ".")]
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("result", help="the output of `fastseq bench --json`")
    parser.add_argument("--markdown", action="store_true", help="print the README table")
    args = parser.parse_args(argv)
    with open(args.result, encoding="utf-8") as fh:
        result = json.load(fh)
    if args.markdown:
        print(markdown(result))
        return 0
    missed = 0
    for case, key, s, target, verdict in verdicts(result):
        shown = "n/a" if s is None else f"{s:.1f}x"
        print(f"{verdict:4s}  {case}  vs {key}: {shown} (target >= {target:g}x)")
        missed += verdict == "MISS"
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
