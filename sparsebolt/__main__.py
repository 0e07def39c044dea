"""``python -m sparsebolt``: the ``sparsebolt`` command line (``--version``, ``--help``)."""
import sys

from .cli import main

sys.exit(main())
