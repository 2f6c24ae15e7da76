"""One episode of an agent in the environment: :func:`rollout`, the one loop of the project.

The evaluation run, the held-back evaluation of training (:mod:`agents.sac.holdout`) and the
``demo`` command all roll out through it. An agent is any object with ``act(observation)``
and, optionally, ``reset(observation)`` (called with the first observation of the episode).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from styleenv.evaluation.metrics import capture_features, matching_features
from styleenv.vgg import LossNetwork


class ActionRefused(ValueError):
    """The env refused an agent's action (another shape, not a float image, NaN); its one-line message."""


class Probe(gym.Wrapper):
    """Innermost wrapper: keeps the env's own images and VGG features and times the env itself.

    Wrappers outside it (an agent's ``wrap_env``) may change what the agent sees and does; the
    probe sees the images the env made and measured, and how long the env took. An action the
    env refuses (its ``ValueError``) is an :class:`ActionRefused`.

    :param env: the env
    :param net: the env's loss network (its relu1_1..relu4_1 features of each step's image are kept)
    """

    def __init__(self, env: gym.Env, net: LossNetwork) -> None:
        super().__init__(env)
        self.net = net
        self.seconds = 0.0
        self.moving: np.ndarray | None = None
        self.features: list[torch.Tensor] | None = None

    def reset(self, **kwargs: Any):
        start = time.perf_counter()
        obs, info = self.env.reset(**kwargs)
        self.seconds = time.perf_counter() - start
        self.moving, self.features = obs["moving"], None
        return obs, info

    def step(self, action: Any):
        with capture_features(self.net) as calls:
            start = time.perf_counter()
            try:
                result = self.env.step(action)
            except ValueError as err:
                raise ActionRefused(str(err).splitlines()[0] if str(err) else type(err).__name__) from err
            self.seconds = time.perf_counter() - start
        self.moving = result[0]["moving"]
        self.features = matching_features(calls, self.moving)
        return result


@dataclass
class Episode:
    """One rollout.

    :param first: the observation after the reset (its moving image is the content)
    :param images: the moving image after each step, ``(3, H, W)`` uint8 (the probe's, where there is one)
    :param rewards: the reward of each step
    :param infos: the info of each step
    :param seconds: the agent's seconds for each step (step 1 includes its ``reset``; the env's
        own time is left out where a probe timed it)
    :param features: per step, the env's relu1_1..relu4_1 of the image (probed), else None
    """

    first: dict[str, np.ndarray]
    images: list[np.ndarray] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    infos: list[dict[str, Any]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    features: list[list[torch.Tensor] | None] = field(default_factory=list)


def rollout(
    env: gym.Env,
    agent: Any,
    steps: int,
    options: dict[str, Any] | None = None,
    seed: int | None = None,
    probe: Probe | None = None,
) -> Episode:
    """Roll ``agent`` for at most ``steps`` steps (fewer if the episode ends first).

    :param env: the env the agent acts in (a single env, possibly wrapped)
    :param agent: anything with ``act(observation)``; its ``reset(observation)`` is called if it has one
    :param steps: number of steps
    :param options: ``env.reset`` options, e.g. ``{"content": ..., "style": ...}`` to pin a pair
    :param seed: ``env.reset`` seed
    :param probe: the innermost :class:`Probe` of ``env``, if it has one
    :return: the episode
    """
    start = time.perf_counter()
    obs, _ = env.reset(seed=seed, options=options)
    reset = getattr(agent, "reset", None)
    if callable(reset):
        reset(obs)
    overhead = time.perf_counter() - start - (probe.seconds if probe else 0.0)
    episode = Episode(first=obs)
    for _ in range(steps):
        start = time.perf_counter()
        action = agent.act(obs)
        obs, reward, terminated, truncated, info = env.step(action)
        episode.seconds.append(time.perf_counter() - start - (probe.seconds if probe else 0.0) + overhead)
        overhead = 0.0
        episode.images.append(probe.moving if probe else obs["moving"])
        episode.features.append(probe.features if probe else None)
        episode.rewards.append(float(reward))
        episode.infos.append(info)
        if terminated or truncated:
            break
    return episode
