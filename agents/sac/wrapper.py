"""Gymnasium wrappers that let a latent action drive the image-action environments.

:class:`styleenv.env.StyleTransferEnv` (and the batched :class:`styleenv.vector.StyleTransferVectorEnv`)
take the next moving image as their action. The agent acts in the builder's latent space
instead; these wrappers turn latents into images with the policy's builder (and the style code
of the observation's style image, from the policy's actor) and pass them on:
:class:`LatentActionWrapper` for a single env, :class:`LatentActionVectorWrapper` for the vector
env (one builder call for all N images, which stay on the builder's device). Both build through
one :class:`LatentImages`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces
from gymnasium.vector import VectorEnv, VectorWrapper
from gymnasium.vector.utils import batch_space

from agents.networks import Actor, Builder
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


class LatentImages:
    """Latents and style images -> the builder's images, with the networks bound later.

    The style code is recomputed from the style images at every call, under ``no_grad`` with the
    current weights: the actor's weights change between steps during training, and one style
    encoding costs far less than the env's VGG pass. The images are clamped to [0, 1].

    :param owner: the wrapper's name, for the error raised before :meth:`bind`
    """

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.actor: Actor | None = None
        self.builder: Builder | None = None

    def bind(self, actor: Actor, builder: Builder) -> None:
        """Use these networks (shared with the policy, so they follow its training).

        :param actor: the release actor (its ``encode_style``)
        :param builder: the builder
        """
        self.actor, self.builder = actor, builder

    def __call__(self, latents: np.ndarray, styles: np.ndarray | None) -> th.Tensor:
        """The images of N latents: ``(N, 3, H, W)`` float32 in [0, 1] on the builder's device.

        :param latents: ``(N, 64, H/4, W/4)`` float32
        :param styles: ``(N, 3, H, W)`` uint8 style images, one per latent (``None`` before a reset)
        :raises RuntimeError: networks not bound, or no style yet
        """
        if self.actor is None or self.builder is None:
            raise RuntimeError(f"{self.owner}.bind(actor, builder) must be called before step()")
        if styles is None:
            raise RuntimeError("call reset() before step()")
        device = next(self.builder.parameters()).device
        with th.no_grad():
            code = self.actor.encode_style(chw_uint8_to_tensor(styles, device))  # from (N, 3, H, W)
            return self.builder(th.from_numpy(latents).to(device), code).clamp_(0.0, 1.0)  # (N, 3, H, W)


def check_latent(action: Any, space: spaces.Box) -> np.ndarray:
    """A latent action (or a batch of them) as float32 of ``space``'s shape, or a one-line ``ValueError``."""
    latent = np.asarray(action, dtype=np.float32)
    if latent.shape != space.shape:
        raise ValueError(f"latent action must have shape {space.shape}, got {latent.shape}")
    return latent


class LatentActions:
    """What both latent wrappers share: the networks they build with (:class:`LatentImages`) and
    the style images of the last observation (``_style``), which the next step builds with."""

    images: LatentImages
    _style: np.ndarray | None

    def bind(self, actor: Actor, builder: Builder) -> None:
        """Use these networks (see :meth:`LatentImages.bind`)."""
        self.images.bind(actor, builder)

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        self._style = obs["style"]
        return obs, info


class LatentActionWrapper(LatentActions, gym.Wrapper):
    """Action = latent ``(64, H/4, W/4)``; the builder makes the next image from it.

    The wrapper holds no networks of its own: :meth:`bind` gives it the policy's actor (for the
    style code of the observation's style image) and the builder (:class:`LatentImages`). The env
    quantises the built image to uint8. The image of the last step is kept as ``last_image``
    (float, CHW).

    :param env: a :class:`~styleenv.env.StyleTransferEnv` (possibly wrapped)
    :param bound: range of the latent Box (see :func:`latent_space`)
    """

    def __init__(self, env: gym.Env, bound: float = 2.0) -> None:
        super().__init__(env)
        self.action_space = latent_space(env.observation_space["moving"].shape[-1], bound)
        self.images = LatentImages(type(self).__name__)
        self._style: np.ndarray | None = None
        self.last_image: np.ndarray | None = None

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
        latent = check_latent(action, self.action_space)
        style = None if self._style is None else self._style[None]
        return self.images(latent[None], style)[0].cpu().numpy()


class LatentActionVectorWrapper(LatentActions, VectorWrapper):
    """The vector env's :class:`LatentActionWrapper`: actions are N latents ``(N, 64, H/4, W/4)``.

    One builder call makes the N next images, which go to the env as a tensor on the builder's
    device (the vector env takes them there without a host round trip). With same-step autoreset
    the style kept for the next step is that of the episode just started.

    :param env: a :class:`~styleenv.vector.StyleTransferVectorEnv` (possibly wrapped)
    :param bound: range of the latent Box (see :func:`latent_space`)
    """

    def __init__(self, env: VectorEnv, bound: float = 2.0) -> None:
        super().__init__(env)
        self.single_action_space = latent_space(env.single_observation_space["moving"].shape[-1], bound)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.images = LatentImages(type(self).__name__)
        self._style: np.ndarray | None = None

    def step(self, actions: np.ndarray):
        obs, rewards, terminated, truncated, infos = self.env.step(self.build(actions))
        self._style = obs["style"]
        return obs, rewards, terminated, truncated, infos

    def build(self, actions: np.ndarray) -> th.Tensor:
        """The images N latents make with the current styles: ``(N, 3, H, W)`` float32 in [0, 1].

        :param actions: ``(N, 64, H/4, W/4)`` latents
        """
        return self.images(check_latent(actions, self.action_space), self._style)


def latent_wrappers(env: Any) -> list[LatentActions]:
    """Every latent wrapper inside an env: a single env, a DummyVecEnv, or an SB3 VecEnv (wrappers
    included) over a Gymnasium vector env (:class:`agents.vec_env.GymnasiumVecEnv`)."""
    if isinstance(env, LatentActions):
        return [env]
    if hasattr(env, "envs"):  # DummyVecEnv
        return [w for e in env.envs for w in latent_wrappers(e)]
    for name in ("venv", "env"):  # an SB3 VecEnvWrapper, the Gymnasium adapter, a wrapper
        inner = getattr(env, name, None)
        if inner is not None:
            return latent_wrappers(inner)
    return []


def bind_env(env: Any, actor: Actor, builder: Builder) -> None:
    """Bind every latent wrapper of ``env`` to the networks.

    :raises ValueError: no latent wrapper found
    """
    wrappers = latent_wrappers(env)
    if not wrappers:
        raise ValueError("the environment has no LatentActionWrapper")
    for w in wrappers:
        w.bind(actor, builder)
