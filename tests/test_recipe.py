"""Blends, colour preservation and masks through the Stylizer API (a tiny random model, tiny images)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from agents.blend import blend_styles, normalise_weights
from agents.colour import chroma_distance, luminance_transfer, match_colours, rgb_to_ycbcr
from agents.masks import MaskError, composite, load_mask
from agents.recipe import Recipe
from agents.stylizer import Stylizer
from styleenv.pixels import pil_to_tensor


@pytest.fixture(scope="module")
def stylizer() -> Stylizer:
    """The shipped checkpoint (a random model's output hardly depends on the style)."""
    return Stylizer.default(device="cpu")


def _picture(seed: int, w: int = 28, h: int = 20) -> Image.Image:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    tint = rng.uniform(0.2, 1.0, 3)
    base = np.stack([xx / w * tint[0], yy / h * tint[1], (xx + yy) / (w + h) * tint[2]], axis=-1) * 200
    return Image.fromarray((base + rng.integers(0, 55, (h, w, 3))).astype(np.uint8))


CONTENT, STYLE_A, STYLE_B = _picture(0), _picture(1, 24, 24), _picture(2, 32, 16)


def _bytes(images: list[Image.Image]) -> list[bytes]:
    return [np.asarray(i).tobytes() for i in images]


def test_targets_give_the_codes_output_exactly(stylizer: Stylizer) -> None:
    code = stylizer.encode_style(STYLE_A)
    plain = stylizer.sequence_tensor(CONTENT, code, steps=3)
    via_targets = stylizer.sequence_tensor(CONTENT, code.targets(), steps=3)
    assert all(torch.equal(plain[k], via_targets[k]) for k in plain)


def test_a_code_from_another_device_is_moved_to_the_stylizers(stylizer: Stylizer, monkeypatch) -> None:
    """A code or targets encoded on one device serve a stylizer on another (sequences and blends)."""
    code = stylizer.encode_style(STYLE_A)
    monkeypatch.setattr(stylizer, "device", torch.device("meta"))  # stands in for a GPU stylizer
    for style in (code, code.targets()):
        moved = stylizer._style_code(style)
        assert type(moved) is type(style) and vars(moved).keys() == vars(style).keys()
        assert all(t.device.type == "meta" and t.shape == vars(style)[k].shape for k, t in vars(moved).items())


def test_blend_weights_one_zero_reproduce_the_single_style_exactly(stylizer: Stylizer) -> None:
    single_a = stylizer.sequence(CONTENT, STYLE_A, steps=3)
    single_b = stylizer.sequence(CONTENT, STYLE_B, steps=3)
    assert _bytes(stylizer.sequence(CONTENT, stylizer.blend_styles([STYLE_A, STYLE_B], [1, 0]), steps=3)) == _bytes(single_a)
    assert _bytes(stylizer.sequence(CONTENT, stylizer.blend_styles([STYLE_A, STYLE_B], [0, 2.5]), steps=3)) == _bytes(single_b)
    half = stylizer.sequence(CONTENT, stylizer.blend_styles([STYLE_A, STYLE_B], [1, 1]), steps=3)
    assert _bytes(half) != _bytes(single_a) and _bytes(half) != _bytes(single_b)


def test_a_blend_is_the_weighted_mean_of_the_vectors(stylizer: Stylizer) -> None:
    a, b = stylizer.encode_style(STYLE_A).targets(), stylizer.encode_style(STYLE_B).targets()
    mixed = blend_styles([a, b], [3, 1])
    for name, value in mixed.tensors().items():
        torch.testing.assert_close(value, 0.75 * getattr(a, name) + 0.25 * getattr(b, name))


@pytest.mark.parametrize("weights, message", [
    ([0, 0], "positive"), ([1, -1], "non-negative"), ([1, math.nan], "finite"), ([1], "1 style weights for 2"),
])
def test_bad_weights_are_refused(weights: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalise_weights(weights, 2)


def test_luminance_transfer_keeps_the_contents_colour_and_the_stylised_brightness() -> None:
    torch.manual_seed(1)
    content = torch.rand(1, 3, 12, 10) * 0.3 + 0.35  # colours well inside the gamut: no clamping
    stylised = torch.rand(1, 3, 12, 10) * 0.3 + 0.35
    out = luminance_transfer(stylised, content)
    torch.testing.assert_close(rgb_to_ycbcr(out)[:, 1:], rgb_to_ycbcr(content)[:, 1:], atol=0.02, rtol=0)
    torch.testing.assert_close(rgb_to_ycbcr(out)[:, :1], rgb_to_ycbcr(stylised)[:, :1], atol=0.02, rtol=0)
    assert chroma_distance(out, content) < 0.2 * chroma_distance(stylised, content)


def test_match_colours_gives_the_style_the_contents_mean_and_covariance() -> None:
    torch.manual_seed(2)
    content = torch.rand(1, 3, 16, 16) * 0.3 + torch.tensor([0.5, 0.3, 0.2]).view(1, 3, 1, 1)
    style = torch.rand(1, 3, 20, 12) * 0.4 + torch.tensor([0.1, 0.3, 0.5]).view(1, 3, 1, 1)
    out = match_colours(style, content)
    assert out.shape == style.shape
    flat_out, flat_c = out[0].reshape(3, -1), content[0].reshape(3, -1)
    torch.testing.assert_close(flat_out.mean(1), flat_c.mean(1), atol=1e-3, rtol=0)
    torch.testing.assert_close(torch.cov(flat_out), torch.cov(flat_c), atol=1e-3, rtol=0)
    dot = torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1, 1)  # one pixel: no spread, only the mean to match
    torch.testing.assert_close(match_colours(dot, content)[0, :, 0, 0], flat_c.mean(1), atol=1e-6, rtol=0)
    assert torch.isfinite(match_colours(style, dot)).all()


def test_colour_matching_stays_on_the_images_device() -> None:
    """The matrix roots are made on the covariance's device (a GPU image's colours stay on the GPU);
    the meta device stands in for a GPU here."""
    from agents.colour import _sqrt_and_inverse

    cov = torch.eye(3, dtype=torch.float64, device="meta")
    root, inverse = _sqrt_and_inverse(cov)
    assert root.device == inverse.device == cov.device


def test_preserve_colour_brings_the_output_colours_to_the_contents(stylizer: Stylizer) -> None:
    plain = stylizer.stylize(CONTENT, Recipe([STYLE_A]), steps=2)[-1]
    kept = stylizer.stylize(CONTENT, Recipe([STYLE_A], preserve_colour="luminance"), steps=2)[-1]
    content = pil_to_tensor(CONTENT)
    assert chroma_distance(pil_to_tensor(kept), content) < 0.25 * chroma_distance(pil_to_tensor(plain), content)
    matched = stylizer.stylize(CONTENT, Recipe([STYLE_A], preserve_colour="match"), steps=2)
    assert len(matched) == 2 and matched[0].size == CONTENT.size
    # the style recoloured to the photo's colours first: the output's colours come closer to the photo's
    assert chroma_distance(pil_to_tensor(matched[-1]), content) < chroma_distance(pil_to_tensor(plain), content)


def test_masks_black_keeps_the_photo_white_stylises(stylizer: Stylizer, tmp_path) -> None:
    black = Image.new("L", CONTENT.size, 0)
    white = Image.new("L", CONTENT.size, 255)
    plain = stylizer.stylize(CONTENT, Recipe([STYLE_A]), steps=2)
    assert _bytes(stylizer.stylize(CONTENT, Recipe([STYLE_A], masks=[white]), steps=2)) == _bytes(plain)
    assert _bytes(stylizer.stylize(CONTENT, Recipe([STYLE_A], masks=[black]), steps=2)) == _bytes([CONTENT, CONTENT])
    half = np.zeros((CONTENT.height, CONTENT.width), np.uint8)
    half[:, : CONTENT.width // 2] = 255
    out = np.asarray(stylizer.stylize(CONTENT, Recipe([STYLE_A], masks=[Image.fromarray(half)]), steps=1)[0])
    left, right = slice(0, CONTENT.width // 2), slice(CONTENT.width // 2, None)
    assert np.array_equal(out[:, right], np.asarray(CONTENT)[:, right])
    assert np.array_equal(out[:, left], np.asarray(plain[0])[:, left])


def test_one_style_per_region(stylizer: Stylizer) -> None:
    half = np.zeros((CONTENT.height, CONTENT.width), np.uint8)
    half[:, : CONTENT.width // 2] = 255
    masks = [Image.fromarray(half), Image.fromarray(255 - half)]
    out = np.asarray(stylizer.stylize(CONTENT, Recipe([STYLE_A, STYLE_B], masks=masks), steps=2)[-1])
    a = np.asarray(stylizer.sequence(CONTENT, STYLE_A, steps=2)[-1])
    b = np.asarray(stylizer.sequence(CONTENT, STYLE_B, steps=2)[-1])
    w = CONTENT.width // 2
    assert np.array_equal(out[:, :w], a[:, :w]) and np.array_equal(out[:, w:], b[:, w:])


def test_mask_sizes_feathering_and_overlap() -> None:
    small = Image.new("L", (14, 10), 255)  # half the content's size, same shape: resized
    assert load_mask(small, (28, 20)).shape == (1, 1, 20, 28)
    with pytest.raises(MaskError, match="14x14 but the content is 28x20"):
        load_mask(Image.new("L", (14, 14), 255), (28, 20))
    with pytest.raises(MaskError, match="cannot load image"):
        load_mask("/nonexistent/mask.png", (28, 20))
    hard = np.zeros((20, 28), np.uint8)
    hard[:, 14:] = 255
    soft = load_mask(Image.fromarray(hard), (28, 20), feather=3)
    assert 0.05 < float(soft[0, 0, 10, 13]) < 0.95  # an edge pixel mixes
    ones = torch.ones(1, 1, 2, 2)
    out = composite([torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)], [ones, ones], torch.full((1, 3, 2, 2), 5.0))
    torch.testing.assert_close(out, torch.full((1, 3, 2, 2), 0.5))  # overlapping masks share the pixel


@pytest.mark.parametrize("kwargs, message", [
    ({"styles": []}, "at least one style"),
    ({"styles": [STYLE_A, STYLE_B]}, "need blend weights, or one mask each"),
    ({"styles": [STYLE_A, STYLE_B], "weights": [1, 1], "masks": [CONTENT, CONTENT]}, "one mask"),
    ({"styles": [STYLE_A], "preserve_colour": "sepia"}, "luminance, match"),
    ({"styles": [STYLE_A, STYLE_B], "weights": [0, 0]}, "positive"),
    ({"styles": [STYLE_A], "masks": [CONTENT], "feather": math.inf}, "finite"),  # Pillow's blur crashes on it
    ({"styles": [STYLE_A], "masks": [CONTENT], "feather": math.nan}, "finite"),
    ({"styles": "painting.jpg"}, "must be a list"),
    ({"styles": [STYLE_A], "masks": "sky.png"}, "must be a list"),
])
def test_inconsistent_recipes_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        Recipe(**kwargs)


def test_match_colours_needs_style_images(stylizer: Stylizer) -> None:
    with pytest.raises(ValueError, match="style codes"):
        Recipe([stylizer.encode_style(STYLE_A)], preserve_colour="match")


def test_changed_masks_and_feather_are_read_again(stylizer: Stylizer) -> None:
    half = np.zeros((CONTENT.height, CONTENT.width), np.uint8)
    half[:, : CONTENT.width // 2] = 255
    recipe = Recipe([STYLE_A], masks=[Image.fromarray(half)])
    hard = stylizer.stylize(CONTENT, recipe, steps=1)
    recipe.feather = 4
    assert _bytes(stylizer.stylize(CONTENT, recipe, steps=1)) == _bytes(stylizer.stylize(CONTENT, Recipe([STYLE_A], masks=[Image.fromarray(half)], feather=4), steps=1))
    recipe.masks, recipe.feather = [Image.fromarray(255 - half)], 0
    assert _bytes(stylizer.stylize(CONTENT, recipe, steps=1)) != _bytes(hard)


def test_regions_are_right_when_steps_share_one_output_buffer(stylizer: Stylizer, monkeypatch) -> None:
    """As on CUDA, where a captured graph writes every step of one shape into one buffer."""
    half = np.zeros((CONTENT.height, CONTENT.width), np.uint8)
    half[:, : CONTENT.width // 2] = 255
    recipe = Recipe([STYLE_A, STYLE_B], masks=[Image.fromarray(half), Image.fromarray(255 - half)])
    eager = stylizer.stylize(CONTENT, recipe, steps=3)
    buffers: dict[tuple, torch.Tensor] = {}

    def graphed(x: torch.Tensor, code) -> torch.Tensor:
        out = stylizer.builder(stylizer.actor.mean_action(x), code)
        return buffers.setdefault(tuple(x.shape), torch.empty_like(out)).copy_(out)

    monkeypatch.setattr(stylizer, "graphed", graphed)
    assert _bytes(stylizer.stylize(CONTENT, recipe, steps=3)) == _bytes(eager)
