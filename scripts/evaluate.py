"""Evaluate agents on the environment: the same as ``styleenv evaluate`` (see ``--help``).

    PYTHONPATH=. python scripts/evaluate.py --agents identity adain --out /tmp/eval
"""

import sys

from styleenv_cli.main import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
