"""Environment steps per second on this machine.

    python scripts/bench_env.py --size 256 --steps 50 [--device cpu] [--json]

Times ``env.step`` with random image actions (the loss network's forward pass to
relu4_1 dominates), after one warm-up episode.
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import torch

import styleenv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="side of the square state images")
    parser.add_argument("--steps", type=int, default=50, help="timed steps")
    parser.add_argument("--device", default="cpu", help="device of the loss network")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    env = gym.make(styleenv.ENV_ID, image_size=args.size, device=args.device)
    env.reset(seed=0)
    action = env.action_space.sample()
    for _ in range(3):  # warm-up
        env.step(action)
    env.reset(seed=1)
    start = time.perf_counter()
    for _ in range(args.steps):
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    seconds = time.perf_counter() - start
    result = {
        "size": args.size,
        "device": args.device,
        "threads": torch.get_num_threads(),
        "steps": args.steps,
        "env_steps_per_second": args.steps / seconds,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['env_steps_per_second']:.2f} env steps/s at {args.size} px on {args.device} "
              f"({result['threads']} threads, {args.steps} steps)")


if __name__ == "__main__":
    main()
