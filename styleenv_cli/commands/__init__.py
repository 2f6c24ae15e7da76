"""Subcommands of the ``styleenv`` console command (see :mod:`styleenv_cli.main`), one module each.

Each may import :mod:`agents` and :mod:`styleenv` (inside ``run``, so that ``styleenv --help``
stays quick) and raises :class:`UsageError` for bad input.
"""


class UsageError(Exception):
    """Bad input to a command: reported as one line on stderr, exit code 2."""
