"""The registered environment: API conformance, reward, seeding, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from PIL import Image

import styleenv
from styleenv.env import StyleTransferEnv

SIZE = 32


@pytest.fixture(scope="module")
def env():
    return StyleTransferEnv(image_size=SIZE)


def test_make_with_no_arguments_runs_a_step():
    env = gym.make(styleenv.ENV_ID)
    obs, info = env.reset(seed=0)
    assert obs["moving"].shape == obs["style"].shape == (3, 256, 256)
    assert env.spec.max_episode_steps == 10
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert np.isfinite(reward) and reward < 0
    assert set(info) == {"style_loss", "content_loss", "content_loss_previous", "step"}


def test_v0_is_not_called_out_of_date():
    """Gymnasium calls every version below the highest "out of date"; v0 is the paper's setting."""
    code = "import gymnasium as gym, styleenv; gym.make(styleenv.ENV_ID, image_size=16)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "out of date" not in proc.stderr


def test_gymnasium_and_sb3_env_checkers_pass():
    from gymnasium.utils.env_checker import check_env as gym_check
    from stable_baselines3.common.env_checker import check_env as sb3_check

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SB3 suggests image sizes >= 36 for its CNN; ours are tiny here
        gym_check(StyleTransferEnv(image_size=SIZE), skip_render_check=False)
        sb3_check(StyleTransferEnv(image_size=SIZE))


def test_vector_env_steps():
    envs = gym.make_vec(styleenv.ENV_ID, num_envs=2, image_size=SIZE)
    obs, _ = envs.reset(seed=1)
    assert obs["moving"].shape == (2, 3, SIZE, SIZE)
    obs, rewards, terminated, truncated, _ = envs.step(envs.action_space.sample())
    assert rewards.shape == (2,) and np.all(rewards < 0)
    envs.close()


def test_episode_truncates_after_ten_steps():
    env = gym.make(styleenv.ENV_ID, image_size=SIZE)
    obs, _ = env.reset(seed=0)
    for step in range(1, 11):
        obs, _, terminated, truncated, info = env.step(obs["moving"] / 255.0)
        assert info["step"] == step and not terminated
    assert truncated


def test_same_seed_same_pairs_and_crops(env):
    first, _ = env.reset(seed=7)
    other, _ = env.reset(seed=8)
    again, _ = env.reset(seed=7)
    for key in ("moving", "style"):
        np.testing.assert_array_equal(first[key], again[key])
    assert not np.array_equal(first["moving"], other["moving"])


def test_identity_action_keeps_the_content(env):
    obs, _ = env.reset(seed=0)
    obs2, reward, _, _, info = env.step(obs["moving"].astype(np.float64) / 255.0)  # float64 is cast
    np.testing.assert_array_equal(obs2["moving"], obs["moving"])
    assert info["content_loss"] == pytest.approx(0.0, abs=1e-9)
    assert info["content_loss_previous"] == pytest.approx(0.0, abs=1e-9)
    assert reward == pytest.approx(-info["style_loss"])


def test_pinned_pair_passes_unchanged_at_the_state_size(env):
    rng = np.random.default_rng(0)
    content = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    style = Image.fromarray(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))
    obs, _ = env.reset(seed=0, options={"content": content, "style": style})
    np.testing.assert_array_equal(obs["moving"], content.transpose(2, 0, 1))
    np.testing.assert_array_equal(obs["style"], np.asarray(style).transpose(2, 0, 1))


def test_pinned_index_must_be_in_the_pool(env):
    _, info = env.reset(seed=0, options={"content": 1})
    assert info["content_name"] == "procedural-content-1"
    for bad in (10**6, -1, True):
        with pytest.raises(ValueError, match="not in this pool"):
            env.reset(seed=0, options={"content": bad})


def test_unknown_reset_options_raise(env):
    with pytest.raises(ValueError, match="'styles'"):
        env.reset(seed=0, options={"styles": 0})  # not silently ignored: the pair would not be pinned


def test_a_refused_reset_leaves_the_random_stream_as_it_was(env):
    env.reset(seed=3)
    expected = env.reset()[1]  # the second pair of seed 3
    env.reset(seed=3)
    with pytest.raises(ValueError, match="'styles'"):
        env.reset(seed=99, options={"styles": 0})
    assert env.reset()[1] == expected


def test_wrong_action_shape_names_the_expected_shape(env):
    env.reset(seed=0)
    with pytest.raises(ValueError, match=rf"\(3, {SIZE}, {SIZE}\)"):
        env.step(np.zeros((3, SIZE, SIZE + 1), np.float32))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_actions_raise(env, bad):
    env.reset(seed=0)
    action = np.zeros((3, SIZE, SIZE), np.float32)
    action[0, 0, 0] = bad
    with pytest.raises(ValueError, match="NaN or infinity"):
        env.step(action)


@pytest.mark.parametrize("high, low", [(2.0, -5.0), (1e300, -1e300)])  # 1e300 overflows float32
@pytest.mark.parametrize("as_tensor", [False, True])
def test_out_of_range_actions_are_clipped(env, high, low, as_tensor):
    env.reset(seed=0)
    action = np.full((3, SIZE, SIZE), high, np.float64)
    action[1] = low
    obs, *_ = env.step(torch.from_numpy(action) if as_tensor else action)
    assert (obs["moving"][0] == 255).all() and (obs["moving"][1] == 0).all()


def test_step_before_reset_raises():
    with pytest.raises(RuntimeError, match="reset"):
        StyleTransferEnv(image_size=SIZE).step(np.zeros((3, SIZE, SIZE), np.float32))


def test_content_term_and_success_rule(env):
    obs, _ = env.reset(seed=0)
    gray = np.full((3, SIZE, SIZE), 0.5, np.float32)
    _, plain, _, _, info = env.step(gray)
    weighted = StyleTransferEnv(image_size=SIZE, content_weight=2.0)
    weighted.reset(seed=0)
    _, reward, _, _, info2 = weighted.step(gray)
    assert reward == pytest.approx(plain - 2.0 * info2["content_loss"], rel=1e-5)
    easy = StyleTransferEnv(image_size=SIZE, success_threshold=1e9, success_bonus=5.0)
    easy.reset(seed=0)
    _, reward, terminated, _, info3 = easy.step(gray)
    assert terminated and reward == pytest.approx(5.0 - info3["style_loss"], rel=1e-5)


def test_render_shows_content_style_and_moving():
    env = StyleTransferEnv(image_size=SIZE, render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (SIZE, 3 * SIZE + 8, 3) and frame.dtype == np.uint8
    np.testing.assert_array_equal(frame[:, :SIZE], obs["moving"].transpose(1, 2, 0))
    np.testing.assert_array_equal(frame[:, SIZE + 4 : 2 * SIZE + 4], obs["style"].transpose(1, 2, 0))


def test_envs_share_one_loss_network():
    assert StyleTransferEnv(image_size=SIZE).net is StyleTransferEnv(image_size=SIZE).net


def test_bad_arguments_raise_at_construction(tmp_path):
    with pytest.raises(ValueError, match="render_mode"):
        StyleTransferEnv(image_size=SIZE, render_mode="human")
    with pytest.raises(ValueError, match="image_size"):
        StyleTransferEnv(image_size=4)
    with pytest.raises(ValueError, match=r"image_size must lie in 16\.\.4096 pixels, got 100000"):
        StyleTransferEnv(image_size=100_000)  # refused before any image is made
    with pytest.raises(ValueError, match=str(tmp_path)):
        StyleTransferEnv(image_size=SIZE, content=tmp_path)  # an empty folder


def test_bad_files_in_a_folder(tmp_path):
    good = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    Image.fromarray(good).save(tmp_path / "good.png")
    (tmp_path / "broken.jpg").write_bytes(b"this is no jpeg")
    with pytest.raises(ValueError, match="broken.jpg"):
        StyleTransferEnv(image_size=SIZE, content=tmp_path)
    with pytest.warns(UserWarning, match="broken.jpg"):
        env = StyleTransferEnv(image_size=SIZE, content=tmp_path, skip_bad_images=True)
    obs, _ = env.reset(seed=0)
    assert obs["moving"].shape == (3, SIZE, SIZE)


def test_odd_images_are_converted_and_upscaled(tmp_path):
    Image.fromarray(np.full((8, 12), 200, np.uint8)).save(tmp_path / "grey.png")  # tiny grey
    Image.fromarray(np.full((20, 20, 4), 90, np.uint8)).save(tmp_path / "alpha.png")
    Image.fromarray(np.full((20, 30), 40000, np.uint16)).save(tmp_path / "deep.png")  # 16-bit
    env = StyleTransferEnv(image_size=SIZE, content=tmp_path, style=[tmp_path / "alpha.png"])
    for seed in range(6):
        obs, _ = env.reset(seed=seed)
        assert obs["moving"].shape == (3, SIZE, SIZE) and obs["moving"].dtype == np.uint8
    # grey stays grey in every channel; alpha 90 lies over white (90 * 90/255 + 255 * 165/255 = 197);
    # 16 bits scale to 8 (40000 * 255/65535 = 156), not clipped to 255
    for name, value in (("grey.png", 200), ("alpha.png", 197), ("deep.png", 156)):
        env = StyleTransferEnv(image_size=SIZE, content=[tmp_path / name], style=[tmp_path / "alpha.png"])
        obs, _ = env.reset(seed=0)
        for key, want in (("moving", value), ("style", 197)):
            pixels = obs[key].astype(int)
            assert pixels.shape == (3, SIZE, SIZE) and np.abs(pixels - want).max() <= 1, (name, key)


def test_rewards_of_the_released_outputs_match_the_reference(reference):
    ref = torch.load(reference / "reference_outputs.pt", weights_only=True)["square256"]
    want = json.loads((reference / "reference_losses.json").read_text())["square256"]["rewards_clamped"]
    to_pil = lambda t: Image.fromarray((t.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy())
    env = gym.make(styleenv.ENV_ID, image_size=256)
    env.reset(seed=0, options={"content": to_pil(ref["content"][0]), "style": to_pil(ref["style"][0])})
    rewards = [env.step(out.clamp(0, 1).numpy())[1] for out in ref["outputs"]]
    np.testing.assert_allclose(rewards, want, rtol=0.01)
