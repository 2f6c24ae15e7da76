"""Training configuration: one flat record, read from TOML and overridden by ``key=value``."""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A bad configuration file, key or value (the message says which)."""


@dataclass
class TrainConfig:
    """Everything a training run needs. Defaults are the release's hyper-parameters.

    :param content: content images (folder, file or list of folders), ``None`` for the procedural
        set; a list holds back from its first folder only (:mod:`agents.sac.holdout`)
    :param style: style images (folder, file or list of folders), ``None`` for the procedural set
    :param image_size: side of the square training crops (multiple of 4)
    :param load_size: resize before the random crop (default ``2 * image_size``)
    :param total_steps: env steps in all (one SAC + generative update per step after warm-up)
    :param seed: seed of SB3 and the env
    :param device: ``"auto"``, ``"cpu"`` or ``"cuda"``
    :param envs: episodes stepped as one batch (one builder call and one VGG pass for all, through
        :class:`styleenv.vector.StyleTransferVectorEnv`); each vector step stores ``envs``
        transitions and runs ``envs`` SAC and generative updates, so the updates per env step stay
        one of each. 1: a single env, as before. A resumed run may change it (its replay buffer is
        then refilled)
    :param tf32: on CUDA, let matrix products and convolutions use TensorFloat-32 (faster on
        Ampere and later GPUs, ~1e-3 relative precision); no effect on the CPU
    :param cudnn_benchmark: on CUDA, let cuDNN time its convolution algorithms once per input shape
        and keep the fastest (the training shapes are fixed); no effect on the CPU
    :param output: run folder (checkpoints, TensorBoard, samples, exported weights)
    :param learning_rate: Adam rate of critic and temperature (and the base of the actor's)
    :param actor_lr: SAC actor rate (applied as a fraction of ``learning_rate``)
    :param generative_lr: Adam rate of the generative update (actor, builder, ``p``)
    :param loss_weight_lr: Adam rate of the uncertainty weights ``p`` alone (0: ``generative_lr``,
        as the release). The released files hold no ``p``, so a fine-tune of them starts ``p`` at 1,
        far from where long training settles it (the weight ``0.5 / p^2`` of a loss ``L`` settles
        where ``p^2 = (L + sqrt(L^2 + 8 L)) / 4``); a faster rate lets ``p`` settle in a few hundred
        steps instead of tens of thousands
    :param betas: Adam betas
    :param buffer_size: replay transitions
    :param batch_size: replay batch
    :param generative_batch_size: replay batch of the generative update (0: ``batch_size``)
    :param generative_content_weight: factor on the content loss inside the generative update's
        uncertainty weighting (1: the release); above 1 keeps more of the photo per step
    :param generative_bf16: run the generative update's loss-network pass over its output
        (forward and backward) under bfloat16 autocast, statistics and losses in float32 (about 2x
        faster VGG on CPUs with AVX-512 BF16 and on recent GPUs; loss terms within 0.1 %)
    :param replay_on_device: on CUDA, keep the replay buffer's images and latents in GPU memory when
        they need under half of the free memory (no host copy per sampled batch); false: host memory
    :param learning_starts: warm-up steps of uniform latent actions before updates
    :param tau: target smoothing
    :param gamma: discount
    :param actor_update_every: SAC actor step every this many updates
    :param generative_every: generative update every this many SAC updates (0: off)
    :param ent_coef: SB3 ``ent_coef`` (``"auto"``: learned, starting at 1)
    :param target_entropy: per-dimension target entropy
    :param action_bound: latent Box bound (warm-up range; latents are not clipped)
    :param action_dtype: replay storage of latents
    :param critic_hidden: MLP width of each Q network
    :param episode_steps: steps per episode
    :param holdout_seed: seed of the held-back split, apart from ``seed`` so that runs of several
        training seeds hold back the same files
    :param holdout_content: content images held back for evaluation (folders only)
    :param holdout_style: style images held back for evaluation
    :param eval_pairs: held-back pairs evaluated (0: no evaluation)
    :param eval_every: env steps between held-back evaluations (0: start and end only)
    :param image_every: env steps between sample pictures (0: none)
    :param checkpoint_every: env steps between checkpoints (0: only at the end and on an interruption)
    :param save_replay: also checkpoint the replay buffer (large)
    :param log_interval: episodes between SB3 log dumps
    :param init: initial actor+builder for fine-tuning: ``"default"`` (the shipped checkpoint), a
        styleenv checkpoint file or the released model's folder (``None``: train from scratch)
    :param threads: torch CPU threads (0: automatic, torch's default capped at the free cores)
    :param time_limit: minutes within which ``learn`` (training and its first and last held-back
        evaluations) stops cleanly, saving a checkpoint and ``final.pt`` (0: no limit)
    :param progress: show a progress bar
    :param skip_bad_images: skip, with a warning, image files that cannot be read (also those that
        pass the header check at the start and fail to decode during training) instead of stopping
        the run (a stopped run names the file; its checkpoint is saved)
    """

    content: str | list[str] | None = None
    style: str | list[str] | None = None
    image_size: int = 256
    load_size: int | None = None
    total_steps: int = 100_000
    seed: int = 0
    device: str = "auto"
    envs: int = 1
    tf32: bool = True
    cudnn_benchmark: bool = True
    output: str = "runs/rlministyler"
    learning_rate: float = 2e-4
    actor_lr: float = 2e-5
    generative_lr: float = 2e-4
    loss_weight_lr: float = 0.0
    betas: tuple[float, float] = (0.5, 0.9)
    buffer_size: int = 5_000
    batch_size: int = 8
    generative_batch_size: int = 0
    generative_content_weight: float = 1.0
    generative_bf16: bool = False
    replay_on_device: bool = True
    learning_starts: int = 8
    tau: float = 0.005
    gamma: float = 0.99
    actor_update_every: int = 4
    generative_every: int = 1
    ent_coef: str = "auto"
    target_entropy: float = -4.0
    action_bound: float = 2.0
    action_dtype: str = "float16"
    critic_hidden: int = 64
    episode_steps: int = 10
    holdout_seed: int = 0
    holdout_content: int = 10
    holdout_style: int = 6
    eval_pairs: int = 8
    eval_every: int = 0
    image_every: int = 500
    checkpoint_every: int = 1_000
    save_replay: bool = False
    log_interval: int = 1
    init: str | None = None
    threads: int = 0
    time_limit: float = 0.0
    progress: bool = True
    skip_bad_images: bool = False

    def validate(self) -> "TrainConfig":
        """Check values (:data:`RANGES`, finite numbers); raise :class:`ConfigError` with the offending key."""
        if self.image_size < 16 or self.image_size % 4:
            raise ConfigError(f"image_size must be a multiple of 4 and at least 16, got {self.image_size}")
        for key in _FIELDS:
            value = getattr(self, key)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{key} must be a finite number, got {value}")
        for keys, allowed, rule in RANGES:
            for key in keys:
                if not allowed(getattr(self, key)):
                    raise ConfigError(f"{key} {rule}, got {getattr(self, key)}")
        if not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"betas must be two numbers from 0 to below 1, got {list(self.betas)}")
        if not _is_ent_coef(self.ent_coef):
            raise ConfigError(f"ent_coef must be auto, auto_X (a learned temperature starting at X > 0) or a fixed "
                              f"number of at least 0, got {self.ent_coef!r}")
        if self.action_dtype not in ("float16", "float32"):
            raise ConfigError(f"action_dtype must be float16 or float32, got {self.action_dtype!r}")
        if self.device not in ("auto", "cpu") and not self.device.startswith("cuda"):
            raise ConfigError(f"device must be auto, cpu or cuda[:N], got {self.device!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return d


#: The allowed values of numeric keys: ``(keys, test, what the test asks)``; 0 means "none" or "off"
#: where a key's docstring says so. Every number (``target_entropy`` too) must also be finite.
RANGES: list[tuple[tuple[str, ...], Callable[[float], bool], str]] = [
    (("total_steps", "buffer_size", "episode_steps", "actor_update_every", "envs", "critic_hidden", "log_interval"),
     lambda v: v >= 1, "must be at least 1"),
    (("batch_size",), lambda v: v >= 2, "must be at least 2 (the contrastive loss compares pairs)"),
    (("generative_batch_size",), lambda v: v == 0 or v >= 2,
     "must be 0 (batch_size) or at least 2 (the contrastive loss compares pairs)"),
    (("learning_starts", "generative_every", "holdout_content", "holdout_style", "eval_pairs", "eval_every",
      "image_every", "checkpoint_every", "threads", "time_limit", "loss_weight_lr"),
     lambda v: v >= 0, "must not be negative"),
    (("learning_rate", "actor_lr", "generative_lr", "generative_content_weight", "action_bound"),
     lambda v: v > 0, "must be positive"),
    (("tau", "gamma"), lambda v: 0 <= v <= 1, "must be from 0 to 1"),
    (("seed", "holdout_seed"), lambda v: 0 <= v < 2**32, "must be from 0 to 2**32 - 1"),
]  # fmt: skip

_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


def _is_ent_coef(value: str) -> bool:
    """Whether ``value`` is an ``ent_coef`` SB3's SAC takes: ``auto``, ``auto_X`` with finite ``X > 0``, or
    a finite fixed number of at least 0."""
    if value == "auto":
        return True
    learned = value.startswith("auto_")
    try:
        number = float(value.removeprefix("auto_"))
    except ValueError:
        return False
    return math.isfinite(number) and (number > 0 if learned else number >= 0)


def _coerce(key: str, value: Any) -> Any:
    if key not in _FIELDS:
        raise ConfigError(f"unknown config key {key!r} (known: {', '.join(sorted(_FIELDS))})")
    default = getattr(TrainConfig(), key)
    if value is None or (isinstance(value, str) and value.lower() in ("none", "null") and key in
                         ("content", "style", "load_size", "init")):
        return None
    if key in ("content", "style") and isinstance(value, (list, tuple)):
        if not value or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key} must be a folder, a file or a non-empty list of folders, got {value!r}")
        return [str(v) for v in value]
    try:
        if key == "betas":
            b = tuple(float(v) for v in value)
            if len(b) != 2:
                raise ValueError
            return b
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                return value.lower() in ("true", "1", "yes")
            if value not in (0, 1):  # True, False, 1, 0
                raise ValueError
            return bool(value)
        if isinstance(value, bool):  # not a number
            raise ValueError
        if isinstance(default, int) or key == "load_size":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if isinstance(default, float):
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        expected = " (true or false)" if isinstance(default, bool) else ""
        raise ConfigError(f"bad value for {key}: {value!r}{expected}") from None


def read_config(path: str | Path | None) -> dict[str, Any]:
    """The values of a TOML config file (flat keys, or one ``[train]`` table), not yet checked.

    :param path: TOML file, or ``None`` (no values)
    """
    if path is None:
        return {}
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as err:
        raise ConfigError(f"cannot read config {path}: {err.strerror or err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None
    if "train" in data and isinstance(data["train"], dict):
        data = {**{k: v for k, v in data.items() if k != "train"}, **data["train"]}
    return data


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a TOML file (:func:`read_config`) and apply overrides.

    :param path: TOML file, or ``None`` for the defaults
    :param overrides: ``{key: value}`` applied after the file
    """
    values = {**read_config(path), **(overrides or {})}
    cfg = TrainConfig()
    for key, value in values.items():
        setattr(cfg, key, _coerce(key, value))
    return cfg.validate()


def parse_set(items: list[str]) -> dict[str, Any]:
    """``["key=value", ...]`` -> dict; values are TOML/Python literals where they parse, else strings."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        raw = raw.strip()
        try:
            value: Any = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            try:
                value = ast.literal_eval(raw)
            except (ValueError, SyntaxError):
                value = raw
        out[key.strip()] = value
    return out


#: Keys a resumed run may change; any other key keeps the value in the run's ``config.json``.
RESUME_KEYS = frozenset({
    "output", "total_steps", "time_limit", "device", "envs", "tf32", "cudnn_benchmark", "generative_bf16", "replay_on_device",
    "threads", "progress", "content", "style",
    "checkpoint_every", "eval_every", "image_every", "save_replay", "log_interval", "skip_bad_images",
})  # fmt: skip


def saved_holdout_seed(values: dict[str, Any]) -> int:
    """The held-back split's seed of a run's saved ``config.json`` values (runs saved before
    ``holdout_seed`` existed split by their training ``seed``)."""
    return int(values.get("holdout_seed", values.get("seed", 0)))


def resume_config(saved: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """The configuration of a run being resumed: its saved ``config.json`` plus allowed changes.

    :param saved: the run's ``config.json``
    :param overrides: requested ``{key: value}``; keys of :data:`RESUME_KEYS` are applied (a run
        folder and its data may move between machines, the budget may grow), any other key must equal the
        saved value
    :raises ConfigError: a requested value contradicts the saved run (one line naming the key)
    """
    try:
        values = json.loads(Path(saved).read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read the run's saved config {saved}: {err}") from None
    cfg = TrainConfig()
    values["holdout_seed"] = saved_holdout_seed(values)
    for key, value in values.items():
        setattr(cfg, key, _coerce(key, value))
    for key, value in (overrides or {}).items():
        value = _coerce(key, value)
        if key in RESUME_KEYS:
            setattr(cfg, key, value)
        elif value != getattr(cfg, key):
            raise ConfigError(f"--resume: the run was trained with {key} = {getattr(cfg, key)!r} "
                              f"({saved}); it cannot change to {value!r} (start a new --output instead)")
    return cfg.validate()
