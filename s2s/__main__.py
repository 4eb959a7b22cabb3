"""``python -m s2s``: the ``s2s`` command (see s2s/cli.py)."""

import sys

from .cli import main

sys.exit(main())
