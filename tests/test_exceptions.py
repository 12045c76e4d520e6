"""fastseq's exceptions as code written for scikit-learn catches them."""
from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import pytest

from fastseq.crf import CRF
from fastseq.exceptions import NotFittedError
from fastseq.hmm import CategoricalHMM


def test_sklearn_code_catches_not_fitted():
    sk_exceptions = pytest.importorskip("sklearn.exceptions")
    for call in (lambda: CategoricalHMM(n_components=2).predict([[0], [1]]),
                 lambda: CRF().predict([[{"w": 1.0}]])):
        with pytest.raises(sk_exceptions.NotFittedError) as info:
            call()
        exc = info.value
        assert isinstance(exc, (NotFittedError, ValueError, AttributeError))
        assert type(exc).__name__ == "NotFittedError"
        again = pickle.loads(pickle.dumps(exc))
        assert isinstance(again, NotFittedError) and again.args == exc.args


def test_not_fitted_never_imports_sklearn():
    script = textwrap.dedent("""
        import sys
        from fastseq.exceptions import NotFittedError
        from fastseq.hmm import CategoricalHMM
        try:
            CategoricalHMM(n_components=2).predict([[0], [1]])
        except NotFittedError as exc:
            assert type(exc) is NotFittedError
        assert "sklearn" not in sys.modules, "fastseq imported scikit-learn"
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
