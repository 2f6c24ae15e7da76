"""Ship a training run's actor + builder as the package's default checkpoint, with its card.

    python scripts/ship_checkpoint.py runs/default-checkpoint-stage2 --eval outputs/eval-final \
        --command "styleenv train --config configs/default-checkpoint-stage2.toml --verbose" --wall-hours 2.88 \
        --hardware "2-core CPU" --continues runs/default-checkpoint/final.json

Reads ``RUN/checkpoints/last.zip`` (the SB3 model; only the policy's actor and builder are
kept: no optimiser, critic or replay state) and writes ``agents/checkpoints/rlministyler.pt``
and its card ``rlministyler.json``: sha256, and per training stage the command, config, steps,
wall time and held-back reward history (``eval.jsonl``); with ``--eval``, the per-agent,
per-step means of an evaluate output folder's ``rows.csv`` over the held-back pairs.

``--average SNAPSHOT[:WEIGHT] ...`` ships the weighted mean of several snapshots of the run
(copies of its ``last.zip`` at earlier steps, ``.pt`` files, or the released model's folder that
the run was fine-tuned from) instead of its last weights; the card's last stage lists them with
their sha256 and normalised weights, and counts the steps of the latest ``.zip`` snapshot (the
run's ``last.zip`` when none is one). ``--sibling RUN COMMAND WALL_HOURS`` adds another run from
the same start whose snapshots are averaged in: it is recorded as a stage of its own, before the
run's, after checking that it started from the same weights and held back the same files.

A ``.zip`` snapshot names its run by the TensorBoard folder saved in it (``RUN/tb``). A run that
wrote no TensorBoard logs (tensorboard not installed) saves none, so its snapshots name no run:
such a snapshot counts as RUN's, and with ``--sibling`` it is refused, since the card could then
give its steps to the wrong run.

A run that started from an earlier checkpoint (its config's ``init``) passes that checkpoint's
card with ``--continues``: its stages come first, after checking that its sha256 is the init
file's and that it held back the same files. ``--card-only`` rewrites the card of an already
shipped file (``torch.save`` output differs byte-wise between writes).
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def held_back(config: dict) -> dict:
    """The held-back file names of a run's config (the rule of :mod:`agents.sac.holdout`)."""
    from agents.sac.config import saved_holdout_seed
    from agents.sac.holdout import holdout_split
    from styleenv.images import list_images

    split = holdout_split(config["content"], config["style"], config["holdout_content"], config["holdout_style"],
                          config["eval_pairs"], saved_holdout_seed(config))
    held = {}
    for kind, train in (("content", split.content), ("style", split.style)):
        if isinstance(train, list):
            train_set = set(train)
            source = config[kind][0] if isinstance(config[kind], list) else config[kind]  # held back from
            held[kind] = [p.name for p in sorted(list_images(source)) if str(p) not in train_set]
    return {"rule": "agents.sac.holdout.holdout_split (seeded permutation of the sorted files)", **held}


def _held_files(holdout: dict) -> dict:
    """The held-back files of a card's record, without the name of the rule (its module may have moved)."""
    return {kind: names for kind, names in holdout.items() if kind != "rule"}


def init_source(config: dict) -> Path | None:
    """What a run started from: its config's ``init`` (``"default"``: the shipped checkpoint), if it exists.

    :return: a checkpoint file or the released model's folder; None without an ``init`` or when it is gone
    """
    from agents.default import init_path
    from agents.release import CheckpointError

    try:
        path = init_path(config["init"]) if config.get("init") else None
    except CheckpointError:  # the shipped file is missing or not the one its card names
        return None
    return path if path is not None and path.exists() else None


def fingerprint(path: Path) -> dict:
    """Name and sha256 of a checkpoint file, or of each network file of the released model's folder."""
    from agents.release import ACTOR_FILE, BUILDER_FILE
    from styleenv.weights import sha256_of

    if path.is_dir():
        return {"folder": path.name, "sha256": {name: sha256_of(path / name) for name in (ACTOR_FILE, BUILDER_FILE)}}
    return {"file": path.name, "sha256": sha256_of(path)}


def snapshot_data(path: Path) -> tuple[int, Path | None] | None:
    """Env steps and run folder of an SB3 zip snapshot (its JSON ``data``, nothing unpickled); None for others.

    The run folder is the parent of the zip's ``tensorboard_log`` (``RUN/tb``), None without one
    (a run that wrote no TensorBoard logs).

    :raises ValueError: a ``.zip`` that is not an SB3 model (one line naming it)
    """
    if path.suffix != ".zip":
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data"))
        steps = int(data["num_timesteps"])
    except (OSError, zipfile.BadZipFile, KeyError, TypeError, ValueError):
        raise ValueError(f"{path}: not an SB3 model zip (a copy of a run's checkpoints/last.zip)") from None
    tb = data.get("tensorboard_log")
    return steps, Path(tb).parent.resolve() if tb else None


def is_run_folder(run: Path) -> bool:
    """Whether ``run`` holds a training run's ``config.json`` and ``checkpoints/last.json``."""
    return (run / "config.json").is_file() and (run / "checkpoints" / "last.json").is_file()


def run_stage(run: Path, snapshots: list[tuple[int, Path | None]], main: bool, command: str,
              wall_hours: float | None, hardware: str | None) -> dict:
    """The card's record of one training run: command, steps, wall time, hardware, config, held-back history.

    :param snapshots: :func:`snapshot_data` of the averaged ``.zip`` files; the steps are those of the
        latest snapshot of this run (the main run also counts zips that name no run, which ``main``
        allows only without siblings), else the run's ``last.zip``
    """
    from styleenv.weights import sha256_of

    steps = json.loads((run / "checkpoints" / "last.json").read_text())["num_timesteps"]
    config = json.loads((run / "config.json").read_text())
    own = [n for n, origin in snapshots if origin == run.resolve() or (main and origin is None)]
    steps = max(own, default=steps)
    history = []
    if (run / "eval.jsonl").is_file():
        for line in (run / "eval.jsonl").read_text().splitlines():
            record = json.loads(line)
            if record["step"] <= steps:
                history.append({"step": record["step"], "mean_reward": record["mean_reward"],
                                "final_style_loss": record["final_style_loss"]})
    stage = {"command": command, "env_steps": steps, "wall_hours": wall_hours, "hardware": hardware,
             "config": config, "heldout_reward_history": history}
    start = init_source(config)
    if start is not None and start.is_file():
        stage["init_sha256"] = sha256_of(start)
    elif start is not None:
        stage["init_release"] = fingerprint(start)
    return stage


def earlier_stages(card_path: Path, init_sha256: str | None, holdout: dict) -> list[dict]:
    """The training stages of the checkpoint a run started from (``--continues CARD``).

    :param init_sha256: sha256 of the run's ``init`` file (``None``: the run has none)
    :raises ValueError: the card is not JSON, or does not continue into this run (one line saying why)
    """
    try:
        card = json.loads(card_path.read_text())
    except ValueError:
        raise ValueError(f"--continues {card_path}: not a checkpoint card (not JSON)") from None
    if init_sha256 is None:
        raise ValueError("--continues: the run's config has no init file to match")
    if init_sha256 != card["sha256"]:
        raise ValueError(f"--continues: {card_path} describes another file than the run's init")
    if _held_files(card["training"]["holdout"]) != _held_files(holdout):
        raise ValueError(f"--continues: {card_path} held back other files than this run")
    return card["training"]["stages"]


def summarise_heldout(rows_csv: Path, holdout: dict) -> dict:
    """Per agent and step, the means of an evaluate ``rows.csv`` over the held-back pairs only."""
    from styleenv.evaluation.results import read_rows, summarise

    rows = [r for r in read_rows(rows_csv)
            if r["content"] in holdout.get("content", ()) and r["style"] in holdout.get("style", ())]
    out: dict[str, dict] = defaultdict(dict)
    for (agent, size, step), means in sorted(summarise(rows).items()):
        out[agent][f"{size}px step {step}"] = means
    return dict(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, nargs="?", default=Path("runs/default-checkpoint"), help="training run folder")
    parser.add_argument("--eval", type=Path, help="an evaluate output folder with rows.csv (its held-back rows are summarised)")
    parser.add_argument("--command", default="", help="the training command, recorded in the card")
    parser.add_argument("--wall-hours", type=float, default=None, help="training wall time, recorded in the card")
    parser.add_argument("--hardware", default=None, help="what it trained on (e.g. 'one NVIDIA H200'), recorded in the card")
    parser.add_argument("--continues", type=Path, default=None,
                        help="card of the checkpoint the run started from (its training stages come first)")
    parser.add_argument("--average", nargs="+", metavar="SNAPSHOT[:WEIGHT]", default=None,
                        help="ship the weighted mean of these snapshots of the run (.zip or .pt) instead of last.zip")
    parser.add_argument("--sibling", nargs=3, action="append", default=[], metavar=("RUN", "COMMAND", "WALL_HOURS"),
                        help="another run from the same start whose snapshots are among --average (a stage of its own)")
    parser.add_argument("--out", type=Path, default=None,
                        help="checkpoint path ending in .pt, its card written beside it as .json (default: the package's)")
    parser.add_argument("--card-only", action="store_true",
                        help="keep the checkpoint file as it is (same bytes) and rewrite its card only")
    args = parser.parse_args(argv)

    from agents.averaging import average_networks, normalised, parse_source
    from agents.default import DEFAULT_CARD, DEFAULT_CHECKPOINT
    from agents.release import CheckpointError, save_checkpoint
    from styleenv.files import is_writable_folder
    from styleenv.weights import sha256_of

    zip_path = args.run / "checkpoints" / "last.zip"
    if not zip_path.is_file():
        parser.error(f"{zip_path}: no checkpoint; train first (styleenv train ...)")
    if not is_run_folder(args.run):
        parser.error(f"{args.run}: not a training run folder (no config.json or checkpoints/last.json)")
    if args.continues is not None and not args.continues.is_file():
        parser.error(f"--continues {args.continues}: no such card file")
    if args.eval is not None and not (args.eval / "rows.csv").is_file():
        parser.error(f"--eval {args.eval}: no rows.csv there (pass a styleenv evaluate output folder)")
    out = args.out or DEFAULT_CHECKPOINT
    if out.suffix != ".pt":
        parser.error(f"--out {out}: must end in .pt (its card is written beside it as .json)")
    if not is_writable_folder(out.parent):
        parser.error(f"--out {out}: {out.parent} is not a writable folder")
    if args.card_only and not out.is_file():
        parser.error(f"{out}: no checkpoint to write a card for")
    sibling_runs = [args.run.resolve()] + [Path(run).resolve() for run, _, _ in args.sibling]
    if len(set(sibling_runs)) != len(sibling_runs):
        parser.error("--sibling: each sibling must be another run than RUN and the other siblings")
    sources = [(Path(path), weight) for path, weight in map(parse_source, args.average or ())]
    averaged = []
    if sources:
        try:
            shares = normalised(sources)
        except ValueError as err:
            parser.error(f"--average: {err}")
        for path, _ in sources:
            if not path.exists():
                parser.error(f"--average {path}: no such snapshot file or folder")
        averaged = [{**fingerprint(path), "weight": share} for path, share in shares]
    try:
        zips = {path: snapshot_data(path) for path, _ in sources}
    except ValueError as err:
        parser.error(f"--average {err}")
    snapshots = [data for data in zips.values() if data is not None]
    unnamed = [path for path, data in zips.items() if data is not None and data[1] is None]
    if unnamed and args.sibling:
        parser.error(f"--average {unnamed[0]}: the snapshot names no run (its run wrote no TensorBoard logs), "
                     "so with --sibling its steps could go to the wrong run's stage")
    stage = run_stage(args.run, snapshots, True, args.command, args.wall_hours, args.hardware)
    config = stage["config"]
    holdout = held_back(config)
    if averaged:
        stage["averaged"] = averaged
    siblings = []
    for run, command, hours in args.sibling:
        run = Path(run)
        if not is_run_folder(run):
            parser.error(f"--sibling {run}: not a training run folder (no config.json or checkpoints/last.json)")
        try:
            hours = float(hours)
        except ValueError:
            parser.error(f"--sibling {run}: WALL_HOURS must be a number, got {hours!r}")
        sibling = run_stage(run, snapshots, False, command, hours, args.hardware)
        start_of = ("init_sha256", "init_release")
        if [sibling.get(k) for k in start_of] != [stage.get(k) for k in start_of]:
            parser.error(f"--sibling {run}: started from other weights than {args.run}")
        if _held_files(held_back(sibling["config"])) != _held_files(holdout):
            parser.error(f"--sibling {run}: held back other files than {args.run}")
        siblings.append(sibling)
    stages = siblings + [stage]
    if args.continues:
        try:
            stages = earlier_stages(args.continues, stage.get("init_sha256"), holdout) + stages
        except ValueError as err:
            parser.error(str(err))
    total_steps = sum(s["env_steps"] for s in stages)
    if not args.card_only:
        try:
            actor, builder, weights = average_networks(sources or [(zip_path, 1.0)])  # one source: that checkpoint
        except CheckpointError as err:  # a .pt or folder that is not a checkpoint (names it)
            parser.error(str(err))
        meta = {"num_timesteps": total_steps, "image_size": config["image_size"], "source": "styleenv train (SB3 SAC)"}
        if weights is not None:
            meta["loss_weights"] = weights
        save_checkpoint(out, actor, builder, meta)
    hours = [s["wall_hours"] for s in stages]
    card = {
        "file": out.name,
        "sha256": sha256_of(out),
        "bytes": out.stat().st_size,
        "training": {"env_steps": total_steps, "wall_hours": None if None in hours else round(sum(hours), 2),
                     "holdout": holdout, "stages": stages},
        "evaluation": summarise_heldout(args.eval / "rows.csv", holdout) if args.eval else None,
    }
    card_path = DEFAULT_CARD if args.out is None else out.with_suffix(".json")
    card_path.write_text(json.dumps(card, indent=1) + "\n")
    print(f"wrote {out} ({card['bytes']:,} bytes, sha256 {card['sha256'][:12]}...) and {card_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
