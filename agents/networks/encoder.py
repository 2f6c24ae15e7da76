"""The unified encoder (content mode and style mode) and the style code it feeds."""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import nn
from torch.nn import functional as F

from agents.networks.blocks import Conv, PooledHead, ResBlock
from styleenv.ops import mean_std


@dataclass
class StyleFeatures:
    """Style-mode encoder outputs (the encoder's share of a :class:`StyleCode`)."""

    x1: torch.Tensor
    x2: torch.Tensor
    x1_2: torch.Tensor
    x1_3: torch.Tensor
    w1_2: torch.Tensor
    b1_2: torch.Tensor
    w1_3: torch.Tensor
    b1_3: torch.Tensor

    def to(self, device: torch.device | str) -> StyleFeatures:
        """The same features (of the same class) with every tensor on ``device``.

        :param device: torch device
        """
        return type(self)(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


@dataclass
class StyleCode(StyleFeatures):
    """Everything the actor and the builder need from one style image (per sample).

    The encoder's :class:`StyleFeatures` (feature maps in style mode, vectors from its
    modulators) and the vectors of the actor's modulator (``w1``, ``b1``, ``w2``, ``b2``). It
    depends only on the style image, so a sequence computes it once. A batch of size 1
    broadcasts over any number of moving images.

    Shapes for an ``H x W`` style image (``H``, ``W`` multiples of 4):
    ``x1``, ``x2``: ``N x 64 x H/4 x W/4``; ``x1_2``: ``N x 32 x H/2 x W/2``;
    ``x1_3``: ``N x 64 x H/4 x W/4``; ``w1_2``, ``b1_2``: ``N x 16 x 1 x 1``;
    ``w1_3``, ``b1_3``: ``N x 32 x 1 x 1``; ``w1``, ``b1``, ``w2``, ``b2``: ``N x 64 x 1 x 1``.
    """

    w1: torch.Tensor
    b1: torch.Tensor
    w2: torch.Tensor
    b2: torch.Tensor

    def feature_maps(self) -> tuple[torch.Tensor, ...]:
        """The four feature maps ``(x1, x2, x1_2, x1_3)`` (deep first)."""
        return self.x1, self.x2, self.x1_2, self.x1_3

    def modulations(self) -> tuple[torch.Tensor, ...]:
        """The eight modulation vectors ``(w1, w2, b1, b2, w1_2, b1_2, w1_3, b1_3)``."""
        return self.w1, self.w2, self.b1, self.b2, self.w1_2, self.b1_2, self.w1_3, self.b1_3

    def select(self, index: int | slice | torch.Tensor) -> StyleCode:
        """The code of some samples of the batch (indexing the first axis of every tensor).

        :param index: an int (kept as a batch of one), a slice or an index tensor
        """
        if isinstance(index, int):
            index = slice(index, index + 1)
        return StyleCode(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def targets(self) -> StyleTargets:
        """What the builder reads of this code: AdaIN targets of ``x2`` and ``x1`` plus the modulations."""
        x2_mean, x2_std = mean_std(self.x2)
        x1_mean, x1_std = mean_std(self.x1)
        mods = {name: getattr(self, name) for name in StyleTargets.MODULATIONS}
        return StyleTargets(x2_mean=x2_mean, x2_std=x2_std, x1_mean=x1_mean, x1_std=x1_std, **mods)


@dataclass
class StyleTargets:
    """The builder's view of a style: vectors only, so styles of any sizes mix and batch.

    The channel statistics (:func:`~styleenv.ops.mean_std`) of the deep style maps ``x2`` and
    ``x1`` that the builder's two AdaIN steps aim at, and the eight modulation vectors of a
    :class:`StyleCode`. The builder gives the same output for a code and its targets. Weighted
    sums of targets are style blends (:mod:`agents.blend`); the ONNX step graph takes them as
    inputs (:mod:`agents.onnx_export`). Every field is ``N x C x 1 x 1``: ``C`` = 64 for the
    statistics and ``w1``, ``b1``, ``w2``, ``b2``; 32 for ``w1_3``, ``b1_3``; 16 for ``w1_2``, ``b1_2``.
    """

    MODULATIONS = ("w1", "b1", "w2", "b2", "w1_2", "b1_2", "w1_3", "b1_3")

    x2_mean: torch.Tensor
    x2_std: torch.Tensor
    x1_mean: torch.Tensor
    x1_std: torch.Tensor
    w1: torch.Tensor
    b1: torch.Tensor
    w2: torch.Tensor
    b2: torch.Tensor
    w1_2: torch.Tensor
    b1_2: torch.Tensor
    w1_3: torch.Tensor
    b1_3: torch.Tensor

    def targets(self) -> StyleTargets:
        """Itself (so that codes and targets are read alike)."""
        return self

    def to(self, device: torch.device | str) -> StyleTargets:
        """The same targets with every tensor on ``device``.

        :param device: torch device
        """
        return StyleTargets(**{name: value.to(device) for name, value in self.tensors().items()})

    def tensors(self) -> dict[str, torch.Tensor]:
        """Every field by name, in declaration order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Encoder(nn.Module):
    """The unified encoder: the moving image in content mode, the style image in style mode.

    Style mode inserts a 3x3 convolution after each downsampling stage (its output replaces
    the stage output for what follows) and pools modulation vectors from those stages.
    Input RGB in ``[0, 1]``, ``N x 3 x H x W`` with ``H``, ``W`` multiples of 4.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1_1 = Conv(3, 16, 9)
        self.down1_2 = Conv(16, 32, 3, stride=2, groups=16)
        self.point1_2 = Conv(32, 32, 1)
        self.style1_2 = Conv(32, 32, 3)
        self.mod1_2_weight = PooledHead(32, 16, groups=16)
        self.mod1_2_bias = PooledHead(32, 16, groups=16)
        self.down1_3 = Conv(32, 64, 3, stride=2, groups=32)
        self.point1_3 = Conv(64, 64, 1)
        self.style1_3 = Conv(64, 64, 3)
        self.mod1_3_weight = PooledHead(64, 32, groups=32)
        self.mod1_3_bias = PooledHead(64, 32, groups=32)
        self.res1 = ResBlock(64)
        self.res2 = ResBlock(64)

    def stages(self, x: torch.Tensor, style: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """The full-resolution part: every layer before the residual blocks (local: it can run in tiles).

        :param x: ``N x 3 x H x W``
        :param style: style mode (with the style-only convolutions)
        :return: ``(x1_2, x1_3)``: ``N x 32 x H/2 x W/2`` and ``N x 64 x H/4 x W/4``
        """
        x = F.relu(self.conv1_1(x))  # 16 x H x W
        x1_2 = F.relu(self.point1_2(F.relu(self.down1_2(x))))  # 32 x H/2 x W/2
        if style:
            x1_2 = F.relu(self.style1_2(x1_2))
        x1_3 = F.relu(self.point1_3(F.relu(self.down1_3(x1_2))))  # 64 x H/4 x W/4
        if style:
            x1_3 = F.relu(self.style1_3(x1_3))
        return x1_2, x1_3

    def content(self, x: torch.Tensor) -> torch.Tensor:
        """Content mode, as the actor uses it: only the deepest map.

        :param x: ``N x 3 x H x W``
        :return: ``x2``, ``N x 64 x H/4 x W/4``
        """
        return self.deep(self.stages(x, style=False)[1])

    def deep(self, x1_3: torch.Tensor) -> torch.Tensor:
        """Content mode from the stages' output: the two residual blocks.

        :param x1_3: ``N x 64 x H/4 x W/4``
        :return: ``x2``, same shape
        """
        return self.res2(self.res1(x1_3))

    def forward(self, x: torch.Tensor, style: bool = True) -> list[torch.Tensor]:
        """:param x: ``N x 3 x H x W``
        :param style: style mode (with the style-only layers and modulators) or content mode
        :return: ``[x1, x2, x1_2, x1_3]`` and, in style mode, ``w1_2, b1_2, w1_3, b1_3`` after them
        """
        return self.finish(*self.stages(x, style), style=style)

    def finish(self, x1_2: torch.Tensor, x1_3: torch.Tensor, style: bool = True) -> list[torch.Tensor]:
        """What follows :meth:`stages` (residual blocks, and the modulators in style mode): as :meth:`forward`.

        :param x1_2: ``N x 32 x H/2 x W/2`` from :meth:`stages`
        :param x1_3: ``N x 64 x H/4 x W/4`` from :meth:`stages`
        :param style: the mode :meth:`stages` ran in
        """
        x1 = self.res1(x1_3)  # 64 x H/4 x W/4
        x2 = self.res2(x1)  # 64 x H/4 x W/4
        if not style:
            return [x1, x2, x1_2, x1_3]
        return [
            x1, x2, x1_2, x1_3,
            self.mod1_2_weight(x1_2), self.mod1_2_bias(x1_2),  # 16 x 1 x 1 each
            self.mod1_3_weight(x1_3), self.mod1_3_bias(x1_3),  # 32 x 1 x 1 each
        ]

    def style_features(self, x: torch.Tensor) -> StyleFeatures:
        """Style mode, as a named record.

        :param x: ``N x 3 x H x W``
        """
        return StyleFeatures(*self.forward(x, style=True))

    def style_features_from(self, x1_2: torch.Tensor, x1_3: torch.Tensor) -> StyleFeatures:
        """Style mode from the outputs of :meth:`stages` (style mode), e.g. computed in tiles.

        :param x1_2: ``N x 32 x H/2 x W/2``
        :param x1_3: ``N x 64 x H/4 x W/4``
        """
        return StyleFeatures(*self.finish(x1_2, x1_3, style=True))
