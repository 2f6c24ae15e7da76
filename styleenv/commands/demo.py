"""Roll one episode on the built-in procedural images and save a strip of pictures.

The strip shows content | style | every step. It needs no files of yours: the images are
the project's own procedural scenes and textures, and the agent is a weight-free colour
transfer (step k moves the colour statistics k/N of the way to the style's).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym
from PIL import Image

import styleenv
from styleenv.commands import UsageError
from styleenv.procedural import procedural_content, procedural_style

HELP = "roll one episode on built-in images and write a PNG strip (first run)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("styleenv-output"), help="output folder (default: %(default)s)")
    parser.add_argument("--size", type=int, default=256, help="side of the square images (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=10, help="episode length (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="which procedural pair (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    from agents.colour_transfer import ColourTransferAgent
    from styleenv.visual import hstack, save_png

    if args.steps < 1:
        raise UsageError(f"--steps must be at least 1, got {args.steps}")
    if args.size < 16:
        raise UsageError(f"--size must be at least 16, got {args.size}")
    content = procedural_content(args.seed, args.size)
    style = procedural_style(args.seed, args.size)
    env = gym.make(styleenv.ENV_ID, content=[content], style=[style], image_size=args.size, max_episode_steps=args.steps)
    agent = ColourTransferAgent(args.steps)
    obs, _ = env.reset(seed=args.seed, options={"content": content, "style": style})
    agent.reset(obs)
    frames, rewards = [], []
    done = False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(agent.act(obs))
        frames.append(Image.fromarray(obs["moving"].transpose(1, 2, 0)))
        rewards.append(reward)
        done = terminated or truncated
    path = args.out / "demo-strip.png"
    save_png(hstack([content, style, *frames]), path)
    print(f"rewards by step: {' '.join(f'{r:.2f}' for r in rewards)}")
    print(f"wrote {path} (content | style | steps 1..{len(frames)})")
    return 0
