"""An evaluation run: every agent through the environment on every selected (content, style)
pair at every size, with the paper's Table 1 protocol (:mod:`styleenv.evaluation.metrics`).

Each agent is rolled out (:func:`~styleenv.evaluation.rollout.rollout`) through
``gymnasium.make(settings.env_id, image_size=size)`` (v0 by default) on pinned pairs: every
(content, style) of the selection, or the explicit ``settings.pairs``. Outputs under
``out``: ``rows.csv`` (:mod:`~styleenv.evaluation.results`, with the env's reward and return),
``agents.json`` (parameters and storage), ``run.json`` (the episode length and env), ``table.md``, ``plots/*.png`` and ``sheets/*.png``
(:mod:`~styleenv.evaluation.report`).

Resumable: rows already in ``rows.csv`` are kept and their (agent, content, style, size)
episodes are skipped; an episode is written only once complete. ``agents.json`` records what
the weights of each agent that reads its own were read from (path and sha256); a re-run whose
agent of that name reads other weights is refused rather than mixed with the old rows.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import styleenv
from styleenv.data import ImageSource
from styleenv.devices import resolve_device
from styleenv.env import MAX_IMAGE_SIZE
from styleenv.evaluation.metrics import PairMetrics
from styleenv.evaluation.report import TABLE_FILE, agent_sheet, markdown_table, plot_all, save_frames
from styleenv.evaluation.results import (ROWS_FILE, EvaluationError, Row, complete_keys, episode_key, episode_rows,
                                        read_record, read_results, read_rows, write_agents_record, write_rows)
from styleenv.evaluation.rollout import ActionRefused, Probe, rollout
from styleenv.pixels import to_pil
from styleenv.vgg import LossNetwork, loss_network

AGENTS_FILE = "agents.json"
RUN_FILE = "run.json"
#: Smallest image side evaluated: the paper's metrics read relu5_1, which needs a 2 x 2 map (17 px).
MIN_SIZE = 17


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
    rng = np.random.default_rng([seed, stream])
    return sorted(int(i) for i in rng.choice(count, size=limit, replace=False))


@dataclass
class Settings:
    """What to evaluate.

    :param sizes: image sizes (square sides)
    :param steps: episode length
    :param report_steps: the steps shown in the table and the contact sheets (None:
        :func:`default_report_steps`)
    :param seed: image selection and env reset seed
    :param device: torch device of the loss network and the env (``"auto"``: CUDA where available)
    :param limit_contents: evaluate this many contents (seeded draw; None: all)
    :param limit_styles: evaluate this many styles (seeded draw; None: all)
    :param sheet_pairs: pairs shown in each contact sheet (0: no sheets)
    :param progress: show a tqdm progress bar
    :param report_only: run nothing; write the table, plots and sheets from the CSV
    :param env_id: the env the agents act in, whose rewards and return are recorded
    :param pairs: explicit ``(content index, style index)`` pairs instead of every
        combination (the limits then do not apply)
    """

    sizes: Sequence[int] = (256,)
    steps: int = 10
    report_steps: Sequence[int] | None = None
    seed: int = 0
    device: str = "cpu"
    limit_contents: int | None = None
    limit_styles: int | None = None
    sheet_pairs: int = 4
    progress: bool = True
    report_only: bool = False
    env_id: str = styleenv.ENV_ID
    pairs: Sequence[tuple[int, int]] | None = None

    def __post_init__(self) -> None:
        if self.report_steps is None:
            self.report_steps = default_report_steps(self.steps)

    def check(self) -> None:
        """:raises EvaluationError: bad steps, report steps, sizes, seed, limits or sheet pairs"""
        if self.steps < 1:
            raise EvaluationError(f"--steps must be at least 1, got {self.steps}")
        bad = [k for k in self.report_steps if not 1 <= k <= self.steps]
        if bad or not self.report_steps:
            raise EvaluationError(f"report steps must lie in 1..{self.steps}, got {list(self.report_steps)}")
        if not self.sizes or min(self.sizes) < MIN_SIZE:
            raise EvaluationError(f"sizes must be at least {MIN_SIZE} pixels, got {list(self.sizes)}")
        if max(self.sizes) > MAX_IMAGE_SIZE:
            raise EvaluationError(f"sizes must be at most {MAX_IMAGE_SIZE} pixels, got {list(self.sizes)}")
        if len(set(self.sizes)) != len(self.sizes):
            raise EvaluationError(f"sizes must each be given once, got {list(self.sizes)}")
        if self.seed < 0:
            raise EvaluationError(f"--seed must be 0 or more, got {self.seed}")
        for flag, limit in (("--limit-contents", self.limit_contents), ("--limit-styles", self.limit_styles)):
            if limit is not None and limit < 1:
                raise EvaluationError(f"{flag} must be at least 1, got {limit}")
        if self.sheet_pairs < 0:
            raise EvaluationError(f"--sheet-pairs must be 0 (no sheets) or more, got {self.sheet_pairs}")


def default_report_steps(steps: int) -> list[int]:
    """The steps in the table and sheets unless chosen: 1, 5, 10 within ``steps``, and ``steps``."""
    return sorted({k for k in (1, 5, 10) if k <= steps} | {steps})


@dataclass
class Result:
    """What :func:`evaluate` wrote.

    :param rows: the rows of this run's selection (old and new)
    :param ran: episodes rolled out now
    :param skipped: episodes found complete in the CSV
    :param files: output files by kind
    """

    rows: list[Row]
    ran: int
    skipped: int
    files: dict[str, Path]


class _Pairs:
    """The pinned images of the selection and their metric targets, each computed once per size.

    :param net: the loss network
    :param contents: content images
    :param styles: style images
    """

    def __init__(self, net: LossNetwork, contents: ImageSource, styles: ImageSource) -> None:
        self.net = net
        self.contents = contents
        self.styles = styles
        self._content: dict[tuple[int, int], tuple[np.ndarray, list[torch.Tensor]]] = {}
        self._style: dict[tuple[int, int], tuple[np.ndarray, list]] = {}
        self._pair: tuple[int, int, int] | None = None
        self._metrics: PairMetrics | None = None

    def get(self, size: int, content: int, style: int) -> tuple[np.ndarray, np.ndarray, PairMetrics]:
        """``(content, style, metrics)`` of a pair: ``(3, size, size)`` uint8 images and their :class:`PairMetrics`.

        The metrics are kept while the same pair is asked for (agents that make the same
        image are measured once).
        """
        if (size, content) not in self._content:
            image = self.contents.pinned(content, size)
            self._content[(size, content)] = (image, PairMetrics.content_features(self.net, image))
        if (size, style) not in self._style:
            image = self.styles.pinned(style, size)
            self._style[(size, style)] = (image, PairMetrics.style_stats(self.net, image))
        content_image, content_feats = self._content[(size, content)]
        style_image, stats = self._style[(size, style)]
        if self._pair != (size, content, style):
            self._pair = (size, content, style)
            self._metrics = PairMetrics(self.net, content_image, stats, content_feats)
        return content_image, style_image, self._metrics


def evaluate(
    agents: dict[str, Any],
    contents: ImageSource,
    styles: ImageSource,
    out: str | Path,
    settings: Settings | None = None,
    plots: bool = True,
    log: Callable[[str], None] = print,
    weights: Mapping[str, Mapping[str, str]] | None = None,
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
    :param weights: name -> ``{"path", "sha256"}`` of the weights the agent reads, for the agents
        that read their own; recorded in ``agents.json``
    :return: the rows and files written
    :raises EvaluationError: bad settings; with ``report_only`` no rows in ``out``; an agent
        whose rows in ``out`` came from other weights; an action the env refuses
    """
    settings = settings or Settings()
    settings.check()
    device = resolve_device(settings.device)
    out = Path(out)
    csv_path = out / ROWS_FILE
    rows = read_results(out) if settings.report_only else read_rows(csv_path)
    _check_weights(out / AGENTS_FILE, weights or {}, {r["agent"] for r in rows})
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise EvaluationError(f"cannot create output folder {out}: {err.strerror}") from None
    net = loss_network(device)
    if settings.pairs is None:
        c_idx = select(len(contents), settings.limit_contents, settings.seed, 0)
        s_idx = select(len(styles), settings.limit_styles, settings.seed, 1)
    else:
        c_idx, s_idx = list(range(len(contents))), list(range(len(styles)))
    c_names = _names(contents, c_idx, "content")
    s_names = _names(styles, s_idx, "style")
    sheet = {(c_names[i % len(c_idx)], s_names[i % len(s_idx)]) for i in range(settings.sheet_pairs)}

    _check_run(out / RUN_FILE, settings.steps, settings.env_id)
    done = complete_keys(rows, settings.steps)
    kept = [r for r in rows if episode_key(r) in done]
    if len(kept) != len(rows):
        write_rows(csv_path, kept, append=False)  # drop unfinished episodes
    rows = kept
    _write_agents(out / AGENTS_FILE, agents, weights or {})

    # Pairs in diagonal rounds (round r: content i with style (i + r) mod S), so that a run
    # stopped early has seen every content and style about equally often.
    pairs = list(settings.pairs) if settings.pairs is not None else sorted(
        ((ci, si) for ci in range(len(c_idx)) for si in range(len(s_idx))), key=lambda p: ((p[1] - p[0]) % len(s_idx), p[0])
    )
    sheet = {(c_names[ci], s_names[si]) for ci, si in pairs[: settings.sheet_pairs]} if settings.pairs is not None else sheet
    pending = [
        (size, ci, si, name)
        for size in settings.sizes
        for ci, si in pairs
        for name in agents
        if (name, c_names[ci], s_names[si], size) not in done
    ]
    todo = [] if settings.report_only else pending
    total = len(settings.sizes) * len(pairs) * len(agents)
    log(f"evaluate: {len(agents)} agents x {len(pairs)} pairs ({len(c_idx)} contents, {len(s_idx)} styles) x {len(settings.sizes)} sizes; "
        f"{total - len(pending)} episodes already in {csv_path}, {len(todo)} to run"
        + (f" (report only: {len(pending)} not evaluated)" if settings.report_only and pending else ""))  # fmt: skip
    bar = _progress(len(todo), settings.progress)
    envs: dict[tuple[int, str], tuple[gym.Env, Probe]] = {}
    pinned = _Pairs(net, contents, styles)
    try:
        for size, ci, si, name in todo:
            content, style, metrics = pinned.get(size, c_idx[ci], s_idx[si])
            if (size, name) not in envs:
                envs[(size, name)] = _make_env(agents[name], settings.env_id, size, settings.steps, device, net)
            env, probe = envs[(size, name)]
            try:
                episode = rollout(env, agents[name], settings.steps, options={"content": to_pil(content), "style": to_pil(style)},
                                  seed=settings.seed, probe=probe)  # fmt: skip
            except ActionRefused as err:
                raise EvaluationError(f"agent {name!r} on {c_names[ci]} / {s_names[si]} at {size} px: {err}") from None
            key = (name, c_names[ci], s_names[si], size)
            new = episode_rows(key, metrics.measure(episode.images, episode.features), episode.seconds, episode.rewards)
            write_rows(csv_path, new, append=True)
            rows.extend(new)
            if (c_names[ci], s_names[si]) in sheet:
                save_frames(out, key, content, style, episode.images, settings.report_steps)
            bar.update(1)
    finally:
        bar.close()
        for env, _ in envs.values():
            env.close()

    chosen = {(c_names[ci], s_names[si]) for ci, si in pairs}
    rows = [r for r in rows if (r["content"], r["style"]) in chosen and r["size"] in settings.sizes and r["agent"] in agents]
    files = report(out, rows, list(agents), settings, sorted(sheet), plots, log)
    return Result(rows=rows, ran=len(todo), skipped=total - len(pending), files=files)


def _names(source: ImageSource, indices: list[int], kind: str) -> list[str]:
    """The names of the selected images (they key the CSV, so they must differ)."""
    names = [source.name(i) for i in indices]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise EvaluationError(f"two {kind} images are named {twice[0]} (names key the CSV); rename one")
    return names


def report(out: Path, rows: list[Row], agents: list[str], settings: Settings, sheet_pairs: list[tuple[str, str]],
           plots: bool, log: Callable[[str], None]) -> dict[str, Path]:  # fmt: skip
    """Write the table, the contact sheets and (with ``plots``) the plots; return every output file by kind."""
    files = {"rows": out / ROWS_FILE, "agents": out / AGENTS_FILE, "table": out / TABLE_FILE}
    info = read_record(files["agents"])
    files["table"].write_text(markdown_table(rows, info, agents, settings.report_steps) + "\n")
    for size in sorted({r["size"] for r in rows}):
        for name in agents:
            path = agent_sheet(out, name, size, sheet_pairs, settings.report_steps)
            if path is not None:
                files[f"sheet {name} {size}"] = path
    if plots:
        try:
            files.update(plot_all(rows, out / "plots", agents))
        except ImportError as err:
            log(f"evaluate: plots skipped: {err}")
    return files


def _check_run(path: Path, steps: int, env_id: str) -> None:
    """Record the episode length and env of an output folder, or check that they are the same
    (a folder from before the env was recorded ran v0)."""
    if path.is_file():
        run = json.loads(path.read_text())
        before, env_before = run.get("steps"), run.get("env", styleenv.ENV_ID)
        if before != steps:
            raise EvaluationError(f"{path.parent} holds a run with --steps {before}; use --steps {before} or another --out")
        if env_before != env_id:
            raise EvaluationError(f"{path.parent} holds a run on {env_before}; use that env or another --out")
    path.write_text(json.dumps({"steps": steps, "env": env_id}) + "\n")


def _make_env(agent: Any, env_id: str, size: int, steps: int, device: torch.device, net: LossNetwork) -> tuple[gym.Env, Probe]:
    """The env an agent acts in (its ``wrap_env`` of the probe, if it has one) and the probe."""
    # the env's own pools are never drawn from (every reset pins a pair): one blank image each
    blank = [np.zeros((size, size, 3), np.uint8)]
    with warnings.catch_warnings():  # Gymnasium calls v0 "out of date" because v1 exists; v0 is the paper's env
        warnings.filterwarnings("ignore", message=".*out of date", category=DeprecationWarning)
        base = gym.make(env_id, image_size=size, max_episode_steps=steps, device=device, content=blank, style=blank)
    probe = Probe(base, net)
    wrap = getattr(agent, "wrap_env", None)
    return (wrap(probe) if callable(wrap) else probe), probe


def _check_weights(path: Path, weights: Mapping[str, Mapping[str, str]], evaluated: set[str]) -> None:
    """Refuse an agent whose rows in the folder came from other weights (another sha256 in
    ``agents.json``), or from weights that were not recorded (an older run).

    :param path: the folder's ``agents.json``
    :param weights: name -> ``{"path", "sha256"}`` of this run's agents that read their own weights
    :param evaluated: the agents with rows in the folder
    """
    recorded = read_record(path)
    for name in sorted(set(weights) & evaluated):
        new, old = weights[name], recorded.get(name, {}).get("weights")
        if old is None:
            raise EvaluationError(f"{path.parent} holds rows of agent {name!r} from a run that did not record its weights; "
                                  "use another --out")  # fmt: skip
        if old["sha256"] != new["sha256"]:
            raise EvaluationError(f"{path.parent} holds rows of agent {name!r} from {old['path']} (sha256 {old['sha256'][:12]}), "
                                  f"not {new['path']} (sha256 {new['sha256'][:12]}); use another --out")  # fmt: skip


def _write_agents(path: Path, agents: dict[str, Any], weights: Mapping[str, Mapping[str, str]]) -> None:
    """Add (or update) each agent's parameters, storage, class and weights in ``agents.json`` (atomically)."""
    info = read_record(path)
    for name, agent in agents.items():
        record = weights.get(name) or info.get(name, {}).get("weights")
        info[name] = {
            "parameters": int(getattr(agent, "parameters", 0) or 0),
            "storage_bytes": int(getattr(agent, "storage_bytes", 0) or 0),
            "class": type(agent).__name__,
        } | ({"weights": dict(record)} if record else {})
    write_agents_record(path, info)


class _NoBar:
    def update(self, n: int) -> None: ...

    def close(self) -> None: ...


def _progress(total: int, show: bool) -> Any:
    if not show or total == 0:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="episodes", unit="ep", dynamic_ncols=True)
