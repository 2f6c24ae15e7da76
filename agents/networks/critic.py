"""Twin soft-Q critic for SAC (not part of the release).

Unlike the release's critic it sees the style image too (the reward is a style loss against
it) and ends in a linear layer, so that the negative returns of this task are reachable.
Both Q values are pooled to one number per sample.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from agents.networks.blocks import Conv


def _pooled_stats(x: torch.Tensor) -> torch.Tensor:
    """Per-channel mean and standard deviation over space: ``N x C x h x w`` -> ``N x 2C``."""
    flat = x.flatten(2)
    return torch.cat([flat.mean(dim=2), (flat.var(dim=2, unbiased=False) + 1e-5).sqrt()], dim=1)


class QNet(nn.Module):
    """One soft-Q estimate ``Q(moving, style, action)``.

    A small strided stem maps each image to ``32 x H/4 x W/4``. The moving features meet the
    action, are mixed and downsampled, then summarised by channel means and standard
    deviations; the style features by theirs. A two-layer MLP gives Q.

    :param action_channels: channels of the latent action (64)
    :param hidden: width of the MLP
    """

    def __init__(self, action_channels: int = 64, hidden: int = 64) -> None:
        super().__init__()
        self.stem1 = Conv(3, 16, 3, stride=2)
        self.stem2 = Conv(16, 32, 3, stride=2)
        self.mix = Conv(32 + action_channels, 64, 1)
        self.down = Conv(64, 64, 3, stride=2, groups=64)
        self.point = Conv(64, 64, 1)
        self.fc1 = nn.Linear(2 * 64 + 2 * 32, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def stem(self, image: torch.Tensor) -> torch.Tensor:
        """:param image: ``N x 3 x H x W`` -> ``N x 32 x H/4 x W/4``"""
        return F.relu(self.stem2(F.relu(self.stem1(image))))

    def forward(self, moving: torch.Tensor, style: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """:param moving: ``N x 3 x H x W``
        :param style: ``N x 3 x H' x W'`` (any size that is a multiple of 4)
        :param action: ``N x 64 x H/4 x W/4``
        :return: ``N x 1`` (linear, may be negative)
        """
        m = self.stem(moving)  # 32 x H/4 x W/4
        x = F.relu(self.mix(torch.cat([m, action], dim=1)))  # 64 x H/4 x W/4
        x = F.relu(self.point(F.relu(self.down(x))))  # 64 x H/8 x W/8
        s = self.stem(style)  # 32 x H'/4 x W'/4
        z = torch.cat([_pooled_stats(x), _pooled_stats(s)], dim=1)  # N x 192
        return self.fc2(F.relu(self.fc1(z)))


class TwinCritic(nn.Module):
    """Two independent :class:`QNet` (clipped double-Q), each ``N x 1``.

    :param action_channels: channels of the latent action
    :param hidden: width of each MLP
    """

    def __init__(self, action_channels: int = 64, hidden: int = 64) -> None:
        super().__init__()
        self.q1 = QNet(action_channels, hidden)
        self.q2 = QNet(action_channels, hidden)

    def forward(
        self, moving: torch.Tensor, style: torch.Tensor, action: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Both estimates (arguments as :meth:`QNet.forward`).

        :return: ``(q1, q2)``, each ``N x 1``
        """
        return self.q1(moving, style, action), self.q2(moving, style, action)
