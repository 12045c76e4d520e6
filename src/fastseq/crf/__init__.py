"""Linear-chain CRF with sklearn-crfsuite's API, trained on fastseq's batched kernels.

:class:`CRF` is a drop-in for ``sklearn_crfsuite.CRF``: same constructor arguments, same
defaults (those of CRFsuite), ``fit(X, y, X_dev, y_dev)``, ``predict``,
``predict_marginals``, ``score``, ``classes_``, ``state_features_``,
``transition_features_``, ``training_log_``, ``size_``, ``tagger_`` (a :class:`Tagger`,
python-crfsuite's tagger interface), ``model_filename``; :mod:`fastseq.crf.metrics` is
``sklearn_crfsuite.metrics``.

>>> from fastseq.crf import CRF
>>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
>>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
>>> CRF(c2=0.1).fit(X, y).predict([[{"w": "the"}, {"w": "cat"}]])
[['DET', 'NOUN']]

The model
---------
CRFsuite's first-order linear-chain CRF: *state features* ``(attribute, label)`` and
*transition features* ``(label, label)``; no start / end (BOS / EOS) features. The score of a
label sequence is the sum of the weights of its transitions plus, for every token, the sum of
``value * weight`` of its attributes paired with the token's label. Only features seen in the
training data exist (an attribute seen with labels ``B-NP`` and ``I-NP`` gets two weights,
unseen pairs stay 0) unless ``all_possible_states`` / ``all_possible_transitions``; a
feature is kept when its frequency (the sum of its attribute values, for transitions the
count) is at least ``min_freq``.

Training (``algorithm="lbfgs"``) minimises, as CRFsuite does,

    sum over training sequences of -log P(y | x)  +  c1 * ||w||_1  +  c2 * ||w||_2^2

(note: ``c2`` multiplies the squared norm itself, with no 1/2). With ``c1 > 0`` the optimiser
is OWL-QN (orthant-wise L-BFGS with a backtracking line search), otherwise L-BFGS with a
strong-Wolfe line search; ``num_memories`` corrections, first step ``1 / ||g||``. Stopping
rules are CRFsuite's (liblbfgs's): ``||g|| / max(1, ||w||) <= epsilon``; or
``(f[k - period] - f[k]) / f[k] < delta``; or ``max_iterations`` (0 = no limit).

The engine: all training tokens become ONE ``scipy.sparse`` CSR matrix ``X`` (tokens x
attributes) once; per evaluation the emission scores of every token are one sparse product
``E = X @ W`` (``W``: attributes x labels, zero outside the feature set), the loss and its
gradient with respect to the emission scores and transitions come from ONE call of
:func:`fastseq.crf_nll` over all sequences (concatenated layout, C kernel, OpenMP over
sequences, GIL released), and the weight gradient is one sparse product ``X.T @ G``
gathered at the features. Both products skip the zeros of ``W``: the few attributes with
many labels (POS n-grams, bias) use a small dense block of ``W`` that stays in cache, all
others a sparse map with one entry per (token, feature) -- the work of CRFsuite's
per-feature loops, done by scipy's kernels. The products run on ``n_threads`` threads over a
fixed set of row blocks (results are bitwise the same for any ``n_threads``). Memory is
proportional to the number of non-zeros (times the labels per attribute); nothing is ever
tokens x attributes dense.

``algorithm="ap"`` is CRFsuite's averaged perceptron: sequences visited one at a time in a
shuffled order (a fixed seed), Viterbi with the current weights, ``+1`` for the features of
the gold path and ``-1`` for those of the predicted one when they differ, weights averaged
over all updates; stops after ``max_iterations`` epochs (default 100) or when the mean
fraction of wrongly labelled tokens per sequence drops below ``epsilon`` (default 0).
``"pa"`` (passive-aggressive), ``"arow"`` (adaptive regularization of weights) and
``"l2sgd"`` (SGD on the L2-regularised likelihood) also visit one sequence at a time. These
learners cannot batch sequences (each step changes the weights the next one reads), so an
epoch runs in compiled code without the GIL: per sequence, the state scores gathered from
the weights grouped by attribute (CRFsuite's layout), one single-sequence Viterbi or
``crf_nll`` kernel call, and an update of the features the sequence touches.

Inputs (per-token feature dicts as python-crfsuite reads them, feature matrices, or a
:class:`fastseq.features.Featurized` batch) are described in :mod:`fastseq.crf.items`; the
model file in :mod:`fastseq.crf.persistence`.

The package
-----------
================  =========================================================================
``items``         python-crfsuite item semantics; every input kind -> one CSR matrix
``objective``     the feature set, the NLL and its gradient (sparse products + ``crf_nll``)
``lbfgs``         L-BFGS / OWL-QN with CRFsuite's stopping rules
``online``        the averaged perceptron, passive-aggressive and AROW
``sgd``           SGD with L2 regularisation and CRFsuite's learning-rate calibration
``_epochs``       the compiled per-sequence loops of ``online`` and ``sgd``
``training_log``  ``TrainingLog`` and the holdout scores
``weights``       the fitted features and weights
``persistence``   the model file
``estimator``     the :class:`CRF` estimator and its :class:`Tagger`
``metrics``       sklearn-crfsuite's token and sequence scores
================  =========================================================================

Differences from sklearn-crfsuite
---------------------------------
* ``algorithm`` is any of CRFsuite's (``"lbfgs"``, ``"l2sgd"``, ``"ap"``, ``"pa"``,
  ``"arow"``), with CRFsuite's parameters; the per-sequence learners shuffle with their own
  seeded generator (CRFsuite with C's ``rand()``), so their weights differ from CRFsuite's.
* ``predict`` and ``predict_marginals`` return lists (sklearn-crfsuite 0.5 returns numpy
  object arrays, which become 2-D when all sequences have the same length).
* weights in ``state_features_`` / ``transition_features_`` are exact (CRFsuite's are read
  back from a text dump with 6 decimals); like CRFsuite's, they hold the non-zero weights.
* negative ``c1`` / ``c2``, NaN / inf feature values, labels that are not str, and labels in
  ``y_dev`` unseen in ``y`` raise (CRFsuite silently accepts some of them).
* the model lives in memory (pickle it, or use :meth:`save` / :meth:`load`); there are no
  temporary model files. ``model_filename`` is written in fastseq's format (read back by
  ``CRF(model_filename=...)`` and :meth:`CRF.load`), not CRFsuite's.
"""
from __future__ import annotations

from ..exceptions import NotFittedError
from . import metrics
from . import persistence as _persistence
from .estimator import CRF, Tagger
from .items import crfsuite_items
from .training_log import LabelScore, TrainingLog

#: Version of the model file format :meth:`CRF.save` writes (an int).
#:
#: :meth:`CRF.load` reads files of this version and older ones, and refuses newer ones
#: with a :class:`~fastseq.exceptions.ModelFileError` naming both versions.
#:
#: Examples
#: --------
#: >>> from fastseq.crf import FORMAT_VERSION
#: >>> FORMAT_VERSION
#: 1
FORMAT_VERSION = _persistence.FORMAT_VERSION

__all__ = ["CRF", "Tagger", "TrainingLog", "LabelScore", "NotFittedError", "FORMAT_VERSION",
           "crfsuite_items", "metrics"]
