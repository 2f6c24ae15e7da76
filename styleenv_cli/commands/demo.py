"""Stylise a built-in image pair with the project's own trained agent, through the environment.

One episode of ``styleenv/StyleTransfer-v0`` on a procedural landscape and a procedural texture
(the project's own images, no files of yours), acted by the RLMiniStyler checkpoint shipped with
styleenv. Writes ``OUT/demo/``: ``step-01.png`` ... (every step), ``sheet.png`` (content |
style | the steps) and ``sequence.gif`` (replacing an earlier demo's), and prints each step's
reward (minus the style loss) as it comes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym

import styleenv
from styleenv_cli.commands import UsageError, add_compute_arguments, apply_compute_arguments, prepare_output

HELP = "stylise a built-in image pair with the shipped agent: every step, a contact sheet and a GIF (first run)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("styleenv-output"), help="output folder (default: %(default)s)")
    parser.add_argument("--size", type=int, default=256, help="side of the square images (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=10, help="episode length (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="which procedural pair (default: %(default)s)")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="a styleenv checkpoint (default: the one shipped with styleenv)")
    add_compute_arguments(parser, device_default="cpu")


class StepProgress(gym.Wrapper):
    """Shows each step of the episode and its reward on a progress bar as it is taken.

    :param env: the env
    :param bar: a ``tqdm`` bar of ``steps`` total
    """

    def __init__(self, env: gym.Env, bar) -> None:
        super().__init__(env)
        self.bar = bar

    def step(self, action):
        result = self.env.step(action)
        self.bar.set_postfix(reward=f"{result[1]:.2f}")
        self.bar.update(1)
        return result


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from agents.adapters import StylizerAgent
    from agents.release import CheckpointError
    from agents.stylizer import Stylizer
    from styleenv.evaluation.rollout import rollout
    from styleenv.env import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE
    from styleenv.pixels import to_pil
    from styleenv.procedural import procedural_content, procedural_style
    from styleenv.visual import SequenceFolder

    if args.steps < 1:
        raise UsageError(f"--steps must be at least 1, got {args.steps}")
    if not MIN_IMAGE_SIZE <= args.size <= MAX_IMAGE_SIZE:
        raise UsageError(f"--size must lie in {MIN_IMAGE_SIZE}..{MAX_IMAGE_SIZE}, got {args.size}")
    if args.seed < 0:
        raise UsageError(f"--seed must be at least 0, got {args.seed}")
    device = apply_compute_arguments(args)
    print("loading the shipped agent and the VGG-19 loss network ...", flush=True)
    try:
        stylizer = Stylizer.from_checkpoint(args.checkpoint, device) if args.checkpoint else Stylizer.default(device)
    except CheckpointError as err:
        raise UsageError(str(err)) from None
    prepare_output(args.out)
    content = procedural_content(args.seed, args.size)
    style = procedural_style(args.seed, args.size)
    env = gym.make(styleenv.ENV_ID, content=[content], style=[style], image_size=args.size, max_episode_steps=args.steps,
                   device=device)
    with tqdm(total=args.steps, unit="step", desc="demo episode") as bar:
        episode = rollout(StepProgress(env, bar), StylizerAgent(stylizer), args.steps,
                          options={"content": content, "style": style}, seed=args.seed)
    rewards = episode.rewards
    with SequenceFolder(args.out / "demo", content, keep=range(1, args.steps + 1), steps=args.steps) as folder:
        for step, image in enumerate(episode.images, start=1):
            folder.add(step, to_pil(image))
        files = folder.finish(style)
    first, last = (Path(files["steps"][i]["path"]).name for i in (0, -1))
    print(f"rewards by step (minus the style loss): {' '.join(f'{r:.2f}' for r in rewards)}")
    print(f"wrote {files['folder']}/: {first} .. {last}, sheet.png, sequence.gif")
    return 0
