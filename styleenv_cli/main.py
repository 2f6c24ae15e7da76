"""The ``styleenv`` console command: one entry point, one subcommand per module.

Each module in :mod:`styleenv_cli.commands` defines ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args) -> int``. A :class:`~styleenv_cli.commands.UsageError` raised by ``run`` ends the
command with exit code 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import sys

from styleenv_cli.commands import UsageError, demo, evaluate, stylize, train

COMMANDS = {"demo": demo, "stylize": stylize, "evaluate": evaluate, "train": train}


def build_parser() -> argparse.ArgumentParser:
    """The parser of the command and its subcommands."""
    parser = argparse.ArgumentParser(prog="styleenv", description="Reinforcement-learning style transfer.")
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
        return int(args._run(args) or 0)
    except UsageError as err:
        print(f"styleenv {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"styleenv {args.command}: interrupted", file=sys.stderr)
        return 130
