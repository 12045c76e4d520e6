"""The fitted parameters of a CRF: its features and their weights."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np

__all__ = ["CRFWeights"]


@dataclass
class CRFWeights:
    """State features ``(attribute, label)`` and transition features ``(label, label)`` with
    their weights; indices are into the attribute columns and into ``labels``."""

    labels: List[str]
    n_attributes: int
    state_attr: np.ndarray    # (K_s,) int64
    state_label: np.ndarray   # (K_s,) int64
    state_weight: np.ndarray  # (K_s,) float64
    trans_from: np.ndarray    # (K_t,) int64
    trans_to: np.ndarray      # (K_t,) int64
    trans_weight: np.ndarray  # (K_t,) float64

    @property
    def size(self) -> int:
        """Number of features (state + transition)."""
        return int(self.state_weight.size + self.trans_weight.size)

    def matrices(self) -> Tuple[np.ndarray, np.ndarray]:
        """Dense ``W`` (attributes x labels) and ``T`` (labels x labels), zero outside the
        feature set."""
        N = len(self.labels)
        W = np.zeros((self.n_attributes, N))
        W[self.state_attr, self.state_label] = self.state_weight
        T = np.zeros((N, N))
        T[self.trans_from, self.trans_to] = self.trans_weight
        return W, T

    def state_features(self, attributes: List[str]) -> Dict[Tuple[str, str], float]:
        """``{(attribute name, label): weight}`` of the non-zero state weights."""
        nz = np.flatnonzero(self.state_weight)
        return {(attributes[a], self.labels[lab]): w for a, lab, w in
                zip(self.state_attr[nz].tolist(), self.state_label[nz].tolist(),
                    self.state_weight[nz].tolist())}

    def transition_features(self) -> Dict[Tuple[str, str], float]:
        """``{(label from, label to): weight}`` of the non-zero transition weights."""
        nz = np.flatnonzero(self.trans_weight)
        return {(self.labels[a], self.labels[b]): w for a, b, w in
                zip(self.trans_from[nz].tolist(), self.trans_to[nz].tolist(),
                    self.trans_weight[nz].tolist())}
