"""Episode returns of the baseline agents on styleenv/StyleTransfer-v1 (the README's table).

    python scripts/baseline_returns.py --contents ../shared/data/content --styles ../shared/data/style \\
        --release ../shared/reference/rlministyler --pairs 30 --sizes 128 256 [--sweep 0.5 1 2 4] [--json]

Draws ``--pairs`` contents and as many styles (``numpy.random.default_rng(seed)``, without
replacement) and pairs them in order; rolls each agent for 10 steps on each pair, pinned
(shorter side resized, centre crop), through the v1 env at each size; prints, per agent and
size, the mean and standard deviation of the episode return and the mean per-step style and
content losses. ``--sweep`` also ranks the agents by the return the same episodes would get
at other content weights (the reward is linear in the weight).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import gymnasium as gym
import numpy as np

import styleenv
from agents.factory import AgentSpecError, make_agent
from styleenv.data import ImageSource
from styleenv.env import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE, V1_CONTENT_WEIGHT
from styleenv.evaluation.rollout import rollout
from styleenv.pixels import to_pil

AGENTS = ("release", "adain", "identity", "copy-style", "random")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contents", type=Path, required=True, help="folder of content photos (e.g. ../shared/data/content)")
    parser.add_argument("--styles", type=Path, required=True, help="folder of style images (e.g. ../shared/data/style)")
    parser.add_argument("--release", type=Path, required=True, help="folder of the released actor.pth.tar and builder.pth.tar")
    parser.add_argument("--pairs", type=int, default=30, help="number of (content, style) pairs, each image in one")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256],
                        help=f"image sides, px ({MIN_IMAGE_SIZE}..{MAX_IMAGE_SIZE})")
    parser.add_argument("--steps", type=int, default=10, help="episode length")
    parser.add_argument("--content-weight", type=float, default=V1_CONTENT_WEIGHT, help="v1's weight (default: %(default)s)")
    parser.add_argument("--sweep", type=float, nargs="*", default=[], help="also rank the agents at these weights")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    for path in (args.contents, args.styles, args.release):
        if not path.is_dir():
            parser.error(f"folder {path} does not exist (pass --contents, --styles and --release)")
    if args.pairs < 1 or args.steps < 1:
        parser.error("--pairs and --steps must be at least 1")
    if not MIN_IMAGE_SIZE <= min(args.sizes) <= max(args.sizes) <= MAX_IMAGE_SIZE:
        parser.error(f"--sizes must lie in {MIN_IMAGE_SIZE}..{MAX_IMAGE_SIZE}, got {args.sizes}")

    try:
        contents, styles = ImageSource(args.contents, kind="content"), ImageSource(args.styles, kind="style")
    except ValueError as err:  # a folder without images
        parser.error(str(err))
    if args.pairs > min(len(contents), len(styles)):
        parser.error(f"--pairs {args.pairs}: there are only {len(contents)} contents and {len(styles)} styles")
    rng = np.random.default_rng(args.seed)
    picks = list(zip(rng.choice(len(contents), args.pairs, replace=False), rng.choice(len(styles), args.pairs, replace=False)))
    try:
        agents = {name: make_agent(f"release:{args.release}" if name == "release" else name, steps=args.steps)[1] for name in AGENTS}
    except AgentSpecError as err:
        parser.error(str(err))

    losses: dict[str, dict[int, np.ndarray]] = {name: {} for name in agents}  # (pairs, steps, 2): style, content
    returns: dict[str, dict[int, np.ndarray]] = {name: {} for name in agents}
    for size in args.sizes:
        blank = [np.zeros((size, size, 3), np.uint8)]  # every reset pins a pair
        env = gym.make(styleenv.ENV_ID_V1, image_size=size, max_episode_steps=args.steps, content_weight=args.content_weight,
                       content=blank, style=blank, device="cpu")  # fmt: skip
        pinned = [(to_pil(contents.pinned(int(c), size)), to_pil(styles.pinned(int(s), size))) for c, s in picks]
        for name, agent in agents.items():
            episodes = [rollout(env, agent, args.steps, options={"content": c, "style": s}, seed=args.seed) for c, s in pinned]
            losses[name][size] = np.array([[[i["style_loss"], i["content_loss"]] for i in e.infos] for e in episodes])
            returns[name][size] = np.array([sum(e.rewards) for e in episodes])
        env.close()

    result = {
        "content_weight": args.content_weight, "pairs": args.pairs, "steps": args.steps,
        "agents": {n: {str(size): {"return_mean": float(r[size].mean()), "return_std": float(r[size].std()),
                                   "style_loss_per_step": float(losses[n][size][..., 0].mean()),
                                   "content_loss_per_step": float(losses[n][size][..., 1].mean())}
                       for size in args.sizes} for n, r in returns.items()},
        "sweep": {str(w): {str(size): sorted(agents, key=lambda n: -float(_returns(losses[n][size], w).mean()))
                           for size in args.sizes} for w in args.sweep},
    }  # fmt: skip
    if args.json:
        print(json.dumps(result))
        return
    head = " | ".join(f"{s} px return (mean ± sd) | {s} px style / content loss per step" for s in args.sizes)
    print(f"| agent | {head} |\n|---|" + "---|---|" * len(args.sizes))
    for name, sizes in result["agents"].items():
        cells = " | ".join(f"{v['return_mean']:.1f} ± {v['return_std']:.1f} | {v['style_loss_per_step']:.2f} / "
                           f"{v['content_loss_per_step']:.2f}" for v in sizes.values())  # fmt: skip
        print(f"| {name} | {cells} |")
    print(f"\ncontent weight {args.content_weight}, {args.pairs} pairs, {args.steps} steps, seed {args.seed}")
    for w, ranks in result["sweep"].items():
        print(f"weight {w}: " + "; ".join(f"{s} px: {' > '.join(r)}" for s, r in ranks.items()))


def _returns(losses: np.ndarray, weight: float) -> np.ndarray:
    """Episode returns at another content weight, from per-step (style, content) losses ``(pairs, steps, 2)``."""
    return -(losses[..., 0] + weight * losses[..., 1]).sum(axis=1)


if __name__ == "__main__":
    main()
