"""styleenv: arbitrary style transfer as a Gymnasium environment.

Importing the package registers ``styleenv/StyleTransfer-v0`` (the paper's setting: reward
minus the style loss) and ``styleenv/StyleTransfer-v1`` (the content image observed, a content
term in the reward), each with a batched vector entry point (:mod:`styleenv.vector`:
``gymnasium.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point")``). What lives
here: the environment (:mod:`styleenv.env`, :mod:`styleenv.vector`) and what it needs (loss network, losses, pixels, images, data, procedural
images, files, devices), pictures (:mod:`styleenv.visual`) and the evaluation of any agent on
it (:mod:`styleenv.evaluation`).

The bottom layer: it imports neither :mod:`agents` nor :mod:`styleenv_cli`. (``python -m
styleenv`` runs ``styleenv/__main__.py``, an entry shim into the application; the package
never imports it.)
"""

import warnings

from gymnasium.envs.registration import register, registry

from styleenv.devices import one_thread_after_fork

ENV_ID = "styleenv/StyleTransfer-v0"
ENV_ID_V1 = "styleenv/StyleTransfer-v1"

for _id, _single, _vector in (
    (ENV_ID, "styleenv.env:StyleTransferEnv", "styleenv.vector:StyleTransferVectorEnv"),
    (ENV_ID_V1, "styleenv.env:StyleTransferV1Env", "styleenv.vector:StyleTransferV1VectorEnv"),
):
    if _id not in registry:
        register(id=_id, entry_point=_single, vector_entry_point=_vector, max_episode_steps=10)

# Gymnasium calls every version below the highest "out of date"; v0 is the paper's setting, not a
# deprecated v1, so that one message (about v0 alone) is not shown.
warnings.filterwarnings("ignore", message=r".*The environment styleenv/StyleTransfer-v0 is out of date",
                        category=DeprecationWarning)

one_thread_after_fork()  # so that AsyncVectorEnv workers forked after torch has run do not hang

__all__ = ["ENV_ID", "ENV_ID_V1"]
__version__ = "0.1.0"
