"""The small maths and the losses module, against hand computations and the release's values."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from styleenv import losses
from styleenv.ops import adain, mean_std
from styleenv.vgg import loss_network


def test_mean_std_uses_unbiased_variance_with_epsilon_inside_the_root():
    x = torch.tensor([1.0, 2.0, 4.0, 7.0]).view(1, 1, 2, 2)
    mean, std = mean_std(x)
    assert mean.shape == (1, 1, 1, 1)
    assert mean.item() == pytest.approx(3.5)
    unbiased = ((x - 3.5) ** 2).sum().item() / 3  # 7.0
    assert std.item() == pytest.approx((unbiased + 1e-5) ** 0.5, rel=1e-7)
    assert std.item() != pytest.approx(((x - 3.5) ** 2).mean().item() ** 0.5, rel=1e-3)  # not the biased one


def test_mean_std_takes_any_memory_layout():
    x = torch.randn(2, 5, 6, 7) * 3 + 1
    mean, std = mean_std(x)
    last_mean, last_std = mean_std(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(last_mean, mean)
    torch.testing.assert_close(last_std, std)
    torch.testing.assert_close(std.flatten(), (x.flatten(2).var(dim=2) + 1e-5).sqrt().flatten())


def test_adain_gives_content_the_style_statistics():
    gen = torch.Generator().manual_seed(0)
    content = torch.randn(2, 4, 5, 6, generator=gen)
    style = torch.randn(2, 4, 7, 3, generator=gen) * 3 + 2
    out = adain(content, style)
    for a, b in zip(mean_std(out), mean_std(style)):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-3)


def test_per_sample_losses_average_to_the_batch_loss():
    gen = torch.Generator().manual_seed(1)
    a = [torch.randn(3, 4, 8, 8, generator=gen) for _ in range(2)]
    b = [torch.randn(3, 4, 8, 8, generator=gen) for _ in range(2)]
    per = losses.style_loss(a, b, per_sample=True)
    assert per.shape == (3,)
    torch.testing.assert_close(per.mean(), losses.style_loss(a, b))
    assert losses.style_loss(a, a).item() == 0.0


def test_ssim_of_an_image_with_itself_is_one_and_falls_with_noise():
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, 24)[None, :, None] * np.ones((20, 1, 3))
    img = ramp.astype(np.uint8)
    assert losses.ssim_grey(img, img) == pytest.approx(1.0)
    noisy = [np.clip(ramp + rng.normal(0, sd, img.shape), 0, 255).astype(np.uint8) for sd in (10, 40)]
    scores = [losses.ssim_grey(img, n) for n in noisy]
    assert 1.0 > scores[0] > scores[1]
    with pytest.raises(ValueError, match="one size"):
        losses.ssim_grey(img, img[:10])


def _ssim_by_hand(a: np.ndarray, b: np.ndarray, w: int = 7) -> float:
    """The documented SSIM: uniform w x w windows, sample (co)variances, K1 0.01, K2 0.03, L 255,
    averaged over every position where the window fits."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for i in range(a.shape[0] - w + 1):
        for j in range(a.shape[1] - w + 1):
            x, y = a[i : i + w, j : j + w].ravel(), b[i : i + w, j : j + w].ravel()
            mx, my = x.mean(), y.mean()
            vx, vy = x.var(ddof=1), y.var(ddof=1)
            cxy = ((x - mx) * (y - my)).sum() / (x.size - 1)
            vals.append((2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2)))
    return float(np.mean(vals))


@pytest.mark.parametrize("shape", [(7, 7), (9, 11)])  # one window; 3 x 5 windows of a non-square image
def test_ssim_matches_the_formula_window_by_window(shape):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, shape).astype(np.uint8)
    y = np.clip(x.astype(int) + rng.integers(-40, 40, shape), 0, 255).astype(np.uint8)  # correlated: cov > 0
    grey = lambda a: np.repeat(a[:, :, None], 3, axis=2)  # grey RGB: PIL's luma of (v, v, v) is v
    assert losses.ssim_grey(grey(x), grey(y)) == pytest.approx(_ssim_by_hand(x.astype(float), y.astype(float)), rel=1e-9)


def _reward(net, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """The env's reward of images in [0, 1]: minus the style loss over relu1_1..relu4_1, ``(N,)``."""
    return -losses.style_loss(net(x), net(style), per_sample=True)


def test_losses_reproduce_the_release_reference(reference):
    ref = torch.load(reference / "reference_outputs.pt", weights_only=True)
    expected = json.loads((reference / "reference_losses.json").read_text())
    net = loss_network()
    for case, data in ref.items():
        content, style, outs = data["content"], data["style"], data["outputs"]
        want = expected[case]
        with torch.no_grad():
            got = {
                "reward_of_content": _reward(net, content, style).tolist(),
                "rewards": _reward(net, outs, style).tolist(),
                "rewards_clamped": _reward(net, outs.clamp(0, 1), style).tolist(),
                "paper_content_loss": losses.paper_content_loss(net, outs, content).tolist(),
                "paper_style_loss": losses.paper_style_loss(net, outs, style).tolist(),
            }
            relu4 = lambda x: net(x, ("relu4_1",))[0]
            previous = torch.cat([content, outs[:-1]])
            got["content_loss_relu4_1_vs_previous"] = losses.content_loss(relu4(outs), relu4(previous), True).tolist()
        for key, values in got.items():
            reference_values = want[key] if isinstance(want[key], list) else [want[key]]
            np.testing.assert_allclose(values, reference_values, rtol=1e-4, err_msg=f"{case}/{key}")
