"""``fastseq bench``: time fastseq's kernels against the numpy reference and the peers.

See :mod:`fastseq.bench` for what is timed and how.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Tuple, Type

from ..bench import format_table, run_bench, write_plot
from ..bench.report import require_matplotlib
from ..bench.runner import PEER_MAX_FULL_S, PEER_SUBSET
from . import options
from .errors import CLIError

__all__ = ["HELP", "DESCRIPTION", "add_arguments", "run"]

# far more than any bench result, whose JSON is some kilobytes a case
_MAX_JSON = 64 << 20

HELP = "time fastseq's kernels against the numpy reference, hmmlearn and pytorch-crf"
DESCRIPTION = """\
Time fastseq's kernels against the numpy reference, a numpy one-matmul-per-step loop,
hmmlearn and pytorch-crf, and print a table of times and speed-ups. Peers that are not
installed show n/a (pip install fastseq[bench]). The quick grid takes about a minute on
2 cores."""


def _peer_list(text: str) -> List[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if names in ([], ["none"]):
        return []
    aliases = {"hmmlearn": "hmmlearn", "torchcrf": "torchcrf", "pytorch-crf": "torchcrf"}
    bad = [n for n in names if n not in aliases]
    if bad:
        raise argparse.ArgumentTypeError(
            f"unknown peer(s) {', '.join(bad)}; choose from hmmlearn, pytorch-crf, none")
    return [aliases[n] for n in names]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``fastseq bench`` to its sub-parser."""
    parser.add_argument("--threads", type=options.threads, default=None, metavar="N",
                        help="threads for fastseq and the BLAS/torch baselines (default: "
                             "every core this process may use; -1: all cores). fastseq's "
                             "1-thread time is shown too.")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true",
                      help="a bigger grid (more shapes, dtypes and ops; several minutes)")
    size.add_argument("--smoke", action="store_true",
                      help="minuscule shapes, one call each: checks the harness in seconds")
    parser.add_argument("--json", action="store_true",
                        help="print machine-readable JSON instead of the table")
    parser.add_argument("--plot", metavar="FILE",
                        help="write a bar chart of the speed-ups to FILE (needs matplotlib)")
    parser.add_argument("--from-json", metavar="FILE", dest="from_json",
                        help="show (or --plot) the results of an earlier --json run instead "
                             "of running")
    parser.add_argument("--impl", choices=("ops", "reference", "auto"), default="ops",
                        help="implementation under test: the compiled fastseq.ops (default), "
                             "the numpy reference, or ops falling back to the reference")
    parser.add_argument("--peers", type=_peer_list, default=["hmmlearn", "torchcrf"],
                        metavar="LIST",
                        help="comma-separated peers to time: hmmlearn, pytorch-crf, or none "
                             "(default: both)")
    parser.add_argument("--budget", type=options.positive_float, default=None,
                        metavar="SECONDS",
                        help="time budget per measurement (default 0.3 quick, 1.0 full)")
    parser.add_argument("--ref-sequences", type=options.nonneg_int, default=None, metavar="K",
                        help="time the (slow) numpy reference on the first K sequences of "
                             "a batch and scale by token count (default 16, --full 64; "
                             "0 = all)")
    parser.add_argument("--peer-sequences", type=options.nonneg_int, default=None,
                        metavar="K",
                        help="time hmmlearn's per-sequence loop on the first K sequences "
                             "and scale by token count (0 = whole batches; default: quick "
                             f"mode does so with K={PEER_SUBSET} only where a whole batch "
                             f"would take over {PEER_MAX_FULL_S:g} s)")
    parser.add_argument("--cases", default=None, metavar="TEXT",
                        help="only the cases whose name contains TEXT, e.g. 'N=45'")


def run(args: argparse.Namespace) -> int:
    """Run ``fastseq bench`` (or show a stored ``--json`` run); returns the exit status."""
    if args.plot:
        try:
            require_matplotlib()
        except ImportError as exc:
            raise CLIError(str(exc)) from None
    if args.from_json:
        try:
            with open(args.from_json, encoding="utf-8") as fh:
                text = fh.read(_MAX_JSON + 1)
            if len(text) > _MAX_JSON:
                raise ValueError(f"over {_MAX_JSON:,} characters, too big for a bench result")
            res = json.loads(text)
        except (OSError, ValueError, RecursionError) as exc:
            raise CLIError(f"cannot read {args.from_json}: {exc}") from None
        if not (isinstance(res, dict) and {"env", "config", "cases"} <= set(res)):
            raise CLIError(f"{args.from_json} is not the output of `fastseq bench --json`")
    else:
        threads = None if args.threads in (None, -1) else args.threads
        mode = "smoke" if args.smoke else "full" if args.full else "quick"
        try:
            res = run_bench(threads=threads, mode=mode, impl=args.impl, peers=args.peers,
                            budget=args.budget, ref_sequences=args.ref_sequences,
                            peer_sequences=args.peer_sequences, case_filter=args.cases,
                            progress=(not args.json) and sys.stderr.isatty())
        except ImportError as exc:
            raise CLIError(str(exc)) from None
        if not res["cases"]:
            raise CLIError(f"no case name contains {args.cases!r} (see the names in the "
                           "table of a run without --cases)")
    # a hand-edited or truncated --from-json file can lack what the table and plot read
    bad_json: Tuple[Type[Exception], ...] = (
        (KeyError, TypeError, ValueError, AttributeError, IndexError) if args.from_json else ())
    try:
        text = json.dumps(res, indent=2, default=str) if args.json else format_table(res)
    except bad_json as exc:
        raise CLIError(f"{args.from_json}: not a complete `fastseq bench --json` result "
                       f"({type(exc).__name__}: {exc})") from None
    print(text)
    if args.plot:
        try:
            write_plot(res, args.plot)
        except bad_json as exc:
            raise CLIError(f"{args.from_json}: not a complete `fastseq bench --json` result "
                           f"({type(exc).__name__}: {exc})") from None
        except ValueError as exc:  # e.g. an image format matplotlib does not know
            raise CLIError(f"cannot write the plot {args.plot}: {exc}") from None
        if not args.json:
            print(f"wrote {args.plot}")
    return 0
