"""agents: the RLMiniStyler agent and everything that acts in the environment.

What lives here: the networks (:mod:`agents.networks`), the released weights
(:mod:`agents.release`) and the shipped checkpoint (:mod:`agents.default`), the stylizer
(:mod:`agents.stylizer`), the agent protocol (:mod:`agents.protocol`), adapters of models to it
(:mod:`agents.adapters`) and agents from command-line specs (:mod:`agents.factory`), the
baselines, the agent's training losses (:mod:`agents.losses`) and the stable-baselines3 glue
(:mod:`agents.sac`).

The middle layer: it may import :mod:`styleenv` (the environment), never :mod:`styleenv_cli`.
"""
