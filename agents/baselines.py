"""Reference agents for the evaluation: identity, copying the style, random images, and AdaIN
as a sequence.

All follow :mod:`agents.protocol`: ``act(observation) -> (3, H, W) float32 in [0, 1]``, and
those that keep state over an episode ``reset(observation)`` at its start.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from agents.adain_decoder import load_adain_decoder
from agents.protocol import Observation, count_parameters, storage_bytes
from styleenv.ops import adain
from styleenv.pixels import chw_uint8_to_tensor, pad_to_multiple
from styleenv.vgg import TAPS, loss_network

_MULTIPLE = 8  # the encoder halves the size three times up to relu4_1


class IdentityAgent:
    """Returns the moving image unchanged: content loss 0 and SSIM 1 at every step (a floor)."""

    parameters = 0
    storage_bytes = 0

    def act(self, observation: Observation) -> np.ndarray:
        return chw_uint8_to_tensor(observation["moving"]).numpy()


class CopyStyleAgent:
    """Hands back the style image: style loss 0 at every step, the photo lost (what the v0
    reward, the style loss alone, rewards most)."""

    parameters = 0
    storage_bytes = 0

    def act(self, observation: Observation) -> np.ndarray:
        return chw_uint8_to_tensor(observation["style"]).numpy()


class RandomImageAgent:
    """Uniform noise images, a new one every step (a floor: what no learning gives).

    :param seed: seed of the noise (the sequence starts again at every ``reset``)
    """

    parameters = 0
    storage_bytes = 0

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def reset(self, observation: Observation) -> None:
        self._rng = np.random.default_rng(self.seed)

    def act(self, observation: Observation) -> np.ndarray:
        return self._rng.random(observation["moving"].shape, dtype=np.float32)


class AdaINAgent:
    """AdaIN (Huang & Belongie 2017) as a sequence: step k of N decodes
    ``alpha * adain(f_c, f_s) + (1 - alpha) * f_c`` with ``alpha = k / N``.

    ``f_c`` and ``f_s`` are the relu4_1 features of the episode's original content (the first
    moving image, seen at ``reset``) and of the style, from the shared loss network (the
    normalised VGG-19; not loaded a second time). Inputs are padded by reflection at the
    bottom and right to a multiple of 8 and the output is cropped back and clamped.

    :param steps: episode length N (step N is the full transfer)
    :param device: torch device
    :param decoder_path: explicit ``decoder.pth`` (default: resolved via ``ADAIN_DECODER``)
    :param vgg_weights: explicit ``vgg_normalised.pth`` (default: resolved as the env does)
    """

    def __init__(
        self,
        steps: int = 10,
        device: str | torch.device = "cpu",
        decoder_path: str | os.PathLike | None = None,
        vgg_weights: str | os.PathLike | None = None,
    ) -> None:
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        self.steps = steps
        self.device = torch.device(device)
        self.net = loss_network(self.device, vgg_weights)
        self.decoder = load_adain_decoder(self.device, decoder_path)
        encoder = self.net.body[: TAPS["relu4_1"] + 1]
        self.parameters = count_parameters([encoder, self.decoder])
        self.storage_bytes = storage_bytes([encoder, self.decoder])
        self._content_feat: torch.Tensor | None = None
        self._target: torch.Tensor | None = None
        self._size = (0, 0)
        self._step = 0

    def _encode(self, image: np.ndarray) -> torch.Tensor:
        x = chw_uint8_to_tensor(image, self.device)[None]  # (1, 3, H, W)
        x = pad_to_multiple(x, _MULTIPLE)  # (1, 3, H', W'), multiples of 8
        return self.net(x, ("relu4_1",))[0]  # (1, 512, H/8, W/8)

    @torch.no_grad()
    def reset(self, observation: Observation) -> None:
        self._size = observation["moving"].shape[-2:]
        self._content_feat = self._encode(observation["moving"])
        self._target = adain(self._content_feat, self._encode(observation["style"]))
        self._step = 0

    @torch.no_grad()
    def act(self, observation: Observation) -> np.ndarray:
        if self._target is None:
            self.reset(observation)
        self._step = min(self._step + 1, self.steps)
        alpha = self._step / self.steps
        feat = alpha * self._target + (1.0 - alpha) * self._content_feat
        h, w = self._size
        out = self.decoder(feat)[0, :, :h, :w]  # (3, H, W), unclamped
        return out.clamp(0.0, 1.0).cpu().numpy().astype(np.float32)
