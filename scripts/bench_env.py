"""Environment steps per second: N episodes stepped as separate envs or as one batch.

    python scripts/bench_env.py --sizes 64 128 256 --envs 1 8 32 [--env-id styleenv/StyleTransfer-v1]
                                [--modes batched separate async] [--steps 3] [--device cpu] [--json]

``separate``: N single envs stepped one after another in this process (Gymnasium's
``SyncVectorEnv``; they share one loss network). ``async``: N single envs in subprocesses
(``AsyncVectorEnv``; each loads its own loss network). ``batched``: the vector entry point, one
VGG pass for the N episodes. Random image actions; one warm-up step, then ``--steps`` timed
steps; figures are env steps per second (N per vector step) and the memory after the steps: the
proportional set size (PSS) of this process plus, for ``async``, of every worker (``MB``, and
``MB/worker``). PSS splits each shared page between the processes that map it, so the pages the
forked workers share with this process (the libraries, and what it held when they forked) count
once in the total; summed resident sizes would count them once per process.
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np
import torch

import styleenv
from styleenv.devices import resolve_device
from styleenv.env import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE
from styleenv.memory import pss_mb

MODES = {"batched": "vector_entry_point", "separate": "sync", "async": "async"}


def memory_mb(workers: list[int]) -> tuple[float, float]:
    """Memory of this process and its ``workers`` (PSS: a page they share counts once), MB.

    :param workers: process ids
    :return: the total, and the workers' mean (0 without workers)
    """
    shares = [pss_mb(pid) for pid in workers]
    return pss_mb() + sum(shares), sum(shares) / len(shares) if shares else 0.0


def measure(env_id: str, mode: str, num: int, size: int, steps: int, device: str) -> dict[str, float]:
    """Env steps per second of ``num`` episodes at ``size`` px vectorised by ``mode``, and memory."""
    envs = gym.make_vec(env_id, num_envs=num, vectorization_mode=MODES[mode], image_size=size, device=device)
    try:
        envs.reset(seed=0)
        actions = np.random.default_rng(0).random((num, 3, size, size), dtype=np.float32)
        envs.step(actions)  # warm-up
        start = time.perf_counter()
        for _ in range(steps):
            envs.step(actions)
        rate = num * steps / (time.perf_counter() - start)
        total, per_worker = memory_mb([p.pid for p in getattr(envs, "processes", [])])
        return {"env_steps_per_second": rate, "pss_mb": total, "pss_mb_per_worker": per_worker}
    finally:
        envs.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256], help="sides of the square state images")
    parser.add_argument("--envs", type=int, nargs="+", default=[1, 8, 32], help="numbers of episodes N")
    parser.add_argument("--modes", nargs="+", choices=sorted(MODES), default=["batched", "separate"])
    parser.add_argument("--env-id", default=styleenv.ENV_ID_V1, choices=[styleenv.ENV_ID, styleenv.ENV_ID_V1],
                        help="the env (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=3, help="timed vector steps per figure")
    parser.add_argument("--device", default="cpu", help="device of the loss network")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not MIN_IMAGE_SIZE <= min(args.sizes) <= max(args.sizes) <= MAX_IMAGE_SIZE:
        parser.error(f"--sizes must lie in {MIN_IMAGE_SIZE}..{MAX_IMAGE_SIZE}, got {args.sizes}")
    if min(args.envs) < 1 or args.steps < 1:
        parser.error("--envs and --steps must be at least 1")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    try:
        resolve_device(args.device)
    except ValueError as err:
        parser.error(str(err))
    if args.threads:
        torch.set_num_threads(args.threads)

    figures = []
    for size in args.sizes:
        for num in args.envs:
            for mode in args.modes:
                figure = measure(args.env_id, mode, num, size, args.steps, args.device)
                figures.append({"size": size, "envs": num, "mode": mode} | figure)
                if not args.json:
                    worker = f" ({figure['pss_mb_per_worker']:,.0f} MB/worker)" if mode == "async" else ""
                    print(f"{size:5d} px  N={num:3d}  {mode:9s} {figure['env_steps_per_second']:8.2f} env steps/s"
                          f"  {figure['pss_mb']:7,.0f} MB{worker}", flush=True)
    if args.json:
        print(json.dumps({"env_id": args.env_id, "device": args.device, "threads": torch.get_num_threads(),
                          "steps": args.steps, "figures": figures}))  # fmt: skip
    else:
        print(f"({args.env_id} on {args.device}, {torch.get_num_threads()} torch threads, {args.steps} timed steps "
              "each; memory: PSS after the steps, workers included)")


if __name__ == "__main__":
    main()
