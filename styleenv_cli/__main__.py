"""``python -m styleenv_cli``: the ``styleenv`` command."""

import sys

from styleenv_cli.main import main

sys.exit(main())
