"""``python -m fastseq.c_api [--cflags] [--libs] [--cython-include]``: the build flags."""
import sys

from fastseq.c_api import main

sys.exit(main())
