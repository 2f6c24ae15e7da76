"""The losses of the environment and of the evaluation: the env's reward (style and content
losses), the paper's evaluation metrics (content loss, style loss, SSIM), and the statistics
they compare. The agent's own training losses are :mod:`agents.losses`.

Feature lists come from :class:`styleenv.vgg.LossNetwork`. ``per_sample=True`` returns one
value per batch element ``(N,)``; otherwise the batch mean, which is what ``F.mse_loss`` gives.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from styleenv.ops import mean_std
from styleenv.vgg import ALL_TAPS, LossNetwork

Stats = tuple[torch.Tensor, torch.Tensor]  # (mean, std), each (N, C, 1, 1)


def _mse(a: torch.Tensor, b: torch.Tensor, per_sample: bool) -> torch.Tensor:
    err = (a - b).pow(2)  # b may have batch 1 and broadcast over a's batch
    return err.flatten(1).mean(1) if per_sample else err.mean()  # (N,) or ()


def style_stats(feats: list[torch.Tensor]) -> list[Stats]:
    """Mean and std of every feature map (what the style loss compares).

    :param feats: feature maps, each ``(N, C, H, W)``
    :return: per map, ``(mean, std)``, each ``(N, C, 1, 1)``
    """
    return [mean_std(f) for f in feats]


def stats_loss(a: Stats, b: Stats, per_sample: bool = False) -> torch.Tensor:
    """MSE of means plus MSE of stds for one layer.

    :param a: the judged images' ``(mean, std)``
    :param b: the target's ``(mean, std)`` (batch N or 1)
    :param per_sample: one value per image ``(N,)`` instead of the batch mean
    """
    return _mse(a[0], b[0], per_sample) + _mse(a[1], b[1], per_sample)


def style_loss_from_stats(x: list[Stats], s: list[Stats], per_sample: bool = False) -> torch.Tensor:
    """Style loss summed over layers, from precomputed statistics (a fixed style's are reused).

    :param x: per layer, the judged images' statistics
    :param s: per layer, the style's statistics
    :param per_sample: one value per image ``(N,)`` instead of the batch mean
    """
    return sum(stats_loss(a, b, per_sample) for a, b in zip(x, s, strict=True))


def style_loss(x_feats: list[torch.Tensor], s_feats: list[torch.Tensor], per_sample: bool = False) -> torch.Tensor:
    """``L_ST``: sum over layers of MSE(mean) + MSE(std) (the reward is its negative).

    :param x_feats: features of the images being judged (relu1_1..relu4_1 for ``L_ST``)
    :param s_feats: features of the style images at the same taps
    :param per_sample: one value per image ``(N,)`` instead of the batch mean
    """
    return style_loss_from_stats(style_stats(x_feats), style_stats(s_feats), per_sample)


def content_loss(x_feat: torch.Tensor, c_feat: torch.Tensor, per_sample: bool = False) -> torch.Tensor:
    """``L_CO``: MSE between two feature maps (relu4_1 in training).

    :param x_feat: the judged images' map ``(N, C, H, W)``
    :param c_feat: the target map (batch N or 1)
    :param per_sample: one value per image ``(N,)`` instead of the batch mean
    """
    return _mse(x_feat, c_feat, per_sample)


PAPER_CONTENT_TAPS = ("relu4_1", "relu5_1")


def paper_content_loss_from_features(x_feats: list[torch.Tensor], c_feats: list[torch.Tensor]) -> torch.Tensor:
    """Evaluation content loss from features at :data:`PAPER_CONTENT_TAPS`, ``(N,)``.

    :param x_feats: the judged images' relu4_1 and relu5_1
    :param c_feats: the content's, at the same taps (batch N or 1)
    """
    return sum(content_loss(a, b, True) for a, b in zip(x_feats, c_feats, strict=True)) / len(x_feats)


def paper_style_loss_from_stats(x_stats: list[Stats], s_stats: list[Stats]) -> torch.Tensor:
    """Evaluation style loss from statistics at relu1_1..relu5_1 (a fixed style's are reused), ``(N,)``.

    :param x_stats: per layer, the judged images' statistics
    :param s_stats: per layer, the style's statistics (batch N or 1)
    """
    return style_loss_from_stats(x_stats, s_stats, per_sample=True) / len(x_stats)


def paper_content_loss(net: LossNetwork, x: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Evaluation content loss: mean of the relu4_1 and relu5_1 MSEs against the content, ``(N,)``.

    :param net: the loss network
    :param x: images in [0, 1], ``(N, 3, H, W)`` (a side of at least 17 px: relu5_1 needs 2 x 2)
    :param content: the content, ``(N or 1, 3, H, W)``
    """
    return paper_content_loss_from_features(net(x, PAPER_CONTENT_TAPS), net(content, PAPER_CONTENT_TAPS))


def paper_style_loss(net: LossNetwork, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Evaluation style loss: mean over relu1_1..relu5_1 of the statistics loss, ``(N,)``.

    :param net: the loss network
    :param x: images in [0, 1], ``(N, 3, H, W)`` (a side of at least 17 px: relu5_1 needs 2 x 2)
    :param style: the style, ``(N or 1, 3, H', W')``
    """
    return paper_style_loss_from_stats(style_stats(net(x, ALL_TAPS)), style_stats(net(style, ALL_TAPS)))


def ssim_grey(x: np.ndarray | Image.Image, y: np.ndarray | Image.Image, window: int = 7) -> float:
    """SSIM of two RGB uint8 images on their grey-scale versions (the paper's protocol).

    Grey is PIL's ITU-R 601-2 luma rounded to uint8; statistics are uniform ``window``-square
    means with the sample covariance, K1 = 0.01, K2 = 0.03, data range 255, averaged over the
    positions where the window fits.

    :param x: ``(H, W, 3)`` uint8 array or PIL image
    :param y: same size as ``x``
    :param window: side of the square window (at most the images' shorter side)
    """
    a, b = (_grey(v) for v in (x, y))
    if a.shape != b.shape:
        raise ValueError(f"SSIM needs images of one size, got {a.shape} and {b.shape}")
    if min(a.shape) < window:
        raise ValueError(f"SSIM needs images of at least {window} x {window} pixels, got {a.shape}")
    t = torch.from_numpy(np.stack([a, b, a * a, b * b, a * b]))[:, None]  # (5, 1, H, W) float64
    ux, uy, uxx, uyy, uxy = F.avg_pool2d(t, window, stride=1)[:, 0]
    n = window * window
    cov = n / (n - 1)
    vx, vy, vxy = cov * (uxx - ux * ux), cov * (uyy - uy * uy), cov * (uxy - ux * uy)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    s = (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return float(s.mean())


def _grey(img: np.ndarray | Image.Image) -> np.ndarray:
    if not isinstance(img, Image.Image):
        img = Image.fromarray(np.asarray(img, dtype=np.uint8))
    return np.asarray(img.convert("L"), dtype=np.float64)
