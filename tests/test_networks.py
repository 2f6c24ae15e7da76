"""The networks against the released model: layout, parameter counts, exact outputs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from agents.networks import (
    ACTOR_PARAMETERS,
    BUILDER_PARAMETERS,
    Actor,
    Builder,
    ResBlock,
    TwinCritic,
    action_log_prob,
    sample_action,
)
from agents.release import (
    ACTOR_FILE,
    BUILDER_FILE,
    CheckpointError,
    export_release,
    load_checkpoint,
    load_release,
    save_checkpoint,
)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def released(reference: Path) -> tuple[Actor, Builder]:
    return load_release(reference)


def test_parameter_counts() -> None:
    assert n_params(Actor()) == ACTOR_PARAMETERS == 217_312
    assert n_params(Builder()) == BUILDER_PARAMETERS == 153_843
    assert n_params(TwinCritic()) < ACTOR_PARAMETERS // 3


@pytest.mark.parametrize("case", ["square256", "rect200x320"])
def test_release_reproduces_reference_outputs(released, reference: Path, case: str) -> None:
    actor, builder = released
    data = torch.load(reference / "reference_outputs.pt", map_location="cpu", weights_only=True)[case]
    outputs, means = data["outputs"], data["action_means"]
    moving = data["content"]
    with torch.no_grad():
        code = actor.encode_style(data["style"])
        for step in range(outputs.shape[0]):
            mean, logvar = actor(moving, code)
            assert logvar.shape == mean.shape
            assert float(logvar.min()) >= -10.0 and float(logvar.max()) <= 2.0
            if step < means.shape[0]:
                torch.testing.assert_close(mean, means[step : step + 1], atol=1e-4, rtol=0)
            torch.testing.assert_close(actor.mean_action(moving), mean, atol=0, rtol=0)
            moving = builder(mean, code)  # fed back unclamped
            torch.testing.assert_close(moving, outputs[step : step + 1], atol=1e-4, rtol=0)


def test_style_code_shapes_and_independence_from_moving() -> None:
    from agents.default import DEFAULT_CHECKPOINT

    actor, _, _ = load_checkpoint(DEFAULT_CHECKPOINT)  # trained weights, shipped: no shared folder needed
    torch.manual_seed(0)
    style = torch.rand(2, 3, 32, 48)
    code = actor.encode_style(style)
    assert code.x1.shape == code.x2.shape == code.x1_3.shape == (2, 64, 8, 12)
    assert code.x1_2.shape == (2, 32, 16, 24)
    assert code.w1_2.shape == code.b1_2.shape == (2, 16, 1, 1)
    assert code.w1_3.shape == code.b1_3.shape == (2, 32, 1, 1)
    for v in (code.w1, code.b1, code.w2, code.b2):
        assert v.shape == (2, 64, 1, 1)
    assert len(code.feature_maps()) == 4 and len(code.modulations()) == 8
    one = actor.encode_style(style[1:])
    # batch 2 vs batch 1 may pick other CPU conv kernels: float rounding only (1.5e-6 relative seen on AVX2)
    torch.testing.assert_close(code.select(1).x2, one.x2, atol=1e-5, rtol=1e-5)
    # encoder content mode differs from style mode (the style-only layers are in the sequence)
    assert not torch.allclose(actor.encoder(style, style=False)[1], code.x2)


def test_modulated_res_block_matches_its_definition() -> None:
    torch.manual_seed(1)
    block = ResBlock(8)
    x = torch.randn(2, 8, 6, 5)
    w, b = torch.randn(2, 8, 1, 1), torch.randn(2, 8, 1, 1)
    y1 = block.conv1(x)
    y3 = torch.relu(w * y1 + b * x)
    expected = x + w * block.conv2(y3) + b * y3
    torch.testing.assert_close(block(x, w, b), expected)
    # unmodulated form
    torch.testing.assert_close(block(x), x + block.conv2(torch.relu(block.conv1(x))))


def test_sampling_scale_is_exp_logvar() -> None:
    mean = torch.full((1, 64, 50, 50), 0.5)
    logvar = torch.full_like(mean, math.log(0.2))
    a = sample_action(mean, logvar, torch.Generator().manual_seed(0))
    assert abs(float(a.mean()) - 0.5) < 0.01
    assert abs(float(a.std()) - 0.2) < 0.01  # exp(logvar), not exp(logvar / 2)
    expected = torch.distributions.Normal(mean, logvar.exp()).log_prob(a).flatten(1).sum(1)
    torch.testing.assert_close(action_log_prob(a, mean, logvar), expected, rtol=1e-5, atol=1e-2)


def test_twin_critic_shapes_and_negative_values() -> None:
    torch.manual_seed(0)
    critic = TwinCritic()
    moving, style = torch.rand(3, 3, 32, 40), torch.rand(3, 3, 48, 48)
    action = torch.randn(3, 64, 8, 10)
    q1, q2 = critic(moving, style, action)
    assert q1.shape == q2.shape == (3, 1)
    assert not torch.allclose(q1, q2)  # two independent estimates
    # the style image reaches Q
    q1b, _ = critic(moving, torch.rand(3, 3, 48, 48), action)
    assert not torch.allclose(q1, q1b)
    # linear output: a negative target is reachable
    with torch.no_grad():
        critic.q1.fc2.bias.fill_(-50.0)
    assert float(critic(moving, style, action)[0].detach().max()) < 0


def test_project_checkpoint_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(3)
    actor, builder = Actor(), Builder()
    path = save_checkpoint(tmp_path / "model.pt", actor, builder, {"steps": 10, "note": "x"})
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary left behind
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert set(raw) >= {"actor", "builder", "metadata"}
    actor2, builder2, meta = load_checkpoint(path)
    assert meta == {"steps": 10, "note": "x"}
    for a, b in ((actor, actor2), (builder, builder2)):
        for (k, v), (k2, v2) in zip(a.state_dict().items(), b.state_dict().items()):
            assert k == k2 and torch.equal(v, v2)


def test_export_release_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(4)
    actor, builder = Actor(), Builder()
    export_release(actor, builder, tmp_path)
    keys = torch.load(tmp_path / ACTOR_FILE, weights_only=True).keys()
    assert "encoder.enc1_2.2.conv_layer.weight" in keys
    assert "dist_builder.conv_layer.conv_layer.weight" in keys
    actor2, builder2 = load_release(tmp_path)
    torch.testing.assert_close(actor2.head.logvar.weight, actor.head.logvar.weight, atol=0, rtol=0)
    torch.testing.assert_close(builder2.out.weight, builder.out.weight, atol=0, rtol=0)


def test_release_loader_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not a folder"):
        load_release(tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match=f"{ACTOR_FILE}: no such file.*released"):
        load_release(tmp_path)
    export_release(Actor(), Builder(), tmp_path)
    (tmp_path / BUILDER_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=f"{BUILDER_FILE}: not a readable PyTorch checkpoint"):
        load_release(tmp_path)
    # the actor's file where the builder's should be
    (tmp_path / BUILDER_FILE).write_bytes((tmp_path / ACTOR_FILE).read_bytes())
    with pytest.raises(CheckpointError, match=f"{BUILDER_FILE}: unexpected key"):
        load_release(tmp_path)
    # a tensor of the wrong shape
    export_release(Actor(), Builder(), tmp_path)
    state = torch.load(tmp_path / BUILDER_FILE, weights_only=True)
    state["dec5.0.conv_layer.bias"] = torch.zeros(4)
    torch.save(state, tmp_path / BUILDER_FILE)
    with pytest.raises(CheckpointError, match="does not fit the builder"):
        load_release(tmp_path)
    # a missing key
    del state["dec5.0.conv_layer.bias"]
    torch.save(state, tmp_path / BUILDER_FILE)
    with pytest.raises(CheckpointError, match="does not fit the builder"):
        load_release(tmp_path)


def test_project_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="a folder, not a file"):
        load_checkpoint(tmp_path)
    bad = tmp_path / "bad.pt"
    bad.write_text("hello")
    with pytest.raises(CheckpointError, match=r"not a readable PyTorch checkpoint \(neither a zip nor a pickle\)"):
        load_checkpoint(bad)
    bad.write_bytes(b"\x80\x02 cut short")  # a pickle's start: torch's own reason is kept
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_checkpoint(bad)
    torch.save({"a": torch.zeros(1)}, bad)
    with pytest.raises(CheckpointError, match="not a styleenv checkpoint"):
        load_checkpoint(bad)


class _NotATensor:
    pass


def test_unreadable_checkpoint_errors_are_one_short_line(tmp_path: Path) -> None:
    """The reason names what the weights-only loader refused, without torch's advice to unpickle."""
    objects, empty, cut = tmp_path / "objects.pt", tmp_path / "empty.pt", tmp_path / "cut.pt"
    torch.save({"a": _NotATensor()}, objects)
    empty.write_bytes(b"")
    torch.save({"a": torch.zeros(64)}, cut)
    cut.write_bytes(cut.read_bytes()[:200])
    for path, reason in ((objects, "refused by the weights-only loader: Unsupported global"),
                         (empty, "empty or cut short"), (cut, "failed reading zip archive")):
        with pytest.raises(CheckpointError) as err:
            load_checkpoint(path)
        message = str(err.value)
        assert reason in message and "\n" not in message
        assert "weights_only" not in message and "trust" not in message
