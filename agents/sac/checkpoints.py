"""A training run's checkpoints: writing them (:class:`RunCheckpointCallback`), reading them back on
``--resume`` (:func:`load_model`, :func:`load_generative_state`, :func:`load_replay`), and the
check that keeps a diverged run's weights out of them (:func:`check_finite`).

Files in the checkpoint folder: ``last.zip`` (SB3 model), ``generative.pt`` (generative optimizer
and counters), ``replay.pkl`` (optional), ``last.json`` (the step of the latest checkpoint). A
damaged file read on resume is a one-line ``ValueError`` that names it.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

import torch as th
from stable_baselines3 import SAC
from stable_baselines3.common.callbacks import BaseCallback

from agents.sac.callbacks import GenerativeCallback
from styleenv.files import atomic_write

GENERATIVE_STATE = "generative.pt"

#: What ``last.zip`` leaves out: the envs' latest observations (4 MB each for 8 envs at 256 px,
#: which took the file past 16 MB). A resumed run's new envs are reset instead.
UNSAVED = ("_last_obs", "_last_original_obs")


class TrainingError(RuntimeError):
    """Training stopped for a reason its one-line message gives (weights diverged, an image that
    does not decode); what can be kept is kept."""


def saved_step(directory: str | Path) -> int | None:
    """The step of the latest checkpoint in ``directory`` (its ``last.json``), ``None`` if there is none."""
    try:
        return int(json.loads((Path(directory) / "last.json").read_text())["num_timesteps"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_finite(model: SAC, directory: str | Path) -> None:
    """Refuse to go on with non-finite weights (a diverged run), so they never overwrite a checkpoint.

    Checks every parameter of the policy (actor, critic and its target, builder, loss weights ``p``)
    and the entropy coefficient, with one device sync.

    :param model: the SAC model
    :param directory: the checkpoint folder (for the step of the last good checkpoint)
    :raises TrainingError: a weight is NaN or infinite (one line: the step, the checkpoint kept)
    """
    tensors = [p.detach() for p in model.policy.parameters()]
    if model.log_ent_coef is not None:
        tensors.append(model.log_ent_coef.detach())
    if th.stack([t.isfinite().all() for t in tensors]).all():
        return
    step = saved_step(directory)
    kept = (f"the last good checkpoint (step {step}, {Path(directory) / 'last.zip'}) is kept" if step is not None
            else "nothing was saved")
    raise TrainingError(f"training diverged at step {model.num_timesteps} (weights became NaN or infinite) and "
                        f"stopped; {kept}; lower the learning rates (learning_rate, actor_lr, generative_lr)")


def _reason(err: BaseException) -> str:
    """The first sentence of an error's message, or its type where it has none."""
    lines = str(err).strip().splitlines()
    return lines[0].split(". ")[0] if lines else type(err).__name__


class RunCheckpointCallback(BaseCallback):
    """Atomic checkpoints every ``every`` env steps (and on demand with :meth:`save`).

    Writes ``<dir>/last.zip`` (SB3 model: policy, optimizers, temperature, step count; not
    :data:`UNSAVED`),
    ``<dir>/generative.pt`` (generative optimizer state and step count) and, with
    ``save_replay``, ``<dir>/replay.pkl``; each file is written under a temporary name and
    renamed, so a crash leaves the previous complete file. ``last.json`` records the step.
    Non-finite weights are never written (:func:`check_finite`).

    :param directory: checkpoint folder
    :param every: env steps between checkpoints (0: only explicit saves)
    :param save_replay: also save the replay buffer
    :param generative: the generative callback whose counters are saved
    :param verbose: print each checkpoint written
    """

    def __init__(self, directory: str | Path, every: int, save_replay: bool = False,
                 generative: GenerativeCallback | None = None, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.directory = Path(directory)
        self.every = every
        self.save_replay = save_replay
        self.generative = generative
        self._last_saved = -1

    def _on_step(self) -> bool:
        if self.every > 0 and self.num_timesteps % self.every < self.model.n_envs:
            self.save()
        return True

    def save(self, force: bool = False) -> Path:
        """Write a checkpoint of the current model now.

        :param force: write even if this step was already saved (the updates that follow a
            step's callbacks change the weights; the end of training saves with ``force``)
        :raises TrainingError: the weights are not finite (nothing is written)
        """
        model = self.model
        if not force and self._last_saved == model.num_timesteps:
            return self.directory / "last.zip"
        check_finite(model, self.directory)
        gen = {"optimizer": model.policy.generative_optimizer.state_dict(),
               "n_steps": self.generative.n_steps if self.generative else 0,
               "num_timesteps": model.num_timesteps}
        atomic_write(self.directory / GENERATIVE_STATE, lambda tmp: th.save(gen, tmp), sync=True)
        if self.save_replay and model.replay_buffer is not None:
            atomic_write(self.directory / "replay.pkl", lambda tmp: model.save_replay_buffer(tmp), sync=True)
        atomic_write(self.directory / "last.zip", lambda tmp: model.save(tmp, exclude=UNSAVED), sync=True)
        info = {"num_timesteps": model.num_timesteps, "replay": self.save_replay, "time": time.time()}
        atomic_write(self.directory / "last.json", lambda tmp: tmp.write_text(json.dumps(info)), sync=True)
        self._last_saved = model.num_timesteps
        if self.verbose:
            print(f"checkpoint at step {model.num_timesteps}: {self.directory / 'last.zip'}")
        return self.directory / "last.zip"


def load_model(path: Path, **kwargs: Any) -> SAC:
    """``SAC.load(path, **kwargs)``, with a damaged file reported in one line.

    :raises ValueError: the file cannot be read as an SB3 model (names it)
    """
    try:
        return SAC.load(path, **kwargs)
    except Exception as err:  # a cut-short zip fails anywhere in SB3's reader (assertions included)
        raise ValueError(f"{path}: cannot resume from it, the file is damaged ({_reason(err)}); start a new "
                         f"--output (--init with this run's final.pt keeps its trained weights)") from None


def load_generative_state(directory: str | Path, model: SAC, generative: GenerativeCallback | None) -> bool:
    """Restore what :meth:`RunCheckpointCallback.save` wrote beside the SB3 zip (if present).

    A ``generative.pt`` of another step than the model's (a run killed between writing it and
    ``last.zip``) is not mixed in: the generative optimizer then starts afresh, with a warning.

    :param directory: checkpoint folder
    :param model: the resumed model
    :param generative: its generative callback (whose step counter is restored), if any
    :return: whether the state was restored
    :raises ValueError: the file is damaged (one line naming it)
    """
    path = Path(directory) / GENERATIVE_STATE
    if not path.is_file():
        return False
    try:
        state = th.load(path, map_location=model.device, weights_only=True)
        step, n_steps, optimizer = int(state["num_timesteps"]), int(state.get("n_steps", 0)), state["optimizer"]
    except Exception as err:  # pickle, zip and unpickler errors, missing entries
        raise ValueError(f"{path}: damaged ({_reason(err)}); remove it to resume with a fresh generative "
                         f"optimizer") from None
    if step != model.num_timesteps:
        warnings.warn(f"{path} is of step {step}, last.zip of step {model.num_timesteps} (a run killed while "
                      f"checkpointing): the generative optimizer starts afresh", stacklevel=2)
        return False
    try:
        model.policy.generative_optimizer.load_state_dict(optimizer)
    except (ValueError, KeyError) as err:
        raise ValueError(f"{path}: does not fit this run ({_reason(err)}); remove it to resume with a fresh "
                         f"generative optimizer") from None
    if generative is not None:
        generative.n_steps = n_steps
    return True


def load_replay(model: SAC, path: Path) -> None:
    """Load a saved replay buffer, unless it was stored for another number of envs (then the buffer
    stays empty, with a warning, and :func:`agents.sac.trainer.refill_replay` fills it).

    :raises ValueError: the file is damaged (one line naming it)
    """
    empty = model.replay_buffer
    try:
        model.load_replay_buffer(path)
    except Exception as err:  # pickle errors of a cut-short file
        raise ValueError(f"{path}: damaged ({_reason(err)}); remove it to resume with a refilled replay "
                         f"buffer") from None
    if model.replay_buffer.n_envs != model.n_envs:
        warnings.warn(f"{path} holds transitions of {model.replay_buffer.n_envs} env(s), the run now steps "
                      f"{model.n_envs}: refilling the replay buffer instead", stacklevel=2)
        model.replay_buffer = empty
