"""Pictures to look at: side-by-side strips, labelled contact sheets, grids and animated GIFs.

Files are written atomically (:func:`styleenv.files.atomic_write`), so an interrupted run never
leaves a half-written picture behind.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from styleenv.files import atomic_write, temporary_name
from styleenv.images import ImageLike, load_image
from styleenv.pixels import fit_max_side

Colour = tuple[int, int, int]

WHITE: Colour = (255, 255, 255)
TEXT: Colour = (30, 30, 30)


def _rgb(img: ImageLike) -> Image.Image:
    """Any image-like object as an RGB PIL image."""
    return img if isinstance(img, Image.Image) and img.mode == "RGB" else load_image(img)


def _to_height(img: Image.Image, height: int) -> Image.Image:
    """Resize keeping the aspect ratio so that the height is ``height``."""
    if img.height == height:
        return img
    width = max(1, round(img.width * height / img.height))
    return img.resize((width, height), Image.Resampling.LANCZOS)


def _thumbnail(img: Image.Image, side: int) -> Image.Image:
    """Fit inside a ``side x side`` box (aspect kept), centred on white."""
    scale = side / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    small = img if img.size == size else img.resize(size, Image.Resampling.LANCZOS)
    if small.size == (side, side):
        return small
    box = Image.new("RGB", (side, side), WHITE)
    box.paste(small, ((side - small.width) // 2, (side - small.height) // 2))
    return box


def hstack(images: Sequence[ImageLike], gap: int = 4, bg: Colour = WHITE) -> Image.Image:
    """Place images side by side, resized to a common height (the tallest one's).

    :param images: at least one image (PIL, array, tensor or path)
    :param gap: pixels between neighbours
    :param bg: background colour
    :return: the strip
    """
    if not images:
        raise ValueError("hstack needs at least one image")
    pics = [_rgb(img) for img in images]
    height = max(p.height for p in pics)
    pics = [_to_height(p, height) for p in pics]
    width = sum(p.width for p in pics) + gap * (len(pics) - 1)
    out = Image.new("RGB", (width, height), bg)
    x = 0
    for pic in pics:
        out.paste(pic, (x, 0))
        x += pic.width + gap
    return out


def grid(
    rows: Sequence[Sequence[ImageLike | None]],
    thumb: int = 256,
    gap: int = 4,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    bg: Colour = WHITE,
) -> Image.Image:
    """A grid of square thumbnails with optional row and column labels.

    :param rows: rows of images; ``None`` leaves a blank cell; rows may differ in length
    :param thumb: side of each cell in pixels (images are fitted inside, aspect kept)
    :param gap: pixels between cells
    :param row_labels: a label drawn left of each row
    :param col_labels: a label drawn above each column
    :param bg: background colour
    :return: the sheet
    """
    if not rows or not any(rows):
        raise ValueError("grid needs at least one image")
    font = ImageFont.load_default()
    n_cols = max(len(r) for r in rows)
    label_h = _text_height(font) + 6
    left = _label_width(row_labels, font) + (gap if row_labels else 0)
    top = label_h if col_labels else 0
    width = left + n_cols * thumb + (n_cols + 1) * gap
    height = top + len(rows) * thumb + (len(rows) + 1) * gap
    out = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(out)
    for c, label in enumerate(col_labels or []):
        x = left + gap + c * (thumb + gap)
        _centred_text(draw, label, x, 2, thumb, font)
    for r, row in enumerate(rows):
        y = top + gap + r * (thumb + gap)
        if row_labels and r < len(row_labels):
            draw.text((gap, y + thumb // 2 - label_h // 2), row_labels[r], fill=TEXT, font=font)
        for c, img in enumerate(row):
            if img is None:
                continue
            out.paste(_thumbnail(_rgb(img), thumb), (left + gap + c * (thumb + gap), y))
    return out


def contact_sheet(
    content: ImageLike,
    style: ImageLike,
    steps: Sequence[ImageLike],
    step_labels: Sequence[str] | None = None,
    thumb: int = 256,
    gap: int = 6,
) -> Image.Image:
    """One row: content, style, then every step of the stylisation, each labelled underneath.

    :param content: the content image
    :param style: the style image
    :param steps: the stylised images, in order
    :param step_labels: their labels (default ``"step 1"``, ``"step 2"``, ...)
    :param thumb: side of each thumbnail
    :param gap: pixels between thumbnails
    :return: the sheet
    """
    if step_labels is None:
        step_labels = [f"step {i + 1}" for i in range(len(steps))]
    if len(step_labels) != len(steps):
        raise ValueError(f"got {len(steps)} steps but {len(step_labels)} labels")
    pictures = [content, style, *steps]
    labels = ["content", "style", *step_labels]
    font = ImageFont.load_default()
    label_h = _text_height(font) + 8
    width = len(pictures) * thumb + (len(pictures) + 1) * gap
    height = thumb + 2 * gap + label_h
    out = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(out)
    for i, (img, label) in enumerate(zip(pictures, labels)):
        x = gap + i * (thumb + gap)
        out.paste(_thumbnail(_rgb(img), thumb), (x, gap))
        _centred_text(draw, label, x, gap + thumb + 4, thumb, font)
    return out


def _text_height(font) -> int:
    box = font.getbbox("Ag")
    return int(box[3] - box[1])


def _label_width(labels: Sequence[str] | None, font) -> int:
    if not labels:
        return 0
    return int(max(font.getlength(label) for label in labels)) + 4


def _centred_text(draw: ImageDraw.ImageDraw, text: str, x: int, y: int, width: int, font) -> None:
    """Draw ``text`` centred in ``[x, x + width)``, shortened with an ellipsis if too long."""
    if font.getlength(text) > width:
        while len(text) > 1 and font.getlength(text + "...") > width:
            text = text[:-1]
        text += "..."
    offset = max(0, (width - int(font.getlength(text))) // 2)
    draw.text((x + offset, y), text, fill=TEXT, font=font)


# --------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------


def save_png(img: ImageLike, path: str | Path, colours: int | None = None) -> Path:
    """Write an image as PNG, atomically.

    :param img: the image (PIL, array, tensor)
    :param path: the destination
    :param colours: reduce to a palette of this many colours (at most 256; dithered), for
        small pictures such as the README's; None keeps full colour
    :return: the path written
    """
    pic = _rgb(img)
    if colours is not None:
        pic = pic.quantize(colours, dither=Image.Dither.FLOYDSTEINBERG)
    return atomic_write(path, lambda tmp: pic.save(tmp, format="PNG", optimize=colours is not None))


def save_gif(frames: Sequence[ImageLike], path: str | Path, duration_ms: int = 300, loop: int = 0) -> Path:
    """Write an animated GIF, atomically. Frames are resized to the first frame's size.

    :param frames: at least one frame; palette images (:func:`gif_frame`) are written as they are
    :param path: the destination
    :param duration_ms: display time of each frame
    :param loop: number of repetitions, 0 for forever
    :return: the path written
    """
    if not frames:
        raise ValueError("save_gif needs at least one frame")
    pics = [f if isinstance(f, Image.Image) and f.mode == "P" else _rgb(f) for f in frames]
    size = pics[0].size
    pics = [p if p.size == size else p.convert("RGB").resize(size, Image.Resampling.LANCZOS) for p in pics]

    def write(tmp: Path) -> None:
        pics[0].save(
            tmp, format="GIF", save_all=True, append_images=pics[1:], duration=duration_ms, loop=loop, optimize=False
        )

    return atomic_write(path, write)


def gif_frame(img: ImageLike) -> Image.Image:
    """A GIF frame as a 256-colour palette image: the conversion the GIF writer makes of an RGB
    frame, done early so that a sequence's frames are held in a third of the memory."""
    return _rgb(img).convert("P", palette=Image.Palette.ADAPTIVE)


#: Most pictures a contact sheet shows after content and style (a wider request is sampled).
SHEET_STEPS = 12


def sample_steps(steps: Sequence[int], limit: int = SHEET_STEPS) -> list[int]:
    """At most ``limit`` of ``steps`` (sorted), evenly spaced, keeping the first and the last.

    :param steps: the requested steps
    :param limit: how many to keep at most (at least 2)
    :return: the sorted sample
    """
    ordered = sorted(set(steps))
    if len(ordered) <= limit:
        return ordered
    last = len(ordered) - 1
    return sorted({ordered[round(i * last / (limit - 1))] for i in range(limit)})


def step_name(step: int, steps: int) -> str:
    """``step-NN.png``, zero-padded to the width of ``steps`` (at least 2), so names sort in order."""
    return f"step-{step:0{max(2, len(str(steps)))}d}.png"


class SequenceFolder:
    """A stylisation sequence written to one folder: ``step-01.png`` ..., ``sheet.png``, ``sequence.gif``.

    Files go into a temporary folder beside ``target`` (named by
    :func:`styleenv.files.temporary_name`), renamed onto it by :meth:`finish`; an error or
    interruption removes the temporary folder, so ``target`` is either complete or untouched.
    Steps are written as they arrive; only the kept steps and the GIF frames (shrunk to
    ``gif_side``, as palette images: :func:`gif_frame`) are held in memory.

    :param target: the folder to create (replaced if it exists)
    :param content: the content image (first GIF frame and first sheet picture)
    :param keep: steps shown on the contact sheet (1-based); more than :data:`SHEET_STEPS` are
        sampled (:func:`sample_steps`) so that the sheet stays a picture one can open
    :param steps: the length of the sequence: step names are zero-padded to its width
    :param gif_side: longer side of the GIF frames at most
    """

    def __init__(self, target: str | Path, content: ImageLike, keep: Sequence[int], steps: int = 10,
                 gif_side: int = 512) -> None:
        self.target = Path(target)
        self.keep = set(sample_steps(keep))
        self.total = steps
        self.gif_side = gif_side
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.staging = self.target.parent / temporary_name(self.target.name)
        self.staging.mkdir()
        self.content = _rgb(content)
        self.frames = [self._gif_frame(self.content)]
        self.kept: list[tuple[int, Image.Image]] = []
        self.steps: list[dict] = []

    def __enter__(self) -> "SequenceFolder":
        return self

    def __exit__(self, kind, *_) -> None:
        if kind is not None:
            shutil.rmtree(self.staging, ignore_errors=True)

    def _gif_frame(self, img: Image.Image) -> Image.Image:
        return gif_frame(fit_max_side(img, self.gif_side))

    def add(self, step: int, img: ImageLike) -> None:
        """Write step ``step``'s image (:func:`step_name`)."""
        pic = _rgb(img)
        name = step_name(step, self.total)
        save_png(pic, self.staging / name)
        self.steps.append({"step": step, "path": str(self.target / name)})
        if step in self.keep:
            self.kept.append((step, pic))
        self.frames.append(self._gif_frame(pic))

    def finish(self, style: ImageLike, duration_ms: int = 300) -> dict:
        """Write the sheet and the GIF, move the folder into place; returns the files written."""
        labels = [f"step {k}" for k, _ in self.kept]
        save_png(contact_sheet(self.content, style, [p for _, p in self.kept], labels), self.staging / "sheet.png")
        save_gif(self.frames, self.staging / "sequence.gif", duration_ms=duration_ms)
        if self.target.exists():
            shutil.rmtree(self.target)
        os.replace(self.staging, self.target)
        return {"folder": str(self.target), "steps": self.steps, "sheet": str(self.target / "sheet.png"),
                "gif": str(self.target / "sequence.gif")}
