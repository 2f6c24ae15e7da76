"""End-to-end training on the tiny config: losses, checkpoint, reload, resume, CLI."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
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


def test_resume_continues_from_the_saved_step(trained):
    run, cfg = trained
    cfg2 = load_config("configs/tiny.toml", {"output": cfg.output, "total_steps": 26, "checkpoint_every": 20})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        resumed = build(cfg2, resume=True)
        assert resumed.resumed and resumed.model.num_timesteps == 20
        assert resumed.generative.n_steps == run.generative.n_steps
        calls = resumed.model.policy.actor.optimizer.param_groups[0]["calls"]
        assert calls == run.model.policy.actor.optimizer.param_groups[0]["calls"]
        assert resumed.model.replay_buffer.size() >= cfg2.batch_size  # refilled: no replay.pkl was saved
        learn(resumed)
    assert resumed.model.num_timesteps == 26
    assert resumed.model.policy.actor.optimizer.param_groups[0]["calls"] == calls + 6
    assert json.loads((resumed.directory / "checkpoints" / "last.json").read_text())["num_timesteps"] == 26


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


def test_cli_bad_input_exits_2(capsys):
    from styleenv_cli.main import main

    assert main(["train", "--config", "configs/tiny.toml", "--set", "no_such_key=1"]) == 2
    assert "unknown config key" in capsys.readouterr().err
    assert main(["train", "--config", "/nonexistent.toml"]) == 2


def test_cli_missing_data_folder_in_a_list_exits_2(tmp_path, capsys):
    from styleenv_cli.main import main

    present, missing = tmp_path / "photos", tmp_path / "no-such-folder"
    present.mkdir()
    for i in range(3):
        Image.fromarray(np.full((40, 40, 3), 60 * i, dtype=np.uint8)).save(present / f"{i}.png")
    argv = ["train", "--config", "configs/tiny.toml", "--output", str(tmp_path / "run"),
            "--set", f'content=["{present}", "{missing}"]', "--set", f'style=["{present}", "{missing}"]']
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(missing) in err[0]
    assert not (tmp_path / "run").exists()  # the folder it created is removed again


def test_sigterm_saves_a_checkpoint_that_resumes(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "styleenv", "train", "--config", "configs/tiny.toml", "--output", str(out),
           "--set", "total_steps=100000", "--set", "checkpoint_every=0", "--set", "eval_every=8", "--verbose"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert "training in" in proc.stdout.readline()  # printed once the model is built
        for line in proc.stdout:  # the evaluation at step 8 shows steps past the warm-up were taken
            if line.startswith("step 8:"):
                break
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    saved = json.loads((out / "checkpoints" / "last.json").read_text())["num_timesteps"]
    assert saved > 0 and (out / "final.pt").is_file()
    cfg = load_config("configs/tiny.toml", {"output": str(out), "total_steps": saved + 2})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        resumed = build(cfg, resume=True)
    assert resumed.resumed and resumed.model.num_timesteps == saved


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


def test_resume_without_a_run_is_refused(tmp_path, capsys):
    from styleenv_cli.main import main

    missing = tmp_path / "mistyped"
    assert main(["train", "--output", str(missing), "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no run to resume" in err[0] and str(missing) in err[0]
    assert not missing.exists()  # nothing started, nothing created


def test_time_limit_stops_on_time_with_a_loadable_checkpoint(tmp_path):
    import time

    from agents.release import load_checkpoint

    cfg = load_config("configs/tiny.toml", {"output": str(tmp_path / "run"), "total_steps": 100_000,
                                            "time_limit": 0.1, "checkpoint_every": 0})
    start = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = learn(build(cfg))
    assert time.monotonic() - start < 60 and 0 < run.model.num_timesteps < 100_000
    saved = json.loads((run.directory / "checkpoints" / "last.json").read_text())["num_timesteps"]
    assert saved == run.model.num_timesteps
    assert load_checkpoint(run.directory / "final.pt")[2]["num_timesteps"] == saved


def test_time_limit_keeps_the_time_the_end_of_training_takes():
    from agents.sac.callbacks import TimeLimitCallback

    for reserve, goes_on in ((0.0, True), (59.0, True), (61.0, False)):  # a 1-minute budget
        limit = TimeLimitCallback(1.0, reserve=lambda r=reserve: r)
        limit._on_training_start()
        assert limit._on_step() is goes_on and limit.stopped is not goes_on
