"""End-to-end training on the tiny config: losses, checkpoint, reload, resume, stopping early
(the command's own tests are in test_train_cli.py)."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import torch
from stable_baselines3 import SAC

from agents.sac.config import load_config
from agents.sac.trainer import build, cpu_channels_last, learn


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    cfg = load_config("configs/tiny.toml", {"output": str(out), "total_steps": 20, "checkpoint_every": 20})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = learn(build(cfg))
    return run, cfg


def test_training_runs_and_losses_are_finite(trained):
    run, cfg = trained
    assert run.model.num_timesteps == 20
    assert run.generative.n_steps == 20 - cfg.learning_starts
    for p in run.model.policy.parameters():
        assert torch.isfinite(p).all()
    assert torch.isfinite(run.model.log_ent_coef).all()
    losses = run.generative.last_losses
    assert set(losses) == {"total", "content", "style", "contrastive"}
    assert all(math.isfinite(v) for v in losses.values())
    history = [json.loads(x) for x in (run.directory / "eval.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == [0, 20] and all(math.isfinite(h["mean_reward"]) for h in history)
    assert all(h["seconds"] >= 0 for h in history)  # what a resumed run's time limit reserves for its last one
    assert list((run.directory / "tb").rglob("events.out.tfevents*"))


def test_checkpoint_and_exported_weights_written(trained):
    run, _ = trained
    ckpt = run.directory / "checkpoints"
    assert (ckpt / "last.zip").is_file() and (ckpt / "generative.pt").is_file()
    assert json.loads((ckpt / "last.json").read_text())["num_timesteps"] == 20
    assert not list(ckpt.glob("*.tmp"))
    from agents.release import load_checkpoint

    actor, builder, meta = load_checkpoint(run.directory / "final.pt")
    assert meta["num_timesteps"] == 20
    assert meta["loss_weights"] == run.model.policy.loss_weights.tolist()
    assert (run.directory / "final.pt").stat().st_size < 3_000_000


def test_loaded_model_gives_the_same_deterministic_actions(trained):
    run, _ = trained
    loaded = SAC.load(run.directory / "checkpoints" / "last.zip", device="cpu")
    cpu_channels_last(loaded.policy)  # the trainer's memory layout, so the same kernels run
    rng = np.random.default_rng(0)
    obs = {k: rng.integers(0, 256, (2, *run.model.observation_space[k].shape), dtype=np.uint8)
           for k in ("moving", "style")}
    a, _ = run.model.predict(obs, deterministic=True)
    b, _ = loaded.predict(obs, deterministic=True)
    np.testing.assert_array_equal(a, b)
    for k, v in run.model.policy.builder.state_dict().items():
        assert torch.equal(v, loaded.policy.builder.state_dict()[k])


def test_resume_continues_from_the_saved_step(trained, tmp_path):
    run, _ = trained
    folder, step, cfg2 = _copy(trained, tmp_path, steps=6)  # the shared run's own folder stays at step 20
    assert step == 20
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        resumed = build(cfg2, resume=True)
        assert resumed.resumed and resumed.model.num_timesteps == 20
        assert resumed.generative.n_steps == run.generative.n_steps
        calls = resumed.model.policy.actor.optimizer.param_groups[0]["calls"]
        assert calls == run.model.policy.actor.optimizer.param_groups[0]["calls"]
        assert resumed.model.replay_buffer.size() >= cfg2.batch_size  # refilled: no replay.pkl was saved
        new, old = resumed.model.replay_buffer, run.model.replay_buffer  # slot 0, row 0: each run's first episode
        assert not (np.array_equal(new.moving[0], old.moving[0]) and np.array_equal(new.styles[0], old.styles[0]))
        learn(resumed)
    assert resumed.model.num_timesteps == 26
    assert resumed.model.policy.actor.optimizer.param_groups[0]["calls"] == calls + 6
    assert resumed.directory == folder
    assert json.loads((folder / "checkpoints" / "last.json").read_text())["num_timesteps"] == 26
    assert json.loads((run.directory / "checkpoints" / "last.json").read_text())["num_timesteps"] == 20


def test_init_from_an_exported_checkpoint_keeps_its_loss_weights(trained, tmp_path):
    """A fine-tune from ``final.pt`` starts with the run's settled ``p``, not at 1."""
    run, _ = trained
    from agents.release import save_checkpoint

    exported = save_checkpoint(tmp_path / "tuned.pt", *run.model.policy.networks, {"loss_weights": [0.6, 1.2, 0.15]})
    cfg = load_config("configs/tiny.toml", {"output": str(tmp_path / "fine"), "init": str(exported)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fine = build(cfg)
    torch.testing.assert_close(fine.model.policy.loss_weights, torch.tensor([0.6, 1.2, 0.15]))
    for k, v in run.model.policy.builder.state_dict().items():
        assert torch.equal(v, fine.model.policy.builder.state_dict()[k])


def test_resume_with_output_alone_restores_the_saved_config(trained, capsys):
    from styleenv_cli.main import main

    run, cfg = trained
    saved = json.loads((run.directory / "config.json").read_text())
    assert main(["train", "--output", cfg.output, "--resume", "--set", "image_size=64"]) == 2
    assert "image_size = 32" in capsys.readouterr().err
    from styleenv_cli.commands.train import add_arguments, config_from_args
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    restored = config_from_args(parser.parse_args(["--output", cfg.output, "--resume", "--total-steps", "40"]))
    assert restored.image_size == saved["image_size"] == 32 and restored.total_steps == 40
    assert restored.batch_size == saved["batch_size"] and restored.output == cfg.output
    assert json.loads((run.directory / "config.json").read_text()) == saved  # nothing rewritten yet


def test_time_limit_stops_on_time_with_a_loadable_checkpoint(tmp_path, monkeypatch):
    """The trainer puts the limit first with the evaluation's reserve; it stops the run early and a
    checkpoint and ``final.pt`` of the step reached are written. The callbacks' clock is faked (one
    second per reading) so that the stop comes after a known share of the budget, on any machine."""
    import time
    import types

    from agents.release import load_checkpoint
    from agents.sac import callbacks, trainer

    clock = iter(range(10**9))
    monkeypatch.setattr(callbacks, "time", types.SimpleNamespace(monotonic=lambda: float(next(clock)),
                                                                 perf_counter=time.perf_counter))
    limits = []

    class Spy(callbacks.TimeLimitCallback):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            limits.append(self)

    monkeypatch.setattr(trainer, "TimeLimitCallback", Spy)
    cfg = load_config("configs/tiny.toml", {"output": str(tmp_path / "run"), "total_steps": 40,
                                            "time_limit": 0.5, "checkpoint_every": 0, "eval_every": 0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = learn(build(cfg))
    assert len(limits) == 1 and limits[0].stopped
    assert limits[0].seconds == 30.0 and limits[0].reserve == run.evaluation.end_seconds
    assert limits[0].start == 0.0  # the clock's first reading: put first, it starts before the first evaluation
    assert 0 < run.model.num_timesteps < 40
    saved = json.loads((run.directory / "checkpoints" / "last.json").read_text())["num_timesteps"]
    assert saved == run.model.num_timesteps
    assert load_checkpoint(run.directory / "final.pt")[2]["num_timesteps"] == saved


def test_time_limit_keeps_the_time_the_end_of_training_takes():
    from agents.sac.callbacks import TimeLimitCallback

    for reserve, goes_on in ((0.0, True), (59.0, True), (61.0, False)):  # a 1-minute budget
        limit = TimeLimitCallback(1.0, reserve=lambda r=reserve: r)
        limit._on_training_start()
        assert limit._on_step() is goes_on and limit.stopped is not goes_on


def _copy(trained, tmp_path, steps: int = 4):
    """A copy of the trained run's folder (to damage or continue it), its checkpoint's step, and the
    tiny config that resumes it for ``steps`` more steps."""
    import shutil

    run, _ = trained
    folder = shutil.copytree(run.directory, tmp_path / "run")
    step = json.loads((folder / "checkpoints" / "last.json").read_text())["num_timesteps"]
    return folder, step, load_config("configs/tiny.toml", {"output": str(folder), "total_steps": step + steps})


def _errors(capsys) -> list[str]:
    """The lines of stderr that are not warnings."""
    return [line for line in capsys.readouterr().err.strip().splitlines() if ": warning: " not in line]


def _quiet_build(cfg, resume: bool = True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build(cfg, resume=resume)


def test_non_finite_weights_never_overwrite_the_last_good_checkpoint(trained, tmp_path):
    from agents.sac.checkpoints import TrainingError

    folder, step, cfg = _copy(trained, tmp_path)
    files = [folder / "final.pt", *(folder / "checkpoints" / name for name in ("last.zip", "generative.pt", "last.json"))]
    before = [f.read_bytes() for f in files]
    resumed = _quiet_build(cfg)
    with torch.no_grad():
        next(resumed.model.policy.builder.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingError, match=rf"diverged at step {step} .*last good checkpoint \(step {step},"):
        learn(resumed)
    assert [f.read_bytes() for f in files] == before


def test_an_error_that_is_not_an_interruption_saves_nothing(trained, tmp_path, monkeypatch):
    folder, step, cfg = _copy(trained, tmp_path)
    files = [folder / "final.pt", folder / "checkpoints" / "last.json"]
    before = [f.read_bytes() for f in files]
    resumed = _quiet_build(cfg)

    def update():
        raise RuntimeError("a bug")

    from agents.sac import trainer
    from agents.sac.callbacks import TqdmCallback

    bars = []

    class Bar(TqdmCallback):  # SB3 skips on_training_end when learn raises: the trainer must close it
        def _on_training_start(self) -> None:
            super()._on_training_start()
            bars.append(self)

    monkeypatch.setattr(resumed.generative, "update", update)
    monkeypatch.setattr(trainer, "TqdmCallback", Bar)
    with pytest.raises(RuntimeError, match="a bug"):
        learn(resumed, progress=True)
    assert resumed.model.num_timesteps > step and [f.read_bytes() for f in files] == before
    assert len(bars) == 1 and bars[0].bar is None


def test_an_image_that_fails_to_decode_mid_run_stops_with_a_checkpoint(trained, tmp_path, monkeypatch):
    from agents.release import load_checkpoint
    from agents.sac.checkpoints import TrainingError
    from styleenv.images import ImageLoadError

    folder, step, cfg = _copy(trained, tmp_path, steps=20)
    resumed = _quiet_build(cfg)
    assert resumed.env.envs[0].unwrapped.contents.skip_bad_images is False

    source = resumed.env.envs[0].unwrapped.contents
    draws = []

    def crop(*args, **kwargs):  # the second episode's content image is a file cut short
        draws.append(args)
        if len(draws) == 2:
            raise ImageLoadError("photos/cut.jpg", "truncated or corrupt file")
        return real(*args, **kwargs)

    real = source.sample_named_crop
    monkeypatch.setattr(source, "sample_named_crop", crop)
    with pytest.raises(TrainingError) as stop:
        learn(resumed)
    line = str(stop.value)
    assert "photos/cut.jpg" in line and "skip_bad_images=true" in line and "\n" not in line
    saved = json.loads((folder / "checkpoints" / "last.json").read_text())["num_timesteps"]
    assert step < saved == resumed.model.num_timesteps < cfg.total_steps
    assert load_checkpoint(folder / "final.pt")[2]["num_timesteps"] == saved


def test_resume_after_a_kill_while_checkpointing(trained, tmp_path):
    folder, step, cfg = _copy(trained, tmp_path)
    gen = folder / "checkpoints" / "generative.pt"
    state = torch.load(gen, weights_only=True)
    torch.save({**state, "num_timesteps": step + 1}, gen)  # written, then killed before last.zip
    evaluations = folder / "eval.jsonl"
    with evaluations.open("a") as f:  # an evaluation after the checkpoint, and a line cut short
        f.write(json.dumps({"step": step + 3, "mean_reward": 0.0}) + '\n{"step": ')
    with pytest.warns(UserWarning, match="generative optimizer starts afresh"):
        resumed = build(cfg, resume=True)
    assert not resumed.model.policy.generative_optimizer.state
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        learn(resumed)
    steps = [json.loads(line)["step"] for line in evaluations.read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == step + 4 and step + 3 not in steps


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _to_a_member(data: bytes) -> bytes:
    """Cut after the last stored member, a zip of its own: SB3 then reads that member's end record."""
    return data[: data.rfind(b"PK\x05\x06", 0, data.rfind(b"PK\x05\x06")) + 22]


@pytest.mark.parametrize("name, cut", [("last.zip", _half), ("last.zip", _to_a_member), ("generative.pt", _half)])
def test_a_damaged_checkpoint_file_is_one_line_naming_it(trained, tmp_path, capsys, name, cut):
    from styleenv_cli.main import main

    folder, step, _ = _copy(trained, tmp_path)
    path = folder / "checkpoints" / name
    path.write_bytes(cut(path.read_bytes()))
    assert main(["train", "--output", str(folder), "--resume", "--total-steps", str(step + 4)]) == 2
    err = _errors(capsys)
    assert len(err) == 1 and str(path) in err[0], err
