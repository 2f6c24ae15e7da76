"""The options of ``styleenv stylize`` beyond one photo and one painting.

Blends (``--style-weights``), colour preservation (``--preserve-colour``), masks (``--mask``,
``--feather``), the ONNX runtime (``--runtime onnx --onnx FILE``) and videos (a video file as
CONTENT, ``--temporal``). :mod:`styleenv_cli.commands.stylize` calls these; the work itself is
in :mod:`agents.recipe`, :mod:`agents.onnx_runtime` and :mod:`agents.video`.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from styleenv_cli.commands import UsageError, prepare_output, stylize_record


def add_arguments(parser: argparse.ArgumentParser) -> None:
    looks = parser.add_argument_group("blends, colours and masks")
    looks.add_argument("--style-weights", type=float, nargs="+", metavar="W",
                       help="blend the STYLE files into one style with these weights (one each; normalised)")
    looks.add_argument("--preserve-colour", nargs="?", const="luminance", choices=("luminance", "match"),
                       help="keep the content's colours: luminance (the stylised brightness with the photo's "
                            "colour; the default mode) or match (the style's colours matched to the photo's)")
    looks.add_argument("--mask", type=Path, nargs="+", metavar="PNG",
                       help="stylise only where the mask is white (grey: partly); one mask per STYLE gives each "
                            "region its own style")
    looks.add_argument("--feather", type=float, default=0.0, metavar="PX",
                       help="soften the masks' edges by a blur of this radius (default: %(default)s)")
    runtime = parser.add_argument_group("runtime and video")
    runtime.add_argument("--runtime", choices=("torch", "onnx"), default="torch",
                         help="run the model in PyTorch or in onnxruntime (needs --onnx; default: %(default)s)")
    runtime.add_argument("--onnx", type=Path, metavar="FILE", help="a model written by `styleenv export --onnx FILE`")
    runtime.add_argument("--temporal", type=float, default=0.0, metavar="S",
                         help="video only: flicker reduction in [0, 1): where the content is still, keep this share "
                              "of the previous output frame (default: %(default)s, off)")


def check_args(args: argparse.Namespace) -> None:
    """Refuse inconsistent options (one line each)."""
    n = len(args.style)
    if args.style_weights is not None:
        if len(args.style_weights) != n:
            raise UsageError(f"--style-weights: got {len(args.style_weights)} weights for {n} STYLE arguments")
        from agents.blend import normalise_weights

        try:
            normalise_weights(args.style_weights, n)
        except ValueError as err:
            raise UsageError(f"--style-weights: {err}") from None
        if args.mask and len(args.mask) > 1:
            raise UsageError("a blend (--style-weights) takes one --mask")
    elif args.mask and len(args.mask) not in (1, n):
        raise UsageError(f"--mask: give one mask (for every pair), or one per STYLE ({n}), got {len(args.mask)}")
    if not 0 <= args.feather < math.inf:  # NaN and infinity too
        raise UsageError(f"--feather must be a finite number of at least 0, got {args.feather}")
    if args.feather and not args.mask:
        raise UsageError("--feather softens masks: it needs --mask")
    if args.runtime == "onnx":
        if args.onnx is None:
            raise UsageError("--runtime onnx needs --onnx FILE (write one with `styleenv export --onnx FILE`)")
        if args.sample:
            raise UsageError("--runtime onnx runs the mean action: drop --sample")
        if args.release is not None or args.checkpoint is not None:
            raise UsageError("--runtime onnx takes its weights from --onnx FILE, not --release or --checkpoint")
    elif args.onnx is not None:
        raise UsageError("--onnx FILE needs --runtime onnx")
    if not 0.0 <= args.temporal < 1.0:
        raise UsageError(f"--temporal must lie in [0, 1), got {args.temporal}")
    if args.temporal and not is_video(args.content):
        raise UsageError("--temporal applies to a video CONTENT only")
    if args.sample and is_video(args.content):
        raise UsageError("a video runs the mean action (sampled actions would flicker): drop --sample")


def groups_together(args: argparse.Namespace) -> bool:
    """Whether the STYLE arguments make one look (a blend, or one style per mask) rather than one pair each."""
    return len(args.style) > 1 and (args.style_weights is not None or len(args.mask or ()) == len(args.style))


def name_suffix(args: argparse.Namespace) -> str:
    """What the output folder's name adds for these options, so that each look has its own folder."""
    suffix = ""
    if args.style_weights is not None and len(args.style) > 1:
        suffix += "-w" + "-".join(f"{w:g}" for w in args.style_weights)
    if args.preserve_colour:
        suffix += f"-{'colour' if args.preserve_colour == 'luminance' else 'colour-match'}"
    if args.mask:
        suffix += "-masked-" + "-".join(_safe(Path(m).stem) for m in args.mask)
        suffix += f"-feather{args.feather:g}" if args.feather else ""
    if args.alpha != 1.0:
        suffix += f"-alpha{args.alpha:g}"
    if args.sample:
        suffix += "-sample" + ("" if args.seed is None else f"{args.seed}")
    return suffix


def recipe(args: argparse.Namespace, styles: list):
    """The :class:`~agents.recipe.Recipe` of one pair, from the options and its style images."""
    from agents.recipe import Recipe

    weights = args.style_weights if len(styles) > 1 else None
    return Recipe(styles, weights=weights, masks=args.mask, feather=args.feather, preserve_colour=args.preserve_colour)


def check_masks(args: argparse.Namespace, contents: list) -> None:
    """Read every mask against every content size before anything runs (one line for a bad one)."""
    from agents.masks import MaskError, load_mask

    for size in dict.fromkeys(img.size for img in contents):
        for mask in args.mask or ():
            try:
                load_mask(mask, size, args.feather, name=f"--mask {mask}")
            except MaskError as err:
                raise UsageError(str(err)) from None


def load_onnx(args: argparse.Namespace):
    """The :class:`~agents.onnx_runtime.OnnxStylizer` of ``--onnx FILE``."""
    from agents.onnx_runtime import OnnxModelError, OnnxStylizer

    try:
        return OnnxStylizer(args.onnx, threads=args.threads or None)
    except OnnxModelError as err:
        raise UsageError(str(err)) from None


def is_video(path: Path) -> bool:
    from agents.video import VIDEO_EXTENSIONS

    return path.suffix.lower() in VIDEO_EXTENSIONS


def summary(args: argparse.Namespace) -> dict:
    """The options of this module, for the JSON summary."""
    return {"style_weights": args.style_weights, "preserve_colour": args.preserve_colour,
            "masks": [str(m) for m in args.mask] if args.mask else None, "feather": args.feather,
            "runtime": args.runtime}


def run_video(args: argparse.Namespace, groups: list, images: dict, load_model) -> int:
    """Stylise the video CONTENT with each style (or the one blend): one output folder per style.

    :param groups: ``(name, style files)`` per look
    :param images: the style images by path
    :param load_model: loads the model (``stylize._load_model``)
    """
    import json

    from agents.masks import MaskError
    from agents.video import VideoError, VideoFolder, read_frames, stylize_video

    keep = sorted(set(args.keep)) if args.keep else [args.steps]
    runner = load_model(args)
    targets = [(files, args.out / f"{_safe(args.content.stem)}__{name}{name_suffix(args)}") for name, files in groups]
    if not args.overwrite:  # the video is read below: only the folders already there need its sha256 now
        stylize_record.check_existing({target: stylize_record.make_record(args, args.content, files)
                                       for files, target in targets if target.exists()})
    results = []
    created = prepare_output(args.out)
    try:
        for files, target in targets:
            if target.exists() and not args.overwrite:  # made with the same options (stylize_record)
                results.append({"content": str(args.content), "style": [str(p) for p in files],
                                "folder": str(target), "skipped": True})
                if not args.json:
                    print(f"skipped {target}/: it exists (--overwrite replaces it)")
                continue
            frames, fps = read_frames(args.content, args.max_size or None)
            with VideoFolder(target, keep, fps) as folder:
                flicker = stylize_video(runner, recipe(args, [images[p] for p in files]), frames, folder,
                                        args.steps, args.temporal, args.alpha)
                record = stylize_record.make_record(args, args.content, files)
                options = stylize_record.write_record(folder.staging, record).name
                files_written = {**folder.finish(), "options": str(target / options)}
            results.append({"content": str(args.content), "style": [str(p) for p in files], "fps": fps,
                            **files_written, **flicker, "skipped": False})
            if not args.json:
                print(f"wrote {target}/ ({files_written['frames']} frames; steps {' '.join(map(str, keep))}: "
                      f"mp4 and frame folders); frame-to-frame change {flicker['flicker_input']} in, "
                      f"{' '.join(str(v) for v in flicker['flicker_output'].values())} out")
    except BaseException as err:
        if created and args.out.is_dir() and not any(args.out.iterdir()):
            args.out.rmdir()  # leave no empty output folder behind
        if isinstance(err, (VideoError, MaskError)):
            raise UsageError(str(err)) from None
        raise
    if args.json:
        print(json.dumps({"steps": args.steps, "keep": keep, "temporal": args.temporal, **summary(args),
                          "device": str(runner.device), "videos": results}, indent=1))
    return 0


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "video"
