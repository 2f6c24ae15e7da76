"""Subcommands of the ``styleenv`` console command (see :mod:`styleenv_cli.main`), one module each.

Each may import :mod:`agents` and :mod:`styleenv` (inside ``run``, so that ``styleenv --help``
stays quick) and raises :class:`UsageError` for bad input.
"""

from __future__ import annotations

import os
from pathlib import Path


class UsageError(Exception):
    """Bad input to a command: reported as one line on stderr, exit code 2."""


def add_compute_arguments(parser, device_default: str = "auto") -> None:
    """``--device`` and ``--threads``, for every command that runs networks.

    :param parser: an :class:`argparse.ArgumentParser`
    :param device_default: the command's default device
    """
    parser.add_argument("--device", default=device_default, help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=0, metavar="N",
                        help="CPU threads (default 0: torch's default, at most the cores other processes leave free)")


def apply_compute_arguments(args) -> str:
    """Check ``--device`` and set the CPU threads of :func:`add_compute_arguments`; returns the device.

    :raises UsageError: a negative thread count, an unknown device, or CUDA asked for and absent
    """
    from styleenv.devices import resolve_device, set_threads

    check_threads(args.threads)
    try:
        device = resolve_device(args.device)
    except ValueError as err:
        raise UsageError(f"--device: {err}") from None
    set_threads(args.threads or None)
    return str(device)


def check_threads(threads: int, name: str = "--threads") -> None:
    """Refuse a negative thread count, or more threads than this machine has cores.

    :param threads: the count asked for (0: automatic)
    :param name: how the message names it
    :raises UsageError: the count is out of range (one line)
    """
    cores = os.cpu_count() or 1
    if not 0 <= threads <= cores:
        raise UsageError(f"{name} must lie in 1..{cores} (this machine's cores), or be 0 for automatic; got {threads}")


def prepare_output(folder: Path, flag: str = "--out") -> bool:
    """Create ``folder`` if needed, check that files can be written in it, and clear the temporary
    files an earlier killed run left there (:func:`styleenv.files.remove_stale_temporaries`).

    :param folder: the output folder
    :param flag: the option that named it, for the message
    :return: whether the folder was created here (so that a failed command can remove it again)
    :raises UsageError: the folder cannot be created or written to, or a new one is named like an
        image file (one line with the reason)
    """
    from styleenv.files import remove_stale_temporaries, temporary_name
    from styleenv.images import IMAGE_EXTENSIONS

    existed = folder.is_dir()
    if not existed and folder.suffix.lower() in IMAGE_EXTENSIONS:
        raise UsageError(f"{flag} {folder}: names a folder (files are written inside it), not an image; "
                         f"pass a folder such as {flag} {folder.with_suffix('')}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / temporary_name("write-test")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise UsageError(f"{flag} {folder}: cannot write there ({err.strerror or err})") from None
    remove_stale_temporaries(folder)
    return not existed
