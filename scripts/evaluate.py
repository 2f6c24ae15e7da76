#!/usr/bin/env python
"""Evaluate agents on the environment: the same as ``styleenv evaluate`` (see ``--help``).

    python scripts/evaluate.py --agents identity adain --out /tmp/eval
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from styleenv_cli.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
