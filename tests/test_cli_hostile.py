"""Bad input for every ``fastseq`` command: one line on stderr, never a traceback.

Data and model problems print ``fastseq <command>: error: <message>`` and exit with 1, usage
errors exit with 2 (argparse), Ctrl-C prints ``fastseq <command>: interrupted`` and exits
with 130, and a reader that goes away (``| head``) ends the command quietly.
"""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import zipfile

import pytest

from fastseq.cli import main
from fastseq.cli.inputs import MAX_SENTENCE_TOKENS
from fastseq.io import MAX_LINE_LENGTH
from fastseq.taggers import load_tagger

TRAIN = "The DT\ndog NN\nbarks VBZ\n\nA DT\ncat NN\nsleeps VBZ\n"
CONLLU = ("# sent_id = 1\n1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n"
          "2\tdog\tdog\tNOUN\tNN\t_\t0\troot\t_\t_\n\n")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    train = tmp / "train.txt"
    train.write_text(TRAIN, encoding="utf-8")
    model = tmp / "pos.zip"
    assert main(["train", "hmm", "--train", str(train), "--model", str(model), "-q"]) == 0
    return tmp, train, model


def _one_error(capsys, argv, command, status=1):
    """Run ``fastseq argv``; check the status and the one-line error; return the line."""
    assert main([str(a) for a in argv]) == status
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(f"fastseq {command}: error: "), err
    assert "Traceback" not in err and len(err) < 500
    return err


def _commands(tmp, model, path):
    """Every command that reads ``path`` as CoNLL or text data."""
    return [
        (["tag", "--model", model, path], "tag"),
        (["tag", "--model", model, "--format", "conll", path], "tag"),
        (["eval", "--model", model, "--test", path], "eval"),
        (["train", "hmm", "--train", path, "--model", tmp / "out.zip"], "train hmm"),
        (["train", "hmm", "--train", tmp / "train.txt", "--dev", path, "--model",
          tmp / "out.zip", "-q"], "train hmm"),
        (["train", "crf", "--train", path, "--model", tmp / "out.zip"], "train crf"),
    ]


# --------------------------------------------------------------------------------------------
# bad data files
# --------------------------------------------------------------------------------------------

BAD_DATA = {
    "binary": (bytes(range(256)) * 8, 1, "binary"),
    "invalid utf-8": (b"The DT\nd\xffog NN\n", 2, "utf-8"),
    "nul": (b"The DT\n\ndog\x00 NN\n", 3, "U+0000"),
    "escape in a tag": (b"The DT\ndog \x1b[2JNN\n", 2, "U+001B"),
    "utf-16": ("The DT\n".encode("utf-16"), 1, "utf-16"),
    "long line": (b"The DT\n" + b"x " * (MAX_LINE_LENGTH // 2 + 1) + b"\n", 2,
                  "max_line_length"),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_files(setup, capsys, case):
    tmp, _, model = setup
    data, line, word = BAD_DATA[case]
    path = tmp / "bad.txt"
    path.write_bytes(data)
    for argv, command in _commands(tmp, model, path):
        err = _one_error(capsys, argv, command)
        assert f"{path}, line {line}: " in err and word in err, err
    assert not (tmp / "out.zip").exists()


def test_missing_empty_and_directory_inputs(setup, capsys):
    tmp, _, model = setup
    empty = tmp / "empty.txt"
    empty.write_bytes(b"\n\n")
    for argv, command in _commands(tmp, model, tmp / "absent.txt"):
        assert "no such file" in _one_error(capsys, argv, command)
    for argv, command in _commands(tmp, model, tmp):
        assert "is a directory" in _one_error(capsys, argv, command)
    for argv, command in _commands(tmp, model, empty):
        if command == "tag":  # nothing to tag is not an error
            assert main([str(a) for a in argv]) == 0
            assert capsys.readouterr().out.strip() == ""
        else:
            assert "no " in _one_error(capsys, argv, command)


def test_ragged_columns(setup, capsys):
    tmp, _, model = setup
    ragged = tmp / "ragged.txt"
    ragged.write_text("The DT\ndog\n", encoding="utf-8")
    for argv, command in _commands(tmp, model, ragged):
        if command != "tag":
            assert f"{ragged}, line 2: " in _one_error(capsys, argv, command)
    # conllu with the wrong number of columns, in tag
    err = _one_error(capsys, ["tag", "--model", model, "--format", "conllu", ragged], "tag")
    assert f"{ragged}, line 1: expected 10 tab-separated" in err


def test_an_empty_word_is_an_error_at_its_line(setup, capsys):
    # a CoNLL-U token line whose FORM is empty (found by the reader fuzzer: the tagger's
    # error came without the file and line)
    tmp, _, model = setup
    path = tmp / "empty_word.txt"
    path.write_bytes(b"1\tThe\t_\t_\t_\t_\t_\t_\t_\t_\n\t\t\t\t\t\t\t\t\t!\n")
    err = _one_error(capsys, ["tag", "--model", model, "--format", "conllu", path], "tag")
    assert f"{path}, line 2: " in err and "empty" in err, err


def test_a_file_without_blank_lines_is_not_one_giant_sentence(setup, capsys):
    tmp, _, model = setup
    flat = tmp / "flat.txt"
    flat.write_text("The DT\n" * (MAX_SENTENCE_TOKENS + 1), encoding="utf-8")
    for argv, command in _commands(tmp, model, flat)[1:]:
        assert "blank lines" in _one_error(capsys, argv, command)


def test_tag_splits_columns_as_training_does(setup, capsys):
    # conll input is split on ASCII blanks, as fastseq.io reads it: a NO-BREAK SPACE stays
    # inside its token, so this line has two columns for tag as for eval and train
    tmp, _, model = setup
    words = tmp / "nbsp.txt"
    words.write_text("x 10\u00a0000\n", encoding="utf-8")
    err = _one_error(capsys, ["tag", "--model", model, "--format", "conll", "--word-field",
                              "2", words], "tag")
    assert "no column 2 for the words (2 columns)" in err
    assert main(["tag", "--model", str(model), "--format", "conll", "--word-field", "1",
                 str(words), "-q"]) == 0
    assert capsys.readouterr().out.startswith("x 10\u00a0000 ")


# --------------------------------------------------------------------------------------------
# bad model files
# --------------------------------------------------------------------------------------------


def test_bad_model_files(setup, capsys, tmp_path):
    tmp, train, model = setup
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"\x00junk" * 100)
    empty_zip = tmp_path / "empty.zip"
    zipfile.ZipFile(empty_zip, "w").close()
    meta = load_tagger(model)
    meta.metadata = {**meta.metadata, "columns": 5}
    bad_meta = tmp_path / "meta.zip"
    meta.save(bad_meta)
    cases = {tmp_path / "absent.zip": "no such model", tmp_path: "", junk: "not a valid",
             empty_zip: "not a valid", bad_meta: "metadata 'columns'"}
    for path, word in cases.items():
        for argv, command in (
                (["tag", "--model", path, train], "tag"),
                (["eval", "--model", path, "--test", train], "eval")):
            assert word in _one_error(capsys, argv, command)


# --------------------------------------------------------------------------------------------
# bad option values, and outputs that would destroy inputs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["eval", "--test", "{train}", "--model", "{model}", "--digits", "-5"],
    ["eval", "--test", "{train}", "--model", "{model}", "--digits", "100000"],
    ["tag", "--model", "{model}", "{train}", "--sep", "\n"],
    ["tag", "--model", "{model}", "{train}", "--batch-size", "0"],
    ["tag", "--model", "{model}", "{train}", "--threads", "0"],
    ["bench", "--budget", "0"],
    ["bench", "--budget", "nan"],
    ["bench", "--ref-sequences", "-1"],
    ["bench", "--peer-sequences", "x"],
    ["train", "hmm", "--train", "{train}", "--model", "{model}", "--order", "3"],
])
def test_bad_option_values_are_usage_errors(setup, capsys, argv):
    tmp, train, model = setup
    argv = [a.format(train=train, model=model) for a in argv]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def test_outputs_never_overwrite_inputs(setup, capsys, tmp_path):
    tmp, train, model = setup
    text = tmp_path / "text.txt"
    text.write_text("The dog\n", encoding="utf-8")
    assert "is the input" in _one_error(capsys, ["tag", "--model", model, text, "-o", text],
                                        "tag")
    assert text.read_text(encoding="utf-8") == "The dog\n"
    copy = tmp_path / "train.txt"
    copy.write_text(TRAIN, encoding="utf-8")
    for opt in ("--train", "--dev"):
        argv = ["train", "hmm", "--train", train, opt, copy, "--model", copy]
        assert f"the {opt} file" in _one_error(capsys, argv, "train hmm")
        assert copy.read_text(encoding="utf-8") == TRAIN
    assert "line break" in _one_error(capsys, ["tag", "--model", model, text, "--tag-sep",
                                               "\n"], "tag")
    for out in (tmp_path, tmp_path / "no" / "dir" / "out.txt"):
        err = _one_error(capsys, ["tag", "--model", model, text, "-o", out], "tag")
        assert str(out) in err and "Errno" not in err


def test_bench_from_json_garbage(capsys, tmp_path):
    for name, text, word in [
            ("truncated.json", '{"env": {', "cannot read"),
            ("list.json", "[1, 2]", "not the output"),
            ("deep.json", "[" * 200_000, "cannot read"),
            ("holes.json", '{"env": {}, "config": {}, "cases": [{}]}', "not a complete"),
            ("binary.json", "\udcff", "cannot read")]:
        path = tmp_path / name
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        assert word in _one_error(capsys, ["bench", "--from-json", path], "bench")


def test_bench_cases_that_match_nothing(capsys):
    err = _one_error(capsys, ["bench", "--smoke", "--peers", "none", "--cases", "no-such"],
                     "bench")
    assert "'no-such'" in err


# --------------------------------------------------------------------------------------------
# stdin, pipes and processes
# --------------------------------------------------------------------------------------------


class _Stdin(io.TextIOWrapper):
    """A stand-in for sys.stdin with a binary buffer, as the real one has."""

    def __init__(self, data: bytes):
        buffer = io.BytesIO(data)
        buffer.name = "<stdin>"
        super().__init__(buffer, encoding="utf-8")


def test_stdin_is_sniffed_without_losing_data(setup, capsys, monkeypatch):
    tmp, train, model = setup
    monkeypatch.setattr("sys.stdin", _Stdin(("\n" * 3 + TRAIN * 200).encode()))
    assert main(["eval", "--model", str(model), "--test", "-", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_tokens"] == 6 * 200
    conllu = CONLLU * 100
    monkeypatch.setattr("sys.stdin", _Stdin(conllu.encode()))
    argv = ["train", "hmm", "--train", "-", "--model", str(tmp / "u.zip"), "-q"]
    assert main(argv) == 0
    assert load_tagger(tmp / "u.zip").n_train_tokens_ == 200
    monkeypatch.setattr("sys.stdin", _Stdin(b"The DT\n\xff\n"))
    assert "<stdin>, line 2: " in _one_error(
        capsys, ["eval", "--model", model, "--test", "-"], "eval")


def test_a_pipe_given_by_path_is_read_once(setup, capsys, tmp_path):
    # e.g. --test <(zcat test.txt.gz): sniffing the format must not swallow data
    tmp, train, model = setup
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "wb") as fh:
            fh.write(("\n" + TRAIN).encode() * 5000)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert main(["eval", "--model", str(model), "--test", str(fifo), "--json"]) == 0
    finally:
        writer.join()
    assert json.loads(capsys.readouterr().out)["n_tokens"] == 6 * 5000


def _fastseq(*args, **kw):
    # unbuffered, so that each batch of tags comes back as it is written
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "fastseq", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, **kw)


def test_broken_pipe_ends_quietly(setup, tmp_path):
    tmp, train, model = setup
    text = tmp_path / "many.txt"
    text.write_text("The dog barks\n" * 200_000, encoding="utf-8")
    proc = _fastseq("tag", "--model", model, text, "-q", "--batch-size", "100")
    assert proc.stdout.readline().decode() == "The/DT dog/NN barks/VBZ\n"
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert err == ""


def test_ctrl_c_is_one_line_and_130(setup):
    tmp, train, model = setup
    proc = _fastseq("tag", "--model", model, "--batch-size", "1", "-q", stdin=subprocess.PIPE)
    proc.stdin.write(b"The dog\n")
    proc.stdin.flush()
    # the first sentence comes back: the command is now waiting for more input
    assert proc.stdout.readline() == b"The/DT dog/NN\n"
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 130
    assert err == "fastseq tag: interrupted\n"
    proc.stdin.close()
    proc.stdout.close()
    proc.stderr.close()


def test_closed_standard_streams(setup):
    tmp, train, model = setup
    for args, redirect, stream in ((["tag", "--model", model, train], ">&-", "output"),
                                   (["tag", "--model", model], "<&-", "input")):
        proc = subprocess.run(
            ["sh", "-c", f'exec "$0" -m fastseq "$@" {redirect}', sys.executable,
             *map(str, args)], stderr=subprocess.PIPE, timeout=120)
        assert proc.returncode == 1
        assert proc.stderr.decode() == f"fastseq tag: error: standard {stream} is closed\n"


def test_read_errors_name_the_file(setup, capsys):
    tmp, _, model = setup
    path = "/proc/self/mem"  # a file that exists and cannot be read from its start
    if not os.path.exists(path):
        pytest.skip("needs Linux /proc")
    for argv, command in _commands(tmp, model, path):
        assert f"error: {path}: " in _one_error(capsys, argv, command)


def test_file_names_with_control_characters_stay_on_one_line(capsys, tmp_path, setup):
    _, _, model = setup
    path = tmp_path / "e\x1b[31mvil\nname.txt"
    path.write_bytes(b"The DT\nd\xffog NN\n")
    err = _one_error(capsys, ["eval", "--model", model, "--test", path], "eval")
    assert "\x1b" not in err and "e\\x1b[31mvil\\nname.txt, line 2: " in err
