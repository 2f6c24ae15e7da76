"""Export the stylizer to ONNX, and check the export against PyTorch in onnxruntime.

Writes FILE (the step graph: moving image + style vectors -> next image) and FILE with
``.style`` before its suffix (the style graph: style image -> style vectors); both take any
image size. Then runs both graphs and PyTorch on a random pair of --verify-size px and prints
the largest absolute differences. `styleenv stylize ... --runtime onnx --onnx FILE` uses the
export. Needs the onnx extra: pip install 'styleenv[onnx]'.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from styleenv_cli.commands import UsageError, prepare_output

HELP = "export the stylizer to ONNX (step and style graphs, any size), checked against PyTorch"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--onnx", type=Path, required=True, metavar="FILE", help="the step graph to write, e.g. model.onnx")
    model = parser.add_argument_group("model (default: the project's own checkpoint, shipped with styleenv)")
    model.add_argument("--release", type=Path, metavar="DIR",
                       help="folder holding the released actor.pth.tar and builder.pth.tar")
    model.add_argument("--checkpoint", type=Path, metavar="FILE", help="a checkpoint saved by styleenv")
    parser.add_argument("--verify-size", type=int, default=256, metavar="PX",
                        help="side of the random pair compared with PyTorch; 0 skips the check (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")


def _models(args: argparse.Namespace):
    from agents.default import default_checkpoint
    from agents.release import CheckpointError, load_checkpoint, load_release

    try:
        if args.release is not None:
            return load_release(args.release)
        return load_checkpoint(args.checkpoint or default_checkpoint())[:2]
    except CheckpointError as err:
        raise UsageError(str(err)) from None


def run(args: argparse.Namespace) -> int:
    from styleenv.env import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE

    if args.release is not None and args.checkpoint is not None:
        raise UsageError("pass either --release or --checkpoint, not both")
    if args.verify_size != 0 and not MIN_IMAGE_SIZE <= args.verify_size <= MAX_IMAGE_SIZE:
        raise UsageError(f"--verify-size must be 0 (no check) or lie in {MIN_IMAGE_SIZE}..{MAX_IMAGE_SIZE}, got {args.verify_size}")
    if args.onnx.is_dir():
        raise UsageError(f"--onnx {args.onnx}: is a folder; name the file to write, e.g. {args.onnx / 'model.onnx'}")
    if args.onnx.suffix.lower() != ".onnx":  # so that a photo named by mistake is never replaced
        raise UsageError(f"--onnx {args.onnx}: the file to write must end in .onnx, e.g. {args.onnx.with_suffix('.onnx')}")
    prepare_output(args.onnx.parent, "--onnx's folder")
    actor, builder = _models(args)
    from agents.onnx_export import export_onnx

    try:
        files = export_onnx(actor, builder, args.onnx)
    except RuntimeError as err:  # the onnx extra missing
        raise UsageError(str(err).splitlines()[0]) from None
    summary = {"step": str(files["step"]), "style": str(files["style"])}
    if args.verify_size:
        from agents.onnx_runtime import OnnxModelError, OnnxStylizer, compare_with_torch

        try:
            runner = OnnxStylizer(files["step"])
        except OnnxModelError as err:
            raise UsageError(str(err)) from None
        diff = compare_with_torch(runner, actor, builder, args.verify_size)
        summary["max_abs_diff"] = {"size": args.verify_size, **diff}
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(f"wrote {summary['step']} (step graph) and {summary['style']} (style graph)")
        if "max_abs_diff" in summary:
            d = summary["max_abs_diff"]
            print(f"onnxruntime vs PyTorch at {d['size']} px, max abs difference: "
                  f"style vectors {d['style']:.2e}, one step's image {d['step']:.2e}")
    return 0
