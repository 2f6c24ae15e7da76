"""The agent's training losses beside the env's (:mod:`styleenv.losses`): the hierarchical
contrastive style loss and the uncertainty weighting of the generative update
(:func:`agents.sac.generative.generative_losses`)."""

from __future__ import annotations

import torch

from styleenv.ops import mean_std


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
