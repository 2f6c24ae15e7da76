"""stable-baselines3 on a Gymnasium vector env: :class:`GymnasiumVecEnv`.

SB3 steps its own :class:`~stable_baselines3.common.vec_env.VecEnv` API (same-step autoreset,
``terminal_observation`` in the infos, seeds set before ``reset``). This adapter gives that API
to a :class:`gymnasium.vector.VectorEnv` built with ``autoreset_mode="SameStep"``, such as the
batched style-transfer env::

    import gymnasium as gym
    from stable_baselines3 import SAC

    import styleenv
    from agents.vec_env import GymnasiumVecEnv

    venv = GymnasiumVecEnv(gym.make_vec(styleenv.ENV_ID_V1, num_envs=8, vectorization_mode="vector_entry_point",
                                        image_size=64, autoreset_mode="SameStep"))
    model = SAC("MultiInputPolicy", venv, buffer_size=1_000)  # SB3's CNNs need image_size >= 36
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices


class GymnasiumVecEnv(VecEnv):
    """A same-step-autoreset Gymnasium vector env as an SB3 ``VecEnv``.

    Reset options (SB3's ``set_options``, one dict per env) reach each env. Envs that share one
    options dict (``set_options(dict)`` gives them all one) are reset together: the envs of env
    0's dict in one call that resets every env (Gymnasium's vector envs must be reset whole
    first), then each other group again with its own options and ``options["reset_mask"]``,
    which Gymnasium's sync and async vector envs and styleenv's batched one take.

    :param env: the vector env (``metadata["autoreset_mode"]`` must be ``SAME_STEP``)
    :raises ValueError: another autoreset mode
    """

    def __init__(self, env: VectorEnv) -> None:
        mode = env.metadata.get("autoreset_mode")
        if mode != AutoresetMode.SAME_STEP:
            raise ValueError(f"SB3 needs same-step autoreset: build the vector env with autoreset_mode='SameStep' (it has {mode})")
        self.env = env
        self.render_mode = getattr(env, "render_mode", None)
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)
        self._actions: np.ndarray | None = None

    def reset(self) -> Any:
        seeds = self._seeds if any(s is not None for s in self._seeds) else None
        groups: dict[int | None, list[int]] = {}  # by identity: options may hold arrays, whose == is no bool
        for i, options in enumerate(self._options):
            groups.setdefault(id(options) if options else None, []).append(i)
        first, *others = groups.values()
        obs, infos = self.env.reset(seed=seeds, options=self._options[first[0]] or None)
        self.reset_infos = self._split(infos)
        for rows in others:
            mask = np.isin(np.arange(self.num_envs), rows)
            obs, infos = self.env.reset(seed=seeds, options={**self._options[rows[0]], "reset_mask": mask})
            split = self._split(infos)
            for i in rows:
                self.reset_infos[i] = split[i]
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> Any:
        obs, rewards, terminated, truncated, infos = self.env.step(self._actions)
        dones = terminated | truncated
        out = self._split(infos)
        for i in np.flatnonzero(dones):
            final = infos["final_info"]
            own = {k: v[i] for k, v in final.items() if not k.startswith("_") and final[f"_{k}"][i]}
            self.reset_infos[i] = out[i]
            out[i] = own | {"terminal_observation": infos["final_obs"][i],
                            "TimeLimit.truncated": bool(truncated[i] and not terminated[i])}  # fmt: skip
        return obs, rewards.astype(np.float32), dones, out

    def _split(self, infos: dict[str, Any]) -> list[dict[str, Any]]:
        """Gymnasium's dict of arrays -> one dict per env (``final_*`` left out)."""
        out: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for key, values in infos.items():
            if key.startswith("_") or key in ("final_obs", "final_info"):
                continue
            for i in np.flatnonzero(infos[f"_{key}"]):
                out[i][key] = values[i]
        return out

    def close(self) -> None:
        self.env.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        frames = self.env.render()
        return list(frames) if frames is not None else [None] * self.num_envs

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self.env, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.env, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any) -> list[Any]:
        result = getattr(self.env, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]
