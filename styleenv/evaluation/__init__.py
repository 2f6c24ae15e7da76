"""Evaluating agents on the environment: the paper's Table 1 protocol, with pictures.

An agent is any object with ``act(observation)`` and, optionally, ``reset(observation)``,
``wrap_env(env)``, ``parameters`` and ``storage_bytes`` (the protocol is written down in
``agents/protocol.py``). The modules, each using only those before it:

- :mod:`~styleenv.evaluation.metrics`: :class:`PairMetrics` (content loss, style loss, SSIM)
  and the hook that reuses the env's own VGG pass;
- :mod:`~styleenv.evaluation.rollout`: :func:`rollout`, the one episode loop of the project;
- :mod:`~styleenv.evaluation.results`: ``rows.csv`` (read, write, complete episodes, means);
- :mod:`~styleenv.evaluation.report`: the markdown table, plots and contact sheets;
- :mod:`~styleenv.evaluation.run`: :func:`evaluate`, its :class:`Settings` and :class:`Result`.

Part of the environment package: it imports :mod:`styleenv` modules only, never the agents.
"""

from styleenv.evaluation.metrics import PairMetrics
from styleenv.evaluation.results import EvaluationError
from styleenv.evaluation.rollout import Episode, rollout
from styleenv.evaluation.run import Result, Settings, evaluate

__all__ = ["Episode", "EvaluationError", "PairMetrics", "Result", "Settings", "evaluate", "rollout"]
