"""The loss network: the normalised VGG-19 of AdaIN, up to relu5_1.

One instance per (weights file, device) is built and shared by every environment,
agent and metric in the process (:func:`loss_network`).
"""

from __future__ import annotations

import os
import threading

import torch
from torch import nn

from styleenv import weights

# 0-based index of the ReLU module that ends each tap in the published Sequential.
TAPS = {"relu1_1": 3, "relu2_1": 10, "relu3_1": 17, "relu4_1": 30, "relu5_1": 43}
STYLE_TAPS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
ALL_TAPS = STYLE_TAPS + ("relu5_1",)

# Channels of the 3x3 convolutions, "M" for a 2x2 max-pool (ceil mode).
_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512)


def _published_sequential() -> nn.Sequential:
    """The 53-module layout of ``vgg_normalised.pth`` (keys ``0.weight``, ``2.weight``, ...)."""
    layers: list[nn.Module] = [nn.Conv2d(3, 3, 1)]  # RGB in [0, 1] -> mean-subtracted BGR in [0, 255]
    channels = 3
    for item in _LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
        else:
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, item, 3), nn.ReLU()]
            channels = item
    return nn.Sequential(*layers)


class LossNetwork(nn.Module):
    """Frozen VGG-19 feature extractor with taps relu1_1 .. relu5_1.

    :param state_dict: weights of the published file (53-module layout)
    """

    def __init__(self, state_dict: dict[str, torch.Tensor]):
        super().__init__()
        full = _published_sequential()
        full.load_state_dict(state_dict)
        self.body = full[: TAPS["relu5_1"] + 1]  # the layers past relu5_1 are never used
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor, taps: tuple[str, ...] = STYLE_TAPS) -> list[torch.Tensor]:
        """Features of ``x`` at ``taps``, running only as deep as the deepest tap.

        :param x: RGB images in [0, 1], ``(N, 3, H, W)``
        :param taps: names from :data:`TAPS`, shallow to deep
        :return: one ``(N, C_k, H_k, W_k)`` map per tap
        """
        ends = {TAPS[t]: t for t in taps}
        last = max(ends)
        feats = []
        for index, layer in enumerate(self.body[: last + 1]):
            x = layer(x)
            if index in ends:
                feats.append(x)
        return feats

    def train(self, mode: bool = True) -> "LossNetwork":
        return super().train(False)  # always in evaluation mode


_SHARED: dict[tuple[str, str], LossNetwork] = {}
_LOCK = threading.Lock()


def loss_network(device: torch.device | str = "cpu", path: str | os.PathLike | None = None) -> LossNetwork:
    """The process-wide loss network on ``device`` (built on first use, then shared).

    :param device: torch device
    :param path: explicit weights file; otherwise resolved as :func:`styleenv.weights.resolve` says
    """
    file = weights.resolve(weights.VGG_NORMALISED, path)
    key = (str(file.resolve()), str(torch.device(device)))
    with _LOCK:
        if key not in _SHARED:
            state = torch.load(file, map_location="cpu", weights_only=True)
            _SHARED[key] = LossNetwork(state).to(device)
        return _SHARED[key]
