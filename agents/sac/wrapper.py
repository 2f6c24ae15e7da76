"""A gymnasium wrapper that lets a latent action drive the image-action environment.

:class:`styleenv.env.StyleTransferEnv` takes the next moving image as its action. The agent
acts in the builder's latent space instead; this wrapper turns a latent into the image with
the policy's builder (and the style code of the observation's style image, from the policy's
actor) and passes it on.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces

from agents.networks import Actor, Builder, StyleCode
from styleenv.pixels import chw_uint8_to_tensor

LATENT_CHANNELS = 64


def latent_space(image_size: int, bound: float = 2.0) -> spaces.Box:
    """The latent action Box ``(64, H/4, W/4)`` in ``[-bound, bound]`` for ``H = W = image_size``.

    :param image_size: side of the env's images (a multiple of 4)
    :param bound: range of SB3's warm-up samples (the latent itself is not clipped)
    """
    if image_size % 4:
        raise ValueError(f"image_size must be a multiple of 4 for the latent action, got {image_size}")
    side = image_size // 4
    return spaces.Box(-bound, bound, (LATENT_CHANNELS, side, side), np.float32)


class LatentActionWrapper(gym.Wrapper):
    """Action = latent ``(64, H/4, W/4)``; the builder makes the next image from it.

    The wrapper holds no networks of its own: :meth:`bind` gives it the policy's actor (for the
    style code, recomputed from the observation's style image under ``no_grad`` with the
    current weights) and the builder. The built image is clamped to [0, 1] (the env
    quantises it to uint8). The image of the last step is kept as ``last_image`` (float, CHW).

    :param env: a :class:`~styleenv.env.StyleTransferEnv` (possibly wrapped)
    :param bound: range of the latent Box (see :func:`latent_space`)
    """

    def __init__(self, env: gym.Env, bound: float = 2.0) -> None:
        super().__init__(env)
        self.action_space = latent_space(env.observation_space["moving"].shape[-1], bound)
        self._actor: Actor | None = None
        self._builder: Builder | None = None
        self._style: np.ndarray | None = None
        self.last_image: np.ndarray | None = None

    def bind(self, actor: Actor, builder: Builder) -> None:
        """Use these networks (shared with the policy, so they follow its training).

        :param actor: the release actor (its ``encode_style``)
        :param builder: the builder
        """
        self._actor, self._builder = actor, builder

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        self._style = obs["style"]
        return obs, info

    def step(self, action: np.ndarray):
        image = self.build(action)
        self.last_image = image
        obs, reward, terminated, truncated, info = self.env.step(image)
        self._style = obs["style"]
        return obs, reward, terminated, truncated, info

    def build(self, action: np.ndarray) -> np.ndarray:
        """The image a latent makes with the current style: ``(3, H, W)`` float32 in [0, 1].

        :param action: ``(64, H/4, W/4)`` latent
        """
        if self._actor is None or self._builder is None:
            raise RuntimeError("LatentActionWrapper.bind(actor, builder) must be called before step()")
        if self._style is None:
            raise RuntimeError("call reset() before step()")
        latent = np.asarray(action, dtype=np.float32)
        if latent.shape != self.action_space.shape:
            raise ValueError(f"latent action must have shape {self.action_space.shape}, got {latent.shape}")
        device = next(self._builder.parameters()).device
        with th.no_grad():
            code = self._style_code(device)
            a = th.from_numpy(latent).to(device)[None]  # (1, 64, H/4, W/4)
            image = self._builder(a, code)[0].clamp_(0.0, 1.0)  # (3, H, W)
        return image.cpu().numpy()

    def _style_code(self, device: th.device) -> StyleCode:
        # recomputed at every step: the actor's weights change between steps during training,
        # and one style encoding costs far less than the env's VGG pass
        style = chw_uint8_to_tensor(self._style, device)[None]  # (1, 3, H, W)
        return self._actor.encode_style(style)


def latent_wrappers(vec_env: Any) -> list[LatentActionWrapper]:
    """Every :class:`LatentActionWrapper` inside a (Dummy)VecEnv or a single env."""
    envs = getattr(vec_env, "envs", [vec_env])
    found = []
    for env in envs:
        while isinstance(env, gym.Wrapper):
            if isinstance(env, LatentActionWrapper):
                found.append(env)
                break
            env = env.env
    return found


def bind_env(vec_env: Any, actor: Actor, builder: Builder) -> None:
    """Bind every latent wrapper of ``vec_env`` to the networks.

    :raises ValueError: no :class:`LatentActionWrapper` found
    """
    wrappers = latent_wrappers(vec_env)
    if not wrappers:
        raise ValueError("the environment has no LatentActionWrapper")
    for w in wrappers:
        w.bind(actor, builder)
