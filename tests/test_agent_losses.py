"""The agent's training losses (contrastive style loss, uncertainty weighting) against hand computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents import losses


def test_contrastive_loss_prefers_matching_styles():
    gen = torch.Generator().manual_seed(3)
    styles = [torch.randn(3, 4, 6, 6, generator=gen) * (k + 1) for k in range(2)]
    vecs = [torch.randn(3, 5, 1, 1, generator=gen)]
    matched = losses.contrastive_style_loss([s + 0.01 for s in styles], vecs, styles, vecs)
    shuffled = losses.contrastive_style_loss([s.roll(1, 0) for s in styles], [v.roll(1, 0) for v in vecs], styles, vecs)
    assert matched.item() < shuffled.item()
    with pytest.raises(ValueError, match="at least two"):
        losses.contrastive_style_loss([styles[0][:1]], [vecs[0][:1]], [styles[0][:1]], [vecs[0][:1]])


def test_uncertainty_weighting_at_initialisation():
    value = losses.uncertainty_weighted(torch.tensor([2.0, 4.0]), torch.ones(2))
    assert value.item() == pytest.approx(0.5 * 2 + 0.5 * 4 + 2 * np.log(2))
