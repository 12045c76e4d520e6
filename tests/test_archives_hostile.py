"""Hostile model files and interrupted saves.

Every failure to load a model file, of every loader, is a
:class:`fastseq.exceptions.ModelFileError` naming the file (a missing, directory or
unreadable path keeps its ``OSError``); a zip bomb costs no more memory than the arrays it
declares; a loaded model passes the checks training applies; and a save killed at any
moment leaves the old file or the new one. The base files are the 0.1.0 model files of
tests/data (see tests/test_model_files.py). The random fuzzing of the same loaders is in
tests/fuzz/test_fuzz_archives.py.
"""
from __future__ import annotations

import io
import json
import os
import random
import re
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from fastseq.crf import CRF
from fastseq.exceptions import ModelFileError
from fastseq.features import FeatureExtractor
from fastseq.taggers import CRFTagger, HMMTagger, load_tagger

DATA = Path(__file__).parent / "data" / "models-0.1.0"
FILES = {"crf": DATA / "crf.zip", "crf_tagger": DATA / "crf_tagger.zip",
         "crf_tagger_stacked": DATA / "crf_tagger_stacked.zip",
         "hmm_tagger": DATA / "hmm_tagger.zip"}
# every loader of each kind of file
LOADERS = {"crf": [CRF.load], "crf_tagger": [CRFTagger.load, load_tagger],
           "crf_tagger_stacked": [CRFTagger.load, load_tagger],
           "hmm_tagger": [HMMTagger.load, load_tagger]}
CASES = [(kind, load) for kind, loads in LOADERS.items() for load in loads]
IDS = [f"{kind}-{load.__qualname__}" for kind, load in CASES]


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _write(path, members, method=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _with_meta(kind, dst, edit=None, text=None):
    """A copy of the ``kind`` file with ``model.json`` edited by ``edit(meta)`` or
    replaced by ``text``."""
    members = _members(FILES[kind])
    if text is None:
        meta = json.loads(members["model.json"])
        edit(meta)
        text = json.dumps(meta)
    members["model.json"] = text.encode() if isinstance(text, str) else text
    return _write(dst, members)


def _refused(load, path, match=None):
    """Load ``path``, which must fail with a ModelFileError naming it."""
    with pytest.raises(ModelFileError) as info:
        load(path)
    assert str(path) in str(info.value)
    if match:
        assert re.search(match, str(info.value)), str(info.value)
    return info.value


def _member_data_offset(blob, name):
    """Where member ``name``'s (compressed) data starts in the archive bytes ``blob``."""
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        info = zf.getinfo(name)
    n, extra = struct.unpack_from("<HH", blob, info.header_offset + 26)
    return info.header_offset + 30 + n + extra, info


def _central_entry(blob, name):
    """Offset of member ``name``'s central-directory entry in ``blob``."""
    pos = blob.find(b"PK\x01\x02")
    while pos >= 0:
        n = struct.unpack_from("<H", blob, pos + 28)[0]
        if blob[pos + 46:pos + 46 + n] == name.encode():
            return pos
        pos = blob.find(b"PK\x01\x02", pos + 4)
    raise AssertionError(name)


# ---------------------------------------------------------------------------------------
# the errors the campaign found: every one is a ModelFileError now
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,load", CASES, ids=IDS)
def test_deeply_nested_json_is_refused(kind, load, tmp_path):
    # was a RecursionError
    _refused(load, _with_meta(kind, tmp_path / "a.zip", text="[" * 100_000 + "]" * 100_000),
             "nested")
    _refused(load, _with_meta(kind, tmp_path / "b.zip",
                              edit=lambda m: m.__setitem__("metadata", json.loads(
                                  '{"a":' * 100 + "1" + "}" * 100))), "nested")


@pytest.mark.parametrize("kind,load", CASES, ids=IDS)
def test_corrupt_deflate_stream_is_refused(kind, load, tmp_path):
    # was a zlib.error
    blob = bytearray(FILES[kind].read_bytes())
    start, info = _member_data_offset(bytes(blob), "model.json")
    blob[start:start + info.compress_size] = b"\xff" * info.compress_size
    path = tmp_path / "m.zip"
    path.write_bytes(bytes(blob))
    _refused(load, path, "corrupt")


@pytest.mark.parametrize("kind,load", CASES, ids=IDS)
def test_other_compression_methods_are_refused(kind, load, tmp_path):
    for i, method in enumerate((zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)):
        _refused(load, _write(tmp_path / f"m{i}.zip", _members(FILES[kind]), method),
                 "compression method")
    # a method zipfile does not know (was a NotImplementedError)
    blob = bytearray(_write(tmp_path / "s.zip", _members(FILES[kind])).read_bytes())
    start, info = _member_data_offset(bytes(blob), "model.json")
    struct.pack_into("<H", blob, info.header_offset + 8, 99)
    struct.pack_into("<H", blob, _central_entry(bytes(blob), "model.json") + 10, 99)
    path = tmp_path / "u.zip"
    path.write_bytes(bytes(blob))
    _refused(load, path, "compression method 99")


@pytest.mark.parametrize("kind,load", CASES, ids=IDS)
@pytest.mark.parametrize("claim", [0, 1, "half", "plus1", "times1000", 2**32 - 1])
def test_headers_lying_about_sizes_are_refused(kind, load, claim, tmp_path):
    # a stream ending before the claimed size was an EOFError
    blob = bytearray(FILES[kind].read_bytes())
    name = next(n for n in _members(FILES[kind]) if n.endswith(".npy"))
    for member in ("model.json", name):
        _, info = _member_data_offset(bytes(blob), member)
        size = {"half": info.file_size // 2, "plus1": info.file_size + 1,
                "times1000": info.file_size * 1000}.get(claim, claim)
        lied = bytearray(blob)
        struct.pack_into("<I", lied, info.header_offset + 22, size)
        struct.pack_into("<I", lied, _central_entry(bytes(lied), member) + 24, size)
        path = tmp_path / f"{member.replace('/', '_')}.zip"
        path.write_bytes(bytes(lied))
        _refused(load, path)


@pytest.mark.parametrize("kind,load", CASES, ids=IDS)
def test_truncated_files_are_refused(kind, load, tmp_path):
    blob = FILES[kind].read_bytes()
    for i, cut in enumerate((0, 1, 30, len(blob) // 3, len(blob) // 2, len(blob) - 30,
                             len(blob) - 1)):
        path = tmp_path / f"t{i}.zip"
        path.write_bytes(blob[:cut])
        _refused(load, path)


# JSON texts fastseq never writes; each replaces the value at a path of model.json
_RAW_NUMBERS = ["1e400", "-1e400", "NaN", "Infinity", "9223372036854775808",
                "-9223372036854775809", "12345678901234567890123", "9" * 5000]
_NUMBER_PATHS = {
    "crf": [("params", "c2"), ("n_attributes",), ("params", "max_iterations")],
    "crf_tagger": [("features", "templates", 0, 0, 1), ("crf", "n_attributes"),
                   ("params", "max_iterations"), ("n_train_tokens",)],
    "crf_tagger_stacked": [("level1", "features", "templates", 1, 0, 1), ("params", "stack"),
                           ("level1", "n_train_sents")],
    "hmm_tagger": [("params", "beam"), ("params", "known_prior"), ("n_train_sents",)],
}


def _set_path(meta, path, value):
    node = meta
    for key in path[:-1]:
        node = node[key]
    assert path[-1] in node if isinstance(node, dict) else path[-1] < len(node)
    node[path[-1]] = value


def _edited(kind, path, value):
    meta = json.loads(_members(FILES[kind])["model.json"])
    _set_path(meta, path, value)
    return meta


@pytest.mark.parametrize("kind", sorted(_NUMBER_PATHS))
def test_huge_and_non_finite_numbers_are_refused(kind, tmp_path):
    # 1e400 in a template offset was an OverflowError, 5000 digits a ValueError of json
    for i, path in enumerate(_NUMBER_PATHS[kind]):
        for j, raw in enumerate(_RAW_NUMBERS):
            text = json.dumps(_edited(kind, path, "\u0000"))
            text = text.replace(json.dumps("\u0000"), raw)
            for load in LOADERS[kind]:
                _refused(load, _with_meta(kind, tmp_path / f"{i}-{j}.zip", text=text))


# values of the wrong type or range at those paths (None is the default of some parameters)
_WRONG = {
    "crf": [(("params", "c2"), ["3", [], {}, True, -1]), (("n_attributes",), [None, "3", 1.5]),
            (("params", "max_iterations"), ["3", 2.0, True, -1])],
    "crf_tagger": [(("features", "templates", 0, 0, 1), [None, "3", 1.5, True, [], {}]),
                   (("crf", "n_attributes"), [None, "3", -1, 2**40]),
                   (("params", "max_iterations"), ["3", True, -1, 2.5]),
                   (("n_train_tokens",), [None, "3", -1, 1.5])],
    "crf_tagger_stacked": [(("level1", "features", "templates", 1, 0, 1), [None, "1", False]),
                           (("params", "stack"), ["2", 1, -1, 1.5, True]),
                           (("level1", "n_train_sents"), [None, -2])],
    "hmm_tagger": [(("params", "beam"), ["5", 0, 17, 2**62, 5.0, True]),
                   (("params", "known_prior"), [None, "0.5", -1, []]),
                   (("n_train_sents",), [None, "3", -1, 2.5])],
}


@pytest.mark.parametrize("kind", sorted(_WRONG))
def test_wrong_types_where_numbers_belong_are_refused(kind, tmp_path):
    # null in a template offset was a TypeError
    for i, (path, values) in enumerate(_WRONG[kind]):
        for j, value in enumerate(values):
            meta = _edited(kind, path, value)
            for load in LOADERS[kind]:
                _refused(load, _with_meta(kind, tmp_path / f"{i}-{j}.zip",
                                          text=json.dumps(meta)))


# ---------------------------------------------------------------------------------------
# zip bombs: memory stays that of the arrays the manifest declares
# ---------------------------------------------------------------------------------------

_PEAK = textwrap.dedent("""
    import resource, sys
    from fastseq.crf import CRF
    from fastseq.exceptions import ModelFileError
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        CRF.load(sys.argv[1])
    except ModelFileError as exc:
        print("refused", exc, file=sys.stderr)
    else:
        raise SystemExit("the bomb loaded")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) * (1 if sys.platform == "darwin" else 1024))
""")


def _bomb(path, size, honest):
    """The CRF file with ``state_weight`` replaced by ``size`` bytes of zeros (a few hundred
    KiB deflated); ``honest``: the manifest declares them."""
    members = _members(FILES["crf"])
    n = size // 8
    if honest:
        meta = json.loads(members["model.json"])
        meta["arrays"]["state_weight"] = {"dtype": "float64", "shape": [n]}
        members["model.json"] = json.dumps(meta).encode()
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, np.lib.format.header_data_from_array_1_0(np.zeros(n)))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            if name != "arrays/state_weight.npy":
                zf.writestr(name, data)
                continue
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as fh:
                fh.write(header.getvalue())
                chunk = bytes(1 << 22)
                for _ in range(size // len(chunk)):
                    fh.write(chunk)
    assert path.stat().st_size < size // 500
    return path


@pytest.mark.skipif(sys.platform == "win32", reason="resource is POSIX only")
@pytest.mark.parametrize("honest", [False, True], ids=["manifest-lies", "manifest-honest"])
def test_zip_bomb_costs_at_most_what_the_manifest_declares(honest, tmp_path):
    size = 128 << 20
    path = _bomb(tmp_path / "bomb.zip", size, honest)
    out = subprocess.run([sys.executable, "-c", _PEAK, str(path)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "refused" in out.stderr
    peak = int(out.stdout)
    # refused before inflating / inflated once into the array (was twice the size)
    assert peak < (size * 1.25 if honest else 16 << 20), peak


def test_member_overlap_duplicates_and_encryption_are_refused(tmp_path):
    members = _members(FILES["crf"])
    blob = bytearray(_write(tmp_path / "s.zip", members, zipfile.ZIP_STORED).read_bytes())
    a, b = "arrays/state_attr.npy", "arrays/state_label.npy"
    # b's central entry pointing at a's data: two names, one set of bytes
    _, info_a = _member_data_offset(bytes(blob), a)
    overlap = bytearray(blob)
    struct.pack_into("<I", overlap, _central_entry(bytes(overlap), b) + 42,
                     info_a.header_offset)
    (tmp_path / "o.zip").write_bytes(bytes(overlap))
    _refused(CRF.load, tmp_path / "o.zip", "overlaps|corrupt")
    encrypted = bytearray(blob)
    pos = _central_entry(bytes(encrypted), b)
    struct.pack_into("<H", encrypted, pos + 8, struct.unpack_from("<H", encrypted, pos + 8)[0]
                     | 1)
    (tmp_path / "e.zip").write_bytes(bytes(encrypted))
    _refused(CRF.load, tmp_path / "e.zip", "encrypted")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        with zipfile.ZipFile(tmp_path / "d.zip", "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
            zf.writestr(a, members[b])
    _refused(CRF.load, tmp_path / "d.zip", "twice")


def test_highly_compressible_legit_files_still_load(tmp_path):
    # an all-zero weight vector deflates about 1000:1; what save writes, load reads
    X = [[{f"a{i}": 1.0 for i in range(200)}, {"b": 1.0}]] * 3
    crf = CRF(c1=1e6, all_possible_states=True, max_iterations=3).fit(X, [["A", "B"]] * 3)
    assert crf.size_ > 100 and not any(crf.state_features_.values())
    crf.save(tmp_path / "zeros.crf")
    with zipfile.ZipFile(tmp_path / "zeros.crf") as zf:
        info = zf.getinfo("arrays/state_weight.npy")
    assert info.file_size > 10 * info.compress_size
    assert CRF.load(tmp_path / "zeros.crf").predict(X) == crf.predict(X)


# ---------------------------------------------------------------------------------------
# a loaded model passes the checks training applies
# ---------------------------------------------------------------------------------------

_ABSURD = [
    ("hmm_tagger", ("params", "beam"), 10**12, "beam"),
    ("hmm_tagger", ("params", "order"), 3, "order"),
    ("hmm_tagger", ("params", "suffix_smoothing"), "laplace", "suffix_smoothing"),
    ("hmm_tagger", ("params", "max_batch_tokens"), 0, "max_batch_tokens"),
    ("crf", ("params", "c1"), -1.0, "c1"),
    ("crf", ("params", "c2"), "strong", "c2"),
    ("crf", ("params", "max_iterations"), -5, "max_iterations"),
    ("crf", ("params", "algorithm"), "sgd", "algorithm"),
    ("crf", ("params", "linesearch"), "Magic", "linesearch"),
    ("crf_tagger", ("params", "c1"), -5.0, "c1"),
    ("crf_tagger", ("params", "c2"), "x", "c2"),
    ("crf_tagger", ("params", "max_iterations"), -7, "max_iterations"),
    ("crf_tagger", ("crf", "params", "num_memories"), 0, "num_memories"),
    ("crf_tagger", ("params", "stack"), 1, "stack"),
    ("crf_tagger", ("params", "scheme"), "XYZ", "scheme"),
    ("crf_tagger_stacked", ("level1", "params", "c2"), -1.0, "c2"),
]


@pytest.mark.parametrize("kind,path,value,match", _ABSURD,
                         ids=[f"{k}-{'.'.join(map(str, p))}" for k, p, _, _ in _ABSURD])
def test_absurd_parameters_are_refused(kind, path, value, match, tmp_path):
    meta = _edited(kind, path, value)
    for load in LOADERS[kind]:
        _refused(load, _with_meta(kind, tmp_path / "m.zip", text=json.dumps(meta)), match)


def test_parameters_set_after_training_still_load(tmp_path):
    # set_params on a trained tagger changes what the next train uses, not the model
    tagger = load_tagger(FILES["crf_tagger"])
    tagger.set_params(max_iterations=7, c2=0.5)
    tagger.save(tmp_path / "m.zip")
    loaded = load_tagger(tmp_path / "m.zip")
    assert loaded.get_params()["max_iterations"] == 7 and loaded.get_params()["c2"] == 0.5
    assert loaded.crf_.get_params() == tagger.crf_.get_params()


def test_the_checks_are_those_of_training():
    # what the loader refuses, the constructor or fit refuses too
    with pytest.raises(ValueError, match="beam"):
        HMMTagger(beam=10**12)
    with pytest.raises(ValueError, match="c1"):
        CRF(c1=-1.0).fit([[{"a": 1.0}]], [["A"]])


def test_counts_giving_nan_probabilities_are_refused(tmp_path):
    members = _members(FILES["hmm_tagger"])
    counts = np.load(io.BytesIO(members["arrays/word_state_counts.npy"]))
    buf = io.BytesIO()
    np.save(buf, np.zeros_like(counts))
    members["arrays/word_state_counts.npy"] = buf.getvalue()
    _refused(HMMTagger.load, _write(tmp_path / "m.zip", members), "positive")


@pytest.mark.parametrize("cols", [["", "pos"], ["word", "word"], ["x", "pos"], [1, 2]])
def test_input_columns_must_feed_the_templates(cols, tmp_path):
    path = _with_meta("crf_tagger", tmp_path / "m.zip",
                      edit=lambda m: m.__setitem__("input_columns", cols))
    _refused(load_tagger, path, "input_columns|column")


@pytest.mark.parametrize("kind,schemes", [("crf_tagger", ("IOB2", "IOB2")),
                                          ("crf_tagger", ("IOBES", "IOE1")),
                                          ("crf_tagger_stacked", ("IOB2", "IOBES"))])
def test_labels_must_be_of_the_training_scheme(kind, schemes, tmp_path):
    # the tagger converts its predictions from scheme_train: labels of another scheme
    # loaded, then every predict failed
    path = _with_meta(kind, tmp_path / "m.zip", edit=lambda m: m.update(
        scheme_in=schemes[0], scheme_train=schemes[1]))
    _refused(load_tagger, path, "scheme_train")


@pytest.mark.parametrize("training", [[], {"stop_reason": 5}, {"seconds": "long"},
                                      {"seconds": -1.0}])
def test_training_summary_must_check_out(training, tmp_path):
    path = _with_meta("crf", tmp_path / "m.zip",
                      edit=lambda m: m.__setitem__("training", training))
    _refused(CRF.load, path, "training")


@pytest.mark.parametrize("meta", [None, [], {}, {"templates": 5}, {"templates": [[[None, 0]]]},
                                  {"templates": [[["w", 1e300]]], "colmap": {}, "fields": [],
                                   "vocab": {}, "uid": "u"}])
def test_feature_extractor_parts_are_checked(meta):
    with pytest.raises(ModelFileError, match="<memory>"):
        FeatureExtractor.from_archive_parts(meta, {}, where="<memory>")


# ---------------------------------------------------------------------------------------
# nothing is executed, extracted or unpickled
# ---------------------------------------------------------------------------------------

class _Evil:
    """Unpickling this would create a file: a loader must never do it."""

    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("kind,load", CASES, ids=IDS)
def test_pickles_and_path_traversal_are_refused(kind, load, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    _Evil.marker = str(marker)
    evil = np.empty(1, dtype=object)
    evil[0] = _Evil()
    buf = io.BytesIO()
    np.save(buf, evil, allow_pickle=True)
    members = _members(FILES[kind])
    name = next(n for n in members if n.endswith(".npy"))
    _refused(load, _write(tmp_path / "p.zip", {**members, name: buf.getvalue()}),
             "not a plain numeric")
    for i, bad in enumerate(["../evil.npy", "/tmp/evil.npy", "arrays/../../evil.npy",
                             "arrays/sub/x.npy", "model.pkl"]):
        _refused(load, _write(tmp_path / f"t{i}.zip", {**members, bad: b"x"}),
                 "unexpected member")
    (tmp_path / "whole.pkl").write_bytes(buf.getvalue())
    _refused(load, tmp_path / "whole.pkl", "not a ZIP")
    assert not marker.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith((".zip", ".pkl"))) \
        == []


@pytest.mark.parametrize("descr", ["(" * 150 + ")" * 150, "[" * 1500 + "]" * 1500, "'|O'",
                                   "[('a', '<i8')]", "'<c16'", "('<i8', (2,))"])
def test_hand_written_npy_headers_are_refused(descr, tmp_path):
    # 150 nested parentheses as the dtype made numpy's header parser raise IndexError
    text = "{'descr': %s, 'fortran_order': False, 'shape': (19,), }" % descr
    header = text.encode() + b" " * ((-len(text) - 11) % 64) + b"\n"
    members = _members(FILES["crf"])
    members["arrays/state_weight.npy"] = (b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")
                                          + header + bytes(8 * 19))
    _refused(CRF.load, _write(tmp_path / "m.zip", members), "not a plain numeric")


@pytest.mark.parametrize("kind,load", CASES, ids=IDS)
def test_path_errors_keep_their_os_error(kind, load, tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.zip")
    with pytest.raises(IsADirectoryError if sys.platform != "win32" else PermissionError):
        load(tmp_path)
    if hasattr(os, "geteuid") and os.geteuid() != 0:  # root reads anything
        path = tmp_path / "locked.zip"
        path.write_bytes(FILES[kind].read_bytes())
        path.chmod(0)
        with pytest.raises(PermissionError):
            load(path)


# ---------------------------------------------------------------------------------------
# atomic saves
# ---------------------------------------------------------------------------------------

_TMP = re.compile(r"^\.(?P<target>.+)\.[0-9a-f]{16}\.tmp$")


def _big_models(folder):
    """Two different CRF files of a few MB (saving one takes some tens of ms)."""
    rng = np.random.default_rng(0)
    paths = []
    for k in range(2):
        X = [rng.integers(0, 2, size=(6, 3000)).astype(float) for _ in range(8)]
        y = [[str(t) for t in rng.integers(0, 12, size=6)] for _ in X]
        crf = CRF(algorithm="ap", max_iterations=2, all_possible_states=True).fit(X, y)
        paths.append(os.path.join(folder, f"v{k}.crf"))
        crf.save(paths[-1])
    return paths


def _same_model(a, b):
    pa, pb = a.to_archive_parts(), b.to_archive_parts()
    return pa[0]["labels"] == pb[0]["labels"] and all(
        np.array_equal(pa[1][k], pb[1][k]) for k in pa[1])


_SAVER = textwrap.dedent("""
    import sys
    from fastseq.crf import CRF
    models = [CRF.load(p) for p in sys.argv[1:3]]
    target = sys.argv[3]
    models[0].save(target)
    print("ready", flush=True)
    i = 1
    while True:
        models[i % 2].save(target)
        i += 1
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_save_killed_at_any_moment_leaves_the_old_or_the_new_file(tmp_path):
    v0, v1 = _big_models(str(tmp_path))
    versions = [CRF.load(v0), CRF.load(v1)]
    assert not _same_model(*versions)
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "model.crf"
    rnd = random.Random(1)
    seen = set()
    for _ in range(8):
        child = subprocess.Popen([sys.executable, "-c", _SAVER, v0, v1, str(target)],
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "ready"
            time.sleep(rnd.uniform(0.0, 0.4))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        loaded = CRF.load(target)
        which = [i for i, v in enumerate(versions) if _same_model(loaded, v)]
        assert len(which) == 1
        seen.add(which[0])
        # a killed save may leave its temporary file, named as documented
        for p in folder.iterdir():
            if p != target:
                m = _TMP.match(p.name)
                assert m and m.group("target") == target.name, p.name
                p.unlink()
    assert seen  # (which version survives depends on the moment of the kill)


def test_a_normal_save_leaves_no_temporary_file(tmp_path):
    crf = CRF.load(FILES["crf"])
    for _ in range(3):
        crf.save(tmp_path / "m.crf")
    tagger = load_tagger(FILES["hmm_tagger"])
    tagger.save(tmp_path / "t.zip")
    load_tagger(FILES["crf_tagger"]).save(tmp_path / "c.zip")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.zip", "m.crf", "t.zip"]


def test_threads_saving_to_one_path_leave_one_whole_file(tmp_path):
    # each save has its own temporary file: the last rename wins, nothing is mixed
    from concurrent.futures import ThreadPoolExecutor

    models = [CRF.load(FILES["crf"]), load_tagger(FILES["hmm_tagger"]),
              load_tagger(FILES["crf_tagger"])]
    target = tmp_path / "m.zip"
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda i: models[i % 3].save(target), range(12)))
    assert [p.name for p in tmp_path.iterdir()] == ["m.zip"]
    with zipfile.ZipFile(target) as zf:
        fmt = json.loads(zf.read("model.json"))["format"]
    assert fmt in ("fastseq.CRF", "fastseq.HMMTagger", "fastseq.CRFTagger")
    (CRF.load if fmt == "fastseq.CRF" else load_tagger)(target)


def test_a_failed_or_interrupted_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.crf"
    crf = CRF.load(FILES["crf"])
    crf.save(path)
    old = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", interrupted)
    with pytest.raises(KeyboardInterrupt):
        crf.save(path)
    monkeypatch.undo()
    tagger = load_tagger(FILES["hmm_tagger"])
    tagger.metadata = {"not json": object()}
    with pytest.raises(TypeError, match="metadata"):
        tagger.save(path)
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["m.crf"]
    if hasattr(os, "umask"):  # the file is created as open() would, not private
        mask = os.umask(0)
        os.umask(mask)
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask
