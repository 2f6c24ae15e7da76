"""Train the RLMiniStyler agent with stable-baselines3's SAC in the style-transfer env.

Settings come from a TOML config (``--config``), then ``--set key=value`` overrides, then the
explicit flags. ``--resume`` continues from ``<output>/checkpoints/last.zip`` (step count,
schedule, optimizers; the replay buffer too if it was saved, else it is refilled from the
policy) with the run's own saved ``config.json``: ``--output`` alone is enough, flags may change
only what :data:`agents.sac.config.RESUME_KEYS` lists (budget, device, data folders, logging),
and a flag that contradicts the saved run is refused. Ctrl-C, SIGTERM (a job scheduler's stop,
``kill``) or ``--time-limit`` write a checkpoint and ``final.pt`` first.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from styleenv_cli.commands import UsageError

HELP = "train the RLMiniStyler agent with SB3's SAC"

_FLAGS = {
    "content": "content images (folder or file; default: procedural)",
    "style": "style images (folder or file; default: procedural)",
    "image_size": "side of the training crops (multiple of 4)",
    "total_steps": "env steps in all (one update per step)",
    "seed": "random seed (also picks the held-back pairs)",
    "device": "auto, cpu or cuda",
    "output": "run folder (checkpoints, TensorBoard logs, samples, final weights)",
    "init": "fine-tune from: 'default' (the shipped checkpoint), a styleenv checkpoint file or the released "
            "model's folder",
    "checkpoint_every": "env steps between checkpoints",
    "image_every": "env steps between sample pictures",
    "eval_every": "env steps between held-back evaluations",
    "threads": "torch CPU threads (0: automatic, at most the cores other processes leave free)",
    "time_limit": "minutes of training, then a clean stop (checkpoint and final.pt written); 0: none",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="TOML", help="configuration file (e.g. configs/cpu.toml)")
    parser.add_argument("--set", dest="overrides", metavar="KEY=VALUE", action="append", default=[],
                        help="override one config key (repeatable)")
    for key, text in _FLAGS.items():
        parser.add_argument(f"--{key.replace('_', '-')}", dest=key, default=None, metavar=key.split("_")[-1].upper(),
                            help=text)
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    parser.add_argument("--save-replay", action="store_true", default=None,
                        help="also checkpoint the replay buffer (large)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--verbose", "-v", action="store_true", help="print checkpoints and evaluations")


def config_from_args(args: argparse.Namespace):
    """The :class:`~agents.sac.config.TrainConfig` of parsed arguments (raises UsageError)."""
    from agents.sac.config import ConfigError, load_config, parse_set, resume_config

    try:
        overrides = parse_set(args.overrides)
        for key in _FLAGS:
            value = getattr(args, key, None)
            if value is not None:
                overrides[key] = value
        if args.save_replay:
            overrides["save_replay"] = True
        if args.no_progress:
            overrides["progress"] = False
        if args.resume:
            output = overrides.get("output") or load_config(args.config).output
            saved = Path(output) / "config.json"
            if saved.is_file():
                return resume_config(saved, {**overrides, "output": output})
        return load_config(args.config, overrides)
    except ConfigError as err:
        raise UsageError(str(err)) from None


def run(args: argparse.Namespace) -> int:
    from agents.sac.trainer import build, learn

    config = config_from_args(args)
    try:
        session = build(config, resume=args.resume, verbose=int(args.verbose))
    except (ValueError, FileNotFoundError) as err:
        raise UsageError(str(err)) from None
    print(f"{'resuming' if session.resumed else 'training'} in {session.directory} "
          f"from step {session.model.num_timesteps} to {config.total_steps}")
    learn(session)  # SIGTERM arrives as KeyboardInterrupt (styleenv_cli.main): learn saves first
    final = session.evaluation.history[-1] if session.evaluation.history else None
    if final:
        print(f"held-back mean reward at step {final['step']}: {final['mean_reward']:.4f}")
    print(f"weights: {session.directory / 'final.pt'}")
    return 0
