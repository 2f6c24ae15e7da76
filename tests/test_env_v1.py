"""styleenv/StyleTransfer-v1: the checkers, the content in the observation, the reward that
ranks the released agent above copying the style, and the smaller fixes (integer actions,
is_success, the pair's names, RecordVideo)."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest

from conftest import need
import styleenv
from styleenv.env import V1_CONTENT_WEIGHT, StyleTransferV1Env

SIZE = 32


def test_gymnasium_and_sb3_env_checkers_pass_on_v1():
    from gymnasium.utils.env_checker import check_env as gym_check
    from stable_baselines3.common.env_checker import check_env as sb3_check

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SB3 suggests image sizes >= 36 for its CNN; ours are tiny here
        gym_check(StyleTransferV1Env(image_size=SIZE, render_mode="rgb_array"), skip_render_check=False)
        sb3_check(StyleTransferV1Env(image_size=SIZE))


def test_v1_observes_the_content_and_rewards_it():
    env = gym.make(styleenv.ENV_ID_V1, image_size=SIZE)
    obs, info = env.reset(seed=0)
    assert set(obs) == {"moving", "style", "content"} and info["content_name"].startswith("procedural-content")
    for _ in range(3):
        obs, reward, _, _, info = env.step(np.full((3, SIZE, SIZE), 0.5, np.float32))
        assert reward == pytest.approx(-info["style_loss"] - V1_CONTENT_WEIGHT * info["content_loss"], rel=1e-5)
        assert info["content_loss"] > 0 and {"content_name", "style_name"} <= set(info)
    first, _ = env.reset(seed=0)
    np.testing.assert_array_equal(first["content"], first["moving"])


def test_integer_actions_are_refused_in_one_line():
    env = StyleTransferV1Env(image_size=SIZE)
    obs, _ = env.reset(seed=0)
    with pytest.raises(ValueError, match="float image in \\[0, 1\\], got dtype uint8; divide uint8 pixels by 255"):
        env.step(obs["moving"])
    obs, *_ = env.step(obs["moving"] / 255.0)  # the documented path
    np.testing.assert_array_equal(obs["moving"], obs["content"])


def test_is_success_only_with_a_threshold():
    env = StyleTransferV1Env(image_size=SIZE, success_threshold=1e9)
    env.reset(seed=0)
    *_, terminated, _, info = env.step(np.zeros((3, SIZE, SIZE), np.float32))
    assert terminated and info["is_success"] is True
    plain = StyleTransferV1Env(image_size=SIZE)
    plain.reset(seed=0)
    assert "is_success" not in plain.step(np.zeros((3, SIZE, SIZE), np.float32))[-1]


def test_record_video_writes_an_episode(tmp_path):
    need("moviepy", "video")
    from gymnasium.wrappers import RecordVideo

    env = RecordVideo(gym.make(styleenv.ENV_ID_V1, image_size=SIZE, render_mode="rgb_array", max_episode_steps=3),
                      str(tmp_path), episode_trigger=lambda k: True, disable_logger=True)  # fmt: skip
    obs, _ = env.reset(seed=0)
    done = False
    while not done:
        obs, _, terminated, truncated, _ = env.step(obs["moving"] / 255.0)
        done = terminated or truncated
    env.close()
    videos = list(tmp_path.glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 0


def test_v1_return_ranks_the_release_above_copying_the_style(reference, shared):
    """On a few real pairs at 64 px, 10 steps: release > identity and copy-style (the README's table has 30 pairs)."""
    from agents.factory import make_agent
    from styleenv.data import ImageSource
    from styleenv.evaluation.rollout import rollout
    from styleenv.pixels import to_pil

    contents = ImageSource(sorted((shared / "data" / "content").glob("*.jp*g"))[:3], kind="content")
    styles = ImageSource(sorted((shared / "data" / "style").glob("*.jp*g"))[:3], kind="style")
    env = gym.make(styleenv.ENV_ID_V1, image_size=64, content=[np.zeros((64, 64, 3), np.uint8)], style=[np.zeros((64, 64, 3), np.uint8)])
    returns = {}
    for spec in (f"release:{reference}", "copy-style", "identity"):
        name, agent = make_agent(spec, steps=10)
        returns[name] = [
            sum(rollout(env, agent, 10, options={"content": to_pil(contents.pinned(c, 64)), "style": to_pil(styles.pinned(s, 64))}).rewards)
            for c, s in ((0, 0), (1, 1), (2, 2))
        ]  # fmt: skip
    assert np.mean(returns["release"]) > np.mean(returns["copy-style"])
    assert np.mean(returns["release"]) > np.mean(returns["identity"])
