"""Turn `fastseq bench --json` output into the markdown table of the README.

    fastseq bench --json > benchmarks/results/0.1.0-2core-epyc.json
    python benchmarks/readme_table.py benchmarks/results/0.1.0-2core-epyc.json
"""
import json
import sys


def table(result: dict) -> str:
    rows = ["| case | fastseq ms (2 threads / 1) | baseline | baseline ms | speed-up | target |",
            "|---|---|---|---|---|---|"]
    for case in result["cases"]:
        for i, b in enumerate(case["baselines"]):
            name, ms = "", ""
            if i == 0:
                name = case["name"]
                ms = f"{case['fastseq_ms']:.2f} / {case['fastseq_1thread_ms']:.2f}"
            label = b["label"] + (f" ({b['threads']}t)" if b.get("threads") else "")
            base = f"{b['ms']:.1f}" + ("~" if b.get("extrapolated_from") else "")
            target = f"≥ {b['target']:g}× {b['status']}" if b.get("target") else ""
            rows.append(f"| {name} | {ms} | {label} | {base} | {b['speedup']:.1f}× | {target} |")
    s = result["summary"]
    rows.append("")
    rows.append(f"Targets: {s.get('PASS', 0)} PASS, {s.get('MISS', 0)} MISS.")
    return "\n".join(rows)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(table(json.load(f)))
