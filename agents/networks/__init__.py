"""The RLMiniStyler networks: actor (encoder + modulator + action head), builder and critic.

Layout as published (see ``agents.release`` for loading the released weights); sizes
``H``, ``W`` must be multiples of 4 (:class:`agents.stylizer.Stylizer` pads to that).

Plain torch modules: they import only :mod:`styleenv.ops` (AdaIN) beside torch.
"""

from agents.networks.actor import Actor, ActionHead, action_log_prob, log_density, sample_action
from agents.networks.blocks import Conv, ModulatedPointwise, PooledHead, ResBlock
from agents.networks.builder import Builder, UpBlock
from agents.networks.critic import QNet, TwinCritic
from agents.networks.encoder import Encoder, StyleCode, StyleFeatures, StyleTargets

ACTOR_PARAMETERS = 217_312
BUILDER_PARAMETERS = 153_843

__all__ = [
    "ACTOR_PARAMETERS",
    "BUILDER_PARAMETERS",
    "ActionHead",
    "Actor",
    "Builder",
    "Conv",
    "Encoder",
    "ModulatedPointwise",
    "PooledHead",
    "QNet",
    "ResBlock",
    "StyleCode",
    "StyleFeatures",
    "StyleTargets",
    "TwinCritic",
    "UpBlock",
    "action_log_prob",
    "log_density",
    "sample_action",
]
