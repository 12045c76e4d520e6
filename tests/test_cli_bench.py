"""The `fastseq` command and `fastseq bench --smoke` (tiny shapes, one call each: seconds).

pytorch-crf is hidden (or left out with --peers) in these tests: importing torch alone takes
seconds. The real timings are `fastseq bench`'s job, not the tests'.
"""
from __future__ import annotations

import json
import sys

import pytest

from fastseq import __version__, cli

SMOKE = ["bench", "--smoke", "--impl", "auto"]
CASE_OPS = {"log_partition", "viterbi", "marginals", "forward", "crf_nll"}
BASELINE_KEYS = {"key", "label", "ms", "speedup", "status", "note", "extrapolated_from",
                 "threads"}


def _hide(monkeypatch, *modules):
    """Make ``import <module>`` raise ImportError for the duration of a test."""
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


def _table_rows(out):
    """The table's body lines (between the dashed rule and the `speed-up =` line)."""
    lines = out.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("-----"))
    end = next(i for i, ln in enumerate(lines) if ln.startswith("speed-up ="))
    return [ln for ln in lines[start + 1:end] if ln.strip()]


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"fastseq {__version__}"


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "bench" in capsys.readouterr().err


def test_bad_threads_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(SMOKE + ["--threads", "0"])
    assert exc.value.code == 2
    assert "--threads" in capsys.readouterr().err


def test_bench_table(capsys):
    rc = cli.main(SMOKE + ["--peers", "hmmlearn"])
    out = capsys.readouterr().out
    assert rc == 0
    lines = out.splitlines()
    # environment header
    assert lines[0].startswith(f"fastseq {__version__}")
    assert any(ln.startswith("numpy ") for ln in lines)
    assert any(ln.startswith("CPU: ") for ln in lines)
    # table header and rows
    head = next(ln for ln in lines if ln.startswith("case"))
    for col in ("fastseq ms", "1 thread", "baseline", "ms", "speed-up"):
        assert col in head
    assert "target" not in out and "PASS" not in out  # verdicts live in benchmarks/
    for case in ("log_partition B=4 T=6 N=3 f64", "viterbi B=4 T=6 N=5 f64",
                 "marginals(pairwise) B=4 T=6 N=3 f64", "forward T=40 N=3 f64",
                 "viterbi T=40 N=3 f64", "crf_nll+grad B=4 T=6 N=3 f32 ragged",
                 "crf viterbi B=4 T=6 N=5 f32 ragged"):
        assert any(ln.startswith(case) for ln in lines), case
    assert "reference (numpy)" in out
    assert "numpy matmul loop" in out
    # pytorch-crf was left out: its rows say n/a
    torch_rows = [ln for ln in _table_rows(out) if "pytorch-crf" in ln]
    assert torch_rows and all("n/a" in ln for ln in torch_rows)
    assert any(ln.startswith("speed-up =") for ln in lines)
    assert "smoke mode" in out


def test_bench_json_structure(capsys, monkeypatch):
    _hide(monkeypatch, "torchcrf")
    rc = cli.main(SMOKE + ["--json", "--threads", "1"])
    out = capsys.readouterr().out
    assert rc == 0
    res = json.loads(out)  # nothing but JSON on stdout
    assert set(res) >= {"schema", "env", "config", "cases", "notes", "elapsed_s"}
    env = res["env"]
    assert env["fastseq"] == __version__
    assert env["impl"] in ("fastseq.ops", "fastseq._reference")
    assert set(env["peers"]) == {"hmmlearn", "pytorch-crf", "torch", "matplotlib"}
    assert env["numpy"] and env["cpu_count"] >= 1
    cfg = res["config"]
    assert cfg["threads"] == 1 and cfg["mode"] == "smoke"

    cases = res["cases"]
    assert len(cases) == 14
    assert {c["op"] for c in cases} == CASE_OPS
    names = [c["name"] for c in cases]
    assert len(set(names)) == len(names)
    for c in cases:
        assert c["fastseq_ms"] > 0 and c["fastseq_1thread_ms"] > 0
        assert not str(c["check"]).startswith("error"), c["check"]
        assert c["baselines"], c["name"]
        for b in c["baselines"]:
            assert set(b) >= BASELINE_KEYS
            assert b["status"] in ("n/a", "")
            if b["ms"] is None:
                assert b["status"] == "n/a" and b["speedup"] is None and b["note"]
            else:
                assert b["ms"] > 0
                assert b["speedup"] == pytest.approx(b["ms"] / c["fastseq_ms"])
            if b["key"].startswith("torchcrf."):  # hidden: n/a with the install hint
                assert b["status"] == "n/a"
                assert "pip install fastseq[bench]" in b["note"]
    # every case is checked against the numpy reference, or (a sparse model) against the
    # dense kernels on the same model
    for c in cases:
        checked = [b for b in c["baselines"] if b["key"] in ("reference", "fastseq.dense")]
        assert len(checked) == 1 and checked[0]["ms"] > 0, c["name"]
        assert c["check"] == "ok", (c["name"], c["check"])
    assert sum("sparse" in c["name"] for c in cases) == 2

    assert any("pip install fastseq[bench]" in n for n in res["notes"])


def test_bench_missing_peers_say_na(capsys, monkeypatch):
    _hide(monkeypatch, "hmmlearn", "hmmlearn._hmmc", "torchcrf")
    assert cli.main(SMOKE + ["--cases", "N=3"]) == 0
    out = capsys.readouterr().out
    peer_rows = [ln for ln in _table_rows(out) if "hmmlearn " in ln or "pytorch-crf " in ln]
    assert peer_rows and all("n/a" in ln for ln in peer_rows)
    assert "not installed: hmmlearn, pytorch-crf" in out
    assert "pip install fastseq[bench]" in out


def test_bench_plot_writes_png(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    path = tmp_path / "speedups.png"
    assert cli.main(SMOKE + ["--peers", "none", "--cases", "N=3", "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {path}" in capsys.readouterr().out


def test_bench_plot_without_matplotlib(tmp_path, capsys, monkeypatch):
    _hide(monkeypatch, "matplotlib", "matplotlib.figure")
    path = tmp_path / "speedups.png"
    assert cli.main(SMOKE + ["--plot", str(path)]) == 1
    assert "matplotlib" in capsys.readouterr().err
    assert not path.exists()


def test_bench_threads_default_to_the_usable_cores(capsys):
    import os

    assert cli.main(SMOKE + ["--json", "--peers", "none", "--cases", "forward"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["config"]["threads"] == len(os.sched_getaffinity(0))


def test_bench_shows_a_stored_run(tmp_path, capsys):
    assert cli.main(SMOKE + ["--json", "--peers", "none", "--cases", "N=3"]) == 0
    stored = tmp_path / "run.json"
    stored.write_text(capsys.readouterr().out)
    assert cli.main(["bench", "--from-json", str(stored)]) == 0
    out = capsys.readouterr().out
    rows = _table_rows(out)
    assert rows and rows[0].startswith("log_partition B=4 T=6 N=3 f64")
    assert cli.main(["bench", "--from-json", str(tmp_path / "none.json")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_best_time_reports_the_loops_it_measured():
    from fastseq.bench import best_time

    calls = []
    t = best_time(lambda: calls.append(1), budget=0)  # the first call only
    assert (t.repeats, t.loops, len(calls)) == (1, 1, 1)
    calls.clear()
    t = best_time(lambda: calls.append(1), budget=0.05, min_time=0.001, max_repeats=3)
    assert t.repeats == 3
    assert len(calls) >= 1 + t.loops  # the first call, then the repeats, the last of t.loops


@pytest.mark.parametrize("kw", [{"mode": "fast"}, {"impl": "numpy"}])
def test_run_bench_rejects_unknown_settings(kw):
    from fastseq.bench import run_bench
    from fastseq.bench.cases import get_cases

    with pytest.raises(ValueError, match=next(iter(kw))):
        run_bench(peers=(), **kw)
    with pytest.raises(ValueError, match="mode"):
        get_cases("fast")


def test_a_closed_pipe_ends_quietly(tmp_path):
    import subprocess

    from fastseq.taggers import HMMTagger

    model = tmp_path / "m.zip"
    HMMTagger().train([[("the", "DET"), ("dog", "NOUN"), ("barks", "VERB")]]).save(model)
    text = tmp_path / "in.txt"
    text.write_text("the dog barks\n" * 100000)
    proc = subprocess.run(
        f"{sys.executable} -m fastseq tag --model {model} --batch-size 100 {text} | head -n 1",
        shell=True, capture_output=True, text=True)
    assert proc.stdout == "the/DET dog/NOUN barks/VERB\n"
    assert proc.stderr == ""
