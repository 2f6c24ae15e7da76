"""The checkpoint shipped inside the package: offline, checked, and it stylises."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import agents.default as default
from agents.release import CheckpointError, load_checkpoint
from agents.stylizer import Stylizer
from styleenv import weights
from styleenv.images import as_batch
from styleenv.pixels import to_uint8
from styleenv.weights import sha256_of


def test_card_records_the_file_and_its_training():
    card = default.default_card()
    assert sha256_of(default.DEFAULT_CHECKPOINT) == card["sha256"]
    assert default.DEFAULT_CHECKPOINT.stat().st_size == card["bytes"] < 2_000_000  # actor + builder only
    training = card["training"]
    stages = training["stages"]
    assert stages and training["env_steps"] == sum(stage["env_steps"] for stage in stages) > 0
    for stage in stages:
        assert stage["command"].startswith("styleenv train") and stage["config"]["image_size"] > 0
        assert len(training["holdout"]["content"]) == stage["config"]["holdout_content"]
        assert len(training["holdout"]["style"]) == stage["config"]["holdout_style"]


def test_loads_offline_and_stylises_a_small_image(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the shipped checkpoint must load without the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(weights, "_DIGESTS", {})  # check the sha256 in this test
    stylizer = Stylizer.default(device="cpu")
    assert stylizer.metadata["num_timesteps"] == default.default_card()["training"]["env_steps"]
    rng = np.random.default_rng(0)
    content = Image.fromarray(rng.integers(0, 256, (30, 41, 3), dtype=np.uint8))
    style = Image.fromarray(rng.integers(0, 256, (36, 36, 3), dtype=np.uint8))
    steps = stylizer.sequence(content, style, steps=3)
    assert len(steps) == 3 and all(s.size == (41, 30) for s in steps)
    first, last = (np.asarray(s, dtype=np.float32) for s in (steps[0], steps[-1]))
    assert np.abs(first - np.asarray(content, dtype=np.float32)).mean() > 1.0  # it changed the image
    assert np.abs(last - first).mean() > 0.1  # and each step goes on changing it


def test_its_sequence_progresses_on_the_built_in_pairs():
    """What the README's first run shows: each step closer to the style, further from the photo."""
    from styleenv.evaluation.metrics import PairMetrics
    from styleenv.procedural import procedural_content, procedural_style
    from styleenv.vgg import loss_network

    net, stylizer = loss_network("cpu"), Stylizer.default(device="cpu")
    style_by_step, content_by_step = torch.zeros(10), torch.zeros(10)
    for seed in range(4):
        content = as_batch(procedural_content(seed, 128))  # (1, 3, 128, 128) float
        style = as_batch(procedural_style(seed + 7, 128))
        style_stats = PairMetrics.style_stats(net, to_uint8(style)[0].numpy())
        metrics = PairMetrics(net, to_uint8(content)[0].numpy(), style_stats)  # uint8, as evaluated
        images = [to_uint8(image)[0].numpy() for _, image in stylizer.steps(content, style, steps=10)]
        for k, row in enumerate(metrics.measure(images, [None] * len(images))):
            style_by_step[k] += row["style_loss"]
            content_by_step[k] += row["content_loss"]
    assert (style_by_step.diff() < 0).all(), style_by_step / 4  # means over the 4 pairs
    assert (content_by_step.diff() > 0).all(), content_by_step / 4


def test_a_damaged_file_is_refused(tmp_path, monkeypatch):
    broken = tmp_path / "rlministyler.pt"
    shutil.copy(default.DEFAULT_CHECKPOINT, broken)
    data = bytearray(broken.read_bytes())
    data[len(data) // 2] ^= 0xFF
    broken.write_bytes(bytes(data))
    monkeypatch.setattr(default, "DEFAULT_CHECKPOINT", broken)
    with pytest.raises(CheckpointError, match="sha256"):
        default.default_checkpoint()
    monkeypatch.setattr(default, "DEFAULT_CHECKPOINT", tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="reinstall"):
        default.default_checkpoint()


def test_fine_tuning_starts_from_the_shipped_weights(tmp_path):
    from agents.sac.config import load_config
    from agents.sac.trainer import build

    tiny = Path(__file__).resolve().parents[1] / "configs" / "tiny.toml"
    run = build(load_config(tiny, {"output": str(tmp_path / "run"), "init": "default"}))
    shipped = load_checkpoint(default.default_checkpoint())[:2]
    for mine, theirs in zip(run.model.policy.networks, shipped):
        for name, value in theirs.state_dict().items():
            assert torch.equal(mine.state_dict()[name].cpu(), value.cpu()), name
