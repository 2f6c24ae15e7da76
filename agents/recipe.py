"""A recipe: what a stylisation does beyond one photo and one painting.

Blend several styles by weights (:mod:`agents.blend`), confine the style to masks or give each
masked region its own style (:mod:`agents.masks`), keep the photo's colours
(:mod:`agents.colour`). A recipe runs on anything with the :class:`StepRunner` methods
(:class:`agents.stylizer.Stylizer`, :class:`agents.onnx_runtime.OnnxStylizer`); with one style
and nothing else it yields exactly the runner's own steps.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from agents.blend import blend_styles, normalise_weights
from agents.colour import check_mode, luminance_transfer, match_colours
from agents.masks import composite, load_mask
from agents.networks import StyleCode, StyleTargets
from styleenv.images import ImageLike, as_batch

Style = ImageLike | StyleCode | StyleTargets


class StepRunner(Protocol):
    """What a recipe needs of a model: encode a style, and run the steps of a sequence."""

    def encode_style(self, style: Any) -> StyleCode | StyleTargets: ...

    def steps(
        self, content: Any, style: Any, steps: int = 10, sample: bool = False, seed: int | None = None,
        alpha: float = 1.0,
    ) -> Iterator[tuple[int, torch.Tensor]]: ...


@dataclass
class Recipe:
    """How to stylise a content image.

    :param styles: style images (or codes); one, unless blended or one per mask
    :param weights: blend all the styles into one with these weights (normalised to sum to 1)
    :param masks: where to stylise: one mask (the style, or the blend, inside it), or one mask
        per style (each region its own style); paths or image-likes, white = stylise
    :param feather: blur radius in pixels softening the masks' edges
    :param preserve_colour: keep the content's colours: ``"luminance"`` or ``"match"``
        (:mod:`agents.colour`); None keeps the stylised colours
    :raises ValueError: an inconsistent recipe (counts, weights, mode)
    """

    styles: Sequence[Style]
    weights: Sequence[float] | None = None
    masks: Sequence[ImageLike] | None = None
    feather: float = 0.0
    preserve_colour: str | None = None
    _masks: dict[tuple, tuple[list, list[torch.Tensor]]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for what, items in (("styles", self.styles), ("masks", self.masks)):
            if isinstance(items, (str, os.PathLike)):
                raise TypeError(f"{what} must be a list, got one {type(items).__name__}: pass [{items!r}]")
        n, masks = len(self.styles), len(self.masks or ())
        if n == 0:
            raise ValueError("a recipe needs at least one style")
        if self.weights is not None:
            self.weights = normalise_weights(self.weights, n)
            if masks > 1:
                raise ValueError(f"a blend takes one mask, got {masks}")
        elif n > 1 and masks != n:
            raise ValueError(f"{n} styles need blend weights, or one mask each (got {masks} masks)")
        elif n == 1 and masks > 1:
            raise ValueError(f"one style takes one mask, got {masks}")
        if self.preserve_colour is not None:
            check_mode(self.preserve_colour)
        if self.preserve_colour == "match" and any(isinstance(s, (StyleCode, StyleTargets)) for s in self.styles):
            raise ValueError("preserve_colour='match' recolours the style images: pass images, not style codes")
        if not 0 <= self.feather < math.inf:
            raise ValueError(f"feather must be a finite number of at least 0, got {self.feather}")

    def _loaded_masks(self, size: tuple[int, int]) -> list[torch.Tensor]:
        """The masks read for a content of ``size`` (``(width, height)``), once per size, feather and
        masks (a video's frames share them; a changed ``masks`` or ``feather`` is read again)."""
        masks = list(self.masks or ())
        key = (size, self.feather, tuple(id(m) for m in masks))
        if key not in self._masks:  # the latest only; it holds the masks whose ids make its key
            self._masks = {key: (masks, [load_mask(m, size, self.feather, _name(m, i)) for i, m in enumerate(masks)])}
        return self._masks[key][1]

    def codes(self, runner: StepRunner, content: Any) -> list[StyleCode | StyleTargets]:
        """The style of each layer (one, or one per mask), encoded once for any number of steps or frames.

        :param runner: the model
        :param content: the content image (read only by ``preserve_colour="match"``)
        """
        styles = list(self.styles)
        if self.preserve_colour == "match":
            target = as_batch(content)
            styles = [s if isinstance(s, (StyleCode, StyleTargets)) else match_colours(as_batch(s), target)
                      for s in styles]
        codes = [s if isinstance(s, (StyleCode, StyleTargets)) else runner.encode_style(s) for s in styles]
        if self.weights is not None:
            return [blend_styles(codes, self.weights)]
        return codes

    def steps(
        self,
        runner: StepRunner,
        content: Any,
        steps: int = 10,
        sample: bool = False,
        seed: int | None = None,
        alpha: float = 1.0,
        codes: Sequence[StyleCode | StyleTargets] | None = None,
    ) -> Iterator[tuple[int, torch.Tensor]]:
        """Yield ``(k, image)`` for k = 1..steps, ``image`` float ``1 x 3 x H x W`` (unclamped
        where the runner's is, as with a plain style).

        :param runner: the model
        :param content: an image-like or a float tensor ``1 x 3 x H x W``
        :param steps: number of steps
        :param sample: sample the actions instead of the mean
        :param seed: seed of the sampling
        :param alpha: strength in [0, 1] (:meth:`agents.stylizer.Stylizer.steps`)
        :param codes: styles from :meth:`codes` (computed here if None)
        """
        batch = as_batch(content)
        if batch.shape[0] != 1:
            raise ValueError(f"a recipe stylises one content image at a time, got a batch of {batch.shape[0]}")
        codes = self.codes(runner, batch) if codes is None else codes
        masks = self._loaded_masks((batch.shape[-1], batch.shape[-2]))
        streams = [runner.steps(batch, code, steps, sample, seed, alpha) for code in codes]
        for outputs in zip(*streams):
            k = outputs[0][0]
            layers = [x for _, x in outputs]
            if self.preserve_colour == "luminance":
                base = batch.to(layers[0].device)
                layers = [luminance_transfer(x, base) for x in layers]
            if masks:
                base = batch.to(layers[0].device)
                yield k, composite(layers, [m.to(base.device) for m in masks], base)
            else:
                yield k, layers[0]


def _name(mask: ImageLike, index: int) -> str:
    return f"mask {mask}" if isinstance(mask, (str, bytes)) or hasattr(mask, "__fspath__") else f"mask {index + 1}"
