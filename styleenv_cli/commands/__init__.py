"""Subcommands of the ``styleenv`` console command (see :mod:`styleenv_cli.main`)."""


class UsageError(Exception):
    """Bad input to a command: reported as one line on stderr, exit code 2."""
