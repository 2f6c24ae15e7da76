"""The Stylizer: exact sequences, any size, batches, seeded sampling, style encoded once."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from agents.networks import Actor, Builder
from agents.networks.blocks import Conv, ModulatedPointwise, ResBlock
from agents.networks.cpu_forms import (
    ColumnSplitConv,
    FoldedPointwise,
    FoldedResBlock,
    GroupSumConv,
    cpu_actor,
    cpu_builder,
)
from agents.release import save_checkpoint
from agents.stylizer import Stylizer
from styleenv.pixels import pad_to_multiple, pil_to_tensor, to_uint8
from styleenv.procedural import procedural_content, procedural_style


@pytest.fixture(scope="module")
def stylizer() -> Stylizer:
    torch.manual_seed(0)
    builder = Builder()
    with torch.no_grad():  # a freshly initialised builder outputs near-constant images: liven it up
        builder.out.weight.mul_(30.0)
        builder.out.bias.fill_(0.5)
    return Stylizer(Actor(), builder, device="cpu")


@pytest.fixture(scope="module")
def released(reference: Path) -> Stylizer:
    return Stylizer.from_release(reference, device="cpu")


@pytest.fixture(scope="module")
def trained() -> Stylizer:
    """The shipped checkpoint: trained weights, with no need of the shared folder."""
    return Stylizer.default("cpu")


def test_release_sequence_matches_reference(released: Stylizer, reference: Path) -> None:
    data = torch.load(reference / "reference_outputs.pt", map_location="cpu", weights_only=True)["square256"]
    outputs = data["outputs"]
    seen = [k for k, x in released.steps(data["content"], data["style"], steps=10) if
            torch.testing.assert_close(x, outputs[k - 1 : k], atol=1e-4, rtol=0) is None]
    assert seen == list(range(1, 11))
    kept = released.sequence_tensor(data["content"], data["style"], steps=10, keep=[1, 10])
    assert sorted(kept) == [1, 10]
    for k in (1, 10):
        diff = (kept[k].int() - to_uint8(outputs[k - 1 : k]).int()).abs()
        assert int(diff.max()) <= 1


def test_column_split_conv_equals_conv() -> None:
    torch.manual_seed(2)
    conv = Conv(16, 3, 9)
    fast = ColumnSplitConv(conv, band=200)  # bands of 8 rows: they do not divide the height
    x = torch.randn(2, 16, 23, 18)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), conv(x), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast(x), conv(x))  # autograd path
    assert fast.weight is conv.weight
    with pytest.raises(ValueError, match="ColumnSplitConv needs a stride-1, ungrouped conv with an odd square kernel"):
        ColumnSplitConv(Conv(16, 32, 3, stride=2, groups=16))


@pytest.mark.parametrize("cin, cout, kernel, channels_last", [(64, 32, 3, True), (32, 16, 3, False), (48, 16, 5, True)])
def test_group_sum_conv_equals_conv(cin: int, cout: int, kernel: int, channels_last: bool) -> None:
    torch.manual_seed(3)
    conv = Conv(cin, cout, kernel, groups=cout)
    fast = GroupSumConv(conv)
    x = torch.randn(2, cin, 13, 10)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():  # the reflected border recomputed: every pixel, the frame included
        torch.testing.assert_close(fast(x), conv(x), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast(x), conv(x))  # autograd path
    for wrong in (Conv(16, 32, 3, stride=2, groups=16), Conv(32, 16, 3, stride=2, groups=16)):  # two outputs per group; stride 2
        with pytest.raises(ValueError, match="GroupSumConv needs a reflection-padded, stride-1 grouped conv with one "
                                             "output channel per group"):
            GroupSumConv(wrong)


def test_cpu_builder_shares_parameters_and_agrees(stylizer: Stylizer) -> None:
    builder = Builder()
    fast = cpu_builder(builder)
    assert isinstance(builder.out, Conv) and isinstance(builder.up1.conv, Conv)  # the original is untouched
    assert fast.out.weight is builder.out.weight and fast.up2.conv.weight is builder.up2.conv.weight
    assert fast.state_dict().keys() == builder.state_dict().keys()
    code = stylizer.actor.encode_style(torch.rand(1, 3, 32, 32))
    action = torch.randn(2, 64, 6, 9)
    with torch.no_grad():
        torch.testing.assert_close(fast(action, code), builder(action, code), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("styles", [1, 2])  # one style folds into the weights; two run as the plain layer
def test_folded_modulated_layers_equal_the_layers(styles: int) -> None:
    torch.manual_seed(4)
    res, point = ResBlock(8), ModulatedPointwise(8)
    x = torch.randn(2, 8, 7, 9)
    w, b = torch.randn(styles, 8, 1, 1) * 5, torch.randn(styles, 8, 1, 1) * 5
    with torch.no_grad():
        torch.testing.assert_close(FoldedResBlock(res)(x, w, b), res(x, w, b), atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(FoldedPointwise(point)(x, w, b), point(x, w, b), atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(FoldedResBlock(res)(x), res(x))  # unmodulated
    assert FoldedResBlock(res).conv1.weight is res.conv1.weight


def test_cpu_actor_shares_parameters_and_agrees() -> None:
    torch.manual_seed(5)
    actor = Actor()
    fast = cpu_actor(actor)
    assert type(actor.encoder) is not type(fast.encoder)  # the original is untouched
    assert fast.encoder.conv1_1.weight is actor.encoder.conv1_1.weight and fast.head is actor.head
    assert fast.state_dict().keys() == actor.state_dict().keys()
    style, moving = torch.rand(1, 3, 36, 28), torch.rand(2, 3, 20, 32)
    with torch.no_grad():
        code, reference = fast.encode_style(style), actor.encode_style(style)
        for a, b in zip(code.feature_maps() + code.modulations(), reference.feature_maps() + reference.modulations()):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(fast.act(moving, code), actor.act(moving, reference), atol=1e-5, rtol=1e-5)


def test_pad_to_multiple() -> None:
    x = torch.arange(2 * 3 * 5 * 6, dtype=torch.float32).view(2, 3, 5, 6)
    y = pad_to_multiple(x)
    assert y.shape == (2, 3, 8, 8)
    torch.testing.assert_close(y[:, :, :5, :6], x)
    torch.testing.assert_close(y[:, :, 5, :6], x[:, :, 3])  # reflection, bottom
    assert pad_to_multiple(torch.zeros(1, 3, 8, 12)).shape == (1, 3, 8, 12)
    assert pad_to_multiple(torch.zeros(1, 3, 2, 3)).shape == (1, 3, 4, 4)  # too small to reflect


def test_odd_sizes(trained: Stylizer) -> None:
    stylizer = trained
    torch.manual_seed(1)
    content, style = torch.rand(3, 37, 203), torch.rand(1, 3, 45, 61)
    images = stylizer.sequence(content, style, steps=3)
    assert len(images) == 3
    assert all(im.size == (203, 37) and im.mode == "RGB" for im in images)
    # step 1 is the network on the padded image, cropped back
    with torch.inference_mode():
        code = stylizer.actor.encode_style(pad_to_multiple(style))
        padded = pad_to_multiple(content[None])
        assert padded.shape[-2:] == (40, 204)
        expected = stylizer.builder(stylizer.actor.mean_action(padded), code)[:, :, :37, :203]
    np.testing.assert_array_equal(np.asarray(images[0]), to_uint8(expected)[0].permute(1, 2, 0).numpy())


def test_alpha_moves_each_step_part_of_the_way(trained: Stylizer) -> None:
    content = procedural_content(0, 64).resize((64, 48))
    style = procedural_style(0, 48)
    photo = pil_to_tensor(content)  # 1 x 3 x 48 x 64
    first = {a: next(trained.steps(content, style, steps=1, alpha=a))[1] for a in (0.0, 0.5, 1.0)}
    assert torch.equal(first[0.0], photo)
    torch.testing.assert_close(first[0.5], (photo + first[1.0]) / 2)
    distances = []
    for alpha in (0.0, 0.25, 0.5, 0.75, 1.0):
        last = trained.sequence_tensor(content, style, steps=3, alpha=alpha)[3].float() / 255
        distances.append(float((last - photo).abs().mean()))
        assert float(((last == 0) | (last == 1)).float().mean()) < 0.2  # a weaker image, not a wrecked one
    assert distances == sorted(distances) and distances[0] < 1 / 255
    with pytest.raises(ValueError, match="alpha"):
        next(trained.steps(content, style, alpha=float("nan")))


def test_batch_of_three_matches_one_by_one(trained: Stylizer) -> None:
    stylizer = trained
    torch.manual_seed(2)
    contents = [torch.rand(3, 32, 44) for _ in range(3)]
    style = torch.rand(3, 40, 40)
    batch = stylizer.sequence_tensor(torch.stack(contents), style, steps=3)
    assert batch[3].shape == (3, 3, 32, 44) and batch[3].dtype == torch.uint8
    for i, c in enumerate(contents):
        single = stylizer.sequence_tensor(c, style, steps=3)
        for k in (1, 2, 3):
            assert int((batch[k][i].int() - single[k][0].int()).abs().max()) <= 1
    as_pil = stylizer.sequence_batch([Image.fromarray((c.permute(1, 2, 0).numpy() * 255).astype(np.uint8)) for c in contents], style, steps=2, keep=[2])
    assert len(as_pil) == 3 and all(len(seq) == 1 for seq in as_pil)


def test_seeded_sampling(trained: Stylizer) -> None:
    stylizer = trained  # trained weights: a random init hardly reacts to its action noise
    torch.manual_seed(3)
    content, style = torch.rand(3, 32, 32), torch.rand(3, 32, 32)
    run = lambda **kw: stylizer.sequence_tensor(content, style, steps=3, **kw)[3]  # noqa: E731
    a, b, c = run(sample=True, seed=7), run(sample=True, seed=7), run(sample=True, seed=8)
    mean = run()
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, mean)
    assert torch.equal(mean, run())  # deterministic by default


def test_style_encoded_once_per_sequence(stylizer: Stylizer, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = stylizer.actor.encode_style
    monkeypatch.setattr(stylizer.actor, "encode_style", lambda x: calls.append(x.shape) or original(x))
    stylizer.sequence(torch.rand(3, 32, 32), torch.rand(3, 36, 36), steps=6)
    assert calls == [(1, 3, 36, 36)]
    stylizer.sequence(torch.rand(3, 32, 32), torch.rand(3, 36, 36), steps=6, sample=True, seed=1)
    assert len(calls) == 2


def test_style_statistics_taken_once_per_sequence(stylizer: Stylizer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The builder's AdaIN targets come from the style alone: one ``targets()`` per sequence, not per step."""
    from agents.networks import StyleCode

    calls = []
    original = StyleCode.targets
    monkeypatch.setattr(StyleCode, "targets", lambda code: calls.append(1) or original(code))
    stylizer.sequence(torch.rand(3, 32, 32), torch.rand(3, 36, 36), steps=6)
    assert len(calls) == 1


def test_keep_and_bad_arguments(stylizer: Stylizer) -> None:
    content, style = torch.rand(3, 32, 32), torch.rand(3, 32, 32)
    full = stylizer.sequence_tensor(content, style, steps=4)
    part = stylizer.sequence_tensor(content, style, steps=4, keep=[4, 2])
    assert sorted(part) == [2, 4] and torch.equal(part[4], full[4]) and torch.equal(part[2], full[2])
    assert sorted(stylizer.sequence_tensor(content, style, steps=np.int64(2))) == [1, 2]
    positional = stylizer.sequence(content, style, 2, None, True, 5)  # keep, sample, seed: as in steps()
    assert [np.asarray(i).tobytes() for i in positional] == [
        np.asarray(i).tobytes() for i in stylizer.sequence(content, style, steps=2, sample=True, seed=5)]
    for bad, message in ((dict(steps=0), "steps must be a positive integer, got 0"),
                         (dict(steps=-2), "steps must be a positive integer, got -2"),
                         (dict(steps=3, keep=[4]), "steps to keep must lie in 1..3, got [4]"),
                         (dict(steps=3, keep=[0]), "steps to keep must lie in 1..3, got [0]"),
                         (dict(steps=3, keep=[]), "steps to keep must lie in 1..3, got none"),
                         (dict(steps=3, keep=[1.5]), "steps to keep must be integers, got [1.5]")):
        with pytest.raises(ValueError, match=re.escape(message)):
            stylizer.sequence(content, style, **bad)
    with pytest.raises(ValueError, match="one style"):
        stylizer.sequence(content, torch.rand(2, 3, 32, 32), steps=1)


def test_from_checkpoint_and_pil_inputs(tmp_path: Path, stylizer: Stylizer) -> None:
    path = save_checkpoint(tmp_path / "m.pt", stylizer.actor, stylizer.builder, {"name": "t"})
    other = Stylizer.from_checkpoint(path, device="cpu")
    assert other.metadata == {"name": "t"}
    rng = np.random.default_rng(0)
    content = Image.fromarray(rng.integers(0, 256, (30, 41, 3), dtype=np.uint8))
    style_file = tmp_path / "style.png"
    Image.fromarray(rng.integers(0, 256, (33, 33, 3), dtype=np.uint8)).save(style_file)
    a = other.sequence(content, style_file, steps=2)
    b = stylizer.sequence(content, style_file, steps=2)
    assert [np.asarray(x).tolist() for x in a] == [np.asarray(x).tolist() for x in b]
    assert a[0].size == (41, 30)
