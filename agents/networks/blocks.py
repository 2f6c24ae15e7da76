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


class RowSplitConv(nn.Module):
    """Inference form of a wide :class:`Conv` with few output channels (the builder's last layer).

    A ``k x k`` convolution to ``C`` channels equals a ``1 x k`` convolution to ``C * k``
    channels (one per kernel row) whose maps are summed with vertical shifts. CPU convolution
    kernels handle ``C * k`` outputs far better than 3, so this is faster; it runs over bands
    of rows to keep the ``C * k`` intermediate small. With autograd on it is a plain conv. Same parameters and state-dict keys as
    the wrapped conv; results agree to float rounding.

    :param conv: a stride-1, ungrouped, reflection-padded :class:`Conv` with odd kernel
    :param band: rows per band
    """

    def __init__(self, conv: Conv, band: int = 128) -> None:
        super().__init__()
        k = conv.kernel_size[0]
        if conv.stride != (1, 1) or conv.groups != 1 or k % 2 == 0 or conv.kernel_size[1] != k:
            raise ValueError("RowSplitConv needs a stride-1, ungrouped conv with an odd square kernel")
        self.weight = conv.weight
        self.bias = conv.bias
        self.k = k
        self.band = band

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """:param x: ``N x Cin x H x W`` -> ``N x Cout x H x W``"""
        k, p = self.k, self.k // 2
        if torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad):
            return F.conv2d(F.pad(x, (p, p, p, p), mode="reflect"), self.weight, self.bias)  # autograd path
        cout, cin = self.weight.shape[:2]
        rows = self.weight.permute(0, 2, 1, 3).reshape(cout * k, cin, 1, k)  # (cout, dy) x cin x 1 x k
        xp = F.pad(x, (p, p, p, p), mode="reflect")  # Cin x (H + 2p) x (W + 2p)
        n, _, h, w = x.shape
        out = torch.empty(n, cout, h, w, dtype=x.dtype, device=x.device)
        for r0 in range(0, h, self.band):
            r1 = min(h, r0 + self.band)
            t = F.conv2d(xp[:, :, r0 : r1 + 2 * p], rows)  # (cout * k) x (rows + 2p) x W
            t = t.view(n, cout, k, r1 - r0 + 2 * p, w)
            band = out[:, :, r0:r1]
            torch.add(t[:, :, 0, : r1 - r0], self.bias.view(1, cout, 1, 1), out=band)
            for dy in range(1, k):
                band += t[:, :, dy, dy : dy + r1 - r0]
        return out
