"""Held-back pairs and the evaluation of a policy on them.

Hold-back rule (documented, seeded): the files of each folder are sorted by path; a
``numpy.random.default_rng`` permutation of each list, seeded by the config's ``holdout_seed``
(not the training ``seed``, so runs of several seeds hold back the same files), picks the first
``n_content`` content and ``n_style`` style files as held back (never used in training);
held-back pair ``i`` is (held content ``i mod n_content``, held style ``i mod n_style``). A
source given as a list of folders holds back from its first folder only, by the same rule; every
image of the other folders is used for training (so adding folders never changes which files are
held back).

A folder of ``n`` or fewer images (a user's own few photos) cannot spare ``n``: a quarter of it
(rounded down) is held back instead, with a warning; ``n = 0`` (``styleenv train --no-holdout``)
holds back nothing, and the evaluation then uses training images.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.adapters import SB3Agent
from styleenv.evaluation.rollout import rollout
from styleenv.images import list_images
from styleenv.pixels import to_hwc

HOLDOUT_SEED_OFFSET = 7919  # added to holdout_seed, so the split's stream is not the one seed 0 gives elsewhere


@dataclass
class Split:
    """Training files and held-back pairs.

    :param content: training content (a file list, or the original source if not a folder)
    :param style: training style images
    :param pairs: held-back ``(content, style)`` pairs (paths, or procedural indices)
    """

    content: Any
    style: Any
    pairs: list[tuple[Any, Any]]


def _pick(source: str | list[str] | None, n: int, rng: np.random.Generator, key: str) -> tuple[Any, list[Any]]:
    if isinstance(source, (list, tuple)):
        first, held = _pick(source[0], n, rng, key)
        rest = [str(p) for folder in source[1:] for p in list_images(folder)]
        return (first if isinstance(first, list) else [first]) + rest, held
    if source is None or n <= 0 or not Path(source).is_dir():
        return source, []
    files = sorted(list_images(source))
    if len(files) <= n:
        n = len(files) // 4
        warnings.warn(f"{source}: {len(files)} images, too few to hold back {key}; holding back a quarter "
                      f"of them ({n}); --no-holdout holds back none", stacklevel=3)
        if n == 0:
            return [str(p) for p in files], []
    order = rng.permutation(len(files))
    held = [files[i] for i in order[:n]]
    train = [files[i] for i in sorted(order[n:])]
    return [str(p) for p in train], [str(p) for p in held]


def holdout_split(content: str | list[str] | None, style: str | list[str] | None, n_content: int, n_style: int,
                  n_pairs: int, seed: int) -> Split:
    """Split folders into training files and held-back pairs (see the module docstring).

    With a procedural (``None``) or single-file source, or where a side holds nothing back, the
    pairs are images the training also sees: procedural indices ``(i, i)`` where both sides are
    procedural, else each side's training files in turn (procedural side: index ``i``).
    """
    rng = np.random.default_rng(seed + HOLDOUT_SEED_OFFSET)
    train_c, held_c = _pick(content, n_content, rng, f"holdout_content = {n_content}")
    train_s, held_s = _pick(style, n_style, rng, f"holdout_style = {n_style}")
    if held_c and held_s:
        pairs = [(held_c[i % len(held_c)], held_s[i % len(held_s)]) for i in range(n_pairs)]
    else:
        seen_c, seen_s = _files(train_c), _files(train_s)
        pairs = [(seen_c[i % len(seen_c)] if seen_c else i, seen_s[i % len(seen_s)] if seen_s else i)
                 for i in range(n_pairs)]
    return Split(train_c, train_s, pairs)


def _files(source: str | list[str] | None) -> list[str]:
    """The image files of a training source (none for the procedural set)."""
    if source is None:
        return []
    if isinstance(source, list):
        return source
    return [str(p) for p in list_images(source)] if Path(source).is_dir() else [str(source)]


def evaluate_pairs(model: Any, env: Any, pairs: list[tuple[Any, Any]], steps: int = 10,
                   keep_images: int = 0) -> dict[str, Any]:
    """Deterministic roll-outs of ``model`` on pinned pairs (:func:`styleenv.evaluation.rollout.rollout`
    of the model as an :class:`~agents.adapters.SB3Agent`).

    :param model: anything with SB3's ``predict(obs, deterministic=True)``
    :param env: a single (not vectorised) env with a :class:`~agents.sac.wrapper.LatentActionWrapper`
    :param pairs: ``(content, style)`` pairs (paths, images, or procedural indices)
    :param steps: steps per pair
    :param keep_images: keep the sequences of this many pairs (uint8 HWC frames)
    :return: ``mean_reward`` (mean over pairs and steps), ``final_style_loss`` (mean style loss at
        the last step), ``per_pair`` rewards and ``sequences`` (content, style, step frames)
    """
    agent = SB3Agent(model)
    per_pair, finals, sequences = [], [], []
    for k, (c, s) in enumerate(pairs):
        episode = rollout(env, agent, steps, options={"content": c, "style": s})  # an int is a pool index
        per_pair.append(float(np.mean(episode.rewards)))
        finals.append(float(episode.infos[-1].get("style_loss", np.nan)) if episode.infos else np.nan)
        if k < keep_images:
            sequences.append([to_hwc(image) for image in (episode.first["moving"], episode.first["style"], *episode.images)])
    return {"mean_reward": float(np.mean(per_pair)), "final_style_loss": float(np.mean(finals)),
            "per_pair": per_pair, "sequences": sequences}
