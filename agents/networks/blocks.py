"""Building blocks shared by the actor, the builder and the critic.

Every convolution of the released model pads by reflection (``k // 2`` on each side) and has
a bias; :class:`Conv` is that layer. Channel shapes are written ``C x H x W`` per sample.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class Conv(nn.Conv2d):
    """Reflection-padded 2-D convolution with bias (the only convolution of the model).

    :param in_channels: input channels
    :param out_channels: output channels
    :param kernel_size: square kernel size; padding is ``kernel_size // 2`` on every side
    :param stride: stride
    :param groups: channel groups (``in_channels`` for a depthwise convolution)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            groups=groups,
            bias=True,
            padding_mode="reflect" if kernel_size > 1 else "zeros",
        )


class ResBlock(nn.Module):
    """Residual block ``x + conv2(relu(conv1(x)))``, optionally filter-modulated.

    With per-sample, per-channel ``w``, ``b`` (``N x C x 1 x 1``) each convolution output ``y``
    of input ``x`` becomes ``w * y + b * x``::

        y2 = w * conv1(x) + b * x;  y3 = relu(y2);  y5 = w * conv2(y3) + b * y3;  out = x + y5

    :param channels: channels in and out (spatial size unchanged)
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = Conv(channels, channels, 3)
        self.conv2 = Conv(channels, channels, 3)

    def forward(self, x: torch.Tensor, w: torch.Tensor | None = None, b: torch.Tensor | None = None) -> torch.Tensor:
        """:param x: ``N x C x H x W``
        :param w: optional modulation weight ``N x C x 1 x 1`` (or ``1 x C x 1 x 1``)
        :param b: optional modulation bias, same shape as ``w``
        :return: ``N x C x H x W``
        """
        if w is None or b is None:
            return x + self.conv2(F.relu(self.conv1(x)))
        y = F.relu(torch.addcmul(b * x, w, self.conv1(x)))
        return x + torch.addcmul(b * y, w, self.conv2(y))


class PooledHead(nn.Module):
    """A grouped 3x3 convolution followed by global average pooling: one vector per sample.

    Used for the filter modulators (``w`` and ``b`` of a modulated layer).

    :param in_channels: input channels
    :param out_channels: output channels (the length of the vector)
    :param groups: channel groups of the convolution
    """

    def __init__(self, in_channels: int, out_channels: int, groups: int) -> None:
        super().__init__()
        self.conv = Conv(in_channels, out_channels, 3, groups=groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """:param x: ``N x Cin x H x W``
        :return: ``N x Cout x 1 x 1``
        """
        return self.conv(x).mean(dim=(2, 3), keepdim=True)


class ModulatedPointwise(nn.Module):
    """A 1x1 convolution whose output is modulated: ``w * conv(x) + b * x`` (same channels).

    :param channels: channels in and out
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = Conv(channels, channels, 1)

    def forward(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """:param x: ``N x C x H x W``
        :param w: ``N x C x 1 x 1`` (or ``1 x C x 1 x 1``)
        :param b: same shape as ``w``
        :return: ``N x C x H x W``
        """
        return torch.addcmul(b * x, w, self.conv(x))
