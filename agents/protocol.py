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

Adapters of models to this protocol are in :mod:`agents.adapters`; :mod:`agents.factory`
builds agents from command-line specs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

import numpy as np
from torch import nn

Observation = dict[str, np.ndarray]


@runtime_checkable
class Agent(Protocol):
    """The one required method: the next moving image from an observation."""

    def act(self, observation: Any) -> np.ndarray: ...


def count_parameters(modules: Iterable[nn.Module]) -> int:
    """Number of parameters of ``modules`` (each tensor counted once)."""
    seen = {id(p): p for m in modules for p in m.parameters()}
    return int(sum(p.numel() for p in seen.values()))


def storage_bytes(modules: Iterable[nn.Module]) -> int:
    """Bytes of the weights of ``modules`` (parameters and buffers, at their dtypes), each tensor once."""
    seen = {id(t): t for m in modules for t in (*m.parameters(), *m.buffers())}
    return int(sum(t.numel() * t.element_size() for t in seen.values()))
