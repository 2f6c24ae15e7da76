"""Pixels in their forms, and the one rule between them; padding, resizing and cropping.

An image is ``uint8`` RGB, channel-first ``(3, H, W)`` (the env's observations, the replay
buffer), float in ``[0, 1]`` (what the networks read and write, ``(N, 3, H, W)`` tensors) or an
8-bit RGB :class:`PIL.Image.Image` (files, pictures). Every conversion between them is here:

- uint8 -> float divides by 255 (:func:`chw_uint8_to_tensor`);
- float -> uint8 clamps to ``[0, 1]``, multiplies by 255 and rounds to the nearest integer,
  halves to even (:func:`to_uint8` for tensors, :func:`array_to_uint8` for numpy arrays: the
  same rule, so the env's observations and rewards are what they always were).

Reading files and interpreting arrays of other dtypes or layouts is :mod:`styleenv.images`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

RESAMPLE = Image.Resampling.BICUBIC


# --------------------------------------------------------------------------------------------------
# uint8 <-> float
# --------------------------------------------------------------------------------------------------


def chw_uint8_to_tensor(pixels: np.ndarray | torch.Tensor, device: str | torch.device | None = None) -> torch.Tensor:
    """uint8 pixels -> float32 tensor in ``[0, 1]`` of the same shape (``(3, H, W)``, ``(N, 3, H, W)``, ...).

    :param pixels: a uint8 numpy array or tensor
    :param device: where the result goes (default: where a tensor is, the CPU for an array)
    :return: the float tensor
    :raises TypeError: pixels of another dtype
    """
    # a read-only array (np.asarray of a PIL image) is copied first: torch tensors must be writable
    t = torch.from_numpy(np.require(pixels, requirements="W")) if isinstance(pixels, np.ndarray) else pixels
    if t.dtype != torch.uint8:
        raise TypeError(f"expected uint8 pixels, got {t.dtype}")
    return t.to(device=device, dtype=torch.float32).div_(255.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float images -> uint8 on the CPU, same shape: clamped to ``[0, 1]``, times 255, rounded (halves to even).

    :param images: a float tensor on any device (gradients ignored)
    """
    return images.detach().clamp(0.0, 1.0).mul(255.0).round().to("cpu", torch.uint8)


def array_to_uint8(images: np.ndarray) -> np.ndarray:
    """:func:`to_uint8` for a float numpy array (the same rule): clamped, times 255, rounded (halves to even).

    :param images: float values, any shape
    """
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)


def canvas_to_uint8(canvas: np.ndarray) -> np.ndarray:
    """A drawing canvas of float values in ``[0, 255]`` -> uint8, rounding halves up.

    Only the built-in procedural pictures (:mod:`styleenv.procedural`) are drawn on such a
    canvas. Their halves are rounded up, unlike :func:`array_to_uint8`: the pictures, and with
    them the env's default images and rewards, stay as they were made.

    :param canvas: float ``(H, W, 3)`` in ``[0, 255]`` (clipped)
    """
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------------
# Layouts and PIL images
# --------------------------------------------------------------------------------------------------


def to_hwc(pixels: np.ndarray) -> np.ndarray:
    """``(3, H, W)`` -> a contiguous ``(H, W, 3)`` array (what PIL and the SSIM read)."""
    return np.ascontiguousarray(pixels.transpose(1, 2, 0))


def to_pil(pixels: np.ndarray | torch.Tensor) -> Image.Image:
    """``(3, H, W)`` uint8 pixels (a numpy array or a CPU tensor) -> an RGB image."""
    array = pixels.numpy() if isinstance(pixels, torch.Tensor) else pixels
    return Image.fromarray(to_hwc(array))


def to_chw_uint8(img: Image.Image) -> np.ndarray:
    """RGB image -> contiguous ``(3, H, W)`` uint8 array.

    :param img: an RGB image (:func:`styleenv.images.load_image` or :func:`styleenv.images.to_rgb`
        make one of any image)
    :raises ValueError: an image of another mode
    """
    if img.mode != "RGB":
        raise ValueError(f"expected an RGB image, got mode {img.mode!r} (styleenv.images.to_rgb converts it)")
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8).transpose(2, 0, 1))


def tensor_to_pil(t: torch.Tensor) -> Image.Image:
    """Float tensor ``(3, H, W)`` or ``(1, 3, H, W)`` in ``[0, 1]`` -> RGB image (:func:`to_uint8`'s rule).

    :param t: the tensor (any device, gradients ignored)
    """
    if t.dim() == 4:
        if t.shape[0] != 1:
            raise ValueError(f"expected a single image, got a batch of shape {tuple(t.shape)}")
        t = t[0]
    if t.dim() != 3 or t.shape[0] != 3:
        raise ValueError(f"expected (3, H, W) or (1, 3, H, W), got shape {tuple(t.shape)}")
    return to_pil(to_uint8(t))


def pil_to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB image -> float tensor ``(1, 3, H, W)`` in ``[0, 1]``."""
    return chw_uint8_to_tensor(to_chw_uint8(img)).unsqueeze(0)


# --------------------------------------------------------------------------------------------------
# Sizes
# --------------------------------------------------------------------------------------------------


def pad_to_multiple(x: torch.Tensor, multiple: int = 4, min_side: int = 1) -> torch.Tensor:
    """Pad ``(N, C, H, W)`` at the bottom and right to multiples of ``multiple`` (4: the RLMiniStyler networks').

    Reflection padding where the image is large enough for it, replication otherwise.

    :param x: the batch
    :param multiple: each padded side is a multiple of this
    :param min_side: and at least this (networks whose first layer pads by more than a tiny
        image's side need it)
    """
    h, w = x.shape[-2:]
    ph, pw = max(min_side - h, -h % multiple), max(min_side - w, -w % multiple)
    ph, pw = ph + -(h + ph) % multiple, pw + -(w + pw) % multiple
    if ph == 0 and pw == 0:
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def resize_shorter_center_crop(img: Image.Image, size: int) -> Image.Image:
    """Scale the shorter side to ``size`` (keeping the aspect ratio), then crop the centre square.

    An image that already is ``size x size`` is returned unchanged.

    :param img: the image
    :param size: output side length
    :return: a ``size x size`` image
    """
    _check_size(size, "size")
    width, height = img.size
    if (width, height) == (size, size):
        return img
    scale = size / min(width, height)
    new_w = max(size, round(width * scale))
    new_h = max(size, round(height * scale))
    if (new_w, new_h) != (width, height):
        img = img.resize((new_w, new_h), RESAMPLE)
    left = (new_w - size) // 2
    top = (new_h - size) // 2
    return img.crop((left, top, left + size, top + size))


def resize_random_crop(
    img: Image.Image, load_size: int | None, crop_size: int, rng: np.random.Generator
) -> Image.Image:
    """The training crop: resize to ``load_size x load_size`` (aspect not kept), then a random crop.

    With ``load_size=None`` the image keeps its size, except that one smaller than the crop is
    scaled up (shorter side to ``crop_size``). A ``load_size`` below ``crop_size`` is raised to it.

    :param img: the image
    :param load_size: side length to resize to first (the paper uses 512), or ``None``
    :param crop_size: side length of the crop (the paper uses 256)
    :param rng: source of the crop position
    :return: a ``crop_size x crop_size`` image
    """
    _check_size(crop_size, "crop_size")
    if load_size is not None:
        side = max(int(load_size), crop_size)
        if img.size != (side, side):
            img = img.resize((side, side), RESAMPLE)
    elif min(img.size) < crop_size:
        scale = crop_size / min(img.size)
        img = img.resize((max(crop_size, round(img.width * scale)), max(crop_size, round(img.height * scale))), RESAMPLE)
    left = int(rng.integers(0, img.width - crop_size + 1))
    top = int(rng.integers(0, img.height - crop_size + 1))
    return img.crop((left, top, left + crop_size, top + crop_size))


def fit_max_side(img: Image.Image, max_side: int | None) -> Image.Image:
    """Downscale so that the longer side is at most ``max_side`` (aspect kept; never upscales).

    :param img: the image
    :param max_side: the limit, or ``None`` for no limit
    :return: the image, resized if it was too large
    """
    if max_side is None or max(img.size) <= max_side:
        return img
    _check_size(max_side, "max_side")
    scale = max_side / max(img.size)
    new_size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(new_size, Image.Resampling.LANCZOS)


def _check_size(value: int, name: str) -> None:
    if int(value) < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
