"""The builder (decoder): latent action + style code -> the next image."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from agents.networks.blocks import Conv, ModulatedPointwise, ResBlock
from agents.networks.encoder import StyleCode, StyleTargets
from styleenv.ops import adain_to


class UpBlock(nn.Module):
    """Bilinear 2x upsampling, an unmodulated grouped 3x3 halving the channels, ReLU,
    a modulated 1x1, ReLU.

    :param in_channels: input channels (the output has half as many)
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        out = in_channels // 2
        self.conv = Conv(in_channels, out, 3, groups=out)
        self.point = ModulatedPointwise(out)

    def forward(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """:param x: ``N x C x h x w``
        :param w: ``N x C/2 x 1 x 1``
        :param b: ``N x C/2 x 1 x 1``
        :return: ``N x C/2 x 2h x 2w``
        """
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        x = F.relu(self.conv(x))
        return F.relu(self.point(x, w, b))


class Builder(nn.Module):
    """Decoder (153,843 parameters) from a ``64 x H/4 x W/4`` latent action to an RGB image.

    The style enters through AdaIN on the deep style maps and through the modulation vectors.
    The output is not clamped.
    """

    def __init__(self) -> None:
        super().__init__()
        self.res1 = ResBlock(64)
        self.res2 = ResBlock(64)
        self.up1 = UpBlock(64)
        self.up2 = UpBlock(32)
        self.out = Conv(16, 3, 9)

    def forward(self, action: torch.Tensor, style_code: StyleCode | StyleTargets) -> torch.Tensor:
        """:param action: ``N x 64 x H/4 x W/4``
        :param style_code: from :meth:`Actor.encode_style`, or its :meth:`~StyleCode.targets`
            (a blend, say) (batch ``N`` or 1)
        :return: ``N x 3 x H x W``, unclamped
        """
        return self.expand(self.transform(action, style_code), style_code)

    def transform(self, action: torch.Tensor, style_code: StyleCode | StyleTargets) -> torch.Tensor:
        """The quarter-resolution part: AdaIN on whole-image statistics and the residual blocks.

        :param action: ``N x 64 x H/4 x W/4``
        :param style_code: as in :meth:`forward`
        :return: ``N x 64 x H/4 x W/4``
        """
        s = style_code.targets()
        h = self.res1(adain_to(action, s.x2_mean, s.x2_std), s.w2, s.b2)  # 64 x H/4 x W/4
        g = adain_to(h, s.x1_mean, s.x1_std)
        return self.res2(g, s.w1, s.b1)  # 64 x H/4 x W/4

    def expand(self, g: torch.Tensor, style_code: StyleCode | StyleTargets) -> torch.Tensor:
        """The upsampling part (local: it can run in tiles).

        :param g: ``N x 64 x H/4 x W/4`` from :meth:`transform`
        :param style_code: as in :meth:`forward` (only its modulation vectors are read)
        :return: ``N x 3 x H x W``, unclamped
        """
        s = style_code
        g = self.up1(g, s.w1_3, s.b1_3)  # 32 x H/2 x W/2
        g = self.up2(g, s.w1_2, s.b1_2)  # 16 x H x W
        return self.out(g)  # 3 x H x W
