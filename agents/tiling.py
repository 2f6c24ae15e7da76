"""Run the networks' full-resolution parts in overlapping tiles: bounded memory, no seams.

Only the layers before the encoder's residual blocks (:meth:`Encoder.stages`) and after the
builder's residual blocks (:meth:`Builder.expand`) see full-resolution maps; they are local
(convolutions and bilinear upsampling, a receptive field of a few pixels). The middle, at a
quarter of the resolution, holds the whole-image statistics (AdaIN) and runs untiled. Each
tile is computed with a halo of context wide enough that the wrong values its own borders
cause (reflection padding, clamped upsampling) stay inside the halo, which is cropped away:
the tiled result equals the untiled one up to float rounding, so there is nothing to blend.

Tiles are laid on the quarter-resolution grid (the action's), so every tile starts on a
multiple of 4 image pixels and the stride-2 layers see the same pixel grid as untiled.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from agents.networks import Actor, Builder, StyleCode, StyleTargets

# Grid cells (4 image px) of context each side: the stages need 2 in content mode and 4 in
# style mode (tests/test_tiling.py shows 3 is not enough), the builder's expansion 3.
HALO = 4


@dataclass(frozen=True)
class Tiler:
    """Cuts a map into tiles on the quarter-resolution grid and runs a local function per tile.

    :param tile: tile side in grid cells (``4 * tile`` image pixels); 0 disables tiling
    :param halo: grid cells of context on each side of a tile (cropped from its output)
    """

    tile: int = 96
    halo: int = HALO

    def __post_init__(self) -> None:
        if self.tile < 0 or (0 < self.tile < 2 * self.halo) or self.halo < 0:
            raise ValueError(f"tile must be 0 (untiled) or at least {2 * self.halo} grid cells, got {self.tile}")

    def spans(self, length: int) -> list[tuple[int, int]]:
        """Even cuts of ``0..length`` into pieces of at most ``tile`` cells: ``[(start, stop), ...]``."""
        n = 1 if self.tile == 0 else max(1, math.ceil(length / self.tile))
        edges = [round(i * length / n) for i in range(n + 1)]
        return list(zip(edges[:-1], edges[1:]))

    def fits(self, x: torch.Tensor, scale: int) -> bool:
        """Whether ``x`` (``scale`` pixels per grid cell) is a single tile."""
        h, w = x.shape[-2] // scale, x.shape[-1] // scale
        return len(self.spans(h)) == 1 and len(self.spans(w)) == 1

    def map(
        self,
        fn: Callable[[torch.Tensor], Sequence[torch.Tensor]],
        x: torch.Tensor,
        scale: int,
        out_scales: Sequence[int],
    ) -> list[torch.Tensor]:
        """``fn(x)`` computed tile by tile and assembled.

        :param fn: a local function of an ``N x C x h x w`` crop returning maps on the same
            region (tuple or list)
        :param x: ``N x C x H x W`` with ``scale`` pixels per grid cell (H, W multiples of it)
        :param scale: pixels per grid cell of ``x`` (4 for an image, 1 for the action's grid)
        :param out_scales: pixels per grid cell of each output of ``fn``
        :return: the outputs of ``fn`` for the whole of ``x``
        """
        h, w = x.shape[-2] // scale, x.shape[-1] // scale
        if self.fits(x, scale):
            return list(fn(x))
        outs: list[torch.Tensor] = []
        for r0, r1 in self.spans(h):
            a0, a1 = max(0, r0 - self.halo), min(h, r1 + self.halo)
            for c0, c1 in self.spans(w):
                b0, b1 = max(0, c0 - self.halo), min(w, c1 + self.halo)
                parts = fn(x[..., a0 * scale : a1 * scale, b0 * scale : b1 * scale])
                if not outs:  # N x C_i x (h * s_i) x (w * s_i) per output
                    outs = [p.new_empty(p.shape[0], p.shape[1], h * s, w * s) for p, s in zip(parts, out_scales)]
                for out, part, s in zip(outs, parts, out_scales):
                    inner = part[..., (r0 - a0) * s : (r1 - a0) * s, (c0 - b0) * s : (c1 - b0) * s]
                    out[..., r0 * s : r1 * s, c0 * s : c1 * s] = inner
                del parts
        return outs


def encode_style(actor: Actor, style: torch.Tensor, tiler: Tiler) -> StyleCode:
    """:meth:`Actor.encode_style` with the encoder's full-resolution stages in tiles.

    :param actor: the actor
    :param style: ``N x 3 x H x W``, ``H``, ``W`` multiples of 4
    :param tiler: the tiling
    """
    if tiler.fits(style, 4):
        return actor.encode_style(style)
    x1_2, x1_3 = tiler.map(lambda t: actor.encoder.stages(t, style=True), style, 4, (2, 1))
    return actor.modulate(actor.encoder.style_features_from(x1_2, x1_3))


def act(
    actor: Actor,
    moving: torch.Tensor,
    code: StyleCode,
    tiler: Tiler,
    deterministic: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """:meth:`Actor.act` with the encoder's full-resolution stages in tiles.

    :param actor: the actor
    :param moving: ``N x 3 x H x W``, ``H``, ``W`` multiples of 4
    :param code: the style code
    :param tiler: the tiling
    :param deterministic: take the mean action
    :param generator: random source for sampling
    :return: ``N x 64 x H/4 x W/4``
    """
    if tiler.fits(moving, 4):
        return actor.act(moving, code, deterministic, generator)
    (x1_3,) = tiler.map(lambda t: actor.encoder.stages(t, style=False)[1:], moving, 4, (1,))
    return actor.act_on_features(actor.encoder.deep(x1_3), deterministic, generator)


def build(builder: Builder, action: torch.Tensor, code: StyleCode | StyleTargets, tiler: Tiler) -> torch.Tensor:
    """:meth:`Builder.forward` with the upsampling part in tiles.

    :param builder: the builder
    :param action: ``N x 64 x h x w``
    :param code: the style code (or targets)
    :param tiler: the tiling
    :return: ``N x 3 x 4h x 4w``
    """
    if tiler.fits(action, 1):
        return builder(action, code)
    g = builder.transform(action, code)
    (image,) = tiler.map(lambda t: (builder.expand(t, code),), g, 1, (4,))
    return image
