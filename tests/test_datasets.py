"""Tests for fastseq.datasets.

The real-corpus tests read the corpora from the data home (``$FASTSEQ_DATA``; see
tests/conftest.py) and skip when it does not hold them. The expected counts are those
documented with the corpora (sentences / tokens per split, number of distinct tags).
"""
from __future__ import annotations

import pytest

from fastseq import datasets
from fastseq.datasets import available, info, load, load_tagged

DATA = datasets.get_data_home()
needs_data = pytest.mark.skipif(
    not all((DATA / c.folder).is_dir() for c in datasets.CORPORA.values()),
    reason=f"corpora not found in {DATA}: set FASTSEQ_DATA to the folder holding them",
)

# (name, canonical split) -> (sentences, tokens), from the data README.
README_COUNTS = {
    ("ud_english_ewt", "train"): (12544, 204577),
    ("ud_english_ewt", "dev"): (2001, 25147),
    ("ud_english_ewt", "test"): (2077, 25094),
    ("conll2000", "train"): (8936, 211727),
    ("conll2000", "test"): (2012, 47377),
    ("conll2003", "train"): (14041, 203621),
    ("conll2003", "valid"): (3250, 51362),
    ("conll2003", "test"): (3453, 46435),
    ("conll2002_esp", "train"): (8323, 264715),
    ("conll2002_esp", "testa"): (1915, 52923),
    ("conll2002_esp", "testb"): (1517, 51533),
    ("conll2002_ned", "train"): (15806, 202644),
    ("conll2002_ned", "testa"): (2895, 37687),
    ("conll2002_ned", "testb"): (5195, 68875),
    ("wnut17", "train"): (3394, 62730),
    ("wnut17", "dev"): (1009, 15733),
    ("wnut17", "test"): (1287, 23394),
}

COLUMNS = {
    "ud_english_ewt": ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps",
                       "misc"),
    "conll2000": ("word", "pos", "chunk"),
    "conll2003": ("word", "pos", "chunk", "ner"),
    "conll2002_esp": ("word", "pos", "ner"),
    "conll2002_ned": ("word", "pos", "ner"),
    "wnut17": ("word", "ner"),
}

_cache: dict = {}


def _load(name, split):
    """Each split is parsed once per test session (keeps the suite fast)."""
    key = (name, split)
    if key not in _cache:
        _cache[key] = load(name, split, data_home=DATA)
    return _cache[key]


# --------------------------------------------------------------------------------------------
# registry, split names, errors (no data needed)
# --------------------------------------------------------------------------------------------


def test_available_lists_every_corpus_and_split():
    av = available()
    assert set(av) == set(COLUMNS)
    assert {(n, s) for n, splits in av.items() for s in splits} == set(README_COUNTS)
    assert av["conll2002_esp"] == ("train", "testa", "testb")
    assert av["conll2000"] == ("train", "test")


def test_registry_sizes_match_readme():
    for (name, split), counts in README_COUNTS.items():
        assert info(name).sizes[split] == counts


@pytest.mark.parametrize(
    "name, alias, canonical",
    [
        ("conll2003", "dev", "valid"),
        ("conll2003", "valid", "valid"),
        ("conll2003", "testb", "test"),
        ("conll2002_esp", "dev", "testa"),
        ("conll2002_esp", "test", "testb"),
        ("conll2002_ned", "dev", "testa"),
        ("conll2002_ned", "TEST", "testb"),
        ("ud_english_ewt", "valid", "dev"),
        ("wnut17", "dev", "dev"),
        ("conll2000", "train", "train"),
    ],
)
def test_split_aliases(name, alias, canonical):
    assert info(name).resolve_split(alias) == canonical


def test_name_aliases():
    assert info("conll2003_en").name == "conll2003"
    assert info("CoNLL2002-ESP").name == "conll2002_esp"
    assert info("wnut_17").name == "wnut17"


def test_unknown_name_lists_valid(tmp_path):
    with pytest.raises(ValueError) as exc:
        load("conll2099", "train", data_home=tmp_path)
    for name in COLUMNS:
        assert name in str(exc.value)


def test_unknown_split_lists_valid(tmp_path):
    with pytest.raises(ValueError) as exc:
        load("conll2003", "testc", data_home=tmp_path)
    assert "train" in str(exc.value) and "valid" in str(exc.value) and "dev" in str(exc.value)


def test_conll2000_has_no_dev(tmp_path):
    with pytest.raises(ValueError, match="no development split"):
        load("conll2000", "dev", data_home=tmp_path)


def test_missing_file_message_names_file_and_fix(tmp_path):
    with pytest.raises(FileNotFoundError) as exc:
        load("conll2003", "dev", data_home=tmp_path)
    msg = str(exc.value)
    assert str(tmp_path / "conll2003_en" / "valid.txt") in msg
    assert "FASTSEQ_DATA" in msg and "data_home" in msg


def test_env_var_used_when_no_argument(tmp_path, monkeypatch):
    (tmp_path / "wnut17").mkdir()
    (tmp_path / "wnut17" / "emerging.dev.conll").write_text("a\tO\nb\tB-person\n\t\nc\tO\n")
    monkeypatch.setenv("FASTSEQ_DATA", str(tmp_path))
    assert datasets.get_data_home() == tmp_path
    sents = load("wnut17", "dev")
    assert sents == [{"word": ["a", "b"], "ner": ["O", "B-person"]}, {"word": ["c"], "ner": ["O"]}]
    assert load_tagged("wnut17", "validation") == [[("a", "O"), ("b", "B-person")], [("c", "O")]]
    # the argument wins over the environment
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(FileNotFoundError, match="other"):
        load("wnut17", "dev", data_home=other)
    # env var pointing at an empty folder: the message says where it came from
    monkeypatch.setenv("FASTSEQ_DATA", str(other))
    with pytest.raises(FileNotFoundError, match="FASTSEQ_DATA"):
        load("wnut17", "dev")


def test_default_is_a_per_user_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("FASTSEQ_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shared" / "data" / "conll2000").mkdir(parents=True)  # never searched
    home = tmp_path / "fastseq_data"
    assert datasets.get_data_home() == home
    with pytest.raises(FileNotFoundError) as exc:
        load("conll2000", "test")
    msg = str(exc.value)
    assert str(home / "conll2000" / "test.txt") in msg and "FASTSEQ_DATA" in msg
    (home / "conll2000").mkdir(parents=True)
    (home / "conll2000" / "test.txt").write_text("Confidence NN B-NP\nin IN B-PP\n\n")
    assert load("conll2000", "test") == [
        {"word": ["Confidence", "in"], "pos": ["NN", "IN"], "chunk": ["B-NP", "B-PP"]}
    ]


def test_load_tagged_bad_tag(tmp_path):
    with pytest.raises(ValueError, match="no column"):
        load_tagged("conll2003", "train", tag="upos", data_home=tmp_path)


# --------------------------------------------------------------------------------------------
# the real corpora
# --------------------------------------------------------------------------------------------


@needs_data
@pytest.mark.parametrize("name, split", sorted(README_COUNTS))
def test_readme_counts(name, split):
    sents = _load(name, split)
    n_tok = 0
    for s in sents:
        assert tuple(s) == COLUMNS[name]
        lengths = {len(v) for v in s.values()}
        assert len(lengths) == 1 and lengths.pop() > 0
        n_tok += len(next(iter(s.values())))
    assert (len(sents), n_tok) == README_COUNTS[(name, split)]


@needs_data
def test_aliases_load_the_same_file():
    assert load("conll2003", "dev", data_home=DATA) == _load("conll2003", "valid")
    assert load("conll2002_ned", "test", data_home=DATA) == _load("conll2002_ned", "testb")


def _tagset(name, column):
    return {t for split in info(name).splits for s in _load(name, split) for t in s[column]}


@needs_data
def test_readme_tag_inventories():
    assert len(_tagset("ud_english_ewt", "upos")) == 17
    assert len(_tagset("ud_english_ewt", "xpos")) == 49
    assert len(_tagset("conll2000", "pos")) == 44
    chunks = _tagset("conll2000", "chunk")
    assert len(chunks) == 23
    assert len({t[2:] for t in chunks if t != "O"}) == 11
    for name in ("conll2003", "conll2002_esp", "conll2002_ned"):
        tags = _tagset(name, "ner")
        assert len(tags) == 9, name
        assert {t[2:] for t in tags if t != "O"} == {"PER", "ORG", "LOC", "MISC"}
    wnut = _tagset("wnut17", "ner")
    assert len(wnut) == 13 and len({t[2:] for t in wnut if t != "O"}) == 6


@needs_data
def test_docstart_never_survives():
    for name in ("conll2003", "conll2002_ned"):
        for split in info(name).splits:
            assert not any("-DOCSTART-" in s["word"] for s in _load(name, split))


@needs_data
def test_three_spanish_sentences_start_with_I_tag():
    n = sum(
        s["ner"][0].startswith("I-")
        for split in info("conll2002_esp").splits
        for s in _load("conll2002_esp", split)
    )
    assert n == 3


@needs_data
def test_first_sentences_and_load_tagged():
    s = _load("conll2003", "train")[0]
    assert s["word"][:3] == ["EU", "rejects", "German"]
    assert s["ner"][:3] == ["B-ORG", "O", "B-MISC"]
    assert _load("conll2002_ned", "train")[0]["word"][:2] == ["De", "tekst"]
    ud = _load("ud_english_ewt", "dev")[0]
    assert ud["form"] == ["From", "the", "AP", "comes", "this", "story", ":"]
    # no multiword ranges or empty nodes anywhere
    for split in info("ud_english_ewt").splits:
        for sent in _load("ud_english_ewt", split):
            assert all(i.isdigit() for i in sent["id"])
    tagged = load_tagged("ud_english_ewt", "dev", data_home=DATA)
    assert tagged[0][:2] == [("From", "ADP"), ("the", "DET")]
    assert load_tagged("conll2000", "test", data_home=DATA)[0][0] == ("Rockwell", "B-NP")
    assert load_tagged("conll2003", "test", tag="pos", data_home=DATA)[0][0] == ("SOCCER", "NN")

