"""Reading images: the one place where pictures enter the project.

Files, PIL images of any mode, and arrays or tensors of any supported dtype and layout become
8-bit RGB :class:`PIL.Image.Image` (:func:`load_image`) or a float batch (:func:`as_batch`).
Whatever goes wrong while reading is reported as an :class:`ImageLoadError` that names the file
and the problem. Conversions between pixel forms, and resizing, are :mod:`styleenv.pixels`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Union

import numpy as np
import torch
from PIL import Image, ImageOps

from styleenv.pixels import array_to_uint8, pil_to_tensor

#: File extensions recognised as images (matched case-insensitively).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")

#: Largest image accepted, in pixels: twice Pillow's default warning limit (about 179 megapixels,
#: e.g. 16384 x 10922). Larger files are refused as decompression bombs. Pass ``max_pixels`` to
#: :func:`load_image` to use another limit; a limit above Pillow's own hard limit
#: (``2 * PIL.Image.MAX_IMAGE_PIXELS``) also needs ``PIL.Image.MAX_IMAGE_PIXELS`` raised.
DEFAULT_MAX_PIXELS = 2 * 89_478_485

#: Background colour used when flattening transparent images.
WHITE = (255, 255, 255)

ImageLike = Union[str, Path, Image.Image, np.ndarray, torch.Tensor]


class ImageLoadError(ValueError):
    """An image could not be read or converted.

    :param source: the file (or a short description of an in-memory object)
    :param problem: what went wrong
    """

    def __init__(self, source: str | Path, problem: str):
        self.source = str(source)
        self.problem = problem
        super().__init__(f"cannot load image {self.source}: {problem}")


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def load_image(src: ImageLike, max_pixels: int | None = None) -> Image.Image:
    """Load an image from a file or an in-memory object and return it as 8-bit RGB.

    Accepted inputs:

    * a path (``str`` or :class:`~pathlib.Path`) to any format Pillow reads; the file is fully
      decoded here, so truncated files fail now rather than later. EXIF orientation is applied.
    * a :class:`PIL.Image.Image` of any mode.
    * a numpy array ``(H, W)``, ``(H, W, 1|3|4)`` or ``(1|3|4, H, W)``, of dtype ``uint8``,
      ``uint16`` (scaled by 255/65535), ``bool`` or float in ``[0, 1]``.
    * a torch tensor ``(H, W)``, ``(C, H, W)`` or ``(1, C, H, W)`` with ``C`` in 1, 3, 4, of the
      same dtypes.

    Grey images are replicated to three channels, transparency is composited on white, palette,
    CMYK and 16-bit images are converted (16-bit values are scaled, not clipped: 65535 -> 255).

    :param src: the image or where to find it
    :param max_pixels: refuse images with more pixels than this (default :data:`DEFAULT_MAX_PIXELS`)
    :return: an RGB image
    :raises ImageLoadError: if the file is missing, unreadable, truncated, not an image, too large,
        or the object cannot be interpreted as an image
    """
    limit = DEFAULT_MAX_PIXELS if max_pixels is None else int(max_pixels)
    if isinstance(src, (str, Path)):
        return _load_file(Path(src), limit)
    if isinstance(src, Image.Image):
        _check_pixels(src.width, src.height, limit, "PIL image")
        return to_rgb(src, "PIL image")
    if isinstance(src, torch.Tensor):
        return _tensor_to_rgb(src, limit)
    if isinstance(src, np.ndarray):
        return _array_to_rgb(src, limit, channels_first=None, name="numpy array")
    raise TypeError(f"cannot load an image from {type(src).__name__}; expected a path, PIL image, array or tensor")


def as_batch(image: ImageLike) -> torch.Tensor:
    """An image-like (path, PIL image, array, tensor) as a float ``(N, 3, H, W)``.

    A float tensor ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)`` with ``C`` in 1, 3, 4 keeps its
    values, dtype precision and device: grey is replicated to three channels and RGBA is
    composited on white, as :func:`load_image` does. Its values are neither range-checked nor
    clamped, so that the stylizer's unclamped outputs can be fed back. Anything else goes
    through :func:`load_image` (values in ``[0, 1]``).

    :param image: the image
    :raises ImageLoadError: a float tensor of another shape, empty, or containing NaN or infinity
    """
    if not (isinstance(image, torch.Tensor) and image.is_floating_point()):
        return pil_to_tensor(load_image(image))
    shape = tuple(image.shape)
    batch = image.reshape((1,) * (4 - image.dim()) + shape) if 2 <= image.dim() <= 4 else image
    if batch.dim() != 4 or batch.shape[1] not in (1, 3, 4):
        raise ImageLoadError("torch tensor", f"expected (H, W), (C, H, W) or (N, C, H, W) with C in 1, 3, 4, got shape {shape}")
    if batch.numel() == 0:
        raise ImageLoadError("torch tensor", f"empty image of shape {shape}")
    if not torch.isfinite(batch).all():
        raise ImageLoadError("torch tensor", "contains NaN or infinity")
    batch = batch.float()
    if batch.shape[1] == 1:
        return batch.repeat(1, 3, 1, 1)
    if batch.shape[1] == 4:
        alpha = batch[:, 3:]
        return batch[:, :3] * alpha + (1.0 - alpha)
    return batch


def _check_pixels(width: int, height: int, limit: int, name: str | Path) -> None:
    """Raise if ``width * height`` exceeds ``limit``."""
    if width * height > limit:
        raise ImageLoadError(
            name,
            f"{width}x{height} = {width * height} pixels exceeds the limit of {limit} pixels "
            "(possible decompression bomb)",
        )


def open_checked(path: str | Path, max_pixels: int | None = None, verify: bool = False) -> tuple[int, int]:
    """Cheaply check that a file looks like a readable image, without decoding all of its pixels.

    Opens the header, checks the size limit, and with ``verify=True`` also runs Pillow's
    :meth:`~PIL.Image.Image.verify` (checksums for PNG; little for JPEG, so a truncated JPEG
    may still only fail in :func:`load_image`).

    :param path: the file
    :param max_pixels: the pixel limit (default :data:`DEFAULT_MAX_PIXELS`)
    :param verify: also verify the file's structure
    :return: ``(width, height)``
    :raises ImageLoadError: if the file is missing, not an image, or too large
    """
    path = Path(path)
    limit = DEFAULT_MAX_PIXELS if max_pixels is None else int(max_pixels)
    if not path.is_file():
        raise ImageLoadError(path, "no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                size = img.size
                _check_pixels(size[0], size[1], limit, path)
                if verify:
                    img.verify()
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(path, f"too large (possible decompression bomb): {exc}") from exc
    except Exception as exc:  # Pillow raises many types for broken files
        raise ImageLoadError(path, _describe(exc)) from exc
    return size


def _describe(exc: BaseException) -> str:
    """Short human-readable description of a decoding error."""
    text = str(exc) or type(exc).__name__
    if "truncated" in text.lower() or isinstance(exc, (EOFError, SyntaxError)):
        return f"truncated or corrupt file ({text})"
    if "cannot identify image file" in text:
        return "not an image file (or an unsupported format)"
    return text


def _load_file(path: Path, limit: int) -> Image.Image:
    """Fully decode an image file and convert it to RGB."""
    if not path.exists():
        raise ImageLoadError(path, "no such file")
    if path.is_dir():
        raise ImageLoadError(path, "is a directory, not an image file")
    try:
        with warnings.catch_warnings():
            # Our own limit (checked below) replaces Pillow's warning threshold.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                _check_pixels(img.width, img.height, limit, path)
                img.load()  # decode now: truncated files raise here, not later
                img = ImageOps.exif_transpose(img)
                return to_rgb(img, path)
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(path, f"too large (possible decompression bomb): {exc}") from exc
    except MemoryError as exc:
        raise ImageLoadError(path, "not enough memory to decode it") from exc
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, EOFError, ...
        raise ImageLoadError(path, _describe(exc)) from exc


# --------------------------------------------------------------------------------------------------
# Mode conversion
# --------------------------------------------------------------------------------------------------

_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")


def to_rgb(img: Image.Image, name: str | Path = "PIL image") -> Image.Image:
    """Convert a PIL image of any mode to 8-bit RGB.

    :param img: the image
    :param name: used in error messages
    :return: an RGB image (``img`` itself if it already is RGB)
    :raises ImageLoadError: for modes that cannot be converted
    """
    mode = img.mode
    if mode == "RGB":
        return img
    try:
        if mode in _SIXTEEN_BIT_MODES:
            return _grey_array_to_rgb(_scale_uint16(np.asarray(img, dtype=np.uint16)))
        if mode == "I":
            return _grey_array_to_rgb(_int32_to_uint8(np.asarray(img, dtype=np.int64)))
        if mode == "F":
            return _grey_array_to_rgb(_float_grey_to_uint8(np.asarray(img, dtype=np.float64), name))
        if mode == "P":
            has_alpha = "transparency" in img.info or img.palette is not None and img.palette.mode == "RGBA"
            return _flatten(img.convert("RGBA")) if has_alpha else img.convert("RGB")
        if mode == "La":  # premultiplied alpha: Pillow converts it only to LA
            return _flatten(img.convert("LA").convert("RGBA"))
        if mode in ("RGBA", "LA", "PA", "RGBa") or mode in ("L", "1") and "transparency" in img.info:
            return _flatten(img.convert("RGBA"))
        return img.convert("RGB")
    except ImageLoadError:
        raise
    except (ValueError, OSError) as exc:
        raise ImageLoadError(name, f"cannot convert image mode {mode!r} to RGB ({exc})") from exc


def _flatten(rgba: Image.Image, background: tuple[int, int, int] = WHITE) -> Image.Image:
    """Composite an RGBA image on a solid background."""
    base = Image.new("RGB", rgba.size, background)
    base.paste(rgba, mask=rgba.getchannel("A"))
    return base


def _scale_uint16(arr: np.ndarray) -> np.ndarray:
    """Map 16-bit values to 8 bits with rounding (0 -> 0, 32768 -> 128, 65535 -> 255)."""
    wide = arr.astype(np.uint32)
    return ((wide * 255 + 32767) // 65535).astype(np.uint8)


def _int32_to_uint8(arr: np.ndarray) -> np.ndarray:
    """Pillow's 32-bit integer mode: 8-bit data if it fits, else 16-bit data, else rescale by the maximum."""
    arr = np.clip(arr, 0, None)
    peak = int(arr.max()) if arr.size else 0
    if peak <= 255:
        return arr.astype(np.uint8)
    if peak <= 65535:
        return _scale_uint16(arr)
    return np.round(arr / peak * 255.0).astype(np.uint8)


def _float_grey_to_uint8(arr: np.ndarray, name: str | Path) -> np.ndarray:
    """Pillow's float mode: ``[0, 1]`` data if it fits, else ``[0, 255]``."""
    if not np.all(np.isfinite(arr)):
        raise ImageLoadError(name, "float image contains NaN or infinity")
    if arr.size == 0 or arr.max() <= 1.0:
        return array_to_uint8(arr)
    return np.round(np.clip(arr, 0, 255)).astype(np.uint8)


def _grey_array_to_rgb(arr: np.ndarray) -> Image.Image:
    """``(H, W)`` uint8 -> RGB image."""
    return Image.fromarray(np.ascontiguousarray(arr)).convert("RGB")


# --------------------------------------------------------------------------------------------------
# Arrays and tensors
# --------------------------------------------------------------------------------------------------

_FLOAT_TOLERANCE = 1e-3


def _array_to_uint8(arr: np.ndarray, name: str) -> np.ndarray:
    """Scale an array of any supported dtype to uint8."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if arr.dtype == np.uint16:
        return _scale_uint16(arr)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise ImageLoadError(name, "contains NaN or infinity")
        lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
        if lo < -_FLOAT_TOLERANCE or hi > 1.0 + _FLOAT_TOLERANCE:
            raise ImageLoadError(name, f"float values must lie in [0, 1], got [{lo:.4g}, {hi:.4g}]")
        return array_to_uint8(arr)
    raise ImageLoadError(name, f"unsupported dtype {arr.dtype} (use uint8, uint16, bool or float in [0, 1])")


def _array_to_rgb(arr: np.ndarray, limit: int, channels_first: bool | None, name: str) -> Image.Image:
    """Interpret an array as an image.

    :param channels_first: ``True`` for ``(C, H, W)``, ``False`` for ``(H, W, C)``, ``None`` to guess
        (channels-first when the first axis has 1, 3 or 4 entries and the last does not)
    """
    shape = tuple(arr.shape)  # as given, for the error messages
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 2:
        arr = arr[:, :, None]
    elif arr.ndim == 3:
        if channels_first is None:
            channels_first = arr.shape[0] in (1, 3, 4) and arr.shape[2] not in (1, 3, 4)
        if channels_first:
            arr = np.moveaxis(arr, 0, 2)
    else:
        raise ImageLoadError(name, f"expected (H, W), (H, W, C) or (C, H, W), got shape {shape}")
    height, width, channels = arr.shape
    if channels not in (1, 3, 4):
        layout = "(C, H, W)" if channels_first else "(H, W, C) or (C, H, W)"
        raise ImageLoadError(name, f"expected {layout} with C in 1, 3, 4, got shape {shape}")
    if height == 0 or width == 0:
        raise ImageLoadError(name, f"empty image of shape {shape}")
    _check_pixels(width, height, limit, name)
    data = np.ascontiguousarray(_array_to_uint8(arr, name))
    if channels == 1:
        return _grey_array_to_rgb(data[:, :, 0])
    if channels == 4:
        return _flatten(Image.fromarray(data))
    return Image.fromarray(data)


def _tensor_to_rgb(t: torch.Tensor, limit: int) -> Image.Image:
    """Interpret a ``(H, W)``, ``(C, H, W)`` or ``(1, C, H, W)`` tensor as an image."""
    if t.dim() == 4 and t.shape[0] != 1:
        raise ImageLoadError("torch tensor", f"expected a single image, got a batch of shape {tuple(t.shape)}")
    if not 2 <= t.dim() <= 4:
        raise ImageLoadError("torch tensor", f"expected (H, W), (C, H, W) or (1, C, H, W), got shape {tuple(t.shape)}")
    if t.is_floating_point():
        t = t.float()
    elif t.dtype not in (torch.uint8, torch.uint16, torch.bool):
        raise ImageLoadError("torch tensor", f"unsupported dtype {t.dtype} (use uint8, uint16, bool or float in [0, 1])")
    return _array_to_rgb(t.detach().cpu().numpy(), limit, channels_first=True, name="torch tensor")


# --------------------------------------------------------------------------------------------------
# Folders
# --------------------------------------------------------------------------------------------------


def is_image_path(path: str | Path) -> bool:
    """Whether the file name has one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def list_images(folder: str | Path) -> list[Path]:
    """All image files under ``folder``, recursively, sorted by relative path.

    Extensions are matched case-insensitively; hidden files and folders (name starting with
    ``.``, such as ``._photo.jpg`` left by macOS) are skipped.

    :param folder: the folder to search
    :return: the image paths
    :raises NotADirectoryError: if ``folder`` is not a directory
    """
    root = Path(folder)
    if not root.is_dir():
        raise NotADirectoryError(f"not a directory: {root}")
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if is_image_path(path) and path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


