"""Models as agents of :mod:`agents.protocol`: :class:`SB3Agent` (any stable-baselines3 model)
and :class:`StylizerAgent` (the RLMiniStyler actor + builder through :class:`agents.stylizer.Stylizer`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from agents.protocol import Observation, count_parameters, storage_bytes
from styleenv.pixels import chw_uint8_to_tensor


class SB3Agent:
    """A stable-baselines3 model as an agent: ``model.predict(observation, deterministic=True)``.

    For a model trained on a wrapped env (the project's SAC acts in a latent space that an
    action wrapper decodes into the next image), pass the wrapper: the rollout then steps
    ``env_wrapper(env)`` and the decoding counts as agent time. For the project's SAC::

        from stable_baselines3 import SAC
        from agents.sac.wrapper import LatentActionWrapper

        model = SAC.load("run/model.zip")
        actor, builder = model.policy.networks

        def latent(env):
            wrapped = LatentActionWrapper(env, bound=float(model.action_space.high.flat[0]))
            wrapped.bind(actor, builder)
            return wrapped

        agent = SB3Agent(model, env_wrapper=latent, modules=[actor, builder])

    (or export the actor and builder as a checkpoint and evaluate ``checkpoint:FILE``).

    :param model: a trained SB3 model (anything with ``predict``)
    :param env_wrapper: ``env -> wrapped env`` as used in training, or None
    :param deterministic: take the deterministic action
    :param modules: the networks that make the images, for the parameter and storage count
        (default: the policy's actor, or the whole policy)
    """

    def __init__(
        self,
        model: Any,
        env_wrapper: Callable[[gym.Env], gym.Env] | None = None,
        deterministic: bool = True,
        modules: Sequence[nn.Module] | None = None,
    ) -> None:
        self.model = model
        self.env_wrapper = env_wrapper
        self.deterministic = deterministic
        if modules is None:
            policy = getattr(model, "policy", None)
            actor = getattr(policy, "actor", None) or policy  # the part that acts, not the critics
            modules = [actor] if isinstance(actor, nn.Module) else []
        self.parameters = count_parameters(modules)
        self.storage_bytes = storage_bytes(modules)

    def wrap_env(self, env: gym.Env) -> gym.Env:
        """The env the model was trained on."""
        return self.env_wrapper(env) if self.env_wrapper is not None else env

    def act(self, observation: Any) -> np.ndarray:
        action, _ = self.model.predict(observation, deterministic=self.deterministic)
        return action


class StylizerAgent:
    """The RLMiniStyler actor + builder as an agent, one deterministic step per ``act``.

    The released model feeds each output back *unclamped*; the env only ever sees (and
    stores) images clamped to [0, 1] and quantised to uint8. To reproduce the release, this
    adapter keeps its own float state: at ``reset`` the content (the first moving image), then
    each unclamped output. The env's observation is only read at ``reset``, so the sequence is
    the release's, and the actions are that sequence clamped to [0, 1]. The style code is
    computed once per episode, at ``reset``.

    :param stylizer: an :class:`agents.stylizer.Stylizer`
    """

    def __init__(self, stylizer: Any) -> None:
        self.stylizer = stylizer
        self.parameters = count_parameters([stylizer.actor, stylizer.builder])
        self.storage_bytes = storage_bytes([stylizer.actor, stylizer.builder])
        self._code = None
        self._state: torch.Tensor | None = None  # (1, 3, H, W) float, unclamped

    def reset(self, observation: Observation) -> None:
        device = self.stylizer.device
        self._state = chw_uint8_to_tensor(observation["moving"], device)[None]  # (1, 3, H, W)
        self._code = self.stylizer.encode_style(chw_uint8_to_tensor(observation["style"])[None])

    def act(self, observation: Observation) -> np.ndarray:
        if self._state is None:
            self.reset(observation)
        _, out = next(iter(self.stylizer.steps(self._state, self._code, steps=1)))
        self._state = out.clone()
        return out[0].clamp(0.0, 1.0).cpu().numpy().astype(np.float32)  # (3, H, W)
