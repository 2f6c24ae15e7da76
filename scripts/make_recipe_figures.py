#!/usr/bin/env python
"""Make the README's pictures of blends, colour preservation, masks, video and ONNX, and measure their figures.

Pictures (small PNGs) go to ``--out`` (default ``docs/``); the figures are printed (``--json``
for one object): the chroma distance of outputs to their content with and without colour
preservation, the frame-to-frame change of two clips with and without ``--temporal``, and the
ONNX export's largest difference from PyTorch. The images are MIT-licensed pictures of the
``shared`` data folder (``--data``, default ``shared/data`` beside the repository, whatever the
working folder); the model is the shipped checkpoint unless ``--release DIR``. ``--out`` must be an
existing folder (default: the repository's ``docs/``)::

    python scripts/make_recipe_figures.py --data ../shared/data --out docs
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.colour import chroma_distance  # noqa: E402
from agents.recipe import Recipe  # noqa: E402
from agents.release import CheckpointError  # noqa: E402
from agents.stylizer import Stylizer  # noqa: E402
from styleenv.files import is_writable_folder  # noqa: E402
from styleenv.images import load_image  # noqa: E402
from styleenv.pixels import fit_max_side, pil_to_tensor, resize_shorter_center_crop, tensor_to_pil  # noqa: E402
from styleenv.visual import grid, save_png  # noqa: E402

PALETTE = 192  # colours of the pictures (small files)
THUMB = 144
PARTS = ("blend", "masks", "colour", "onnx", "video")
CONTENTS = ["adain_cornell.jpg", "adain_sailboat.jpg", "adain_newyork.jpg", "adain_modern.jpg", "adain_lenna.jpg"]
STYLES = ["adain_mondrian.jpg", "ns_starry_night.jpg", "adain_la_muse.jpg", "titu_blue_swirls.jpg"]


def _pictures(data: Path) -> list[Path]:
    """The files of the shared data folder that the figures use."""
    return [data / "content" / name for name in CONTENTS] + [data / "style" / name for name in STYLES]


def _open(data: Path, kind: str, name: str, side: int) -> Image.Image:
    return fit_max_side(load_image(data / kind / name), side)


def blend_sweep(stylizer: Stylizer, data: Path, out: Path, steps: int) -> None:
    content = _open(data, "content", CONTENTS[0], 256)
    a, b = _open(data, "style", STYLES[0], 256), _open(data, "style", STYLES[1], 256)
    weights = [(1, 0), (0.75, 0.25), (0.5, 0.5), (0.25, 0.75), (0, 1)]
    row = [stylizer.sequence(content, stylizer.blend_styles([a, b], w), steps=steps, keep=[steps])[0] for w in weights]
    labels = ["content", "style A", "style B"] + [f"{w[0]:g} A + {w[1]:g} B" for w in weights]
    save_png(grid([[content, a, b, *row]], thumb=THUMB, col_labels=labels), out / "blend-sweep.png",
             colours=PALETTE)


def colour(stylizer: Stylizer, data: Path, out: Path, steps: int) -> dict:
    distances: dict[str, list[float]] = {"none": [], "luminance": [], "match": []}
    shown = []
    for c_name in CONTENTS:
        content = resize_shorter_center_crop(_open(data, "content", c_name, 512), 256)
        for s_name in STYLES:
            style = resize_shorter_center_crop(_open(data, "style", s_name, 512), 256)
            row = [content, style]
            for mode in distances:
                recipe = Recipe([style], preserve_colour=None if mode == "none" else mode)
                img = stylizer.stylize(content, recipe, steps=steps, keep=[steps])[0]
                distances[mode].append(chroma_distance(pil_to_tensor(img), pil_to_tensor(content)))
                row.append(img)
            if len(shown) < 2 and s_name in STYLES[:2] and c_name == CONTENTS[1]:
                shown.append(row)
    save_png(grid(shown, thumb=THUMB, col_labels=["content", "style", "plain", "luminance", "match"]),
             out / "preserve-colour.png", colours=PALETTE)
    return {mode: round(float(np.mean(v)), 2) for mode, v in distances.items()} | {"pairs": len(distances["none"])}


def masks(stylizer: Stylizer, data: Path, out: Path, steps: int) -> None:
    content = resize_shorter_center_crop(_open(data, "content", CONTENTS[1], 512), 256)
    a, b = _open(data, "style", STYLES[1], 256), _open(data, "style", STYLES[3], 256)
    sky = Image.new("L", content.size, 0)
    ImageDraw.Draw(sky).rectangle((0, 0, 256, 110), fill=255)
    rest = Image.eval(sky, lambda v: 255 - v)
    one = stylizer.stylize(content, Recipe([a], masks=[sky], feather=6), steps=steps, keep=[steps])[0]
    two = stylizer.stylize(content, Recipe([a, b], masks=[sky, rest], feather=6), steps=steps, keep=[steps])[0]
    labels = ["content", "mask (sky)", "style A in the sky", "A in the sky, B below"]
    save_png(grid([[content, sky.convert("RGB"), one, two]], thumb=THUMB, col_labels=labels), out / "masks.png",
             colours=PALETTE)


def _clip(photo: Image.Image, frames: int, pan: int, noise: float, seed: int = 0) -> list[np.ndarray]:
    """Frames ``256 x 192`` of a photo: a window moving ``pan`` px a frame, plus sensor noise."""
    rng = np.random.default_rng(seed)
    pixels = np.asarray(photo.resize((256 + pan * frames, 192)), dtype=np.float32)
    return [np.clip(pixels[:, pan * t : pan * t + 256] + rng.normal(0, noise, (192, 256, 3)), 0, 255).astype(np.uint8)
            for t in range(frames)]


def video(data: Path, out: Path, steps: int, release: Path | None) -> dict:
    import imageio.v2 as imageio

    from styleenv_cli.main import main

    photo = _open(data, "content", CONTENTS[0], 512)
    style = data / "style" / STYLES[1]
    model = ["--release", str(release)] if release else []
    figures, strips = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for name, pan in (("still camera, noise", 0), ("panning camera, noise", 3)):
            clip = Path(tmp) / f"clip-{pan}.mp4"
            writer = imageio.get_writer(clip, format="FFMPEG", fps=12, codec="libx264", quality=9,
                                        macro_block_size=2, ffmpeg_log_level="error")
            for frame in _clip(photo, 16, pan, noise=4.0):
                writer.append_data(frame)
            writer.close()
            row = {}
            for temporal in (0.0, 0.8):
                target = Path(tmp) / f"out-{pan}-{temporal}"
                argv = ["stylize", str(clip), str(style), "--steps", str(steps), "--temporal", str(temporal),
                        "--out", str(target), "--json", *model]
                buffer = io.StringIO()
                with contextlib.redirect_stdout(buffer):
                    code = main(argv)
                if code != 0:
                    raise SystemExit(f"styleenv {' '.join(argv)} failed (exit {code})")
                result = json.loads(buffer.getvalue())["videos"][0]
                row["input"] = result["flicker_input"]
                row[f"temporal {temporal:g}"] = result["flicker_output"][str(steps)]
                if pan == 0:
                    frames = sorted(Path(result["frame_folders"][str(steps)]).iterdir())
                    strips.append([Image.open(frames[i]).copy() for i in (5, 6, 7)])
            figures[name] = row
    save_png(grid(strips, thumb=THUMB, row_labels=["no smoothing", "--temporal 0.8"],
                  col_labels=["frame 6", "frame 7", "frame 8"]), out / "video-temporal.png", colours=PALETTE)
    return figures


def onnx(stylizer: Stylizer, data: Path, out: Path, steps: int, release: Path | None) -> dict:
    from agents.default import default_checkpoint
    from agents.onnx_export import export_onnx
    from agents.onnx_runtime import OnnxStylizer, compare_with_torch
    from agents.release import load_checkpoint, load_release

    actor, builder = load_release(release) if release else load_checkpoint(default_checkpoint())[:2]

    content = resize_shorter_center_crop(_open(data, "content", CONTENTS[2], 512), 256)
    style = _open(data, "style", STYLES[2], 256)
    with tempfile.TemporaryDirectory() as tmp:
        files = export_onnx(actor, builder, Path(tmp) / "model.onnx")
        runner = OnnxStylizer(files["step"])
        diff = compare_with_torch(runner, actor, builder, 256)
        by_onnx = Recipe([style]).steps(runner, content, steps)
        by_torch = Recipe([style]).steps(stylizer, content, steps)
        (_, a), (_, b) = list(by_onnx)[-1], list(by_torch)[-1]
    amplified = ((a - b).abs() * 1000).clamp(0, 1)
    pics = [content, style, tensor_to_pil(b.clamp(0, 1)), tensor_to_pil(a.clamp(0, 1)), tensor_to_pil(amplified)]
    labels = ["content", "style", f"PyTorch step {steps}", f"onnxruntime step {steps}", "|difference| x 1000"]
    save_png(grid([pics], thumb=THUMB, col_labels=labels), out / "onnx-vs-torch.png", colours=PALETTE)
    return {"max_abs_diff_256": diff, f"max_abs_diff_step{steps}_image": float((a - b).abs().max())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                        help="the shared data folder, with content/ and style/ (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs",
                        help="existing folder where the pictures go (default: %(default)s)")
    parser.add_argument("--release", type=Path, help="the released weights' folder (default: the shipped checkpoint)")
    parser.add_argument("--steps", type=int, default=5, help="steps shown (default: %(default)s)")
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS, help="what to make (default: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    if not (args.data / "content").is_dir() or not (args.data / "style").is_dir():
        parser.error(f"--data {args.data}: no content/ and style/ folders there (pass the shared data folder)")
    missing = [path for path in _pictures(args.data) if not path.is_file()]
    if missing:
        parser.error(f"--data {args.data}: {missing[0].relative_to(args.data)} is missing (pass the shared data folder)")
    if not is_writable_folder(args.out):
        parser.error(f"--out {args.out}: not a writable folder")
    torch.set_num_threads(2)
    try:
        stylizer = Stylizer.from_release(args.release, "cpu") if args.release else Stylizer.default("cpu")
    except CheckpointError as err:
        parser.error(str(err))
    figures = {}
    for part in args.parts:
        start = time.perf_counter()
        if part == "blend":
            blend_sweep(stylizer, args.data, args.out, args.steps)
        elif part == "masks":
            masks(stylizer, args.data, args.out, args.steps)
        elif part == "colour":
            figures["chroma_distance"] = colour(stylizer, args.data, args.out, args.steps)
        elif part == "onnx":
            figures["onnx"] = onnx(stylizer, args.data, args.out, args.steps, args.release)
        else:
            figures["frame_change"] = video(args.data, args.out, args.steps, args.release)
        print(f"{part}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    print(json.dumps(figures, indent=1) if args.json else "\n".join(f"{k}: {v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
