"""Hidden Markov models with hmmlearn's API, trained on fastseq's batched kernels.

:class:`CategoricalHMM` (discrete symbols), :class:`GaussianHMM` (covariance types
``"spherical"``, ``"diag"``, ``"full"``, ``"tied"``), :class:`GMMHMM` (a Gaussian mixture per
state), :class:`PoissonHMM` (Poisson counts), :class:`MultinomialHMM` (vectors of symbol
counts) and the variational :class:`VariationalCategoricalHMM` and
:class:`VariationalGaussianHMM` (posterior distributions over the parameters, fitted by
maximising the evidence lower bound) take hmmlearn 0.3's constructor
arguments and expose its methods and fitted attributes with the same names, shapes and data
layout (``X`` of shape ``(n_samples, n_features)``, all sequences concatenated, plus
``lengths``), so switching is a change of import::

    from fastseq.hmm import GaussianHMM      # was: from hmmlearn.hmm import GaussianHMM

What is different:

* one Baum-Welch iteration is ONE parallel kernel call over all sequences
  (:func:`fastseq.marginals` with ``pairwise=True``) plus a vectorised M-step -- no Python
  loop over sequences or time. ``n_threads`` (last argument) sets the thread count
  (``None`` = all cores this process may use; results are identical for any value);
* ``fit_supervised(X, states, lengths)`` estimates the parameters by counting;
* ``implementation`` is accepted ("log" or "scaling") but both run the same exact kernels;
* the odd spots of hmmlearn that are bugs are fixed; each class docstring lists them.

``COVARIANCE_TYPES`` (``{"spherical", "diag", "full", "tied"}``) and ``DECODER_ALGORITHMS``
(``{"viterbi", "map"}``) are the accepted values of ``covariance_type`` and ``algorithm``,
as frozensets; :class:`NotFittedError` is :class:`fastseq.exceptions.NotFittedError`.

>>> import numpy as np
>>> from fastseq.hmm import GaussianHMM
>>> X = np.random.RandomState(0).normal(size=(100, 2))
>>> model = GaussianHMM(n_components=2, random_state=0).fit(X, lengths=[40, 60])
>>> model.predict(X, lengths=[40, 60]).shape
(100,)
"""
from __future__ import annotations

from ..exceptions import NotFittedError
from .base import DECODER_ALGORITHMS, BaseHMM
from .categorical import CategoricalHMM
from .gaussian import COVARIANCE_TYPES, GaussianHMM
from .gmm import GMMHMM
from .monitor import ConvergenceMonitor
from .multinomial import MultinomialHMM
from .poisson import PoissonHMM
from .variational import VariationalCategoricalHMM, VariationalGaussianHMM

__all__ = ["CategoricalHMM", "GaussianHMM", "PoissonHMM", "MultinomialHMM", "BaseHMM",
           "ConvergenceMonitor", "NotFittedError", "COVARIANCE_TYPES", "DECODER_ALGORITHMS",
           "GMMHMM", "VariationalCategoricalHMM", "VariationalGaussianHMM"]
