#!/usr/bin/env python
"""Time the Stylizer against the release-style loop, and measure peak memory.

For each size it runs a deterministic k-step sequence (square content and style of that
size, or ``WxH``) in a fresh subprocess, after one warm-up step, and reports seconds per
step and the process's peak resident memory (the Stylizer alone in its process). With
``--compare-release-loop`` the timings come from one further process that runs the three
methods interleaved step by step, so that load from other processes hits them alike:

* ``stylizer``: :class:`agents.stylizer.Stylizer` (style encoded once, inference mode).
* ``release``: what the released code does each step: encode the style again, run the full
  actor (mean and log-variance) and the builder with autograd on (no inference mode); the
  output is detached before it is fed back, so memory stays per step.
* ``release-no-grad``: the same loop under ``torch.no_grad()`` (a stricter baseline).

Weights do not change the timings; by default freshly initialised networks are used
(``--release DIR`` loads the released ones)::

    python scripts/bench_stylize.py --sizes 256 512 1024 2048 --json --compare-release-loop
    python scripts/bench_stylize.py --sizes 3840x2160
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = ("stylizer", "release", "release-no-grad", "compare")


def parse_size(text: str) -> tuple[int, int]:
    """``"512"`` -> (512, 512); ``"3840x2160"`` -> (3840, 2160) as (width, height)."""
    parts = text.lower().split("x")
    try:
        w, h = (int(parts[0]), int(parts[0])) if len(parts) == 1 else (int(parts[0]), int(parts[1]))
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use 512 or 3840x2160)") from None
    if w < 4 or h < 4 or len(parts) > 2:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    return w, h


def worker(size: str, mode: str, steps: int, release: str | None, threads: int | None) -> dict:
    """Runs in a fresh process: build, warm up, time, report."""
    sys.path.insert(0, str(ROOT))
    import torch

    from agents.networks import Actor, Builder
    from agents.release import load_release
    from agents.stylizer import Stylizer
    from styleenv.pixels import to_uint8

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    actor, builder = load_release(release) if release else (Actor().eval(), Builder().eval())
    w, h = parse_size(size)
    content, style = torch.rand(1, 3, h, w), torch.rand(1, 3, h, w)

    stylizer = Stylizer(actor, builder, device="cpu")

    def release_steps(grad: bool):
        moving = content
        while True:
            with torch.set_grad_enabled(grad):
                code = actor.encode_style(style)  # the release encodes the style every step
                mean, logvar = actor(moving, code)
                moving = builder(mean, code).detach()
                img = to_uint8(moving)  # saved each step
                del code, mean, logvar, img
            yield moving

    def stylizer_steps():
        for _, x in stylizer.steps(content, style, steps):
            img = to_uint8(x)
            del img
            yield x

    makers = {"stylizer": stylizer_steps, "release": lambda: release_steps(True),
              "release-no-grad": lambda: release_steps(False)}
    names = ["stylizer", "release", "release-no-grad"] if mode == "compare" else [mode]
    for name in names:  # warm-up: one step each
        next(makers[name]())
    # Interleave step by step so that load from other processes falls on every method alike.
    iters = {name: makers[name]() for name in names}
    wall = {name: 0.0 for name in names}
    for _ in range(steps):
        for name in names:
            start = time.perf_counter()
            next(iters[name])
            wall[name] += time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    out = {"seconds_per_step": wall[names[0]] / steps, "peak_rss_mb": peak_kb / 1024.0, "threads": torch.get_num_threads()}
    if mode == "compare":
        out = {f"{n}_seconds_per_step": wall[n] / steps for n in names}
    return out


def measure(size: str, mode: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--worker", size, mode, "--steps", str(args.steps)]
    if args.release:
        cmd += ["--release", str(args.release)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {proc.returncode}: {tail}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["256", "512", "1024"], help="512 (square) or WxH")
    parser.add_argument("--steps", type=int, default=10, help="steps of the timed sequence")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--compare-release-loop", action="store_true", help="also time the release-style loops")
    parser.add_argument("--release", type=Path, default=None, help="folder with the released checkpoints")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size and mode (the fastest counts)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--worker", nargs=2, metavar=("SIZE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.steps < 1 or args.repeat < 1:
        parser.error("--steps and --repeat must be at least 1")
    if args.worker:
        size, mode = args.worker
        print(json.dumps(worker(size, mode, args.steps, str(args.release) if args.release else None, args.threads)))
        return 0
    for s in args.sizes:
        try:
            parse_size(s)
        except argparse.ArgumentTypeError as err:
            parser.error(str(err))

    results: dict[str, dict] = {}
    for size in args.sizes:
        entry: dict = {}
        for _ in range(args.repeat):
            alone = measure(size, "stylizer", args)  # own process: peak RSS of the stylizer alone
            if "error" in alone:
                entry = alone
                break
            entry["peak_rss_mb"] = max(entry.get("peak_rss_mb", 0.0), alone["peak_rss_mb"])
            entry["threads"] = alone["threads"]
            times = {"stylizer_seconds_per_step": alone["seconds_per_step"]}
            if args.compare_release_loop:
                times = measure(size, "compare", args)  # interleaved with the release-style loops
            for key, value in times.items():
                key = key.replace("stylizer_", "").replace("release-no-grad_", "release_loop_no_grad_")
                key = key.replace("release_seconds", "release_loop_seconds")
                entry[key] = min(entry.get(key, float("inf")), value)
        if "seconds_per_step" in entry:
            for key in ("release_loop", "release_loop_no_grad"):
                if f"{key}_seconds_per_step" in entry:
                    entry[f"speedup_vs_{key}"] = entry[f"{key}_seconds_per_step"] / entry["seconds_per_step"]
        results[size] = entry
        if not args.json:
            line = ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in entry.items())
            print(f"{size}: {line}", flush=True)
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
