"""The small maths every other module reuses: per-channel statistics and AdaIN.

All functions take feature maps shaped ``(N, C, H, W)``.
"""

from __future__ import annotations

import torch

EPS = 1e-5


def mean_std(feat: torch.Tensor, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel mean and standard deviation over the spatial axes.

    The standard deviation is ``sqrt(unbiased variance + eps)`` (epsilon inside the root),
    as in the released RLMiniStyler model.

    :param feat: feature map ``(N, C, H, W)``
    :param eps: added to the variance before the square root
    :return: ``(mean, std)``, each ``(N, C, 1, 1)``
    """
    mean = feat.mean(dim=(2, 3), keepdim=True)  # (N, C, 1, 1); no reshape: any memory layout
    # two passes: on the CPU several times faster than torch.var, and as exact in float32
    var = (feat - mean).square().sum(dim=(2, 3), keepdim=True) / (feat.shape[2] * feat.shape[3] - 1)
    return mean, (var + eps).sqrt()


def adain(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Adaptive instance normalisation: give ``content`` the channel statistics of ``style``.

    :param content: ``(N, C, H, W)``
    :param style: ``(N, C, H', W')`` (or ``N = 1`` to share one style across a batch)
    :return: ``(N, C, H, W)``
    """
    return adain_to(content, *mean_std(style))


def adain_to(content: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """AdaIN towards given statistics: ``content`` normalised, then scaled by ``std`` and shifted by ``mean``.

    :param content: ``(N, C, H, W)``
    :param mean: target channel means ``(N, C, 1, 1)`` (or ``N = 1``)
    :param std: target channel standard deviations, same shape
    :return: ``(N, C, H, W)``
    """
    c_mean, c_std = mean_std(content)
    return (content - c_mean) / c_std * std + mean
