"""Weight averaging of checkpoints from one training trajectory (tail averaging, model soups).

Two snapshots of the same run sit in one basin of the loss surface, so the element-wise
weighted mean of their parameters is a network too, often smoother than either. A source is
an SB3 zip written by ``styleenv train`` (``checkpoints/last.zip`` or a copy of it), a
``.pt`` file of :func:`agents.release.save_checkpoint` or the released model's folder (a run
fine-tuned from it shares its basin too); zips are read weights-only, nothing in them is
unpickled. The uncertainty weights ``p`` of the generative loss are averaged alongside, so that
a fine-tune from the mean starts with settled weights.
"""

from __future__ import annotations

import os
from pathlib import Path

from agents.networks import Actor, Builder
from agents.release import CheckpointError, checkpoint_loss_weights, load_checkpoint, load_release


def networks_from_sb3_zip(path: str | os.PathLike) -> tuple[Actor, Builder, list[float] | None]:
    """Actor, builder and loss weights ``p`` of a ``StylePolicy`` zip saved by SB3, without unpickling its data.

    :param path: the ``.zip`` file
    :return: ``(actor, builder, p)``, the modules on the CPU in eval mode, ``p`` None in a zip without it
    :raises CheckpointError: missing file, or a zip without the policy's actor and builder
    """
    from stable_baselines3.common.save_util import load_from_zip_file

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such SB3 zip (styleenv train writes RUN/checkpoints/last.zip)")
    _, params, _ = load_from_zip_file(path, device="cpu", load_data=False)
    state = (params or {}).get("policy", {})
    actor_state = {k[len("actor.net."):]: v for k, v in state.items() if k.startswith("actor.net.")}
    builder_state = {k[len("builder."):]: v for k, v in state.items() if k.startswith("builder.")}
    if not actor_state or not builder_state:
        raise CheckpointError(f"{path}: not a styleenv SAC policy (no actor.net.* / builder.* weights)")
    actor, builder = Actor(), Builder()
    actor.load_state_dict(actor_state)
    builder.load_state_dict(builder_state)
    weights = state.get("loss_weights")
    metadata = {} if weights is None else {"loss_weights": weights.tolist()}  # checked as a .pt file's is
    return actor.eval(), builder.eval(), checkpoint_loss_weights(path, metadata)


def load_networks(path: str | os.PathLike) -> tuple[Actor, Builder, list[float] | None]:
    """Actor, builder and ``p`` of a ``.zip`` (SB3) or ``.pt`` (styleenv) checkpoint or the released folder.

    :return: ``(actor, builder, p)``, the modules on the CPU; ``p`` None for the released folder and
        for files written before checkpoints kept it
    """
    if Path(path).is_dir():
        return (*load_release(path), None)
    if str(path).endswith(".zip"):
        return networks_from_sb3_zip(path)
    actor, builder, metadata = load_checkpoint(path)
    return actor, builder, checkpoint_loss_weights(path, metadata)


def normalised(sources: list[tuple[str | os.PathLike, float]]) -> list[tuple[str | os.PathLike, float]]:
    """``(path, weight)`` pairs with their weights scaled to sum to 1.

    :raises ValueError: no sources, or a weight that is not positive
    """
    if not sources:
        raise ValueError("give at least one checkpoint to average")
    if any(not weight > 0 for _, weight in sources):
        raise ValueError(f"weights must be positive, got {[w for _, w in sources]}")
    total = sum(weight for _, weight in sources)
    return [(path, weight / total) for path, weight in sources]


def average_networks(
    sources: list[tuple[str | os.PathLike, float]],
) -> tuple[Actor, Builder, list[float] | None]:
    """The weighted mean of several checkpoints' actor and builder parameters and of their ``p``.

    :param sources: ``(path, weight)`` pairs; weights are positive and are normalised to sum to 1
    :return: ``(actor, builder, p)``: the averaged modules on the CPU in eval mode, and the mean ``p``
        (None when any source holds none)
    :raises ValueError: no sources, or a weight that is not positive
    """
    loaded = [(load_networks(path), share) for path, share in normalised(sources)]  # each source read once
    actor, builder = Actor().eval(), Builder().eval()
    for index, target in enumerate((actor, builder)):
        states = [(nets[index].state_dict(), share) for nets, share in loaded]
        target.load_state_dict({key: sum(state[key] * share for state, share in states) for key in states[0][0]})
    found = [(nets[2], share) for nets, share in loaded]
    if any(weights is None for weights, _ in found):
        return actor, builder, None
    return actor, builder, [sum(weights[i] * share for weights, share in found) for i in range(len(found[0][0]))]


def parse_source(spec: str) -> tuple[str, float]:
    """``PATH`` or ``PATH:WEIGHT`` (weight 1 when omitted) as ``(path, weight)``."""
    path, sep, weight = spec.rpartition(":")
    if sep and path:
        try:
            return path, float(weight)
        except ValueError:
            pass
    return spec, 1.0

