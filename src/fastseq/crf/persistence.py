"""The CRF model file.

:meth:`fastseq.crf.CRF.save` writes one ZIP archive (the ``.npz`` container) holding

* ``model.json`` -- UTF-8 JSON: ``"format": "fastseq.CRF"``, ``"format_version": 1``, the
  fastseq version, the constructor parameters, ``"labels"`` (in model order),
  ``"n_attributes"``, ``"attributes"`` (attribute names, in column order; absent when a
  tagger's feature extractor holds them), ``"input"`` (what kind of ``X`` the model was
  trained on, and the ``uid`` of its feature extractor), a training summary and the manifest
  of the arrays;
* ``arrays/<name>.npy`` -- plain numeric arrays: ``state_attr`` / ``state_label`` (int64
  indices into attributes / labels) and ``state_weight`` (float64) for the state features,
  ``trans_from`` / ``trans_to`` / ``trans_weight`` for the transition features, and for a
  second-order CRF ``trigram_key`` / ``trigram_weight`` (see
  :class:`~fastseq.crf.weights.CRFWeights`).

Reading never executes code from the file (JSON parsed as data, arrays read with
``allow_pickle=False``); every member, dtype, shape and index range is checked, and anything
unexpected raises :class:`fastseq.exceptions.ModelFileError`.
"""
from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .._archive import check_model
from .weights import CRFWeights

__all__ = ["FORMAT", "FORMAT_VERSION", "INPUT_KINDS", "Decoded", "encode", "decode"]

#: the ``format`` of a CRF model file
FORMAT = "fastseq.CRF"
#: version of the file format written by :meth:`fastseq.crf.CRF.save`
FORMAT_VERSION = 1
#: what a CRF can be trained on (see :mod:`fastseq.crf.items`)
INPUT_KINDS = ("items", "matrix", "featurized")

_ARRAY_KINDS = {"state_attr": "iu", "state_label": "iu", "state_weight": "f",
                "trans_from": "iu", "trans_to": "iu", "trans_weight": "f"}
_TRIGRAM_KINDS = {"trigram_key": "iu", "trigram_weight": "f"}  # a second-order CRF's


class Decoded(NamedTuple):
    """What a CRF model file holds, as :func:`decode` returns it.

    Parameters
    ----------
    params : dict
        The constructor parameters of the :class:`fastseq.crf.CRF`.
    weights : CRFWeights
        The features and their weights.
    attributes : list of str or None
        The attribute names, in column order; None when the file holds none.
    input_kind : {"items", "matrix", "featurized"}
        What kind of ``X`` the model was trained on.
    space_uid : str or None
        The ``uid`` of the feature extractor the model was trained on, if any.
    training : dict
        The training summary (empty when the file holds none).

    Examples
    --------
    >>> from fastseq.crf.persistence import Decoded
    >>> Decoded._fields
    ('params', 'weights', 'attributes', 'input_kind', 'space_uid', 'training')
    """

    params: dict
    weights: CRFWeights
    attributes: Optional[List[str]]
    input_kind: str
    space_uid: Optional[str]
    training: dict


def encode(weights: CRFWeights, *, params: dict, attributes: Optional[Sequence[str]],
           input_kind: str, space_uid: Optional[str],
           training: dict) -> Tuple[dict, Dict[str, np.ndarray]]:
    """The contents of a CRF model file.

    Parameters
    ----------
    weights : CRFWeights
        The features and their weights.
    params : dict
        The constructor parameters (JSON-serialisable).
    attributes : sequence of str or None
        The attribute names, in column order; None when the names live elsewhere (a
        tagger's feature extractor).
    input_kind : {"items", "matrix", "featurized"}
        What kind of ``X`` the model was trained on.
    space_uid : str or None
        The ``uid`` of the feature extractor the model was trained on, if any.
    training : dict
        The training summary (JSON-serialisable).

    Returns
    -------
    meta : dict
        The contents of ``model.json`` (see the module docstring).
    arrays : dict of str to ndarray
        ``state_attr``, ``state_label``, ``trans_from``, ``trans_to`` (int64) and
        ``state_weight``, ``trans_weight`` (float64), all 1-D.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.persistence import encode
    >>> from fastseq.crf.weights import CRFWeights
    >>> w = CRFWeights(["B", "I"], 1, np.array([0]), np.array([0]), np.array([0.5]),
    ...                np.array([0]), np.array([1]), np.array([1.5]))
    >>> meta, arrays = encode(w, params={}, attributes=["bias"], input_kind="items",
    ...                       space_uid=None, training={})
    >>> meta["format"], meta["format_version"], meta["labels"], meta["attributes"]
    ('fastseq.CRF', 1, ['B', 'I'], ['bias'])
    >>> sorted(arrays)
    ['state_attr', 'state_label', 'state_weight', 'trans_from', 'trans_to', 'trans_weight']
    """
    kinds_written = dict(_ARRAY_KINDS, **(_TRIGRAM_KINDS if weights.trigram_key is not None
                                          else {}))
    arrays = {name: getattr(weights, name).astype(np.int64 if kinds == "iu" else np.float64)
              for name, kinds in kinds_written.items()}
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "params": params,
        "labels": list(weights.labels),
        "n_attributes": int(weights.n_attributes),
        "input": {"kind": input_kind, "space_uid": space_uid},
        "training": training,
    }
    if attributes is not None:
        meta["attributes"] = list(attributes)
    return meta, arrays


def decode(meta: dict, arrays: Dict[str, np.ndarray], where: str,
           param_names: Sequence[str]) -> Decoded:
    """Check and unpack the contents of a CRF model file.

    Parameters
    ----------
    meta : dict
        The contents of ``model.json``, as :func:`encode` makes them.
    arrays : dict of str to ndarray
        The arrays, as :func:`encode` makes them.
    where : str
        The file's name, for the error messages.
    param_names : sequence of str
        The constructor parameters a model may have.

    Returns
    -------
    Decoded
        The parameters, weights, attribute names, input kind, feature-space uid and
        training summary.

    Raises
    ------
    fastseq.exceptions.ModelFileError
        If the format is not :data:`FORMAT` or its version is newer than
        :data:`FORMAT_VERSION`, or a parameter, the labels, the attribute names, the input
        description, an array's name, dtype, shape or index range, a weight (non-finite)
        or the training summary does not check out.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.persistence import decode, encode
    >>> from fastseq.crf.weights import CRFWeights
    >>> w = CRFWeights(["B", "I"], 1, np.array([0]), np.array([0]), np.array([0.5]),
    ...                np.array([0]), np.array([1]), np.array([1.5]))
    >>> parts = encode(w, params={}, attributes=["bias"], input_kind="items",
    ...                space_uid=None, training={})
    >>> d = decode(*parts, "model.crf", ["c2"])
    >>> d.weights.labels, d.attributes, d.input_kind
    (['B', 'I'], ['bias'], 'items')
    >>> decode({"format": "fastseq.HMM"}, {}, "model.crf", ["c2"])
    Traceback (most recent call last):
        ...
    fastseq.exceptions.ModelFileError: model.crf: not a valid fastseq CRF model: format is ...
    """
    bad, params = check_model(meta, where, FORMAT, FORMAT_VERSION, "CRF", param_names)
    labels = meta.get("labels")
    if (not isinstance(labels, list) or not labels
            or not all(isinstance(t, str) for t in labels) or len(set(labels)) != len(labels)):
        raise bad("`labels` must be a non-empty list of distinct str")
    n_attr = meta.get("n_attributes")
    if not isinstance(n_attr, int) or isinstance(n_attr, bool) or n_attr < 0:
        raise bad("`n_attributes` must be a non-negative int")
    attributes = meta.get("attributes")
    if attributes is not None and (not isinstance(attributes, list)
                                   or len(attributes) != n_attr
                                   or not all(isinstance(a, str) for a in attributes)):
        raise bad("`attributes` must be a list of n_attributes str")
    inp = meta.get("input")
    if not isinstance(inp, dict) or inp.get("kind") not in INPUT_KINDS:
        raise bad("`input.kind` must be 'items', 'matrix' or 'featurized'")
    uid = inp.get("space_uid")
    if uid is not None and not isinstance(uid, str):
        raise bad("`input.space_uid` must be a str or null")
    expected = dict(_ARRAY_KINDS, **(_TRIGRAM_KINDS if "trigram_key" in arrays else {}))
    if set(arrays) != set(expected):
        raise bad(f"arrays {sorted(arrays)} do not match the expected {sorted(expected)}")
    for name, kinds in expected.items():
        a = arrays[name]
        if a.ndim != 1 or a.dtype.kind not in kinds:
            raise bad(f"array {name!r} must be 1-D of kind {kinds!r}, got {a.dtype} "
                      f"{a.shape}")
    sa, sl, sw = arrays["state_attr"], arrays["state_label"], arrays["state_weight"]
    tf, tt, tw = arrays["trans_from"], arrays["trans_to"], arrays["trans_weight"]
    if not (sa.shape == sl.shape == sw.shape) or not (tf.shape == tt.shape == tw.shape):
        raise bad("feature arrays of different lengths")
    N = len(labels)
    for arr, hi, name in ((sa, n_attr, "state_attr"), (sl, N, "state_label"),
                          (tf, N, "trans_from"), (tt, N, "trans_to")):
        if arr.size and (arr.min() < 0 or arr.max() >= hi):
            raise bad(f"array {name!r} has indices out of range [0, {hi})")
    if not (np.all(np.isfinite(sw)) and np.all(np.isfinite(tw))):
        raise bad("non-finite weights")
    tri_key = tri_weight = None
    if "trigram_key" in arrays:
        tri_key, tri_weight = arrays["trigram_key"], arrays["trigram_weight"]
        if tri_key.shape != tri_weight.shape:
            raise bad("feature arrays of different lengths")
        hi = (N + 1) * N * N
        if tri_key.size and (tri_key.min() < 0 or tri_key.max() >= hi):
            raise bad(f"array 'trigram_key' has indices out of range [0, {hi})")
        if not np.all(np.isfinite(tri_weight)):
            raise bad("non-finite weights")
        if params.get("order") != 2:
            raise bad("trigram features in a model whose order is not 2")
        tri_key, tri_weight = tri_key.astype(np.int64), tri_weight.astype(np.float64)
    elif params.get("order") == 2:
        raise bad("a second-order model without its trigram features")
    weights = CRFWeights(list(labels), n_attr, sa.astype(np.int64), sl.astype(np.int64),
                         sw.astype(np.float64), tf.astype(np.int64), tt.astype(np.int64),
                         tw.astype(np.float64), trigram_key=tri_key, trigram_weight=tri_weight)
    training = meta.get("training")
    if training is None:
        training = {}
    if not isinstance(training, dict):
        raise bad("`training` must be an object")
    reason, seconds = training.get("stop_reason"), training.get("seconds")
    if reason is not None and not isinstance(reason, str):
        raise bad("`training.stop_reason` must be a str or null")
    if seconds is not None and (not isinstance(seconds, (int, float)) or isinstance(seconds, bool)
                                or not 0 <= seconds < float("inf")):
        raise bad("`training.seconds` must be a non-negative number or null")
    return Decoded(params, weights, list(attributes) if attributes is not None else None,
                   inp["kind"], uid, training)
