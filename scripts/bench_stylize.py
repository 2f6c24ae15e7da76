#!/usr/bin/env python
"""Time the Stylizer against the release-style loop, and measure peak memory, on any device.

For each size it runs a deterministic k-step sequence (square content and style of that
size, or ``WxH``) in a fresh subprocess per method, after one warm-up step, and reports seconds
per step and peak memory (the process's resident memory on the CPU, torch's peak allocation on
CUDA). With ``--compare-release-loop`` the release-style loops run too, each in its own process
as the released code would (without the stylizer's process-wide settings, such as
:func:`styleenv.devices.reuse_freed_memory`, and with the release's channel statistics from
``torch.var``), one after the other for each repeat (``--repeat``: the fastest run counts):

* ``stylizer``: :class:`agents.stylizer.Stylizer` with the device's defaults (style encoded
  once, inference mode; tiled full-resolution layers and the CPU forms of the slowest layers on
  the CPU; channels-last and CUDA graphs on CUDA).
* ``eager`` (CUDA only): the Stylizer without CUDA graphs or channels-last, untiled (plain fp32).
* ``release``: what the released code does each step: encode the style again, run the full
  actor (mean and log-variance) and the builder with autograd on (no inference mode); the
  output is detached before it is fed back, so memory stays per step.
* ``release-no-grad``: the same loop under ``torch.no_grad()`` (a stricter baseline).

On CUDA it also reports how far bfloat16 autocast moves step 10 (max over pixels, in 1/255).
Weights do not change the timings; by default freshly initialised networks are used
(``--release DIR`` loads the released ones). The table is printed at the end; a measurement that
fails shows as ``failed: ...`` in its cell, and the script then exits with status 1::

    python scripts/bench_stylize.py --sizes 256 512 1024 2048 3840x2160 --compare-release-loop
    python scripts/bench_stylize.py --device cuda --sizes 256 512 1024 2048 3840x2160 --compare-release-loop
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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


def release_mean_std(feat, eps: float = 1e-5):
    """The released code's channel statistics (``torch.var``; the package computes them in two passes)."""
    n, c = feat.shape[:2]
    flat = feat.reshape(n, c, -1)
    return flat.mean(dim=2).view(n, c, 1, 1), (flat.var(dim=2) + eps).sqrt().view(n, c, 1, 1)


def worker(size: str, mode: str, args: argparse.Namespace) -> dict:
    """Runs in a fresh process: build one method, warm up, time, report."""
    sys.path.insert(0, str(ROOT))
    import torch

    from agents.networks import Actor, Builder, encoder
    from agents.release import load_release
    from agents.stylizer import Stylizer
    from styleenv import ops
    from styleenv.devices import resolve_device, set_threads
    from styleenv.memory import peak_rss_mb
    from styleenv.pixels import to_uint8

    threads = set_threads(args.threads or None)
    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    torch.manual_seed(0)
    actor, builder = load_release(args.release) if args.release else (Actor().eval(), Builder().eval())
    actor, builder = actor.to(device), builder.to(device)
    w, h = parse_size(size)
    content, style = torch.rand(1, 3, h, w, device=device), torch.rand(1, 3, h, w, device=device)

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize(device)

    def release_steps(grad: bool):
        ops.mean_std = encoder.mean_std = release_mean_std
        moving = content
        while True:
            with torch.set_grad_enabled(grad):
                code = actor.encode_style(style)  # the release encodes the style every step
                mean, logvar = actor(moving, code)
                moving = builder(mean, code).detach()
                img = to_uint8(moving)  # saved each step
                del code, mean, logvar, img
            yield moving

    def stylizer_steps(which: Stylizer):
        for _, x in which.steps(content, style, args.steps + 1):
            img = to_uint8(x)
            del img
            yield x

    if mode in ("release", "release-no-grad"):
        steps = release_steps(mode == "release")
    elif mode == "eager":
        steps = stylizer_steps(Stylizer(actor, builder, device, channels_last=False, tile=0, cuda_graphs=False))
    else:
        steps = stylizer_steps(Stylizer(copy.deepcopy(actor), copy.deepcopy(builder), device,
                                        tile=None if args.tile < 0 else args.tile))
    next(steps)  # warm-up (the stylizer's first step also encodes the style)
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        next(steps)
    sync()
    wall = time.perf_counter() - start
    if cuda:
        peak_mb = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak_mb = peak_rss_mb()
    out = {"seconds_per_step": wall / args.steps, "peak_mb": peak_mb, "threads": threads,
           "device": torch.cuda.get_device_name(device) if cuda else "cpu"}
    if cuda and mode == "stylizer":  # how far bf16 moves step 10, in 1/255
        fast = Stylizer(copy.deepcopy(actor), copy.deepcopy(builder), device, bf16=True).sequence_tensor(content, style, 10, keep=[10])[10]
        ref = Stylizer(actor, builder, device, channels_last=False, tile=0, cuda_graphs=False).sequence_tensor(content, style, 10, keep=[10])[10]
        out["bf16_max_diff_255"] = int((fast.int() - ref.int()).abs().max())
    return out


def measure(size: str, mode: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--worker", size, mode, "--steps", str(args.steps), "--device", args.device,
           "--threads", str(args.threads), "--tile", str(args.tile)]
    if args.release:
        cmd += ["--release", str(args.release)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {proc.returncode}: {tail}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


ROWS = [  # (key, label, format)
    ("seconds_per_step", "stylize, s/step", "{:.4f}"),
    ("eager_seconds_per_step", "stylize eager fp32 (no graphs, no channels-last), s/step", "{:.4f}"),
    ("release_loop_seconds_per_step", "release loop (style re-encoded every step, autograd on), s/step", "{:.4f}"),
    ("release_loop_no_grad_seconds_per_step", "release loop, no autograd, s/step", "{:.4f}"),
    ("speedup_vs_release_loop", "speed-up vs the release loop", "{:.2f}x"),
    ("speedup_vs_release_loop_no_grad", "speed-up vs the release loop, no autograd", "{:.2f}x"),
    ("bf16_max_diff_255", "bf16 step 10 vs fp32, max diff (/255)", "{}"),
    ("peak_mb", "peak memory, MB", "{:,.0f}"),
]


def table(results: dict[str, dict]) -> str:
    """The results as a markdown table, one column per size."""
    first = next((e for e in results.values() if "device" in e), {})
    memory = "peak GPU memory (torch), MB" if first.get("device", "cpu") != "cpu" else "peak RSS, MB"
    lines = [f"device: {first.get('device', '?')}, {first.get('threads', '?')} torch threads",
             "| | " + " | ".join(results) + " |", "|---" * (len(results) + 1) + "|"]
    for key, label, fmt in ROWS:
        if any(key in e or key in e.get("errors", {}) for e in results.values()):
            cells = [fmt.format(e[key]) if key in e else cell_error(e.get("errors", {}).get(key)) for e in results.values()]
            lines.append(f"| {memory if key == 'peak_mb' else label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cell_error(error: str | None) -> str:
    """A failed measurement's table cell ("" where none was taken)."""
    return "" if error is None else "failed: " + error.replace("|", "/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["256", "512", "1024"], help="512 (square) or WxH")
    parser.add_argument("--steps", type=int, default=10, help="steps of the timed sequence")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--compare-release-loop", action="store_true", help="also time the release-style loops")
    parser.add_argument("--release", type=Path, default=None, help="folder with the released checkpoints")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size and method (the fastest counts)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default 0: at most the free cores)")
    parser.add_argument("--tile", type=int, default=-1, help="Stylizer tile in units of 4 px: 0 (untiled) or at least 8 "
                        "(default -1: the device's)")
    parser.add_argument("--worker", nargs=2, metavar=("SIZE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.steps < 1 or args.repeat < 1 or args.threads < 0:
        parser.error("--steps and --repeat must be at least 1, --threads at least 0")
    sys.path.insert(0, str(ROOT))
    from agents.tiling import Tiler

    if args.tile >= 0:
        try:
            Tiler(args.tile)
        except ValueError as err:
            parser.error(f"--tile: {err} (or -1: the device's default)")
    if args.release is not None and not args.release.is_dir():
        parser.error(f"--release {args.release}: not a folder")
    if args.worker:
        size, mode = args.worker
        print(json.dumps(worker(size, mode, args)))
        return 0
    from styleenv.devices import choose_threads, resolve_device

    try:
        resolve_device(args.device)
    except ValueError as err:
        parser.error(str(err))
    args.threads = choose_threads(args.threads or None)  # decided once: every method gets as many
    for s in args.sizes:
        try:
            parse_size(s)
        except argparse.ArgumentTypeError as err:
            parser.error(str(err))

    results: dict[str, dict] = {}
    for size in args.sizes:
        entry: dict = {}
        modes = ["stylizer"]
        if args.compare_release_loop:
            modes += (["eager"] if resolve_device(args.device).type == "cuda" else []) + ["release", "release-no-grad"]
        errors: dict[str, str] = {}  # row key -> why its measurement failed
        for _ in range(args.repeat):
            for mode in modes:
                key = {"stylizer": "", "eager": "eager_", "release": "release_loop_",
                       "release-no-grad": "release_loop_no_grad_"}[mode] + "seconds_per_step"
                if key in errors:
                    continue
                run = measure(size, mode, args)
                if "error" in run:
                    errors[key] = run["error"]
                    entry.pop(key, None)
                    continue
                if mode == "stylizer":
                    entry["peak_mb"] = max(entry.get("peak_mb", 0.0), run["peak_mb"])
                    entry["threads"], entry["device"] = run["threads"], run["device"]
                    if "bf16_max_diff_255" in run:
                        entry["bf16_max_diff_255"] = run["bf16_max_diff_255"]
                entry[key] = min(entry.get(key, float("inf")), run["seconds_per_step"])
        if errors:
            entry["errors"] = errors
        if "seconds_per_step" in entry:
            for key in ("release_loop", "release_loop_no_grad"):
                if f"{key}_seconds_per_step" in entry:
                    entry[f"speedup_vs_{key}"] = entry[f"{key}_seconds_per_step"] / entry["seconds_per_step"]
        results[size] = entry
        if not args.json:
            line = ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in entry.items())
            print(f"{size}: {line}", flush=True)
    print(json.dumps(results, indent=1) if args.json else table(results))
    return 1 if any("errors" in e for e in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
