"""SB3 callbacks of the trainer: the generative update, held-back evaluations and pictures, the time
limit, progress (checkpoints: :mod:`agents.sac.checkpoints`).

Where the generative update hooks in: SB3's ``OffPolicyAlgorithm.learn`` alternates
``collect_rollouts`` (ending with ``callback.on_rollout_end()``) and ``train(gradient_steps)``.
:class:`GenerativeCallback` runs its updates in ``on_rollout_end``, i.e. right before each SAC
``train()`` call and under the same condition (``num_timesteps > learning_starts``), one
generative step per SAC gradient step (``gradient_steps`` of them; with ``train_freq=1`` that
is one per env step), as the release interleaves them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Image

from agents.sac.buffer import StyleReplayBuffer
from agents.sac.generative import ContentTargetCache, StyleStatsCache, generative_losses
from agents.sac.holdout import evaluate_pairs
from styleenv.files import atomic_write
from styleenv.pixels import chw_uint8_to_tensor
from styleenv.vgg import LossNetwork
from styleenv.visual import hstack, save_png


class GenerativeCallback(BaseCallback):
    """Generative learning beside SAC (content + style + contrastive, uncertainty-weighted).

    Uses the policy's ``actor.net``, ``builder``, ``loss_weights`` and ``generative_optimizer``
    (:class:`agents.sac.policy.StylePolicy`) and samples the model's
    :class:`~agents.sac.buffer.StyleReplayBuffer`. Logs ``generative/*`` and ``weights/p_*``.

    :param net: the loss network
    :param every: one generative step per this many SAC gradient steps (0 disables)
    :param batch_size: replay batch (default: the model's)
    :param content_cache_mb: memory budget of the content-target cache (0: recompute)
    :param content_weight: factor on the content loss before the weighting (1: the release)
    :param bf16: bfloat16 autocast for the loss network's pass over the output
    :param verbose: SB3's verbosity level (the losses go to the logger at any level)
    """

    def __init__(self, net: LossNetwork, every: int = 1, batch_size: int | None = None,
                 content_cache_mb: float = 1024.0, content_weight: float = 1.0, bf16: bool = False,
                 verbose: int = 0) -> None:
        super().__init__(verbose)
        self.net = net
        self.every = every
        self.batch_size = batch_size
        self.content_weight = content_weight
        self.bf16 = bf16
        self.cache = StyleStatsCache(net)
        self.content_cache = ContentTargetCache(net, content_cache_mb)
        self.n_steps = 0
        self.seconds = 0.0
        self.last_losses: dict[str, float] = {}

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        model = self.model
        if self.every <= 0 or model.num_timesteps <= model.learning_starts:
            return
        steps = model.gradient_steps if model.gradient_steps >= 0 else model.train_freq.frequency * model.n_envs
        start = time.perf_counter()
        rows = []
        for _ in range(steps):
            self.n_steps += 1
            if (self.n_steps - 1) % self.every == 0:
                rows.append(self.update())
        if rows:
            self._log(th.stack(rows).tolist())  # one device sync for all of this rollout's steps
        self.seconds += time.perf_counter() - start

    def update(self) -> th.Tensor:
        """One generative step on a replay batch.

        :return: ``(7,)`` detached, on the device: total, content, style and contrastive losses,
            then the three uncertainties ``p`` after the step (read with :meth:`_log`)
        """
        model, policy = self.model, self.model.policy
        buffer = model.replay_buffer
        if not isinstance(buffer, StyleReplayBuffer):
            raise TypeError("GenerativeCallback needs a StyleReplayBuffer")
        moving_u8, style_u8, moving_keys, style_keys = buffer.sample_images(self.batch_size or model.batch_size)
        moving = chw_uint8_to_tensor(moving_u8)
        style = chw_uint8_to_tensor(style_u8)
        stats = self.cache.batch(style, style_keys)
        target = self.content_cache.batch(moving, moving_keys)
        policy.actor.net.train()
        out = generative_losses(policy.actor.net, policy.builder, policy.loss_weights, self.net, moving, style,
                                stats, target, self.content_weight, self.bf16)
        policy.generative_optimizer.zero_grad()
        out.total.backward()
        policy.generative_optimizer.step()
        return th.cat([out.total.detach()[None], out.terms, policy.loss_weights.detach()])

    def _log(self, rows: list[list[float]]) -> None:
        """Log the losses of :meth:`update` rows (means) and the latest ``p``."""
        for row in rows:
            values = dict(zip(("total", "content", "style", "contrastive"), row[:4]))
            for key, value in values.items():
                self.logger.record_mean(f"generative/{key}", value)
        for name, value in zip(("content", "style", "contrastive"), rows[-1][4:]):
            self.logger.record(f"weights/p_{name}", value)
        self.last_losses = values


class HoldoutEvalCallback(BaseCallback):
    """Held-back evaluation and sample pictures.

    Every ``eval_every`` steps (and at the start and end) the deterministic policy runs on the
    held-back pairs; ``eval/mean_reward`` and ``eval/final_style_loss`` are logged and appended
    to ``<dir>/eval.jsonl`` with the evaluation's wall time (``seconds``: what
    :meth:`end_seconds` reads back when a run resumes). Every ``image_every`` steps a sequence strip of the first pair
    (content | style | steps) goes to TensorBoard (``samples/sequence``) and to
    ``<dir>/samples/step_<n>.png``.

    :param env: single evaluation env with a latent wrapper bound to the policy's networks
    :param pairs: held-back pairs
    :param directory: run folder
    :param eval_every: env steps between evaluations (0: start and end only)
    :param image_every: env steps between pictures (0: none)
    :param steps: steps per evaluation episode
    :param verbose: print each evaluation's mean reward
    """

    def __init__(self, env: Any, pairs: list, directory: str | Path, eval_every: int, image_every: int,
                 steps: int = 10, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.env = env
        self.pairs = pairs
        self.directory = Path(directory)
        self.eval_every = eval_every
        self.image_every = image_every
        self.steps = steps
        self.history: list[dict[str, Any]] = []
        self.seconds = {"evaluate": 0.0, "picture": 0.0}  # wall time of the latest of each

    def end_seconds(self) -> float:
        """About how long the end of training takes here: one evaluation and one picture."""
        return self.seconds["evaluate"] + self.seconds["picture"]

    def _on_training_start(self) -> None:
        history = self._read_history()
        if history and "seconds" in history[-1]:  # a resumed run: what its last evaluation took
            self.seconds["evaluate"] = history[-1]["seconds"]
        if not any(h["step"] == self.num_timesteps for h in history):
            self.evaluate()
        self.picture()

    def _on_step(self) -> bool:
        n, k = self.num_timesteps, self.model.n_envs
        if self.eval_every > 0 and n % self.eval_every < k:
            self.evaluate()
        if self.image_every > 0 and n % self.image_every < k:
            self.picture()
        return True

    def _on_training_end(self) -> None:
        if not self.history or self.history[-1]["step"] != self.num_timesteps:
            self.evaluate()
        self.picture()

    def _read_history(self) -> list[dict[str, Any]]:
        """The rows of ``eval.jsonl`` up to the current step. Rows of later steps (a run killed after
        its last checkpoint, now resumed from it) and a line cut short are removed from the file."""
        path = self.directory / "eval.jsonl"
        if not path.is_file():
            return []
        lines = path.read_text().splitlines()
        rows = []
        for line in lines:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and isinstance(row.get("step"), int) and row["step"] <= self.num_timesteps:
                rows.append(row)
        if len(rows) < len(lines):
            atomic_write(path, lambda tmp: tmp.write_text("".join(json.dumps(row) + "\n" for row in rows)))
        return rows

    def evaluate(self) -> dict[str, Any]:
        if not self.pairs:
            return {}
        start = time.monotonic()
        result = evaluate_pairs(self.model, self.env, self.pairs, self.steps)
        self.seconds["evaluate"] = time.monotonic() - start
        entry = {"step": int(self.num_timesteps), "mean_reward": result["mean_reward"],
                 "final_style_loss": result["final_style_loss"], "per_pair": result["per_pair"],
                 "seconds": round(self.seconds["evaluate"], 2)}
        self.history.append(entry)
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "eval.jsonl", "a") as f:
            f.write(json.dumps(entry) + "\n")
        self.logger.record("eval/mean_reward", entry["mean_reward"])
        self.logger.record("eval/final_style_loss", entry["final_style_loss"])
        if self.verbose:
            print(f"step {entry['step']}: held-back mean reward {entry['mean_reward']:.4f}")
        return entry

    def picture(self) -> np.ndarray | None:
        if not self.pairs:
            return None
        start = time.monotonic()
        result = evaluate_pairs(self.model, self.env, self.pairs[:1], self.steps, keep_images=1)
        self.seconds["picture"] = time.monotonic() - start
        strip = np.asarray(hstack(result["sequences"][0]))  # content | style | steps, (H, W_total, 3)
        save_png(strip, self.directory / "samples" / f"step_{self.num_timesteps:07d}.png")
        self.logger.record("samples/sequence", Image(strip, "HWC"), exclude=("stdout", "log", "json", "csv"))
        self.logger.dump(self.num_timesteps)
        return strip


class TimeLimitCallback(BaseCallback):
    """Stops ``learn`` so that it ends within ``minutes`` of its start.

    Put it first among the callbacks, so that its clock starts before the others' start-up work
    (the first held-back evaluation). It stops training once the time left is what ``reserve``
    says the end of training will take (the final evaluation); the step under way finishes and
    the trainer then writes its checkpoint and ``final.pt`` (seconds).

    :param minutes: wall-clock budget of ``learn``
    :param reserve: seconds to keep for the end of training (called at every step)
    :param verbose: print the step at which the limit stopped training
    """

    def __init__(self, minutes: float, reserve: Callable[[], float] = lambda: 0.0, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.seconds = minutes * 60.0
        self.reserve = reserve
        self.start = 0.0
        self.stopped = False

    def _on_training_start(self) -> None:
        self.start = time.monotonic()

    def _on_step(self) -> bool:
        if time.monotonic() - self.start + self.reserve() < self.seconds:
            return True
        self.stopped = True
        if self.verbose:
            print(f"time limit of {self.seconds / 60:g} min reached at step {self.num_timesteps}")
        return False


class TqdmCallback(BaseCallback):
    """A tqdm progress bar over env steps (SB3's own bar needs ``rich``).

    Shows the latest episode reward. SB3 calls ``on_training_end`` only when ``learn`` returns:
    after Ctrl-C or an error the trainer calls :meth:`close` instead.
    """

    def __init__(self) -> None:
        super().__init__()
        self.bar = None

    def _on_training_start(self) -> None:
        from tqdm import tqdm

        total = self.locals.get("total_timesteps", self.model._total_timesteps)
        self.bar = tqdm(total=total, initial=self.model.num_timesteps, unit="step", dynamic_ncols=True)

    def _on_step(self) -> bool:
        self.bar.update(self.model.n_envs)
        for info in self.locals.get("infos", []):
            if "episode" in info:
                self.bar.set_postfix(ep_reward=f"{info['episode']['r']:.3f}", refresh=False)
        return True

    def _on_training_end(self) -> None:
        self.close()

    def close(self) -> None:
        """Close the bar, so that the lines printed after it start on a line of their own (again: nothing)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
