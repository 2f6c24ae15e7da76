"""Stylise content images with a style image, step by step, and save every step.

For each (content, style) pair, a folder ``OUT/<content>__<style>/`` receives
``step-01.png`` ... (every step; zero-padded to the width of --steps, so names sort in order),
``sheet.png`` (content | style | the kept steps, at most 12: more are sampled evenly) and
``sequence.gif`` (content, then each step). CONTENT and STYLE may be image files or folders
(all pairs run). A pair's folder is written under a temporary name and renamed when complete;
a pair whose folder already exists is skipped (a re-run finishes an interrupted folder of
pairs), unless --overwrite replaces it. With --skip-bad, unreadable images of a folder are
reported and left out instead of stopping the run.

The model is the project's own trained checkpoint, shipped inside the package, unless
--checkpoint FILE (a checkpoint saved by styleenv) or --release DIR (the folder holding the
released actor.pth.tar and builder.pth.tar) names another.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from styleenv_cli.commands import UsageError, add_compute_arguments, apply_compute_arguments, prepare_output

HELP = "stylise content image(s) with a style: every step as PNG, a contact sheet and a GIF"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("content", type=Path, metavar="CONTENT", help="content image or folder of images")
    parser.add_argument("style", type=Path, metavar="STYLE", help="style image or folder of images")
    model = parser.add_argument_group("model (default: the project's own checkpoint, shipped with styleenv)")
    model.add_argument("--release", type=Path, metavar="DIR",
                       help="folder holding the released actor.pth.tar and builder.pth.tar")
    model.add_argument("--checkpoint", type=Path, metavar="FILE", help="a checkpoint saved by styleenv")
    parser.add_argument("--steps", type=int, default=10, help="steps of the sequence (default: %(default)s)")
    parser.add_argument("--keep", type=int, nargs="+", metavar="K",
                        help="steps shown on the contact sheet, e.g. 1 5 10 (default: all)")
    parser.add_argument("--max-size", type=int, default=1024, metavar="PX",
                        help="downscale content and style so that the longer side is at most PX; 0: no limit "
                             "(default: %(default)s)")
    parser.add_argument("--sample", action="store_true", help="sample the actions (default: the mean action)")
    parser.add_argument("--seed", type=int, default=None, help="seed of --sample (reproducible output)")
    parser.add_argument("--alpha", type=float, default=1.0, help="stylisation strength in [0, 1] (default: 1)")
    parser.add_argument("--out", type=Path, default=Path("styleenv-output"), help="output folder (default: %(default)s)")
    add_compute_arguments(parser)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the folders of pairs already in OUT (default: skip them)")
    parser.add_argument("--skip-bad", action="store_true",
                        help="leave out unreadable images (reported on stderr) instead of stopping")
    parser.add_argument("--json", action="store_true", help="print a JSON summary with every file written")


def _check_args(args: argparse.Namespace) -> list[int]:
    if args.steps < 1:
        raise UsageError(f"--steps must be at least 1, got {args.steps}")
    keep = sorted(set(args.keep)) if args.keep else list(range(1, args.steps + 1))
    bad = [k for k in keep if not 1 <= k <= args.steps]
    if bad:
        raise UsageError(f"--keep steps must lie in 1..{args.steps}, got {' '.join(map(str, bad))}")
    if args.max_size < 0:
        raise UsageError(f"--max-size must be 0 (no limit) or positive, got {args.max_size}")
    if args.seed is not None and not args.sample:
        raise UsageError("--seed only applies with --sample (the default mean action is deterministic)")
    if not 0.0 <= args.alpha <= 1.0:
        raise UsageError(f"--alpha must lie in [0, 1], got {args.alpha}")
    if args.release is not None and args.checkpoint is not None:
        raise UsageError("pass either --release or --checkpoint, not both")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out}: exists and is not a folder")
    return keep


def _list(path: Path, what: str) -> list[Path]:
    from styleenv.images import list_images

    if path.is_dir():
        found = list_images(path)
        if not found:
            raise UsageError(f"{what} folder {path}: no images in it")
        return found
    if not path.exists():
        raise UsageError(f"{what} {path}: no such file or folder")
    return [path]


def _load_all(paths: list[Path], max_size: int, skip_bad: bool) -> dict[Path, object]:
    """The images by path; with ``skip_bad`` an unreadable one is reported and left out."""
    from styleenv.images import ImageLoadError, load_image
    from styleenv.pixels import fit_max_side

    images = {}
    for p in paths:
        try:
            images[p] = fit_max_side(load_image(p), max_size or None)
        except ImageLoadError as err:
            message = str(err).replace("\n", " ")
            if not skip_bad:
                raise UsageError(f"{message} (--skip-bad leaves such files out)") from None
            print(f"styleenv stylize: skipped: {message}", file=sys.stderr)
    return images


def _readable(paths: list[Path], images: dict, what: str, root: Path) -> list[Path]:
    found = [p for p in paths if p in images]
    if not found:
        raise UsageError(f"{what} {root}: no readable images")
    return found


def _names(paths: list[Path], root: Path) -> dict[Path, str]:
    """Readable, unique, file-system-safe names: the path under the folder, without suffix."""
    names: dict[Path, str] = {}
    used: set[str] = set()
    for p in paths:
        rel = p.relative_to(root) if root.is_dir() else Path(p.name)
        base = "-".join(rel.with_suffix("").parts)
        base = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in base) or "image"
        name, i = base, 2
        while name in used:
            name, i = f"{base}-{i}", i + 1
        used.add(name)
        names[p] = name
    return names


def _load_model(args: argparse.Namespace):
    from agents.release import CheckpointError
    from agents.stylizer import Stylizer

    try:
        if args.release is not None:
            return Stylizer.from_release(args.release, device=args.device)
        if args.checkpoint is not None:
            return Stylizer.from_checkpoint(args.checkpoint, device=args.device)
        return Stylizer.default(device=args.device)
    except CheckpointError as err:
        raise UsageError(str(err)) from None
    except RuntimeError as err:  # e.g. an unavailable device
        raise UsageError(f"--device {args.device}: {str(err).splitlines()[0]}") from None


def _run_pair(stylizer, content, style, target: Path, args: argparse.Namespace, keep: list[int], bar) -> dict:
    """Write one pair's files (a :class:`~styleenv.visual.SequenceFolder`: complete or absent)."""
    from styleenv.pixels import to_pil, to_uint8
    from styleenv.visual import SequenceFolder

    start = time.perf_counter()
    with SequenceFolder(target, content, keep, steps=args.steps) as folder:
        code = stylizer.encode_style(style)
        for k, x in stylizer.steps(content, code, args.steps, args.sample, args.seed, args.alpha):
            folder.add(k, to_pil(to_uint8(x)[0]))
            bar.update(1)
        seconds = time.perf_counter() - start
        files = folder.finish(style)
    return {"folder": files["folder"], "size": list(content.size), "seconds": round(seconds, 3),
            "steps": files["steps"], "sheet": files["sheet"], "gif": files["gif"], "skipped": False}


def _run_all(stylizer, images: dict, contents: list[Path], styles: list[Path], args, keep: list[int]) -> list[dict]:
    from tqdm import tqdm

    c_names, s_names = _names(contents, args.content), _names(styles, args.style)
    pairs = []
    with tqdm(total=len(contents) * len(styles) * args.steps, unit="step", disable=None, desc="stylize") as bar:
        for s in styles:
            for c in contents:
                target = args.out / f"{c_names[c]}__{s_names[s]}"
                if target.exists() and not args.overwrite:
                    bar.update(args.steps)
                    pairs.append({"content": str(c), "style": str(s), "folder": str(target), "skipped": True})
                    if not args.json:
                        bar.write(f"skipped {target}/: it exists (--overwrite replaces it)")
                    continue
                result = _run_pair(stylizer, images[c], images[s], target, args, keep, bar)
                pairs.append({"content": str(c), "style": str(s), **result})
                if not args.json:
                    names = f"{Path(result['steps'][0]['path']).name} .. {Path(result['steps'][-1]['path']).name}"
                    bar.write(f"wrote {target}/ ({names}, sheet.png, sequence.gif)")
    return pairs


def run(args: argparse.Namespace) -> int:
    keep = _check_args(args)
    contents, styles = _list(args.content, "content"), _list(args.style, "style")
    images = _load_all(list(dict.fromkeys(contents + styles)), args.max_size, args.skip_bad)
    contents = _readable(contents, images, "content", args.content)
    styles = _readable(styles, images, "style", args.style)
    args.device = apply_compute_arguments(args)
    stylizer = _load_model(args)
    created = prepare_output(args.out)
    try:
        pairs = _run_all(stylizer, images, contents, styles, args, keep)
    except BaseException:
        if created and args.out.is_dir() and not any(args.out.iterdir()):
            args.out.rmdir()  # leave no empty output folder behind
        raise
    if args.json:
        from agents.default import DEFAULT_CHECKPOINT

        model = ({"release": str(args.release)} if args.release else
                 {"checkpoint": str(args.checkpoint or DEFAULT_CHECKPOINT)})
        summary = {
            "model": model,
            "steps": args.steps,
            "keep": keep,
            "sample": args.sample,
            "seed": args.seed,
            "alpha": args.alpha,
            "max_size": args.max_size,
            "device": str(stylizer.device),
            "pairs": pairs,
        }
        print(json.dumps(summary, indent=1))
    return 0
