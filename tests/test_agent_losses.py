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


def _generative_setup():
    """Small networks, a loss network with random (scale-keeping) weights, and a batch of two."""
    from agents.networks import Actor, Builder
    from styleenv import losses as env_losses
    from styleenv.vgg import STYLE_TAPS, LossNetwork, _published_sequential

    torch.manual_seed(0)
    vgg = _published_sequential()
    for conv in vgg[1:]:
        if isinstance(conv, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(conv.weight)  # keeps the features' scale through the layers
    net = LossNetwork(vgg.state_dict())
    moving, style = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    return Actor(), Builder(), net, moving, style, env_losses.style_stats(net(style, STYLE_TAPS))


def test_generative_content_weight_scales_only_the_weighted_content_term():
    from agents.sac.generative import generative_losses

    actor, builder, net, moving, style, stats = _generative_setup()
    p = torch.ones(3)
    runs = []
    for weight in (1.0, 3.0):
        torch.manual_seed(1)  # the same sampled latents
        runs.append(generative_losses(actor, builder, p, net, moving, style, stats, content_weight=weight))
    torch.testing.assert_close(runs[0].terms, runs[1].terms)
    # p = 1: each term enters as 0.5 * weight * L, so the totals differ by 0.5 * (3 - 1) * L_content
    assert (runs[1].total - runs[0].total).item() == pytest.approx(runs[0].terms[0].item(), rel=1e-4)
    assert runs[0].terms[0].item() > 1e-3


def test_bf16_loss_network_pass_keeps_losses_and_gradients():
    from agents.sac.generative import generative_losses

    actor, builder, net, moving, style, stats = _generative_setup()
    params = [*actor.parameters(), *builder.parameters()]
    terms, grads = [], []
    for bf16 in (False, True):
        torch.manual_seed(1)  # the same sampled latents
        for q in params:
            q.grad = None
        out = generative_losses(actor, builder, torch.ones(3), net, moving, style, stats, bf16=bf16)
        out.total.backward()
        terms.append(out.terms[:2])  # content, style (the contrastive term does not use the loss network)
        grads.append(torch.cat([q.grad.flatten() for q in params]))
    assert not torch.equal(terms[0], terms[1])  # autocast did run in bfloat16
    torch.testing.assert_close(terms[1], terms[0], rtol=0.01, atol=0)
    assert torch.nn.functional.cosine_similarity(grads[0], grads[1], dim=0) > 0.99
