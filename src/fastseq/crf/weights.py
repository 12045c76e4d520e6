"""The fitted parameters of a CRF: its features and their weights."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["CRFWeights"]


@dataclass
class CRFWeights:
    """The features of a CRF and their weights.

    State features are ``(attribute, label)`` pairs, transition features ``(label,
    label)`` pairs; indices are into the attribute columns and into ``labels``.

    Parameters
    ----------
    labels : list of str
        The labels, in model order (``N`` of them).
    n_attributes : int
        The number of attribute columns ``A``.
    state_attr, state_label : ndarray of int64, shape (K_s,)
        The attribute column and the label of each state feature.
    state_weight : ndarray of float64, shape (K_s,)
        The weight of each state feature.
    trans_from, trans_to : ndarray of int64, shape (K_t,)
        The previous and the current label of each transition feature.
    trans_weight : ndarray of float64, shape (K_t,)
        The weight of each transition feature.
    trigram_key, trigram_weight : ndarray of int64 / float64, shape (K_3,), optional
        A second-order CRF's trigram features ``(a, b, c)`` as keys ``(a' N + b) N + c``
        (``a' = a + 1``, 0 for the beginning of a sequence) and their weights; None for a
        first-order CRF.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.weights import CRFWeights
    >>> w = CRFWeights(["B", "I"], 2, np.array([0, 1]), np.array([0, 1]),
    ...                np.array([0.5, 0.0]), np.array([0]), np.array([1]), np.array([1.5]))
    >>> w.size
    3
    >>> w.state_features(["x", "y"]), w.transition_features()
    ({('x', 'B'): 0.5}, {('B', 'I'): 1.5})
    """

    labels: List[str]
    n_attributes: int
    state_attr: np.ndarray    # (K_s,) int64
    state_label: np.ndarray   # (K_s,) int64
    state_weight: np.ndarray  # (K_s,) float64
    trans_from: np.ndarray    # (K_t,) int64
    trans_to: np.ndarray      # (K_t,) int64
    trans_weight: np.ndarray  # (K_t,) float64
    trigram_key: Optional[np.ndarray] = None     # (K_3,) int64, order 2
    trigram_weight: Optional[np.ndarray] = None  # (K_3,) float64

    @property
    def size(self) -> int:
        """Number of features (state + transition), zero weights included.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.crf.weights import CRFWeights
        >>> i = np.array([0])
        >>> CRFWeights(["A"], 1, i, i, np.zeros(1), i, i, np.ones(1)).size
        2
        """
        extra = 0 if self.trigram_weight is None else self.trigram_weight.size
        return int(self.state_weight.size + self.trans_weight.size + extra)

    def trigram_matrix(self) -> Optional[np.ndarray]:
        """The trigram weights as a dense ``(N + 1, N, N)`` array (``[0]``: after the
        beginning of a sequence), zero outside the feature set; None for a first-order CRF.

        Returns
        -------
        ndarray of float64 or None

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.crf.weights import CRFWeights
        >>> i = np.array([0])
        >>> w = CRFWeights(["A"], 1, i, i, np.zeros(1), i, i, np.ones(1),
        ...                trigram_key=np.array([1]), trigram_weight=np.array([2.0]))
        >>> w.trigram_matrix().tolist(), w.size
        ([[[0.0]], [[2.0]]], 3)
        """
        if self.trigram_key is None or self.trigram_weight is None:
            return None
        N = len(self.labels)
        T3 = np.zeros((N + 1) * N * N)
        T3[self.trigram_key] = self.trigram_weight
        return T3.reshape(N + 1, N, N)

    def matrices(self) -> Tuple[np.ndarray, np.ndarray]:
        """The weights as dense matrices, zero outside the feature set.

        Returns
        -------
        W : ndarray of float64, shape (n_attributes, N)
            State weights, ``W[attribute, label]``.
        T : ndarray of float64, shape (N, N)
            Transition weights, ``T[label_from, label_to]``.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.crf.weights import CRFWeights
        >>> w = CRFWeights(["B", "I"], 1, np.array([0]), np.array([1]), np.array([2.0]),
        ...                np.array([1]), np.array([0]), np.array([-1.0]))
        >>> W, T = w.matrices()
        >>> W.tolist(), T.tolist()
        ([[0.0, 2.0]], [[0.0, 0.0], [-1.0, 0.0]])
        """
        N = len(self.labels)
        W = np.zeros((self.n_attributes, N))
        W[self.state_attr, self.state_label] = self.state_weight
        T = np.zeros((N, N))
        T[self.trans_from, self.trans_to] = self.trans_weight
        return W, T

    def state_features(self, attributes: Sequence[str]) -> Dict[Tuple[str, str], float]:
        """The non-zero state weights by name.

        Parameters
        ----------
        attributes : sequence of str
            The name of every attribute column.

        Returns
        -------
        dict of (str, str) to float
            ``{(attribute name, label): weight}`` of the non-zero state weights, in feature
            order.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.crf.weights import CRFWeights
        >>> w = CRFWeights(["B", "I"], 1, np.array([0, 0]), np.array([0, 1]),
        ...                np.array([2.0, 0.0]), np.array([], dtype=np.int64),
        ...                np.array([], dtype=np.int64), np.array([]))
        >>> w.state_features(["bias"])
        {('bias', 'B'): 2.0}
        """
        nz = np.flatnonzero(self.state_weight)
        return {(attributes[a], self.labels[lab]): w for a, lab, w in
                zip(self.state_attr[nz].tolist(), self.state_label[nz].tolist(),
                    self.state_weight[nz].tolist())}

    def transition_features(self) -> Dict[Tuple[str, str], float]:
        """The non-zero transition weights by label.

        Returns
        -------
        dict of (str, str) to float
            ``{(label from, label to): weight}`` of the non-zero transition weights, in
            feature order.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.crf.weights import CRFWeights
        >>> none = np.array([], dtype=np.int64)
        >>> w = CRFWeights(["B", "I"], 0, none, none, np.array([]), np.array([0, 1]),
        ...                np.array([1, 0]), np.array([0.5, 0.0]))
        >>> w.transition_features()
        {('B', 'I'): 0.5}
        """
        nz = np.flatnonzero(self.trans_weight)
        return {(self.labels[a], self.labels[b]): w for a, b, w in
                zip(self.trans_from[nz].tolist(), self.trans_to[nz].tolist(),
                    self.trans_weight[nz].tolist())}
