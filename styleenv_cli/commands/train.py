"""Train the RLMiniStyler agent with stable-baselines3's SAC in the style-transfer env.

Settings come from a TOML config (``--config``), then ``--set key=value`` overrides, then the
explicit flags. ``--resume`` continues from ``<output>/checkpoints/last.zip`` (step count,
schedule, optimizers; the replay buffer too if it was saved, else it is refilled from the
policy) with the run's own saved ``config.json``: ``--output`` alone is enough, flags may change
only what ``agents.sac.config.RESUME_KEYS`` lists (budget, device, envs, data folders, logging),
and a flag that contradicts the saved run is refused, as is a folder that holds no run; a
``--config`` given with ``--resume`` counts as ``--set`` of each of its keys. More ``threads`` than
this machine has cores are refused from ``--threads`` or ``--set``; a count read from a file (a
config, a resumed run's saved one) is lowered to the cores, with a warning. Ctrl-C, SIGTERM (a job scheduler's stop, ``kill``) or ``--time-limit``
write a checkpoint and ``final.pt`` first, and so does an image that fails to decode mid-run (one
line names it). A run whose weights diverge (NaN) stops with one line; its last good checkpoint
is kept.

Without a config the data are the built-in procedural images; ``--content``/``--style`` point at
your folders. Evaluation pairs are held back from them (``holdout_content``/``holdout_style``;
a folder too small for that holds back a quarter of itself; ``--no-holdout`` holds back none).
An output folder that already holds a run is refused unless ``--resume`` continues it or
``--overwrite`` starts it again (removing the earlier run's files, once every check has passed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import warnings
from pathlib import Path

from styleenv_cli.commands import UsageError, check_threads, prepare_output

HELP = "train the RLMiniStyler agent with SB3's SAC"

_FLAGS = {
    "content": "content images (folder or file; default: procedural)",
    "style": "style images (folder or file; default: procedural)",
    "image_size": "side of the training crops (multiple of 4)",
    "total_steps": "env steps in all (one update per step)",
    "seed": "random seed of SB3 and the envs (the held-back pairs follow holdout_seed, not this)",
    "device": "auto, cpu, cuda or cuda:N",
    "envs": "episodes stepped as one batch (one builder call and one VGG pass for all; for a GPU), each "
            "env step still one SAC and one generative update; 1: a single env",
    "output": "run folder (checkpoints, TensorBoard logs, samples, final weights)",
    "init": "fine-tune from: 'default' (the shipped checkpoint), a styleenv checkpoint file or the released "
            "model's folder",
    "checkpoint_every": "env steps between checkpoints",
    "image_every": "env steps between sample pictures",
    "eval_every": "env steps between held-back evaluations",
    "threads": "torch CPU threads (0: automatic, at most the cores other processes leave free)",
    "time_limit": "minutes of training and its held-back evaluations, then a clean stop (checkpoint and final.pt written); 0: none",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="TOML", help="configuration file (e.g. configs/cpu.toml)")
    parser.add_argument("--set", dest="overrides", metavar="KEY=VALUE", action="append", default=[],
                        help="override one config key (repeatable)")
    for key, text in _FLAGS.items():
        parser.add_argument(f"--{key.replace('_', '-')}", dest=key, default=None, metavar=key.split("_")[-1].upper(),
                            help=text)
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    parser.add_argument("--overwrite", action="store_true",
                        help="start again in an output folder that holds a run (its files are removed)")
    parser.add_argument("--no-holdout", action="store_true",
                        help="hold back no images for evaluation (for a few images of your own)")
    parser.add_argument("--save-replay", action="store_true", default=None,
                        help="also checkpoint the replay buffer (large)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--verbose", "-v", action="store_true", help="print checkpoints and evaluations")


def config_from_args(args: argparse.Namespace):
    """The :class:`~agents.sac.config.TrainConfig` of parsed arguments (raises UsageError)."""
    from agents.sac.config import ConfigError, TrainConfig, load_config, parse_set, read_config, resume_config

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
        if args.no_holdout:
            overrides["holdout_content"] = overrides["holdout_style"] = 0
        if args.resume:  # the config file's values count as --set, the flags' after them
            requested = {**read_config(args.config), **overrides}
            output = requested.get("output") or TrainConfig().output
            saved = Path(output) / "config.json"
            if not saved.is_file():
                raise UsageError(f"--output {output}: no run to resume there (no config.json); check the folder, "
                                 f"or drop --resume to start a new run")
            config = resume_config(saved, {**requested, "output": output})
        else:
            config = load_config(args.config, overrides)
    except ConfigError as err:
        raise UsageError(str(err)) from None
    _fit_threads(config, "threads" in overrides, "--threads" if args.threads is not None else "threads")
    return config


def _fit_threads(config, asked: bool, name: str) -> None:
    """Refuse more torch threads than this machine has cores where they are typed on the command
    line; lower a count read from a file (a config, or a resumed run's saved ``config.json`` from a
    bigger machine) to the cores, with a one-line warning.

    :param config: the run's :class:`~agents.sac.config.TrainConfig` (changed in place)
    :param asked: whether the count was given by ``--threads`` or ``--set``
    :param name: how the message names the count
    :raises UsageError: a count given now exceeds the cores
    """
    cores = os.cpu_count() or 1
    if not asked and config.threads > cores:
        print(f"styleenv train: warning: threads = {config.threads} (from a file) is more than this machine's "
              f"{cores} cores; the run uses {cores}", file=sys.stderr)
        config.threads = cores
    check_threads(config.threads, name)


#: What a run writes in its folder (removed by --overwrite; nothing else there is touched).
RUN_FILES = ("config.json", "holdout.json", "eval.jsonl", "final.pt", "checkpoints", "tb", "samples")


def _check_output(args: argparse.Namespace, output: Path) -> bool:
    """Refuse to start a new run over an earlier one, unless --overwrite; check the folder is writable.
    Removes nothing (:func:`_remove_run` does, once the run is built).

    :param args: the parsed arguments
    :param output: the run folder
    :return: whether the folder was created here
    """
    if args.resume and args.overwrite:
        raise UsageError("pass either --resume or --overwrite, not both")
    if not args.resume and not args.overwrite and (output / "config.json").is_file():
        raise UsageError(f"--output {output} holds a run: --resume continues it, --overwrite starts it "
                         f"again, or pass another --output")
    return prepare_output(output, "--output")


def _remove_run(output: Path) -> None:
    """Remove an earlier run's files (:data:`RUN_FILES`) from ``output``.

    :param output: the run folder
    """
    for name in RUN_FILES:
        path = output / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def run(args: argparse.Namespace) -> int:
    from agents.sac.checkpoints import TrainingError
    from agents.sac.trainer import build, learn

    config = config_from_args(args)
    output = Path(config.output)
    created = _check_output(args, output)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            session = build(config, resume=args.resume, verbose=int(args.verbose))
    except (ValueError, FileNotFoundError, NotADirectoryError) as err:  # a bad value, a missing folder
        if created and not any(output.iterdir()):
            output.rmdir()
        raise UsageError(str(err)) from None
    if args.overwrite and (output / "config.json").is_file():  # every check has passed (data, device, --init)
        _remove_run(output)
    for message in dict.fromkeys(str(w.message) for w in caught):  # the train and eval envs warn alike
        print(f"styleenv train: warning: {message}", file=sys.stderr)
    print(f"{'resuming' if session.resumed else 'training'} in {session.directory} "
          f"from step {session.model.num_timesteps} to {config.total_steps}")
    try:
        learn(session)  # SIGTERM arrives as KeyboardInterrupt (styleenv_cli.main): learn saves first
    except TrainingError as err:  # diverged, or an image that does not decode
        raise UsageError(str(err)) from None
    final = session.evaluation.history[-1] if session.evaluation.history else None
    if final:
        print(f"held-back mean reward at step {final['step']}: {final['mean_reward']:.4f}")
    print(f"weights: {session.directory / 'final.pt'}")
    return 0
