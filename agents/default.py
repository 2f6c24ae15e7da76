"""The project's own trained RLMiniStyler weights, shipped inside the package.

``agents/checkpoints/rlministyler.pt`` holds actor + builder only (the
:func:`agents.release.save_checkpoint` format, about 1.5 MB); ``rlministyler.json`` beside it
is its card: the sha256 of the file, the training command, config, steps and wall time, and
the held-back metrics. It is the default model of ``styleenv stylize``, of ``styleenv demo``,
of :meth:`agents.stylizer.Stylizer.default`, of the ``ours`` evaluation agent and of
fine-tuning (``init = "default"``). Loading it needs no network; its sha256 is checked once
per process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agents.release import CheckpointError

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_CHECKPOINT = CHECKPOINT_DIR / "rlministyler.pt"
DEFAULT_CARD = CHECKPOINT_DIR / "rlministyler.json"


def default_card() -> dict[str, Any]:
    """The shipped checkpoint's card (sha256, training record, metrics).

    :raises CheckpointError: the card is missing or not JSON (a broken install)
    """
    try:
        return json.loads(DEFAULT_CARD.read_text())
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{DEFAULT_CARD}: the shipped checkpoint's card is unreadable ({err}); "
                              "reinstall styleenv (pip install -e .)") from None


def default_checkpoint() -> Path:
    """Path of the shipped checkpoint, after checking it against the card's sha256.

    :raises CheckpointError: the file is missing or its sha256 is not the recorded one
    """
    from styleenv.weights import has_sha256

    path = DEFAULT_CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"{path}: the shipped checkpoint is missing; reinstall styleenv (pip install -e .) "
                              "or pass another model (the command's --checkpoint, --release or --init)")
    expected = str(default_card().get("sha256"))
    match, digest = has_sha256(path, expected)
    if not match:
        raise CheckpointError(f"{path}: sha256 {digest[:12]}... is not the recorded {expected[:12]}...; "
                              "the file is damaged: reinstall styleenv (pip install -e .)")
    return path


def init_path(spec: str) -> Path:
    """The file of a fine-tuning ``init``: ``"default"`` is the shipped checkpoint (checked), else ``spec``.

    :raises CheckpointError: ``"default"`` and the shipped file is missing or damaged
    """
    return default_checkpoint() if spec == "default" else Path(spec)
