"""Masks: stylise only part of a picture, or each part with its own style.

A mask is a grey picture of the content's size: white stylises, black keeps the photo, grey
mixes (soft edges; ``feather`` blurs hard ones). Several masks give several regions, one style
each; where masks overlap they share the pixel in proportion, and where none covers it the
photo shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from PIL import ImageFilter

from styleenv.images import ImageLike, load_image
from styleenv.pixels import RESAMPLE, chw_uint8_to_tensor

#: Relative difference of aspect ratios up to which a mask of another size is resized to fit.
ASPECT_TOLERANCE = 0.02


class MaskError(ValueError):
    """A mask that cannot be used with the content (unreadable, or of another shape)."""


def load_mask(src: ImageLike, size: tuple[int, int], feather: float = 0.0, name: str = "mask") -> torch.Tensor:
    """A mask as a float tensor ``1 x 1 x H x W`` in [0, 1] for a content of ``size``.

    A mask of another size but the same aspect ratio (within :data:`ASPECT_TOLERANCE`) is resized.

    :param src: a path or image-like; colour images are converted to grey (luma)
    :param size: the content's ``(width, height)``
    :param feather: radius in pixels of a Gaussian blur that softens the edges (0: none)
    :param name: what to call the mask in errors (e.g. its path)
    :raises MaskError: unreadable, another aspect ratio, or a ``feather`` that is negative or not finite
    """
    if not 0 <= feather < math.inf:  # NaN and infinity too (Pillow's blur crashes on them)
        raise MaskError(f"feather must be a finite number of at least 0, got {feather}")
    try:
        grey = load_image(src).convert("L")
    except ValueError as err:
        raise MaskError(str(err)) from None
    if grey.size != size:
        ratio = (grey.width / grey.height) / (size[0] / size[1])
        if abs(ratio - 1.0) > ASPECT_TOLERANCE:
            raise MaskError(
                f"{name} is {grey.width}x{grey.height} but the content is {size[0]}x{size[1]} "
                "(another shape; a mask must have the content's aspect ratio)"
            )
        grey = grey.resize(size, RESAMPLE)
    if feather > 0:
        grey = grey.filter(ImageFilter.GaussianBlur(feather))
    pixels = torch.frombuffer(bytearray(grey.tobytes()), dtype=torch.uint8).view(1, 1, size[1], size[0])
    return chw_uint8_to_tensor(pixels)


def composite(layers: Sequence[torch.Tensor], masks: Sequence[torch.Tensor], base: torch.Tensor) -> torch.Tensor:
    """Lay each image over ``base`` through its mask.

    Where masks overlap (their sum above 1) they are scaled to sum to 1.

    :param layers: images ``N x 3 x H x W``, one per mask
    :param masks: ``1 x 1 x H x W`` in [0, 1]
    :param base: what shows where no mask covers, ``N x 3 x H x W`` or ``1 x 3 x H x W``
    :return: ``N x 3 x H x W``
    """
    if len(layers) != len(masks):
        raise ValueError(f"got {len(layers)} images for {len(masks)} masks")
    total = torch.stack(list(masks)).sum(dim=0)  # 1 x 1 x H x W
    scale = 1.0 / total.clamp_min(1.0)
    out = base * (1.0 - total * scale)
    for layer, mask in zip(layers, masks):
        out = out + layer * (mask * scale)
    return out

