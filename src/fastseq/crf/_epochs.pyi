"""Types of the compiled epochs of the per-sequence CRF learners (src/fastseq/crf/_epochs.pyx).

The trailing positional arguments are :attr:`fastseq.crf.objective.EpochData.arrays`.
"""
from typing import Tuple

import numpy as np
from numpy.typing import NDArray

def online_epoch(name: str, order: NDArray[np.int64], w: NDArray[np.float64],
                 aux: NDArray[np.float64], u: int, indptr: NDArray[np.int64],
                 lo: NDArray[np.int64], hi: NDArray[np.int64], data: NDArray[np.float64],
                 offsets: NDArray[np.int64], y: NDArray[np.int64], label: NDArray[np.int32],
                 N: int, t_exists: NDArray[np.uint8], *, pa_type: int = ..., c: float = ...,
                 error_sensitive: bool = ..., gamma: float = ...,
                 simd: str = ...) -> Tuple[float, int]: ...
def sgd_epoch(order: NDArray[np.int64], w: NDArray[np.float64], lam: float, t0: float,
              t: float, decay: float, update: bool, indptr: NDArray[np.int64],
              lo: NDArray[np.int64], hi: NDArray[np.int64], data: NDArray[np.float64],
              offsets: NDArray[np.int64], y: NDArray[np.int64], label: NDArray[np.int32],
              N: int, t_exists: NDArray[np.uint8], *,
              simd: str = ...) -> Tuple[float, float, float, float]: ...
