"""Fuzzing of the model-file loaders with mutated archives.

Valid files of every kind (a CRF on feature dicts and on feature matrices, a CRF tagger, a
stacked CRF tagger, HMM taggers of order 2 and 1) are mutated -- byte flips, truncations,
edits of any value of ``model.json`` (deep nesting, huge numbers, ``null``, wrong types,
deleted or added keys), lies in the array manifest, arrays replaced by others, members
dropped, added, duplicated or swapped, other compression methods, zip-bomb members and ZIP
headers that lie about sizes -- and each must either load into a model that predicts on a
small input without error, or be refused with :class:`fastseq.exceptions.ModelFileError`
raised by the loaders' own checks (not by their last-resort conversion of an unexpected
error, which would mean a check is missing).
"""
from __future__ import annotations

import io
import json
import os
import struct
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastseq.crf import CRF
from fastseq.exceptions import ModelFileError
from fastseq.taggers import CRFTagger, HMMTagger, load_tagger

_WORDS = ["the", "a", "dog", "cat", "Paris", "runs", "sees", "fast", ".", "Bo"]
_TAGS = {"the": "DT", "a": "DT", "dog": "NN", "cat": "NN", "Paris": "NNP", "runs": "VBZ",
         "sees": "VBZ", "fast": "RB", ".": ".", "Bo": "NNP"}


def _corpus(n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        words = [str(w) for w in rng.choice(_WORDS, size=int(rng.integers(2, 6)))]
        chunk = ["B-NP" if _TAGS[w] in ("DT", "NNP") else "I-NP" if _TAGS[w] == "NN" else "O"
                 for w in words]
        out.append([(w, _TAGS[w], c) for w, c in zip(words, chunk)])
    return out


def _build(folder):
    """{kind: (path, load, predict)}: a valid file of each kind, how to load it and how to
    use a loaded model on a small input."""
    train = _corpus(30, 1)
    probe = [[w for w, _, _ in s] for s in _corpus(3, 2)] + [["unseen", "Words"]]
    X = [[{"w": w, "pos": p} for w, p, _ in s] for s in train]
    y = [[c for *_, c in s] for s in train]
    rng = np.random.default_rng(3)
    Xm = [rng.integers(0, 2, size=(len(s), 4)).astype(float) for s in train]
    pos = [[(w, p) for w, p, _ in s] for s in train]
    files = {}

    def add(kind, model, load, predict):
        path = os.path.join(folder, f"{kind}.zip")
        model.save(path)
        files[kind] = (path, load, predict)

    add("crf", CRF(c1=0.05, c2=0.1, max_iterations=8).fit(X, y), CRF.load,
        lambda m: (m.predict([[{"w": w} for w in s] for s in probe]),
                   m.predict_marginals([[{"w": w, "pos": "NN"} for w in s] for s in probe])))
    add("crf_matrix", CRF(algorithm="ap", max_iterations=3).fit(Xm, y), CRF.load,
        lambda m: m.predict([np.ones((2, 4)), np.zeros((1, 4))]))
    add("crf_tagger", CRFTagger(templates="chunk", stack=0, max_iterations=8).train(train),
        load_tagger, lambda m: m.predict([[(w,) + ("NN",) * (len(m.input_columns_ or "ab") - 1)
                                           for w in s] for s in probe]))
    add("crf_stacked", CRFTagger(templates="pos", stack=2, max_iterations=4).train(pos),
        CRFTagger.load, lambda m: m.predict(probe))
    add("hmm", HMMTagger(lexicalize=3, rare_threshold=2).train(pos), load_tagger,
        lambda m: m.predict(probe))
    add("hmm_order1", HMMTagger(order=1).train(pos), HMMTagger.load,
        lambda m: m.predict(probe))
    return files


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return _build(str(tmp_path_factory.mktemp("models")))


# -- reading and writing archives -----------------------------------------------------------

def _members(path):
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, zf.read(i.filename)) for i in zf.infolist()]


def _zip(members, methods=None):
    """Archive bytes of ``[(name, data)]``; ``methods`` maps a member index to its method."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are wanted here
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for i, (name, data) in enumerate(members):
                zf.writestr(zipfile.ZipInfo(name), data,
                            compress_type=(methods or {}).get(i, zipfile.ZIP_DEFLATED))
    return buf.getvalue()


def _npy(arr):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _lie_about_size(data, name, size):
    """Archive bytes with both ZIP headers of member ``name`` claiming ``size`` bytes."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(name)
    raw = name.encode()
    struct.pack_into("<I", out, info.header_offset + 22, size)
    pos = out.find(b"PK\x01\x02")
    while pos >= 0:
        n = struct.unpack_from("<H", out, pos + 28)[0]
        if bytes(out[pos + 46:pos + 46 + n]) == raw:
            struct.pack_into("<I", out, pos + 24, size)
        pos = out.find(b"PK\x01\x02", pos + 4)
    return bytes(out)


# -- hostile values ---------------------------------------------------------------------------

_RAW = "\u0000raw:"   # a str standing for raw JSON text, spliced in after dumping
_RAW_TEXTS = ["[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" + "}" * 3000, "1e400", "-1e400",
              "NaN", "Infinity", "9" * 5000, "123456789012345678901234567890", "-0", "1e-400"]

_values = st.one_of(
    st.none(), st.booleans(),
    st.sampled_from([0, -1, 1, 2, 3, 16, 17, 2**31, 2**63 - 1, 2**63, 10**12, -10**12]),
    st.integers(-10, 100),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.5, -0.5, 1e308, -1e308, 5e-324]),
    st.text(max_size=4), st.sampled_from(["", "lbfgs", "ap", "tnt", "w", "pos", "B-NP", "DT"]),
    st.sampled_from(["IOB1", "IOB2", "IOE1", "IOE2", "IOBES", "BILOU"]),
    st.lists(st.one_of(st.integers(-2, 3), st.text(max_size=2)), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(-1, 2), max_size=2),
    st.sampled_from(_RAW_TEXTS).map(lambda t: _RAW + t),
)


def _dump(meta):
    text = json.dumps(meta, ensure_ascii=False)
    for raw in _RAW_TEXTS:
        text = text.replace(json.dumps(_RAW + raw), raw)
    return text.encode("utf-8")


def _edit_json(data, meta):
    """Change one value somewhere in ``meta`` (in place): replace, delete or add."""
    node = meta
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, (dict, list)) and child and data.draw(st.booleans()):
            node = child
            continue
        op = data.draw(st.sampled_from(["replace", "replace", "delete", "add", "dup"]))
        if op == "replace":
            node[key] = data.draw(_values)
        elif op == "delete":
            del node[key]
        elif op == "add" and isinstance(node, dict):
            node[data.draw(st.sampled_from(["x", "arrays", "level1", "attributes", "uid"]))] = \
                data.draw(_values)
        elif isinstance(node, list):
            node.append(node[key])
        return
    node_value = data.draw(_values)
    if isinstance(node, dict):
        node["x"] = node_value
    else:
        node.append(node_value)


_ARRAY_VALUES = st.sampled_from([
    lambda a: -a - 1, lambda a: a + 10**6, lambda a: a[::-1].copy(), lambda a: a[:-1].copy(),
    lambda a: np.concatenate([a.ravel(), a.ravel()[:1]]) if a.size else a,
    lambda a: np.full(a.shape, np.nan), lambda a: np.full(a.shape, np.inf),
    lambda a: a.astype(np.int32), lambda a: a.astype(np.float32), lambda a: a.astype(np.uint8),
    lambda a: a.astype(bool), lambda a: a.astype(np.float16), lambda a: a.reshape(-1, 1),
    lambda a: np.zeros(0, dtype=a.dtype), lambda a: np.zeros(a.shape, dtype=a.dtype),
    lambda a: np.full(a.shape, 2**62, dtype=np.int64), lambda a: np.asfortranarray(
        np.stack([a.ravel(), a.ravel()], axis=1)),
    lambda a: np.array(["x"] * max(a.size, 1)), lambda a: np.zeros(a.shape, dtype=np.complex64),
    lambda a: np.zeros(a.shape, dtype=[("f", "<i8")]),
])


_DESCRS = ["'<f8'", "'<i8'", "'|O'", "'<U3'", "'>f8'", "'<c16'", "'V8'", "[('a', '<i8')]",
           "'<f8', 'x'", "(" * 150 + ")" * 150, "[" * 500 + "]" * 500, "'nonsense'", "1",
           "{'names': ['a'], 'formats': ['<f8']}", "('<i8', (2,))", "'<M8[s]'"]


def _mutate(data, original, members):
    """Bytes of a mutated archive (one or a few mutations of one kind)."""
    kind = data.draw(st.sampled_from(["flip", "truncate", "json", "json", "json", "manifest",
                                      "array", "array", "header", "members", "method", "bomb",
                                      "lie"]))
    members = [list(m) for m in members]
    meta_i = next(i for i, (n, _) in enumerate(members) if n == "model.json")
    meta = json.loads(members[meta_i][1])
    methods = {}
    if kind == "flip":
        out = bytearray(original)
        for _ in range(data.draw(st.integers(1, 4))):
            pos = data.draw(st.integers(0, len(out) - 1))
            out[pos] ^= data.draw(st.integers(1, 255))
        return bytes(out)
    if kind == "truncate":
        return original[:data.draw(st.integers(0, len(original) - 1))]
    if kind == "json":
        for _ in range(data.draw(st.integers(1, 3))):
            _edit_json(data, meta)
        members[meta_i][1] = _dump(meta)
    elif kind == "manifest":
        key = data.draw(st.sampled_from(sorted(meta["arrays"])))
        spec = meta["arrays"][key]
        field = data.draw(st.sampled_from(["shape", "dtype", "entry"]))
        if field == "shape":
            spec["shape"] = data.draw(st.sampled_from(
                [[], [0], [10**9], [2**40, 2**40], [-1], [1, 1], [s + 1 for s in spec["shape"]],
                 [s - 1 for s in spec["shape"]], ["1"], [None], [True]]))
        elif field == "dtype":
            spec["dtype"] = data.draw(st.sampled_from(
                ["int32", "float32", "object", "O", "<U3", "complex128", "bool", "[('a','<i8')]",
                 "V8", "datetime64[s]", "float128", "nonsense", "", "(2,)i8"]))
        else:
            meta["arrays"][key] = data.draw(_values)
        members[meta_i][1] = _dump(meta)
    elif kind == "array":
        i = data.draw(st.sampled_from([i for i, (n, _) in enumerate(members) if n != "model.json"]))
        name = members[i][0]
        key = name[len("arrays/"):-len(".npy")]
        arr = data.draw(_ARRAY_VALUES)(np.load(io.BytesIO(members[i][1])))
        members[i][1] = _npy(arr)
        if data.draw(st.booleans()):  # keep the manifest in step (a consistent lie)
            meta["arrays"][key] = {"dtype": str(arr.dtype), "shape": list(arr.shape)}
            members[meta_i][1] = _dump(meta)
    elif kind == "header":  # a hand-written .npy header: numpy parses it with literal_eval
        i = data.draw(st.sampled_from([i for i, (n, _) in enumerate(members) if n != "model.json"]))
        arr = np.load(io.BytesIO(members[i][1]))
        text = "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (
            data.draw(st.sampled_from(_DESCRS)), data.draw(st.sampled_from(
                ["False", "True", "5", "None"])),
            data.draw(st.sampled_from([str(arr.shape), "(-1,)", "(2**70,)", "()", "(1, 2)",
                                       "(" * 120 + ")" * 120, "[3]", "'x'"])))
        raw = text.encode() + b" " * ((-len(text) - 11) % 64) + b"\n"
        members[i][1] = (b"\x93NUMPY" + data.draw(st.sampled_from([b"\x01\x00", b"\x02\x00",
                                                                  b"\x03\x00"]))
                         + len(raw).to_bytes(2, "little") + raw + arr.tobytes())
    elif kind == "members":
        op = data.draw(st.sampled_from(["drop", "dup", "swap", "add", "rename"]))
        i = data.draw(st.integers(0, len(members) - 1))
        j = data.draw(st.integers(0, len(members) - 1))
        if op == "drop":
            del members[i]
        elif op == "dup":
            members.append(list(members[i]))
        elif op == "swap":
            members[i][1], members[j][1] = members[j][1], members[i][1]
        elif op == "add":
            members.append([data.draw(st.sampled_from(
                ["arrays/extra.npy", "../evil", "/abs", "arrays/", "arrays/a/b.npy", "x.pkl"])),
                _npy(np.zeros(3))])
        else:
            members[i][0] = data.draw(st.sampled_from(["arrays/x.npy", "model.json", "MODEL.JSON"]))
    elif kind == "method":
        i = data.draw(st.integers(0, len(members) - 1))
        methods[i] = data.draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_BZIP2,
                                                zipfile.ZIP_LZMA]))
    elif kind == "bomb":
        i = data.draw(st.integers(0, len(members) - 1))
        size = data.draw(st.sampled_from([1 << 20, 1 << 23]))
        if members[i][0] == "model.json":
            members[i][1] = b" " * size + members[i][1]
        else:
            header = np.lib.format.header_data_from_array_1_0(np.zeros(size // 8))
            buf = io.BytesIO()
            np.lib.format.write_array_header_1_0(buf, header)
            members[i][1] = buf.getvalue() + bytes(size)
            if data.draw(st.booleans()):
                key = members[i][0][len("arrays/"):-len(".npy")]
                meta["arrays"][key] = {"dtype": "float64", "shape": [size // 8]}
                members[meta_i][1] = _dump(meta)
    out = _zip(members, methods)
    if kind == "lie":
        name, payload = members[data.draw(st.integers(0, len(members) - 1))]
        size = data.draw(st.sampled_from([0, 1, len(payload) // 2, len(payload) + 1,
                                          len(payload) * 4000, 2**32 - 1]))
        out = _lie_about_size(out, name, size)
    return out


# the loaders' last resort turns these into a ModelFileError; a check should come first
_MISSED = (TypeError, KeyError, IndexError, AttributeError, OverflowError, ZeroDivisionError,
           RecursionError)


@pytest.mark.parametrize("kind", ["crf", "crf_matrix", "crf_tagger", "crf_stacked", "hmm",
                                  "hmm_order1"])
def test_mutated_archives_load_and_predict_or_raise_model_file_error(fuzz, models, tmp_path,
                                                                     kind):
    path, load, predict = models[kind]
    with open(path, "rb") as fh:
        original = fh.read()
    members = _members(path)
    target = str(tmp_path / "mutant.zip")

    @given(st.data())
    def check(data):
        fuzz.count()
        blob = _mutate(data, original, members)
        with open(target, "wb") as fh:
            fh.write(blob)
        try:
            model = load(target)
        except ModelFileError as exc:
            assert target in str(exc)
            assert not isinstance(exc.__cause__, _MISSED), f"a check is missing: {exc}"
            return
        predict(model)

    fuzz.run(check)
