"""The env's reward, for one episode or a batch of them, and the check of an image action.

:class:`Reward` holds the loss network and the reward's weights; :class:`Targets` what one
batch of episodes is judged against (each style's statistics, each content's relu4_1 and the
previous image's relu4_1). The single env (:mod:`styleenv.env`) is a batch of one; the vector
env (:mod:`styleenv.vector`) steps every episode with one VGG pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from styleenv import losses
from styleenv.pixels import chw_uint8_to_tensor
from styleenv.vgg import STYLE_TAPS, LossNetwork

#: Pixels per loss-network pass on the CPU (8 images of 64 px; see :meth:`Reward._features`).
CPU_PASS_PIXELS = 8 * 64 * 64


def check_action(action: Any, shape: tuple[int, ...]) -> np.ndarray | torch.Tensor:
    """An image action as float32 in [0, 1], or a one-line ``ValueError``.

    Integer and boolean arrays are refused (a uint8 image as is would be clipped to white:
    divide by 255 first); other float dtypes are cast; values outside [0, 1] are clipped.
    A torch tensor stays a tensor on its device.

    :param action: a numpy array, anything ``numpy.asarray`` reads, or a torch tensor
    :param shape: the expected shape, e.g. ``(3, H, W)`` or ``(N, 3, H, W)``
    :raises ValueError: another shape, a non-float dtype, NaN or infinity
    """
    array = action if isinstance(action, torch.Tensor) else np.asarray(action)
    if tuple(array.shape) != tuple(shape):
        raise ValueError(f"action must have shape {tuple(shape)} (an RGB image in [0, 1]), got {tuple(array.shape)}")
    if isinstance(array, torch.Tensor):
        if not array.is_floating_point():
            raise ValueError(f"action must be a float image in [0, 1], got dtype {array.dtype}; divide uint8 pixels by 255")
        array = array.detach()
        if not torch.isfinite(array).all():
            raise ValueError("action contains NaN or infinity")
        return array.clamp(0.0, 1.0).float()  # clipped first: a large float64 would overflow float32
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"action must be a float image in [0, 1], got dtype {array.dtype}; divide uint8 pixels by 255")
    if not np.isfinite(array).all():
        raise ValueError("action contains NaN or infinity")
    return np.ascontiguousarray(np.clip(array, 0.0, 1.0), dtype=np.float32)


@dataclass
class Targets:
    """What a batch of episodes is judged against, one row per episode.

    :param style_stats: per style tap, the styles' ``(mean, std)``, each ``(N, C, 1, 1)``
    :param content: the contents' relu4_1, ``(N, 512, H/8, W/8)``
    :param previous: the previous moving images' relu4_1 (the content at the start)
    """

    style_stats: list[losses.Stats]
    content: torch.Tensor
    previous: torch.Tensor

    def replace(self, rows: torch.Tensor, new: Targets) -> None:
        """Put ``new``'s rows (the episodes just reset) in place of ``rows``.

        :param rows: indices of the episodes, ``(K,)``
        :param new: targets of ``K`` episodes
        """
        for (mean, std), (new_mean, new_std) in zip(self.style_stats, new.style_stats, strict=True):
            mean[rows], std[rows] = new_mean, new_std
        self.content[rows] = new.content
        self.previous[rows] = new.previous


class Reward:
    """``r = -L_ST(moving, style) - content_weight * L_CO(moving, content)`` per episode.

    :param net: the loss network
    :param content_weight: weight of the content term
    """

    def __init__(self, net: LossNetwork, content_weight: float = 0.0) -> None:
        self.net = net
        self.content_weight = float(content_weight)
        self.device = next(net.parameters()).device

    def _features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """relu1_1..relu4_1 of uint8 images ``(N, 3, H, W)`` (any device).

        On the CPU a large batch runs in chunks of at most :data:`CPU_PASS_PIXELS` pixels (at
        least one image): one pass over 8 images of 128 px was 25 % slower than 8 passes of one,
        its maps no longer fitting the caches. A GPU takes the batch in one pass.
        """
        images = chw_uint8_to_tensor(images, self.device)  # (N, 3, H, W) float
        n, _, h, w = images.shape
        chunk = n if self.device.type != "cpu" else max(1, CPU_PASS_PIXELS // (h * w))
        if chunk >= n:
            return self.net(images, STYLE_TAPS)
        parts = [self.net(images[i : i + chunk], STYLE_TAPS) for i in range(0, n, chunk)]
        return [torch.cat(maps) for maps in zip(*parts)]

    @torch.no_grad()
    def targets(self, content: torch.Tensor, style: torch.Tensor) -> Targets:
        """The targets of new episodes.

        :param content: uint8 ``(N, 3, H, W)``
        :param style: uint8 ``(N, 3, H, W)``
        """
        stats = losses.style_stats(self._features(style))
        content_feat = self._features(content)[-1]  # (N, 512, H/8, W/8)
        return Targets(stats, content_feat, content_feat.clone())

    @torch.no_grad()
    def __call__(self, moving: torch.Tensor, targets: Targets) -> dict[str, torch.Tensor]:
        """The terms of one step of every episode; ``targets.previous`` moves on to ``moving``.

        :param moving: the new moving images, uint8 ``(N, 3, H, W)``
        :param targets: the episodes' targets
        :return: ``style_loss``, ``content_loss``, ``content_loss_previous`` and ``reward``, each
            ``(N,)`` on the loss network's device
        """
        feats = self._features(moving)
        style = losses.style_loss_from_stats(losses.style_stats(feats), targets.style_stats, per_sample=True)
        content = losses.content_loss(feats[-1], targets.content, per_sample=True)
        previous = losses.content_loss(feats[-1], targets.previous, per_sample=True)
        targets.previous = feats[-1]
        reward = -style - self.content_weight * content
        return {"style_loss": style, "content_loss": content, "content_loss_previous": previous, "reward": reward}
