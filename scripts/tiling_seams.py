#!/usr/bin/env python
"""Show that tiled stylisation has no seams: tiled against untiled, around a tile corner.

Stylises CONTENT with STYLE (default: the built-in procedural pair) for ``--steps`` steps,
once untiled and once in tiles of ``--tile`` grid cells (4 px each), prints the largest
pixel difference of every step (in 1/255) and writes ``--out``: a crop around a corner where
four tiles meet (tiled | untiled | difference x 50, labelled) ::

    python scripts/tiling_seams.py photo.jpg painting.jpg --size 1024 --out docs/tiling-seams.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("content", nargs="?", help="content image (default: procedural landscape)")
    parser.add_argument("style", nargs="?", help="style image (default: procedural painting)")
    parser.add_argument("--size", type=int, default=1024, help="longer side of both images (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=10, help="steps (default: %(default)s)")
    parser.add_argument("--tile", type=int, default=64, help="tile side in grid cells of 4 px, at least 8 (default: %(default)s)")
    parser.add_argument("--crop", type=int, default=96, help="side of the crop in px (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("tiling-seams.png"), help="picture (default: %(default)s)")
    args = parser.parse_args(argv)

    from styleenv.files import is_writable_folder

    if args.size < 16 or args.steps < 1 or args.crop < 2:
        parser.error("--size must be at least 16, --steps at least 1, --crop at least 2")
    if args.tile == 0:
        parser.error("--tile 0 means untiled: nothing to compare; pass a tile side (grid cells)")
    if not is_writable_folder(args.out.parent):
        parser.error(f"--out {args.out}: {args.out.parent} is not a writable folder")

    import torch

    from agents.stylizer import Stylizer
    from agents.tiling import Tiler
    from styleenv.images import load_image
    from styleenv.pixels import fit_max_side
    from styleenv.procedural import procedural_content, procedural_style
    from styleenv.visual import grid, save_png

    try:
        tiler = Tiler(args.tile)
        content = fit_max_side(load_image(args.content), args.size) if args.content else procedural_content(0, args.size)
        style = fit_max_side(load_image(args.style), args.size) if args.style else procedural_style(0, args.size)
    except ValueError as err:  # a bad tile side, or an ImageLoadError
        parser.error(str(err))
    cuts = tiler.spans(content.height // 4), tiler.spans(content.width // 4)
    if len(cuts[0]) < 2 or len(cuts[1]) < 2:
        parser.error(f"the image is one tile of --tile {args.tile}: pass a larger --size or a smaller --tile")
    whole = Stylizer.default("cpu", tile=0).sequence_tensor(content, style, args.steps)
    tiled = Stylizer.default("cpu", tile=args.tile).sequence_tensor(content, style, args.steps)
    diffs = [int((tiled[k].int() - whole[k].int()).abs().max()) for k in sorted(whole)]
    print(f"max |tiled - untiled| per step (1/255): {' '.join(map(str, diffs))}")
    y, x, half = cuts[0][0][1] * 4, cuts[1][0][1] * 4, args.crop // 2  # the first inner tile corner
    last = args.steps
    window = (slice(None), slice(max(0, y - half), y + half), slice(max(0, x - half), x + half))
    a, b = tiled[last][0][window], whole[last][0][window]
    diff = ((a.int() - b.int()).abs() * 50).clamp(max=255).to(torch.uint8)
    picture = grid([[a, b, diff]], thumb=3 * args.crop,
                   col_labels=[f"tiled (step {last})", "untiled", "|difference| x 50"])
    print(f"wrote {save_png(picture, args.out)} (crop around the tile corner at x={x}, y={y})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
