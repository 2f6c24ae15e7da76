"""``python -m styleenv``: the ``styleenv`` command (the application lives in :mod:`styleenv_cli`).

The one module under ``styleenv/`` that imports the application above it: an entry shim that
Python runs, never imported by the package itself.
"""

import sys

from styleenv_cli.main import main

sys.exit(main())
