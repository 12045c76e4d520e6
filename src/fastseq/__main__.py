"""``python -m fastseq``: the same as the ``fastseq`` command."""
from .cli import main

raise SystemExit(main())
