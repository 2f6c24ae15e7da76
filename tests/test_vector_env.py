"""The batched vector env: the same episodes as N single envs, Gymnasium's autoreset modes,
and stable-baselines3 through the adapter. Tiny images keep it fast."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch

import styleenv
from agents.vec_env import GymnasiumVecEnv
from styleenv.vector import StyleTransferV1VectorEnv, StyleTransferVectorEnv

SIZE = 32
N = 2
RNG = np.random.default_rng(0)
IMAGES = dict(  # small in-memory pools: no procedural images to draw
    content=[RNG.integers(0, 256, (40, 48, 3), dtype=np.uint8) for _ in range(4)],
    style=[RNG.integers(0, 256, (36, 36, 3), dtype=np.uint8) for _ in range(3)],
)


def _pair(env_id: str, steps: int = 2, **kw):
    batched = gym.make_vec(env_id, num_envs=N, vectorization_mode="vector_entry_point", image_size=SIZE,
                           max_episode_steps=steps, **IMAGES, **kw)  # fmt: skip
    single = gym.make_vec(env_id, num_envs=N, vectorization_mode="sync", image_size=SIZE, max_episode_steps=steps,
                          **IMAGES, **kw)  # fmt: skip
    return batched, single


@pytest.mark.parametrize("env_id", [styleenv.ENV_ID, styleenv.ENV_ID_V1])
def test_vector_entry_point_matches_n_single_envs_with_the_same_seeds(env_id):
    batched, single = _pair(env_id)
    assert isinstance(batched.unwrapped, StyleTransferVectorEnv)
    obs_b, info_b = batched.reset(seed=11)
    obs_s, info_s = single.reset(seed=11)
    assert obs_b.keys() == obs_s.keys()
    for key in obs_b:
        np.testing.assert_array_equal(obs_b[key], obs_s[key])
    assert list(info_b["content_name"]) == list(info_s["content_name"])
    rng = np.random.default_rng(0)
    for t in range(5):  # two episodes of 2 steps and the autoresets after them (next-step)
        action = rng.random((N, 3, SIZE, SIZE), dtype=np.float32)
        obs_b, r_b, term_b, trunc_b, info_b = batched.step(action)
        obs_s, r_s, term_s, trunc_s, info_s = single.step(action)
        for key in obs_b:
            np.testing.assert_array_equal(obs_b[key], obs_s[key], err_msg=f"step {t} {key}")
        np.testing.assert_allclose(r_b, r_s, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(trunc_b, trunc_s)
        np.testing.assert_array_equal(term_b, term_s)
        assert set(info_b) == set(info_s)
    assert (r_b < 0).all() and trunc_b.all()  # step 3 was the autoreset (reward 0)


def test_v1_observes_the_content_and_weights_it():
    env = StyleTransferV1VectorEnv(2, image_size=SIZE, **IMAGES, content_weight=3.0)
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs["content"], obs["moving"])
    grey = np.full((2, 3, SIZE, SIZE), 0.5, np.float32)
    _, reward, _, _, info = env.step(grey)
    np.testing.assert_allclose(reward, -info["style_loss"] - 3.0 * info["content_loss"], rtol=1e-5)
    assert env.observation_space["content"].shape == (2, 3, SIZE, SIZE)


def test_same_step_autoreset_keeps_the_final_observation():
    env = StyleTransferVectorEnv(2, image_size=SIZE, **IMAGES, max_episode_steps=2, autoreset_mode="SameStep")
    obs, _ = env.reset(seed=0)
    first = obs["moving"].copy()
    action = np.full((2, 3, SIZE, SIZE), 0.25, np.float32)
    env.step(action)
    obs, reward, _, truncated, info = env.step(action)
    assert truncated.all() and (reward < 0).all()
    assert (info["final_obs"][0]["moving"] == 64).all()  # the last image of the ended episode
    assert info["final_info"]["step"].tolist() == [2, 2]
    assert info["step"].tolist() == [0, 0]  # the new episodes' reset info
    assert not np.array_equal(obs["moving"], np.full_like(first, 64))


def test_torch_actions_and_partial_resets():
    env = StyleTransferVectorEnv(2, image_size=SIZE, **IMAGES, autoreset_mode="Disabled", success_threshold=1e9)
    env.reset(seed=3)
    _, _, terminated, _, info = env.step(torch.full((2, 3, SIZE, SIZE), 0.5))
    assert terminated.all() and info["is_success"].all()
    with pytest.raises(RuntimeError, match="reset them"):
        env.step(np.zeros((2, 3, SIZE, SIZE), np.float32))
    obs, info = env.reset(options={"reset_mask": np.array([True, False])})
    assert info["_step"].tolist() == [True, False]
    with pytest.raises(RuntimeError, match=r"episodes \[1\] ended"):
        env.step(obs["moving"] / 255.0)
    obs, _ = env.reset(options={"reset_mask": np.array([False, True])})
    with pytest.raises(ValueError, match="float image"):
        env.step(obs["moving"])  # uint8 as is


def test_bad_vector_arguments():
    with pytest.raises(ValueError, match="num_envs"):
        StyleTransferVectorEnv(0, image_size=SIZE)
    with pytest.raises(ValueError, match=r"\(2, 3, 32, 32\)"):
        env = StyleTransferVectorEnv(2, image_size=SIZE, **IMAGES)
        env.reset(seed=0)
        env.step(np.zeros((3, SIZE, SIZE), np.float32))


@pytest.mark.parametrize("steps, truncated_at", [(3, [3, 7, 11]), (None, [10]), (-1, [])])
def test_max_episode_steps_reads_as_in_gymnasium_make(steps, truncated_at):
    """None is the registered 10 and -1 no limit; with 3, each truncation is followed by a reset step."""
    env = gym.make_vec(styleenv.ENV_ID, num_envs=1, vectorization_mode="vector_entry_point", image_size=SIZE,
                       max_episode_steps=steps, **IMAGES)  # fmt: skip
    env.reset(seed=0)
    action = np.full((1, 3, SIZE, SIZE), 0.5, np.float32)
    assert [k for k in range(1, 12) if env.step(action)[3][0]] == truncated_at


@pytest.mark.parametrize("bad", [0, -2, 2.5, True])
def test_bad_max_episode_steps_raise(bad):
    with pytest.raises(ValueError, match="max_episode_steps"):
        StyleTransferVectorEnv(1, image_size=SIZE, max_episode_steps=bad, **IMAGES)


def test_seeds_that_are_not_python_ints_raise_instead_of_being_ignored():
    env = StyleTransferVectorEnv(N, image_size=SIZE, **IMAGES)
    for bad in (np.int64(0), 0.0, [], [0], [0, 1.5], np.array([0, 1])):
        with pytest.raises(ValueError, match="seed must be"):
            env.reset(seed=bad)
    first, _ = env.reset(seed=[5, None])
    again, _ = env.reset(seed=(5, 6))
    np.testing.assert_array_equal(first["moving"][0], again["moving"][0])


def test_a_refused_reset_leaves_the_random_streams_as_they_were():
    env = StyleTransferVectorEnv(N, image_size=SIZE, **IMAGES)
    env.reset(seed=3)
    expected = env.reset()[0]["moving"]  # the second pairs of seed 3
    env.reset(seed=3)
    with pytest.raises(ValueError, match="'styles'"):
        env.reset(seed=99, options={"styles": 0})
    np.testing.assert_array_equal(env.reset()[0]["moving"], expected)


def test_stable_baselines3_trains_through_the_adapter():
    from stable_baselines3 import SAC

    venv = GymnasiumVecEnv(gym.make_vec(styleenv.ENV_ID_V1, num_envs=2, vectorization_mode="vector_entry_point",
                                        image_size=36, max_episode_steps=2, autoreset_mode="SameStep", **IMAGES))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small = {"features_extractor_kwargs": {"cnn_output_dim": 8}, "net_arch": [16]}
        model = SAC("MultiInputPolicy", venv, buffer_size=16, batch_size=2, learning_starts=2, seed=0, policy_kwargs=small)
        model.learn(6)
    assert model.num_timesteps == 6
    venv.reset()
    _, rewards, dones, infos = venv.step(np.stack([venv.action_space.sample()] * 2))
    _, rewards, dones, infos = venv.step(np.stack([venv.action_space.sample()] * 2))
    assert dones.all() and infos[0]["TimeLimit.truncated"] and infos[0]["terminal_observation"]["content"].shape == (3, 36, 36)
    with pytest.raises(ValueError, match="SameStep"):
        GymnasiumVecEnv(StyleTransferVectorEnv(1, image_size=SIZE, **IMAGES))


@pytest.mark.parametrize("mode", ["vector_entry_point", "sync"])
def test_adapter_resets_each_env_with_its_own_options(mode):
    kw = {"autoreset_mode": "SameStep"} if mode == "vector_entry_point" else {"vector_kwargs": {"autoreset_mode": "SameStep"}}
    venv = GymnasiumVecEnv(gym.make_vec(styleenv.ENV_ID_V1, num_envs=3, vectorization_mode=mode, image_size=SIZE, **IMAGES, **kw))
    reference = StyleTransferV1VectorEnv(3, image_size=SIZE, **IMAGES)
    pool = reference.batch.contents
    venv.seed(0)
    venv.set_options([{}, {"content": 1}, {"content": 3}])
    obs = venv.reset()
    np.testing.assert_array_equal(obs["content"][0], reference.reset(seed=0)[0]["content"][0])  # no options: as seeded
    np.testing.assert_array_equal(obs["content"][1], pool.pinned(1, SIZE))
    np.testing.assert_array_equal(obs["content"][2], pool.pinned(3, SIZE))
    assert [info["content_name"] for info in venv.reset_infos[1:]] == [pool.name(1), pool.name(3)]
    venv.set_options({"content": 2})  # one dict for every env
    obs = venv.reset()
    assert all((image == pool.pinned(2, SIZE)).all() for image in obs["content"])


FORKED_WORKERS = """
import gymnasium as gym, numpy as np, torch, styleenv
torch.set_num_threads(2)
torch.ones(512, 512) @ torch.ones(512, 512)  # torch's thread pool now runs in this (parent) process
envs = gym.make_vec(styleenv.ENV_ID_V1, num_envs=2, vectorization_mode="async", image_size=16,
                    vector_kwargs={"context": "fork"})
envs.reset(seed=0)
_, rewards, *_ = envs.step(np.full((2, 3, 16, 16), 0.5, np.float32))
envs.close()
print("rewards", rewards.tolist())
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the fork start method needs os.fork")
def test_forked_async_workers_do_not_hang_after_torch_ran_in_the_parent():
    # without styleenv's at-fork rule the workers' first parallel torch operator waits forever
    proc = subprocess.run([sys.executable, "-c", FORKED_WORKERS], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("rewards")


def test_cpu_reward_in_chunks_equals_one_pass(monkeypatch):
    from styleenv import reward as reward_module
    from styleenv.vgg import loss_network

    reward = reward_module.Reward(loss_network("cpu"), content_weight=1.5)
    images = torch.randint(0, 256, (5, 3, 24, 24), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    whole = reward._features(images)
    monkeypatch.setattr(reward_module, "CPU_PASS_PIXELS", 2 * 24 * 24)  # chunks of 2, 2 and 1 images
    chunked = reward._features(images)
    assert [f.shape for f in chunked] == [f.shape for f in whole]
    for a, b in zip(chunked, whole):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
