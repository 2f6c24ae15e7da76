"""The paper's metrics of moving images against one (content, style) pair, and the hook that
reuses the env's own VGG pass.

After every step the uint8 moving image is measured as in the paper (after MicroAST): content
loss (:func:`~styleenv.losses.paper_content_loss`, relu4_1 and relu5_1 against the *original*
content), style loss (:func:`~styleenv.losses.paper_style_loss`, relu1_1..relu5_1 statistics
against the style) and SSIM on grey-scale uint8 against the content
(:func:`~styleenv.losses.ssim_grey`).

Cost: the loss network dominates. A pair's content features and a style's statistics are
computed once; the relu1_1..relu4_1 features the env computes for its reward are picked up
with a forward hook on the shared loss network (:func:`capture_features`, checked against the
observed image by :func:`matching_features`, else recomputed), so a step costs one VGG pass to
relu4_1 plus relu4_1 -> relu5_1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from styleenv import losses
from styleenv.pixels import chw_uint8_to_tensor, to_hwc, to_uint8
from styleenv.vgg import ALL_TAPS, STYLE_TAPS, TAPS, LossNetwork

#: One call of the loss network: ``(input, taps, features)``.
Call = tuple[torch.Tensor, tuple[str, ...], list[torch.Tensor]]


class PairMetrics:
    """The paper's metrics of images against one (content, style) pair.

    Images already measured (same pixels) are not measured again.

    :param net: the loss network
    :param content: ``(3, H, W)`` uint8, the original content
    :param style_stats: the style's statistics at relu1_1..relu5_1 (see :meth:`style_stats`)
    :param content_feats: the content's relu4_1 and relu5_1 (see :meth:`content_features`;
        computed if None)
    """

    def __init__(
        self,
        net: LossNetwork,
        content: np.ndarray,
        style_stats: list[losses.Stats],
        content_feats: list[torch.Tensor] | None = None,
    ) -> None:
        self.net = net
        self.device = next(net.parameters()).device
        self.content_hwc = to_hwc(content)
        self.content_feats = content_feats or self.content_features(net, content)
        self.style_stats = style_stats
        self._cache: dict[bytes, dict[str, float]] = {}

    @staticmethod
    def content_features(net: LossNetwork, content: np.ndarray) -> list[torch.Tensor]:
        """relu4_1 and relu5_1 of a content image ``(3, H, W)`` uint8 (computed once per content)."""
        device = next(net.parameters()).device
        with torch.no_grad():
            return net(chw_uint8_to_tensor(content, device)[None], losses.PAPER_CONTENT_TAPS)

    @staticmethod
    def style_stats(net: LossNetwork, style: np.ndarray) -> list[losses.Stats]:
        """Statistics of a style image ``(3, H, W)`` uint8 at relu1_1..relu5_1 (computed once per style)."""
        device = next(net.parameters()).device
        with torch.no_grad():
            return losses.style_stats(net(chw_uint8_to_tensor(style, device)[None], ALL_TAPS))

    @torch.no_grad()
    def measure(self, images: Sequence[np.ndarray], early: Sequence[list[torch.Tensor] | None]) -> list[dict[str, float]]:
        """Metrics of each image.

        :param images: ``(3, H, W)`` uint8 images
        :param early: per image, its relu1_1..relu4_1 features if already computed, else None
        :return: per image ``{"content_loss", "style_loss", "ssim"}``
        """
        keys = [hashlib.blake2b(img.tobytes(), digest_size=16).digest() for img in images]
        todo = [i for i, k in enumerate(keys) if k not in self._cache]
        todo = [i for n, i in enumerate(todo) if keys[i] not in {keys[j] for j in todo[:n]}]  # unique images
        if todo:
            feats = self._features([images[i] for i in todo], [early[i] for i in todo])  # 5 x (n, C, h, w)
            content = losses.paper_content_loss_from_features(feats[3:], self.content_feats)
            style = losses.paper_style_loss_from_stats(losses.style_stats(feats), self.style_stats)
            for n, i in enumerate(todo):
                self._cache[keys[i]] = {
                    "content_loss": float(content[n]),
                    "style_loss": float(style[n]),
                    "ssim": losses.ssim_grey(to_hwc(images[i]), self.content_hwc),
                }
        return [dict(self._cache[k]) for k in keys]

    def _features(self, images: list[np.ndarray], early: list[list[torch.Tensor] | None]) -> list[torch.Tensor]:
        """relu1_1..relu5_1 of ``images`` (batched), reusing the env's relu1_1..relu4_1 where given."""
        if any(e is None for e in early):
            return self.net(chw_uint8_to_tensor(np.stack(images), self.device), ALL_TAPS)
        shallow = [torch.cat(level) for level in zip(*early)]  # 4 x (n, C, h, w)
        deep = self.net.body[TAPS["relu4_1"] + 1 : TAPS["relu5_1"] + 1](shallow[-1])  # (n, 512, h/2, w/2)
        return shallow + [deep]


@contextmanager
def capture_features(net: LossNetwork) -> Iterator[list[Call]]:
    """Record ``(input, taps, features)`` of every call of ``net`` inside the block.

    :param net: the loss network (the env's, shared in the process)
    """
    calls: list[Call] = []

    def hook(module: torch.nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        taps = args[1] if len(args) > 1 else kwargs.get("taps", STYLE_TAPS)
        calls.append((args[0], tuple(taps), output))

    handle = net.register_forward_hook(hook, with_kwargs=True)
    try:
        yield calls
    finally:
        handle.remove()


def matching_features(calls: list[Call], image: np.ndarray) -> list[torch.Tensor] | None:
    """The relu1_1..relu4_1 features among ``calls`` that were computed from exactly ``image``.

    :param calls: what :func:`capture_features` recorded
    :param image: ``(3, H, W)`` uint8
    """
    target = torch.from_numpy(image)[None]
    for x, taps, feats in reversed(calls):
        if taps[: len(STYLE_TAPS)] != STYLE_TAPS or x.shape != target.shape:
            continue
        if torch.equal(to_uint8(x), target):
            return [f.detach() for f in feats[: len(STYLE_TAPS)]]
    return None
