"""One version number: fastseq.h's FASTSEQ_VERSION_* lines give the compiled library's
version and, through pyproject.toml, the package's."""
import importlib.metadata

import fastseq
from fastseq import _kernels


def test_one_version():
    assert fastseq.__version__ == importlib.metadata.version("fastseq") == _kernels.version()
    assert fastseq.__version__.count(".") == 2
