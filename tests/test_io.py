"""Tests for fastseq.io: CoNLL / CoNLL-U readers and writer on small tricky files."""
from __future__ import annotations

import io
import pathlib

import pytest

from fastseq.io import (
    CONLLU_FIELDS,
    iter_conll,
    iter_conllu,
    read_conll,
    read_conllu,
    to_tagged,
    write_conll,
)


def _write(tmp_path: pathlib.Path, text: str, name: str = "f.txt") -> pathlib.Path:
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8"))
    return p


# --------------------------------------------------------------------------------------------
# read_conll
# --------------------------------------------------------------------------------------------


def test_basic_two_sentences(tmp_path):
    p = _write(tmp_path, "EU NNP B-ORG\nrejects VBZ O\n\nPeter NNP B-PER\n")
    sents = read_conll(p, columns=("word", "pos", "ner"))
    assert sents == [
        {"word": ["EU", "rejects"], "pos": ["NNP", "VBZ"], "ner": ["B-ORG", "O"]},
        {"word": ["Peter"], "pos": ["NNP"], "ner": ["B-PER"]},
    ]
    assert list(sents[0]) == ["word", "pos", "ner"]


def test_conll2003_docstart_followed_by_blank(tmp_path):
    text = (
        "-DOCSTART- -X- -X- O\n\n"
        "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n"
        "-DOCSTART- -X- -X- O\n\n"
        "Peter NNP B-NP B-PER\n\n"
    )
    sents = read_conll(_write(tmp_path, text), columns=("word", "pos", "chunk", "ner"))
    assert [s["word"] for s in sents] == [["EU", "rejects"], ["Peter"]]
    assert sents[1]["chunk"] == ["B-NP"]


def test_conll2002_dutch_docstart_not_followed_by_blank(tmp_path):
    text = (
        "-DOCSTART- -DOCSTART- O\nDe Art O\ntekst N O\n\nVan Prep O\n\n"
        "-DOCSTART- -DOCSTART- O\nHet Art O\n"
    )
    sents = read_conll(_write(tmp_path, text), columns=("word", "pos", "ner"))
    assert [s["word"] for s in sents] == [["De", "tekst"], ["Van"], ["Het"]]


def test_docstart_mid_sentence_neither_ends_nor_creates(tmp_path):
    text = "a X O\n-DOCSTART- -DOCSTART- O\nb Y O\n\n-DOCSTART- -DOCSTART- O\n\n"
    sents = read_conll(_write(tmp_path, text), columns=("w", "p", "n"))
    assert sents == [{"w": ["a", "b"], "p": ["X", "Y"], "n": ["O", "O"]}]


def test_docstart_only_file_is_empty(tmp_path):
    assert read_conll(_write(tmp_path, "-DOCSTART- -X- -X- O\n\n")) == []


def test_no_trailing_blank_line_and_no_final_newline(tmp_path):
    p = _write(tmp_path, "a B\nc D\n\ne F")
    assert read_conll(p, columns=("w", "t")) == [
        {"w": ["a", "c"], "t": ["B", "D"]},
        {"w": ["e"], "t": ["F"]},
    ]


def test_multiple_and_leading_blank_lines_make_no_empty_sentences(tmp_path):
    p = _write(tmp_path, "\n\n  \na B\n\n\n\t\n\nc D\n\n\n")
    sents = read_conll(p, columns=("w", "t"))
    assert [s["w"] for s in sents] == [["a"], ["c"]]


def test_crlf_line_endings(tmp_path):
    p = _write(tmp_path, "a B\r\nc D\r\n\r\ne F\r\n")
    assert [s["t"] for s in read_conll(p, columns=("w", "t"))] == [["B", "D"], ["F"]]


def test_whitespace_mode_mixed_tabs_and_spaces(tmp_path):
    p = _write(tmp_path, "a \t B   C\n  d\tE\tF  \n")
    assert read_conll(p, columns=("x", "y", "z")) == [
        {"x": ["a", "d"], "y": ["B", "E"], "z": ["C", "F"]}
    ]


def test_whitespace_mode_keeps_non_ascii_spaces_inside_tokens(tmp_path):
    p = _write(tmp_path, "10\u00a0000 CD\n")
    assert read_conll(p, columns=("w", "t"))[0]["w"] == ["10\u00a0000"]


def test_tab_separator_keeps_spaces_and_whitespace_only_line_is_blank(tmp_path):
    # WNUT-17 style: tab separated, sentence breaks sometimes a lone tab
    p = _write(tmp_path, "New York\tB-location\n!\tO\n\t\n@user\tO\n")
    sents = read_conll(p, columns=("word", "ner"), sep="\t")
    assert sents == [
        {"word": ["New York", "!"], "ner": ["B-location", "O"]},
        {"word": ["@user"], "ner": ["O"]},
    ]


def test_tab_separator_rejects_space_separated_line(tmp_path):
    p = _write(tmp_path, "a\tO\nb O\n")
    with pytest.raises(ValueError, match=r"line 2"):
        read_conll(p, columns=("word", "ner"), sep="\t")


def test_columns_none_infers_count_and_names(tmp_path):
    p = _write(tmp_path, "-DOCSTART- -X- -X- O\n\na B C\nd E F\n")
    sents = read_conll(p)
    assert sents == [{"0": ["a", "d"], "1": ["B", "E"], "2": ["C", "F"]}]


def test_columns_none_inconsistent_count_raises(tmp_path):
    p = _write(tmp_path, "a B C\n\nd E\n")
    with pytest.raises(ValueError, match=r"line 3.*expected 3.*found 2"):
        read_conll(p)


def test_wrong_column_count_names_file_and_line(tmp_path):
    p = _write(tmp_path, "a B C\nd E\n", name="bad.conll")
    with pytest.raises(ValueError) as exc:
        read_conll(p, columns=("w", "p", "n"))
    msg = str(exc.value)
    assert "bad.conll" in msg and "line 2" in msg


def test_too_many_columns_raises(tmp_path):
    p = _write(tmp_path, "\n\na B C D\n")
    with pytest.raises(ValueError, match=r"line 3"):
        read_conll(p, columns=("w", "p", "n"))


def test_missing_file_names_path(tmp_path):
    missing = tmp_path / "nope" / "train.txt"
    with pytest.raises(FileNotFoundError, match="train.txt") as exc:
        read_conll(missing)
    assert str(missing) in str(exc.value)
    # raised at call time even for the streaming variant
    with pytest.raises(FileNotFoundError):
        iter_conll(str(missing))


def test_str_and_pathlike_and_file_object(tmp_path):
    p = _write(tmp_path, "a B\n\nc D\n")
    want = read_conll(p, columns=("w", "t"))
    assert read_conll(str(p), columns=("w", "t")) == want
    with open(p, encoding="utf-8") as fh:
        assert read_conll(fh, columns=("w", "t")) == want
        assert not fh.closed  # caller's file stays open
    assert read_conll(io.StringIO("a B\n\nc D"), columns=("w", "t")) == want


def test_file_object_error_uses_its_name(tmp_path):
    p = _write(tmp_path, "a B\nc\n", name="named.txt")
    with open(p, encoding="utf-8") as fh, pytest.raises(ValueError, match=r"named\.txt.*line 2"):
        read_conll(fh, columns=("w", "t"))
    with pytest.raises(ValueError, match=r"<stream>, line 2"):
        read_conll(io.StringIO("a B\nc\n"), columns=("w", "t"))


def test_utf8_and_bom(tmp_path):
    p = tmp_path / "bom.txt"
    p.write_bytes("\ufeffCoruña NC I-LOC\n".encode("utf-8"))
    assert read_conll(p, columns=("w", "p", "n"))[0]["w"] == ["Coruña"]


def test_iter_conll_streams(tmp_path):
    p = _write(tmp_path, "a B\n\nc D\n")
    it = iter_conll(p, columns=("w", "t"))
    assert next(it) == {"w": ["a"], "t": ["B"]}
    assert next(it) == {"w": ["c"], "t": ["D"]}
    with pytest.raises(StopIteration):
        next(it)


def test_bad_arguments(tmp_path):
    p = _write(tmp_path, "a B\n")
    with pytest.raises(TypeError):
        read_conll(p, columns="word")  # a str is not a list of names
    with pytest.raises(ValueError, match="duplicate"):
        read_conll(p, columns=("w", "w"))
    with pytest.raises(ValueError):
        read_conll(p, sep="")
    with pytest.raises(IsADirectoryError):
        read_conll(tmp_path)


def test_empty_file(tmp_path):
    assert read_conll(_write(tmp_path, "")) == []
    assert read_conll(_write(tmp_path, "\n\n\n", "b.txt"), columns=("w",)) == []


# --------------------------------------------------------------------------------------------
# read_conllu
# --------------------------------------------------------------------------------------------

CONLLU = (
    "# newdoc id = d1\n"
    "# sent_id = s1\n"
    "# text = I don't know.\n"
    "1\tI\tI\tPRON\tPRP\tCase=Nom\t4\tnsubj\t4:nsubj\t_\n"
    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t4:aux\t_\n"
    "3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t4:advmod\t_\n"
    "4\tknow\tknow\tVERB\tVB\t_\t0\troot\t0:root\tSpaceAfter=No\n"
    "4.1\tknows\tknow\tVERB\tVBZ\t_\t_\t_\t0:root\t_\n"
    "5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t4:punct\t_\n"
    "\n"
    "# sent_id = s2\n"
    "# text = New York\n"
    "1\tNew York\tNew York\tPROPN\tNNP\t_\t0\troot\t0:root\t_\n"
)


def test_conllu_all_fields_skip_comments_multiword_and_empty_nodes(tmp_path):
    sents = read_conllu(_write(tmp_path, CONLLU, "x.conllu"))
    assert len(sents) == 2
    s0 = sents[0]
    assert tuple(s0) == CONLLU_FIELDS
    assert s0["id"] == ["1", "2", "3", "4", "5"]
    assert s0["form"] == ["I", "do", "n't", "know", "."]
    assert s0["upos"] == ["PRON", "AUX", "PART", "VERB", "PUNCT"]
    assert s0["head"] == ["4", "4", "4", "0", "4"]
    assert s0["misc"][3] == "SpaceAfter=No"
    # forms may contain spaces; no trailing blank line needed
    assert sents[1]["form"] == ["New York"]


def test_conllu_selected_fields_in_given_order(tmp_path):
    sents = read_conllu(_write(tmp_path, CONLLU, "x.conllu"), fields=("upos", "form"))
    assert list(sents[0]) == ["upos", "form"]
    assert sents[0]["form"] == ["I", "do", "n't", "know", "."]
    assert to_tagged(sents, tag="upos")[1] == [("New York", "PROPN")]


def test_conllu_unknown_field(tmp_path):
    with pytest.raises(ValueError, match="unknown CoNLL-U field"):
        read_conllu(_write(tmp_path, CONLLU, "x.conllu"), fields=("form", "ner"))


def test_conllu_bad_column_count(tmp_path):
    bad = "# c\n1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\n"  # 9 columns
    with pytest.raises(ValueError, match=r"bad\.conllu, line 2"):
        read_conllu(_write(tmp_path, bad, "bad.conllu"))
    spaces = "1 I I PRON PRP _ 0 root _ _\n"
    with pytest.raises(ValueError, match="line 1"):
        read_conllu(_write(tmp_path, spaces, "sp.conllu"))


def test_conllu_multiple_blank_lines_and_comment_only_blocks(tmp_path):
    text = "\n\n# only a comment\n\n" + CONLLU + "\n\n\n# trailing comment\n"
    assert len(read_conllu(_write(tmp_path, text, "x.conllu"))) == 2


def test_conllu_missing_file_and_stream(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.conllu"):
        read_conllu(tmp_path / "missing.conllu")
    with pytest.raises(FileNotFoundError):
        iter_conllu(tmp_path / "missing.conllu")
    assert len(read_conllu(io.StringIO(CONLLU))) == 2


# --------------------------------------------------------------------------------------------
# write_conll / to_tagged
# --------------------------------------------------------------------------------------------

SENTS = [
    {"word": ["EU", "rejects", "German"], "pos": ["NNP", "VBZ", "JJ"],
     "ner": ["B-ORG", "O", "B-MISC"]},
    {"word": ["Peter"], "pos": ["NNP"], "ner": ["B-PER"]},
]


def test_round_trip_path(tmp_path):
    p = tmp_path / "out.txt"
    assert write_conll(SENTS, p) == 2
    assert p.read_text(encoding="utf-8") == (
        "EU NNP B-ORG\nrejects VBZ O\nGerman JJ B-MISC\n\nPeter NNP B-PER\n\n"
    )
    assert read_conll(p, columns=("word", "pos", "ner")) == SENTS


def test_round_trip_selected_columns_and_file_object(tmp_path):
    buf = io.StringIO()
    write_conll(SENTS, buf, columns=("word", "ner"), sep="\t")
    buf.seek(0)
    back = read_conll(buf, columns=("word", "ner"), sep="\t")
    assert back == [{"word": s["word"], "ner": s["ner"]} for s in SENTS]


def test_round_trip_tab_keeps_spaces_in_values(tmp_path):
    sents = [{"word": ["New York", "!"], "ner": ["B-location", "O"]}]
    p = tmp_path / "w.tsv"
    write_conll(sents, str(p), sep="\t")
    assert read_conll(p, columns=("word", "ner"), sep="\t") == sents


def test_round_trip_unicode(tmp_path):
    sents = [{"w": ["Coruña", "İstanbul", "🙂"], "t": ["B-LOC", "B-LOC", "O"]}]
    p = tmp_path / "u.txt"
    write_conll(sents, p)
    assert read_conll(p, columns=("w", "t")) == sents


def test_round_trip_real_like_conllu(tmp_path):
    sents = read_conllu(io.StringIO(CONLLU), fields=("form", "xpos", "upos"))
    p = tmp_path / "c.tsv"
    write_conll(sents, p, sep="\t")
    assert read_conll(p, columns=("form", "xpos", "upos"), sep="\t") == sents


def test_write_tagged_tuples_and_to_tagged(tmp_path):
    tagged = to_tagged(SENTS)  # defaults: word column, last column
    assert tagged == [
        [("EU", "B-ORG"), ("rejects", "O"), ("German", "B-MISC")],
        [("Peter", "B-PER")],
    ]
    assert to_tagged(SENTS, tag="pos")[1] == [("Peter", "NNP")]
    p = tmp_path / "t.txt"
    write_conll(tagged, p)
    assert to_tagged(read_conll(p, columns=("word", "ner"))) == tagged


def test_write_skips_empty_sentences(tmp_path):
    p = tmp_path / "e.txt"
    n = write_conll([{"w": [], "t": []}, {"w": ["a"], "t": ["B"]}, []], p)
    assert n == 1
    assert read_conll(p, columns=("w", "t")) == [{"w": ["a"], "t": ["B"]}]


@pytest.mark.parametrize(
    "sents, sep",
    [
        ([{"w": ["New York"], "t": ["O"]}], " "),  # space inside value with space separator
        ([{"w": ["a\tb"], "t": ["O"]}], "\t"),  # separator inside value
        ([{"w": ["a\nb"], "t": ["O"]}], "\t"),  # newline
        ([{"w": [""], "t": ["O"]}], " "),  # empty value
        ([{"w": [" "], "t": ["O"]}], "\t"),  # blank value
        ([{"w": ["a", "b"], "t": ["O"]}], " "),  # ragged columns
        ([[("a", "B")], [("c",)]], " "),  # ragged token tuples
    ],
)
def test_write_rejects_values_that_would_not_round_trip(tmp_path, sents, sep):
    with pytest.raises(ValueError):
        write_conll(sents, tmp_path / "bad.txt", sep=sep)


def test_write_rejects_non_str(tmp_path):
    with pytest.raises(TypeError):
        write_conll([{"w": ["a"], "t": [1]}], tmp_path / "bad.txt")


def test_to_tagged_errors():
    with pytest.raises(ValueError, match="tag="):
        to_tagged(read_conllu(io.StringIO(CONLLU)))  # CoNLL-U needs an explicit tag
    with pytest.raises(ValueError, match="no column"):
        to_tagged(SENTS, tag="chunk")
    assert to_tagged(read_conllu(io.StringIO(CONLLU)), tag="xpos")[0][0] == ("I", "PRP")

