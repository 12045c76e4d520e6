"""`fastseq train crf`, then `fastseq eval` and `fastseq tag` on the model, end to end."""
import json

import pytest

from fastseq.cli import main

SENTS = [
    [("He", "PRP", "B-NP"), ("reckons", "VBZ", "B-VP"), ("the", "DT", "B-NP"),
     ("deficit", "NN", "I-NP"), ("narrowed", "VBD", "B-VP"), (".", ".", "O")],
    [("The", "DT", "B-NP"), ("pound", "NN", "I-NP"), ("rose", "VBD", "B-VP"),
     ("sharply", "RB", "O"), (".", ".", "O")],
    [("Traders", "NNS", "B-NP"), ("expect", "VBP", "B-VP"), ("a", "DT", "B-NP"),
     ("rise", "NN", "I-NP"), (".", ".", "O")],
]


def _write(path, sents, ncols=3):
    with open(path, "w") as f:
        for s in sents:
            for tok in s:
                f.write(" ".join(tok[:ncols]) + "\n")
            f.write("\n")


def test_train_eval_tag_crf(tmp_path, capsys):
    train, model = tmp_path / "train.txt", tmp_path / "chunk.crf"
    _write(train, SENTS * 5)
    assert main(["train", "crf", "--train", str(train), "--columns", "word,pos,chunk",
                 "--templates", "chunk", "--model", str(model)]) == 0
    capsys.readouterr()
    assert main(["eval", "--model", str(model), "--test", str(train), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["accuracy"] == pytest.approx(1.0)      # a separable toy set is learnt exactly
    # tagging reads the word and POS columns the model was trained on
    untagged = tmp_path / "in.txt"
    _write(untagged, SENTS[:1], ncols=2)
    assert main(["tag", "--model", str(model), "--format", "conll", str(untagged)]) == 0
    out = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert [row[-1] for row in out] == [tok[2] for tok in SENTS[0]]


def test_second_order_model_trains_tags_and_loads(tmp_path, capsys):
    train, model = tmp_path / "train.txt", tmp_path / "chunk2.crf"
    _write(train, SENTS * 5)
    assert main(["train", "crf", "--train", str(train), "--columns", "word,pos,chunk",
                 "--templates", "chunk", "--order", "2", "--model", str(model)]) == 0
    capsys.readouterr()
    assert main(["eval", "--model", str(model), "--test", str(train), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(1.0)
    from fastseq.taggers import load_tagger
    assert load_tagger(model).crf_.order == 2


def test_tag_text_with_multi_column_model_is_a_clear_error(tmp_path, capsys):
    train, model = tmp_path / "train.txt", tmp_path / "chunk.crf"
    _write(train, SENTS * 5)
    assert main(["train", "crf", "--train", str(train), "--columns", "word,pos,chunk",
                 "--templates", "chunk", "--model", str(model)]) == 0
    text = tmp_path / "in.txt"
    text.write_text("He reckons the deficit narrowed .\n")
    capsys.readouterr()
    assert main(["tag", "--model", str(model), "--format", "text", str(text)]) == 1
    err = capsys.readouterr().err
    assert "'pos'" in err and "CoNLL input" in err


def test_unnamed_columns_read_the_same_in_train_eval_and_tag(tmp_path, capsys):
    # no --columns anywhere: the columns are named by their number (word, pos, tag)
    train, model = tmp_path / "train.txt", tmp_path / "chunk.crf"
    _write(train, SENTS * 5)
    assert main(["train", "crf", "--train", str(train), "--templates", "chunk",
                 "--model", str(model)]) == 0
    capsys.readouterr()
    assert main(["eval", "--model", str(model), "--test", str(train), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["accuracy"] == pytest.approx(1.0) and res["tag_field"] == "tag"
    untagged = tmp_path / "in.txt"
    _write(untagged, SENTS[:1], ncols=2)
    assert main(["tag", "--model", str(model), "--format", "conll", str(untagged)]) == 0
    out = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert [row[-1] for row in out] == [tok[2] for tok in SENTS[0]]
