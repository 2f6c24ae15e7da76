"""A batch of style-transfer episodes on one device: what the single env (a batch of one) and
the vector env (a batch of N) step.

The images (content, style, moving) are uint8 tensors ``(N, 3, H, W)`` on the loss network's
device; one step of every episode is one VGG pass (:class:`styleenv.reward.Reward`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from styleenv.data import ImageSource
from styleenv.reward import Reward, Targets, check_action
from styleenv.pixels import to_hwc


def check_options(options: dict[str, Any] | None) -> None:
    """Refuse reset options other than ``content`` and ``style`` (a ``ValueError`` naming the first).

    :param options: a reset's options
    """
    unknown = sorted(set(options or {}) - {"content", "style"}, key=str)
    if unknown:
        raise ValueError(f"reset options may be 'content' and 'style', got {unknown[0]!r}")


class EpisodeBatch:
    """N episodes: their pairs, moving images, targets and step counts.

    :param num: number of episodes N
    :param contents: the content pool
    :param styles: the style pool
    :param image_size: side of the square state images
    :param load_size: side images are resized to before the random crop
    :param reward: the reward (loss network and weights)
    :param observe_content: put the content image in the observation (v1)
    :param success_threshold: style loss below which an episode terminates (None: never)
    :param success_bonus: added to the reward of the terminating step
    """

    def __init__(
        self,
        num: int,
        contents: ImageSource,
        styles: ImageSource,
        image_size: int,
        load_size: int,
        reward: Reward,
        observe_content: bool = False,
        success_threshold: float | None = None,
        success_bonus: float = 0.0,
    ) -> None:
        self.num = num
        self.contents, self.styles = contents, styles
        self.image_size, self.load_size = image_size, load_size
        self.reward = reward
        self.device = reward.device
        self.observe_content = observe_content
        self.success_threshold = success_threshold
        self.success_bonus = float(success_bonus)
        shape = (num, 3, image_size, image_size)
        self.content = torch.zeros(shape, dtype=torch.uint8, device=self.device)
        self.style = torch.zeros_like(self.content)
        self.moving = torch.zeros_like(self.content)
        self.steps = np.zeros(num, np.int64)
        self.names: list[tuple[str, str]] = [("", "")] * num
        self.targets: Targets | None = None

    def single_spaces(self) -> tuple[spaces.Dict, spaces.Box]:
        """The observation and action space of one episode."""
        shape = (3, self.image_size, self.image_size)
        image = spaces.Box(0, 255, shape, np.uint8)
        keys = ("moving", "style", "content") if self.observe_content else ("moving", "style")
        return spaces.Dict({k: image for k in keys}), spaces.Box(0.0, 1.0, shape, np.float32)

    def start(self, rows: Sequence[int], rngs: Sequence[np.random.Generator], options: dict[str, Any] | None) -> None:
        """Start new episodes in ``rows``: draw (or pin) their pairs, reset moving images and targets.

        :param rows: the episodes to start
        :param rngs: per row, the generator its pair is drawn from (content, then style)
        :param options: ``{"content": ..., "style": ...}`` pins either image in every row
        :raises ValueError: an option other than ``content`` and ``style``
        """
        options = options or {}
        check_options(options)
        pairs = [self._pair(rng, options) for rng in rngs]
        index = torch.as_tensor(list(rows), dtype=torch.long, device=self.device)
        content = torch.from_numpy(np.stack([p[0] for p in pairs])).to(self.device)  # (K, 3, H, W)
        style = torch.from_numpy(np.stack([p[1] for p in pairs])).to(self.device)
        self.content[index], self.style[index], self.moving[index] = content, style, content
        if self.targets is None:  # the first start: every row, blank ones included
            self.targets = self.reward.targets(self.content, self.style)
        else:
            self.targets.replace(index, self.reward.targets(content, style))
        for row, pair in zip(rows, pairs):
            self.names[row] = pair[2]
            self.steps[row] = 0

    def _pair(self, rng: np.random.Generator, options: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, tuple[str, str]]:
        drawn = [self._pick(source, options.get(kind), rng) for source, kind in ((self.contents, "content"), (self.styles, "style"))]
        return drawn[0][0], drawn[1][0], (drawn[0][1], drawn[1][1])

    def _pick(self, source: ImageSource, pinned: Any, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        if pinned is not None:
            return source.pinned(pinned, self.image_size), source.pinned_name(pinned)
        return source.sample_named_crop(rng, self.load_size, self.image_size)

    def step(self, actions: Any, rows: Sequence[int] | None = None) -> dict[str, np.ndarray]:
        """One step of the episodes in ``rows`` (all by default) with one VGG pass.

        :param actions: images in [0, 1], ``(N, 3, H, W)`` float (numpy or torch on any device);
            the rows not stepped are ignored
        :param rows: the episodes to step
        :return: per stepped row, the reward terms (:meth:`styleenv.reward.Reward.__call__`),
            ``terminated`` and ``is_success`` (style loss below the threshold), numpy ``(K,)``
        """
        images = check_action(actions, (self.num, *self.moving.shape[1:]))
        images = torch.as_tensor(images, device=self.device)
        all_rows = rows is None or len(rows) == self.num
        index = None if all_rows else torch.as_tensor(list(rows), dtype=torch.long, device=self.device)
        new = images.mul(255.0).round().to(torch.uint8)  # quantised as styleenv.pixels.to_uint8 does
        if all_rows:
            self.moving = new
            terms = self.reward(new, self.targets)
        else:
            self.moving[index] = new[index]
            part = Targets([(m[index], s[index]) for m, s in self.targets.style_stats],
                           self.targets.content[index], self.targets.previous[index])  # fmt: skip
            terms = self.reward(new[index], part)
            self.targets.previous[index] = part.previous
        out = {k: v.double().cpu().numpy() for k, v in terms.items()}
        success = np.zeros_like(out["reward"], dtype=bool)
        if self.success_threshold is not None:
            success = out["style_loss"] < self.success_threshold
            out["reward"] = out["reward"] + self.success_bonus * success
        self.steps[list(range(self.num)) if all_rows else list(rows)] += 1
        return out | {"terminated": success, "is_success": success}

    def reset_info(self, row: int) -> dict[str, Any]:
        """The info of episode ``row`` at its start: ``step`` 0 and the names of its pair.

        :param row: the episode
        """
        return {"step": 0, **self._names(row)}

    def step_info(self, out: dict[str, np.ndarray], n: int, row: int) -> dict[str, Any]:
        """The info of episode ``row`` after a step: its losses, ``step``, ``is_success`` (with a
        threshold) and, with the content observed (v1), the names of its pair.

        :param out: what :meth:`step` returned
        :param n: the episode's position among the rows stepped
        :param row: the episode
        """
        info: dict[str, Any] = {k: float(out[k][n]) for k in ("style_loss", "content_loss", "content_loss_previous")}
        info["step"] = int(self.steps[row])
        if self.success_threshold is not None:
            info["is_success"] = bool(out["is_success"][n])
        if self.observe_content:
            info.update(self._names(row))
        return info

    def _names(self, row: int) -> dict[str, str]:
        content, style = self.names[row]
        return {"content_name": content, "style_name": style}

    def observation(self) -> dict[str, np.ndarray]:
        """Every episode's observation, numpy uint8 ``(N, 3, H, W)`` per key (copies)."""
        obs = {"moving": self.moving.cpu().numpy().copy(), "style": self.style.cpu().numpy().copy()}
        if self.observe_content:
            obs["content"] = self.content.cpu().numpy().copy()
        return obs

    def frame(self, row: int) -> np.ndarray:
        """Content | style | moving of one episode side by side, ``(H, 3W + 8, 3)`` uint8."""
        gap = np.full((self.image_size, 4, 3), 255, np.uint8)
        panels = [to_hwc(t[row].cpu().numpy()) for t in (self.content, self.style, self.moving)]
        return np.concatenate([panels[0], gap, panels[1], gap, panels[2]], axis=1)
