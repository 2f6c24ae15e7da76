"""The ``styleenv`` console command: one entry point, one subcommand per module.

Each module in :mod:`styleenv.commands` defines ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args) -> int``. A :class:`~styleenv.commands.UsageError` raised by ``run`` ends the
command with exit code 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("demo", "stylize", "evaluate", "train")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="styleenv", description="Reinforcement-learning style transfer.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"styleenv.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"styleenv.commands.{name}":
                raise
            continue  # a subcommand not built yet
        cmd = sub.add_parser(name, help=module.HELP, description=module.__doc__)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    from styleenv.commands import UsageError

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


if __name__ == "__main__":
    sys.exit(main())
