"""Inference: stylise content images as a sequence of steps of the actor and the builder.

Each step encodes the current (moving) image, takes the latent action (the mean by default,
or a seeded sample) and builds the next image; the output is fed back unclamped, as in the
released model, and only clamped when converted to pixels. The style code is computed once
per sequence. Any size works, down to 1 x 1: images are padded by reflection (bottom/right;
replication where too small to reflect) to a multiple of 4 of at least :data:`MIN_SIDE` and
cropped back after each step. Large images run their full-resolution layers in
overlapping tiles (:mod:`agents.tiling`: the same result, bounded memory, better cache use).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import torch
from PIL import Image

from agents import tiling
from agents.networks import Actor, Builder, StyleCode, StyleTargets
from agents.networks.cpu_forms import cpu_actor, cpu_builder
from agents.release import load_checkpoint, load_release
from styleenv.devices import resolve_device, reuse_freed_memory
from styleenv.images import as_batch
from styleenv.pixels import pad_to_multiple, to_pil, to_uint8

#: Images are padded to at least this side: the networks' first layer reflects 4 pixels.
MIN_SIDE = 8


def check_steps(steps: int, keep: Iterable[int] | None) -> Sequence[int]:
    """Validate ``steps`` and the steps to keep (1-based); returns the sorted kept steps
    (``keep`` None: all, as a range)."""
    if not isinstance(steps, numbers.Integral) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if keep is None:
        return range(1, int(steps) + 1)
    keep = list(keep)
    if not all(isinstance(k, numbers.Integral) and not isinstance(k, bool) for k in keep):
        raise ValueError(f"steps to keep must be integers, got {keep}")
    kept = sorted(set(int(k) for k in keep))
    bad = [k for k in kept if not 1 <= k <= steps]
    if bad or not kept:
        raise ValueError(f"steps to keep must lie in 1..{steps}, got {bad or 'none'}")
    return kept


def check_alpha(alpha: float) -> None:
    """Validate a strength: a number in [0, 1]."""
    if not 0.0 <= alpha <= 1.0:  # False for NaN too
        raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}")


def toward(previous: torch.Tensor, proposed: torch.Tensor, alpha: float) -> torch.Tensor:
    """The next image at strength ``alpha``: ``alpha`` of the way from ``previous`` to ``proposed``."""
    return proposed if alpha == 1.0 else torch.lerp(previous, proposed, alpha)


class Stylizer:
    """Runs k-step stylisation sequences with an actor and a builder.

    :param actor: the policy network
    :param builder: the decoder
    :param device: ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"``, ...
    :param channels_last: run the whole networks in channels-last memory format; None (default):
        on CUDA only (on the CPU the CPU forms below choose the layout layer by layer: faster)
    :param tile: side of the tiles of the full-resolution layers, in units of 4 pixels; None
        (default): 128 (512-pixel tiles) on the CPU, 0 (every image whole) on CUDA
    :param cuda_graphs: replay deterministic steps from CUDA graphs (:mod:`agents.cuda_step`),
        for images that fit one tile; None (default): on CUDA only
    :param bf16: bfloat16 autocast inside the CUDA-graph step (off by default; CUDA only, and not
        with ``cuda_graphs=False``; ``scripts/bench_stylize.py --device cuda`` prints how far it
        moves step 10)

    The modules are moved to ``device`` and put in eval mode. On the CPU the stylizer runs the
    slowest layers in their CPU forms (:func:`~agents.networks.cpu_forms.cpu_actor` and
    :func:`~agents.networks.cpu_forms.cpu_builder`: same parameters, shared, so later weight
    updates are seen) and has glibc's malloc reuse freed
    memory (:func:`~styleenv.devices.reuse_freed_memory`, process-wide).
    """

    def __init__(
        self,
        actor: Actor,
        builder: Builder,
        device: str | torch.device = "auto",
        channels_last: bool | None = None,
        tile: int | None = None,
        cuda_graphs: bool | None = None,
        bf16: bool = False,
    ) -> None:
        if bf16 and cuda_graphs is False:
            raise ValueError("bf16 autocast runs inside the CUDA-graph step: it needs cuda_graphs (None or True)")
        self.device = resolve_device(device)
        on_cuda = self.device.type == "cuda"
        channels_last = on_cuda if channels_last is None else channels_last
        self.tiler = tiling.Tiler((0 if on_cuda else 128) if tile is None else tile)
        self.channels_last = channels_last
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.actor = actor.to(self.device, memory_format=fmt).eval()
        self.builder = builder.to(self.device, memory_format=fmt).eval()
        if self.device.type == "cpu":
            reuse_freed_memory()
            if not channels_last:  # the CPU forms share the parameters
                self.actor = cpu_actor(self.actor)
                self.builder = cpu_builder(self.builder)
        if (on_cuda if cuda_graphs is None else cuda_graphs) or bf16:
            from agents.cuda_step import GraphedStep

            self.graphed: GraphedStep | None = GraphedStep(self.actor, self.builder, bf16)
        else:
            self.graphed = None
        self.metadata: dict[str, Any] = {}

    @classmethod
    def from_release(cls, directory: str | os.PathLike, device: str | torch.device = "auto", **kwargs: Any) -> Stylizer:
        """From the folder holding the released ``actor.pth.tar`` and ``builder.pth.tar``."""
        actor, builder = load_release(directory)
        return cls(actor, builder, device, **kwargs)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, device: str | torch.device = "auto", **kwargs: Any) -> Stylizer:
        """From a checkpoint saved by :func:`agents.release.save_checkpoint`."""
        actor, builder, metadata = load_checkpoint(path)
        stylizer = cls(actor, builder, device, **kwargs)
        stylizer.metadata = metadata
        return stylizer

    @classmethod
    def default(cls, device: str | torch.device = "auto", **kwargs: Any) -> Stylizer:
        """The project's own trained weights, shipped inside the package (:mod:`agents.default`)."""
        from agents.default import default_checkpoint

        return cls.from_checkpoint(default_checkpoint(), device, **kwargs)

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        x = pad_to_multiple(x.to(self.device, torch.float32), min_side=MIN_SIDE)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    @torch.inference_mode()
    def encode_style(self, style: Any) -> StyleCode:
        """The style code of one style image (any size; padded to a multiple of 4).

        :param style: an image-like or a float tensor ``1 x 3 x H x W``
        """
        batch = as_batch(style)
        if batch.shape[0] != 1:
            raise ValueError(f"expected one style image, got a batch of {batch.shape[0]}")
        return tiling.encode_style(self.actor, self._prepare(batch), self.tiler)

    @torch.inference_mode()
    def steps(
        self,
        content: Any,
        style: Any | StyleCode,
        steps: int = 10,
        sample: bool = False,
        seed: int | None = None,
        alpha: float = 1.0,
    ) -> Iterator[tuple[int, torch.Tensor]]:
        """Yield ``(k, image)`` for k = 1..steps, ``image`` the unclamped float ``N x 3 x H x W``.

        The tensor yielded is the one fed back; convert or copy it before the next step if kept.

        :param content: an image-like, or a float tensor ``3 x H x W`` / ``N x 3 x H x W``
            (a batch shares the style)
        :param style: an image-like, a float tensor ``1 x 3 x H' x W'``, a :class:`StyleCode` or
            :class:`StyleTargets` (a blend, :meth:`blend_styles`)
        :param steps: number of steps (at least 1)
        :param sample: sample the actions instead of taking their mean
        :param seed: seed of the sampling (reproducible); None draws from torch's default generator
        :param alpha: strength in [0, 1]: each step moves this fraction of the way from the
            previous image to the agent's next one (1: the agent's steps; 0: the photo)
        """
        check_steps(steps, None)
        check_alpha(alpha)
        code = self._style_code(style).targets()  # the builder's whole view of the style: N x C x 1 x 1 vectors
        moving = as_batch(content).to(self.device, torch.float32)
        h, w = moving.shape[-2:]
        generator = None
        if sample and seed is not None:
            generator = torch.Generator(device=self.device).manual_seed(int(seed))
        for k in range(1, steps + 1):
            x = self._prepare(moving)
            if self.graphed is not None and not sample and self.tiler.fits(x, 4):
                out = self.graphed(x, code).clone()  # the graph's buffer is shared by every sequence of this shape
            else:
                action = tiling.act(self.actor, x, code, self.tiler, not sample, generator)
                del x
                out = tiling.build(self.builder, action, code, self.tiler)
                del action
            moving = toward(moving, out[:, :, :h, :w], alpha)
            del out
            yield k, moving

    def sequence_tensor(
        self,
        content: Any,
        style: Any | StyleCode,
        steps: int = 10,
        keep: Iterable[int] | None = None,
        sample: bool = False,
        seed: int | None = None,
        alpha: float = 1.0,
    ) -> dict[int, torch.Tensor]:
        """The kept steps as uint8 tensors ``N x 3 x H x W`` on the CPU, keyed by step (1-based).

        Each kept step is converted to uint8 as it is produced, so memory stays that of one
        step plus the kept pixels. Arguments as in :meth:`steps`; ``keep`` None keeps all.
        """
        kept = check_steps(steps, keep)
        return {k: to_uint8(x) for k, x in self.steps(content, style, steps, sample, seed, alpha) if k in kept}

    def sequence(
        self,
        content: Any,
        style: Any | StyleCode,
        steps: int = 10,
        keep: Iterable[int] | None = None,
        sample: bool = False,
        seed: int | None = None,
        alpha: float = 1.0,
    ) -> list[Image.Image]:
        """Stylise one content image: the kept steps (all by default) as RGB images, in order.

        :param content: an image-like (path, PIL image, array) or a float tensor ``3 x H x W``
        :param style: an image-like, float tensor or :class:`StyleCode`
        :param steps: number of steps
        :param keep: which steps (1-based) to return; None for all
        :param sample: sample actions instead of the mean
        :param seed: sampling seed (with ``sample=True``)
        :param alpha: strength in [0, 1] (:meth:`steps`)
        """
        batch = as_batch(content)
        if batch.shape[0] != 1:
            raise ValueError("sequence() takes one content image; use sequence_batch() for several")
        out = self.sequence_tensor(batch, style, steps, keep, sample, seed, alpha)
        return [to_pil(out[k][0]) for k in sorted(out)]

    def sequence_batch(
        self,
        contents: Sequence[Any],
        style: Any | StyleCode,
        steps: int = 10,
        keep: Iterable[int] | None = None,
        sample: bool = False,
        seed: int | None = None,
        alpha: float = 1.0,
    ) -> list[list[Image.Image]]:
        """Stylise several content images of one size with one style, as one batch.

        :return: per content, its kept steps as RGB images
        """
        batch = torch.cat([as_batch(c) for c in contents], dim=0)
        out = self.sequence_tensor(batch, style, steps, keep, sample, seed, alpha)
        return [[to_pil(out[k][i]) for k in sorted(out)] for i in range(batch.shape[0])]

    def blend_styles(self, styles: Sequence[Any], weights: Sequence[float]) -> StyleTargets:
        """One style mixed from several (:mod:`agents.blend`); pass it as ``style`` anywhere.

        :param styles: image-likes (any sizes) or codes
        :param weights: one per style, non-negative, summing to a positive number (normalised)
        """
        from agents.blend import blend_styles

        return blend_styles([self._style_code(s) for s in styles], weights)

    def _style_code(self, style: Any) -> StyleCode | StyleTargets:
        """``style`` as a code on this stylizer's device: an image is encoded, a code made on
        another device is moved here."""
        if isinstance(style, (StyleCode, StyleTargets)):
            return style.to(self.device)
        return self.encode_style(style)

    def stylize(
        self,
        content: Any,
        recipe: Any,
        steps: int = 10,
        keep: Iterable[int] | None = None,
        sample: bool = False,
        seed: int | None = None,
        alpha: float = 1.0,
    ) -> list[Image.Image]:
        """Stylise one content image by a :class:`~agents.recipe.Recipe` (blends, masks, colour
        preservation): the kept steps (all by default) as RGB images, in order.

        :param content: an image-like
        :param recipe: the recipe
        :param steps: number of steps
        :param keep: which steps (1-based) to return; None for all
        :param sample: sample actions instead of the mean
        :param seed: sampling seed (with ``sample=True``)
        :param alpha: strength in [0, 1] (:meth:`steps`)
        """
        kept = check_steps(steps, keep)
        return [to_pil(to_uint8(x)[0]) for k, x in recipe.steps(self, content, steps, sample, seed, alpha) if k in kept]
