"""Reports of an evaluation: the markdown table in the shape of the paper's Table 1, plots, and
a contact sheet per agent and size (a few pairs at the report steps)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from styleenv.evaluation.results import Row, summarise
from styleenv.pixels import to_pil
from styleenv.visual import grid, save_png

TABLE_FILE = "table.md"


def markdown_table(rows: list[Row], info: dict[str, dict], agents: Sequence[str], report_steps: Sequence[int]) -> str:
    """Table 1's shape: a row per agent and report step; Params (1e6) and Storage (MB = 2^20
    bytes of weights), then per size Content Loss, SSIM, Style Loss, Time (s) (mean
    cumulative agent seconds to produce that step's image) and, where the rows hold the env's
    rewards, Return (the rewards summed up to that step), means over the evaluated pairs.

    :param rows: the rows to summarise
    :param info: per agent ``{"parameters", "storage_bytes"}``
    :param agents: the agents, in the table's order
    :param report_steps: the steps shown
    """
    summary = summarise(rows)
    sizes = sorted({r["size"] for r in rows})
    returns = any(np.isfinite(v["return"]) for v in summary.values())  # a column where the CSV has rewards
    head = ["Method", "Params (1e6) ↓", "Storage (MB) ↓"]
    for size in sizes:
        head += [f"{size}px Content Loss ↓", f"{size}px SSIM ↑", f"{size}px Style Loss ↓", f"{size}px Time (s) ↓"]
        head += [f"{size}px Return ↑"] if returns else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for agent in agents:
        meta = info.get(agent, {})
        for step in report_steps:
            cells = [f"{agent} (step {step})", f"{meta.get('parameters', 0) / 1e6:.4f}", f"{meta.get('storage_bytes', 0) / 2**20:.4f}"]
            for size in sizes:
                s = summary.get((agent, size, step))
                cells += ["–"] * 4 if s is None else [
                    f"{s['content_loss']:.4f}", f"{s['ssim']:.4f}", f"{s['style_loss']:.4f}", f"{s['cumulative_seconds']:.4f}"
                ]  # fmt: skip
                if returns:
                    cells.append("–" if s is None or not np.isfinite(s["return"]) else f"{s['return']:.3f}")
            lines.append("| " + " | ".join(cells) + " |")
    counts = {size: max((v["n"] for k, v in summary.items() if k[1] == size), default=0) for size in sizes}
    pairs = ", ".join(f"{n} pairs at {size}px" for size, n in counts.items())
    lines.append("")
    lines.append(f"Means over {pairs or 'no pairs'}. Content loss: relu4_1+relu5_1 MSE mean against the content; "
                 "style loss: relu1_1..relu5_1 mean/std loss mean; SSIM: grey-scale uint8 against the content; "
                 "time: agent seconds to produce the step's image (cumulative, style encoding included)"
                 + ("; return: the env's rewards summed up to the step." if returns else "."))  # fmt: skip
    return "\n".join(lines)


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("matplotlib is not installed (pip install 'styleenv[plots]')") from None
    return plt


def plot_all(rows: list[Row], folder: Path, agents: Sequence[str]) -> dict[str, Path]:
    """Per size: style and content loss against step, and the content-vs-style trade-off.

    :param rows: the rows to plot
    :param folder: where the PNG files go
    :param agents: the agents, in the legends' order
    :return: the files written, by kind
    :raises ImportError: matplotlib missing (the message says how to install it)
    """
    plt = _pyplot()
    folder.mkdir(parents=True, exist_ok=True)
    summary = summarise(rows)
    files = {}
    for size in sorted({r["size"] for r in rows}):
        series = {a: sorted((k[2], v) for k, v in summary.items() if k[0] == a and k[1] == size) for a in agents}
        series = {a: s for a, s in series.items() if s}
        for metric, label in (("style_loss", "style loss"), ("content_loss", "content loss")):
            fig, ax = plt.subplots(figsize=(4.5, 3.2), dpi=100)
            for agent, points in series.items():
                ax.plot([k for k, _ in points], [v[metric] for _, v in points], marker="o", ms=3, label=agent)
            ax.set(xlabel="step", ylabel=label, title=f"{label} by step ({size}px)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
            files[f"{metric} {size}"] = _save(fig, folder / f"{metric}_{size}.png", plt)
        fig, ax = plt.subplots(figsize=(4.5, 3.2), dpi=100)
        for agent, points in series.items():
            xs, ys = [v["content_loss"] for _, v in points], [v["style_loss"] for _, v in points]
            ax.plot(xs, ys, marker="o", ms=3, label=agent)
            ax.annotate("1", (xs[0], ys[0]), fontsize=7)
            ax.annotate(str(points[-1][0]), (xs[-1], ys[-1]), fontsize=7)
        ax.set(xlabel="content loss", ylabel="style loss", title=f"trade-off, steps 1..N ({size}px)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        files[f"tradeoff {size}"] = _save(fig, folder / f"tradeoff_{size}.png", plt)
    return files


def _save(fig: Any, path: Path, plt: Any) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _frame_dir(out: Path, agent: str, size: int, content: str, style: str) -> Path:
    return out / "frames" / str(size) / _safe(agent) / f"{_safe(content)}__{_safe(style)}"


def save_frames(out: Path, key: tuple, content: np.ndarray, style: np.ndarray, images: Sequence[np.ndarray],
                steps: Sequence[int]) -> None:  # fmt: skip
    """Keep the pictures of one episode for the sheets: ``frames/<size>/<agent>/<content>__<style>/``.

    :param out: the output folder
    :param key: the episode, ``(agent, content name, style name, size)``
    :param content: ``(3, H, W)`` uint8
    :param style: ``(3, H, W)`` uint8
    :param images: the moving image after each step, ``(3, H, W)`` uint8
    :param steps: the steps kept (1-based; those beyond the episode are skipped)
    """
    agent, content_name, style_name, size = key
    folder = _frame_dir(out, agent, size, content_name, style_name)
    save_png(to_pil(content), folder / "content.png")
    save_png(to_pil(style), folder / "style.png")
    for k in steps:
        if k <= len(images):
            save_png(to_pil(images[k - 1]), folder / f"step{k}.png")


def _short(name: str, width: int = 16) -> str:
    stem = Path(name).stem.removeprefix("procedural-")
    return stem if len(stem) <= width else stem[: width - 1] + "…"


def agent_sheet(out: Path, agent: str, size: int, pairs: Sequence[tuple[str, str]], steps: Sequence[int]) -> Path | None:
    """``sheets/<agent>_<size>.png``: a row per pair (content | style | report steps), from the saved frames.

    :param out: the output folder
    :param agent: the agent's name
    :param size: the image size
    :param pairs: ``(content name, style name)`` of the rows
    :param steps: the columns after content and style
    :return: the sheet, or None where no pair has frames
    """
    rows, labels = [], []
    for content, style in pairs:
        folder = _frame_dir(out, agent, size, content, style)
        if not (folder / "content.png").is_file():
            continue
        names = ["content.png", "style.png", *(f"step{k}.png" for k in steps)]
        rows.append([Image.open(folder / n).convert("RGB") if (folder / n).is_file() else None for n in names])
        labels.append(f"{_short(content)} / {_short(style)}")
    if not rows:
        return None
    sheet = grid(rows, thumb=min(size, 160), row_labels=labels, col_labels=["content", "style", *(f"step {k}" for k in steps)])
    return save_png(sheet, out / "sheets" / f"{_safe(agent)}_{size}.png")
