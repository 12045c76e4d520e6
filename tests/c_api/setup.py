"""Builds thirdparty.pyx against the installed fastseq, as another package's setup.py would
(tests/test_c_api.py runs ``python setup.py build_ext --inplace`` in a copy of this folder)."""
from Cython.Build import cythonize
from setuptools import Extension, setup

import fastseq

info = fastseq.get_build_info()
ext = Extension("thirdparty", ["thirdparty.pyx"],
                include_dirs=info["include_dirs"],
                library_dirs=info["library_dirs"],
                libraries=info["libraries"],
                extra_compile_args=info["extra_compile_args"],
                extra_link_args=info["extra_link_args"])
setup(name="thirdparty", ext_modules=cythonize([ext], include_path=info["cython_include_dirs"]))
