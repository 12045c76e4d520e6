"""Hostile files for the readers of fastseq.io and fastseq.datasets.

Whatever a file holds, a reader either reads it (when it is a legitimate variant of the
format: CRLF or CR line ends, a BOM, no final newline, an empty file) or raises
DataFileError -- a ValueError whose short message names the file and the line -- never a raw
UnicodeDecodeError, IndexError, KeyError or MemoryError, and never holding a huge line whole.
"""
from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import textwrap
import threading

import pytest

from fastseq import datasets
from fastseq.exceptions import DataFileError, FastseqError
from fastseq.io import (
    MAX_LINE_LENGTH,
    iter_conll,
    iter_conllu,
    iter_lines,
    read_conll,
    read_conllu,
    to_tagged,
)

CONLLU_LINE = "1\tdogs\tdog\tNOUN\tNNS\t_\t0\troot\t_\t_"


def _conll(path, **kw):
    return read_conll(path, **kw)


def _conll_lazy(path, **kw):
    return list(iter_conll(path, **kw))


def _conllu(path, **kw):
    return read_conllu(path, **kw)


def _conllu_lazy(path, **kw):
    return list(iter_conllu(path, **kw))


READERS = [_conll, _conll_lazy, _conllu, _conllu_lazy]


def _write(tmp_path, data: bytes, name="hostile.txt"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def _raises_data_error(reader, source, line, **kw) -> DataFileError:
    """The DataFileError ``reader`` raises on ``source``, checked for what every such error
    must say: the file, the line, and a message short enough for a terminal."""
    with pytest.raises(DataFileError) as info:
        reader(source, **kw)
    exc = info.value
    msg = str(exc)
    assert isinstance(exc, ValueError)
    assert exc.lineno == line, msg
    assert f", line {line}: " in msg
    name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else exc.filename
    assert msg.startswith(f"{name}, line {line}: ")
    assert len(msg) < 500
    assert "\n" not in msg and "\x1b" not in msg and "\x00" not in msg
    return exc


# --------------------------------------------------------------------------------------------
# legitimate variants read
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_line_endings_read_alike(tmp_path, ending):
    data = ending.join([b"EU B-ORG", b"rejects O", b"", b"Peter B-PER"]) + ending
    want = [{"w": ["EU", "rejects"], "t": ["B-ORG", "O"]}, {"w": ["Peter"], "t": ["B-PER"]}]
    assert read_conll(_write(tmp_path, data), columns=("w", "t")) == want
    # the same from open files, binary and text
    assert read_conll(io.BytesIO(data), columns=("w", "t")) == want
    text = data.decode("ascii")
    assert read_conll(io.StringIO(text, newline=""), columns=("w", "t")) == want


def test_conllu_line_endings_bom_and_no_final_newline(tmp_path):
    data = ("\ufeff# sent_id = 1\r\n" + CONLLU_LINE + "\r\n\r\n" + CONLLU_LINE).encode("utf-8")
    sents = read_conllu(_write(tmp_path, data, "x.conllu"), fields=("form", "upos"))
    assert sents == [{"form": ["dogs"], "upos": ["NOUN"]}] * 2


@pytest.mark.parametrize("reader", READERS)
def test_empty_and_blank_files_have_no_sentences(tmp_path, reader):
    for data in (b"", b"\n\n", b"\r\n \t\r\n", b"\xef\xbb\xbf"):
        assert reader(_write(tmp_path, data)) == []


def test_crlf_split_across_read_boundaries_makes_no_extra_lines():
    # put the CR of a CR LF at offset 2**k - 1 for every k a reader could read chunks of
    # 2**k bytes for, and check against Python's universal-newline decoding of the bytes
    data = bytearray()
    for boundary in (1 << k for k in range(8, 21)):
        while boundary - 1 - len(data) > 40:
            data += b"fill O\r\n"
        room = boundary - 1 - len(data)  # the line before the CR
        data += b"z" * (room - 2) + b" O\r\n"
        assert data[boundary - 1:boundary + 1] == b"\r\n"
    data += b"last O"
    want = io.TextIOWrapper(io.BytesIO(bytes(data)), encoding="utf-8").read().split("\n")
    assert "" not in want
    assert list(iter_lines(io.BytesIO(bytes(data)))) == want
    text = io.StringIO(bytes(data).decode("ascii"), newline="")  # CR LF kept in the text
    assert list(iter_lines(text)) == want


def test_a_fifo_with_a_writer_reads(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "wb") as fh:
            fh.write(b"EU B-ORG\n\nPeter B-PER")

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert read_conll(fifo, columns=("w", "t")) == [
            {"w": ["EU"], "t": ["B-ORG"]}, {"w": ["Peter"], "t": ["B-PER"]}]
    finally:
        writer.join()


def test_other_encodings(tmp_path):
    text = "Coruña B-LOC\r\n\r\nZürich B-LOC\n"
    for encoding in ("latin-1", "utf-16", "utf-8-sig", "cp1252"):
        p = _write(tmp_path, text.encode(encoding))
        assert read_conll(p, columns=("w", "t"), encoding=encoding) == [
            {"w": ["Coruña"], "t": ["B-LOC"]}, {"w": ["Zürich"], "t": ["B-LOC"]}]


# --------------------------------------------------------------------------------------------
# garbage is a DataFileError
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", READERS)
def test_binary_file(tmp_path, reader):
    p = _write(tmp_path, bytes(range(256)) * 64)
    exc = _raises_data_error(reader, p, 1)
    assert "binary" in str(exc)


@pytest.mark.parametrize("reader", READERS)
def test_invalid_utf8_names_line_and_byte(tmp_path, reader):
    good = CONLLU_LINE.encode() + b"\n"
    p = _write(tmp_path, good + good + b"1\tca\xfft\tcat\tNOUN\tNN\t_\t0\troot\t_\t_\n")
    exc = _raises_data_error(reader, p, 3, **({} if "conllu" in reader.__name__ else
                                               {"sep": "\t"}))
    msg = str(exc)
    assert "utf-8" in msg and "0xff" in msg and "ca\\xfft" in msg


@pytest.mark.parametrize("reader", READERS)
def test_nul_and_escape_characters(tmp_path, reader):
    tab = {} if "conllu" in reader.__name__ else {"sep": "\t"}
    for bad in ("NO\x00UN", "\x1b[31mNOUN", "NO\x7fUN"):
        line = CONLLU_LINE.replace("NOUN", bad)
        p = _write(tmp_path, f"{CONLLU_LINE}\n\n{line}\n".encode())
        msg = str(_raises_data_error(reader, p, 3, **tab))
        assert "control character" in msg


def test_utf16_read_as_utf8_says_so(tmp_path):
    p = _write(tmp_path, "EU B-ORG\n".encode("utf-16"))
    msg = str(_raises_data_error(read_conll, p, 1))
    assert "encoding='utf-16'" in msg


def test_bad_utf16_names_the_line(tmp_path):
    data = "EU B-ORG\n\nPeter B-PER\n".encode("utf-16-le") + b"\x00\xd8" + "x O\n".encode(
        "utf-16-le")
    _raises_data_error(read_conll, _write(tmp_path, data), 4, encoding="utf-16-le")


@pytest.mark.parametrize("reader", [_conll, _conll_lazy])
def test_inconsistent_and_enormous_column_counts(tmp_path, reader):
    p = _write(tmp_path, b"EU B-ORG\nrejects\n")
    assert "found 1" in str(_raises_data_error(reader, p, 2))
    wide = b" ".join([b"c"] * 400_000)  # 800 kB: under the line limit
    p = _write(tmp_path, b"EU B-ORG\n" + wide + b"\n")
    msg = str(_raises_data_error(reader, p, 2))
    assert "found 400000" in msg


@pytest.mark.parametrize("reader", [_conllu, _conllu_lazy])
def test_conllu_column_counts(tmp_path, reader):
    for line in ("1\tdogs", CONLLU_LINE + "\textra", "\t".join(["x"] * 100_000)):
        p = _write(tmp_path, f"# c\n{line}\n".encode())
        assert "10 tab-separated" in str(_raises_data_error(reader, p, 2))


def test_directory_and_missing_file(tmp_path):
    for reader in (read_conll, read_conllu, iter_conll, iter_conllu, iter_lines):
        with pytest.raises(IsADirectoryError):
            reader(tmp_path)
        with pytest.raises(FileNotFoundError):
            reader(tmp_path / "absent.txt")


def test_bad_reading_arguments():
    for reader in (read_conll, read_conllu, iter_conll, iter_conllu, iter_lines):
        with pytest.raises(ValueError, match="encoding"):
            reader(io.StringIO(""), encoding="no-such-codec")
        with pytest.raises(ValueError, match="max_line_length"):
            reader(io.StringIO(""), max_line_length=0)
        with pytest.raises(TypeError, match="max_line_length"):
            reader(io.StringIO(""), max_line_length=1.5)


# --------------------------------------------------------------------------------------------
# long lines
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", READERS)
def test_long_line_is_refused_with_a_short_message(tmp_path, reader):
    long_line = b"x" * (MAX_LINE_LENGTH + 1)
    p = _write(tmp_path, b"\n\n" + long_line + b"\nEU B-ORG\n")
    msg = str(_raises_data_error(reader, p, 3))
    assert "max_line_length" in msg and "'xxxx" in msg and "..." in msg


def test_line_limit_is_exact_and_overridable(tmp_path):
    line = "w" * 99 + " O"  # 101 characters, bytes too
    for source in (_write(tmp_path, f"a O\n{line}\r\n".encode()),
                   io.StringIO(f"a O\n{line}\n")):
        for limit, ok in ((101, True), (100, False)):
            if isinstance(source, io.StringIO):
                source.seek(0)
            if ok:
                sents = read_conll(source, max_line_length=limit)
                assert sents[0]["0"] == ["a", "w" * 99]
            else:
                _raises_data_error(read_conll, source, 2, max_line_length=limit)


def test_long_unterminated_last_line(tmp_path):
    p = _write(tmp_path, b"EU B-ORG\n" + b"y" * 300_000 + b" O")
    _raises_data_error(read_conll, p, 2, max_line_length=200_000)
    assert read_conll(p, max_line_length=300_002)[0]["0"] == ["EU", "y" * 300_000]


def test_excerpt_escapes_and_stays_short(tmp_path):
    line = "\u202e" * 500 + " O"  # right-to-left override: shown escaped, not applied
    p = _write(tmp_path, f"a O B\n{line}\n".encode())
    msg = str(_raises_data_error(read_conll, p, 2))
    assert "\u202e" not in msg and "\\u202e" in msg and msg.endswith("...")


def test_huge_line_memory_is_bounded(tmp_path):
    # one 50 MB line: the documented error, with peak memory a small multiple of the line
    # limit rather than of the line (measured in a fresh interpreter)
    p = tmp_path / "huge.txt"
    with open(p, "wb") as fh:
        block = b"x " * (1 << 19)
        for _ in range(50):
            fh.write(block)
        fh.write(b"\n")
    script = textwrap.dedent("""
        import io, resource, sys
        from fastseq.exceptions import DataFileError
        from fastseq.io import MAX_LINE_LENGTH, read_conll, read_conllu
        read_conll(io.BytesIO(b"a B\\n" * 1000)), read_conllu(io.BytesIO(b""))  # warm up
        for read in (read_conll, read_conllu):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            try:
                read(sys.argv[1])
            except DataFileError as exc:
                assert exc.lineno == 1, exc
            else:
                raise SystemExit("no error")
            grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
            print(read.__name__, grew / MAX_LINE_LENGTH)
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(p)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for line in proc.stdout.splitlines():
        name, ratio = line.split()
        assert float(ratio) < 3, f"{name}: peak memory grew by {ratio} x the line limit"


# --------------------------------------------------------------------------------------------
# the error type, and the datasets loaders
# --------------------------------------------------------------------------------------------


def test_data_file_error_is_a_value_error_that_pickles():
    exc = DataFileError("train.txt", 7, "expected 2 columns")
    assert isinstance(exc, ValueError) and isinstance(exc, FastseqError)
    assert str(exc) == "train.txt, line 7: expected 2 columns"
    back = pickle.loads(pickle.dumps(exc))
    assert (back.filename, back.lineno, back.reason, str(back)) == (
        "train.txt", 7, "expected 2 columns", str(exc))
    assert str(DataFileError("x", None, "why")) == "x: why"


@pytest.mark.parametrize("name, split", [("conll2003", "train"), ("ud_english_ewt", "dev"),
                                         ("wnut17", "test")])
def test_datasets_loaders_report_hostile_files(tmp_path, name, split):
    corpus = datasets.info(name)
    canon = corpus.resolve_split(split)
    target = tmp_path / corpus.folder / corpus.files[canon]
    target.parent.mkdir(parents=True)
    target.write_bytes(b"ok\x00\n" + b"\xff" * 10)
    for load in (datasets.load, datasets.load_tagged):
        with pytest.raises(DataFileError) as info:
            load(name, split, data_home=tmp_path)
        assert info.value.filename == str(target) and info.value.lineno == 1
    target.unlink()
    target.mkdir()
    with pytest.raises(IsADirectoryError, match="directory"):
        datasets.load(name, split, data_home=tmp_path)


def test_to_tagged_of_a_sentence_without_columns():
    with pytest.raises(ValueError, match="sentence 1: no columns"):
        to_tagged([{"w": ["a"], "t": ["B"]}, {}])


def test_read_errors_name_the_file():
    path = "/proc/self/mem"  # a file that exists and cannot be read from its start
    if not os.path.exists(path):
        pytest.skip("needs Linux /proc")
    for reader in (read_conll, read_conllu, _conll_lazy, lambda p: list(iter_lines(p))):
        with pytest.raises(OSError) as info:
            reader(path)
        assert info.value.filename == path


@pytest.mark.parametrize("encoding", ["utf-7", "utf-16-le", "utf-32", "iso2022_jp", "shift_jis",
                                      "punycode", "idna", "raw_unicode_escape", "cp037"])
def test_odd_encodings_read_or_raise_the_documented_error(encoding):
    for data in (b"a B\n\xff\xfeb\n", b"\x00" * 7, bytes(range(256)), b"+AGE-\r\n\x1b$B",
                 b"\\u000a b\n", b"a\rb\n"):
        for reader in (read_conll, read_conllu, lambda s, **kw: list(iter_lines(s, **kw))):
            try:
                reader(io.BytesIO(data), encoding=encoding)
            except DataFileError as exc:
                assert exc.lineno is not None and len(str(exc)) < 500
