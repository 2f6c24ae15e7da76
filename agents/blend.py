"""Style blending: one style from several, mixed by weights.

RLMiniStyler's style reaches the builder as vectors only (:class:`~agents.networks.StyleTargets`:
the AdaIN means and standard deviations of two deep style maps, and eight modulation vectors), so
a blend is their weighted sum, as pytorch-AdaIN's interpolation mixes AdaIN statistics. Weights
are normalised to sum to 1; weights ``(1, 0, ...)`` give exactly the first style's targets, and
so exactly its output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import fields

from agents.networks import StyleCode, StyleTargets


def normalise_weights(weights: Sequence[float], count: int) -> list[float]:
    """Check blend weights and scale them to sum to 1.

    :param weights: one finite, non-negative weight per style
    :param count: the number of styles
    :raises ValueError: a wrong count, a negative or non-finite weight, or a sum that is not positive
    """
    values = [float(w) for w in weights]
    if len(values) != count:
        raise ValueError(f"got {len(values)} style weights for {count} styles")
    if any(not math.isfinite(w) or w < 0 for w in values):
        raise ValueError(f"style weights must be finite and non-negative, got {values}")
    total = sum(values)
    if total <= 0:
        raise ValueError(f"style weights must sum to a positive number, got {values}")
    return [w / total for w in values]


def blend_styles(codes: Sequence[StyleCode | StyleTargets], weights: Sequence[float]) -> StyleTargets:
    """The weighted mix of several styles' targets.

    :param codes: one code (or targets) per style, each of batch 1
    :param weights: one weight per style (normalised by :func:`normalise_weights`)
    :return: the blended targets, batch 1
    """
    if not codes:
        raise ValueError("blend_styles needs at least one style")
    scaled = normalise_weights(weights, len(codes))
    targets = [code.targets() for code in codes]
    mixed = {}
    for f in fields(StyleTargets):
        total = scaled[0] * getattr(targets[0], f.name)
        for w, t in zip(scaled[1:], targets[1:]):
            total = total + w * getattr(t, f.name)
        mixed[f.name] = total  # N x C x 1 x 1
    return StyleTargets(**mixed)
