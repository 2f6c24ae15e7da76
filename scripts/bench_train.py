#!/usr/bin/env python
"""Benchmark SAC + generative training: seconds per update, env steps per second, memory.

One "update" is what one env step costs in training: the env step (builder + VGG reward), one
SAC gradient step (critic, temperature, actor every 4th) and one generative step (batch 8, or
``--generative-batch``). ``--envs N`` steps N episodes as one batch (one builder call and one VGG
pass per vector step, then N SAC and N generative steps), as ``styleenv train --envs N`` does;
every ``*_per_update`` figure is per env step, so the figures of different ``--envs`` compare
directly: ``env_`` (the env step: builder + VGG reward), ``sac_``, ``generative_`` and ``other_``
(policy forward, replay storage, SB3's bookkeeping). ``--device cuda`` times the GPU
(synchronised around each timed span). ``env_steps_per_second`` is the acting loop alone
(policy + builder + env), ``training_env_steps_per_second`` the whole loop. ``--naive`` times
the same update without the VGG savings (style statistics and content targets recomputed every
update, every VGG pass run to relu5_1), for a same-machine, same-load comparison. ``--bf16`` runs
the generative update's VGG pass under bfloat16 autocast (config key ``generative_bf16``);
``--replay-host`` keeps the replay buffer in host memory on CUDA too (``replay_on_device = false``). With ``--buffer``
a release-sized replay buffer (5,000 transitions) is filled with random data and the resident
memory it adds is reported.

    python scripts/bench_train.py --size 128 --json
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch as th  # noqa: E402

from styleenv.memory import peak_rss_mb, rss_mb  # noqa: E402

if TYPE_CHECKING:
    from stable_baselines3 import SAC
    from stable_baselines3.common.vec_env import VecEnv

    from agents.sac.trainer import Run


class _ToRelu5:
    """Loss-network stand-in that always runs to relu5_1 (what an unoptimised step does)."""

    def __init__(self, net):
        self.net = net

    def __call__(self, x, taps):
        from styleenv.vgg import ALL_TAPS

        feats = dict(zip(ALL_TAPS, self.net(x, ALL_TAPS)))
        return [feats[t] for t in taps]


def _sync(device: th.device) -> None:
    if device.type == "cuda":
        th.cuda.synchronize(device)


def _timed(function, seconds: list[float], device: th.device):
    """``function`` that adds its (synchronised) wall time to ``seconds[0]``."""

    def timed(*a, **k):
        _sync(device)
        t = time.perf_counter()
        result = function(*a, **k)
        _sync(device)
        seconds[0] += time.perf_counter() - t
        return result

    return timed


LEARNING_STARTS = 8  # env steps before the first update; --warmup must cover them


def train_config(args: argparse.Namespace, output: str = ""):
    """The benchmark's training config, validated (:class:`agents.sac.config.ConfigError` if a value is bad)."""
    from agents.sac.config import TrainConfig

    return TrainConfig(content=args.content, style=args.style, image_size=args.size,
                       total_steps=args.warmup + args.updates, device=args.device, output=output, eval_pairs=0,
                       image_every=0, checkpoint_every=0, progress=False, threads=args.threads,
                       learning_starts=LEARNING_STARTS, buffer_size=5000,
                       generative_batch_size=args.generative_batch, envs=args.envs, generative_bf16=args.bf16,
                       replay_on_device=not args.replay_host).validate()


def acting_seconds(model: SAC, env: VecEnv, vector_steps: int) -> float:
    """Wall time of ``vector_steps`` steps of the acting loop alone (policy + builder + env), from a reset.

    The device is synchronised before the clock starts (the reset's work is not counted) and before it stops.
    """
    obs = env.reset()
    _sync(model.device)
    t = time.perf_counter()
    for _ in range(vector_steps):
        action, _ = model.predict(obs, deterministic=False)
        obs, *_ = env.step(action)
    _sync(model.device)
    return time.perf_counter() - t


def bench_updates(run: Run, args: argparse.Namespace) -> dict:
    """Time ``args.updates`` training updates of a built run after ``args.warmup`` steps, then the acting loop.

    :param run: the run built from :func:`train_config`'s config
    :param args: the parsed arguments
    """
    from stable_baselines3.common.callbacks import CallbackList

    updates, envs, naive = args.updates, args.envs, args.naive
    model = run.model
    sac_seconds, env_seconds = [0.0], [0.0]
    model.train = _timed(model.train, sac_seconds, model.device)  # timing only
    model.env.step = _timed(model.env.step, env_seconds, model.device)
    if naive:
        gen = run.generative
        gen.cache.net = gen.content_cache.net = gen.net = _ToRelu5(gen.net)
        gen.content_cache.max_bytes = 0
        gen.cache.batch = lambda style, keys, _b=gen.cache.batch: _b(style, None)
    callbacks = CallbackList([run.generative])
    model.learn(args.warmup, callback=callbacks)
    sac_seconds[0], env_seconds[0], run.generative.seconds = 0.0, 0.0, 0.0
    start_steps = model.num_timesteps
    _sync(model.device)
    t = time.perf_counter()
    model.learn(updates, callback=callbacks, reset_num_timesteps=False)
    _sync(model.device)
    total = time.perf_counter() - t
    steps = model.num_timesteps - start_steps  # `updates` rounded up to whole vector steps
    split = {"env": env_seconds[0], "sac": sac_seconds[0], "generative": run.generative.seconds}
    split["other"] = total - sum(split.values())
    n_act = -(-max(5, updates) // envs)  # vector steps
    act = acting_seconds(model, run.env, n_act)
    model.logger.close()  # TensorBoard's files, before their folder is removed
    cache, content_cache = run.generative.cache, run.generative.content_cache
    return {
        "size": args.size,
        "device": str(model.device),
        "envs": envs,
        "generative_batch": run.config.generative_batch_size or run.config.batch_size,
        "updates": steps,
        "seconds_per_update": total / steps,
        "training_env_steps_per_second": steps / total,
        **{f"{k}_seconds_per_update": v / steps for k, v in split.items()},
        "env_steps_per_second": n_act * envs / act,
        "style_cache_hit_rate": cache.hits / max(1, cache.hits + cache.misses),
        "content_cache_hit_rate": content_cache.hits / max(1, content_cache.hits + content_cache.misses),
        "naive": naive,
        "generative_bf16": args.bf16,
        "replay_on_device": bool(model.replay_buffer.on_device),
        "threads": th.get_num_threads(),
    }


def bench_buffer(size: int, n: int) -> dict:
    from agents.sac.buffer import StyleReplayBuffer
    from agents.sac.wrapper import latent_space
    from gymnasium import spaces

    img = spaces.Box(0, 255, (3, size, size), np.uint8)
    obs_space = spaces.Dict({"moving": img, "style": img})
    act_space = latent_space(size)
    gc.collect()
    before = rss_mb()
    buf = StyleReplayBuffer(n, obs_space, act_space, device="cpu")
    rng = np.random.default_rng(0)
    style = rng.integers(0, 256, (1, 3, size, size), dtype=np.uint8)
    moving = rng.integers(0, 256, (1, 3, size, size), dtype=np.uint8)
    latent = rng.standard_normal((1, *act_space.shape)).astype(np.float32)
    for i in range(n):
        if i % 10 == 0:
            style = rng.integers(0, 256, (1, 3, size, size), dtype=np.uint8)
        buf.add({"moving": moving, "style": style}, {"moving": moving, "style": style}, latent,
                np.zeros(1), np.zeros(1), [{}])
    after = rss_mb()
    result = {"buffer_transitions": n, "buffer_rss_mb": after - before, "buffer_nbytes_mb": buf.nbytes() / 2**20}
    del buf
    gc.collect()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128, help="image side")
    parser.add_argument("--updates", type=int, default=10,
                        help="timed updates (env steps; rounded up to whole vector steps of --envs)")
    parser.add_argument("--warmup", type=int, default=12,
                        help=f"steps before timing (buffer, caches); at least {LEARNING_STARTS}, the steps "
                        "before the first update")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    parser.add_argument("--envs", type=int, default=1, help="episodes stepped as one batch (default 1)")
    parser.add_argument("--generative-batch", type=int, default=0, help="generative batch (0: the SAC batch, 8)")
    parser.add_argument("--content", default=None, help="content folder (default: procedural)")
    parser.add_argument("--style", default=None, help="style folder (default: procedural)")
    parser.add_argument("--buffer", type=int, default=0, help="also fill a replay buffer of this many transitions")
    parser.add_argument("--naive", action="store_true", help="time the update without the VGG savings")
    parser.add_argument("--bf16", action="store_true", help="generative_bf16: bfloat16 autocast for the generative VGG pass")
    parser.add_argument("--replay-host", action="store_true", help="keep the replay buffer in host memory on CUDA too")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)
    if args.device.startswith("cuda") and not th.cuda.is_available():
        parser.error("--device cuda, but CUDA is not available here")
    if args.envs < 1 or args.updates < 1 or args.buffer < 0:
        parser.error("--envs and --updates must be at least 1, --buffer not negative")
    if args.warmup < LEARNING_STARTS:
        parser.error(f"--warmup must be at least {LEARNING_STARTS} (no update runs before), got {args.warmup}")
    for flag, folder in (("--content", args.content), ("--style", args.style)):
        if folder is not None and not Path(folder).exists():
            parser.error(f"{flag} {folder}: no such file or folder")
    from agents.sac.trainer import build

    with tempfile.TemporaryDirectory(prefix="bench_train_") as out:  # the run folder goes with it
        try:
            run = build(train_config(args, out))
        except ValueError as err:  # a bad value (ConfigError), size, data folder or device: one line
            parser.error(str(err))
        result = bench_updates(run, args)
    if args.buffer:
        result.update(bench_buffer(args.size, args.buffer))
    result["peak_rss_mb"] = peak_rss_mb()
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>32}: {v:.4g}" if isinstance(v, float) else f"{k:>32}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
