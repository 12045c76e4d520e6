"""The results as a table or a chart."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Type

import numpy as np

from .baselines import INSTALL_HINT

__all__ = ["format_table", "format_header", "write_plot", "require_matplotlib"]


def _fmt_ms(ms: Optional[float]) -> str:
    if ms is None:
        return "n/a"
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 0.1:
        return f"{ms:.2f}"
    return f"{ms:.4f}"


def _fmt_x(x: Optional[float]) -> str:
    if x is None:
        return "n/a"
    return f"{x:.0f}x" if x >= 100 else f"{x:.1f}x" if x >= 10 else f"{x:.2f}x"


def format_header(res: Dict[str, Any]) -> str:
    """The environment header of the table.

    Parameters
    ----------
    res : dict
        Results of :func:`~fastseq.bench.run_bench` (or of ``fastseq bench --json``).

    Returns
    -------
    str
        Lines: fastseq's version and the implementation under test (with
        ``fastseq.show_config()``), numpy and its BLAS, the peers' versions, the CPUs and
        platform, and the run's settings.

    Examples
    --------
    >>> from fastseq.bench import run_bench
    >>> from fastseq.bench.report import format_header
    >>> res = run_bench(mode="smoke", peers=(), threads=1, case_filter="crf viterbi")
    >>> print(format_header(res).splitlines()[-1])
    mode: smoke | threads: 1 for fastseq ... budget 0 s per measurement
    """
    env, cfg = res["env"], res["config"]
    lines = [f"fastseq {env['fastseq']} -- implementation under test: {cfg['impl']}"]
    if env.get("show_config"):
        lines += ["  " + ln for ln in str(env["show_config"]).splitlines()]
    blas = ", ".join(f"{b.get('internal_api')} {b.get('version')}" for b in env.get("blas", []))
    lines.append(f"numpy {env['numpy']}" + (f" ({blas})" if blas else ""))
    peers = env["peers"]
    lines.append("peers: " + ", ".join(f"{k} {v or 'n/a'}" for k, v in peers.items()))
    lines.append(f"CPU: {env['cpus_usable']} usable of {env['cpu_count']} | "
                 f"{env['platform']} | Python {env['python']}")
    lines.append(f"mode: {cfg['mode']} | threads: {cfg['threads']} for fastseq (1-thread time "
                 "shown too); numpy-matmul and pytorch-crf get the faster of 1 and "
                 f"{cfg['threads']}; hmmlearn is single-threaded | best of repeats, "
                 f"budget {cfg['budget_s']:g} s per measurement")
    return "\n".join(lines)


def format_table(res: Dict[str, Any]) -> str:
    """The results as the human-readable table ``fastseq bench`` prints.

    Parameters
    ----------
    res : dict
        Results of :func:`~fastseq.bench.run_bench` (or of ``fastseq bench --json``).

    Returns
    -------
    str
        The environment header; one row per case and baseline (fastseq's time at
        ``threads`` and at 1 thread, the baseline's time, marked ``~`` where it was timed
        on the first sequences and scaled, and the speed-up), a blank line between cases;
        the total time; a ``WARNING`` line per case whose output differs from the
        reference; and the notes.

    See Also
    --------
    run_bench : Computes the results.

    Examples
    --------
    >>> from fastseq.bench import format_table, run_bench
    >>> res = run_bench(mode="smoke", peers=(), threads=1, case_filter="crf viterbi")
    >>> lines = format_table(res).splitlines()
    >>> lines[0]
    'fastseq ... -- implementation under test: fastseq.ops'
    >>> for line in lines:
    ...     if line.startswith(("case", "crf viterbi")):
    ...         print(line)
    case...fastseq ms (1t)  1 thread  baseline...ms  speed-up
    crf viterbi B=4 T=6 N=3 f32 ragged ... reference (numpy) ...
    crf viterbi B=4 T=6 N=5 f32 ragged ... reference (numpy) ...
    >>> lines[-1]
    'note: smoke mode: tiny shapes, one call each; the times mean nothing'
    """
    th = res["config"]["threads"]
    head = ["case", f"fastseq ms ({th}t)", "1 thread", "baseline", "ms", "speed-up"]
    rows: List[List[str]] = []
    checks: List[str] = []
    for rec in res["cases"]:
        first = True
        for b in rec["baselines"] or [{"label": "-", "ms": None, "speedup": None,
                                       "extrapolated_from": None}]:
            ms = _fmt_ms(b["ms"]) + ("~" if b.get("extrapolated_from") and b["ms"] else "")
            rows.append([
                rec["name"] if first else "",
                _fmt_ms(rec["fastseq_ms"]) if first else "",
                _fmt_ms(rec["fastseq_1thread_ms"]) if first else "",
                b["label"] + (f" ({b['threads']}t)" if b.get("threads") else ""), ms,
                _fmt_x(b["speedup"]) if b["ms"] is not None else "n/a",
            ])
            first = False
        if rec["check"] not in ("ok", "-"):
            checks.append(f"WARNING {rec['name']}: result differs from the reference "
                          f"({rec['check']})")
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    right = {1, 2, 4, 5}

    def fmt(r):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    out = [format_header(res), "", fmt(head), "  ".join("-" * w for w in widths)]
    prev_case = None
    for r in rows:
        if r[0] and prev_case is not None:
            out.append("")
        prev_case = r[0] or prev_case
        out.append(fmt(r))
    out.append("")
    out.append(f"speed-up = baseline ms / fastseq ms at {th} threads; "
               f"{res['elapsed_s']:.1f} s in all")
    out += checks
    out += [f"note: {n}" for n in res["notes"]]
    return "\n".join(out)


def require_matplotlib() -> Type[Any]:
    """Import matplotlib, with an install hint when it is missing.

    Returns
    -------
    type
        :class:`matplotlib.figure.Figure`.

    Raises
    ------
    ImportError
        If matplotlib cannot be imported.

    Examples
    --------
    >>> import importlib.util
    >>> from fastseq.bench.report import require_matplotlib
    >>> if importlib.util.find_spec("matplotlib") is not None:
    ...     print(require_matplotlib().__name__)
    ... else:
    ...     print("Figure")
    Figure
    """
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            f"--plot needs matplotlib ({exc}); install it with `pip install matplotlib` "
            f"or `{INSTALL_HINT}`") from exc
    return Figure


def write_plot(res: Dict[str, Any], path: str) -> None:
    """Write a horizontal bar chart of the speed-ups over every baseline.

    One bar per case and timed baseline (log scale, a dashed line at 1x), one colour per
    kind of baseline (numpy reference, numpy matmul loop, hmmlearn, pytorch-crf). Needs
    matplotlib (not pyplot: no display is used).

    Parameters
    ----------
    res : dict
        Results of :func:`~fastseq.bench.run_bench` (or of ``fastseq bench --json``).
    path : str
        Output file; its extension picks the format (``.png``, ``.svg``, ``.pdf`` ...).

    Raises
    ------
    ImportError
        If matplotlib is not installed.

    See Also
    --------
    run_bench : Computes the results.

    Examples
    --------
    >>> import importlib.util, os, tempfile
    >>> from fastseq.bench import run_bench, write_plot
    >>> res = run_bench(mode="smoke", peers=(), threads=1, case_filter="crf viterbi")
    >>> path = os.path.join(tempfile.mkdtemp(), "speedups.png")
    >>> have_matplotlib = importlib.util.find_spec("matplotlib") is not None
    >>> if have_matplotlib:
    ...     write_plot(res, path)
    >>> os.path.exists(path) == have_matplotlib
    True
    """
    Figure = require_matplotlib()
    from matplotlib.patches import Patch

    palette = {"reference": "#8d99ae", "numpy": "#5b7db1", "hmmlearn": "#2a9d3f",
               "torchcrf": "#e07a1f"}
    names = {"reference": "numpy reference", "numpy": "numpy matmul loop",
             "hmmlearn": "hmmlearn", "torchcrf": "pytorch-crf"}
    labels, values, colors = [], [], []
    for rec in res["cases"]:
        for b in rec["baselines"]:
            if b["speedup"] is None:
                continue
            labels.append(f"{rec['name']}  vs {b['label']}")
            values.append(b["speedup"])
            colors.append(palette.get(b["key"].split(".")[0], "#555555"))
    fig = Figure(figsize=(11, 1.2 + 0.28 * max(1, len(labels))))
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(len(labels))[::-1]
    if labels:
        ax.barh(y, values, color=colors)
        ax.set_yticks(y)
        ax.set_yticklabels(labels, fontsize=7)
        ax.set_xscale("log")
        ax.axvline(1.0, color="grey", linewidth=0.8, linestyle="--")
        for yi, v in zip(y, values):
            ax.text(v, yi, f" {_fmt_x(v)}", va="center", ha="left", fontsize=6)
        ax.set_xlim(min(values + [1.0]) / 1.5, max(values) * 3.0)
        ax.legend(handles=[Patch(color=c, label=names[k]) for k, c in palette.items()],
                  loc="lower right", fontsize=7)
    ax.set_xlabel(f"speed-up of fastseq ({res['config']['threads']} threads) over the "
                  "baseline (log scale)")
    ax.set_title(f"fastseq {res['env']['fastseq']} bench ({res['config']['mode']}, "
                 f"impl {res['config']['impl']})", fontsize=9)
    fig.savefig(path, dpi=110, bbox_inches="tight")
