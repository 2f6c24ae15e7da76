"""Loading the released RLMiniStyler checkpoints, and this project's own checkpoint format.

The release ships two plain state dicts, ``actor.pth.tar`` and ``builder.pth.tar``. Their
keys wrap every convolution as ``<layer>.conv_layer.{weight,bias}`` inside numbered
sequences; :data:`ACTOR_KEYS` and :data:`BUILDER_KEYS` map those layer prefixes onto the
module names of :mod:`agents.networks`.

The project's own format is one file holding both state dicts and a metadata dict, readable
with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path
from typing import Any

import torch

from agents.networks import Actor, Builder
from styleenv.files import atomic_write

ACTOR_FILE = "actor.pth.tar"
BUILDER_FILE = "builder.pth.tar"
CHECKPOINT_FORMAT = "styleenv-rlministyler"
CHECKPOINT_VERSION = 1
#: The advice that ends :func:`load_checkpoint`'s errors by default (``stylize``, ``export``, ``evaluate``).
CHECKPOINT_HINT = "pass a checkpoint saved by styleenv (or --release with the released model's folder)"

# release layer prefix -> module prefix of agents.networks
ACTOR_KEYS: dict[str, str] = {
    "encoder.enc1_1.0": "encoder.conv1_1",
    "encoder.enc1_2.0": "encoder.down1_2",
    "encoder.enc1_2.2": "encoder.point1_2",
    "encoder.style1_2.0": "encoder.style1_2",
    "encoder.modulator1_2.weight1.0": "encoder.mod1_2_weight.conv",
    "encoder.modulator1_2.bias1.0": "encoder.mod1_2_bias.conv",
    "encoder.enc1_3.0": "encoder.down1_3",
    "encoder.enc1_3.2": "encoder.point1_3",
    "encoder.style1_3.0": "encoder.style1_3",
    "encoder.modulator1_3.weight1.0": "encoder.mod1_3_weight.conv",
    "encoder.modulator1_3.bias1.0": "encoder.mod1_3_bias.conv",
    "encoder.enc1_4.0.conv1": "encoder.res1.conv1",
    "encoder.enc1_4.0.conv2": "encoder.res1.conv2",
    "encoder.enc2.0.conv1": "encoder.res2.conv1",
    "encoder.enc2.0.conv2": "encoder.res2.conv2",
    "modulator.weight1.0": "mod_weight1.conv",
    "modulator.bias1.0": "mod_bias1.conv",
    "modulator.weight2.0": "mod_weight2.conv",
    "modulator.bias2.0": "mod_bias2.conv",
    "dist_builder.conv_layer": "head.depthwise",
    "dist_builder.mean": "head.mean",
    "dist_builder.std": "head.logvar",
}
BUILDER_KEYS: dict[str, str] = {
    "dec1.conv1": "res1.conv1",
    "dec1.conv2": "res1.conv2",
    "dec2.conv1": "res2.conv1",
    "dec2.conv2": "res2.conv2",
    "dec3.conv1": "up1.conv",
    "dec3.conv2": "up1.point.conv",
    "dec4.conv1": "up2.conv",
    "dec4.conv2": "up2.point.conv",
    "dec5.0": "out",
}


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable or of the wrong kind (the message says which)."""


def _read_state(path: Path, what: str, hint: str) -> dict[str, Any]:
    if path.is_dir():
        raise CheckpointError(f"{path}: a folder, not a file ({what}); {hint}")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file ({what}); {hint}")
    with path.open("rb") as file:
        head = file.read(4)
    if head and head != b"PK\x03\x04" and head[:1] != b"\x80":  # torch.save writes a zip; older ones a pickle
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (neither a zip nor a pickle); {hint}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and unpickler errors all mean "not a usable checkpoint"
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({_why_unreadable(err)}); {hint}") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: holds a {type(obj).__name__}, not a state dict ({what}); {hint}")
    return obj


def _why_unreadable(err: Exception) -> str:
    """One short line from ``torch.load``'s error: the weights-only loader's own reason where it
    gave one (torch's advice to load without ``weights_only`` is not passed on), else the first
    sentence."""
    text = str(err)
    if isinstance(err, EOFError):
        return "empty or cut short"
    if "Weights only load failed" in text:
        rest = text.partition("WeightsUnpickler error:")[2].strip()
        return "refused by the weights-only loader" + (": " + rest.splitlines()[0].split(". ")[0] if rest else "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0].split(". ")[0] if lines else type(err).__name__


def _rename(state: dict[str, Any], table: dict[str, str], path: Path, what: str, hint: str) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        prefix, _, leaf = key.rpartition(".")
        if prefix.endswith(".conv_layer"):
            prefix = prefix[: -len(".conv_layer")]
        if prefix not in table or leaf not in ("weight", "bias") or not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{path}: unexpected key {key!r}, not the released {what}; {hint}")
        out[f"{table[prefix]}.{leaf}"] = value
    return out


def _load_strict(module: torch.nn.Module, state: dict[str, torch.Tensor], path: Path, what: str, hint: str) -> None:
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0]
        raise CheckpointError(f"{path}: does not fit the {what} ({detail}); {hint}") from None


def load_release(directory: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[Actor, Builder]:
    """Build the actor and the builder from the released checkpoints.

    :param directory: folder holding ``actor.pth.tar`` and ``builder.pth.tar``
    :param device: where to put the modules
    :return: ``(actor, builder)`` in eval mode
    :raises CheckpointError: a file missing, unreadable, or not the expected network
    """
    root = Path(directory)
    hint = f"pass the folder holding the released {ACTOR_FILE} and {BUILDER_FILE}"
    if not root.is_dir():
        raise CheckpointError(f"{root}: not a folder; {hint}")
    actor, builder = Actor(), Builder()
    for module, name, table, what in (
        (actor, ACTOR_FILE, ACTOR_KEYS, "actor"),
        (builder, BUILDER_FILE, BUILDER_KEYS, "builder"),
    ):
        path = root / name
        state = _read_state(path, f"the released {what}", hint)
        _load_strict(module, _rename(state, table, path, what, hint), path, what, hint)
    return actor.to(device).eval(), builder.to(device).eval()


def export_release(actor: Actor, builder: Builder, directory: str | os.PathLike) -> None:
    """Write the two modules in the release's key layout (``actor.pth.tar``, ``builder.pth.tar``)."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    for module, name, table in ((actor, ACTOR_FILE, ACTOR_KEYS), (builder, BUILDER_FILE, BUILDER_KEYS)):
        inverse = {mine: theirs for theirs, mine in table.items()}
        state = {}
        for key, value in module.state_dict().items():
            prefix, _, leaf = key.rpartition(".")
            state[f"{inverse[prefix]}.conv_layer.{leaf}"] = value.detach().cpu()
        atomic_write(root / name, lambda tmp: torch.save(state, tmp))


def save_checkpoint(
    path: str | os.PathLike, actor: Actor, builder: Builder, metadata: dict[str, Any] | None = None
) -> Path:
    """Save actor and builder in one file (written to a temporary name, then renamed).

    :param path: destination file
    :param actor: the actor
    :param builder: the builder
    :param metadata: JSON-like values only (str, int, float, bool, None, lists, dicts), so that
        ``torch.load(..., weights_only=True)`` reads it back
    :return: the path written
    """
    path = Path(path)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "actor": {k: v.detach().cpu() for k, v in actor.state_dict().items()},
        "builder": {k: v.detach().cpu() for k, v in builder.state_dict().items()},
        "metadata": dict(metadata or {}),
    }
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_checkpoint(
    path: str | os.PathLike, device: str | torch.device = "cpu", hint: str = CHECKPOINT_HINT
) -> tuple[Actor, Builder, dict[str, Any]]:
    """Load a file written by :func:`save_checkpoint`.

    :param path: the checkpoint file
    :param device: where to put the modules
    :param hint: the advice that ends each error (what the caller's user can pass instead)
    :return: ``(actor, builder, metadata)``, modules in eval mode
    :raises CheckpointError: missing, unreadable, or not a styleenv checkpoint
    """
    path = Path(path)
    try:
        payload = _read_state(path, "a styleenv checkpoint", hint)
    except CheckpointError:
        if _is_sb3_zip(path):
            final = path.parent.parent / "final.pt" if path.parent.name == "checkpoints" else "the run folder's final.pt"
            raise CheckpointError(f"{path}: a stable-baselines3 training checkpoint (what train --resume continues "
                                  f"from), not a styleenv checkpoint; pass {final}, the weights the run exports") from None
        raise
    if payload.get("format") != CHECKPOINT_FORMAT or "actor" not in payload or "builder" not in payload:
        raise CheckpointError(f"{path}: not a styleenv checkpoint (no actor/builder entries); {hint}")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path}: checkpoint version {payload.get('version')!r} is not supported; {hint}")
    actor, builder = Actor(), Builder()
    _load_strict(actor, payload["actor"], path, "actor", hint)
    _load_strict(builder, payload["builder"], path, "builder", hint)
    return actor.to(device).eval(), builder.to(device).eval(), dict(payload.get("metadata") or {})


def _is_sb3_zip(path: Path) -> bool:
    """Whether ``path`` is a stable-baselines3 model zip (``model.save``: ``data``, ``policy.pth``, ...)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "policy.pth" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def checkpoint_loss_weights(path: str | os.PathLike, metadata: dict[str, Any]) -> list[float] | None:
    """The uncertainty weights ``p`` (content, style, contrastive) in a checkpoint's metadata, if any.

    :param path: the checkpoint file (for the error message)
    :param metadata: what :func:`load_checkpoint` returned
    :raises CheckpointError: ``loss_weights`` present but not three finite numbers
    """
    weights = metadata.get("loss_weights")
    if weights is None:
        return None
    if (not isinstance(weights, list) or len(weights) != 3
            or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in weights)):
        raise CheckpointError(f"{path}: metadata loss_weights must be three finite numbers, got {weights!r}")
    return [float(v) for v in weights]
