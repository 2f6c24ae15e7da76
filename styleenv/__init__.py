"""styleenv: arbitrary style transfer as a Gymnasium environment.

Importing the package registers ``styleenv/StyleTransfer-v0``.
"""

from gymnasium.envs.registration import register, registry

ENV_ID = "styleenv/StyleTransfer-v0"

if ENV_ID not in registry:
    register(id=ENV_ID, entry_point="styleenv.env:StyleTransferEnv", max_episode_steps=10)

__all__ = ["ENV_ID"]
__version__ = "0.1.0"
