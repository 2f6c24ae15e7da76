"""What the evaluation (and anything else that rolls out episodes) expects of an agent.

An agent is any object with ``act(observation) -> action``: the observation is the env's
``{"moving": (3, H, W) uint8, "style": (3, H, W) uint8}`` dict (or whatever a wrapped env
returns, see below) and the action the next moving image, ``(3, H, W)`` float in [0, 1].
Optional members:

- ``reset(observation)``: called with the first observation of every episode (the moving
  image is then the original content);
- ``parameters`` and ``storage_bytes``: the model size, reported in the evaluation table
  (:func:`count_parameters` and :func:`storage_bytes` compute them for a set of modules);
- ``wrap_env(env) -> env``: for agents trained on a wrapped env (e.g. an SB3 policy whose
  action is a latent that a wrapper decodes into an image). The rollout steps the returned
  env and gives the agent its observations; metrics are still taken on the inner env's
  images, and the wrapper's own compute time counts as the agent's.

Adapters: :class:`SB3Agent` (any stable-baselines3 model) and :class:`StylizerAgent`
(the RLMiniStyler actor + builder through :class:`agents.stylizer.Stylizer`).
:func:`make_agent` builds agents from command-line specs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
import torch
from torch import nn

Observation = dict[str, np.ndarray]

#: Agent specs accepted by :func:`make_agent` (for messages).
AGENT_SPECS = "identity, adain, colour, ours, release[:DIR], checkpoint:FILE"

#: Environment variable naming the folder of the released weights, for the bare ``release`` spec.
RELEASE_DIR_ENV = "STYLEENV_RELEASE_DIR"


@runtime_checkable
class Agent(Protocol):
    """The one required method: the next moving image from an observation."""

    def act(self, observation: Any) -> np.ndarray: ...


def reset_agent(agent: Agent, observation: Any) -> None:
    """Call ``agent.reset(observation)`` if the agent has one."""
    reset = getattr(agent, "reset", None)
    if callable(reset):
        reset(observation)


def count_parameters(modules: Iterable[nn.Module]) -> int:
    """Number of parameters of ``modules`` (each tensor counted once)."""
    seen = {id(p): p for m in modules for p in m.parameters()}
    return int(sum(p.numel() for p in seen.values()))


def storage_bytes(modules: Iterable[nn.Module]) -> int:
    """Bytes of the weights of ``modules`` (parameters and buffers, at their dtypes), each tensor once."""
    seen = {id(t): t for m in modules for t in (*m.parameters(), *m.buffers())}
    return int(sum(t.numel() * t.element_size() for t in seen.values()))


def agent_size(agent: Any) -> tuple[int, int]:
    """``(parameters, storage_bytes)`` of an agent (0 where it does not say)."""
    return int(getattr(agent, "parameters", 0) or 0), int(getattr(agent, "storage_bytes", 0) or 0)


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
        self._state = torch.from_numpy(observation["moving"]).to(device, torch.float32)[None] / 255.0
        self._code = self.stylizer.encode_style(torch.from_numpy(observation["style"]).float()[None] / 255.0)

    def act(self, observation: Observation) -> np.ndarray:
        if self._state is None:
            self.reset(observation)
        _, out = next(iter(self.stylizer.steps(self._state, self._code, steps=1)))
        self._state = out.clone()
        return out[0].clamp(0.0, 1.0).cpu().numpy().astype(np.float32)  # (3, H, W)


class AgentSpecError(ValueError):
    """A bad agent spec (unknown name, missing folder or file, unreadable weights); one line."""


def make_agent(spec: str, steps: int = 10, device: str | torch.device = "cpu") -> tuple[str, Agent]:
    """An agent from a command-line spec, with the name it is reported under.

    - ``identity``: returns the moving image unchanged;
    - ``adain``: AdaIN at strength k/N on step k (:class:`agents.baselines.AdaINAgent`);
    - ``colour``: colour statistics transfer at strength k/N (:class:`agents.colour_transfer.ColourTransferAgent`);
    - ``ours``: the project's own trained checkpoint, shipped with the package (:mod:`agents.default`);
    - ``release`` or ``release:DIR``: the released RLMiniStyler weights (folder with
      ``actor.pth.tar`` and ``builder.pth.tar``; bare ``release`` reads ``$STYLEENV_RELEASE_DIR``);
    - ``checkpoint:FILE``: a checkpoint of ours (:func:`agents.release.save_checkpoint`),
      reported as ``ckpt-<file stem>``.

    :param spec: the spec
    :param steps: episode length (the baselines reach full strength at the last step)
    :param device: torch device for the networks
    :raises AgentSpecError: with a one-line reason
    """
    kind, _, arg = spec.partition(":")
    if kind == "identity" and not arg:
        from agents.baselines import IdentityAgent

        return "identity", IdentityAgent()
    if kind == "adain" and not arg:
        from agents.baselines import AdaINAgent

        try:
            return "adain", AdaINAgent(steps=steps, device=device)
        except FileNotFoundError as err:  # styleenv.weights.WeightsError
            raise AgentSpecError(f"adain: {str(err).splitlines()[0]}") from None
    if kind == "colour" and not arg:
        from agents.colour_transfer import ColourTransferAgent

        return "colour", ColourTransferAgent(steps)
    if kind in ("release", "checkpoint") or spec == "ours":
        from agents.release import CheckpointError
        from agents.stylizer import Stylizer

        if spec == "ours":
            name, load = "ours", lambda: Stylizer.default(device)
        elif kind == "release":
            folder = arg or os.environ.get(RELEASE_DIR_ENV)
            if not folder:
                raise AgentSpecError(f"'release' needs a folder: release:DIR (or set {RELEASE_DIR_ENV})")
            if not Path(folder).is_dir():
                raise AgentSpecError(f"release: folder {folder} does not exist")
            name, load = "release", lambda: Stylizer.from_release(folder, device)
        else:
            if not arg:
                raise AgentSpecError("'checkpoint' needs a file: checkpoint:FILE")
            if not Path(arg).is_file():
                raise AgentSpecError(f"checkpoint: file {arg} does not exist")
            name, load = f"ckpt-{Path(arg).stem}", lambda: Stylizer.from_checkpoint(arg, device)
        try:
            return name, StylizerAgent(load())
        except CheckpointError as err:
            raise AgentSpecError(str(err).splitlines()[0]) from None
    raise AgentSpecError(f"unknown agent {spec!r}; choose from {AGENT_SPECS}")
