"""Building other compiled packages against fastseq's C kernels.

An installed fastseq carries its C API: the header ``fastseq/fastseq.h`` (in
:func:`get_include`), the kernels as a static library ``libfastseq.a`` (in the first of
:func:`get_library_dirs`), and ``fastseq/kernels.pxd``, which declares every kernel for
Cython (``cimport fastseq.kernels``, callable ``nogil``). :func:`get_build_info` gives all a
``setup.py``, CMake or meson build needs to compile and link against them, including the
OpenMP flags and libraries the static library was built with (recorded when fastseq was
built, not guessed). The C contract -- outputs, layouts, status codes, threads, versions --
is the documentation's "C and Cython API" page.

From a shell, ``python -m fastseq.c_api --cflags --libs`` prints the compiler and linker
flags, as ``pkg-config`` would::

    cc prog.c -o prog $(python -m fastseq.c_api --cflags --libs)

Examples
--------
>>> import os
>>> import fastseq
>>> os.path.isfile(os.path.join(fastseq.get_include(), "fastseq", "fastseq.h"))
True
>>> info = fastseq.get_build_info()
>>> info["libraries"][0], info["version"] == fastseq.__version__
('fastseq', True)
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import fastseq._kernels as _kernels

__all__ = ["get_include", "get_library_dirs", "get_build_info"]


def _installed_dir() -> Path:
    # The build installs the header, the library and _build_info.json next to the compiled
    # extension, in a wheel and in an editable install alike (where the Python sources stay
    # in the source tree).
    return Path(_kernels.__file__).resolve().parent


def _recorded() -> Dict[str, Any]:
    path = _installed_dir() / "_build_info.json"
    try:
        with open(path, encoding="utf-8") as f:
            data: Dict[str, Any] = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} is missing: this fastseq was installed without its C API "
            "(reinstall fastseq)") from None
    return data


def get_include() -> str:
    """The directory to add to the include path to ``#include <fastseq/fastseq.h>``.

    Returns
    -------
    str
        An absolute path; it holds ``fastseq/fastseq.h``.

    Raises
    ------
    FileNotFoundError
        If this installation lacks the header (a build of fastseq that predates it).

    See Also
    --------
    get_build_info : Everything needed to compile and link against the kernels.

    Examples
    --------
    >>> import os
    >>> import fastseq
    >>> os.path.isfile(os.path.join(fastseq.get_include(), "fastseq", "fastseq.h"))
    True
    """
    include = _installed_dir() / "include"
    if not (include / "fastseq" / "fastseq.h").is_file():
        raise FileNotFoundError(f"fastseq's C header is not in {include} (reinstall fastseq)")
    return str(include)


def get_library_dirs() -> List[str]:
    """The directories to search when linking against the kernels.

    Returns
    -------
    list of str
        The directory of ``libfastseq.a`` first, then those of the OpenMP libraries the
        kernels were built with, where they exist on this machine.

    See Also
    --------
    get_build_info : The libraries to link and the flags, with these directories.

    Examples
    --------
    >>> import os
    >>> import fastseq
    >>> libdir = fastseq.get_library_dirs()[0]
    >>> os.path.isfile(os.path.join(libdir, "libfastseq.a"))
    True
    """
    lib = _installed_dir() / "lib"
    if not any(lib.glob("*fastseq.*")):
        raise FileNotFoundError(f"fastseq's static library is not in {lib} (reinstall fastseq)")
    dirs = [str(lib)]
    for d in _recorded()["library_dirs"]:
        if os.path.isdir(d) and d not in dirs:
            dirs.append(d)
    return dirs


def get_build_info() -> Dict[str, Any]:
    """Everything a build of another package needs to use fastseq's C kernels.

    The keys ``include_dirs``, ``library_dirs``, ``libraries``, ``extra_compile_args`` and
    ``extra_link_args`` are the arguments of a setuptools ``Extension`` of those names; in
    that order on a compiler's command line (``-I``, ``-L``, ``-l``, then the link flags)
    they link a program against the static library.

    Returns
    -------
    dict
        ``version`` (of these headers and this library: ``fastseq.__version__``),
        ``include_dirs``, ``library_dirs``, ``libraries`` (``"fastseq"`` first, then what it
        needs: the OpenMP runtime, ``m``), ``extra_compile_args`` (empty: the header is plain
        C99 and C++), ``extra_link_args`` (the OpenMP flag the library was built with),
        ``static_library`` (the path of ``libfastseq.a``), ``cython_include_dirs`` (the
        directory holding ``fastseq/kernels.pxd``, for Cython's include path), ``openmp``
        (whether the kernels use OpenMP) and ``compiler`` (the one that built them).

    See Also
    --------
    get_include : The include directory alone.
    get_library_dirs : The library directories alone.

    Notes
    -----
    The OpenMP runtime is the one of the compiler that built the library (GCC's ``gomp`` on
    Linux); a consumer compiled with the same compiler family links it with these flags. The
    values come from the build itself (``_build_info.json``, written by CMake).

    Examples
    --------
    >>> import fastseq
    >>> info = fastseq.get_build_info()
    >>> sorted(info)  # doctest: +NORMALIZE_WHITESPACE
    ['compiler', 'cython_include_dirs', 'extra_compile_args', 'extra_link_args',
     'include_dirs', 'libraries', 'library_dirs', 'openmp', 'static_library', 'version']
    >>> info["libraries"][0]
    'fastseq'
    """
    recorded = _recorded()
    library_dirs = get_library_dirs()
    libraries = [recorded["library"]]
    libraries += [name for name in recorded["libraries"] if name not in libraries]
    return {
        "version": recorded["version"],
        "include_dirs": [get_include()],
        "library_dirs": library_dirs,
        "libraries": libraries,
        "extra_compile_args": [],
        "extra_link_args": list(recorded["extra_link_args"]),
        "static_library": str(Path(library_dirs[0]) / f"lib{recorded['library']}.a"),
        "cython_include_dirs": [str(Path(__file__).resolve().parents[2])],
        "openmp": bool(recorded["openmp"]),
        "compiler": recorded["compiler"],
    }


def _flags(cflags: bool, libs: bool) -> List[str]:
    info = get_build_info()
    out: List[str] = []
    if cflags:
        out += [f"-I{d}" for d in info["include_dirs"]] + info["extra_compile_args"]
    if libs:
        out += [f"-L{d}" for d in info["library_dirs"]]
        out += [f"-l{name}" for name in info["libraries"]] + info["extra_link_args"]
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m fastseq.c_api``: print the build flags, or all of :func:`get_build_info`.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``): ``--cflags`` and/or ``--libs`` print
        compiler and linker flags on one line; ``--cython-include`` the directory for
        Cython's include path; none prints :func:`get_build_info` as JSON.

    Returns
    -------
    int
        The exit status, 0.

    Examples
    --------
    >>> from fastseq.c_api import main
    >>> main(["--libs"])  # doctest: +ELLIPSIS
    -L... -lfastseq ...
    0
    """
    parser = argparse.ArgumentParser(
        prog="python -m fastseq.c_api",
        description="How to compile and link against fastseq's C kernels.")
    parser.add_argument("--cflags", action="store_true", help="print the compiler flags")
    parser.add_argument("--libs", action="store_true", help="print the linker flags")
    parser.add_argument("--cython-include", action="store_true",
                        help="print the directory to add to Cython's include path")
    args = parser.parse_args(argv)
    if args.cython_include:
        print(get_build_info()["cython_include_dirs"][0])
    elif args.cflags or args.libs:
        print(" ".join(shlex.quote(f) for f in _flags(args.cflags, args.libs)))
    else:
        json.dump(get_build_info(), sys.stdout, indent=2)
        print()
    return 0
