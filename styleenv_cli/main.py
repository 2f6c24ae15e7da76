"""The ``styleenv`` console command: one entry point, one subcommand per module.

Each module in :mod:`styleenv_cli.commands` defines ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args) -> int``. A :class:`~styleenv_cli.commands.UsageError` raised by ``run`` ends the
command with exit code 2 and one line on stderr; a file-system error (:class:`OSError`) with
exit code 1 and one line; a warning is one line, ``styleenv COMMAND: warning: MESSAGE``. SIGTERM
(``kill``, a job scheduler's stop) is handled as Ctrl-C: the command cleans up (temporary files
removed, a training run saved) and exits with code 130.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import warnings
from collections.abc import Iterator

from styleenv import __version__
from styleenv_cli.commands import UsageError, demo, evaluate, export, stylize, train

COMMANDS = {"demo": demo, "stylize": stylize, "evaluate": evaluate, "train": train, "export": export}


def build_parser() -> argparse.ArgumentParser:
    """The parser of the command and its subcommands."""
    parser = argparse.ArgumentParser(prog="styleenv", description="Reinforcement-learning style transfer.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        cmd = sub.add_parser(name, help=module.HELP, description=module.__doc__)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit code.

    :param argv: the arguments after the program name
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        with _sigterm_as_interrupt(), _one_line_warnings(args.command):
            return int(args._run(args) or 0)
    except UsageError as err:
        print(f"styleenv {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk, a folder that vanished: one line, not a traceback
        print(f"styleenv {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"styleenv {args.command}: interrupted", file=sys.stderr)
        return 130


@contextlib.contextmanager
def _one_line_warnings(command: str) -> Iterator[None]:
    """Within the block, a warning shown on stderr is ``styleenv COMMAND: warning: MESSAGE`` (no source line).

    :param command: the subcommand's name
    """
    previous = warnings.formatwarning

    def one_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 line: str | None = None) -> str:
        return f"styleenv {command}: warning: {message}\n"

    warnings.formatwarning = one_line
    try:
        yield
    finally:
        warnings.formatwarning = previous


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`KeyboardInterrupt` (so ``finally`` and ``except`` clean up)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
