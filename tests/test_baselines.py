"""The baselines (identity, AdaIN), the AdaIN decoder, and the Stylizer adapter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.adain_decoder import adain_decoder, load_adain_decoder
from agents.adapters import StylizerAgent
from agents.baselines import AdaINAgent, IdentityAgent
from agents.protocol import Agent, count_parameters, storage_bytes
from styleenv import weights
from styleenv.ops import adain
from styleenv.vgg import loss_network


def _obs(size: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.integers(0, 256, (3, size, size), dtype=np.uint8) for k in ("moving", "style")}


def test_identity_returns_the_moving_image():
    obs = _obs(16)
    out = IdentityAgent().act(obs)
    assert out.dtype == np.float32 and np.array_equal(np.round(out * 255).astype(np.uint8), obs["moving"])
    assert isinstance(IdentityAgent(), Agent)


def test_decoder_layout_matches_the_published_keys():
    state = weights.load_state_dict(weights.ADAIN_DECODER)
    decoder = adain_decoder()
    assert len(decoder) == 29
    assert {k: tuple(v.shape) for k, v in decoder.state_dict().items()} == {k: tuple(v.shape) for k, v in state.items()}
    assert count_parameters([decoder]) == 3_505_219


@pytest.fixture(scope="module")
def agent() -> AdaINAgent:
    return AdaINAgent(steps=4)


def test_adain_sequence_blends_features(agent):
    obs = _obs(32, 1)
    agent.reset(obs)
    net, decoder = loss_network("cpu"), load_adain_decoder()
    to = lambda a: torch.from_numpy(a).float()[None] / 255
    with torch.no_grad():
        fc, fs = net(to(obs["moving"]), ("relu4_1",))[0], net(to(obs["style"]), ("relu4_1",))[0]
        target = adain(fc, fs)
        expected = [decoder(a * target + (1 - a) * fc)[0].clamp(0, 1).numpy() for a in (0.25, 0.5, 0.75, 1.0)]
    got = [agent.act(obs) for _ in range(4)]
    for g, e in zip(got, expected):
        assert g.shape == (3, 32, 32) and np.allclose(g, e, atol=1e-5)
    assert np.allclose(agent.act(obs), expected[-1], atol=1e-5)  # stays at full strength past N
    # the VGG encoder is the shared loss network's, not a second copy
    assert agent.net is net and agent.parameters == 3_505_219 + count_parameters([net.body[:31]])
    assert agent.storage_bytes == 4 * agent.parameters


def test_adain_any_size(agent):
    obs = _obs(20, 2)  # not a multiple of 8: padded and cropped back
    agent.reset(obs)
    out = agent.act(obs)
    assert out.shape == (3, 20, 20) and out.min() >= 0 and out.max() <= 1


class _FakeStylizer:
    """Doubles its input each step (so clamping between steps would show)."""

    device = torch.device("cpu")

    def __init__(self) -> None:
        self.actor, self.builder = torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)

    def encode_style(self, style):
        return style.mean()

    def steps(self, content, code, steps=1):
        yield 1, content * 2 - 0.25


def test_stylizer_agent_keeps_its_unclamped_state():
    obs = _obs(8, 3)
    agent = StylizerAgent(_FakeStylizer())
    assert agent.parameters == 9 and agent.storage_bytes == 36 == storage_bytes([agent.stylizer.actor, agent.stylizer.builder])
    agent.reset(obs)
    x = obs["moving"].astype(np.float32)[None] / 255
    for _ in range(3):
        x = x * 2 - 0.25
        assert np.allclose(agent.act(obs), np.clip(x[0], 0, 1))


def test_stylizer_agent_matches_the_release_sequence(reference):
    from agents.stylizer import Stylizer

    stylizer = Stylizer.from_release(reference, "cpu")
    obs = _obs(32, 4)
    agent = StylizerAgent(stylizer)
    agent.reset(obs)
    expected = stylizer.sequence_tensor(torch.from_numpy(obs["moving"]).float()[None] / 255,
                                        torch.from_numpy(obs["style"]).float()[None] / 255, steps=3)  # fmt: skip
    for k in (1, 2, 3):
        got = np.round(agent.act(obs) * 255).astype(np.uint8)
        assert np.abs(got.astype(int) - expected[k][0].numpy().astype(int)).max() <= 1
