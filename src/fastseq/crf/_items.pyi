"""Types of the compiled encoder of python-crfsuite items (src/fastseq/crf/_items.pyx)."""
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np
from numpy.typing import NDArray

def encode(seqs: Sequence[Any], name: str, vocab: Dict[str, int], fit: bool,
           flatten: Callable[[Any, str, List[str], List[float], str], None]
           ) -> Tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64],
                      NDArray[np.int64]]: ...
