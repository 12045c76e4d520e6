"""Types of the compiled encoder of python-crfsuite items (src/fastseq/crf/_items.pyx)."""
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from numpy.typing import NDArray

class Table:
    """Attribute columns by (key, value); the complete index of a vocabulary from index()."""

def index(vocab: Dict[str, int]) -> Table: ...

def encode(seqs: Sequence[Any], name: str, vocab: Dict[str, int], fit: bool,
           flatten: Callable[[Any, str, List[str], List[float], str], None],
           table: Optional[Table] = None
           ) -> Tuple[NDArray[np.signedinteger], NDArray[np.signedinteger],
                      NDArray[np.float64], NDArray[np.int64], bool]: ...
