"""Explicit pairs and reports of finished runs: :func:`read_pairs` reads a ``pairs.csv``,
:func:`report_folder` writes the table of every row of an output folder, :func:`merge` one
table of the rows of several output folders."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from styleenv.data import ImageSource
from styleenv.evaluation.results import (ROWS_FILE, EvaluationError, Row, complete_keys, episode_key, read_record,
                                        read_results, write_agents_record, write_rows)
from styleenv.evaluation.run import AGENTS_FILE, RUN_FILE, Settings, default_report_steps, report


def read_pairs(path: str | Path) -> tuple[ImageSource, ImageSource, list[tuple[int, int]]]:
    """The pairs of a CSV with the columns ``content`` and ``style`` (image paths, relative to
    the CSV's folder unless absolute), one pair a row.

    :return: the content and style images (each file once) and the pairs as indices into them
    :raises EvaluationError: a missing file, not UTF-8 text, other columns, no rows or an unreadable image
    """
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(f"pairs file {path} does not exist")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not {"content", "style"} <= set(reader.fieldnames or ()):
                raise EvaluationError(f"{path} needs the columns content,style (one image path each, a pair a row)")
            rows = [(r["content"], r["style"]) for r in reader]
    except (UnicodeDecodeError, csv.Error) as err:
        raise EvaluationError(f"{path} is not a UTF-8 CSV with the columns content,style ({type(err).__name__})") from None
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


def report_folder(out: str | Path, report_steps: Sequence[int] | None = None, steps: int | None = None,
                  sheet_pairs: int = 4, plots: bool = True, log: Callable[[str], None] = print) -> dict[str, Path]:  # fmt: skip
    """The table, plots and sheets of every agent, pair and size of the complete episodes in
    ``out/rows.csv`` (``--report-only`` with nothing selected); the CSV is not changed.

    :param out: an output folder of :func:`~styleenv.evaluation.run.evaluate`
    :param report_steps: the steps shown (None: :func:`default_report_steps` of the run's)
    :param steps: the episode length asked for (None: the run's); another one is refused
    :param sheet_pairs: pairs in each contact sheet: the first of the CSV (whose frames a run keeps)
    :return: the files written, by kind
    :raises EvaluationError: no rows, another episode length, report steps beyond the run's
    """
    out = Path(out)
    rows = read_results(out)
    run = read_record(out / RUN_FILE)
    before = run.get("steps") or max(r["step"] for r in rows)
    if steps is not None and steps != before:
        raise EvaluationError(f"{out} holds a run with --steps {before}; use --steps {before} or leave it out")
    done = complete_keys(rows, before)
    rows = [r for r in rows if episode_key(r) in done]
    if not rows:
        raise EvaluationError(f"{out / ROWS_FILE} holds no complete episode")
    settings = Settings(sizes=sorted({r["size"] for r in rows}), steps=before, sheet_pairs=sheet_pairs,
                        report_steps=report_steps or default_report_steps(before))  # fmt: skip
    settings.check()
    names = list(dict.fromkeys(r["agent"] for r in rows))
    pairs = list(dict.fromkeys((r["content"], r["style"]) for r in rows))
    log(f"evaluate: report of {len(names)} agents x {len(pairs)} pairs x {len(settings.sizes)} sizes in {out / ROWS_FILE}")
    return report(out, rows, names, settings, pairs[:sheet_pairs], plots, log)


def merge(folders: Sequence[str | Path], out: str | Path, report_steps: Sequence[int] | None = None, plots: bool = True,
          log: Callable[[str], None] = print) -> dict[str, Path]:  # fmt: skip
    """One table (and plots) of the rows of several evaluation folders, written into ``out``.

    The folders must hold runs of the same episode length and env, and an agent of one name
    must have read the same weights in each (``agents.json``). An episode found in more than
    one folder is taken from the first. Contact sheets stay in the source folders.

    :param folders: output folders of earlier runs
    :param out: where the merged ``rows.csv``, ``agents.json``, ``run.json``, ``table.md`` and plots go
    :param report_steps: the steps shown in the table (None: :func:`default_report_steps` of the runs')
    :return: the files written, by kind
    :raises EvaluationError: a folder without results, runs that differ, an agent of other
        weights in two folders, ``out`` among the folders
    """
    out = Path(out)
    if any(Path(f).resolve() == out.resolve() for f in folders):
        raise EvaluationError(f"--out {out} is one of the merged folders; choose a new folder")
    rows: list[Row] = []
    agents: dict[str, dict] = {}
    runs = set()
    seen: set[tuple] = set()
    for folder in map(Path, folders):
        found = read_results(folder)
        run = read_record(folder / RUN_FILE)
        runs.add((run.get("steps"), run.get("env")))
        if len(runs) > 1:
            raise EvaluationError(f"{folder} holds a run of another episode length or env ({sorted(runs, key=str)}); merge like runs")
        new = [r for r in found if episode_key(r) not in seen]
        seen.update(episode_key(r) for r in new)
        rows += new
        info = read_record(folder / AGENTS_FILE)
        for name, entry in info.items():
            sha = {agents.get(name, entry).get("weights", {}).get("sha256"), entry.get("weights", {}).get("sha256")}
            if len(sha - {None}) > 1:
                raise EvaluationError(f"agent {name!r} read other weights in {folder} than in an earlier folder; "
                                      "evaluate both in one run, which names them apart")  # fmt: skip
            agents.setdefault(name, entry)
    steps, env_id = runs.pop()
    report_steps = report_steps or default_report_steps(steps or 1)
    bad = [k for k in report_steps if steps is not None and not 1 <= k <= steps]
    if bad:
        raise EvaluationError(f"report steps must lie in 1..{steps}, got {list(report_steps)}")
    out.mkdir(parents=True, exist_ok=True)
    write_rows(out / ROWS_FILE, rows, append=False)
    write_agents_record(out / AGENTS_FILE, agents)
    (out / RUN_FILE).write_text(json.dumps({"steps": steps, "env": env_id, "merged": [str(f) for f in folders]}) + "\n")
    names = list(dict.fromkeys(r["agent"] for r in rows))
    log(f"evaluate: merged {len(rows)} rows of {len(names)} agents from {len(folders)} folders into {out}")
    settings = Settings(sizes=sorted({r["size"] for r in rows}), steps=steps or 1, report_steps=report_steps)
    return report(out, rows, names, settings, [], plots, log)
