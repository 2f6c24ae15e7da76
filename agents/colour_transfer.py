"""A weight-free sequence agent: colour statistics move towards the style's, step by step."""

from __future__ import annotations

import numpy as np
import torch

from styleenv.ops import adain
from styleenv.pixels import chw_uint8_to_tensor


class ColourTransferAgent:
    """Step k of N returns the content with its per-channel colour mean and std moved a
    fraction k/N of the way to the style's (AdaIN in pixel space). No weights, no training:
    a baseline of the evaluation (``styleenv evaluate --agents colour``).

    :param steps: number of steps over which the full transfer is reached
    """

    parameters = 0
    storage_bytes = 0

    def __init__(self, steps: int = 10):
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        self.steps = steps
        self._target: torch.Tensor | None = None
        self._content: torch.Tensor | None = None
        self._step = 0

    def reset(self, observation: dict[str, np.ndarray]) -> None:
        """Start an episode: remember the content (the first moving image) and the style."""
        content = chw_uint8_to_tensor(observation["moving"])[None]  # (1, 3, H, W)
        style = chw_uint8_to_tensor(observation["style"])[None]
        self._content = content
        self._target = adain(content, style)  # full transfer of the colour statistics
        self._step = 0

    def act(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        """The next moving image, ``(3, H, W)`` float32 in [0, 1]."""
        if self._target is None:
            self.reset(observation)
        self._step = min(self._step + 1, self.steps)
        alpha = self._step / self.steps
        out = alpha * self._target + (1 - alpha) * self._content
        return out[0].clamp(0, 1).numpy().astype(np.float32)
