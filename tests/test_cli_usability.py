"""What a tagger user expects of the `fastseq` command: help with defaults, training
progress, an iteration cap, and an `eval` that explains itself (entity scores for any model,
a confusion matrix, the frequent errors, the predictions)."""
import argparse
import json
import re
from collections import Counter

import pytest

from fastseq.cli import build_parser, main
from fastseq.taggers import load_tagger

# word, pos, chunk, ner: a toy CoNLL-2003-like set
SENTS = [
    [("EU", "NNP", "B-NP", "B-ORG"), ("rejects", "VBZ", "B-VP", "O"),
     ("German", "JJ", "B-NP", "B-MISC"), ("call", "NN", "I-NP", "O")],
    [("Peter", "NNP", "B-NP", "B-PER"), ("Blackburn", "NNP", "I-NP", "I-PER"),
     ("visits", "VBZ", "B-VP", "O"), ("Brussels", "NNP", "B-NP", "B-LOC")],
    [("The", "DT", "B-NP", "O"), ("European", "NNP", "I-NP", "B-ORG"),
     ("Commission", "NNP", "I-NP", "I-ORG"), ("said", "VBD", "B-VP", "O")],
]


def _write(path, sents, ncols=4):
    with open(path, "w") as f:
        for s in sents:
            for tok in s:
                f.write(" ".join(tok[:ncols]) + "\n")
            f.write("\n")
    return str(path)


def _parsers(parser, path=()):
    """Every (sub)parser of the command, with its subcommand path."""
    yield path, parser
    # argparse has no public list of a parser's actions
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, path + (name,))


def _help_entry(help_text, action):
    """The entry of ``action`` in a parser's help: its first line and the indented ones
    below it, joined."""
    lines = help_text.splitlines()
    head = action.option_strings[0] if action.option_strings else action.metavar or action.dest
    for i, line in enumerate(lines):
        if line.strip().startswith((head + " ", head + ",")) or line.strip() == head:
            entry = [line]
            for more in lines[i + 1:]:
                if not more.startswith(" " * 6) or more.strip().startswith("-"):
                    break
                entry.append(more)
            return " ".join(" ".join(entry).split())
    raise AssertionError(f"{head} is not in the help")


def test_every_option_has_help_and_shows_its_default():
    seen = 0
    for path, parser in _parsers(build_parser()):
        text = parser.format_help()
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction,
                                   argparse._SubParsersAction)):
                continue
            seen += 1
            where = f"fastseq {' '.join(path)} {'/'.join(action.option_strings) or action.dest}"
            assert action.help, f"{where}: no help"
            entry = _help_entry(text, action)
            # a default worth showing: neither None (not given) nor a flag's False
            if action.default not in (None, False, argparse.SUPPRESS):
                assert "default" in entry, f"{where}: default not shown: {entry}"
    assert seen > 50


def test_train_crf_iteration_cap_is_documented():
    args = build_parser().parse_args(["train", "crf", "--train", "x", "--model", "y"])
    assert args.max_iterations == 100
    kind = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    crf = kind[0].choices["train"]
    help_text = " ".join(
        [a for a in crf._actions if isinstance(a, argparse._SubParsersAction)][0]
        .choices["crf"].format_help().split())
    assert "--max-iterations N" in help_text and "(default: 100)" in help_text


ITER = re.compile(r"^iter +(\d+) +loss [-\d.e+]+ .*active [\d,]+ .* ([\d.]+) s$")


def test_train_crf_shows_progress_unless_quiet(tmp_path, capsys):
    train = _write(tmp_path / "train.txt", SENTS * 4)
    model = str(tmp_path / "ner.crf")
    assert main(["train", "crf", "--train", train, "--model", model,
                 "--max-iterations", "3"]) == 0
    err = capsys.readouterr().err.splitlines()
    iters = [ITER.match(line) for line in err if line.startswith("iter")]
    assert iters and all(iters), err
    # the cap holds: iterations 1, 2, 3 and no more
    assert [int(m.group(1)) for m in iters] == [1, 2, 3]
    assert any(line.startswith("trained a CRF tagger") and "3 iterations" in line
               for line in err)
    assert main(["train", "crf", "--train", train, "--model", model, "-q",
                 "--max-iterations", "3"]) == 0
    assert capsys.readouterr().err == ""


@pytest.fixture
def ner_hmm(tmp_path, capsys):
    """An HMM tagger trained on the words and NER tags of the toy set."""
    train = _write(tmp_path / "train.txt", SENTS * 3)
    model = str(tmp_path / "ner.zip")
    assert main(["train", "hmm", "--train", train, "--model", model, "-q"]) == 0
    capsys.readouterr()
    return train, model


def test_eval_of_disjoint_tag_sets_is_an_error(ner_hmm, capsys):
    train, model = ner_hmm
    # the POS column as gold: not one of the model's (NER) tags
    assert main(["eval", "--model", model, "--test", train, "--tag-field", "1"]) == 1
    cap = capsys.readouterr()
    assert cap.out == ""
    assert "none of the" in cap.err and "'pos'" in cap.err and "B-ORG" in cap.err


def _errorful_test(tmp_path):
    """Test sentences the toy model gets partly wrong (unknown words, changed tags)."""
    sents = [
        [("Jack", "NNP", "B-NP", "B-PER"), ("visits", "VBZ", "B-VP", "O"),
         ("Berlin", "NNP", "B-NP", "B-LOC")],
        [("EU", "NNP", "B-NP", "B-LOC"), ("said", "VBD", "B-VP", "O"),
         ("German", "JJ", "B-NP", "B-MISC"), ("Commission", "NNP", "I-NP", "I-MISC")],
    ]
    return _write(tmp_path / "test.txt", sents), sents


def test_eval_entity_scores_for_an_hmm_tagger_match_seqeval(ner_hmm, tmp_path, capsys):
    seqeval_metrics = pytest.importorskip("seqeval.metrics")
    _, model = ner_hmm
    test, sents = _errorful_test(tmp_path)
    assert main(["eval", "--model", model, "--test", test, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    gold = [[t[3] for t in s] for s in sents]
    pred = load_tagger(model).predict([[t[0] for t in s] for s in sents])
    assert res["f1"] == pytest.approx(seqeval_metrics.f1_score(gold, pred))
    assert res["precision"] == pytest.approx(seqeval_metrics.precision_score(gold, pred))
    assert res["recall"] == pytest.approx(seqeval_metrics.recall_score(gold, pred))
    assert main(["eval", "--model", model, "--test", test]) == 0
    assert "chunks (CoNLL):" in capsys.readouterr().out


def test_eval_confusion_errors_and_output(ner_hmm, tmp_path, capsys):
    sk_metrics = pytest.importorskip("sklearn.metrics")
    _, model = ner_hmm
    test, sents = _errorful_test(tmp_path)
    out = str(tmp_path / "pred.txt")
    assert main(["eval", "--model", model, "--test", test, "--confusion", "--errors", "2",
                 "--output", out, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)

    # the predictions file: word, gold, predicted; a blank line after each sentence
    blocks = open(out).read().split("\n\n")
    assert blocks[-1] == ""
    rows = [[line.split(" ") for line in b.splitlines()] for b in blocks[:-1]]
    assert [[r[:2] for r in s] for s in rows] == [[[t[0], t[3]] for t in s] for s in sents]
    pred = load_tagger(model).predict([[t[0] for t in s] for s in sents])
    assert [[r[2] for r in s] for s in rows] == pred

    g = [t[3] for s in sents for t in s]
    p = [t for s in pred for t in s]
    labels = res["confusion"]["labels"]
    assert labels == sorted(set(g) | set(p))
    assert res["confusion"]["counts"] == sk_metrics.confusion_matrix(g, p, labels=labels).tolist()

    words = [t[0] for s in sents for t in s]
    wrong = Counter((a, b) for a, b in zip(g, p) if a != b)
    assert wrong, "the test set should hold errors"
    top = res["errors"]
    assert len(top) == min(2, len(wrong))
    assert [e["count"] for e in top] == sorted(wrong.values(), reverse=True)[:len(top)]
    for e in top:
        assert wrong[e["gold"], e["predicted"]] == e["count"]
        assert any(w == e["example"] and a == e["gold"] and b == e["predicted"]
                   for w, a, b in zip(words, g, p))

    # the same as text
    assert main(["eval", "--model", model, "--test", test, "--confusion",
                 "--errors", "2"]) == 0
    text = capsys.readouterr().out
    assert "confusion matrix (rows: gold, columns: predicted):" in text
    e = top[0]
    assert f"{e['gold']} -> {e['predicted']}  e.g. {e['example']!r}" in text


def test_eval_output_must_not_overwrite_the_test_file(ner_hmm, capsys):
    train, model = ner_hmm
    before = open(train).read()
    assert main(["eval", "--model", model, "--test", train, "--output", train]) == 1
    assert "--output" in capsys.readouterr().err
    assert open(train).read() == before


def test_columns_left_unnamed_get_names(tmp_path, capsys):
    train = _write(tmp_path / "train.txt", SENTS * 3)
    model = str(tmp_path / "chunk.zip")
    # two names for four columns: the others are col2 and tag
    assert main(["train", "hmm", "--train", train, "--columns", "word,pos",
                 "--tag-field", "col2", "--model", model, "-q"]) == 0
    meta = load_tagger(model).metadata
    assert meta["columns"] == ["word", "pos", "col2", "tag"]
    assert meta["tag_field"] == "col2"
    capsys.readouterr()
    assert main(["eval", "--model", model, "--test", train, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["tag_field"] == "col2" and res["n_tokens"] == 3 * sum(map(len, SENTS))
    # a given name 'tag' keeps the name for itself
    assert main(["train", "hmm", "--train", train, "--columns", "word,tag",
                 "--model", model, "-q"]) == 0
    assert load_tagger(model).metadata["columns"] == ["word", "tag", "col2", "col3"]
    # more names than columns, or a name twice: a clear error
    for cols in ("word,pos,chunk,ner,extra", "word,word"):
        assert main(["train", "hmm", "--train", train, "--columns", cols,
                     "--model", model, "-q"]) == 1
        assert "--columns names" in capsys.readouterr().err


def test_bench_smoke_gives_no_verdicts(capsys):
    assert main(["bench", "--smoke", "--peers", "none", "--threads", "1",
                 "--cases", "viterbi T=40"]) == 0
    out = capsys.readouterr().out
    assert "viterbi T=40" in out
    for verdict in ("PASS", "MISS", "target"):
        assert verdict not in out


def test_a_file_wider_than_the_models_columns_needs_columns(tmp_path, capsys):
    train = _write(tmp_path / "train.txt", SENTS * 3, ncols=3)  # word pos chunk
    test = _write(tmp_path / "test.txt", SENTS)                 # word pos chunk ner
    model = str(tmp_path / "chunk.zip")
    assert main(["train", "hmm", "--train", train, "--model", model, "-q"]) == 0
    capsys.readouterr()
    assert main(["eval", "--model", model, "--test", test]) == 1
    assert "name them with --columns" in capsys.readouterr().err
    # named, the chunk column is the gold one again
    assert main(["eval", "--model", model, "--test", test, "--columns", "word,pos,tag,ner",
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["tag_field"] == "tag" and res["accuracy"] == pytest.approx(1.0)
