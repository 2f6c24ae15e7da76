"""CPU inference forms of the model's slowest layers: the same maths, shaped for CPU kernels.

CPU convolution kernels vectorise over output channels (in blocks of 8 or 16) and handle
grouped convolutions with a couple of channels per group poorly. Two layers of the builder
hit both: its last layer (``16 -> 3``, 9x9) and the upsampling blocks' grouped 3x3s (two input
channels per output). Most layers also run faster in channels-last memory (the residual
blocks 20 %, the stride-2 grouped convolutions 2x, bilinear upsampling 4x), so the encoder,
and with it everything after, runs there. With one style for the whole batch (a sequence's
case) the modulated convolutions fold their modulation into the weights. Each form below keeps
the wrapped layer's parameters (shared, so later weight updates are seen, and the same
state-dict keys) and agrees with it to float rounding; with autograd on they run plain.
:func:`cpu_actor` and :func:`cpu_builder` swap them into the networks for inference.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

from agents.networks.actor import Actor
from agents.networks.blocks import Conv, ModulatedPointwise, ResBlock
from agents.networks.builder import Builder, UpBlock
from agents.networks.encoder import Encoder


def _needs_grad(x: torch.Tensor, weight: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)


class ColumnSplitConv(nn.Module):
    """A wide, stride-1 :class:`Conv` with few output channels, as a tall one with many.

    A ``k x k`` convolution to ``C`` channels equals a ``k x 1`` convolution to ``C * k``
    channels (one per kernel column) whose maps are summed with horizontal shifts. With
    ``C * k`` outputs the kernel fills its vectors (the builder's last layer: 27 instead of 3).
    It runs in channels-last memory (the ``k x 1`` convolution is twice as fast there) over bands
    of rows that stay in the cache. In channels-last memory the ``C * k`` values of a pixel are
    adjacent, so the shifted sum is one reduction over a strided view of each band:
    ``out[y, x, c] = sum_dx t[y, x + dx, c * k + dx]``, the summed elements ``C * k + 1`` floats apart.

    :param conv: a stride-1, ungrouped, reflection-padded :class:`Conv` with odd square kernel
    :param band: pixels per band (rows of the image's width, at least 8 rows)
    """

    def __init__(self, conv: Conv, band: int = 2**15) -> None:
        super().__init__()
        k = conv.kernel_size[0]
        if conv.stride != (1, 1) or conv.groups != 1 or k % 2 == 0 or conv.kernel_size[1] != k:
            raise ValueError("ColumnSplitConv needs a stride-1, ungrouped conv with an odd square kernel")
        self.weight = conv.weight
        self.bias = conv.bias
        self.k = k
        self.band = band

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """:param x: ``N x Cin x H x W`` (any memory format) -> ``N x Cout x H x W`` (contiguous)"""
        k, p = self.k, self.k // 2
        x = x.contiguous(memory_format=torch.channels_last)
        xp = F.pad(x, (p, p, p, p), mode="reflect")  # Cin x (H + 2p) x (W + 2p), channels-last
        if _needs_grad(x, self.weight):
            return F.conv2d(xp, self.weight, self.bias).contiguous()
        cout, cin = self.weight.shape[:2]
        columns = self.weight.permute(0, 3, 1, 2).reshape(cout * k, cin, k, 1)  # (cout, dx) x cin x k x 1
        n, _, h, w = x.shape
        wp = w + 2 * p
        out = torch.empty(n, h, w, cout, dtype=x.dtype, device=x.device)  # channels-last storage
        rows = max(8, self.band // wp)
        for r0 in range(0, h, rows):
            r1 = min(h, r0 + rows)
            t = F.conv2d(xp[:, :, r0 : r1 + 2 * p], columns)  # (cout * k) x rows x (W + 2p)
            t = t.contiguous(memory_format=torch.channels_last)  # (already so: the input is)
            c = cout * k
            diagonal = t.as_strided((n, r1 - r0, w, cout, k), (t.stride(0), wp * c, c, k, c + 1))
            torch.sum(diagonal, dim=-1, out=out[:, r0:r1])  # rows x W x cout
        return out.permute(0, 3, 1, 2).add_(self.bias.view(1, cout, 1, 1)).contiguous()


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


def modulated_conv(conv: Conv, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``w * conv(x) + b * x`` as one convolution, for one style (``w``, ``b`` of batch 1).

    ``b * x`` is ``x`` through the kernel's centre tap, which the reflection padding never
    touches, so the weight ``w * W`` plus ``b`` on the centre taps of the diagonal (and the bias
    ``w * bias``) gives the same output in one pass instead of three.

    :param conv: a :class:`Conv` with as many output channels as input channels (``C``)
    :param x: ``N x C x H x W``
    :param w: ``1 x C x 1 x 1``
    :param b: ``1 x C x 1 x 1``
    :return: ``N x C x H x W``
    """
    c, k = conv.out_channels, conv.kernel_size[0]
    p = k // 2
    weight = w.view(c, 1, 1, 1) * conv.weight  # C x C x k x k
    weight[:, :, p, p].diagonal().add_(b.view(c))  # the centre taps of the diagonal
    if p:
        x = F.pad(x, (p, p, p, p), mode="reflect")
    return F.conv2d(x, weight, w.view(c) * conv.bias)


def _one_style(x: torch.Tensor, w: torch.Tensor | None, b: torch.Tensor | None, conv: Conv) -> bool:
    return w is not None and b is not None and w.shape[0] == 1 and not _needs_grad(x, conv.weight)


class FoldedPointwise(ModulatedPointwise):
    """A :class:`ModulatedPointwise` as one convolution (:func:`modulated_conv`) when one style
    modulates the whole batch.

    :param point: the layer (parameters shared)
    """

    def __init__(self, point: ModulatedPointwise) -> None:
        nn.Module.__init__(self)
        self.conv = point.conv

    def forward(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """As :meth:`ModulatedPointwise.forward`."""
        if not _one_style(x, w, b, self.conv):
            return super().forward(x, w, b)
        return modulated_conv(self.conv, x, w, b)


class FoldedResBlock(ResBlock):
    """A :class:`ResBlock` whose modulated convolutions run as one convolution each
    (:func:`modulated_conv`) when one style modulates the whole batch.

    :param block: the block (parameters shared)
    """

    def __init__(self, block: ResBlock) -> None:
        nn.Module.__init__(self)
        self.conv1 = block.conv1
        self.conv2 = block.conv2

    def forward(self, x: torch.Tensor, w: torch.Tensor | None = None, b: torch.Tensor | None = None) -> torch.Tensor:
        """As :meth:`ResBlock.forward`."""
        if not _one_style(x, w, b, self.conv1):
            return super().forward(x, w, b)
        y = F.relu(modulated_conv(self.conv1, x, w, b))
        return x + modulated_conv(self.conv2, y, w, b)


class ChannelsLastUpBlock(UpBlock):
    """An :class:`UpBlock` run in channels-last memory (its output too), its grouped conv as a
    :class:`GroupSumConv`.

    :param block: the block (parameters shared)
    """

    def __init__(self, block: UpBlock) -> None:
        nn.Module.__init__(self)
        self.conv = GroupSumConv(block.conv)
        self.point = FoldedPointwise(block.point)

    def forward(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """As :meth:`UpBlock.forward`: ``N x C x h x w`` -> ``N x C/2 x 2h x 2w``, channels-last."""
        return super().forward(x.contiguous(memory_format=torch.channels_last), w, b)


class ChannelsLastEncoder(Encoder):
    """An :class:`Encoder` that runs in channels-last memory: the residual blocks are about 20 %
    faster there, the stride-2 grouped convolutions about 2x. Convolutions keep their input's layout,
    so its outputs, and what the actor and the builder compute from them, stay channels-last.

    :param encoder: the encoder (its layers shared)
    """

    def __init__(self, encoder: Encoder) -> None:
        nn.Module.__init__(self)
        for name, module in encoder.named_children():
            setattr(self, name, module)

    def stages(self, x: torch.Tensor, style: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """As :meth:`Encoder.stages`, both outputs channels-last."""
        return super().stages(x.contiguous(memory_format=torch.channels_last), style)


def cpu_builder(builder: Builder) -> Builder:
    """A shallow copy of ``builder`` running its residual blocks, upsampling blocks and last
    layer in the CPU forms above (parameters shared with ``builder``)."""
    fast = copy.copy(builder)
    fast._modules = dict(builder._modules)
    fast.res1 = FoldedResBlock(builder.res1)
    fast.res2 = FoldedResBlock(builder.res2)
    fast.out = ColumnSplitConv(builder.out)
    fast.up1 = ChannelsLastUpBlock(builder.up1)
    fast.up2 = ChannelsLastUpBlock(builder.up2)
    return fast


def cpu_actor(actor: Actor) -> Actor:
    """A shallow copy of ``actor`` whose encoder, and so all that follows it, runs in
    channels-last memory (:class:`ChannelsLastEncoder`; parameters shared with ``actor``)."""
    fast = copy.copy(actor)
    fast._modules = dict(actor._modules)
    fast.encoder = ChannelsLastEncoder(actor.encoder)
    return fast
