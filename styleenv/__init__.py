"""styleenv: arbitrary style transfer as a Gymnasium environment.

Importing the package registers ``styleenv/StyleTransfer-v0``. What lives here: the environment
(:mod:`styleenv.env`) and what it needs (loss network, losses, pixels, images, data, procedural
images, files, devices), pictures (:mod:`styleenv.visual`) and the evaluation of any agent on
it (:mod:`styleenv.evaluation`).

The bottom layer: it imports neither :mod:`agents` nor :mod:`styleenv_cli`. (``python -m
styleenv`` runs ``styleenv/__main__.py``, an entry shim into the application; the package
never imports it.)
"""

from gymnasium.envs.registration import register, registry

ENV_ID = "styleenv/StyleTransfer-v0"

if ENV_ID not in registry:
    register(id=ENV_ID, entry_point="styleenv.env:StyleTransferEnv", max_episode_steps=10)

__all__ = ["ENV_ID"]
__version__ = "0.1.0"
