#!/usr/bin/env python
"""Train RLMiniStyler with SB3's SAC (same as ``styleenv train``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from styleenv_cli.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
