"""RLMiniStyler trained with stable-baselines3's SAC.

SB3's SAC runs unchanged; the project plugs in through SB3's extension points:
:class:`~agents.sac.policy.StylePolicy` (latent actor, twin critic, builder),
:class:`~agents.sac.wrapper.LatentActionWrapper` (latent action -> image env; its vector-env
counterpart :class:`~agents.sac.wrapper.LatentActionVectorWrapper` builds N images in one call),
:class:`~agents.sac.buffer.StyleReplayBuffer` (uint8 images, one copy of each style) and the
callbacks of :mod:`agents.sac.callbacks` (generative learning, pictures) and
:mod:`agents.sac.checkpoints` (checkpoints, and reading them back on resume).
:mod:`agents.sac.trainer` puts a run together from a :mod:`agents.sac.config`;
:mod:`agents.sac.holdout` holds back evaluation pairs and evaluates the policy on them.

Imports :mod:`stable_baselines3`, the rest of :mod:`agents` and :mod:`styleenv`; never :mod:`styleenv_cli`.
"""

from agents.sac.buffer import StyleReplayBuffer
from agents.sac.config import ConfigError, TrainConfig, load_config, parse_set
from agents.sac.policy import DEFAULT_TARGET_ENTROPY, DelayedAdam, LatentActor, LatentCritic, StylePolicy
from agents.sac.wrapper import LatentActionVectorWrapper, LatentActionWrapper, bind_env, latent_space

__all__ = [
    "DEFAULT_TARGET_ENTROPY",
    "ConfigError",
    "DelayedAdam",
    "LatentActionVectorWrapper",
    "LatentActionWrapper",
    "LatentActor",
    "LatentCritic",
    "StylePolicy",
    "StyleReplayBuffer",
    "TrainConfig",
    "bind_env",
    "latent_space",
    "load_config",
    "parse_set",
]
