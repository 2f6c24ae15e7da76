"""A replay buffer for ``Dict(moving, style)`` image observations that stores each style once.

SB3's ``DictReplayBuffer`` keeps ``obs`` and ``next_obs`` for every key: four 8-bit images per
transition, two of them the (unchanging) style. Here a transition holds the moving image, the
next moving image, the latent action (float16 by default), reward, done and timeout, plus the
index of a *style slot*; a style image is written to a slot once per run of transitions that
share it (an episode). At 256 px with 5,000 transitions that is ~2 GB of images and ~2.6 GB of
float16 latents instead of ~4 GB of images and 5.2 GB of float32 latents.

On a GPU whose free memory holds them, the images and latents live in GPU memory (``on_device``):
a batch is then gathered there, with no copy through the host (at 256 px a batch of 8 is about
6 MB of images and latents, sampled twice per env step).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.type_aliases import DictReplayBufferSamples
from stable_baselines3.common.vec_env import VecNormalize

FLOAT16_MAX = 65000.0
TORCH_DTYPES = {np.dtype(np.uint8): th.uint8, np.dtype(np.float16): th.float16, np.dtype(np.float32): th.float32}


class StyleReplayBuffer(ReplayBuffer):
    """Replay buffer with deduplicated style images and compact latent actions.

    Sampling returns SB3's :class:`DictReplayBufferSamples` (uint8 image tensors, float32
    actions), so SB3's ``SAC.train`` uses it unchanged. :meth:`sample_images` serves the
    generative update (moving and style images plus a key identifying each style image, for
    caching per-style statistics).

    :param buffer_size: transitions kept in all (``buffer_size // n_envs`` per env)
    :param observation_space: ``Dict(moving, style)`` of uint8 ``(3, H, W)`` images
    :param action_space: the latent Box
    :param device: where sampled tensors go
    :param n_envs: parallel envs
    :param optimize_memory_usage: unsupported (must be False); styles are deduplicated anyway
    :param handle_timeout_termination: treat ``TimeLimit.truncated`` as not done (bootstrap)
    :param action_dtype: storage dtype of the latents, ``"float16"`` or ``"float32"``
    :param style_slots: initial number of style slots (default ``buffer_size // 10 + 4 * n_envs``,
        one per 10-step episode of the transitions kept); grows if shorter episodes need more
    :param on_device: keep images and latents as tensors on ``device`` (``None``: when ``device``
        is CUDA and they need under half of its free memory). A pickled buffer keeps them in host
        memory, so a saved ``replay.pkl`` loads on any machine
    """

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Dict,
        action_space: spaces.Box,
        device: th.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        action_dtype: str = "float16",
        style_slots: int | None = None,
        on_device: bool | None = None,
    ) -> None:
        if optimize_memory_usage:
            raise ValueError("StyleReplayBuffer does not support optimize_memory_usage")
        if not isinstance(observation_space, spaces.Dict) or set(observation_space.spaces) != {"moving", "style"}:
            raise ValueError("StyleReplayBuffer needs a Dict(moving, style) observation space")
        # BaseBuffer's constructor (ReplayBuffer's would allocate flat obs arrays)
        super(ReplayBuffer, self).__init__(buffer_size, observation_space, action_space, device, n_envs=n_envs)
        self.buffer_size = max(buffer_size // n_envs, 1)
        self.optimize_memory_usage = False
        self.handle_timeout_termination = handle_timeout_termination
        self.action_dtype = np.dtype(action_dtype)
        image = observation_space["moving"].shape  # (3, H, W)
        n, e = self.buffer_size, n_envs
        slots = style_slots or self.buffer_size * n_envs // 10 + 4 * n_envs
        latent = (n, e, *action_space.shape)
        if on_device is None:
            need = (2 * n * e + slots) * int(np.prod(image)) + int(np.prod(latent)) * self.action_dtype.itemsize
            on_device = self.device.type == "cuda" and need < th.cuda.mem_get_info(self.device)[0] / 2
        self.on_device = on_device
        self.moving = self._zeros((n, e, *image), np.uint8)
        self.next_moving = self._zeros((n, e, *image), np.uint8)
        self.actions = self._zeros(latent, self.action_dtype)
        self.rewards = np.zeros((n, e), np.float32)
        self.dones = np.zeros((n, e), np.float32)
        self.timeouts = np.zeros((n, e), np.float32)
        self.style_index = np.full((n, e), -1, np.int64)
        self.write_id = np.full((n, e), -1, np.int64)  # unique id of each stored transition
        self._writes = 0
        self.styles = self._zeros((slots, *observation_space["style"].shape), np.uint8)
        self.slot_generation = np.zeros(slots, np.int64)  # bumped when a slot gets a new image
        self._env_slot = np.full(e, -1, np.int64)  # slot of each env's current style
        self._env_style: list[np.ndarray | None] = [None] * e  # host copy of that style, to compare with
        self._next_slot = 0

    def _zeros(self, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray | th.Tensor:
        """Zeroed storage: a host array, or a tensor on the device with ``on_device``."""
        if self.on_device:
            return th.zeros(shape, dtype=TORCH_DTYPES[np.dtype(dtype)], device=self.device)
        return np.zeros(shape, dtype)

    def _put(self, store: np.ndarray | th.Tensor, index: int, value: np.ndarray) -> None:
        """``store[index] = value`` for host or device storage."""
        store[index] = th.as_tensor(value, device=store.device) if self.on_device else value

    def __getstate__(self) -> dict[str, Any]:
        """Pickled with host arrays (a ``replay.pkl`` loads on a machine without that device)."""
        state = self.__dict__.copy()
        for key, value in state.items():
            if isinstance(value, th.Tensor):
                state[key] = value.cpu().numpy()
        state["on_device"] = False
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_env_style", [None] * self.n_envs)  # files saved before it existed

    # ---------------------------------------------------------------- storing

    def add(
        self,
        obs: dict[str, np.ndarray],
        next_obs: dict[str, np.ndarray],
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        """Store one step of every env (arrays have a leading ``n_envs`` axis)."""
        for env in range(self.n_envs):
            self.style_index[self.pos, env] = -1  # the transition being overwritten frees its slot
            self.style_index[self.pos, env] = self._slot_for(env, obs["style"][env])
        self._put(self.moving, self.pos, obs["moving"])
        self.write_id[self.pos] = self._writes + np.arange(self.n_envs)
        self._writes += self.n_envs
        self._put(self.next_moving, self.pos, next_obs["moving"])
        latent = np.asarray(action, np.float32).reshape((self.n_envs, *self.action_space.shape))
        if self.action_dtype == np.float16:
            latent = np.clip(latent, -FLOAT16_MAX, FLOAT16_MAX)
        self._put(self.actions, self.pos, latent.astype(self.action_dtype))
        self.rewards[self.pos] = np.asarray(reward)
        self.dones[self.pos] = np.asarray(done)
        if self.handle_timeout_termination:
            self.timeouts[self.pos] = np.array([info.get("TimeLimit.truncated", False) for info in infos])
        self.pos += 1
        if self.pos == self.buffer_size:
            self.full = True
            self.pos = 0

    def _slot_for(self, env: int, style: np.ndarray) -> int:
        slot = self._env_slot[env]
        if slot >= 0 and np.array_equal(self._env_style[env], style):
            return int(slot)
        slot = self._free_slot()
        self._put(self.styles, slot, style)
        self.slot_generation[slot] += 1
        self._env_slot[env] = slot
        self._env_style[env] = np.array(style)
        return slot

    def _free_slot(self) -> int:
        """The next slot (ring order) that no live transition and no env refers to."""
        used = np.zeros(len(self.styles), bool)
        live = self.style_index[self.style_index >= 0]
        used[live] = True
        used[self._env_slot[self._env_slot >= 0]] = True
        order = (self._next_slot + np.arange(len(self.styles))) % len(self.styles)
        free = order[~used[order]]
        if len(free) == 0:  # episodes shorter than the slot estimate: grow
            old = len(self.styles)
            grown = self._zeros((2 * old, *self.styles.shape[1:]), np.uint8)
            grown[:old] = self.styles
            self.styles = grown
            self.slot_generation = np.concatenate([self.slot_generation, np.zeros(old, np.int64)])
            free = np.array([old])
        slot = int(free[0])
        self._next_slot = (slot + 1) % len(self.styles)
        return slot

    # --------------------------------------------------------------- sampling

    def _indices(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        upper = self.buffer_size if self.full else self.pos
        if upper == 0:
            raise ValueError("the replay buffer is empty")
        return np.random.randint(0, upper, size=batch_size), np.random.randint(0, self.n_envs, size=batch_size)

    def sample(self, batch_size: int, env: VecNormalize | None = None) -> DictReplayBufferSamples:
        """A batch for SAC: ``(N, 3, H, W)`` uint8 images, ``(N, 64, h, w)`` float32 actions.

        :param batch_size: number of transitions
        :param env: unused (observations are images, never normalised)
        """
        return self._get_samples(*self._indices(batch_size))

    def _get_samples(
        self, batch_inds: np.ndarray, env_indices: np.ndarray | None = None, env: VecNormalize | None = None
    ) -> DictReplayBufferSamples:
        if env_indices is None:
            env_indices = np.zeros_like(batch_inds)
        style = self._take(self.styles, self.style_index[batch_inds, env_indices])
        dones = self.dones[batch_inds, env_indices] * (1 - self.timeouts[batch_inds, env_indices])
        return DictReplayBufferSamples(
            observations={"moving": self._take(self.moving, batch_inds, env_indices), "style": style},
            actions=self._take(self.actions, batch_inds, env_indices).float(),  # stored float16: widened on the device
            next_observations={"moving": self._take(self.next_moving, batch_inds, env_indices), "style": style},
            dones=self._tensor(dones.reshape(-1, 1)),
            rewards=self._tensor(self.rewards[batch_inds, env_indices].reshape(-1, 1)),
        )

    def sample_images(self, batch_size: int) -> tuple[th.Tensor, th.Tensor, list[int], list[tuple[int, int]]]:
        """Moving and style images for the generative update, with cache keys.

        :return: ``(moving, style, moving_keys, style_keys)``: uint8 ``(N, 3, H, W)`` tensors, the
            unique write id of each sampled transition (names its moving image) and one
            ``(slot, generation)`` per sample (names its style image)
        """
        batch_inds, env_indices = self._indices(batch_size)
        slots = self.style_index[batch_inds, env_indices]
        style_keys = [(int(s), int(self.slot_generation[s])) for s in slots]
        moving_keys = [int(w) for w in self.write_id[batch_inds, env_indices]]
        return self._take(self.moving, batch_inds, env_indices), self._take(self.styles, slots), moving_keys, style_keys

    def _tensor(self, batch: np.ndarray) -> th.Tensor:
        """A sampled array (fancy indexing already copied it) on the buffer's device, not copied again."""
        return self.to_torch(batch, copy=False)

    def _take(self, store: np.ndarray | th.Tensor, *index: np.ndarray) -> th.Tensor:
        """``store[index]`` as a tensor on the buffer's device (gathered there with ``on_device``)."""
        if isinstance(store, th.Tensor):
            return store[tuple(th.as_tensor(i, device=store.device) for i in index)]
        return self._tensor(store[index])

    def nbytes(self) -> int:
        """Bytes held by the arrays (the buffer's share of the process's memory once filled)."""
        arrays = (self.moving, self.next_moving, self.actions, self.rewards, self.dones, self.timeouts,
                  self.style_index, self.write_id, self.styles, self.slot_generation)
        return int(sum(a.nbytes if isinstance(a, np.ndarray) else a.numel() * a.element_size() for a in arrays))
