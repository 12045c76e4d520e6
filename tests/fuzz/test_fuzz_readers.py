"""Fuzzing of the CoNLL / CoNLL-U readers and of the input parsing of ``fastseq tag`` / ``eval``.

Random bytes, random text, and valid corpora mutated (bytes inserted, deleted, duplicated or
replaced by line ends, tabs, NULs, invalid UTF-8, BOMs ...) are read by every reader, from
a path, a binary and a text file object, with line limits from tiny to the default. Each
read must either give the sentences a plain line-by-line reading (the oracle below, built on
Python's own line splitting and decoding) gives, or raise DataFileError at the line where
that reading finds the first problem, with a short message naming the file and the line.
The ``fastseq`` commands must answer such files with sentences or one short error line.
"""
from __future__ import annotations

import contextlib
import io
import re
from typing import List, Optional, Tuple, Union

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastseq.cli import main
from fastseq.exceptions import DataFileError
from fastseq.io import (
    MAX_LINE_LENGTH,
    iter_conll,
    iter_conllu,
    iter_lines,
    read_conll,
    read_conllu,
)

_BLANKS = " \t\n\r\f\v"
_FIELD_SEP = re.compile("[ \t\f\v]+")
_CONLLU_ROW = "{i}\t{w}\t{w}\tNOUN\tNN\t_\t0\troot\t_\t_"

_TOKENS = ["EU", "rejects", "B-ORG", "O", "I-PER", "-DOCSTART-", "Coruña", "10\u00a0000", "#",
           "1", "2-3", "4.1", "_", "\u202e", "日本", "\U0001f600", "x" * 40]
_JUNK = [b"\x00", b"\xff", b"\xc3", b"\xe2\x82", b"\x1b[2J", b"\x7f", b"\xef\xbb\xbf", b"\x85",
         b"\xfe\xff", b"\x0b", b"\x0c", b"\x1c"]
_ENDS = [b"\n", b"\r\n", b"\r", b"\n\n", b"\r\r\n"]


def _is_control(ch: str) -> bool:
    """C0 controls and DEL, less the ASCII whitespace: what the readers refuse."""
    return (ord(ch) < 0x20 or ord(ch) == 0x7F) and ch not in "\t\n\r\x0b\x0c"


def _split_lines(data: Union[bytes, str]) -> list:
    """Lines ended by LF, CR LF or CR (Python's bytes.splitlines, or a regex for text)."""
    if isinstance(data, bytes):
        return data.splitlines()
    lines = re.split("\r\n|\r|\n", data)
    return lines[:-1] if lines and lines[-1] == "" else lines


def _oracle(data: Union[bytes, str], limit: int, fmt: str):
    """("ok", sentences as lists of rows) or ("error", first bad line number)."""
    sents: List[List[List[str]]] = []
    cur: List[List[str]] = []
    ncols: Optional[int] = None
    for i, raw in enumerate(_split_lines(data), 1):
        if len(raw) > limit:
            return "error", i
        try:
            line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError:
            return "error", i
        if i == 1 and line.startswith("\ufeff"):
            line = line[1:]
        if any(_is_control(ch) for ch in line):
            return "error", i
        if not line.strip(_BLANKS):
            if cur:
                sents.append(cur)
                cur = []
            continue
        if fmt == "conllu":
            if line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != 10:
                return "error", i
            if "-" in fields[0] or "." in fields[0]:
                continue
        else:
            fields = _FIELD_SEP.split(line.strip(_BLANKS))
            if fields[0] == "-DOCSTART-":
                continue
            ncols = len(fields) if ncols is None else ncols
            if len(fields) != ncols:
                return "error", i
        cur.append(fields)
    if cur:
        sents.append(cur)
    return "ok", sents


def _rows(sents) -> List[List[List[str]]]:
    return [[list(row) for row in zip(*s.values())] for s in sents]


def _check_reader(read, source, data, limit: int, fmt: str, name: str) -> None:
    want = _oracle(data, limit, fmt)
    try:
        got = read(source, max_line_length=limit)
    except DataFileError as exc:
        msg = str(exc)
        assert want[0] == "error", f"{msg!r}; the oracle reads {want[1]!r}"
        assert exc.lineno == want[1], f"{msg!r}; the oracle's first bad line is {want[1]}"
        assert msg.startswith(f"{name}, line {exc.lineno}: ") and len(msg) < 500, msg
        assert not any(_is_control(ch) for ch in msg), msg
        return
    assert want[0] == "ok", f"read {got!r}; the oracle fails at line {want[1]}"
    assert _rows(got) == want[1]


def _listed(lazy):
    return lambda source, **kw: list(lazy(source, **kw))


def _check_all_readers(data: bytes, limit: int, tmp_path) -> None:
    path = tmp_path / "fuzz.txt"
    path.write_bytes(data)
    for fmt, read, lazy in (("conll", read_conll, iter_conll),
                            ("conllu", read_conllu, iter_conllu)):
        _check_reader(read, path, data, limit, fmt, str(path))
        _check_reader(_listed(lazy), io.BytesIO(data), data, limit, fmt, "<stream>")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        # a text file: the same lines, the limit counted in characters
        _check_reader(read, io.StringIO(text, newline=""), text, limit, fmt, "<stream>")


# --------------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------------


@st.composite
def _corpus_bytes(draw) -> bytes:
    """A CoNLL or CoNLL-U looking file with odd tokens, separators, line ends and junk."""
    conllu = draw(st.booleans())
    out = bytearray()
    for i in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["row", "row", "row", "blank", "comment", "junk"]))
        if kind == "row":
            words = draw(st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=4))
            if conllu:
                line = _CONLLU_ROW.format(i=draw(st.sampled_from([str(i + 1), "1-2", "3.1"])),
                                          w=words[0])
            else:
                line = draw(st.sampled_from([" ", "\t", "  \t"])).join(words)
            out += line.encode("utf-8")
        elif kind == "comment":
            out += b"# text = " + draw(st.sampled_from(_TOKENS)).encode("utf-8")
        elif kind == "junk":
            out += draw(st.sampled_from(_JUNK))
        out += draw(st.sampled_from(_ENDS))
    if draw(st.booleans()) and out:
        out = out.rstrip(b"\r\n")  # no final line end
    return bytes(out)


_VALID = [
    "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n",
    "# sent_id = 1\n# text = The dog\n1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n"
    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n2\tdog\tdog\tNOUN\tNN\t_\t0\troot\t_\t_\n\n",
    "New York\tB-location\n!\tO\n\t\n@user\tO\n",
]


@st.composite
def _mutated(draw) -> bytes:
    """A valid corpus with a few random edits."""
    data = bytearray(draw(st.sampled_from(_VALID)).encode("utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["insert", "delete", "duplicate", "replace"]))
        if edit == "insert":
            data[pos:pos] = draw(st.sampled_from(_JUNK + _ENDS + [b"\t", b" ", b"\xa0"]))
        elif edit == "delete":
            del data[pos:pos + draw(st.integers(1, 8))]
        elif edit == "duplicate":
            data[pos:pos] = data[pos:pos + draw(st.integers(1, 40))]
        else:
            data[pos:pos + 1] = draw(st.sampled_from(_JUNK + _ENDS + [b"\t", b" "]))
    return bytes(data)


_LIMITS = st.sampled_from([1, 3, 8, 20, 64, MAX_LINE_LENGTH])
_DATA = st.one_of(st.binary(max_size=200), _corpus_bytes(), _mutated())


# --------------------------------------------------------------------------------------------
# the readers
# --------------------------------------------------------------------------------------------


def test_readers_match_a_plain_reading(fuzz, tmp_path):
    @given(_DATA, _LIMITS)
    def check(data, limit):
        fuzz.count()
        _check_all_readers(data, limit, tmp_path)

    fuzz.run(check)


def test_readers_on_random_text(fuzz, tmp_path):
    @given(st.text(st.characters(codec="utf-8"), max_size=120), _LIMITS)
    def check(text, limit):
        fuzz.count()
        _check_all_readers(text.encode("utf-8"), limit, tmp_path)

    fuzz.run(check)


def test_lines_survive_any_read_size(fuzz):
    # a stream that hands out its bytes in pieces of random sizes (as a pipe does)
    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes, sizes: List[int]):
            self.data, self.sizes = data, sizes or [1]

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            n = min(len(buffer), self.sizes[0], len(self.data))
            self.sizes = self.sizes[1:] + self.sizes[:1]
            buffer[:n] = self.data[:n]
            self.data = self.data[n:]
            return n

    @given(_DATA, st.lists(st.integers(1, 9), max_size=6))
    def check(data, sizes):
        fuzz.count()
        want: Tuple = ("ok", [line for line in _split_lines(data)])
        try:
            want = ("ok", [line.decode("utf-8") for line in want[1]])
        except UnicodeDecodeError:
            want = ("error", None)
        if want[0] == "ok" and want[1] and want[1][0].startswith("\ufeff"):
            want[1][0] = want[1][0][1:]
        if want[0] == "ok" and any(_is_control(ch) for line in want[1] for ch in line):
            want = ("error", None)
        try:
            got = list(iter_lines(io.BufferedReader(Trickle(data, sizes), buffer_size=7)))
        except DataFileError:
            assert want[0] == "error"
        else:
            assert want == ("ok", got)

    fuzz.run(check)


# --------------------------------------------------------------------------------------------
# the commands
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz_cli")
    train = tmp / "train.txt"
    train.write_text("The DT B-NP\ndog NN I-NP\n\nA DT B-NP\ncat NN I-NP\n", encoding="utf-8")
    path = tmp / "m.zip"
    assert main(["train", "hmm", "--train", str(train), "--model", str(path), "-q"]) == 0
    return path


def _run(argv) -> Tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, err.getvalue()


def test_commands_answer_any_input(fuzz, tmp_path, model):
    @given(_DATA)
    def check(data):
        fuzz.count()
        path = tmp_path / "input.txt"
        path.write_bytes(data)
        for argv, command in (
                (["eval", "--model", model, "--test", path], "eval"),
                (["tag", "--model", model, "--format", "conll", path, "-q"], "tag"),
                (["tag", "--model", model, "--format", "conllu", path, "-q"], "tag"),
                (["tag", "--model", model, path, "-q"], "tag")):
            status, err = _run(argv)
            if status == 0:
                continue
            assert status == 1, err
            assert err.count("\n") == 1 and err.startswith(f"fastseq {command}: error: "), err
            assert str(path) in err and len(err) < 500, err
            line = re.search(r", line (\d+): ", err)
            if line is not None:
                assert 1 <= int(line.group(1)) <= len(_split_lines(data)) + 1, err

    fuzz.run(check)
