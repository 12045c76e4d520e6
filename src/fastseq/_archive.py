"""The model file format shared by fastseq's models and taggers: a ZIP archive holding
``model.json`` (format name, version, parameters, an ``arrays`` manifest of dtypes and
shapes, the fastseq version that wrote it) and plain ``arrays/<name>.npy`` members.

Reading never unpickles or executes anything from the file, and every problem with the
file's contents is a :class:`fastseq.exceptions.ModelFileError` naming the file. What a
reader accepts:

* members stored or deflated (the only methods :func:`write_archive` uses), not encrypted,
  not overlapping, no two of the same name, each inflating to at most about
  :data:`MAX_RATIO` times its compressed size (deflate cannot do better, so a larger
  declared size is a lie);
* ``model.json``: UTF-8 JSON of at most :data:`MAX_JSON_BYTES` bytes, nested at most
  :data:`MAX_JSON_DEPTH` deep, without ``NaN`` / ``Infinity``, floats that overflow or
  integers outside the 64-bit range;
* ``arrays/<name>.npy``: one per manifest entry, of a plain numeric dtype (bool, int, uint,
  float), C order, of exactly the dtype and shape the manifest lists. The member's size
  follows from the manifest, so it is checked against the ZIP headers *before* anything is
  inflated, and inflating stops at that size: a member that inflates to more is refused
  after at most that many bytes. Loading a file takes about the memory its arrays declare
  once (no second copy), never more because of what the file claims or hides.

Writing is atomic: :func:`write_archive` writes a temporary file in the target's directory
(named ``.<target name>.<random hex>.tmp``), flushes and fsyncs it, then renames it over the
target, so a reader (or a crash) sees the old file or the new one, never a part. A process
killed during the write may leave that temporary file behind; nothing else does.
"""
from __future__ import annotations

import functools
import io
import json
import os
import secrets
import struct
import zipfile
import zlib
from typing import Any, Callable, Dict, Tuple, TypeVar, cast

import numpy as np

from . import __version__
from .exceptions import ModelFileError

__all__ = ["MAX_JSON_BYTES", "MAX_JSON_DEPTH", "MAX_RATIO", "write_archive", "read_archive",
           "check_model", "contents_checked"]

_JSON_MEMBER = "model.json"
#: the largest ``model.json`` read, inflated (bytes): it holds the vocabularies and
#: attribute names, some tens of MiB for the largest models
MAX_JSON_BYTES = 1 << 28
#: the deepest nesting of objects / lists ``model.json`` may have
MAX_JSON_DEPTH = 64
#: the largest inflated / compressed size ratio of a member (deflate's limit is ~1032)
MAX_RATIO = 1100
_NPY_MAGIC = b"\x93NUMPY"
_MAX_NPY_HEADER = 4096   # numpy writes < 200 bytes for the plain dtypes of a model file
_MAX_INT_DIGITS = 20     # digits of -2**63
_CHUNK = 1 << 20         # inflate in pieces this large (bounds the transient memory)
_LOCAL_HEADER = 30       # fixed part of a ZIP local file header

# what a loader's own code may raise when the data is malformed in a way its checks missed:
# reported as a ModelFileError (see contents_checked), never leaked
_CONTENT_ERRORS = (TypeError, ValueError, KeyError, IndexError, AttributeError,
                   OverflowError, ZeroDivisionError, RecursionError)

_F = TypeVar("_F", bound=Callable[..., Any])


def write_archive(path, meta: dict, arrays: Dict[str, np.ndarray]) -> None:
    """Write ``meta`` (JSON-serialisable; the ``arrays`` manifest and ``fastseq_version``
    are added here) and ``arrays`` to ``path`` atomically (see the module docstring).
    TypeError if ``meta`` is not JSON-serialisable; the target is then left untouched."""
    meta = dict(meta)
    meta["fastseq_version"] = __version__
    meta["arrays"] = {k: {"dtype": str(v.dtype), "shape": list(v.shape)}
                      for k, v in arrays.items()}
    try:
        text = json.dumps(meta, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the model description is not JSON-serialisable: {exc}") from None
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    while True:
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(8)}.tmp")
        try:
            # O_EXCL: never reuse another writer's temporary file; 0o666 & ~umask, as open()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
            break
        except FileExistsError:  # pragma: no cover - 64 random bits collided
            continue
    try:
        with open(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(_JSON_MEMBER, text.encode("utf-8"))
                for key, arr in arrays.items():
                    buf = io.BytesIO()
                    np.lib.format.write_array(buf, np.ascontiguousarray(arr),
                                              allow_pickle=False)
                    zf.writestr(f"arrays/{key}.npy", buf.getvalue())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        # any failure, KeyboardInterrupt included: the target keeps its old contents
        try:
            os.remove(tmp)
        except OSError:  # pragma: no cover - already gone
            pass
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
    """Make the rename durable where the platform allows it (POSIX)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open a folder
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(fd)


def read_archive(path) -> Tuple[dict, Dict[str, np.ndarray]]:
    """(meta dict, {name: ndarray}) from a model archive, safely (see the module docstring).

    FileNotFoundError, IsADirectoryError or PermissionError when the path itself cannot be
    opened; ModelFileError for anything wrong with its contents."""
    where = os.fspath(path)

    def bad(msg):
        return ModelFileError(f"{where}: not a valid fastseq model file: {msg}")

    with open(where, "rb") as fh:
        try:
            if not zipfile.is_zipfile(fh):
                raise bad("not a ZIP archive (fastseq models are written by the models' "
                          "save())")
            fh.seek(0, os.SEEK_END)
            file_size = fh.tell()
            fh.seek(0)
            with zipfile.ZipFile(fh) as zf:
                infos = _check_members(zf.infolist(), file_size, bad)
                meta = _read_json(zf, infos[_JSON_MEMBER], bad)
                manifest = meta.get("arrays")
                if not isinstance(manifest, dict):
                    raise bad("no array manifest")
                arrays = {}
                for name, info in infos.items():
                    if name == _JSON_MEMBER:
                        continue
                    key = name[len("arrays/"):-len(".npy")]
                    if key not in manifest:
                        raise bad(f"member {name!r} is not in the manifest")
                    arrays[key] = _read_npy(zf, info, manifest[key], bad)
                missing = set(manifest) - set(arrays)
                if missing:
                    raise bad(f"arrays listed but missing: {sorted(missing)}")
        except ModelFileError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
                struct.error, ValueError, OSError) as exc:
            # a corrupt archive or member (bad offsets, a broken deflate stream, a bad CRC)
            raise bad(f"corrupt ZIP archive ({type(exc).__name__}: {exc})") from None
    return meta, arrays


def _check_members(infolist, file_size: int, bad) -> Dict[str, zipfile.ZipInfo]:
    """The members by name, once every header-level check passed (nothing inflated yet)."""
    infos: Dict[str, zipfile.ZipInfo] = {}
    for info in infolist:
        name = info.filename
        if name in infos:
            raise bad(f"member {name!r} appears twice")
        if name != _JSON_MEMBER and not (name.startswith("arrays/") and name.endswith(".npy")
                                          and "/" not in name[7:]):
            raise bad(f"unexpected member {name!r}")
        if info.flag_bits & 0x1:
            raise bad(f"member {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise bad(f"member {name!r} uses compression method {info.compress_type}; "
                      "fastseq reads stored or deflated members only")
        limit = (info.compress_size if info.compress_type == zipfile.ZIP_STORED
                 else MAX_RATIO * info.compress_size + 1024)
        if info.file_size > limit:
            raise bad(f"member {name!r} claims to inflate {info.compress_size} bytes to "
                      f"{info.file_size} (a zip bomb or a corrupt header)")
        infos[name] = info
    if _JSON_MEMBER not in infos:
        raise bad(f"no {_JSON_MEMBER}")
    # members may not share compressed bytes (overlapping members multiply a zip bomb)
    end = 0
    for info in sorted(infos.values(), key=lambda i: i.header_offset):
        if info.header_offset < end:
            raise bad(f"member {info.filename!r} overlaps another")
        end = (info.header_offset + _LOCAL_HEADER + len(info.filename.encode("utf-8"))
               + info.compress_size)
    if end > file_size:
        raise bad("members extend past the end of the file (truncated?)")
    return infos


def _read_json(zf: zipfile.ZipFile, info: zipfile.ZipInfo, bad) -> dict:
    if info.file_size > MAX_JSON_BYTES:
        raise bad(f"{_JSON_MEMBER} is larger than {MAX_JSON_BYTES} bytes")
    with zf.open(info) as member:
        raw = member.read(MAX_JSON_BYTES + 1)
    if len(raw) != info.file_size:
        raise bad(f"{_JSON_MEMBER} holds {len(raw)} bytes, its ZIP header says "
                  f"{info.file_size}")
    try:
        meta = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant,
                          parse_float=_finite_float, parse_int=_bounded_int)
    except RecursionError:
        raise bad(f"{_JSON_MEMBER} is nested more than {MAX_JSON_DEPTH} deep") from None
    except ValueError as exc:  # UnicodeDecodeError, JSONDecodeError and the hooks' errors
        raise bad(f"{_JSON_MEMBER} is not valid UTF-8 JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise bad(f"{_JSON_MEMBER} must hold a JSON object")
    if _depth(meta) > MAX_JSON_DEPTH:
        raise bad(f"{_JSON_MEMBER} is nested more than {MAX_JSON_DEPTH} deep")
    return meta


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number fastseq writes")


def _finite_float(text: str) -> float:
    value = float(text)
    if not np.isfinite(value):
        raise ValueError(f"number {text[:30]} overflows a float")
    return value


def _bounded_int(text: str) -> int:
    # every int fastseq writes fits in 64 bits (and int() of thousands of digits is slow)
    value = int(text) if len(text) <= _MAX_INT_DIGITS else None
    if value is None or not -(1 << 63) <= value < (1 << 63):
        raise ValueError(f"integer {text[:30]} does not fit in 64 bits")
    return value


def _depth(obj) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest = 0
    stack = [(obj, 1)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, d)
            if d <= MAX_JSON_DEPTH:
                stack.extend((v, d + 1) for v in (node.values() if isinstance(node, dict)
                                                  else node))
    return deepest


def _manifest_entry(spec, key: str, bad) -> Tuple[np.dtype, Tuple[int, ...]]:
    """The dtype and shape the manifest lists for array ``key``."""
    if not isinstance(spec, dict) or not isinstance(spec.get("dtype"), str) \
            or not isinstance(spec.get("shape"), list) or len(spec["shape"]) > 32 \
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                       for n in spec["shape"]):
        raise bad(f"manifest entry of array {key!r} must be {{'dtype': str, 'shape': list "
                  "of non-negative int}")
    try:
        dtype = np.dtype(spec["dtype"])
    except (TypeError, ValueError, SyntaxError):
        raise bad(f"manifest entry of array {key!r} has an unknown dtype") from None
    if not _plain(dtype):
        raise bad(f"manifest entry of array {key!r} is not of a plain numeric dtype")
    return dtype, tuple(spec["shape"])


def _plain(dtype: np.dtype) -> bool:
    return dtype.kind in "biuf" and dtype.fields is None and dtype.shape == () \
        and dtype.itemsize <= 8


def _read_npy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, spec, bad) -> np.ndarray:
    """The array of an ``arrays/<key>.npy`` member, checked against its manifest entry
    ``spec``; the data is inflated straight into the array, and never more of it than the
    manifest declares."""
    name = info.filename
    key = name[len("arrays/"):-len(".npy")]
    dtype, shape = _manifest_entry(spec, key, bad)
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    # the member is a header of a few hundred bytes and the data: check the ZIP header's
    # claim before inflating anything
    if not nbytes < info.file_size <= nbytes + 12 + _MAX_NPY_HEADER:
        raise bad(f"member {name!r} holds {info.file_size} bytes; its manifest entry "
                  f"({dtype}, {list(shape)}) needs {nbytes} plus a header")

    def not_plain(why):
        return bad(f"member {name!r} is not a plain numeric .npy array ({why})")

    with zf.open(info) as member:
        head = _read_exactly(member, 8)
        if head[:6] != _NPY_MAGIC or head[6:8] not in (b"\x01\x00", b"\x02\x00"):
            raise not_plain("no .npy header of version 1 or 2")
        size_len = 2 if head[6] == 1 else 4
        size_raw = _read_exactly(member, size_len)
        hlen = int.from_bytes(size_raw, "little")
        if hlen > _MAX_NPY_HEADER:
            raise not_plain(f"a {hlen}-byte header")
        header = io.BytesIO(head + size_raw + _read_exactly(member, hlen))
        np.lib.format.read_magic(header)
        try:
            read_header = (np.lib.format.read_array_header_1_0 if size_len == 2
                           else np.lib.format.read_array_header_2_0)
            got_shape, fortran, got_dtype = read_header(header)
        except Exception as exc:  # noqa: BLE001 - any failure to parse the few-KiB header
            raise not_plain(f"{type(exc).__name__}: {str(exc)[:200]}") from None
        if not _plain(got_dtype):
            raise not_plain(f"dtype {got_dtype}")
        if fortran and len(got_shape) > 1:
            raise not_plain("Fortran order")
        if got_dtype != dtype or str(got_dtype) != spec["dtype"] \
                or tuple(got_shape) != shape:
            raise bad(f"array {key!r} does not match its manifest entry")
        if info.file_size != 8 + size_len + hlen + nbytes:
            raise bad(f"member {name!r} has {info.file_size - 8 - size_len - hlen} bytes of "
                      f"data; its shape and dtype need {nbytes}")
        arr = np.empty(shape, dtype=dtype)
        view = arr.reshape(-1).view(np.uint8).data
        stream = cast(io.BufferedIOBase, member)  # what zipfile returns (ZipExtFile)
        done = 0
        while done < nbytes:
            n = stream.readinto(view[done:done + _CHUNK])
            if not n:
                raise bad(f"member {name!r} ends early")
            done += n
        if member.read(1):  # also makes zipfile check the CRC
            raise bad(f"member {name!r} has data past its array")
    return arr


def _read_exactly(member, n: int) -> bytes:
    data = member.read(n)
    if len(data) != n:
        raise EOFError("member ends inside its .npy header")
    return data


def contents_checked(fn: _F) -> _F:
    """Decorator of a loader taking ``where=``: whatever error its own checks missed on
    malformed contents (a TypeError on a ``null``, an IndexError on a bad index ...)
    becomes a ModelFileError naming the file and chained to that error, so a loader never
    fails with anything else."""
    @functools.wraps(fn)
    def checked(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ModelFileError:
            raise
        except _CONTENT_ERRORS as exc:
            where = kwargs.get("where", "<model>")
            raise ModelFileError(f"{where}: not a valid fastseq model file: inconsistent "
                                 f"contents ({type(exc).__name__}: {exc})") from exc
    return checked  # type: ignore[return-value]


def check_model(meta: dict, where: str, fmt: str, version_max: int, what: str,
                param_names) -> Tuple[Callable[[str], ModelFileError], dict]:
    """The checks every loader starts with: ``format`` / ``format_version`` (an error naming
    ``where`` when the file is of another kind or a newer format) and ``params`` (an object
    with no name outside ``param_names``). Returns ``(bad, params)``: ``bad(msg)`` makes the
    loader's :class:`ModelFileError` for the rest of its checks."""
    def bad(msg):
        return ModelFileError(f"{where}: not a valid fastseq {what} model: {msg}")

    if not isinstance(meta, dict):
        raise bad("the description is not an object")
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
