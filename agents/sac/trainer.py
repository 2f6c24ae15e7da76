"""Putting it together: env, SB3 SAC with :class:`StylePolicy`, callbacks, resume, export.

``train(config)`` is what ``styleenv train`` and ``scripts/train.py`` run. A run folder holds
``config.json``, ``tb/`` (TensorBoard logs, where the ``train`` extra is installed: without it a
warning says so, and the run trains without them), ``checkpoints/`` (``last.zip`` +
``generative.pt`` [+ ``replay.pkl``; without it a resumed run refills its replay buffer from the
policy]), ``samples/`` (sequence pictures), ``eval.jsonl`` (held-back rewards) and ``final.pt``
(actor + builder and the loss weights ``p``, :func:`agents.release.save_checkpoint` format).

:func:`build` checks everything (data, device, ``init``, the checkpoint resumed from) and writes
nothing in the run folder; :func:`learn` writes. Training that stops early keeps what is sound: an
interruption or an image that fails to decode saves a checkpoint and ``final.pt`` first, non-finite
weights (a diverged run) are never saved, and any other error saves nothing (the periodic
checkpoints stay).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3 import SAC
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor

from agents.default import init_path
from agents.release import CheckpointError, checkpoint_loss_weights, load_checkpoint, load_release, save_checkpoint
from agents.sac.buffer import StyleReplayBuffer
from agents.sac.callbacks import GenerativeCallback, HoldoutEvalCallback, TimeLimitCallback, TqdmCallback
from agents.sac.checkpoints import (
    RunCheckpointCallback,
    TrainingError,
    check_finite,
    load_generative_state,
    load_model,
    load_replay,
)
from agents.sac.config import TrainConfig
from agents.sac.holdout import Split, holdout_split
from agents.sac.policy import StylePolicy
from agents.sac.wrapper import LatentActionVectorWrapper, LatentActionWrapper, bind_env
from agents.vec_env import GymnasiumVecEnv
from styleenv.devices import cpu_bf16_native, resolve_device, reuse_freed_memory, set_threads
from styleenv.env import StyleTransferEnv
from styleenv.files import remove_stale_temporaries
from styleenv.images import ImageLoadError
from styleenv.vector import StyleTransferVectorEnv
from styleenv.vgg import loss_network


@dataclass
class Run:
    """A built training run (model, envs, callbacks), before or after ``learn``."""

    config: TrainConfig
    model: SAC
    env: VecEnv
    eval_env: gym.Env
    split: Split
    generative: GenerativeCallback
    checkpoint: RunCheckpointCallback
    evaluation: HoldoutEvalCallback
    directory: Path
    resumed: bool


def make_env(config: TrainConfig, content: Any, style: Any, device: th.device, seed: int | None = None) -> gym.Env:
    """StyleTransferEnv -> TimeLimit(episode_steps) -> LatentActionWrapper (unbound)."""
    env = StyleTransferEnv(content=content, style=style, image_size=config.image_size,
                           load_size=config.load_size, device=device, skip_bad_images=config.skip_bad_images)
    env = gym.wrappers.TimeLimit(env, max_episode_steps=config.episode_steps)
    env = LatentActionWrapper(env, bound=config.action_bound)
    if seed is not None:
        env.action_space.seed(seed)
    return env


def make_training_env(config: TrainConfig, content: Any, style: Any, device: th.device) -> VecEnv:
    """The training envs as an SB3 VecEnv (latent wrappers unbound).

    ``envs = 1``: ``DummyVecEnv([Monitor(make_env(...))])``. ``envs = N > 1``: the batched
    :class:`~styleenv.vector.StyleTransferVectorEnv` (same-step autoreset, truncation after
    ``episode_steps``) under a :class:`~agents.sac.wrapper.LatentActionVectorWrapper`, adapted to
    SB3 by :class:`~agents.vec_env.GymnasiumVecEnv`, with SB3's ``VecMonitor`` for episode stats.
    """
    if config.envs == 1:
        return DummyVecEnv([lambda: Monitor(make_env(config, content, style, device, config.seed))])
    venv = StyleTransferVectorEnv(config.envs, content=content, style=style, image_size=config.image_size,
                                  load_size=config.load_size, device=device, max_episode_steps=config.episode_steps,
                                  autoreset_mode="SameStep", skip_bad_images=config.skip_bad_images)
    return VecMonitor(GymnasiumVecEnv(LatentActionVectorWrapper(venv, bound=config.action_bound)))


def tune_device(config: TrainConfig, device: th.device) -> None:
    """Process-wide speed settings: on CUDA, TF32 (``config.tf32``) and cuDNN autotuning
    (``config.cudnn_benchmark``); on the CPU, malloc's reuse of freed memory
    (:func:`~styleenv.devices.reuse_freed_memory`), and a warning where ``generative_bf16`` is set
    but the CPU has no bfloat16 hardware (:func:`~styleenv.devices.cpu_bf16_native`)."""
    if device.type == "cuda":
        th.backends.cuda.matmul.allow_tf32 = th.backends.cudnn.allow_tf32 = config.tf32
        th.backends.cudnn.benchmark = config.cudnn_benchmark
        return
    reuse_freed_memory()
    if config.generative_bf16 and not cpu_bf16_native():
        warnings.warn("generative_bf16 is set, but this CPU has no bfloat16 hardware (AVX-512 or AMX): "
                      "the generative update will run several times slower, not faster; "
                      "set generative_bf16 = false (--set generative_bf16=false, also on --resume)", stacklevel=2)


def cpu_channels_last(policy: StylePolicy) -> None:
    """On the CPU, keep the actor's and builder's weights in channels-last memory: their
    convolutions (and so the generative and SAC updates and the env's builder call) run about
    1.2x faster there. Same maths; outputs differ from contiguous weights by float rounding only."""
    if policy.device.type == "cpu":
        for network in policy.networks:
            network.to(memory_format=th.channels_last)


def _first(source: Any) -> Any:
    """The first folder of a list of folders (the one pairs are held back from)."""
    return source[0] if isinstance(source, list) else source


def replay_kwargs(config: TrainConfig) -> dict[str, Any]:
    """Arguments of the :class:`StyleReplayBuffer` of a config (a resumed run may change them)."""
    return {"action_dtype": config.action_dtype, "on_device": None if config.replay_on_device else False}


def sac_kwargs(config: TrainConfig) -> dict[str, Any]:
    """SB3 SAC arguments of a config (release defaults)."""
    return dict(
        learning_rate=config.learning_rate,
        buffer_size=config.buffer_size,
        learning_starts=config.learning_starts,
        batch_size=config.batch_size,
        tau=config.tau,
        gamma=config.gamma,
        train_freq=1,
        gradient_steps=config.envs,  # one SAC update per env step: a vector step is `envs` env steps
        ent_coef=config.ent_coef,
        target_entropy=config.target_entropy,
        replay_buffer_class=StyleReplayBuffer,
        replay_buffer_kwargs=replay_kwargs(config),
        policy_kwargs=dict(
            actor_lr_scale=config.actor_lr / config.learning_rate,
            actor_update_every=config.actor_update_every,
            generative_lr=config.generative_lr,
            loss_weight_lr=config.loss_weight_lr,
            critic_hidden=config.critic_hidden,
            optimizer_kwargs={"betas": tuple(config.betas)},
        ),
    )


#: The warning of a run without TensorBoard logs.
NO_TENSORBOARD = ("tensorboard is not installed: this run writes no TensorBoard logs (tb/); "
                  "pip install 'styleenv[train]' for them")


def tensorboard_folder(directory: Path) -> str | None:
    """The run's TensorBoard folder ``<output>/tb`` for SB3, or None (with a warning) where
    tensorboard is not installed: SB3 then refuses a ``tensorboard_log``, and the run logs as SB3
    does without one.

    :param directory: the run folder
    """
    try:
        import torch.utils.tensorboard  # noqa: F401  (what SB3 writes TensorBoard logs with)
    except ImportError:
        warnings.warn(NO_TENSORBOARD, stacklevel=2)
        return None
    return str(directory / "tb")


#: The advice that ends an error about a bad ``init`` file.
INIT_HINT = "pass a checkpoint saved by styleenv (a run's final.pt) or the released model's folder"


def init_networks(model: SAC, path: str, device: th.device) -> str:
    """Load actor and builder weights into the model's policy, and the loss weights ``p`` where the file has them.

    :param path: ``"default"`` (the shipped checkpoint, :mod:`agents.default`), a styleenv
        checkpoint file, or the released model's folder (no ``p``: they start at 1)
    """
    weights = None
    try:
        p = init_path(path)
        if p.is_dir():
            actor, builder = load_release(p, device)
            kind = "released model"
        else:
            actor, builder, metadata = load_checkpoint(p, device, hint=INIT_HINT)
            weights = checkpoint_loss_weights(p, metadata)
            kind = "styleenv checkpoint"
    except CheckpointError as err:
        raise ValueError(str(err)) from None
    model.policy.actor.net.load_state_dict(actor.state_dict())
    model.policy.builder.load_state_dict(builder.state_dict())
    if weights is not None:
        with th.no_grad():
            model.policy.loss_weights.copy_(th.tensor(weights))
    return kind


def build(config: TrainConfig, resume: bool = False, verbose: int = 0) -> Run:
    """Build (or resume) a run from a validated config; nothing is written in the run folder yet.

    :param config: the run's settings
    :param resume: continue from ``<output>/checkpoints/last.zip`` where there is one (random streams
        seeded by ``seed`` plus the step, so that a slice does not replay the images of the first)
    :param verbose: print checkpoints and evaluations
    :raises ValueError: bad data, device, ``init`` or a damaged checkpoint (one line naming it)
    """
    set_threads(config.threads or None)
    device = resolve_device(config.device)
    tune_device(config, device)
    directory = Path(config.output)
    ckpt_dir = directory / "checkpoints"
    remove_stale_temporaries(ckpt_dir)  # a killed run's half-written checkpoint files
    split = holdout_split(config.content, config.style, config.holdout_content, config.holdout_style,
                          config.eval_pairs, config.holdout_seed)
    env = make_training_env(config, split.content, split.style, device)
    eval_env = make_env(config, _first(config.content), _first(config.style), device)  # pinned pairs only
    last = ckpt_dir / "last.zip"
    resumed = bool(resume and last.is_file())
    tensorboard_log = tensorboard_folder(directory)
    if resumed:
        model = load_model(last, env=env, device=device, gradient_steps=config.envs,  # `envs` may have changed
                           replay_buffer_kwargs=replay_kwargs(config))  # and `replay_on_device`
        # SB3's load seeds the run's seed again: each slice would replay the images and noise of step 0
        model.set_random_seed((config.seed + model.num_timesteps) % 2**32)
        if (ckpt_dir / "replay.pkl").is_file():
            load_replay(model, ckpt_dir / "replay.pkl")
    else:
        model = SAC(StylePolicy, env, seed=config.seed, device=device, verbose=0,
                    tensorboard_log=tensorboard_log, **sac_kwargs(config))
        if config.init:
            init_networks(model, config.init, device)
    if not isinstance(model.policy, StylePolicy):
        raise ValueError(f"{last}: not a StylePolicy model")
    model.tensorboard_log = tensorboard_log  # a resumed model holds the one it was saved with
    actor, builder = model.policy.networks
    cpu_channels_last(model.policy)
    bind_env(env, actor, builder)
    eval_env.bind(actor, builder)
    if resumed and model.replay_buffer.size() == 0:
        refill_replay(model, max(config.learning_starts, config.batch_size, config.generative_batch_size))
    net = loss_network(device)
    generative = GenerativeCallback(net, every=config.generative_every,
                                    batch_size=config.generative_batch_size or None,
                                    content_weight=config.generative_content_weight, bf16=config.generative_bf16)
    if resumed:
        load_generative_state(ckpt_dir, model, generative)
    checkpoint = RunCheckpointCallback(ckpt_dir, config.checkpoint_every, config.save_replay, generative, verbose)
    evaluation = HoldoutEvalCallback(eval_env, split.pairs, directory, config.eval_every, config.image_every,
                              config.episode_steps, verbose)
    return Run(config, model, env, eval_env, split, generative, checkpoint, evaluation, directory, resumed)


def write_run_files(run: Run) -> None:
    """Write the run's ``config.json`` and, for a new run, ``holdout.json`` (the held-back pairs)."""
    run.directory.mkdir(parents=True, exist_ok=True)
    (run.directory / "config.json").write_text(json.dumps(run.config.to_dict(), indent=2))
    if not run.resumed:
        pairs = [list(map(str, p)) for p in run.split.pairs]
        (run.directory / "holdout.json").write_text(json.dumps({"pairs": pairs}, indent=2))


def refill_replay(model: SAC, steps: int) -> None:
    """Fill an empty replay buffer with ``steps`` transitions (rounded up to whole vector steps) of
    the current (stochastic) policy.

    A run resumed from ``last.zip`` alone (no ``replay.pkl``) starts with an empty buffer; SB3
    would then sample its first batches from a handful of transitions. The refill uses SAC's own
    collection steps (``_sample_action``, ``_store_transition``) without advancing the step count.
    """
    env = model.get_env()
    model._last_obs = env.reset()
    model._last_episode_starts = np.ones((env.num_envs,), dtype=bool)
    for _ in range(-(-steps // env.num_envs)):
        action, buffer_action = model._sample_action(0, None, env.num_envs)
        new_obs, rewards, dones, infos = env.step(action)
        model._store_transition(model.replay_buffer, buffer_action, new_obs, rewards, dones, infos)


def export(run: Run, path: str | Path | None = None) -> Path:
    """Write actor + builder and the loss weights ``p`` (small file) in the project's checkpoint format.

    :param run: the run
    :param path: the file (default ``<output>/final.pt``)
    :raises TrainingError: the weights are not finite (nothing is written)
    """
    check_finite(run.model, run.checkpoint.directory)
    actor, builder = run.model.policy.networks
    meta = {"num_timesteps": int(run.model.num_timesteps), "image_size": run.config.image_size,
            "source": "styleenv train (SB3 SAC)", "loss_weights": run.model.policy.loss_weights.tolist()}
    return save_checkpoint(path or run.directory / "final.pt", actor, builder, meta)


def learn(run: Run, progress: bool | None = None) -> Run:
    """Train up to ``config.total_steps`` env steps in all (continuing a resumed run).

    Ctrl-C (SIGTERM in the CLI) first writes a checkpoint and ``final.pt``, then propagates.

    :param run: what :func:`build` made
    :param progress: show a progress bar (default: ``config.progress``)
    :raises TrainingError: the weights became non-finite (none of them saved), or an image failed to
        decode (checkpoint and ``final.pt`` saved first); one line each
    """
    model, config = run.model, run.config
    write_run_files(run)
    remaining = config.total_steps - model.num_timesteps
    callbacks = [run.generative, run.checkpoint, run.evaluation]
    if config.time_limit > 0:  # first: its clock includes the first evaluation; the last is reserved
        callbacks.insert(0, TimeLimitCallback(config.time_limit, run.evaluation.end_seconds, verbose=1))
    bar = TqdmCallback() if (config.progress if progress is None else progress) else None
    if bar is not None:
        callbacks.append(bar)
    if remaining > 0:
        try:
            try:
                model.learn(remaining, callback=CallbackList(callbacks), log_interval=config.log_interval,
                            tb_log_name="SAC", reset_num_timesteps=not run.resumed and model.num_timesteps == 0)
            finally:  # SB3 closes the bar only when learn returns: close it before the lines below
                if bar is not None:
                    bar.close()
        except KeyboardInterrupt:
            save(run)
            raise
        except ImageLoadError as err:  # a file that passed the header check but does not decode
            save(run)
            raise TrainingError(bad_image(run, err)) from None
        except Exception:
            check_finite(model, run.checkpoint.directory)  # a diverged run says so in one line
            raise
        run.checkpoint.save(force=True)
    export(run)
    return run


def save(run: Run) -> None:
    """Write a checkpoint and ``final.pt`` of a run stopped early, once it took a step.

    :raises TrainingError: the weights are not finite (nothing is written)
    """
    if run.model.num_timesteps > 0:
        run.checkpoint.save(force=True)
        export(run)


def bad_image(run: Run, err: ImageLoadError) -> str:
    """The one line that ends a run stopped by an image that does not decode: the file, what was
    saved, and the way on."""
    step = run.model.num_timesteps
    saved = f"stopped at step {step}, checkpoint and final.pt saved" if step > 0 else "stopped before the first step"
    held = any(err.source == str(path) for pair in run.split.pairs for path in pair)
    fix = ("remove the file" if held or run.config.skip_bad_images
           else "remove the file, or skip such files with --set skip_bad_images=true")
    return f"{err} ({saved}); {fix}, then --resume"


def train(config: TrainConfig, resume: bool = False, verbose: int = 0) -> Run:
    """Build and train (see :func:`build` and :func:`learn`)."""
    return learn(build(config, resume=resume, verbose=verbose))
