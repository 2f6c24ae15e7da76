"""Evaluate agents on the environment with the paper's protocol (Table 1): content loss,
style loss and SSIM after every step, seconds per step, parameters and storage.

Writes OUT/rows.csv (every agent x content x style x size x step), OUT/table.md (Table 1's
shape), OUT/plots/*.png, OUT/sheets/*.png and, for the sheets, the sheet pairs' pictures in
OUT/frames/<size>/<agent>/<content>__<style>/. A re-run with the same OUT skips the episodes
already in rows.csv. With no --contents/--styles the built-in procedural images are used
(4 x 4 of them unless limits are given). --limit-contents/--limit-styles draw that many
images with numpy.random.default_rng([seed, 0]) / ([seed, 1]) without replacement.

Agents: identity, copy-style, random, adain (AdaIN at strength k/N on step k), colour (colour
statistics transfer), ours (the project's checkpoint shipped with styleenv), release[:DIR] (the
released RLMiniStyler weights; bare `release` reads $STYLEENV_RELEASE_DIR), checkpoint:FILE (a
checkpoint of ours), and any agent of yours: package.module:Name or path/to/file.py:Name (a
class or factory, called with `steps` and/or `device` where it takes them; reported as Name).
--release DIR and --checkpoint FILE add those agents too. --pairs FILE evaluates the pairs of a
CSV (columns content,style) instead of every combination. --env v1 rolls the agents through
styleenv/StyleTransfer-v1 (the return column is its reward). Checkpoints of one file name in
different folders are named apart (ckpt-a-final, ckpt-b-final); OUT/agents.json records the
weights each agent read, and a re-run into OUT whose agent of the same name reads other
weights is refused. --report-only writes the reports of OUT/rows.csv (of every agent, pair
and size in it unless some are selected); --report-only --merge DIR... writes one table of
several output folders into --out.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from styleenv_cli.commands import UsageError, add_compute_arguments, apply_compute_arguments, prepare_output

HELP = "evaluate agents (content/style loss, SSIM, time) into a CSV, a Table 1, plots and contact sheets"

PROCEDURAL_LIMIT = 4
DEFAULT_AGENTS = ["identity", "adain"]
DEFAULT_SIZES = [256]
DEFAULT_STEPS = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--agents", nargs="+", metavar="SPEC",
        help="identity, copy-style, random, adain, colour, ours (the shipped checkpoint), release[:DIR], "
             f"checkpoint:FILE, package.module:Name, file.py:Name (default: {' '.join(DEFAULT_AGENTS)})")  # fmt: skip
    add("--release", metavar="DIR", help="also evaluate the released weights in DIR")
    add("--checkpoint", metavar="FILE", action="append", default=[], help="also evaluate this checkpoint (repeatable)")
    add("--contents", nargs="+", metavar="PATH", help="content folder or files (default: built-in procedural set)")
    add("--styles", nargs="+", metavar="PATH", help="style folder or files (default: built-in procedural set)")
    add("--pairs", type=Path, metavar="CSV", help="explicit pairs: a CSV with columns content,style (paths)")
    add("--env", choices=["v0", "v1"], default="v0", help="env version the agents act in and the return is of (default: %(default)s)")
    add("--sizes", nargs="+", type=int, help=f"image sizes, each once (default: {DEFAULT_SIZES[0]})")
    add("--steps", type=int, help=f"episode length (default: {DEFAULT_STEPS}; with --report-only: the run's)")
    add("--report-steps", nargs="+", type=int, default=None, help="steps in the table and sheets (default: 1 5 10 within --steps)")
    add("--limit-contents", type=int, metavar="N", help="evaluate N contents (seeded draw)")
    add("--limit-styles", type=int, metavar="N", help="evaluate N styles (seeded draw)")
    add("--sheet-pairs", type=int, default=4, help="pairs per contact sheet, 0 for none (default: %(default)s)")
    add("--out", type=Path, default=Path("styleenv-eval"), help="output folder (default: %(default)s)")
    add("--seed", type=int, default=0, help="image selection and reset seed (default: %(default)s)")
    add_compute_arguments(parser, device_default="cpu")
    add("--no-plots", action="store_true", help="skip the matplotlib plots")
    add("--report-only", action="store_true", help="run no episodes: write the table, plots and sheets from OUT/rows.csv "
        "(of every agent, pair and size in it where no agents, images or sizes are given)")
    add("--merge", nargs="+", type=Path, metavar="DIR", help="with --report-only: one table of these output folders, into --out")
    add("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from agents.factory import AgentSpecError, make_agents
    from styleenv.evaluation.merge import merge, read_pairs, report_folder
    from styleenv.evaluation.run import EvaluationError, Settings, default_report_steps, evaluate, image_source

    if args.steps is not None and args.steps < 1:
        raise UsageError(f"--steps must be at least 1, got {args.steps}")
    steps = args.steps or DEFAULT_STEPS
    report = args.report_steps or (default_report_steps(args.steps) if args.steps else None)
    args.device = apply_compute_arguments(args)
    extra = ([f"release:{args.release}"] if args.release else []) + [f"checkpoint:{c}" for c in args.checkpoint]
    selected = any((args.agents, extra, args.contents, args.styles, args.pairs, args.sizes,
                    args.limit_contents is not None, args.limit_styles is not None))  # fmt: skip
    if args.merge and not args.report_only:
        raise UsageError("--merge needs --report-only (it merges finished runs)")
    if args.pairs and (args.contents or args.styles or args.limit_contents or args.limit_styles):
        raise UsageError("--pairs names the images itself: drop --contents, --styles and the limits")
    log = lambda line: print(line, file=sys.stderr)
    try:
        if args.merge or (args.report_only and not selected):
            files = (merge(args.merge, args.out, report, plots=not args.no_plots, log=log) if args.merge else
                     report_folder(args.out, report, args.steps, args.sheet_pairs, plots=not args.no_plots, log=log))  # fmt: skip
            print(Path(files["table"]).read_text())
            return 0
        settings = Settings(
            sizes=args.sizes or DEFAULT_SIZES, steps=steps, report_steps=report,
            seed=args.seed, device=args.device, limit_contents=args.limit_contents, limit_styles=args.limit_styles,
            sheet_pairs=args.sheet_pairs, progress=not args.quiet, report_only=args.report_only,
            env_id=f"styleenv/StyleTransfer-{args.env}",
        )  # fmt: skip
        settings.check()
        if args.pairs:
            contents, styles, settings.pairs = read_pairs(args.pairs)
        else:
            contents = image_source(args.contents, "content")
            styles = image_source(args.styles, "style")
        if not args.contents and not args.pairs and settings.limit_contents is None:
            settings.limit_contents = PROCEDURAL_LIMIT
        if not args.styles and not args.pairs and settings.limit_styles is None:
            settings.limit_styles = PROCEDURAL_LIMIT
        agents, weights = make_agents((args.agents or DEFAULT_AGENTS) + extra, steps=steps, device=args.device)
        if not args.report_only:  # a report needs OUT/rows.csv: evaluate refuses a folder without
            prepare_output(args.out)
        start = time.perf_counter()
        result = evaluate(agents, contents, styles, args.out, settings, plots=not args.no_plots, log=log, weights=weights)
    except (EvaluationError, AgentSpecError) as err:
        raise UsageError(str(err)) from None
    print(Path(result.files["table"]).read_text())
    print(f"{result.ran} episodes run, {result.skipped} already in the CSV, "
          f"{time.perf_counter() - start:.1f} s; outputs in {args.out}")  # fmt: skip
    return 0
