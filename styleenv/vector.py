"""The batched vector env: N style-transfer episodes stepped with one VGG pass.

``gymnasium.make_vec("styleenv/StyleTransfer-v1", num_envs=N, vectorization_mode="vector_entry_point")``
(or ``-v0``) builds one. It is a :class:`gymnasium.vector.VectorEnv` whose episodes are those
of N single envs seeded ``seed, seed + 1, ...`` (same pairs, crops and rewards, up to float
rounding of the batched pass), with one loss network per process and the images kept as
tensors on the env's device. Autoreset follows Gymnasium: ``NEXT_STEP`` by default,
``SAME_STEP`` (what stable-baselines3 expects, see :mod:`agents.vec_env`) or ``DISABLED``.
"""

from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np
import torch
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from styleenv.data import ImageSource
from styleenv.devices import resolve_device
from styleenv.env import V1_CONTENT_WEIGHT, check_arguments
from styleenv.episodes import EpisodeBatch, check_options
from styleenv.reward import Reward
from styleenv.vgg import loss_network


def check_episode_steps(max_episode_steps: int | None) -> int | None:
    """The truncation length: ``None`` is the registered 10, ``-1`` none (returned as None)."""
    if max_episode_steps is None:
        return 10
    if max_episode_steps == -1:
        return None
    if isinstance(max_episode_steps, bool) or not isinstance(max_episode_steps, numbers.Integral) or max_episode_steps < 1:
        raise ValueError(f"max_episode_steps must be a positive int, -1 (no truncation) or None, got {max_episode_steps!r}")
    return int(max_episode_steps)


def is_seed(value: Any) -> bool:
    """Whether ``value`` is a Python int (not a bool), as Gymnasium requires of seeds."""
    return isinstance(value, int) and not isinstance(value, bool)


class StyleTransferVectorEnv(VectorEnv):
    """N episodes of :class:`styleenv.env.StyleTransferEnv` (v0) in one batch.

    Observations, rewards and infos are those of Gymnasium's vector envs: numpy arrays with
    a leading ``N`` axis, and infos as dicts of arrays with ``_key`` masks. Actions may be a
    numpy array or a torch tensor ``(N, 3, H, W)`` (on the env's device, it is not copied to
    the host).

    :param num_envs: number of episodes N
    :param max_episode_steps: episodes are truncated after this many steps; ``None`` means the
        registered 10 and ``-1`` no truncation (as ``gymnasium.make`` reads them)
    :param autoreset_mode: :class:`gymnasium.vector.AutoresetMode` (or its value)
    :param kwargs: the single env's arguments (``content``, ``style``, ``image_size``, ``load_size``,
        ``content_weight``, ``success_threshold``, ``success_bonus``, ``skip_bad_images``,
        ``vgg_weights``, ``device``, ``render_mode``)
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4, "autoreset_mode": AutoresetMode.NEXT_STEP}
    observe_content = False

    def __init__(
        self,
        num_envs: int = 1,
        content: Any = None,
        style: Any = None,
        image_size: int = 256,
        load_size: int | None = None,
        content_weight: float = 0.0,
        success_threshold: float | None = None,
        success_bonus: float = 0.0,
        skip_bad_images: bool = False,
        vgg_weights: str | os.PathLike | None = None,
        device: str | torch.device = "auto",
        render_mode: str | None = None,
        max_episode_steps: int | None = 10,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    ):
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        check_arguments(image_size, load_size, render_mode, self.metadata["render_modes"])
        self.num_envs = int(num_envs)
        self.max_episode_steps = check_episode_steps(max_episode_steps)
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        self.metadata = {**self.metadata, "autoreset_mode": self.autoreset_mode}
        self.render_mode = render_mode
        self.success_threshold = success_threshold
        self.device = resolve_device(device)
        self.net = loss_network(self.device, vgg_weights)
        self.batch = EpisodeBatch(
            self.num_envs,
            ImageSource(content, kind="content", skip_bad_images=skip_bad_images),
            ImageSource(style, kind="style", skip_bad_images=skip_bad_images),
            int(image_size),
            int(load_size or 2 * image_size),
            Reward(self.net, content_weight),
            self.observe_content,
            success_threshold,
            success_bonus,
        )
        self.single_observation_space, self.single_action_space = self.batch.single_spaces()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._rngs: list[np.random.Generator | None] = [None] * self.num_envs
        self._done = np.zeros(self.num_envs, bool)  # episodes that ended on the last step
        self._started = False

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        """Start every episode (or those of ``options["reset_mask"]``).

        :param seed: ``int`` seeds the episodes ``seed, seed + 1, ...``; a list seeds each
        :param options: ``{"content": ..., "style": ...}`` pins a pair in every episode started;
            ``reset_mask``: a bool ``(N,)`` array of the episodes to start
        """
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        check_options(options)  # before seeding: a refused reset leaves the random streams as they were
        seeds = self._seeds(seed)
        if mask is None:
            rows = list(range(self.num_envs))
        else:
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != np.bool_ or not mask.any():
                raise ValueError(f"options['reset_mask'] must be a bool array of shape ({self.num_envs},) with a True")
            rows = [int(i) for i in np.flatnonzero(mask)]
        if is_seed(seed):
            self._np_random, self._np_random_seed = seeding.np_random(seed)
        for i in rows:
            if seeds[i] is not None or self._rngs[i] is None:
                self._rngs[i] = seeding.np_random(seeds[i])[0]
        self._start(rows, options)
        self._done[rows] = False
        self._started = True
        infos: dict[str, Any] = {}
        for i in rows:
            infos = self._add_info(infos, self.batch.reset_info(i), i)
        return self.batch.observation(), infos

    def step(self, actions: Any):
        """One step of every episode: one batched VGG pass for those that step."""
        if not self._started:
            raise RuntimeError("call reset() before step()")
        if self.autoreset_mode == AutoresetMode.DISABLED and self._done.any():
            raise RuntimeError(f"episodes {np.flatnonzero(self._done).tolist()} ended: reset them (autoreset is disabled)")
        restart = np.flatnonzero(self._done).tolist() if self.autoreset_mode == AutoresetMode.NEXT_STEP else []
        rows = [i for i in range(self.num_envs) if i not in set(restart)]
        rewards = np.zeros(self.num_envs, np.float64)
        terminated = np.zeros(self.num_envs, bool)
        truncated = np.zeros(self.num_envs, bool)
        stepped: dict[int, dict[str, Any]] = {}
        if rows:
            out = self.batch.step(actions, rows)
            rewards[rows], terminated[rows] = out["reward"], out["terminated"]
            if self.max_episode_steps is not None:
                truncated[rows] = self.batch.steps[rows] >= self.max_episode_steps
            stepped = {i: self.batch.step_info(out, n, i) for n, i in enumerate(rows)}
        self._done = terminated | truncated
        ended = np.flatnonzero(self._done).tolist() if self.autoreset_mode == AutoresetMode.SAME_STEP else []
        infos: dict[str, Any] = {}
        if ended:  # the episodes' last observation and info go in final_obs and final_info
            final = self.batch.observation()
            for i in ended:
                infos = self._add_info(infos, {"final_obs": {k: v[i] for k, v in final.items()}, "final_info": stepped.pop(i)}, i)
            restart += ended
            self._done[:] = False
        for i, info in stepped.items():
            infos = self._add_info(infos, info, i)
        if restart:
            self._start(restart, None)
            for i in restart:
                infos = self._add_info(infos, self.batch.reset_info(i), i)
        return self.batch.observation(), rewards, terminated, truncated, infos

    def render(self) -> tuple[np.ndarray, ...] | None:
        """Per episode, content | style | moving side by side (``render_mode="rgb_array"``)."""
        if self.render_mode != "rgb_array" or not self._started:
            return None
        return tuple(self.batch.frame(i) for i in range(self.num_envs))

    def _seeds(self, seed: Any) -> list[int | None]:
        """One seed (or None) per episode from ``reset``'s ``seed``."""
        if seed is None:
            return [None] * self.num_envs
        if is_seed(seed):
            return [seed + i for i in range(self.num_envs)]
        if isinstance(seed, (list, tuple)) and len(seed) == self.num_envs and all(s is None or is_seed(s) for s in seed):
            return list(seed)
        raise ValueError(f"seed must be a Python int, None or a list of num_envs={self.num_envs} ints or None, got {seed!r}")

    def _start(self, rows: list[int], options: dict[str, Any] | None) -> None:
        self.batch.start(rows, [self._rngs[i] for i in rows], options)


class StyleTransferV1VectorEnv(StyleTransferVectorEnv):
    """N episodes of :class:`styleenv.env.StyleTransferV1Env` (content observed, content term
    in the reward, default weight :data:`styleenv.env.V1_CONTENT_WEIGHT`) in one batch."""

    observe_content = True

    def __init__(self, num_envs: int = 1, *args: Any, content_weight: float = V1_CONTENT_WEIGHT, **kwargs: Any):
        super().__init__(num_envs, *args, content_weight=content_weight, **kwargs)
