"""The generative learning of RLMiniStyler, as a loss on replay samples.

On a batch of (moving, style) pairs the actor samples a latent, the builder makes the next
image, and three losses are weighted by learned uncertainties ``p``
(:func:`agents.losses.uncertainty_weighted`): the content loss (relu4_1 against the moving
image), the style loss (relu1_1..relu4_1 statistics against the style) and the hierarchical
contrastive loss on the actor's style encoding. Gradients reach the actor, the builder and
``p``.

VGG work is kept to what changes: the VGG pass of the output stops at relu4_1 (the deepest tap
used); each stored moving image's relu4_1 (the content target) is computed once, without
gradients, and kept in float16 in a memory-bounded cache keyed by the replay buffer's write id
(:class:`ContentTargetCache`); each style image's statistics are computed once and cached by
the buffer's style key (:class:`StyleStatsCache`).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch as th

from agents import losses as agent_losses
from agents.networks import Actor, Builder, sample_action
from styleenv import losses
from styleenv.vgg import STYLE_TAPS, LossNetwork

Stats = list[tuple[th.Tensor, th.Tensor]]


@dataclass
class GenerativeLosses:
    """One generative step's losses: the total carries the graph; the terms are detached tensors
    (read them together, one device sync, e.g. with ``th.stack(...).tolist()``)."""

    total: th.Tensor
    terms: th.Tensor  # (3,): content, style, contrastive


class StyleStatsCache:
    """Per-style VGG statistics (relu1_1..relu4_1 means and stds), keyed by a hashable id.

    :param net: the loss network
    :param capacity: most entries kept (least recently used dropped first)
    """

    def __init__(self, net: LossNetwork, capacity: int = 4096) -> None:
        self.net = net
        self.capacity = capacity
        self._cache: OrderedDict[object, Stats] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def batch(self, style: th.Tensor, keys: list[object] | None) -> Stats:
        """Stacked statistics of a batch of style images.

        :param style: ``(N, 3, H, W)`` float in [0, 1]
        :param keys: one key per image (``None``: no caching)
        :return: per tap ``(mean, std)``, each ``(N, C, 1, 1)``
        """
        if keys is None:
            with th.no_grad():
                return losses.style_stats(self.net(style, STYLE_TAPS))
        missing = [i for i, k in enumerate(keys) if k not in self._cache]
        if missing:
            uniq: dict[object, int] = {}
            for i in missing:
                uniq.setdefault(keys[i], i)
            idx = list(uniq.values())
            with th.no_grad():
                stats = losses.style_stats(self.net(style[idx], STYLE_TAPS))
            for j, key in enumerate(uniq):
                self._cache[key] = [(m[j : j + 1], s[j : j + 1]) for m, s in stats]
            self.misses += len(idx)
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        self.hits += len(keys) - len(missing)
        for k in keys:
            self._cache.move_to_end(k)
        entries = [self._cache[k] for k in keys]
        return [
            (th.cat([e[t][0] for e in entries]), th.cat([e[t][1] for e in entries]))
            for t in range(len(entries[0]))
        ]


class ContentTargetCache:
    """relu4_1 features of stored moving images (float16), least recently used dropped first.

    A transition is sampled about ``batch_size`` times while it stays in the replay buffer, so
    its content target is computed once instead of every time.

    :param net: the loss network
    :param max_mb: memory budget of the cached features
    """

    def __init__(self, net: LossNetwork, max_mb: float = 1024.0) -> None:
        self.net = net
        self.max_bytes = int(max_mb * 2**20)
        self._cache: OrderedDict[object, th.Tensor] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def batch(self, moving: th.Tensor, keys: list[object] | None) -> th.Tensor:
        """relu4_1 of a batch, ``(N, 512, H/8, W/8)`` float32 (no gradient).

        :param moving: ``(N, 3, H, W)`` float in [0, 1]
        :param keys: one key per image (``None``: no caching)
        """
        tap = STYLE_TAPS[-1:]
        if keys is None or self.max_bytes <= 0:
            with th.no_grad():
                return self.net(moving, tap)[0]
        missing = [i for i, k in enumerate(keys) if k not in self._cache]
        if missing:
            uniq: dict[object, int] = {}
            for i in missing:
                uniq.setdefault(keys[i], i)
            with th.no_grad():
                feats = self.net(moving[list(uniq.values())], tap)[0].half()
            for j, key in enumerate(uniq):
                f = feats[j : j + 1].clone()
                self._cache[key] = f
                self._bytes += f.numel() * f.element_size()
            self.misses += len(uniq)
        self.hits += len(keys) - len(missing)
        for k in keys:
            self._cache.move_to_end(k)
        out = th.cat([self._cache[k] for k in keys]).float()
        while self._bytes > self.max_bytes and len(self._cache) > len(keys):
            _, f = self._cache.popitem(last=False)
            self._bytes -= f.numel() * f.element_size()
        return out


def generative_losses(
    actor: Actor,
    builder: Builder,
    p: th.Tensor,
    net: LossNetwork,
    moving: th.Tensor,
    style: th.Tensor,
    style_stats: Stats,
    content_target: th.Tensor | None = None,
    content_weight: float = 1.0,
    bf16: bool = False,
) -> GenerativeLosses:
    """The uncertainty-weighted generative loss of a batch.

    :param actor: release actor (style encoder, action head)
    :param builder: builder
    :param p: ``(3,)`` learned uncertainties of (content, style, contrastive)
    :param net: loss network
    :param moving: ``(N, 3, H, W)`` float in [0, 1]
    :param style: ``(N, 3, H, W)`` float in [0, 1]
    :param style_stats: VGG statistics of ``style`` (:class:`StyleStatsCache`)
    :param content_target: relu4_1 of ``moving`` (:class:`ContentTargetCache`); computed if None
    :param content_weight: factor on the content loss before the weighting (1: the release)
    :param bf16: run the loss network's pass over the output (forward and backward) under
        bfloat16 autocast; statistics and losses stay float32
    """
    code = actor.encode_style(style)
    mean, logvar = actor(moving, code)  # (N, 64, H/4, W/4) each
    out = builder(sample_action(mean, logvar), code)  # (N, 3, H, W), unclamped as in the release
    with th.autocast(out.device.type, dtype=th.bfloat16, enabled=bf16):
        feats = net(out, STYLE_TAPS)  # relu1_1..relu4_1, nothing deeper
    feats = [f.float() for f in feats]  # bfloat16 maps -> float32 (no copy when already float32)
    if content_target is None:
        with th.no_grad():
            content_target = net(moving, STYLE_TAPS[-1:])[0]  # relu4_1 of the moving image
    l_content = losses.content_loss(feats[-1], content_target)
    l_style = losses.style_loss_from_stats(losses.style_stats(feats), style_stats)
    out_code = actor.encode_style(out)
    l_contrast = agent_losses.contrastive_style_loss(
        list(out_code.feature_maps()), list(out_code.modulations()),
        list(code.feature_maps()), list(code.modulations()),
    )
    terms = th.stack([l_content, l_style, l_contrast])
    scaled = th.stack([content_weight * l_content, l_style, l_contrast])
    return GenerativeLosses(agent_losses.uncertainty_weighted(scaled, p), terms.detach())
