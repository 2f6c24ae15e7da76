"""The results of an evaluation: ``rows.csv``, one row per agent, content, style, size and step,
and the folder's JSON records (``agents.json``, ``run.json``).

The CSV is what makes a run resumable: an episode's rows are appended once it is complete, and
a re-run skips the (agent, content, style, size) episodes that have a row for every step.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from styleenv.files import atomic_write

COLUMNS = (
    "agent", "content", "style", "size", "step",
    "content_loss", "style_loss", "ssim", "seconds", "cumulative_seconds", "reward", "return",
)  # fmt: skip
#: The env's reward of the step and the return up to it; CSVs written before they existed read as NaN.
RETURN_COLUMNS = ("reward", "return")
KEY = ("agent", "content", "style", "size")
METRICS = ("content_loss", "ssim", "style_loss")
ROWS_FILE = "rows.csv"

Row = dict[str, Any]


class EvaluationError(ValueError):
    """Bad evaluation input (missing images, unusable output folder, bad steps); one line."""


def read_rows(path: Path) -> list[Row]:
    """Rows of a results CSV, typed (size and step int, metrics float); none if there is no file.

    :raises EvaluationError: a CSV with other columns
    """
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) not in (COLUMNS, COLUMNS[: -len(RETURN_COLUMNS)]):
            raise EvaluationError(f"{path} has other columns than an evaluation CSV; choose another --out")
        rows = list(reader)
    for row in rows:
        row["size"], row["step"] = int(row["size"]), int(row["step"])
        for col in COLUMNS[5:]:
            row[col] = float(row.get(col) or "nan")
    return rows


def read_results(folder: Path) -> list[Row]:
    """The rows of an output folder's ``rows.csv`` (:func:`read_rows`), for a report.

    :raises EvaluationError: the folder holds no ``rows.csv``, or one without rows
    """
    if not (folder / ROWS_FILE).is_file():
        raise EvaluationError(f"{folder} holds no {ROWS_FILE}")
    rows = read_rows(folder / ROWS_FILE)
    if not rows:
        raise EvaluationError(f"{folder / ROWS_FILE} holds no rows")
    return rows


def read_record(path: Path) -> dict[str, Any]:
    """A JSON record of an output folder (``agents.json``, ``run.json``); empty where there is none.

    :param path: the record's file
    """
    return json.loads(path.read_text()) if path.is_file() else {}


def write_agents_record(path: Path, info: dict[str, Any]) -> None:
    """Write an ``agents.json`` (sorted, atomically).

    :param path: the file
    :param info: agent name -> its record
    """
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(info, indent=1, sort_keys=True) + "\n"))


def write_rows(path: Path, rows: list[Row], append: bool) -> None:
    """Write rows (floats to 8 significant digits), with the header if the file is new.

    :param path: the CSV
    :param rows: rows with the :data:`COLUMNS`
    :param append: add to the file; else replace it
    """
    new = not append or not path.is_file()
    with open(path, "a" if append else "w", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.8g}" if isinstance(v, float) else v) for k, v in row.items()})


def episode_key(row: Row) -> tuple:
    """The episode a row belongs to: ``(agent, content, style, size)``."""
    return tuple(row[k] for k in KEY)


def complete_keys(rows: list[Row], steps: int) -> set[tuple]:
    """Episodes (agent, content, style, size) with a row for every step 1..``steps``."""
    found: dict[tuple, set[int]] = defaultdict(set)
    for row in rows:
        found[episode_key(row)].add(row["step"])
    need = set(range(1, steps + 1))
    return {key for key, have in found.items() if need <= have}


def episode_rows(key: tuple, values: Sequence[dict[str, float]], seconds: Sequence[float],
                 rewards: Sequence[float]) -> list[Row]:  # fmt: skip
    """The rows of one episode: its metrics, the agent's seconds and the env's rewards, step by step.

    :param key: ``(agent, content, style, size)``
    :param values: per step ``{"content_loss", "style_loss", "ssim"}``
    :param seconds: per step, the agent's seconds
    :param rewards: per step, the env's reward
    """
    rows, total, gained = [], 0.0, 0.0
    for step, (value, s, r) in enumerate(zip(values, seconds, rewards, strict=True), start=1):
        total += s
        gained += r
        rows.append({**dict(zip(KEY, key)), "step": step, **value, "seconds": s, "cumulative_seconds": total,
                     "reward": r, "return": gained})  # fmt: skip
    return rows


def summarise(rows: list[Row]) -> dict[tuple[str, int, int], dict[str, float]]:
    """Means over pairs per (agent, size, step): the metrics, ``cumulative_seconds``, ``return``
    (NaN where a row has none) and ``n``."""
    groups: dict[tuple[str, int, int], list[Row]] = defaultdict(list)
    for row in rows:
        groups[(row["agent"], row["size"], row["step"])].append(row)
    return {
        key: {col: float(np.mean([r.get(col, np.nan) for r in group])) for col in (*METRICS, "cumulative_seconds", "return")}
        | {"n": len(group)}
        for key, group in groups.items()
    }
