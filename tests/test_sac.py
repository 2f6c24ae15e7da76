"""Pieces of the SB3 SAC agent: policy, wrapper, replay buffer, optimizer, config."""

from __future__ import annotations

import json
import math
import pickle
import warnings

import numpy as np
import pytest
import torch
from gymnasium import spaces

from agents.sac import (
    ConfigError,
    DelayedAdam,
    LatentActionWrapper,
    StylePolicy,
    StyleReplayBuffer,
    latent_space,
    load_config,
    parse_set,
)
from agents.sac.policy import per_dim_log_prob

SIZE = 32


def _spaces(size: int = SIZE):
    img = spaces.Box(0, 255, (3, size, size), np.uint8)
    return spaces.Dict({"moving": img, "style": img}), latent_space(size)


def test_latent_space_shape_and_multiple_of_four():
    assert latent_space(128).shape == (64, 32, 32)
    with pytest.raises(ValueError, match="image_size must be a multiple of 4 for the latent action, got 30"):
        latent_space(30)


def test_per_dim_log_prob_is_the_mean_of_normal_log_density():
    mean, logvar = torch.randn(2, 64, 4, 4), torch.rand(2, 64, 4, 4) - 3
    a = mean + logvar.exp() * torch.randn_like(mean)
    ref = torch.distributions.Normal(mean, logvar.exp()).log_prob(a).flatten(1).mean(1)
    assert torch.allclose(per_dim_log_prob(a, mean, logvar), ref, atol=1e-5)


def test_policy_actions_log_probs_and_critic_shapes():
    obs_space, act_space = _spaces()
    policy = StylePolicy(obs_space, act_space, lambda _: 2e-4)
    obs = {k: torch.randint(0, 256, (3, 3, SIZE, SIZE), dtype=torch.uint8) for k in ("moving", "style")}
    action, log_prob = policy.actor.action_log_prob(obs)
    assert action.shape == (3, 64, SIZE // 4, SIZE // 4) and log_prob.shape == (3,)
    assert torch.isfinite(log_prob).all() and log_prob.abs().max() < 20  # per dimension: O(1)
    q1, q2 = policy.critic(obs, action)
    assert q1.shape == q2.shape == (3, 1)
    det1, det2 = policy.actor(obs, deterministic=True), policy.actor(obs, deterministic=True)
    assert torch.equal(det1, det2)
    # SB3's predict unscales (no clipping) to the raw latent
    np_obs = {k: v.numpy() for k, v in obs.items()}
    latent, _ = policy.predict(np_obs, deterministic=True)
    assert np.allclose(latent, det1.detach().numpy() * act_space.high.flat[0], atol=1e-5)


def test_loss_weights_get_their_own_rate_only_when_asked():
    obs_space, act_space = _spaces()
    release = StylePolicy(obs_space, act_space, lambda _: 2e-4, generative_lr=5e-5)
    assert len(release.generative_optimizer.param_groups) == 1  # the release: p shares the rate
    fast = StylePolicy(obs_space, act_space, lambda _: 2e-4, generative_lr=5e-5, loss_weight_lr=1e-2)
    nets, weights = fast.generative_optimizer.param_groups
    assert (nets["lr"], weights["lr"]) == (5e-5, 1e-2) and weights["params"] == [fast.loss_weights]
    assert len(nets["params"]) == len(list(fast.actor.net.parameters())) + len(list(fast.builder.parameters()))
    assert fast._get_constructor_parameters()["loss_weight_lr"] == 1e-2  # kept in SB3 zips


def test_delayed_adam_steps_every_nth_call_at_scaled_rate():
    w = torch.nn.Parameter(torch.zeros(1))
    opt = DelayedAdam([w], every=4, lr_scale=0.1, lr=1.0)
    moves = []
    for _ in range(8):
        before = w.item()
        opt.zero_grad()
        w.sum().mul(-1).backward()
        opt.param_groups[0]["lr"] = 1.0  # what SB3 does before every train()
        opt.step()
        moves.append(w.item() - before)
    assert [m != 0 for m in moves] == [True, False, False, False] * 2
    assert math.isclose(moves[0], 0.1, rel_tol=1e-3) and opt.param_groups[0]["lr"] == 1.0
    state = opt.state_dict()
    opt2 = DelayedAdam([torch.nn.Parameter(torch.zeros(1))], every=4, lr_scale=0.1, lr=1.0)
    opt2.load_state_dict(state)
    assert opt2.param_groups[0]["calls"] == 8


@pytest.mark.parametrize("on_device", [False, True])  # True: torch storage, gathered by tensor indexing
def test_buffer_stores_each_style_once_and_samples_sb3_batches(on_device):
    obs_space, act_space = _spaces()
    buf = StyleReplayBuffer(40, obs_space, act_space, device="cpu", on_device=on_device)
    rng = np.random.default_rng(0)
    styles = []
    for i in range(100):  # 10 episodes of 10, wrapping around the 40-slot buffer
        if i % 10 == 0:
            style = rng.integers(0, 256, (1, 3, SIZE, SIZE), dtype=np.uint8)
            styles.append(style)
        moving = np.full((1, 3, SIZE, SIZE), i % 256, np.uint8)
        nxt = np.full((1, 3, SIZE, SIZE), (i + 1) % 256, np.uint8)
        latent = np.full((1, *act_space.shape), i / 100, np.float32)
        buf.add({"moving": moving, "style": style}, {"moving": nxt, "style": style}, latent,
                np.array([-float(i)]), np.array([0.0]), [{"TimeLimit.truncated": i % 10 == 9}])
    assert len(buf.styles) <= 40 // 10 + 4  # slots, not one style per transition
    assert buf.actions.dtype == (torch.float16 if on_device else np.float16)
    assert isinstance(buf.moving, torch.Tensor) == on_device
    batch = buf.sample(16)
    assert batch.observations["moving"].dtype == torch.uint8
    assert batch.actions.dtype == torch.float32 and batch.actions.shape == (16, *act_space.shape)
    # every sample is consistent: reward -i belongs with moving i, next i+1, latent i/100, episode style
    for k in range(16):
        i = int(-batch.rewards[k, 0])
        assert batch.observations["moving"][k].flatten()[0] == i % 256
        assert batch.next_observations["moving"][k].flatten()[0] == (i + 1) % 256
        assert abs(float(batch.actions[k].flatten()[0]) - i / 100) < 1e-3
        assert np.array_equal(batch.observations["style"][k].numpy(), styles[i // 10][0])
        assert batch.dones[k, 0] == 0
    moving, style, mkeys, skeys = buf.sample_images(8)
    assert moving.shape == style.shape == (8, 3, SIZE, SIZE) and len(mkeys) == len(skeys) == 8
    copy = pickle.loads(pickle.dumps(buf))  # a replay.pkl: host arrays, the same samples
    assert isinstance(copy.moving, np.ndarray) and not copy.on_device
    for name in ("moving", "next_moving", "actions", "styles"):
        np.testing.assert_array_equal(np.asarray(getattr(copy, name)), np.asarray(getattr(buf, name)))


@pytest.mark.parametrize("on_device", [False, True])
def test_buffer_grows_style_slots_for_short_episodes(on_device):
    obs_space, act_space = _spaces(16)
    buf = StyleReplayBuffer(20, obs_space, act_space, device="cpu", style_slots=2, on_device=on_device)
    rng = np.random.default_rng(1)
    kept = []
    for i in range(30):  # a new style every step
        style = rng.integers(0, 256, (1, 3, 16, 16), dtype=np.uint8)
        kept.append(style)
        m = np.zeros((1, 3, 16, 16), np.uint8)
        buf.add({"moving": m, "style": style}, {"moving": m, "style": style}, np.zeros((1, *act_space.shape)),
                np.array([float(i)]), np.array([0.0]), [{}])
    batch = buf.sample(20)
    for k in range(20):
        assert np.array_equal(batch.observations["style"][k].numpy(), kept[int(batch.rewards[k, 0])][0])


def test_wrapper_needs_binding_and_builds_an_image():
    from agents.networks import Actor, Builder
    from styleenv.env import StyleTransferEnv

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = LatentActionWrapper(StyleTransferEnv(image_size=SIZE, device="cpu"))
    obs, _ = env.reset(seed=0)
    latent = env.action_space.sample()
    with pytest.raises(RuntimeError, match=r"LatentActionWrapper\.bind\(actor, builder\) must be called before step\(\)"):
        env.step(latent)
    env.bind(Actor(), Builder())
    obs, reward, *_ = env.step(latent)
    assert obs["moving"].shape == (3, SIZE, SIZE) and np.isfinite(reward)
    assert env.last_image.min() >= 0 and env.last_image.max() <= 1


def test_config_file_overrides_and_errors(tmp_path):
    cfg = load_config("configs/tiny.toml", parse_set(["image_size=48", "betas=[0.9, 0.99]", "save_replay=true"]))
    assert cfg.image_size == 48 and cfg.betas == (0.9, 0.99) and cfg.save_replay is True
    rel = load_config("configs/release.toml")
    assert (rel.image_size, rel.buffer_size, rel.batch_size, rel.actor_lr, rel.tau) == (256, 5000, 8, 2e-5, 0.005)
    with pytest.raises(ConfigError, match="unknown"):
        load_config(None, {"imagesize": 3})
    with pytest.raises(ConfigError, match="multiple of 4"):
        load_config(None, {"image_size": 30})
    with pytest.raises(ConfigError, match="generative_content_weight must be positive"):
        load_config(None, {"generative_content_weight": 0})
    with pytest.raises(ConfigError, match="loss_weight_lr must not be negative"):
        load_config(None, {"loss_weight_lr": -1e-3})
    bad = tmp_path / "bad.toml"
    bad.write_text("image_size = = 3")
    with pytest.raises(ConfigError, match="TOML"):
        load_config(bad)


def test_held_back_files_follow_holdout_seed_not_the_training_seed(tmp_path):
    from PIL import Image

    from agents.sac.config import resume_config
    from agents.sac.holdout import holdout_split

    for side in ("content", "style"):
        (tmp_path / side).mkdir()
        for i in range(12):
            Image.new("RGB", (8, 8), (i * 20, 0, 0)).save(tmp_path / side / f"{i:02d}.png")
    folders = str(tmp_path / "content"), str(tmp_path / "style")

    def held(**keys):
        cfg = load_config(None, {"holdout_content": 3, "holdout_style": 2, "eval_pairs": 6, **keys})
        return holdout_split(*folders, cfg.holdout_content, cfg.holdout_style, cfg.eval_pairs, cfg.holdout_seed).pairs

    assert held(seed=0) == held(seed=1) == held(seed=5, holdout_seed=0)
    assert held(holdout_seed=1) != held(holdout_seed=0)
    saved = tmp_path / "config.json"  # a run saved before holdout_seed existed split by its seed
    saved.write_text(json.dumps({"seed": 3, "output": str(tmp_path / "run")}))
    assert resume_config(saved).holdout_seed == 3


@pytest.mark.parametrize("item", [
    "log_interval=0", "seed=-1", "seed=4294967296", "holdout_seed=-1", "action_bound=-1", "tau=-1", "gamma=5",
    "learning_starts=-5", "eval_pairs=-1", "critic_hidden=0", "target_entropy=nan", "holdout_content=-2",
    "checkpoint_every=-1", "eval_every=-3", "image_every=-5", "progress=2", "learning_rate=inf",
    "generative_lr=nan", "time_limit=inf", "betas=[0.5, 1.0]", "total_steps=true", "generative_batch_size=1",
    "ent_coef=abc", "ent_coef=auto_-1", "ent_coef=-0.5", "ent_coef=nan",
])  # fmt: skip
def test_config_refuses_a_value_out_of_range_in_one_line(item):
    key = item.partition("=")[0]
    with pytest.raises(ConfigError, match=key) as err:
        load_config("configs/tiny.toml", parse_set([item]))
    assert "\n" not in str(err.value)


def test_config_keeps_zero_where_it_means_none_or_off():
    off = {"eval_pairs": 0, "eval_every": 0, "image_every": 0, "checkpoint_every": 0, "learning_starts": 0,
           "generative_every": 0, "holdout_content": 0, "holdout_style": 0, "loss_weight_lr": 0, "time_limit": 0}
    cfg = load_config("configs/tiny.toml", off)
    assert {key: getattr(cfg, key) for key in off} == off
    assert load_config("configs/tiny.toml", parse_set(["progress=0", "skip_bad_images=true"])).skip_bad_images


def test_resume_applies_the_config_file_like_set(tmp_path):
    import argparse

    from styleenv_cli.commands import UsageError
    from styleenv_cli.commands.train import add_arguments, config_from_args

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(load_config("configs/tiny.toml", {"output": str(run)}).to_dict()))
    parser = argparse.ArgumentParser()
    add_arguments(parser)

    def resume(text: str, *flags: str):
        toml = tmp_path / "resume.toml"
        toml.write_text(f"output = {json.dumps(str(run))}\n{text}\n")
        return config_from_args(parser.parse_args(["--config", str(toml), "--resume", *flags]))

    assert resume("total_steps = 50").total_steps == 50
    assert resume("total_steps = 50", "--total-steps", "60").total_steps == 60  # flags after the file
    with pytest.raises(UsageError, match="trained with batch_size = 4 .* cannot change to 8"):
        resume("batch_size = 8")
