"""Pools of content or style images, and the crops the environment draws from them."""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Union

import numpy as np
import torch
from PIL import Image

from styleenv.images import (
    IMAGE_EXTENSIONS,
    ImageLike,
    ImageLoadError,
    list_images,
    load_image,
    open_checked,
)
from styleenv.pixels import RESAMPLE, resize_random_crop, resize_shorter_center_crop, to_chw_uint8

#: Number of built-in procedural images used when no data is given.
PROCEDURAL_COUNT = 16

#: Side length of the built-in procedural images.
PROCEDURAL_SIZE = 512

KINDS = ("content", "style")

SourceLike = Union[None, str, Path, Image.Image, np.ndarray, torch.Tensor, Sequence[ImageLike]]


class _Procedural:
    """Placeholder for a procedural image not generated yet."""

    def __init__(self, seed: int):
        self.seed = seed


class ImageSource:
    """One pool of images (content or style).

    ``source`` may be:

    * ``None``: the built-in procedural set (:func:`styleenv.procedural.procedural_content` or
      :func:`~styleenv.procedural.procedural_style`, seeds ``0 .. procedural_count - 1``); a
      :class:`UserWarning` says so (Python shows it once per process by default);
    * a folder, searched recursively for :data:`~styleenv.images.IMAGE_EXTENSIONS`;
    * a single image file;
    * a single in-memory image (PIL image, numpy array, torch tensor);
    * a list mixing folders, file paths and in-memory images.

    Files are checked cheaply at construction (header, size limit and Pillow's ``verify``), so that
    a broken data set fails at once rather than mid-run; they are fully decoded when used, and an
    error then still names the file. With ``skip_bad_images=True`` bad files are skipped with a
    warning instead (also when a file only fails at decoding time); if none is left, it raises.

    Decoded images are not kept (a 4K photo is 25 MB); resized copies used for crops are kept in a
    small LRU cache bounded by ``cache_mb``.

    :param source: where the images come from (see above)
    :param kind: ``"content"`` or ``"style"`` (selects the procedural set; used in messages)
    :param skip_bad_images: skip unreadable files with a warning instead of raising
    :param max_pixels: refuse images larger than this (default
        :data:`~styleenv.images.DEFAULT_MAX_PIXELS`)
    :param cache_mb: memory budget of the cache of resized images, in megabytes (0 disables it)
    :param procedural_count: number of procedural images when ``source`` is ``None``
    :param procedural_size: side length of the procedural images
    """

    def __init__(
        self,
        source: SourceLike = None,
        kind: str = "content",
        skip_bad_images: bool = False,
        max_pixels: int | None = None,
        cache_mb: float = 64.0,
        procedural_count: int = PROCEDURAL_COUNT,
        procedural_size: int = PROCEDURAL_SIZE,
    ):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        self.kind = kind
        self.skip_bad_images = skip_bad_images
        self.max_pixels = max_pixels
        self.procedural_size = procedural_size
        self._cache: OrderedDict[tuple, Image.Image] = OrderedDict()
        self._cache_bytes = 0
        self._cache_limit = int(cache_mb * 1024 * 1024)
        # Each item is a Path (decoded on use), an RGB image kept in memory, or a procedural seed.
        self._items: list[Path | Image.Image | _Procedural] = []
        self._names: list[str] = []
        self.description = ""
        if source is None:
            self._init_procedural(procedural_count)
        elif isinstance(source, (str, Path)):
            self._init_path(Path(source))
        elif isinstance(source, (Image.Image, np.ndarray, torch.Tensor)):
            self._init_list([source], "the given image")
        elif isinstance(source, Sequence):
            self._init_list(list(source), "the given list")
        else:
            raise TypeError(f"cannot make an image source from {type(source).__name__}")

    # ------------------------------------------------------------------------------------------
    # Construction
    # ------------------------------------------------------------------------------------------

    def _init_procedural(self, count: int) -> None:
        from styleenv import procedural

        if count < 1:
            raise ValueError(f"procedural_count must be at least 1, got {count}")
        warnings.warn(
            f"no {self.kind} images were given: using the built-in procedural {self.kind} set "
            f"({count} generated images)",
            UserWarning,
            stacklevel=3,
        )
        # Generated on first use (about 50 ms each at 512 px).
        self._make = procedural.procedural_content if self.kind == "content" else procedural.procedural_style
        self._items = [_Procedural(seed) for seed in range(count)]
        self._names = [f"procedural-{self.kind}-{seed}" for seed in range(count)]
        self.description = f"built-in procedural {self.kind} set ({count} images)"

    def _init_path(self, path: Path) -> None:
        if path.is_dir():
            files = list_images(path)
            if not files:
                raise ValueError(f"no {self.kind} images found in folder {path} (looked for {', '.join(IMAGE_EXTENSIONS)})")
            self._add_files(files)
            self.description = f"{len(self._items)} {self.kind} images from {path}"
        elif path.is_file():
            self._add_files([path])
            self.description = f"{self.kind} image {path}"
        else:
            raise FileNotFoundError(f"{self.kind} image source does not exist: {path}")

    def _init_list(self, sources: list, what: str) -> None:
        if not sources:
            raise ValueError(f"no {self.kind} images: {what} is empty")
        for index, src in enumerate(sources):
            if isinstance(src, (str, Path)) and Path(src).is_dir():
                self._add_files(list_images(src), allow_empty=True)
            elif isinstance(src, (str, Path)):
                self._add_files([Path(src)], allow_empty=True)
            else:
                try:
                    img = load_image(src, max_pixels=self.max_pixels)
                except ImageLoadError as exc:
                    self._bad(exc, f"{self.kind} image #{index}")
                    continue
                self._items.append(img)
                self._names.append(f"{self.kind}-{index}")
        if not self._items:
            raise ValueError(f"none of the {len(sources)} {self.kind} images in {what} could be read")
        self.description = f"{len(self._items)} {self.kind} images"

    def _add_files(self, files: list[Path], allow_empty: bool = False) -> None:
        """Check each file's header and keep the good ones."""
        added = 0
        for path in files:
            try:
                open_checked(path, max_pixels=self.max_pixels, verify=True)
            except ImageLoadError as exc:
                self._bad(exc, str(path))
                continue
            self._items.append(path)
            self._names.append(path.name)
            added += 1
        if not added and not allow_empty:
            raise ValueError(f"none of the {len(files)} {self.kind} image files could be read")

    def _bad(self, exc: ImageLoadError, what: str) -> None:
        """Raise ``exc``, or warn and go on when skipping bad images."""
        if not self.skip_bad_images:
            raise exc
        warnings.warn(f"skipping {what}: {exc}", UserWarning, stacklevel=4)

    # ------------------------------------------------------------------------------------------
    # Access
    # ------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"ImageSource({self.description})"

    def name(self, index: int) -> str:
        """A short label for image ``index`` (file name, or e.g. ``procedural-style-3``)."""
        return self._names[index]

    def get(self, index: int) -> Image.Image:
        """Image ``index`` at full size, as RGB (files are decoded on every call).

        :param index: position in the pool
        :return: the image
        :raises ImageLoadError: if the file cannot be decoded (the message names it)
        """
        item = self._items[index]
        if isinstance(item, Image.Image):
            return item
        if isinstance(item, _Procedural):
            img = self._make(item.seed, self.procedural_size)
            self._items[index] = img
            return img
        return load_image(item, max_pixels=self.max_pixels)

    def sample_index(self, rng: np.random.Generator) -> int:
        """A uniformly random index into the pool."""
        return int(rng.integers(0, len(self._items)))

    def sample_named_crop(self, rng: np.random.Generator, load_size: int | None = 512, crop_size: int = 256) -> tuple[np.ndarray, str]:
        """A random image of the pool, resized to ``load_size`` square and randomly cropped (the
        paper's crop), and its name. The same generator state gives the same image and crop.

        :param rng: source of randomness (image choice, then crop position)
        :param load_size: side length to resize to before cropping (``None``: keep the size)
        :param crop_size: side length of the crop
        :return: ``(3, crop_size, crop_size)`` uint8 and the image's :meth:`name`
        """
        while True:
            index = self.sample_index(rng)
            try:
                img = self._resized(index, load_size, crop_size)
            except ImageLoadError as exc:
                self._drop(index, exc)
                continue
            return to_chw_uint8(resize_random_crop(img, load_size, crop_size, rng)), self._names[index]

    def pinned(self, src: ImageLike | int, size: int) -> np.ndarray:
        """An explicit image, shorter side resized to ``size`` and centre-cropped.

        :param src: an index into this pool, or a path / PIL image / array / tensor
        :param size: output side length
        :return: ``(3, size, size)`` uint8
        """
        if isinstance(src, (int, np.integer)):
            img = self.get(self._pool_index(src))
        else:
            img = load_image(src, max_pixels=self.max_pixels)
        return to_chw_uint8(resize_shorter_center_crop(img, size))

    def pinned_name(self, src: ImageLike | int) -> str:
        """The name of an explicit image: the pool's name of an index, a file's name, else ``"pinned"``."""
        if isinstance(src, (int, np.integer)):
            return self.name(self._pool_index(src))
        return Path(src).name if isinstance(src, (str, Path)) else "pinned"

    def _pool_index(self, src: int | np.integer) -> int:
        """``src`` checked as an index into this pool (0 to len - 1; a bool is not an index)."""
        if isinstance(src, bool) or not 0 <= src < len(self._items):
            raise ValueError(f"{self.kind} index {src!r} is not in this pool of {len(self._items)} images (0 to {len(self._items) - 1})")
        return int(src)

    # ------------------------------------------------------------------------------------------
    # Cache and bad files found late
    # ------------------------------------------------------------------------------------------

    def _resized(self, index: int, load_size: int | None, crop_size: int) -> Image.Image:
        """Image ``index`` resized for cropping, through the LRU cache."""
        side = None if load_size is None else max(int(load_size), crop_size)
        key = (index, side)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        img = self.get(index)
        if side is not None and img.size != (side, side):
            img = img.resize((side, side), RESAMPLE)
        self._remember(key, img)
        return img

    def _remember(self, key: tuple, img: Image.Image) -> None:
        nbytes = img.width * img.height * 3
        if nbytes > self._cache_limit:
            return
        self._cache[key] = img
        self._cache_bytes += nbytes
        while self._cache_bytes > self._cache_limit:
            _, old = self._cache.popitem(last=False)
            self._cache_bytes -= old.width * old.height * 3

    def _drop(self, index: int, exc: ImageLoadError) -> None:
        """Handle a file that passed the header check but failed to decode."""
        if not self.skip_bad_images:
            raise exc
        warnings.warn(f"skipping {self.kind} image: {exc}", UserWarning, stacklevel=3)
        del self._items[index]
        del self._names[index]
        self._cache.clear()
        self._cache_bytes = 0
        if not self._items:
            raise ImageLoadError(exc.source, f"{exc.problem}; no readable {self.kind} image is left")

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_cache"] = OrderedDict()
        state["_cache_bytes"] = 0
        return state

