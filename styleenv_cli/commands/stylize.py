"""Stylise content images with a style image, step by step, and save every step.

For each (content, style) pair, a folder ``OUT/<content>__<style>/`` receives
``step-01.png`` ... (every step; zero-padded to the width of --steps, so names sort in order),
``sheet.png`` (content | style | the kept steps, at most 12: more are sampled evenly) and
``sequence.gif`` (content, then each step). CONTENT and STYLE may be image files or folders
(all pairs run). A pair's folder is written under a temporary name and renamed when complete,
with ``options.json``: the options that made it (the model and the input files by sha256, the
steps, the kept steps, --max-size ...). A pair whose folder already exists is skipped (a re-run
finishes an interrupted folder of pairs) if it was made with the same options, and refused
(one line naming what differs) if not, unless --overwrite replaces it. With --skip-bad,
unreadable images of a folder are reported and left out instead of stopping the run.

The model is the project's own trained checkpoint, shipped inside the package, unless
--checkpoint FILE (a checkpoint saved by styleenv) or --release DIR (the folder holding the
released actor.pth.tar and builder.pth.tar) names another.

Several STYLE arguments run one pair each, unless --style-weights blends them into one style
or --mask gives one mask per style (each region its own style); --preserve-colour keeps the
photo's colours; a video file as CONTENT writes stylised videos and frame folders; --runtime
onnx runs a model exported by `styleenv export` (see stylize_options).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from styleenv_cli.commands import (UsageError, add_compute_arguments, apply_compute_arguments, prepare_output,
                                   stylize_options, stylize_record)

HELP = "stylise content image(s) with a style: every step as PNG, a contact sheet and a GIF"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("content", type=Path, metavar="CONTENT", help="content image, folder of images, or video")
    parser.add_argument("style", type=Path, nargs="+", metavar="STYLE",
                        help="style image(s) or folder(s); several run one pair each, unless blended or masked")
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
    parser.add_argument("--alpha", type=float, default=1.0, help="strength in [0, 1]: each step moves this fraction of the way to the agent's next image "
                        "(default: 1; 0 keeps the photo)")
    parser.add_argument("--out", type=Path, default=Path("styleenv-output"), help="output folder (default: %(default)s)")
    add_compute_arguments(parser)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the folders of pairs already in OUT (default: skip those made with the "
                             "same options, refuse the others)")
    parser.add_argument("--skip-bad", action="store_true",
                        help="leave out unreadable images (reported on stderr) instead of stopping")
    parser.add_argument("--json", action="store_true", help="print a JSON summary with every file written")
    stylize_options.add_arguments(parser)


#: Most steps of one sequence (each writes a PNG).
MAX_STEPS = 10_000


def _check_args(args: argparse.Namespace) -> list[int]:
    if not 1 <= args.steps <= MAX_STEPS:
        raise UsageError(f"--steps must lie in 1..{MAX_STEPS}, got {args.steps}")
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
    stylize_options.check_args(args)
    return keep


def _list(path: Path, what: str, out: Path | None = None) -> list[Path]:
    """The image files of a folder (leaving out those under ``out``: earlier outputs), or the file itself."""
    from styleenv.images import list_images

    if path.is_dir():
        outputs = out.resolve() if out is not None else None
        found = [p for p in list_images(path) if outputs is None or not p.resolve().is_relative_to(outputs)]
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

    if args.runtime == "onnx":
        return stylize_options.load_onnx(args)
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


def _run_pair(stylizer, content, styles: list, target: Path, args: argparse.Namespace, keep: list[int], record: dict,
              bar) -> dict:
    """Write one pair's files and its record (a :class:`~styleenv.visual.SequenceFolder`: complete or absent)."""
    from styleenv.pixels import to_pil, to_uint8
    from styleenv.visual import SequenceFolder, hstack

    start = time.perf_counter()
    with SequenceFolder(target, content, keep, steps=args.steps) as folder:
        recipe = stylize_options.recipe(args, styles)
        for k, x in recipe.steps(stylizer, content, args.steps, args.sample, args.seed, args.alpha):
            folder.add(k, to_pil(to_uint8(x)[0]))
            bar.update(1)
        seconds = time.perf_counter() - start
        options = stylize_record.write_record(folder.staging, record).name
        files = folder.finish(styles[0] if len(styles) == 1 else hstack(styles))
    return {"folder": files["folder"], "size": list(content.size), "seconds": round(seconds, 3),
            "steps": files["steps"], "sheet": files["sheet"], "gif": files["gif"], "options": str(target / options),
            "skipped": False}


def _style_groups(args: argparse.Namespace) -> list[tuple[str, list[Path]]]:
    """``(name, style files)`` per look: one per style file, or one for a blend / per-region styles."""
    if stylize_options.groups_together(args):
        folders = [p for p in args.style if p.is_dir()]
        if folders:
            raise UsageError(f"STYLE {folders[0]}: a blend or per-region styles take image files, not folders")
        files = [_list(p, "style")[0] for p in args.style]
        name = "+".join(_names([p], p)[p] for p in files)
        return [(name if args.style_weights is not None else f"regions-{name}", files)]
    groups: list[tuple[str, list[Path]]] = []
    used: set[str] = set()
    for root in args.style:
        for path, name in _names(_list(root, "style", args.out), root).items():
            base, i = name, 2
            while name in used:
                name, i = f"{base}-{i}", i + 1
            used.add(name)
            groups.append((name, [path]))
    return groups


def _readable_groups(groups: list, images: dict) -> list[tuple[str, list[Path]]]:
    """The looks whose style files were all read (--skip-bad leaves out the others; a blend needs all)."""
    if len(groups) == 1 and len(groups[0][1]) > 1:
        missing = [p for p in groups[0][1] if p not in images]
        if missing:
            raise UsageError(f"STYLE {missing[0]}: unreadable, and the blend or regions need every style")
    found = [g for g in groups if all(p in images for p in g[1])]
    if not found:
        raise UsageError(f"style {' '.join(map(str, (p for g in groups for p in g[1])))}: no readable images")
    return found


def _pairs(contents: list[Path], groups: list, args: argparse.Namespace) -> list[tuple[Path, list[Path], Path]]:
    """``(content, style files, output folder)`` of every pair, look by look."""
    c_names = _names(contents, args.content)
    return [(c, s_files, args.out / f"{c_names[c]}__{s_name}{stylize_options.name_suffix(args)}")
            for s_name, s_files in groups for c in contents]


def _run_all(stylizer, images: dict, pairs: list, records: dict[Path, dict], args, keep: list[int]) -> list[dict]:
    from tqdm import tqdm

    results = []
    with tqdm(total=len(pairs) * args.steps, unit="step", disable=None, desc="stylize") as bar:
        for c, s_files, target in pairs:
            s = str(s_files[0]) if len(s_files) == 1 else [str(p) for p in s_files]
            if target.exists() and not args.overwrite:  # made with the same options (stylize_record)
                bar.update(args.steps)
                results.append({"content": str(c), "style": s, "folder": str(target), "skipped": True})
                if not args.json:
                    bar.write(f"skipped {target}/: it exists (--overwrite replaces it)")
                continue
            result = _run_pair(stylizer, images[c], [images[p] for p in s_files], target, args, keep, records[target],
                               bar)
            results.append({"content": str(c), "style": s, **result})
            if not args.json:
                names = f"{Path(result['steps'][0]['path']).name} .. {Path(result['steps'][-1]['path']).name}"
                bar.write(f"wrote {target}/ ({names}, sheet.png, sequence.gif)")
    return results


def run(args: argparse.Namespace) -> int:
    keep = _check_args(args)
    if stylize_options.is_video(args.content):
        groups = _style_groups(args)
        images = _load_all([p for _, files in groups for p in files], args.max_size, args.skip_bad)
        groups = _readable_groups(groups, images)
        args.device = apply_compute_arguments(args)
        return stylize_options.run_video(args, groups, images, _load_model)
    contents, groups = _list(args.content, "content", args.out), _style_groups(args)
    styles = [p for _, files in groups for p in files]
    images = _load_all(list(dict.fromkeys(contents + styles)), args.max_size, args.skip_bad)
    contents = _readable(contents, images, "content", args.content)
    groups = _readable_groups(groups, images)
    stylize_options.check_masks(args, [images[c] for c in contents])
    args.device = apply_compute_arguments(args)
    stylizer = _load_model(args)
    pairs = _pairs(contents, groups, args)
    records = {target: stylize_record.make_record(args, c, s_files) for c, s_files, target in pairs}
    if not args.overwrite:
        stylize_record.check_existing(records)
    created = prepare_output(args.out)
    try:
        results = _run_all(stylizer, images, pairs, records, args, keep)
    except BaseException:
        if created and args.out.is_dir() and not any(args.out.iterdir()):
            args.out.rmdir()  # leave no empty output folder behind
        raise
    if args.json:
        from agents.default import DEFAULT_CHECKPOINT

        model = ({"release": str(args.release)} if args.release else {"onnx": str(args.onnx)} if args.onnx else
                 {"checkpoint": str(args.checkpoint or DEFAULT_CHECKPOINT)})
        summary = {
            "model": model,
            "steps": args.steps,
            "keep": keep,
            "sample": args.sample,
            "seed": args.seed,
            "alpha": args.alpha,
            **stylize_options.summary(args),
            "max_size": args.max_size,
            "device": str(stylizer.device),
            "pairs": results,
        }
        print(json.dumps(summary, indent=1))
    return 0
