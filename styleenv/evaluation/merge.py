"""Explicit pairs and merged reports: :func:`read_pairs` reads a ``pairs.csv``, :func:`merge`
writes one table of the rows of several output folders."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from styleenv.data import ImageSource
from styleenv.evaluation.results import ROWS_FILE, EvaluationError, Row, episode_key, read_rows, write_rows
from styleenv.evaluation.run import AGENTS_FILE, RUN_FILE, Settings, report


def read_pairs(path: str | Path) -> tuple[ImageSource, ImageSource, list[tuple[int, int]]]:
    """The pairs of a CSV with the columns ``content`` and ``style`` (image paths, relative to
    the CSV's folder unless absolute), one pair a row.

    :return: the content and style images (each file once) and the pairs as indices into them
    :raises EvaluationError: a missing file, other columns, no rows or an unreadable image
    """
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(f"pairs file {path} does not exist")
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if not {"content", "style"} <= set(reader.fieldnames or ()):
            raise EvaluationError(f"{path} needs the columns content,style (one image path each, a pair a row)")
        rows = [(r["content"], r["style"]) for r in reader]
    if not rows:
        raise EvaluationError(f"{path} holds no pairs")
    files: dict[str, list[Path]] = {"content": [], "style": []}
    pairs = []
    for line, names in enumerate(rows, start=2):
        pair = []
        for kind, name in zip(("content", "style"), names):
            if not name:
                raise EvaluationError(f"{path} line {line}: no {kind} path")
            file = (path.parent / name.strip()).resolve()
            if not file.is_file():
                raise EvaluationError(f"{path} line {line}: {kind} image {name} does not exist")
            if file not in files[kind]:
                files[kind].append(file)
            pair.append(files[kind].index(file))
        pairs.append((pair[0], pair[1]))
    try:
        return ImageSource(files["content"], kind="content"), ImageSource(files["style"], kind="style"), pairs
    except (ValueError, FileNotFoundError) as err:
        raise EvaluationError(str(err).splitlines()[0]) from None


def merge(folders: Sequence[str | Path], out: str | Path, report_steps: Sequence[int], plots: bool = True,
          log: Callable[[str], None] = print) -> dict[str, Path]:  # fmt: skip
    """One table (and plots) of the rows of several evaluation folders, written into ``out``.

    The folders must hold runs of the same episode length and env. An episode found in more
    than one folder is taken from the first. Contact sheets stay in the source folders.

    :param folders: output folders of earlier runs
    :param out: where the merged ``rows.csv``, ``agents.json``, ``run.json``, ``table.md`` and plots go
    :param report_steps: the steps shown in the table
    :return: the files written, by kind
    :raises EvaluationError: a folder without results, runs that differ, ``out`` among the folders
    """
    out = Path(out)
    if any(Path(f).resolve() == out.resolve() for f in folders):
        raise EvaluationError(f"--out {out} is one of the merged folders; choose a new folder")
    rows: list[Row] = []
    agents: dict[str, dict] = {}
    runs = set()
    seen: set[tuple] = set()
    for folder in map(Path, folders):
        if not (folder / ROWS_FILE).is_file():
            raise EvaluationError(f"{folder} holds no {ROWS_FILE}")
        run = json.loads((folder / RUN_FILE).read_text()) if (folder / RUN_FILE).is_file() else {}
        runs.add((run.get("steps"), run.get("env")))
        if len(runs) > 1:
            raise EvaluationError(f"{folder} holds a run of another episode length or env ({sorted(runs, key=str)}); merge like runs")
        new = [r for r in read_rows(folder / ROWS_FILE) if episode_key(r) not in seen]
        seen.update(episode_key(r) for r in new)
        rows += new
        if (folder / AGENTS_FILE).is_file():
            agents |= {k: v for k, v in json.loads((folder / AGENTS_FILE).read_text()).items() if k not in agents}
    steps, env_id = runs.pop()
    bad = [k for k in report_steps if steps is not None and not 1 <= k <= steps]
    if bad:
        raise EvaluationError(f"report steps must lie in 1..{steps}, got {list(report_steps)}")
    out.mkdir(parents=True, exist_ok=True)
    write_rows(out / ROWS_FILE, rows, append=False)
    (out / AGENTS_FILE).write_text(json.dumps(agents, indent=1, sort_keys=True) + "\n")
    (out / RUN_FILE).write_text(json.dumps({"steps": steps, "env": env_id, "merged": [str(f) for f in folders]}) + "\n")
    names = list(dict.fromkeys(r["agent"] for r in rows))
    log(f"evaluate: merged {len(rows)} rows of {len(names)} agents from {len(folders)} folders into {out}")
    settings = Settings(sizes=sorted({r["size"] for r in rows}), steps=steps or 1, report_steps=report_steps)
    return report(out, rows, names, settings, [], plots, log)
