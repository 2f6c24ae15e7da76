"""Videos: every frame stylised with one style code, with optional flicker reduction.

Frames are read and written through imageio's ffmpeg plugin (the ``video`` extra:
``pip install 'styleenv[video]'``). The style (or blend, or regions) is encoded once from the
first frame; each frame then runs its own sequence of steps. For each kept step, a folder
``step-KK/`` receives ``frame-000001.png`` ... and ``step-KK.mp4`` the video; all is written
under a temporary name and renamed when complete.

Flicker: a stylised frame changes more than its content frame does (small changes of the photo
move the style's strokes). :class:`TemporalSmoother` keeps, where the content is still, a share
of the previous output frame; :class:`FrameChange` measures the mean absolute change between
consecutive frames, in 8-bit units.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from styleenv.pixels import fit_max_side, pil_to_tensor, to_pil, to_uint8
from styleenv.visual import save_png

VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")
INSTALL_HINT = "pip install 'styleenv[video]' (imageio and imageio-ffmpeg)"


class VideoError(ValueError):
    """A video that cannot be read or written, or the video extra is not installed."""


def _imageio() -> Any:
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg  # noqa: F401  (the plugin's ffmpeg binary)
    except ImportError:
        raise VideoError(f"reading and writing video needs the video extra: {INSTALL_HINT}") from None
    return imageio


def read_frames(path: str | os.PathLike, max_size: int | None = None) -> tuple[Iterator[Image.Image], float]:
    """The frames of a video as RGB images, and its frame rate.

    :param path: the video file
    :param max_size: downscale frames so that the longer side is at most this (None: no limit)
    :raises VideoError: a missing or unreadable file, or the extra missing
    """
    imageio = _imageio()
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"video {path}: " + ("a folder, not a video file" if path.is_dir() else "no such file"))
    try:
        reader = imageio.get_reader(path, format="FFMPEG")
        fps = float(reader.get_meta_data().get("fps") or 25.0)
    except Exception as err:  # imageio raises OSError, RuntimeError, IndexError ... for bad files
        raise VideoError(f"cannot read video {path}: {str(err).strip().splitlines()[0] if str(err) else type(err).__name__}") from None

    def frames() -> Iterator[Image.Image]:
        try:
            for array in reader:
                yield fit_max_side(Image.fromarray(np.asarray(array)[..., :3]), max_size)
        except (OSError, RuntimeError) as err:
            raise VideoError(f"cannot read video {path}: {str(err).strip().splitlines()[0]}") from None
        finally:
            reader.close()

    return frames(), fps


class FrameChange:
    """The mean absolute change between consecutive frames, in 8-bit units (a flicker measure)."""

    def __init__(self) -> None:
        self.previous: torch.Tensor | None = None
        self.total = 0.0
        self.count = 0

    def add(self, frame: torch.Tensor) -> None:
        """:param frame: ``1 x 3 x H x W`` in [0, 1] (or uint8)"""
        frame = frame.float() / 255.0 if frame.dtype == torch.uint8 else frame
        if self.previous is not None:
            self.total += float((frame - self.previous).abs().mean()) * 255.0
            self.count += 1
        self.previous = frame

    @property
    def mean(self) -> float:
        """The mean so far (0 for fewer than two frames)."""
        return self.total / self.count if self.count else 0.0


class TemporalSmoother:
    """Reduce flicker: where the content is still, keep a share of the previous output frame.

    ``out_t = y_t + s * still_t * (out_{t-1} - y_t)`` with ``still_t = exp(-(d_t / sigma)^2)``,
    ``d_t`` the per-pixel mean absolute change of the content frame (0 to 1). Moving parts
    (large ``d_t``) take the new stylised frame; still parts settle.

    :param strength: ``s`` in [0, 1): 0 is off
    :param sigma: content change (0 to 1) at which a pixel counts as moving
    """

    def __init__(self, strength: float, sigma: float = 0.04) -> None:
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"strength must lie in [0, 1), got {strength}")
        self.strength = strength
        self.sigma = sigma
        self.content: torch.Tensor | None = None

    def stillness(self, content: torch.Tensor) -> torch.Tensor | None:
        """The weights ``s * still_t`` (``1 x 1 x H x W``) for the next frame; None for the first frame."""
        previous, self.content = self.content, content
        if previous is None or self.strength == 0.0:
            return None
        change = (content - previous).abs().mean(dim=1, keepdim=True)  # 1 x 1 x H x W
        return self.strength * torch.exp(-(change / self.sigma).square())

    @staticmethod
    def apply(output: torch.Tensor, previous: torch.Tensor | None, weight: torch.Tensor | None) -> torch.Tensor:
        """The smoothed output from the new one, the previous smoothed one and :meth:`stillness`."""
        if previous is None or weight is None:
            return output
        return output + weight * (previous - output)


class VideoFolder:
    """The output of one video: ``step-KK/frame-NNNNNN.png`` and ``step-KK.mp4`` per kept step.

    Written into a temporary folder beside ``target`` and renamed onto it by :meth:`finish`; an
    error removes the temporary folder.

    :param target: the folder to create (replaced if it exists)
    :param keep: the steps written
    :param fps: frame rate of the videos
    """

    def __init__(self, target: str | os.PathLike, keep: Sequence[int], fps: float) -> None:
        imageio = _imageio()
        self.target = Path(target)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.", suffix=".tmp", dir=self.target.parent))
        self.frames = 0
        self.writers = {}
        for k in keep:
            (self.staging / f"step-{k:02d}").mkdir()
            self.writers[k] = imageio.get_writer(
                self.staging / f"step-{k:02d}.mp4", format="FFMPEG", fps=fps, codec="libx264", quality=8,
                macro_block_size=2, ffmpeg_log_level="error",
            )

    def __enter__(self) -> VideoFolder:
        return self

    def __exit__(self, kind, *_) -> None:
        if kind is not None:
            for writer in self.writers.values():
                writer.close()
            shutil.rmtree(self.staging, ignore_errors=True)

    def add(self, step: int, frame: torch.Tensor) -> None:
        """Append a frame (``1 x 3 x H x W`` float) of step ``step`` to its folder and video."""
        pixels = to_uint8(frame)[0]  # 3 x H x W
        save_png(to_pil(pixels), self.staging / f"step-{step:02d}" / f"frame-{self.frames + 1:06d}.png")
        self.writers[step].append_data(pixels.permute(1, 2, 0).numpy())

    def next_frame(self) -> None:
        """Mark the end of one input frame (every step of it added)."""
        self.frames += 1

    def finish(self) -> dict:
        """Close the videos, move the folder into place; returns the files written."""
        for writer in self.writers.values():
            writer.close()
        if self.target.exists():
            shutil.rmtree(self.target)
        os.replace(self.staging, self.target)
        return {"folder": str(self.target), "frames": self.frames,
                "videos": {k: str(self.target / f"step-{k:02d}.mp4") for k in self.writers},
                "frame_folders": {k: str(self.target / f"step-{k:02d}") for k in self.writers}}


def stylize_video(
    runner: Any,
    recipe: Any,
    frames: Iterator[Image.Image],
    folder: VideoFolder,
    steps: int,
    temporal: float = 0.0,
    alpha: float = 1.0,
) -> dict:
    """Stylise every frame with a recipe whose style is encoded once (from the first frame).

    :param runner: the model (:class:`~agents.recipe.StepRunner`)
    :param recipe: the :class:`~agents.recipe.Recipe`
    :param frames: RGB frames (:func:`read_frames`)
    :param folder: where the kept steps go
    :param steps: steps per frame
    :param temporal: :class:`TemporalSmoother` strength (0: off)
    :param alpha: strength of each step (:meth:`agents.stylizer.Stylizer.steps`)
    :return: the frame count and the flicker of the input and of each kept step's output
    """
    smoother = TemporalSmoother(temporal)
    change_in = FrameChange()
    change_out = {k: FrameChange() for k in folder.writers}
    previous: dict[int, torch.Tensor] = {}
    codes = None
    for frame in frames:
        content = pil_to_tensor(frame)  # 1 x 3 x H x W
        if codes is None:
            codes = recipe.codes(runner, content)
        change_in.add(content)
        weight = smoother.stillness(content)
        for k, x in recipe.steps(runner, content, steps, alpha=alpha, codes=codes):
            if k not in change_out:
                continue
            out = smoother.apply(x.detach().clamp(0.0, 1.0).cpu(), previous.get(k), weight)
            previous[k] = out
            change_out[k].add(out)
            folder.add(k, out)
        folder.next_frame()
    if codes is None:
        raise VideoError("the video has no frames")
    return {"flicker_input": round(change_in.mean, 3),
            "flicker_output": {k: round(c.mean, 3) for k, c in change_out.items()}}
