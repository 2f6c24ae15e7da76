"""Evaluating agents on the environment: the paper's Table 1 protocol, with pictures.

Every agent (:mod:`agents.protocol`: anything with ``act(observation)``) is rolled out through
``gymnasium.make("styleenv/StyleTransfer-v0", image_size=size)`` on each pinned (content,
style) pair. After every step the uint8 moving image is measured as in the paper (after
MicroAST): content loss (:func:`~styleenv.losses.paper_content_loss`, relu4_1 and relu5_1
against the *original* content), style loss (:func:`~styleenv.losses.paper_style_loss`,
relu1_1..relu5_1 statistics against the style) and SSIM on grey-scale uint8 against the
content (:func:`~styleenv.losses.ssim_grey`), plus the agent's seconds per step.

Outputs under ``out``: ``rows.csv`` (one row per agent, content, style, size and step),
``agents.json`` (parameters and storage), ``table.md`` (Table 1's shape), ``plots/*.png``
and ``sheets/*.png`` (per agent, a few pairs at the report steps).

Cost: the loss network dominates. A pair's content features and a style's statistics are
computed once; the relu1_1..relu4_1 features the env computes for its reward are picked up
with a forward hook on the shared loss network (checked against the observed image, else
recomputed), so a step costs one VGG pass to relu4_1 plus relu4_1 -> relu5_1.

Resumable: rows already in ``rows.csv`` are kept and their (agent, content, style, size)
episodes are skipped; an episode is written only once complete.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from PIL import Image

import styleenv
from styleenv import losses
from styleenv.data import ImageSource
from styleenv.pixels import chw_uint8_to_tensor, to_hwc, to_pil, to_uint8
from styleenv.vgg import ALL_TAPS, STYLE_TAPS, TAPS, LossNetwork, loss_network

COLUMNS = (
    "agent", "content", "style", "size", "step",
    "content_loss", "style_loss", "ssim", "seconds", "cumulative_seconds",
)  # fmt: skip
KEY = ("agent", "content", "style", "size")
METRICS = ("content_loss", "ssim", "style_loss")
ROWS_FILE = "rows.csv"
AGENTS_FILE = "agents.json"
RUN_FILE = "run.json"
TABLE_FILE = "table.md"


class EvaluationError(ValueError):
    """Bad evaluation input (missing images, unusable output folder, bad steps); one line."""


# --------------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------------


def image_source(spec: Sequence[str | Path] | None, kind: str) -> ImageSource:
    """An :class:`ImageSource` from command-line paths: one folder, files, or None (procedural set).

    :raises EvaluationError: a path that does not exist, or no readable images
    """
    if not spec:
        return ImageSource(None, kind=kind)
    paths = [Path(p) for p in spec]
    for p in paths:
        if not p.exists():
            raise EvaluationError(f"{kind} folder or file {p} does not exist")
    try:
        return ImageSource(paths[0] if len(paths) == 1 else paths, kind=kind)
    except (ValueError, FileNotFoundError) as err:
        raise EvaluationError(str(err).splitlines()[0]) from None


def select(count: int, limit: int | None, seed: int, stream: int) -> list[int]:
    """Indices of the images evaluated: all of them, or ``limit`` drawn without replacement by
    ``numpy.random.default_rng([seed, stream])`` and sorted (stream 0: contents, 1: styles)."""
    if limit is None or limit >= count:
        return list(range(count))
    if limit < 1:
        raise EvaluationError(f"limits must be at least 1, got {limit}")
    rng = np.random.default_rng([seed, stream])
    return sorted(int(i) for i in rng.choice(count, size=limit, replace=False))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


# --------------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------------


class PairMetrics:
    """The paper's metrics of images against one (content, style) pair.

    :param net: the loss network
    :param content: ``(3, H, W)`` uint8, the original content
    :param style_stats: the style's statistics at relu1_1..relu5_1 (see :meth:`style_stats`)
    """

    def __init__(
        self,
        net: LossNetwork,
        content: np.ndarray,
        style_stats: list[losses.Stats],
        content_feats: list[torch.Tensor] | None = None,
    ) -> None:
        self.net = net
        self.device = next(net.parameters()).device
        self.content_hwc = to_hwc(content)
        self.content_feats = content_feats or self.content_features(net, content)
        self.style_stats = style_stats
        self._cache: dict[bytes, dict[str, float]] = {}

    @staticmethod
    def content_features(net: LossNetwork, content: np.ndarray) -> list[torch.Tensor]:
        """relu4_1 and relu5_1 of a content image ``(3, H, W)`` uint8 (computed once per content)."""
        device = next(net.parameters()).device
        with torch.no_grad():
            return net(chw_uint8_to_tensor(content, device)[None], losses.PAPER_CONTENT_TAPS)

    @staticmethod
    def style_stats(net: LossNetwork, style: np.ndarray) -> list[losses.Stats]:
        """Statistics of a style image ``(3, H, W)`` uint8 at relu1_1..relu5_1 (computed once per style)."""
        device = next(net.parameters()).device
        with torch.no_grad():
            return losses.style_stats(net(chw_uint8_to_tensor(style, device)[None], ALL_TAPS))

    @torch.no_grad()
    def measure(self, images: Sequence[np.ndarray], early: Sequence[list[torch.Tensor] | None]) -> list[dict[str, float]]:
        """Metrics of each image.

        :param images: ``(3, H, W)`` uint8 images
        :param early: per image, its relu1_1..relu4_1 features if already computed, else None
        :return: per image ``{"content_loss", "style_loss", "ssim"}``
        """
        keys = [hashlib.blake2b(img.tobytes(), digest_size=16).digest() for img in images]
        todo = [i for i, k in enumerate(keys) if k not in self._cache]
        todo = [i for n, i in enumerate(todo) if keys[i] not in {keys[j] for j in todo[:n]}]  # unique images
        if todo:
            feats = self._features([images[i] for i in todo], [early[i] for i in todo])  # 5 x (n, C, h, w)
            content = losses.paper_content_loss_from_features(feats[3:], self.content_feats)
            style = losses.paper_style_loss_from_stats(losses.style_stats(feats), self.style_stats)
            for n, i in enumerate(todo):
                self._cache[keys[i]] = {
                    "content_loss": float(content[n]),
                    "style_loss": float(style[n]),
                    "ssim": losses.ssim_grey(to_hwc(images[i]), self.content_hwc),
                }
        return [dict(self._cache[k]) for k in keys]

    def _features(self, images: list[np.ndarray], early: list[list[torch.Tensor] | None]) -> list[torch.Tensor]:
        """relu1_1..relu5_1 of ``images`` (batched), reusing the env's relu1_1..relu4_1 where given."""
        if any(e is None for e in early):
            return self.net(chw_uint8_to_tensor(np.stack(images), self.device), ALL_TAPS)
        shallow = [torch.cat(level) for level in zip(*early)]  # 4 x (n, C, h, w)
        deep = self.net.body[TAPS["relu4_1"] + 1 : TAPS["relu5_1"] + 1](shallow[-1])  # (n, 512, h/2, w/2)
        return shallow + [deep]


@contextmanager
def _capture(net: LossNetwork) -> Iterator[list[tuple[torch.Tensor, tuple, list[torch.Tensor]]]]:
    """Record ``(input, taps, features)`` of every call of ``net`` inside the block."""
    calls: list = []

    def hook(module: torch.nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        taps = args[1] if len(args) > 1 else kwargs.get("taps", STYLE_TAPS)
        calls.append((args[0], tuple(taps), output))

    handle = net.register_forward_hook(hook, with_kwargs=True)
    try:
        yield calls
    finally:
        handle.remove()


def _matching_features(calls: list, image: np.ndarray) -> list[torch.Tensor] | None:
    """The relu1_1..relu4_1 features among ``calls`` that were computed from exactly ``image``."""
    target = torch.from_numpy(image)[None]
    for x, taps, feats in reversed(calls):
        if taps[: len(STYLE_TAPS)] != STYLE_TAPS or x.shape != target.shape:
            continue
        if torch.equal(to_uint8(x), target):
            return [f.detach() for f in feats[: len(STYLE_TAPS)]]
    return None


# --------------------------------------------------------------------------------------------------
# Rollouts
# --------------------------------------------------------------------------------------------------


class _Probe(gym.Wrapper):
    """Innermost wrapper: keeps the env's own images and features and times the env itself."""

    def __init__(self, env: gym.Env, net: LossNetwork) -> None:
        super().__init__(env)
        self.net = net
        self.seconds = 0.0
        self.moving: np.ndarray | None = None
        self.features: list[torch.Tensor] | None = None

    def reset(self, **kwargs: Any):
        start = time.perf_counter()
        obs, info = self.env.reset(**kwargs)
        self.seconds = time.perf_counter() - start
        self.moving, self.features = obs["moving"], None
        return obs, info

    def step(self, action: Any):
        with _capture(self.net) as calls:
            start = time.perf_counter()
            result = self.env.step(action)
            self.seconds = time.perf_counter() - start
        self.moving = result[0]["moving"]
        self.features = _matching_features(calls, self.moving)
        return result


@dataclass
class Episode:
    """One rollout: the moving image after each step and the agent's seconds for it."""

    images: list[np.ndarray] = field(default_factory=list)  # (3, H, W) uint8 each
    features: list[list[torch.Tensor] | None] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def rollout(env: gym.Env, probe: _Probe, agent: Any, content: np.ndarray, style: np.ndarray, steps: int, seed: int) -> Episode:
    """Roll ``agent`` for ``steps`` steps on one pinned pair.

    :param env: the env the agent acts in (``probe`` or a wrapper of it)
    :param probe: the innermost wrapper (the env's own images and timing)
    :param agent: the agent
    :param content: ``(3, H, W)`` uint8 (already ``size`` square: the env keeps it unchanged)
    :param style: ``(3, H, W)`` uint8
    :param steps: number of steps
    :param seed: reset seed
    :return: the episode; step 1's seconds include the agent's ``reset``
    """
    episode = Episode()
    start = time.perf_counter()
    obs, _ = env.reset(seed=seed, options={"content": to_pil(content), "style": to_pil(style)})
    reset = getattr(agent, "reset", None)
    if callable(reset):
        reset(obs)
    overhead = time.perf_counter() - start - probe.seconds
    for _ in range(steps):
        start = time.perf_counter()
        action = agent.act(obs)
        obs, _, terminated, truncated, _ = env.step(action)
        episode.seconds.append(time.perf_counter() - start - probe.seconds + overhead)
        overhead = 0.0
        episode.images.append(probe.moving)
        episode.features.append(probe.features)
        if terminated or truncated:
            break
    return episode


# --------------------------------------------------------------------------------------------------
# The CSV
# --------------------------------------------------------------------------------------------------


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a results CSV, typed (size and step int, metrics float).

    :raises EvaluationError: a CSV with other columns
    """
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise EvaluationError(f"{path} has other columns than an evaluation CSV; choose another --out")
        rows = list(reader)
    for row in rows:
        row["size"], row["step"] = int(row["size"]), int(row["step"])
        for col in COLUMNS[5:]:
            row[col] = float(row[col])
    return rows


def _key(row: dict[str, Any]) -> tuple:
    return tuple(row[k] for k in KEY)


def complete_keys(rows: list[dict[str, Any]], steps: int) -> set[tuple]:
    """Episodes (agent, content, style, size) with a row for every step 1..``steps``."""
    found: dict[tuple, set[int]] = defaultdict(set)
    for row in rows:
        found[_key(row)].add(row["step"])
    need = set(range(1, steps + 1))
    return {key for key, have in found.items() if need <= have}


def _write_rows(path: Path, rows: list[dict[str, Any]], append: bool) -> None:
    new = not append or not path.is_file()
    with open(path, "a" if append else "w", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.8g}" if isinstance(v, float) else v) for k, v in row.items()})


# --------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------


@dataclass
class Settings:
    """What to evaluate.

    :param sizes: image sizes (square sides)
    :param steps: episode length
    :param report_steps: the steps shown in the table and the contact sheets
    :param seed: image selection and env reset seed
    :param device: torch device of the loss network and the env
    :param limit_contents: evaluate this many contents (seeded draw; None: all)
    :param limit_styles: evaluate this many styles (seeded draw; None: all)
    :param sheet_pairs: pairs shown in each contact sheet
    :param progress: show a tqdm progress bar
    :param report_only: run nothing; write the table, plots and sheets from the CSV
    """

    sizes: Sequence[int] = (256,)
    steps: int = 10
    report_steps: Sequence[int] = (1, 5, 10)
    seed: int = 0
    device: str = "cpu"
    limit_contents: int | None = None
    limit_styles: int | None = None
    sheet_pairs: int = 4
    progress: bool = True
    report_only: bool = False

    def check(self) -> None:
        if self.steps < 1:
            raise EvaluationError(f"--steps must be at least 1, got {self.steps}")
        bad = [k for k in self.report_steps if not 1 <= k <= self.steps]
        if bad or not self.report_steps:
            raise EvaluationError(f"report steps must lie in 1..{self.steps}, got {list(self.report_steps)}")
        small = [s for s in self.sizes if s < 16]
        if small or not self.sizes:
            raise EvaluationError(f"sizes must be at least 16 pixels, got {list(self.sizes)}")


@dataclass
class Result:
    """What :func:`evaluate` wrote.

    :param rows: the rows of this run's selection (old and new)
    :param ran: episodes rolled out now
    :param skipped: episodes found complete in the CSV
    :param files: output files by kind
    """

    rows: list[dict[str, Any]]
    ran: int
    skipped: int
    files: dict[str, Path]


def evaluate(
    agents: dict[str, Any],
    contents: ImageSource,
    styles: ImageSource,
    out: str | Path,
    settings: Settings | None = None,
    plots: bool = True,
    log: Callable[[str], None] = print,
) -> Result:
    """Evaluate ``agents`` on every selected (content, style) pair at every size.

    :param agents: name -> agent (names go into the CSV; keep them stable across runs)
    :param contents: content images
    :param styles: style images
    :param out: output folder (created; an existing ``rows.csv`` is resumed if it was made
        with the same number of steps: the baselines' strength at step k depends on it)
    :param settings: what to evaluate (default :class:`Settings`)
    :param plots: draw the PNG plots (needs matplotlib) besides the table and contact sheets
    :param log: where one-line notes go
    :return: the rows and files written
    """
    settings = settings or Settings()
    settings.check()
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise EvaluationError(f"cannot create output folder {out}: {err.strerror}") from None
    device = torch.device(settings.device)
    net = loss_network(device)
    c_idx = select(len(contents), settings.limit_contents, settings.seed, 0)
    s_idx = select(len(styles), settings.limit_styles, settings.seed, 1)
    c_names = [contents.name(i) for i in c_idx]
    s_names = [styles.name(i) for i in s_idx]
    for kind, names in (("content", c_names), ("style", s_names)):
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise EvaluationError(f"two {kind} images are named {twice[0]} (names key the CSV); rename one")
    sheet = {(c_names[i % len(c_idx)], s_names[i % len(s_idx)]) for i in range(settings.sheet_pairs)}

    csv_path = out / ROWS_FILE
    _check_run(out / RUN_FILE, settings.steps)
    rows = read_rows(csv_path)
    done = complete_keys(rows, settings.steps)
    kept = [r for r in rows if _key(r) in done]
    if len(kept) != len(rows):
        _write_rows(csv_path, kept, append=False)  # drop unfinished episodes
    rows = kept
    _write_agents(out / AGENTS_FILE, agents)

    # Pairs in diagonal rounds (round r: content i with style (i + r) mod S), so that a run
    # stopped early has seen every content and style about equally often.
    pairs = sorted(((ci, si) for ci in range(len(c_idx)) for si in range(len(s_idx))),
                   key=lambda p: ((p[1] - p[0]) % len(s_idx), p[0]))  # fmt: skip
    pending = [
        (size, ci, si, name)
        for size in settings.sizes
        for ci, si in pairs
        for name in agents
        if (name, c_names[ci], s_names[si], size) not in done
    ]
    todo = [] if settings.report_only else pending
    total = len(settings.sizes) * len(c_idx) * len(s_idx) * len(agents)
    log(f"evaluate: {len(agents)} agents x {len(c_idx)} contents x {len(s_idx)} styles x {len(settings.sizes)} sizes; "
        f"{total - len(pending)} episodes already in {csv_path}, {len(todo)} to run"
        + (f" (report only: {len(pending)} not evaluated)" if settings.report_only and pending else ""))  # fmt: skip
    bar = _progress(len(todo), settings.progress)
    envs: dict[tuple[int, str], tuple[gym.Env, _Probe]] = {}
    content_cache: dict[tuple[int, int], tuple[np.ndarray, list]] = {}
    style_cache: dict[tuple[int, int], tuple[np.ndarray, list]] = {}
    pair: tuple | None = None
    metrics: PairMetrics | None = None
    try:
        for size, ci, si, name in todo:
            if (size, ci) not in content_cache:
                image = contents.pinned(c_idx[ci], size)
                content_cache[(size, ci)] = (image, PairMetrics.content_features(net, image))
            if (size, si) not in style_cache:
                image = styles.pinned(s_idx[si], size)
                style_cache[(size, si)] = (image, PairMetrics.style_stats(net, image))
            content, content_feats = content_cache[(size, ci)]
            style, stats = style_cache[(size, si)]
            if pair != (size, ci, si):
                pair, metrics = (size, ci, si), PairMetrics(net, content, stats, content_feats)
            if (size, name) not in envs:
                envs[(size, name)] = _make_env(agents[name], size, settings.steps, device, net)
            env, probe = envs[(size, name)]
            episode = rollout(env, probe, agents[name], content, style, settings.steps, settings.seed)
            values = metrics.measure(episode.images, episode.features)
            new, total_seconds = [], 0.0
            for k, (value, seconds) in enumerate(zip(values, episode.seconds), start=1):
                total_seconds += seconds
                new.append({"agent": name, "content": c_names[ci], "style": s_names[si], "size": size, "step": k,
                            **value, "seconds": seconds, "cumulative_seconds": total_seconds})  # fmt: skip
            _write_rows(csv_path, new, append=True)
            rows.extend(new)
            if (c_names[ci], s_names[si]) in sheet:
                _save_frames(out, name, size, c_names[ci], s_names[si], content, style, episode, settings.report_steps)
            bar.update(1)
    finally:
        bar.close()
        for env, _ in envs.values():
            env.close()

    selection = set(c_names), set(s_names), set(settings.sizes), set(agents)
    rows = [r for r in rows if r["content"] in selection[0] and r["style"] in selection[1]
            and r["size"] in selection[2] and r["agent"] in selection[3]]  # fmt: skip
    files = {"rows": csv_path, "agents": out / AGENTS_FILE}
    info = json.loads((out / AGENTS_FILE).read_text())
    files["table"] = out / TABLE_FILE
    files["table"].write_text(markdown_table(rows, info, list(agents), settings.report_steps) + "\n")
    for size in settings.sizes:
        for name in agents:
            path = contact_sheet(out, name, size, sorted(sheet), settings.report_steps)
            if path is not None:
                files[f"sheet {name} {size}"] = path
    if plots:
        try:
            files.update(plot_all(rows, out / "plots", list(agents)))
        except ImportError as err:
            log(f"evaluate: plots skipped: {err}")
    return Result(rows=rows, ran=len(todo), skipped=total - len(pending), files=files)


def _check_run(path: Path, steps: int) -> None:
    """Record the episode length of an output folder, or check that it is the same."""
    if path.is_file():
        before = json.loads(path.read_text()).get("steps")
        if before != steps:
            raise EvaluationError(f"{path.parent} holds a run with --steps {before}; use --steps {before} or another --out")
    else:
        path.write_text(json.dumps({"steps": steps}) + "\n")


def _make_env(agent: Any, size: int, steps: int, device: torch.device, net: LossNetwork) -> tuple[gym.Env, _Probe]:
    # the env's own pools are never drawn from (every reset pins a pair): one blank image each
    base = gym.make(styleenv.ENV_ID, image_size=size, max_episode_steps=steps, device=device, content=[np.zeros((size, size, 3), np.uint8)], style=[np.zeros((size, size, 3), np.uint8)])  # fmt: skip
    probe = _Probe(base, net)
    wrap = getattr(agent, "wrap_env", None)
    return (wrap(probe) if callable(wrap) else probe), probe


def _write_agents(path: Path, agents: dict[str, Any]) -> None:
    info = json.loads(path.read_text()) if path.is_file() else {}
    for name, agent in agents.items():
        info[name] = {
            "parameters": int(getattr(agent, "parameters", 0) or 0),
            "storage_bytes": int(getattr(agent, "storage_bytes", 0) or 0),
            "class": type(agent).__name__,
        }
    path.write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")


class _NoBar:
    def update(self, n: int) -> None: ...

    def close(self) -> None: ...


def _progress(total: int, show: bool) -> Any:
    if not show or total == 0:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="episodes", unit="ep", dynamic_ncols=True)


# --------------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------------


def summarise(rows: list[dict[str, Any]]) -> dict[tuple[str, int, int], dict[str, float]]:
    """Means over pairs per (agent, size, step): the metrics, ``cumulative_seconds`` and ``n``."""
    groups: dict[tuple[str, int, int], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["agent"], row["size"], row["step"])].append(row)
    return {
        key: {col: float(np.mean([r[col] for r in group])) for col in (*METRICS, "cumulative_seconds")} | {"n": len(group)}
        for key, group in groups.items()
    }


def markdown_table(
    rows: list[dict[str, Any]], info: dict[str, dict], agents: Sequence[str], report_steps: Sequence[int]
) -> str:
    """Table 1's shape: a row per agent and report step; Params (1e6) and Storage (MB = 2^20
    bytes of weights), then per size Content Loss, SSIM, Style Loss and Time (s) (mean
    cumulative agent seconds to produce that step's image), means over the evaluated pairs."""
    summary = summarise(rows)
    sizes = sorted({r["size"] for r in rows})
    head = ["Method", "Params (1e6) ↓", "Storage (MB) ↓"]
    for size in sizes:
        head += [f"{size}px Content Loss ↓", f"{size}px SSIM ↑", f"{size}px Style Loss ↓", f"{size}px Time (s) ↓"]
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
            lines.append("| " + " | ".join(cells) + " |")
    counts = {size: max((v["n"] for k, v in summary.items() if k[1] == size), default=0) for size in sizes}
    pairs = ", ".join(f"{n} pairs at {size}px" for size, n in counts.items())
    lines.append("")
    lines.append(f"Means over {pairs or 'no pairs'}. Content loss: relu4_1+relu5_1 MSE mean against the content; "
                 "style loss: relu1_1..relu5_1 mean/std loss mean; SSIM: grey-scale uint8 against the content; "
                 "time: agent seconds to produce the step's image (cumulative, style encoding included).")  # fmt: skip
    return "\n".join(lines)


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("matplotlib is not installed (pip install 'styleenv[plots]')") from None
    return plt


def plot_all(rows: list[dict[str, Any]], folder: Path, agents: Sequence[str]) -> dict[str, Path]:
    """Per size: style and content loss against step, and the content-vs-style trade-off.

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


def _frame_dir(out: Path, agent: str, size: int, content: str, style: str) -> Path:
    return out / "frames" / str(size) / _safe(agent) / f"{_safe(content)}__{_safe(style)}"


def _save_frames(out: Path, agent: str, size: int, content_name: str, style_name: str,
                 content: np.ndarray, style: np.ndarray, episode: Episode, steps: Sequence[int]) -> None:  # fmt: skip
    from styleenv.visual import save_png

    folder = _frame_dir(out, agent, size, content_name, style_name)
    save_png(to_pil(content), folder / "content.png")
    save_png(to_pil(style), folder / "style.png")
    for k in steps:
        if k <= len(episode.images):
            save_png(to_pil(episode.images[k - 1]), folder / f"step{k}.png")


def _short(name: str, width: int = 16) -> str:
    stem = Path(name).stem.removeprefix("procedural-")
    return stem if len(stem) <= width else stem[: width - 1] + "…"


def contact_sheet(out: Path, agent: str, size: int, pairs: Sequence[tuple[str, str]], steps: Sequence[int]) -> Path | None:
    """``sheets/<agent>_<size>.png``: a row per pair (content | style | report steps), from the saved frames."""
    from styleenv.visual import grid, save_png

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
