"""Training with ``envs = N > 1``: the batched vector env, its latent layer, storage, checkpoints, resume."""

from __future__ import annotations

import argparse
import json
import shutil
import warnings
import zipfile

import numpy as np
import pytest
import torch
from stable_baselines3 import SAC
from stable_baselines3.common.vec_env import DummyVecEnv

from agents.sac.config import ConfigError, TrainConfig, load_config, resume_config
from agents.sac.trainer import build, cpu_channels_last, learn, tune_device

ENVS, STEPS, EPISODE = 2, 20, 5
SETTINGS = {"image_size": 16, "total_steps": STEPS, "checkpoint_every": 10, "episode_steps": EPISODE,
            "envs": ENVS, "save_replay": True}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("vec")
    cfg = load_config("configs/tiny.toml", {**SETTINGS, "output": str(out)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = learn(build(cfg))
    return run, cfg


def test_one_sac_and_one_generative_update_per_env_step(trained):
    run, cfg = trained
    assert not isinstance(run.env, DummyVecEnv) and run.env.num_envs == ENVS
    assert run.model.n_envs == ENVS and run.model.gradient_steps == ENVS
    assert run.model.num_timesteps == STEPS
    assert run.generative.n_steps == STEPS - cfg.learning_starts  # a vector step after the warm-up runs ENVS
    assert run.model.policy.actor.optimizer.param_groups[0]["calls"] == STEPS - cfg.learning_starts
    episodes = list(run.model.ep_info_buffer)  # VecMonitor's episode stats
    assert len(episodes) == STEPS // EPISODE and all(e["l"] == EPISODE for e in episodes)


def test_replay_buffer_stores_every_env_of_a_vector_step(trained):
    run, _ = trained
    buf = run.model.replay_buffer
    assert buf.n_envs == ENVS and buf.pos == STEPS // ENVS and not buf.full
    n = buf.pos
    assert (buf.write_id[:n] >= 0).all() and len(np.unique(buf.write_id[:n])) == STEPS
    assert not np.array_equal(buf.moving[:n, 0], buf.moving[:n, 1])  # two episodes, not one copied
    ends = buf.timeouts[:n].astype(bool)
    assert (ends.sum(axis=0) == n // EPISODE).all() and (buf.dones[:n] == buf.timeouts[:n]).all()
    for env in range(ENVS):  # within an episode, a transition's next image is the next one's image
        for t in np.flatnonzero(~ends[: n - 1, env]):
            np.testing.assert_array_equal(buf.next_moving[t, env], buf.moving[t + 1, env])
        for t in np.flatnonzero(ends[: n - 1, env]):  # an episode's last next image is its own, not the reset's
            assert not np.array_equal(buf.next_moving[t, env], buf.moving[t + 1, env])
    batch = buf.sample(8)
    assert batch.actions.dtype == torch.float32 and batch.observations["moving"].shape == (8, 3, 16, 16)


def test_checkpoint_loads_and_a_resumed_run_continues(trained, tmp_path):
    run, cfg = trained
    folder = tmp_path / "run"
    shutil.copytree(cfg.output, folder)
    assert json.loads((folder / "checkpoints" / "last.json").read_text())["num_timesteps"] == STEPS
    saved = json.loads(zipfile.ZipFile(folder / "checkpoints" / "last.zip").read("data"))
    assert "_last_obs" not in saved and "_last_original_obs" not in saved  # the new envs are reset instead
    loaded = SAC.load(folder / "checkpoints" / "last.zip", device="cpu")
    cpu_channels_last(loaded.policy)  # the trainer's memory layout, so the same kernels run
    obs = {k: np.zeros((ENVS, 3, 16, 16), np.uint8) for k in ("moving", "style")}
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0],
                                  run.model.predict(obs, deterministic=True)[0])
    again = resume_config(folder / "config.json", {"output": str(folder), "total_steps": STEPS + 4})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        resumed = build(again, resume=True)
        assert resumed.resumed and resumed.model.num_timesteps == STEPS
        assert resumed.model.replay_buffer.pos == STEPS // ENVS  # replay.pkl of the same envs: kept
        learn(resumed)
    assert resumed.model.num_timesteps == STEPS + 4
    assert resumed.generative.n_steps == run.generative.n_steps + 4


def test_a_resumed_run_may_change_envs(trained, tmp_path):
    _, cfg = trained
    folder = tmp_path / "run"
    shutil.copytree(cfg.output, folder)
    single = resume_config(folder / "config.json", {"output": str(folder), "total_steps": STEPS + 3, "envs": 1})
    with pytest.warns(UserWarning, match="refilling the replay buffer"):
        resumed = build(single, resume=True)
    assert isinstance(resumed.env, DummyVecEnv) and resumed.model.gradient_steps == 1
    assert resumed.model.replay_buffer.n_envs == 1 and resumed.model.replay_buffer.size() >= single.batch_size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        learn(resumed)
    assert resumed.model.num_timesteps == STEPS + 3


def test_the_batched_latent_layer_builds_the_images_of_the_per_env_wrapper():
    from agents.default import default_checkpoint
    from agents.release import load_checkpoint
    from agents.sac.wrapper import LatentActionVectorWrapper, LatentActionWrapper
    from styleenv.env import StyleTransferEnv
    from styleenv.vector import StyleTransferVectorEnv

    actor, builder, _ = load_checkpoint(default_checkpoint(), "cpu")  # trained: images that differ by style
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vector = LatentActionVectorWrapper(StyleTransferVectorEnv(3, image_size=16, device="cpu"))
        singles = [LatentActionWrapper(StyleTransferEnv(image_size=16, device="cpu")) for _ in range(3)]
    obs, _ = vector.reset(seed=5)
    with pytest.raises(RuntimeError, match="bind"):
        vector.step(np.zeros(vector.action_space.shape, np.float32))
    vector.bind(actor, builder)
    firsts = [env.reset(seed=5 + i)[0] for i, env in enumerate(singles)]  # the vector env's episode i
    for env in singles:
        env.bind(actor, builder)
    latents = np.random.default_rng(0).standard_normal(vector.action_space.shape).astype(np.float32)
    for step in range(2):
        for i in range(3):
            np.testing.assert_array_equal(obs["style"][i], firsts[i]["style"])
        batched = vector.build(latents).numpy()  # (3, 3, 16, 16)
        one_by_one = np.stack([env.build(latents[i]) for i, env in enumerate(singles)])
        np.testing.assert_allclose(batched, one_by_one, atol=1e-4)  # batched convolutions round apart
        assert np.abs(batched[0] - batched[1]).max() > 1e-2  # each env's own style and latent
        obs, *_ = vector.step(latents)
        firsts = [env.step(latents[i])[0] for i, env in enumerate(singles)]
        moved = np.stack([f["moving"] for f in firsts]).astype(int)
        assert np.abs(obs["moving"].astype(int) - moved).max() <= 1  # quantised alike (rounding aside)
    with pytest.raises(ValueError, match="latent action must have shape"):
        vector.step(latents[:2])


def test_envs_config_validation_cli_flag_and_resume_key(tmp_path):
    assert TrainConfig().envs == 1
    with pytest.raises(ConfigError, match="envs must be at least 1"):
        load_config("configs/tiny.toml", {"envs": 0})
    with pytest.raises(ConfigError, match="bad value for envs"):
        load_config("configs/tiny.toml", {"envs": 1.5})
    from styleenv_cli.commands.train import add_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    cfg = config_from_args(parser.parse_args(["--config", "configs/tiny.toml", "--envs", "4"]))
    assert cfg.envs == 4
    saved = tmp_path / "config.json"
    saved.write_text(json.dumps(cfg.to_dict()))
    assert resume_config(saved, {"envs": 2, "tf32": False}).envs == 2


def test_envs_1_keeps_the_single_env_path(tmp_path):
    cfg = load_config("configs/tiny.toml", {"output": str(tmp_path), "image_size": 16})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = build(cfg)
    assert isinstance(run.env, DummyVecEnv) and run.model.gradient_steps == 1
    assert run.model.replay_buffer.n_envs == 1 and len(run.model.replay_buffer.styles) == cfg.buffer_size // 10 + 4


def test_tune_device_leaves_cuda_flags_alone_on_the_cpu_and_follows_the_config_on_cuda():
    flags = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark)
    try:
        tune_device(TrainConfig(tf32=not flags[0], cudnn_benchmark=not flags[2]), torch.device("cpu"))
        assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
                torch.backends.cudnn.benchmark) == flags
        tune_device(TrainConfig(tf32=True, cudnn_benchmark=True), torch.device("cuda"))
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        assert torch.backends.cudnn.benchmark
        tune_device(TrainConfig(tf32=False, cudnn_benchmark=False), torch.device("cuda"))
        assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
        assert not torch.backends.cudnn.benchmark
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark = flags


@pytest.mark.parametrize("native", [True, False])
def test_bf16_on_a_cpu_without_bf16_hardware_warns(monkeypatch, native):
    monkeypatch.setattr("agents.sac.trainer.cpu_bf16_native", lambda: native)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tune_device(TrainConfig(generative_bf16=True), torch.device("cpu"))
        tune_device(TrainConfig(generative_bf16=False), torch.device("cpu"))
    messages = [str(w.message) for w in caught if "generative_bf16" in str(w.message)]
    assert len(messages) == (0 if native else 1)
    assert native or "generative_bf16 = false" in messages[0]


def test_a_damaged_replay_file_is_one_line_on_resume(trained, tmp_path):
    run, _ = trained
    folder = shutil.copytree(run.directory, tmp_path / "run")
    replay = folder / "checkpoints" / "replay.pkl"
    replay.write_bytes(replay.read_bytes()[:1000])
    cfg = load_config("configs/tiny.toml", {**SETTINGS, "output": str(folder), "total_steps": STEPS + 4})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="replay.pkl: damaged") as err:
            build(cfg, resume=True)
    assert str(replay) in str(err.value) and "\n" not in str(err.value)


def test_skip_bad_images_reaches_the_vector_env():
    from agents.sac.trainer import make_training_env

    cfg = load_config("configs/tiny.toml", {**SETTINGS, "skip_bad_images": True})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = make_training_env(cfg, None, None, torch.device("cpu"))
    batch = env.unwrapped.env.unwrapped.batch
    assert batch.contents.skip_bad_images and batch.styles.skip_bad_images


def test_checkpoint_errors_give_the_right_advice(trained, tmp_path, capsys):
    from agents.release import CheckpointError, load_checkpoint
    from styleenv_cli.main import main

    run, _ = trained
    with pytest.raises(CheckpointError, match="stable-baselines3 training checkpoint") as err:
        load_checkpoint(run.directory / "checkpoints" / "last.zip")
    assert str(run.directory / "final.pt") in str(err.value)
    missing = tmp_path / "missing.pt"
    assert main(["train", "--config", "configs/tiny.toml", "--output", str(tmp_path / "run"), "--init", str(missing)]) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert str(missing) in line and "final.pt" in line and "--release" not in line  # train has no --release
    with pytest.raises(CheckpointError, match="--release"):  # stylize's advice
        load_checkpoint(missing)
