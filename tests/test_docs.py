"""The documentation cannot rot: the docs site builds with warnings as errors, and every code
example -- in docstrings, in the docs pages and in the README -- runs and prints what it
shows."""
from __future__ import annotations

import doctest
import importlib
import importlib.util
import inspect
import pkgutil
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

import fastseq

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
HAVE_TORCH = importlib.util.find_spec("torch") is not None

# modules whose examples need an optional dependency
NEEDS = {"fastseq.torch": "torch", "fastseq.dask": "distributed",
         "fastseq.dask._cluster": "distributed", "fastseq.dask.crf": "distributed",
         "fastseq.dask.hmm": "distributed", "fastseq.dask.tagging": "distributed"}


def _modules():
    names = ["fastseq"]
    for info in pkgutil.walk_packages(fastseq.__path__, "fastseq."):
        if info.name.rsplit(".", 1)[-1] != "__main__" and info.name != "fastseq.tag":
            names.append(info.name)
    return sorted(names)


def _run_examples(tests, where):
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} failing example(s) in {where} (see above)"


def _comment_docs(module):
    """The doc comments (``#:`` lines) that document a module's constants, which the
    docstring finder does not see, as doctests."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):  # a compiled module
        return []
    blocks = re.findall(r"(?:^#:.*\n)+", source, flags=re.M)
    parser = doctest.DocTestParser()
    return [parser.get_doctest("".join(line[3:] + "\n" for line in block.splitlines()), {},
                               f"{module.__name__} #: block {i}", module.__file__, 0)
            for i, block in enumerate(blocks)]


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name):
    need = NEEDS.get(name)
    if need and importlib.util.find_spec(need) is None:
        pytest.skip(f"{name}'s examples need {need}, which is not installed")
    module = importlib.import_module(name)
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, name)
    tests += _comment_docs(module)
    _run_examples([t for t in tests if t.examples], name)


def _pages():
    """The docs pages that hold examples."""
    return sorted(p for p in DOCS.rglob("*.rst") if "_build" not in p.parts
                  and "generated" not in p.parts and ">>>" in p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_docs_page_examples_run(page):
    text = page.read_text(encoding="utf-8")
    if "import torch" in text and not HAVE_TORCH:
        pytest.skip("this page's examples need torch, which is not installed")
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {}, page.name, str(page), 0)
    _run_examples([test], page)


def _readme_blocks(lang="python"):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("i", range(len(_readme_blocks("pycon"))))
def test_readme_sessions_print_what_they_show(i):
    block = _readme_blocks("pycon")[i]
    test = doctest.DocTestParser().get_doctest(block, {}, f"README.md pycon block {i}",
                                               "README.md", 0)
    _run_examples([test], f"README.md pycon block {i}")


@pytest.mark.parametrize("i", range(len(_readme_blocks())))
def test_readme_python_blocks_run(i, tmp_path, monkeypatch):
    code = _readme_blocks()[i]
    if "torch" in code and not HAVE_TORCH:
        pytest.skip("this example needs torch, which is not installed")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"README.md python block {i}", "exec"), {"__name__": "__readme__"})


def test_docs_build_without_warnings(tmp_path):
    if importlib.util.find_spec("sphinx") is None or importlib.util.find_spec("numpydoc") is None:
        pytest.skip("sphinx and numpydoc are not installed (pip install fastseq[test])")
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-20000:]
    assert (out / "index.html").is_file()


@pytest.mark.parametrize("script", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_example_scripts_run(script, tmp_path, monkeypatch, capsys):
    if "import torch" in script.read_text(encoding="utf-8") and not HAVE_TORCH:
        pytest.skip(f"{script.name} needs torch, which is not installed")
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(script), run_name="__main__")
    assert capsys.readouterr().out.strip()
