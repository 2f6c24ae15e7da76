"""CPU inference forms of the model's slowest layers: the same maths, shaped for CPU kernels.

CPU convolution kernels vectorise over output channels (in blocks of 8 or 16) and handle
grouped convolutions with a couple of channels per group poorly. Two layers of the builder
hit both: its last layer (``16 -> 3``, 9x9) and the upsampling blocks' grouped 3x3s (two input
channels per output). The upsampling blocks also run faster in channels-last memory (bilinear
upsampling 4x, the depthwise convolution without reorders). Each form below keeps the wrapped
layer's parameters (shared, so later weight updates are seen, and the same state-dict keys) and
agrees with it to float rounding; with autograd on the convolutions run plain.
:func:`cpu_builder` swaps them into a builder for inference.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

from agents.networks.blocks import Conv
from agents.networks.builder import Builder, UpBlock


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


def reflect_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, groups: int) -> torch.Tensor:
    """A stride-1 convolution with reflection padding, without padding the whole map.

    The convolution zero-pads inside its kernel (no padded copy: on channels-last maps the
    copy cost as much as the convolution); the outer ``p`` rows and columns of the output, the
    only ones that saw the zeros, are then recomputed from reflection-padded strips.

    :param x: ``N x Cin x H x W`` with ``H``, ``W`` at least twice the padding
    :param weight: ``Cout x Cin/groups x k x k``, ``k`` odd; the padding is ``k // 2``
    :return: ``N x Cout x H x W``
    """
    p = weight.shape[-1] // 2
    y = F.conv2d(x, weight, bias, padding=p, groups=groups)
    if p == 0:
        return y
    h, w = x.shape[-2:]
    strips = (  # (output region, reflection-padded input strip)
        ((slice(None), slice(0, p)), F.pad(x[..., : 2 * p, :], (p, p, p, 0), mode="reflect")),
        ((slice(None), slice(h - p, h)), F.pad(x[..., h - 2 * p :, :], (p, p, 0, p), mode="reflect")),
        ((slice(0, p), slice(None)), F.pad(x[..., :, : 2 * p], (p, 0, p, p), mode="reflect")),
        ((slice(w - p, w), slice(None)), F.pad(x[..., :, w - 2 * p :], (0, p, p, p), mode="reflect")),
    )
    for (cols, rows), strip in strips:
        y[..., rows, cols] = F.conv2d(strip, weight, bias, groups=groups)
    return y


class GroupSumConv(nn.Module):
    """A stride-1 grouped :class:`Conv` with one output channel per group, as a depthwise
    convolution whose outputs are summed per group (CPU depthwise kernels are fast; few-channel
    groups are not).

    :param conv: a reflection-padded, stride-1 :class:`Conv` with ``out_channels == groups``
    """

    def __init__(self, conv: Conv) -> None:
        super().__init__()
        if conv.groups == 1 or conv.out_channels != conv.groups or conv.padding_mode != "reflect" or conv.stride != (1, 1):
            raise ValueError("GroupSumConv needs a reflection-padded, stride-1 grouped conv with one output channel per group")
        self.weight = conv.weight
        self.bias = conv.bias
        self.groups = conv.groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """:param x: ``N x Cin x H x W`` -> ``N x groups x H x W``"""
        if _needs_grad(x, self.weight):
            p = self.weight.shape[-1] // 2
            return F.conv2d(F.pad(x, (p, p, p, p), mode="reflect"), self.weight, self.bias, groups=self.groups)
        cin = x.shape[1]
        per_group = cin // self.groups
        bias = self.bias.new_zeros(self.groups, per_group)
        bias[:, 0] = self.bias  # added once per group, by the depthwise conv of its first input
        weight = self.weight.reshape(cin, 1, *self.weight.shape[2:])
        y = reflect_conv(x, weight, bias.flatten(), groups=cin)  # Cin x H x W, one map per (group, input)
        y = y.unflatten(1, (self.groups, per_group))  # groups x per_group x H x W
        out = y[:, :, 0]
        for j in range(1, per_group):
            out = out + y[:, :, j]
        return out


class ChannelsLastUpBlock(UpBlock):
    """An :class:`UpBlock` run in channels-last memory, its grouped conv as a :class:`GroupSumConv`.

    :param block: the block (parameters shared)
    :param contiguous_out: return the usual contiguous layout (else channels-last, for a next block)
    """

    def __init__(self, block: UpBlock, contiguous_out: bool) -> None:
        nn.Module.__init__(self)
        self.conv = GroupSumConv(block.conv)
        self.point = block.point
        self.contiguous_out = contiguous_out

    def forward(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """As :meth:`UpBlock.forward`: ``N x C x h x w`` -> ``N x C/2 x 2h x 2w``."""
        y = super().forward(x.contiguous(memory_format=torch.channels_last), w, b)
        return y.contiguous() if self.contiguous_out else y


def cpu_builder(builder: Builder) -> Builder:
    """A shallow copy of ``builder`` running its last layer and its upsampling blocks in the CPU
    forms above (parameters shared with ``builder``)."""
    fast = copy.copy(builder)
    fast._modules = dict(builder._modules)
    fast.out = ColumnSplitConv(builder.out)
    fast.up1 = ChannelsLastUpBlock(builder.up1, contiguous_out=False)
    fast.up2 = ChannelsLastUpBlock(builder.up2, contiguous_out=True)
    return fast
