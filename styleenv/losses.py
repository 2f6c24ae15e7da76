"""Every loss of the project, in one place: the env's reward, the agent's training
losses and the paper's evaluation metrics all come from here.

Feature lists come from :class:`styleenv.vgg.LossNetwork` (or the actor's encoder for the
contrastive loss). ``per_sample=True`` returns one value per batch element ``(N,)``;
otherwise the batch mean, which is what ``F.mse_loss`` gives.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from styleenv.ops import mean_std
from styleenv.vgg import ALL_TAPS, STYLE_TAPS, LossNetwork

Stats = tuple[torch.Tensor, torch.Tensor]  # (mean, std), each (N, C, 1, 1)


def _mse(a: torch.Tensor, b: torch.Tensor, per_sample: bool) -> torch.Tensor:
    err = (a - b).pow(2)  # b may have batch 1 and broadcast over a's batch
    return err.flatten(1).mean(1) if per_sample else err.mean()


def style_stats(feats: list[torch.Tensor]) -> list[Stats]:
    """Mean and std of every feature map (what the style loss compares)."""
    return [mean_std(f) for f in feats]


def stats_loss(a: Stats, b: Stats, per_sample: bool = False) -> torch.Tensor:
    """MSE of means plus MSE of stds for one layer."""
    return _mse(a[0], b[0], per_sample) + _mse(a[1], b[1], per_sample)


def style_loss_from_stats(x: list[Stats], s: list[Stats], per_sample: bool = False) -> torch.Tensor:
    """Style loss summed over layers, from precomputed statistics (a fixed style's are reused)."""
    return sum(stats_loss(a, b, per_sample) for a, b in zip(x, s, strict=True))


def style_loss(x_feats: list[torch.Tensor], s_feats: list[torch.Tensor], per_sample: bool = False) -> torch.Tensor:
    """``L_ST``: sum over layers of MSE(mean) + MSE(std) (the reward is its negative).

    :param x_feats: features of the images being judged (relu1_1..relu4_1 for ``L_ST``)
    :param s_feats: features of the style images at the same taps
    """
    return style_loss_from_stats(style_stats(x_feats), style_stats(s_feats), per_sample)


def content_loss(x_feat: torch.Tensor, c_feat: torch.Tensor, per_sample: bool = False) -> torch.Tensor:
    """``L_CO``: MSE between two feature maps (relu4_1 in training)."""
    return _mse(x_feat, c_feat, per_sample)


def image_style_loss(net: LossNetwork, x: torch.Tensor, style: torch.Tensor, per_sample: bool = False) -> torch.Tensor:
    """``L_ST`` of images in [0, 1]: relu1_1..relu4_1 of ``x`` against ``style``."""
    return style_loss(net(x, STYLE_TAPS), net(style, STYLE_TAPS), per_sample)


PAPER_CONTENT_TAPS = ("relu4_1", "relu5_1")
PAPER_STYLE_TAPS = ALL_TAPS


def paper_content_loss_from_features(x_feats: list[torch.Tensor], c_feats: list[torch.Tensor]) -> torch.Tensor:
    """Evaluation content loss from features at :data:`PAPER_CONTENT_TAPS` (content's may have batch 1), ``(N,)``."""
    return sum(content_loss(a, b, True) for a, b in zip(x_feats, c_feats, strict=True)) / len(x_feats)


def paper_style_loss_from_stats(x_stats: list[Stats], s_stats: list[Stats]) -> torch.Tensor:
    """Evaluation style loss from statistics at :data:`PAPER_STYLE_TAPS` (a fixed style's are reused), ``(N,)``."""
    return style_loss_from_stats(x_stats, s_stats, per_sample=True) / len(x_stats)


def paper_content_loss(net: LossNetwork, x: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Evaluation content loss: mean of the relu4_1 and relu5_1 MSEs against the content, ``(N,)``."""
    return paper_content_loss_from_features(net(x, PAPER_CONTENT_TAPS), net(content, PAPER_CONTENT_TAPS))


def paper_style_loss(net: LossNetwork, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Evaluation style loss: mean over relu1_1..relu5_1 of the statistics loss, ``(N,)``."""
    return paper_style_loss_from_stats(style_stats(net(x, ALL_TAPS)), style_stats(net(style, ALL_TAPS)))


def ssim_grey(x: np.ndarray | Image.Image, y: np.ndarray | Image.Image, window: int = 7) -> float:
    """SSIM of two RGB uint8 images on their grey-scale versions (the paper's protocol).

    Grey is PIL's ITU-R 601-2 luma rounded to uint8; statistics are uniform ``window``-square
    means with the sample covariance, K1 = 0.01, K2 = 0.03, data range 255, averaged over the
    positions where the window fits.

    :param x: ``(H, W, 3)`` uint8 array or PIL image
    :param y: same size as ``x``
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


def contrastive_style_loss(
    out_maps: list[torch.Tensor],
    out_vecs: list[torch.Tensor],
    style_maps: list[torch.Tensor],
    style_vecs: list[torch.Tensor],
) -> torch.Tensor:
    """``L_CT``, the hierarchical style representation contrastive loss.

    Sample ``i``'s output is pulled towards its own style and pushed from the batch's other
    styles: ``sum_i d(i, i) / sum_{j != i} d(i, j)``, where ``d`` adds the statistics loss of
    every feature map (shallow and deep) and the MSE of every modulation vector.

    :param out_maps: style-mode encoder maps of the outputs, each ``(N, C, H, W)``
    :param out_vecs: modulation vectors of the outputs, each ``(N, C, 1, 1)``
    :param style_maps: the same maps of the style images
    :param style_vecs: the same vectors of the style images
    :return: scalar loss (needs ``N >= 2``)
    """
    n = out_maps[0].shape[0]
    if n < 2:
        raise ValueError("the contrastive loss needs a batch of at least two pairs")
    dist = out_maps[0].new_zeros(n, n)  # d(i, j)
    for o, s in zip(out_maps, style_maps, strict=True):
        (om, osd), (sm, ssd) = mean_std(o), mean_std(s)
        dist = dist + _pairwise_mse(om, sm) + _pairwise_mse(osd, ssd)
    for o, s in zip(out_vecs, style_vecs, strict=True):
        dist = dist + _pairwise_mse(o, s)
    positive = dist.diagonal()
    negative = dist.sum(1) - positive
    return (positive / negative).sum()


def _pairwise_mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(N, C, 1, 1)`` x ``(N, C, 1, 1)`` -> ``(N, N)`` mean squared differences."""
    a, b = a.flatten(1), b.flatten(1)  # (N, C)
    return (a[:, None, :] - b[None, :, :]).pow(2).mean(-1)


def uncertainty_weighted(losses: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Kendall-style automatic weighting: ``sum_k 0.5 / p_k^2 * L_k + log(1 + p_k^2)``.

    :param losses: ``(K,)`` task losses (content, style, contrastive)
    :param p: ``(K,)`` learned uncertainty parameters (initialised to 1)
    """
    p2 = p.pow(2)
    return (0.5 / p2 * losses + torch.log1p(p2)).sum()
