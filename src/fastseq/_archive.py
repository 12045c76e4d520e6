"""The model file format shared by fastseq's models and taggers: a ZIP archive holding
``model.json`` (format name, version, parameters, an ``arrays`` manifest of dtypes and
shapes, the fastseq version that wrote it) and plain ``arrays/<name>.npy`` members. Reading
never unpickles or executes anything from the file, every member is checked against the
manifest, and every problem is a :class:`fastseq.exceptions.ModelFileError`."""
from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Callable, Dict, Tuple

import numpy as np

from . import __version__
from .exceptions import ModelFileError

_JSON_MEMBER = "model.json"
_MAX_MEMBER_BYTES = 1 << 33  # refuse absurd (zip-bomb) members


def write_archive(path, meta: dict, arrays: Dict[str, np.ndarray]) -> None:
    """Write ``meta`` (JSON-serialisable; the ``arrays`` manifest and ``fastseq_version``
    are added here) and ``arrays`` to ``path`` atomically. TypeError if ``meta`` is not
    JSON-serialisable."""
    meta = dict(meta)
    meta["fastseq_version"] = __version__
    meta["arrays"] = {k: {"dtype": str(v.dtype), "shape": list(v.shape)}
                      for k, v in arrays.items()}
    try:
        text = json.dumps(meta, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the model description is not JSON-serialisable: {exc}") from None
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(_JSON_MEMBER, text.encode("utf-8"))
            for name, arr in arrays.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
                zf.writestr(f"arrays/{name}.npy", buf.getvalue())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_archive(path):
    """(meta dict, {name: ndarray}) from a model archive, safely; ModelFileError otherwise
    (FileNotFoundError when there is no file)."""
    where = os.fspath(path)

    def bad(msg):
        return ModelFileError(f"{where}: not a valid fastseq model file: {msg}")

    if not os.path.exists(where):
        raise FileNotFoundError(2, f"No such model file: {where!r}", where)
    if not zipfile.is_zipfile(where):
        raise bad("not a ZIP archive (fastseq models are written by the models' save())")
    arrays = {}
    try:
        with zipfile.ZipFile(where) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            if _JSON_MEMBER not in infos:
                raise bad(f"no {_JSON_MEMBER}")
            for name, info in infos.items():
                if info.file_size > _MAX_MEMBER_BYTES:
                    raise bad(f"member {name!r} is too large")
                if name != _JSON_MEMBER and not (name.startswith("arrays/")
                                                  and name.endswith(".npy")
                                                  and "/" not in name[7:]):
                    raise bad(f"unexpected member {name!r}")
            try:
                meta = json.loads(zf.read(_JSON_MEMBER).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise bad(f"{_JSON_MEMBER} is not valid UTF-8 JSON ({exc})") from None
            if not isinstance(meta, dict):
                raise bad(f"{_JSON_MEMBER} must hold a JSON object")
            manifest = meta.get("arrays")
            if not isinstance(manifest, dict):
                raise bad("no array manifest")
            for name, info in infos.items():
                if name == _JSON_MEMBER:
                    continue
                key = name[len("arrays/"):-len(".npy")]
                if key not in manifest:
                    raise bad(f"member {name!r} is not in the manifest")
                with zf.open(info) as fh:
                    try:
                        arr = np.lib.format.read_array(io.BytesIO(fh.read()),
                                                       allow_pickle=False)
                    except Exception as exc:  # noqa: BLE001 - any parse failure is "invalid"
                        raise bad(f"member {name!r} is not a plain numeric .npy array "
                                  f"({type(exc).__name__}: {exc})") from None
                spec = manifest[key]
                if not isinstance(spec, dict) or spec.get("shape") != list(arr.shape) \
                        or spec.get("dtype") != str(arr.dtype):
                    raise bad(f"array {key!r} does not match its manifest entry")
                arrays[key] = arr
            missing = set(manifest) - set(arrays)
            if missing:
                raise bad(f"arrays listed but missing: {sorted(missing)}")
    except zipfile.BadZipFile as exc:
        raise bad(f"corrupt ZIP archive ({exc})") from None
    return meta, arrays


def check_model(meta: dict, where: str, fmt: str, version_max: int, what: str,
                param_names) -> Tuple[Callable[[str], ModelFileError], dict]:
    """The checks every loader starts with: ``format`` / ``format_version`` (an error naming
    ``where`` when the file is of another kind or a newer format) and ``params`` (an object
    with no name outside ``param_names``). Returns ``(bad, params)``: ``bad(msg)`` makes the
    loader's :class:`ModelFileError` for the rest of its checks."""
    def bad(msg):
        return ModelFileError(f"{where}: not a valid fastseq {what} model: {msg}")

    if meta.get("format") != fmt:
        raise bad(f"format is {meta.get('format')!r}, expected {fmt!r}")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise bad("`format_version` missing or not an int")
    if version > version_max:
        raise ModelFileError(f"{where}: model file format version {version} is newer than this "
                         f"fastseq reads (version {version_max}); upgrade fastseq")
    if version < 1:
        raise bad(f"unknown format version {version}")
    params = meta.get("params")
    if not isinstance(params, dict) or set(params) - set(param_names):
        raise bad("`params` missing or has unknown entries")
    return bad, params
