"""CPU inference forms of the model's slowest layers: the same maths, shaped for CPU kernels.

CPU convolution kernels vectorise over output channels (in blocks of 8 or 16) and handle
grouped convolutions with a couple of channels per group poorly. Two layers of the builder
hit both: its last layer (``16 -> 3``, 9x9) and the upsampling blocks' grouped 3x3s (two input
channels per output). Each form below keeps the wrapped convolution's parameters (shared, so
later weight updates are seen) and agrees with it to float rounding; with autograd on it runs
the plain convolution. :func:`cpu_builder` swaps them into a builder for inference.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

from agents.networks.blocks import Conv
from agents.networks.builder import Builder


def _needs_grad(x: torch.Tensor, weight: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)


class ColumnSplitConv(nn.Module):
    """A wide, stride-1 :class:`Conv` with few output channels, as a tall one with many.

    A ``k x k`` convolution to ``C`` channels equals a ``k x 1`` convolution to ``C * k``
    channels (one per kernel column) whose maps are summed with horizontal shifts. With
    ``C * k`` outputs the kernel fills its vectors (the builder's last layer: 27 instead of 3,
    about 3x faster). It runs over bands of rows whose ``C * k`` maps stay in the cache.

    :param conv: a stride-1, ungrouped, reflection-padded :class:`Conv` with odd square kernel
    :param band: pixels per band (rows of the image's width, at least 8 rows)
    """

    def __init__(self, conv: Conv, band: int = 2**14) -> None:
        super().__init__()
        k = conv.kernel_size[0]
        if conv.stride != (1, 1) or conv.groups != 1 or k % 2 == 0 or conv.kernel_size[1] != k:
            raise ValueError("ColumnSplitConv needs a stride-1, ungrouped conv with an odd square kernel")
        self.weight = conv.weight
        self.bias = conv.bias
        self.k = k
        self.band = band

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """:param x: ``N x Cin x H x W`` -> ``N x Cout x H x W``"""
        k, p = self.k, self.k // 2
        xp = F.pad(x, (p, p, p, p), mode="reflect")  # Cin x (H + 2p) x (W + 2p)
        if _needs_grad(x, self.weight):
            return F.conv2d(xp, self.weight, self.bias)
        cout, cin = self.weight.shape[:2]
        columns = self.weight.permute(0, 3, 1, 2).reshape(cout * k, cin, k, 1)  # (cout, dx) x cin x k x 1
        n, _, h, w = x.shape
        out = torch.empty(n, cout, h, w, dtype=x.dtype, device=x.device)
        rows = max(8, self.band // (w + 2 * p))
        for r0 in range(0, h, rows):
            r1 = min(h, r0 + rows)
            t = F.conv2d(xp[:, :, r0 : r1 + 2 * p], columns)  # (cout * k) x rows x (W + 2p)
            t = t.view(n, cout, k, r1 - r0, w + 2 * p)
            band = out[:, :, r0:r1]
            torch.add(t[..., 0, :, :w], self.bias.view(1, cout, 1, 1), out=band)
            for dx in range(1, k):
                band += t[..., dx, :, dx : dx + w]
        return out


class GroupSumConv(nn.Module):
    """A grouped :class:`Conv` with one output channel per group, as a depthwise convolution
    whose outputs are summed per group (CPU depthwise kernels are fast; few-channel groups are not).

    :param conv: a reflection-padded :class:`Conv` with ``out_channels == groups``
    """

    def __init__(self, conv: Conv) -> None:
        super().__init__()
        if conv.groups == 1 or conv.out_channels != conv.groups or conv.padding_mode != "reflect":
            raise ValueError("GroupSumConv needs a reflection-padded grouped conv with one output channel per group")
        self.weight = conv.weight
        self.bias = conv.bias
        self.stride = conv.stride
        self.padding = conv.padding[0]
        self.groups = conv.groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """:param x: ``N x Cin x H x W`` -> ``N x groups x H' x W'``"""
        p = self.padding
        xp = F.pad(x, (p, p, p, p), mode="reflect")
        if _needs_grad(x, self.weight):
            return F.conv2d(xp, self.weight, self.bias, self.stride, groups=self.groups)
        cin = x.shape[1]
        y = F.conv2d(xp, self.weight.reshape(cin, 1, *self.weight.shape[2:]), stride=self.stride,
                     groups=cin)  # Cin x H' x W', one map per (group, input)
        y = y.unflatten(1, (self.groups, cin // self.groups))  # groups x per_group x H' x W'
        out = torch.add(y[:, :, 0], self.bias.view(1, -1, 1, 1))
        for j in range(1, y.shape[2]):
            out += y[:, :, j]
        return out


def cpu_builder(builder: Builder) -> Builder:
    """A shallow copy of ``builder`` running its last layer and its upsampling convolutions in
    the CPU forms above (parameters shared with ``builder``)."""
    fast = copy.copy(builder)
    fast._modules = dict(builder._modules)
    fast.out = ColumnSplitConv(builder.out)
    for name in ("up1", "up2"):
        block = copy.copy(getattr(builder, name))
        block._modules = dict(block._modules)
        block.conv = GroupSumConv(block.conv)
        setattr(fast, name, block)
    return fast
