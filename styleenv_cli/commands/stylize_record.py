"""What made a ``styleenv stylize`` output folder: ``options.json`` inside it, and a re-run's check against it.

A folder's name carries the options that change the look and have a short name
(:func:`~styleenv_cli.commands.stylize_options.name_suffix`); ``options.json`` holds every option
that changes what the folder holds: the model and the input files (path and sha256), the steps,
the kept steps, ``--max-size``, ``--temporal`` and the rest. A re-run skips a folder made with
the same options and refuses one made with others (one line naming what differs), since a skip
would silently keep a result the user did not ask for. A folder without the file (or with an
unreadable one) is skipped, as before the options were recorded.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from styleenv_cli.commands import UsageError

RECORD_FILE = "options.json"

#: How a message names each key of a record.
NAMES = {
    "model": "the model", "content": "CONTENT", "style": "STYLE", "masks": "--mask", "steps": "--steps",
    "keep": "--keep", "max_size": "--max-size", "temporal": "--temporal", "alpha": "--alpha", "sample": "--sample",
    "seed": "--seed", "style_weights": "--style-weights", "preserve_colour": "--preserve-colour",
    "feather": "--feather",
}  # fmt: skip


def _model_path(args: argparse.Namespace) -> Path:
    """The file (or release folder) the model of ``args`` is read from."""
    from agents.default import DEFAULT_CHECKPOINT

    if args.runtime == "onnx":
        return args.onnx
    return args.release or args.checkpoint or DEFAULT_CHECKPOINT


def make_record(args: argparse.Namespace, content: Path, styles: list[Path]) -> dict:
    """The options that make one output folder (:data:`NAMES` are its keys; None: not given).

    :param args: the parsed arguments of ``styleenv stylize``
    :param content: the content image or video
    :param styles: the style images of the folder's look
    """
    from agents.factory import weights_record

    return {
        "model": weights_record(_model_path(args)),
        "content": _file(content),
        "style": [_file(p) for p in styles],
        "masks": [_file(Path(m)) for m in args.mask] if args.mask else None,
        "steps": args.steps,
        "keep": sorted(set(args.keep)) if args.keep else None,
        "max_size": args.max_size,
        "temporal": args.temporal,
        "alpha": args.alpha,
        "sample": args.sample,
        "seed": args.seed,
        "style_weights": args.style_weights,
        "preserve_colour": args.preserve_colour,
        "feather": args.feather,
    }


def _file(path: Path) -> dict[str, str]:
    """An input file of the record: its absolute path and sha256."""
    from styleenv.weights import sha256_of

    return {"path": str(path.resolve()), "sha256": sha256_of(path)}


def write_record(folder: Path, record: dict) -> Path:
    """Write ``record`` as the folder's :data:`RECORD_FILE`; returns its path.

    :param folder: the folder being written (its temporary name: the record moves with it)
    :param record: what :func:`make_record` made
    """
    path = folder / RECORD_FILE
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


def check_existing(records: dict[Path, dict]) -> None:
    """Refuse to skip a folder made with other options.

    :param records: the record of each output folder of this run, by folder
    :raises UsageError: an existing folder's record differs (one line: the folder, what differs,
        and the ways on)
    """
    for target, record in records.items():
        old = _read(target / RECORD_FILE)
        if old is None:  # no folder, or one from before the options were recorded
            continue
        changed = [key for key in record if _compared(old.get(key)) != _compared(record[key])]
        if changed:
            what = "; ".join(f"{NAMES[key]} {_shown(old.get(key))} then, {_shown(record[key])} now" for key in changed)
            raise UsageError(f"{target}/ exists, made with other options ({what}): --overwrite replaces it, "
                             "or --out names another folder")


def _read(path: Path) -> dict | None:
    """A folder's record, or None where there is none or it cannot be read."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _compared(value: object) -> object:
    """A record's value as compared: a file by its sha256 (the same bytes elsewhere are the same input)."""
    if isinstance(value, dict):
        return value.get("sha256")
    if isinstance(value, list):
        return [_compared(v) for v in value]
    return value


def _shown(value: object) -> str:
    """A record's value in a message: a file as its path and the start of its sha256."""
    if isinstance(value, dict):
        return f"{value.get('path')} (sha256 {str(value.get('sha256'))[:12]})"
    if isinstance(value, list):
        return " ".join(_shown(v) for v in value)
    return "not given" if value is None else str(value)
